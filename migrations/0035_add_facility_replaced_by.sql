-- A register polygon (park, green space) that duplicates an OSM facility replaces it rather than
-- doubling it (issue 11). The OSM row stays, marked replaced_by the register facility, so that
-- re-importing or deleting the register brings the OSM one back (ON DELETE SET NULL).
ALTER TABLE facilities ADD COLUMN replaced_by bigint REFERENCES facilities(id) ON DELETE SET NULL;

-- Serves: the ON DELETE SET NULL lookup when a register dataset's facilities are deleted, and the
-- register importer's report of which OSM facilities a row replaced. Partial: few rows are replaced.
CREATE INDEX facilities_replaced_by_idx ON facilities (replaced_by) WHERE replaced_by IS NOT NULL;

-- Why: one row per origin × rule × run (coverage_origin_results) does not scale: a 2-million-origin
-- city with 25 rules writes 50 million rows per run, and writing them was most of a compute
-- (issue 15). Per-origin results are now stored per rule as columns: one row per run and rule
-- holding arrays aligned with the run's origin list. A run writes ~25 rows whatever the city's
-- size, and a later run can reuse a rule's row unchanged (incremental recompute).
--
-- Encoding (exact, no floating point): distances in whole centimetres (the old table stored
-- metres rounded to the centimetre, so x_cm / 100.0 gives back the same double); NULL elements
-- where the old column was null. flags: bits 0–1 the outcome (0 distance, 1 beyond_cap,
-- 2 no_path, 3 no_data), bit 2 covered, bit 3 straight_covered.

-- The origins of a run, in the order of every per-rule array of that run.
CREATE TABLE coverage_run_origins (
  run_id     integer PRIMARY KEY REFERENCES coverage_runs(id) ON DELETE CASCADE,
  origin_ids bigint[] NOT NULL
);

CREATE TABLE coverage_rule_origins (
  run_id       integer NOT NULL REFERENCES coverage_runs(id) ON DELETE CASCADE,
  rule_set_id  text NOT NULL,
  rule_id      text NOT NULL,
  network_cm   integer[] NOT NULL,   -- walking centimetres to the nearest qualifying facility, up to the distance cap
  straight_cm  integer[] NOT NULL,   -- straight-line centimetres to it
  facility_ids bigint[] NOT NULL,    -- the facility reached on foot
  flags        smallint[] NOT NULL,  -- outcome | covered << 2 | straight_covered << 3
  PRIMARY KEY (run_id, rule_set_id, rule_id)
);
-- Arrays of millions of elements: stored uncompressed out of line, so writing and copying a
-- rule's row costs a memory copy, not a compression pass (measured in README, "Results storage").
ALTER TABLE coverage_run_origins ALTER COLUMN origin_ids SET STORAGE EXTERNAL;
ALTER TABLE coverage_rule_origins
  ALTER COLUMN network_cm SET STORAGE EXTERNAL,
  ALTER COLUMN straight_cm SET STORAGE EXTERNAL,
  ALTER COLUMN facility_ids SET STORAGE EXTERNAL,
  ALTER COLUMN flags SET STORAGE EXTERNAL;

-- The compact storage read as one row per origin and rule, with the old table's columns.
CREATE VIEW coverage_origin_results_compact AS
SELECT r.run_id, r.rule_set_id, r.rule_id, u.origin_id,
       (u.network_cm / 100.0)::double precision AS network_m,
       (u.straight_cm / 100.0)::double precision AS straight_m,
       u.facility_id,
       (u.flags & 4) <> 0 AS covered,
       (u.flags & 8) <> 0 AS straight_covered,
       (ARRAY['distance', 'beyond_cap', 'no_path', 'no_data'])[(u.flags & 3) + 1] AS outcome
FROM coverage_rule_origins r
JOIN coverage_run_origins o ON o.run_id = r.run_id
CROSS JOIN LATERAL unnest(o.origin_ids, r.network_cm, r.straight_cm, r.facility_ids, r.flags)
  AS u(origin_id, network_cm, straight_cm, facility_id, flags);

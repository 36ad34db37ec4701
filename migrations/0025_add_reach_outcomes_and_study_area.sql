-- Why: a resident with no walking distance used to be "unreachable" whatever the reason. Every
-- origin × rule now stores one of four outcomes (issue 13): `distance` (network_m set, up to the
-- distance cap), `beyond_cap` (a facility lies in the origin's piece of the network, farther than
-- the cap), `no_path` (none in its piece of the network) and `no_data` (the dataset holds no
-- facility of the rule's categories at all). Area results split the uncovered residents the same
-- way and say whether the rule was assessable. Each dataset gets a study area: origins are
-- evaluated inside it, facilities in the margin around it still count.
--
-- Reviewers query e.g.
--   SELECT rule_id, outcome, count(*) FROM coverage_origin_results WHERE run_id = … GROUP BY 1, 2;
-- which the primary key (run_id, rule_set_id, rule_id, origin_id) serves by its run_id prefix, so
-- no new index is needed.

ALTER TABLE coverage_origin_results ADD COLUMN outcome text;
-- Runs made before this migration searched only to each rule's bound: a null distance there
-- cannot be told apart any more, and is called beyond the cap rather than counted as no path.
UPDATE coverage_origin_results SET outcome = CASE WHEN network_m IS NULL THEN 'beyond_cap' ELSE 'distance' END;
ALTER TABLE coverage_origin_results
  ALTER COLUMN outcome SET NOT NULL,
  ADD CONSTRAINT coverage_origin_results_outcome_check CHECK (outcome IN ('distance', 'beyond_cap', 'no_path', 'no_data')),
  ADD CONSTRAINT coverage_origin_results_outcome_distance CHECK ((outcome = 'distance') = (network_m IS NOT NULL));
COMMENT ON COLUMN coverage_origin_results.network_m IS 'walking metres to the nearest qualifying facility, up to the distance cap; null exactly when outcome is not distance';

ALTER TABLE coverage_area_results
  -- uncovered_unreachable_population now counts only outcome no_path
  ADD COLUMN uncovered_beyond_cap_population double precision NOT NULL DEFAULT 0,
  -- uncovered residents within the edge margin of the data's edge (the edge_of_data caveat)
  ADD COLUMN uncovered_near_edge_population double precision NOT NULL DEFAULT 0,
  -- no facility of the rule's categories in the data: not assessable, passes means nothing
  ADD COLUMN no_data boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN coverage_area_results.uncovered_unreachable_population IS 'uncovered residents with outcome no_path (no facility in their piece of the network)';
COMMENT ON COLUMN coverage_area_results.uncovered_mean_m IS 'population-weighted walking distance of the uncovered residents that have one (outcome distance)';

-- The study area: null = the extract's bbox shrunk by the edge margin (server/engine/study-area.ts);
-- set by `npm run import -- osm <file> --study-area <file.geojson>`.
ALTER TABLE datasets ADD COLUMN study_area geometry(MultiPolygon, 4326);

COMMENT ON COLUMN edge_distances.d IS 'walking metres from the edge midpoint to the nearest facility per category, up to the distance cap; -1 = beyond_cap (a facility lies in this piece of the network, farther than the cap); absent = no_path, or no_data for a category with no facility at all';

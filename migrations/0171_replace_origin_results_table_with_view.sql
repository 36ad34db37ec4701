-- Why: the compact per-origin storage (0170) gives the same numbers as the one-row-per-origin
-- table, every origin and rule to the centimetre (test/origin-results.db.test.ts), so the table
-- goes and its name becomes a view over the compact storage: QGIS projects and SQL written
-- against coverage_origin_results keep working, with the same columns and one row per origin and rule.

-- Runs written before 0170 exist only in the old table: convert them. Every rule of a run holds
-- every origin of the run (computeCoverage writes them so); a run where that is not so stops
-- the migration rather than misaligning its arrays.
CREATE TEMP TABLE legacy_runs ON COMMIT DROP AS
  SELECT DISTINCT run_id FROM coverage_origin_results r
  WHERE NOT EXISTS (SELECT 1 FROM coverage_run_origins c WHERE c.run_id = r.run_id);

INSERT INTO coverage_run_origins (run_id, origin_ids)
SELECT run_id, array_agg(DISTINCT origin_id ORDER BY origin_id)
FROM coverage_origin_results WHERE run_id IN (SELECT run_id FROM legacy_runs) GROUP BY run_id;

INSERT INTO coverage_rule_origins (run_id, rule_set_id, rule_id, network_cm, straight_cm, facility_ids, flags)
SELECT o.run_id, r.rule_set_id, r.rule_id,
       array_agg(round(r.network_m * 100)::integer ORDER BY u.i),
       array_agg(round(r.straight_m * 100)::integer ORDER BY u.i),
       array_agg(r.facility_id ORDER BY u.i),
       array_agg((CASE r.outcome WHEN 'distance' THEN 0 WHEN 'beyond_cap' THEN 1 WHEN 'no_path' THEN 2 ELSE 3 END
                  | (CASE WHEN r.covered THEN 4 ELSE 0 END) | (CASE WHEN r.straight_covered THEN 8 ELSE 0 END))::smallint ORDER BY u.i)
FROM coverage_run_origins o
CROSS JOIN LATERAL unnest(o.origin_ids) WITH ORDINALITY AS u(origin_id, i)
JOIN coverage_origin_results r ON r.run_id = o.run_id AND r.origin_id = u.origin_id
WHERE o.run_id IN (SELECT run_id FROM legacy_runs)
GROUP BY o.run_id, r.rule_set_id, r.rule_id;

DO $$
DECLARE bad record;
BEGIN
  SELECT r.run_id, r.rule_set_id, r.rule_id INTO bad
  FROM coverage_rule_origins r JOIN coverage_run_origins o ON o.run_id = r.run_id
  WHERE r.run_id IN (SELECT run_id FROM legacy_runs) AND cardinality(r.flags) <> cardinality(o.origin_ids)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'run %, rule %/%: not every origin of the run has a result, so it cannot be stored compactly', bad.run_id, bad.rule_set_id, bad.rule_id;
  END IF;
END $$;

-- The view 0170 defined over the compact storage takes the table's name (its definition stays in 0170).
DROP TABLE coverage_origin_results;
ALTER VIEW coverage_origin_results_compact RENAME TO coverage_origin_results;
COMMENT ON VIEW coverage_origin_results IS
  'One row per origin and rule of a coverage run (walk to the nearest qualifying facility), read from the compact per-rule arrays in coverage_rule_origins. Filter by run_id (and rule_id): each run_id/rule row expands to all of its origins.';

-- Why: build_generalised_network (0250) merged, simplified and transformed every main street of a
-- dataset on every coverage run: 22 s of a 1M-node city's compute (issue 15 item 4, load 11),
-- although the lines depend only on walk_edges, which an import writes once per dataset and
-- nothing changes afterwards (registers, population and rule sets leave the network alone). Only
-- `d`, the worst distance per category over a line's edges, depends on the run.
--
-- So when the dataset already has generalised lines (from an earlier run), they are kept and only
-- re-pointed at the new run with `d` recomputed from the new run's edge_distances over the line's
-- edge_ids, by the same rule as 0250: a category present on every piece (an edge with no
-- edge_distances row counts as absent), -1 when any piece is beyond the cap, else the largest
-- distance rounded up. Without earlier lines (the first run of a dataset) the full build of 0250 runs.
-- Same rows as a full build (test/generalised-tiles.db.test.ts compares them).
--
-- Indexes used: generalised_network_dataset_idx (dataset_id, run_id) to find the lines;
-- edge_distances' primary key (run_id, edge_id) for each piece.

ALTER FUNCTION build_generalised_network(integer) RENAME TO build_generalised_network_full;
COMMENT ON FUNCTION build_generalised_network_full IS
  'Builds generalised_network for a coverage run from walk_edges (zooms 9–12), deleting the dataset''s older lines; returns the rows written.';

CREATE FUNCTION build_generalised_network(p_run_id integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_dataset integer;
  v_from integer;
  v_rows integer;
BEGIN
  SELECT dataset_id INTO STRICT v_dataset FROM coverage_runs WHERE id = p_run_id;
  SELECT max(run_id) INTO v_from FROM generalised_network WHERE dataset_id = v_dataset;
  IF v_from IS NULL OR v_from = p_run_id THEN
    RETURN build_generalised_network_full(p_run_id);
  END IF;
  -- Lines of other runs than the newest are never kept (0250 deletes them), but be sure.
  DELETE FROM generalised_network WHERE dataset_id = v_dataset AND run_id <> v_from;
  WITH pieces AS (
    SELECT g.band, g.id, cardinality(g.edge_ids) AS n, u.edge_id
    FROM generalised_network g CROSS JOIN LATERAL unnest(g.edge_ids) AS u(edge_id)
    WHERE g.dataset_id = v_dataset AND g.run_id = v_from
  ),
  worst AS (
    SELECT c.band, c.id, jsonb_object_agg(c.key, c.worst) AS d
    FROM (
      SELECT p.band, p.id, kv.key, count(*) AS present, max(p.n) AS n,
             CASE WHEN min(kv.value::text::float8) = -1 THEN -1 ELSE ceil(max(kv.value::text::float8)) END AS worst
      FROM pieces p
      JOIN edge_distances ed ON ed.run_id = p_run_id AND ed.edge_id = p.edge_id
      CROSS JOIN LATERAL jsonb_each(ed.d) AS kv
      GROUP BY p.band, p.id, kv.key
    ) c
    WHERE c.present = c.n
    GROUP BY c.band, c.id
  ),
  lines AS (
    SELECT g.band, g.id, coalesce(w.d, '{}'::jsonb) AS d
    FROM generalised_network g LEFT JOIN worst w ON w.band = g.band AND w.id = g.id
    WHERE g.dataset_id = v_dataset AND g.run_id = v_from
  )
  UPDATE generalised_network g SET run_id = p_run_id, d = l.d
  FROM lines l
  WHERE g.dataset_id = v_dataset AND g.run_id = v_from AND g.band = l.band AND g.id = l.id;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION build_generalised_network IS
  'Fills generalised_network for a coverage run (zooms 9–12): the dataset''s existing lines re-pointed at the run with their distances recomputed, or a full build when it has none; returns the rows.';

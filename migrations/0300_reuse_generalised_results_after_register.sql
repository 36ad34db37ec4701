-- Why: after a register import the incremental recompute (issue 15 item 5) spent 5.1 s of its
-- 21.9 s on the 1M-node city (load 4) in the two generalised builds, though a register changes
-- neither the areas nor the distances of any category but its own:
--
-- 1. build_generalised_network(run, from_run, categories): the lines' worst distances are recomputed
--    for `categories` only; every other category's value is kept from the lines of `from_run`,
--    the run whose results the incremental run copied (same network, and for those categories the
--    same edge_distances, copied from it). Same rows as 0270's function when the lines still belong
--    to `from_run`; otherwise that function runs.
-- 2. build_generalised_areas (0251) simplified every district, community and residential area on
--    every run, though its output depends only on those rows and the run's community source. The
--    function now keeps a fingerprint of exactly what it reads (generalised_area_inputs) and, when a
--    dataset's areas were built from the same inputs, re-points them at the new run instead.
--
-- The CTEs are MATERIALIZED: on a table whose statistics do not know its lines yet (a new
-- database's first runs) the planner otherwise re-ran the aggregate once per line (central Chengdu:
-- over 40 s instead of 0.6 s).
--
-- Same rows as a full build: test/generalised-tiles.db.test.ts and
-- test/incremental-recompute.db.test.ts (byte for byte in the exports).
-- Indexes used: generalised_network_dataset_idx, generalised_areas_dataset_idx (dataset_id, run_id),
-- edge_distances' primary key (run_id, edge_id); generalised_area_inputs' primary key (dataset_id).

CREATE FUNCTION build_generalised_network(p_run_id integer, p_from_run integer, p_categories text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_dataset integer;
  v_from integer;
  v_rows integer;
BEGIN
  SELECT dataset_id INTO STRICT v_dataset FROM coverage_runs WHERE id = p_run_id;
  SELECT max(run_id) INTO v_from FROM generalised_network WHERE dataset_id = v_dataset;
  IF v_from IS DISTINCT FROM p_from_run OR EXISTS (
       SELECT 1 FROM generalised_network WHERE dataset_id = v_dataset AND run_id <> v_from) THEN
    RETURN build_generalised_network(p_run_id);
  END IF;
  WITH pieces AS (
    SELECT g.band, g.id, cardinality(g.edge_ids) AS n, u.edge_id
    FROM generalised_network g CROSS JOIN LATERAL unnest(g.edge_ids) AS u(edge_id)
    WHERE g.dataset_id = v_dataset AND g.run_id = v_from
  ),
  worst AS MATERIALIZED (
    -- 0270's rule, for the changed categories only
    SELECT c.band, c.id, jsonb_object_agg(c.key, c.worst) AS d
    FROM (
      SELECT p.band, p.id, k.key, count(*) AS present, max(p.n) AS n,
             CASE WHEN min(v.value) = -1 THEN -1 ELSE ceil(max(v.value)) END AS worst
      FROM pieces p
      JOIN edge_distances ed ON ed.run_id = p_run_id AND ed.edge_id = p.edge_id
      CROSS JOIN unnest(p_categories) AS k(key)
      CROSS JOIN LATERAL (SELECT (ed.d ->> k.key)::float8 AS value) v
      WHERE v.value IS NOT NULL
      GROUP BY p.band, p.id, k.key
    ) c
    WHERE c.present = c.n
    GROUP BY c.band, c.id
  ),
  lines AS MATERIALIZED (
    SELECT g.band, g.id, (g.d - p_categories) || coalesce(w.d, '{}'::jsonb) AS d
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
COMMENT ON FUNCTION build_generalised_network(integer, integer, text[]) IS
  'Re-points generalised_network from run p_from_run to p_run_id, recomputing the distances of p_categories only (an incremental run); a full build_generalised_network(p_run_id) when the lines are not p_from_run''s. Returns the rows.';

CREATE TABLE generalised_area_inputs (
  dataset_id  integer PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
  fingerprint text NOT NULL
);
COMMENT ON TABLE generalised_area_inputs IS
  'md5 of what build_generalised_areas read for the dataset''s current generalised_areas (community source, communities, districts, residential areas).';

-- Everything build_generalised_areas_full reads for a dataset under a community source.
CREATE FUNCTION generalised_area_fingerprint(p_dataset integer, p_source text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT md5(concat_ws('|', p_source,
    (SELECT md5(coalesce(string_agg(concat_ws(':', cm.id, cm.name, cm.street, cm.district, cm.is_approximate, md5(ST_AsEWKB(cm.geom))), ',' ORDER BY cm.id), ''))
     FROM communities cm JOIN datasets d ON d.id = cm.dataset_id
     WHERE CASE p_source WHEN 'imported' THEN d.kind = 'communities' ELSE d.id = p_dataset END),
    (SELECT md5(coalesce(string_agg(concat_ws(':', id, name, md5(ST_AsEWKB(geom))), ',' ORDER BY id), '')) FROM districts),
    (SELECT md5(coalesce(string_agg(concat_ws(':', id, name, population, population_source, is_gated, md5(ST_AsEWKB(geom))), ',' ORDER BY id), ''))
     FROM residential_areas WHERE dataset_id = p_dataset)))
$$;

ALTER FUNCTION build_generalised_areas(integer) RENAME TO build_generalised_areas_full;
COMMENT ON FUNCTION build_generalised_areas_full IS
  'Builds generalised_areas for a coverage run from communities, districts and residential areas (zooms 9–12), replacing the dataset''s rows; returns the rows.';

CREATE FUNCTION build_generalised_areas(p_run_id integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_dataset integer;
  v_source text;
  v_fingerprint text;
  v_rows integer;
BEGIN
  -- the community source as build_generalised_areas_full chooses it
  SELECT r.dataset_id, coalesce(r.community_source,
           CASE WHEN EXISTS (SELECT 1 FROM datasets WHERE kind = 'communities') THEN 'imported' ELSE 'approximate' END)
    INTO STRICT v_dataset, v_source
  FROM coverage_runs r WHERE r.id = p_run_id;
  v_fingerprint := generalised_area_fingerprint(v_dataset, v_source);
  IF EXISTS (SELECT 1 FROM generalised_area_inputs WHERE dataset_id = v_dataset AND fingerprint = v_fingerprint)
     AND EXISTS (SELECT 1 FROM generalised_areas WHERE dataset_id = v_dataset) THEN
    UPDATE generalised_areas SET run_id = p_run_id WHERE dataset_id = v_dataset;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
  END IF;
  v_rows := build_generalised_areas_full(p_run_id);
  INSERT INTO generalised_area_inputs (dataset_id, fingerprint) VALUES (v_dataset, v_fingerprint)
  ON CONFLICT (dataset_id) DO UPDATE SET fingerprint = excluded.fingerprint;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION build_generalised_areas(integer) IS
  'Fills generalised_areas for a coverage run: the dataset''s rows re-pointed at the run when built from the same inputs (generalised_area_inputs), else a full build; returns the rows.';

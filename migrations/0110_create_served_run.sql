-- Why: "the served dataset and its current run" was written out in two tile functions (tile_network,
-- tile_areas: each its own "newest done run of served_network_dataset()" subquery) and again in
-- TypeScript (server/plugins/engine.ts, server/queries/datasets.ts). One rule, one place:
-- served_run() below is that pair, and every reader (tile functions, the engine plugin, /health)
-- asks it, so tiles and API answers cannot come from different runs.
--
-- served_run() returns one row: (dataset_id, run_id), both NULL when no network dataset exists,
-- run_id NULL when the served dataset has no complete run yet (a fresh import before its first
-- compute). tile_network and tile_areas are redefined from 0016/0040 with only their ds/run CTEs
-- changed; tile_basemap and tile_facilities read no run and keep served_network_dataset().
--
-- Index used: coverage_runs_dataset_idx (dataset_id, status, id DESC).

CREATE FUNCTION served_run(OUT dataset_id integer, OUT run_id integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.id,
         (SELECT r.id FROM coverage_runs r WHERE r.dataset_id = s.id AND r.status = 'done' ORDER BY r.id DESC LIMIT 1)
  FROM (SELECT served_network_dataset() AS id) s
$$;
COMMENT ON FUNCTION served_run IS 'The served network dataset (served_network_dataset()) and its newest complete coverage run; NULLs where there is none.';

CREATE OR REPLACE FUNCTION tile_network(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH served AS (
    SELECT dataset_id, run_id FROM served_run()
  ),
  t AS (
    SELECT e.id AS fid, e.id, e.highway, e.name, e.is_private, ed.d,
           ST_AsMVTGeom(ST_Transform(e.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM walk_edges e
    LEFT JOIN edge_distances ed ON ed.run_id = (SELECT run_id FROM served) AND ed.edge_id = e.id
    WHERE z >= 12
      AND e.geom && tile_bbox_4326(z, x, y)
      AND e.dataset_id = (SELECT dataset_id FROM served)
  )
  SELECT ST_AsMVT(t, 'network', 4096, 'geom', 'fid') FROM t WHERE t.geom IS NOT NULL
$$;
COMMENT ON FUNCTION tile_network IS 'Walking network of the active dataset with walking distances (m) to each facility category in the current coverage run.';

CREATE OR REPLACE FUNCTION tile_areas(z integer, x integer, y integer, rule_set text DEFAULT 'chengdu-park-city') RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH served AS (
    SELECT dataset_id, run_id FROM served_run()
  ),
  ds AS (
    SELECT dataset_id AS id FROM served
  ),
  run AS (
    SELECT r.id, r.community_source FROM coverage_runs r
    WHERE r.id = (SELECT run_id FROM served)
  ),
  community_source AS (
    SELECT coalesce((SELECT community_source FROM run),
                    CASE WHEN EXISTS (SELECT 1 FROM datasets WHERE kind = 'communities') THEN 'imported' ELSE 'approximate' END) AS src
  ),
  residential_geoms AS (
    SELECT ra.id AS fid, ra.id, ra.name, ra.population, ra.population_source, ra.is_gated,
           cov.results, cov.worst_share, cov.fails, cov.edge_of_data,
           ST_AsMVTGeom(ST_Transform(ra.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM residential_areas ra
    CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(c.rule_id || '_share', round(c.share::numeric, 4))
               || jsonb_object_agg(c.rule_id || '_pass', c.passes)
               || jsonb_object_agg(c.rule_id || '_no_data', c.no_data) AS results,
             round((min(c.share) FILTER (WHERE NOT c.no_data))::numeric, 4)::double precision AS worst_share,
             CASE WHEN count(*) > 0 THEN count(*) FILTER (WHERE NOT c.passes AND NOT c.no_data) END AS fails,
             bool_or(NOT c.passes AND NOT c.no_data AND c.uncovered_near_edge_population > 0) AS edge_of_data
      FROM coverage_area_results c
      WHERE c.run_id = (SELECT id FROM run) AND c.rule_set_id = rule_set
        AND c.level = 'residential_area' AND c.area_key = ra.id::text
    ) cov
    WHERE z >= 11
      AND ra.geom && tile_bbox_4326(z, x, y)
      AND ra.dataset_id = (SELECT id FROM ds)
      AND greatest(ST_XMax(ra.geom) - ST_XMin(ra.geom), ST_YMax(ra.geom) - ST_YMin(ra.geom)) >= 2 * tile_pixel_deg(z)
  ),
  community_geoms AS (
    SELECT cm.id AS fid, cm.id, cm.name, cm.street, cm.district, cm.is_approximate,
           cov.results, cov.worst_share, cov.fails, cov.edge_of_data,
           ST_AsMVTGeom(ST_Transform(cm.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM communities cm
    JOIN datasets d ON d.id = cm.dataset_id
    CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(c.rule_id || '_share', round(c.share::numeric, 4))
               || jsonb_object_agg(c.rule_id || '_pass', c.passes)
               || jsonb_object_agg(c.rule_id || '_no_data', c.no_data) AS results,
             round((min(c.share) FILTER (WHERE NOT c.no_data))::numeric, 4)::double precision AS worst_share,
             CASE WHEN count(*) > 0 THEN count(*) FILTER (WHERE NOT c.passes AND NOT c.no_data) END AS fails,
             bool_or(NOT c.passes AND NOT c.no_data AND c.uncovered_near_edge_population > 0) AS edge_of_data
      FROM coverage_area_results c
      WHERE c.run_id = (SELECT id FROM run) AND c.rule_set_id = rule_set
        AND c.level = 'community' AND c.area_key = cm.id::text
    ) cov
    WHERE z >= 9
      AND cm.geom && tile_bbox_4326(z, x, y)
      AND CASE (SELECT src FROM community_source)
            WHEN 'imported' THEN d.kind = 'communities'
            ELSE d.id = (SELECT id FROM ds) END
  )
  SELECT (SELECT ST_AsMVT(t, 'residential_areas', 4096, 'geom', 'fid') FROM residential_geoms t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'communities', 4096, 'geom', 'fid') FROM community_geoms t WHERE t.geom IS NOT NULL)
$$;
COMMENT ON FUNCTION tile_areas IS 'Residential areas and communities with pass/fail and covered share per rule of rule_set in the current coverage run; worst_share and fails over the assessable rules; edge_of_data.';

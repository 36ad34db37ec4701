-- Why: tile_areas (0110) wrote the same per-area aggregation of coverage_area_results twice, once
-- for residential areas and once for communities (a LATERAL subquery each, differing only in the
-- level). One rule, one place: area_rule_summary() below is that aggregation, and tile_areas is
-- redefined with both layers calling it. Only tile_areas' two LATERAL subqueries change; its
-- served/run CTEs, filters, attributes and layer names are 0110's, so the tiles are byte-identical.
--
-- area_rule_summary(run, rule set, level, area key) returns one row for an area: results (jsonb:
-- <rule>_share rounded to 4 places, <rule>_pass, <rule>_no_data), worst_share (lowest share among
-- the assessable rules), fails (failed assessable rules; NULL when the area has no results) and
-- edge_of_data (a failed rule has uncovered residents near the data's edge). It is declared
-- RETURNS TABLE, not STRICT, so the planner inlines it into the LATERAL join (an aggregate without
-- GROUP BY always gives exactly one row, so the join keeps every area, as the subquery did). Its
-- run argument comes from a join with the run CTE (LEFT: no run yet still draws the areas), not
-- from a scalar subquery: PostgreSQL does not inline a function whose arguments hold a sub-select.
--
-- Index used: coverage_area_results' primary key (run_id, rule_set_id, level, area_key, rule_id).

CREATE FUNCTION area_rule_summary(p_run_id integer, p_rule_set text, p_level text, p_area_key text)
RETURNS TABLE (results jsonb, worst_share double precision, fails bigint, edge_of_data boolean)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT jsonb_object_agg(c.rule_id || '_share', round(c.share::numeric, 4))
           || jsonb_object_agg(c.rule_id || '_pass', c.passes)
           || jsonb_object_agg(c.rule_id || '_no_data', c.no_data),
         round((min(c.share) FILTER (WHERE NOT c.no_data))::numeric, 4)::double precision,
         CASE WHEN count(*) > 0 THEN count(*) FILTER (WHERE NOT c.passes AND NOT c.no_data) END,
         bool_or(NOT c.passes AND NOT c.no_data AND c.uncovered_near_edge_population > 0)
  FROM coverage_area_results c
  WHERE c.run_id = p_run_id AND c.rule_set_id = p_rule_set
    AND c.level = p_level AND c.area_key = p_area_key
$$;
COMMENT ON FUNCTION area_rule_summary IS 'One area''s results in a run and rule set, as the area tiles carry them: results (<rule>_share, _pass, _no_data), worst_share and fails over the assessable rules, edge_of_data.';

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
    LEFT JOIN run ON true
    CROSS JOIN LATERAL area_rule_summary(run.id, rule_set, 'residential_area', ra.id::text) cov
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
    LEFT JOIN run ON true
    CROSS JOIN LATERAL area_rule_summary(run.id, rule_set, 'community', cm.id::text) cov
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

-- Why: rules with no facility of their categories in the data (no_data, issue 13) are not
-- assessable, so the areas tiles leave them out of worst_share and fails (the worst-of-all colours),
-- and flag areas whose uncovered residents lie within the edge margin of the data (edge_of_data).
-- Layers residential_areas and communities as before (0005), plus <rule_id>_no_data per rule and
-- edge_of_data (true where a failed, assessable rule leaves residents uncovered near the data's
-- edge). No new index: the lateral lookup is served by coverage_area_results' primary key
-- (run_id, rule_set_id, level, area_key, rule_id), as before.
CREATE OR REPLACE FUNCTION tile_areas(z integer, x integer, y integer, rule_set text DEFAULT 'chengdu-park-city') RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1
  ),
  run AS (
    SELECT r.id, r.community_source FROM coverage_runs r
    WHERE r.dataset_id = (SELECT id FROM ds) AND r.status = 'done'
    ORDER BY r.id DESC LIMIT 1
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

-- Why: three branches of work redefined tile functions at the same time. 0016 made every tile
-- function read the dataset being served (served_network_dataset(): the newest with a complete
-- run, so a re-import never shows a half-made dataset), while 0021 (park entry points), 0026
-- (no_data rules, edge_of_data) and 0036 (register parks replacing OSM ones) each rewrote
-- tile_facilities or tile_areas from the older "newest dataset" form. This puts the three
-- together: tile_facilities = 0021's layers with 0036's replaced_by filter, tile_areas = 0026's
-- body, both on served_network_dataset(). Indexes as in those migrations (facilities_geom_idx,
-- facility_access_points_facility_idx, coverage_area_results' primary key).
CREATE OR REPLACE FUNCTION tile_facilities(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT served_network_dataset() AS id
  ),
  f AS (
    SELECT f.id, f.category, f.subtype, f.name, f.is_sample, f.area_m2, f.geom
    FROM facilities f
    JOIN datasets d ON d.id = f.dataset_id
    WHERE z >= 10
      AND f.geom && tile_bbox_4326(z, x, y)
      AND (d.id = (SELECT id FROM ds) OR d.kind = 'facility_register')
      AND f.replaced_by IS NULL
  ),
  points AS (
    SELECT f.id AS fid, f.id, f.category, f.subtype, f.name, f.is_sample, f.area_m2,
           ST_AsMVTGeom(ST_Transform(CASE WHEN ST_Dimension(f.geom) = 0 THEN f.geom ELSE ST_PointOnSurface(f.geom) END, 3857),
                        ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM f
  ),
  polygons AS (
    SELECT f.id AS fid, f.id, f.category, f.subtype, f.name, f.is_sample, f.area_m2,
           ST_AsMVTGeom(ST_Transform(f.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM f
    WHERE z >= 12 AND ST_Dimension(f.geom) = 2
  ),
  access AS (
    SELECT a.id AS aid, a.facility_id, f.category, a.kind,
           ST_AsMVTGeom(ST_Transform(a.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM f JOIN facility_access_points a ON a.facility_id = f.id
    WHERE z >= 14 AND ST_Dimension(f.geom) > 0
  )
  SELECT (SELECT ST_AsMVT(t, 'facilities', 4096, 'geom', 'fid') FROM points t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'facility_areas', 4096, 'geom', 'fid') FROM polygons t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'facility_access', 4096, 'geom', 'aid') FROM access t WHERE t.geom IS NOT NULL)
$$;
COMMENT ON FUNCTION tile_facilities IS 'Facilities of the active dataset and the registers: points, polygons where mapped as areas, and from z14 the access points of areas and lines (where each is entered on foot).';

CREATE OR REPLACE FUNCTION tile_areas(z integer, x integer, y integer, rule_set text DEFAULT 'chengdu-park-city') RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT served_network_dataset() AS id
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

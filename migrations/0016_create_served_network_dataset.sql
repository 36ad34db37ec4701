-- The service keeps answering from the previous complete coverage run while a new dataset is
-- imported and computed: an import no longer deletes the previous network dataset in its own
-- transaction (that cascaded to its results, so readers saw 0 areas, then 503 no_results, until the
-- compute finished); the compute that completes the new dataset's first run removes the older
-- ones. Readers therefore pick "the newest network dataset that has a done run", falling back to the
-- newest one when none has (a fresh import before its first compute): served_network_dataset()
-- below, used by the tile functions (redefined here with only that line changed) and by the API.
--
-- Index used: coverage_runs_dataset_idx (dataset_id, status, id DESC), the EXISTS per dataset.

CREATE FUNCTION served_network_dataset() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(
    (SELECT d.id FROM datasets d
     WHERE d.kind IN ('osm', 'sample_city')
       AND EXISTS (SELECT 1 FROM coverage_runs r WHERE r.dataset_id = d.id AND r.status = 'done')
     ORDER BY d.id DESC LIMIT 1),
    (SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1))
$$;
COMMENT ON FUNCTION served_network_dataset IS 'The network dataset answers come from: the newest with a complete coverage run, else the newest.';

CREATE OR REPLACE FUNCTION tile_basemap(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT served_network_dataset() AS id
  ),
  area_geoms AS (
    SELECT a.layer, a.class, a.name,
           ST_AsMVTGeom(ST_Transform(a.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM basemap_areas a
    WHERE a.geom && tile_bbox_4326(z, x, y)
      AND a.dataset_id = (SELECT id FROM ds)
      AND (a.layer = 'water' OR z >= 10)
      AND greatest(ST_XMax(a.geom) - ST_XMin(a.geom), ST_YMax(a.geom) - ST_YMin(a.geom)) >= 2 * tile_pixel_deg(z)
  ),
  road_geoms AS (
    SELECT r.highway, r.name,
           ST_AsMVTGeom(ST_Transform(r.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM basemap_roads r
    WHERE r.geom && tile_bbox_4326(z, x, y)
      AND r.dataset_id = (SELECT id FROM ds)
      AND z >= CASE
        WHEN r.highway IN ('motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link') THEN 6
        WHEN r.highway IN ('secondary', 'secondary_link', 'tertiary', 'tertiary_link') THEN 10
        WHEN r.highway IN ('residential', 'unclassified', 'living_street', 'pedestrian', 'road') THEN 13
        ELSE 14 END
  ),
  building_geoms AS (
    SELECT b.levels,
           ST_AsMVTGeom(ST_Transform(b.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM buildings b
    WHERE z >= 15
      AND b.geom && tile_bbox_4326(z, x, y)
      AND b.dataset_id = (SELECT id FROM ds)
  )
  SELECT (SELECT ST_AsMVT(t, 'water', 4096, 'geom') FROM (SELECT class, name, geom FROM area_geoms WHERE layer = 'water' AND geom IS NOT NULL) t)
      || (SELECT ST_AsMVT(t, 'landuse', 4096, 'geom') FROM (SELECT class, name, geom FROM area_geoms WHERE layer = 'landuse' AND geom IS NOT NULL) t)
      || (SELECT ST_AsMVT(t, 'green', 4096, 'geom') FROM (SELECT class, name, geom FROM area_geoms WHERE layer = 'green' AND geom IS NOT NULL) t)
      || (SELECT ST_AsMVT(t, 'roads', 4096, 'geom') FROM (SELECT highway, name, geom FROM road_geoms WHERE geom IS NOT NULL) t)
      || (SELECT ST_AsMVT(t, 'buildings', 4096, 'geom') FROM (SELECT levels, geom FROM building_geoms WHERE geom IS NOT NULL) t)
$$;
COMMENT ON FUNCTION tile_basemap IS 'Basemap of the active dataset: water, landuse, green, roads, buildings.';

CREATE OR REPLACE FUNCTION tile_network(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT served_network_dataset() AS id
  ),
  run AS (
    SELECT r.id FROM coverage_runs r
    WHERE r.dataset_id = (SELECT id FROM ds) AND r.status = 'done'
    ORDER BY r.id DESC LIMIT 1
  ),
  t AS (
    SELECT e.id AS fid, e.id, e.highway, e.name, e.is_private, ed.d,
           ST_AsMVTGeom(ST_Transform(e.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM walk_edges e
    LEFT JOIN edge_distances ed ON ed.run_id = (SELECT id FROM run) AND ed.edge_id = e.id
    WHERE z >= 12
      AND e.geom && tile_bbox_4326(z, x, y)
      AND e.dataset_id = (SELECT id FROM ds)
  )
  SELECT ST_AsMVT(t, 'network', 4096, 'geom', 'fid') FROM t WHERE t.geom IS NOT NULL
$$;
COMMENT ON FUNCTION tile_network IS 'Walking network of the active dataset with walking distances (m) to each facility category in the current coverage run.';

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
  )
  SELECT (SELECT ST_AsMVT(t, 'facilities', 4096, 'geom', 'fid') FROM points t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'facility_areas', 4096, 'geom', 'fid') FROM polygons t WHERE t.geom IS NOT NULL)
$$;
COMMENT ON FUNCTION tile_facilities IS 'Facilities of the active dataset and the registers: points, and polygons where mapped as areas.';

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
           cov.results, cov.worst_share, cov.fails,
           ST_AsMVTGeom(ST_Transform(ra.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM residential_areas ra
    CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(c.rule_id || '_share', round(c.share::numeric, 4))
               || jsonb_object_agg(c.rule_id || '_pass', c.passes) AS results,
             round(min(c.share)::numeric, 4)::double precision AS worst_share,
             CASE WHEN count(*) > 0 THEN count(*) FILTER (WHERE NOT c.passes) END AS fails
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
           cov.results, cov.worst_share, cov.fails,
           ST_AsMVTGeom(ST_Transform(cm.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM communities cm
    JOIN datasets d ON d.id = cm.dataset_id
    CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(c.rule_id || '_share', round(c.share::numeric, 4))
               || jsonb_object_agg(c.rule_id || '_pass', c.passes) AS results,
             round(min(c.share)::numeric, 4)::double precision AS worst_share,
             CASE WHEN count(*) > 0 THEN count(*) FILTER (WHERE NOT c.passes) END AS fails
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
COMMENT ON FUNCTION tile_areas IS 'Residential areas and communities with pass/fail and covered share per rule of rule_set in the current coverage run.';

-- Vector tiles for the map, made by PostGIS: one function per source, in pg_tileserv's
-- function-layer form, (z, x, y[, options]) RETURNS bytea, STABLE PARALLEL SAFE, so the API and
-- pg_tileserv serve the same bytes. Each reads the active dataset (newest datasets row of kind
-- osm|sample_city) and the current run (its newest 'done' coverage_runs row), so a tile shows one
-- complete run. Geometry is cut to the tile by ST_AsMVTGeom (extent 4096, buffer 64), which snaps
-- to the tile grid and drops what collapses below a pixel; small features are also limited by zoom.
--
-- Indexes used, all from earlier migrations except plans_geom_idx:
--   *_geom_idx (gist)              every tile: `geom && tile_bbox_4326(z, x, y)`
--   coverage_runs_dataset_idx      the current run
--   edge_distances primary key     tile_network: each edge's distances in the current run
--   coverage_area_results pkey     tile_areas: each area's results for (run, rule set, level, key)
--   plans_geom_idx (new)           tile_plans

-- The plans table belongs to the planning feature; it is created here, with the same definition
-- that feature's migration uses (IF NOT EXISTS), so tile_plans never refers to a missing table.
CREATE TABLE IF NOT EXISTS plans (
  id         bigserial PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('demolish_illegal', 'demolish_wall', 'add_open_space')),
  name       text NOT NULL,
  status     text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'approved', 'done')),
  geom       geometry(Geometry, 4326) NOT NULL,
  notes      text,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Serves: tile_plans.
CREATE INDEX IF NOT EXISTS plans_geom_idx ON plans USING gist (geom);

-- The tile's bounds plus the 64/4096 buffer, in WGS 84, for `geom && …` index filters. The
-- buffered Web Mercator envelope is clamped to the world first: past ±20037508 m it would wrap
-- across the antimeridian and invert the box.
CREATE FUNCTION tile_bbox_4326(z integer, x integer, y integer) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT ST_Transform(ST_MakeEnvelope(
           greatest(ST_XMin(e), -20037508.342789244), greatest(ST_YMin(e), -20037508.342789244),
           least(ST_XMax(e), 20037508.342789244), least(ST_YMax(e), 20037508.342789244), 3857), 4326)
  FROM ST_TileEnvelope(z, x, y, margin => 64.0 / 4096) AS e
$$;

-- Degrees of longitude per tile pixel (extent 4096) at zoom z; areas smaller than a few of these
-- are skipped before they are transformed.
CREATE FUNCTION tile_pixel_deg(z integer) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT 360.0 / 4096 / 2 ^ z
$$;

-- Layers water, landuse, green (class, name), roads (highway, name), buildings (levels).
-- Roads by zoom: motorway–primary from z6, secondary–tertiary from z10, streets from z13, service
-- roads and paths from z14. Landuse and green from z10, buildings from z15.
CREATE FUNCTION tile_basemap(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1
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

-- Layer network: walkable edges of the active dataset with id, highway, name, is_private, and the
-- walking distance in metres to the nearest facility of each category in the current run, one
-- attribute per category (park, market, …; absent where none is in reach). ST_AsMVT writes the keys
-- of a jsonb column as attributes. From z12.
CREATE FUNCTION tile_network(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1
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

-- Layers facilities (a point per facility; ST_PointOnSurface of polygons) and facility_areas (the
-- polygons), with id, category, subtype, name, is_sample, area_m2. Facilities of the active
-- dataset and of every register, as the engine loads them. Points from z10, polygons from z12.
CREATE FUNCTION tile_facilities(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1
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

-- Layers residential_areas (id, name, population, population_source, is_gated) and communities
-- (id, name, street, district, is_approximate), each with the current run's results under
-- rule_set: <rule_id>_share (0–1, population-weighted), <rule_id>_pass, worst_share (lowest share
-- over the rules) and fails (rules not passed). Areas without results carry none of these.
-- Communities are those the run used (imported, or the approximate zones of the dataset).
-- Communities from z9, residential areas from z11.
CREATE FUNCTION tile_areas(z integer, x integer, y integer, rule_set text DEFAULT 'chengdu-park-city') RETURNS bytea
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

-- Layer plans (id, kind, name, status, updated_at as ISO 8601), every zoom: planners draw few, and
-- an edit must show at once.
CREATE FUNCTION tile_plans(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT ST_AsMVT(t, 'plans', 4096, 'geom', 'fid')
  FROM (
    SELECT p.id AS fid, p.id, p.kind, p.name, p.status, to_json(p.updated_at) #>> '{}' AS updated_at,
           ST_AsMVTGeom(ST_Transform(p.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM plans p
    WHERE p.geom && tile_bbox_4326(z, x, y)
  ) t
  WHERE t.geom IS NOT NULL
$$;
COMMENT ON FUNCTION tile_plans IS 'Plans drawn by planners: demolitions and new open spaces.';

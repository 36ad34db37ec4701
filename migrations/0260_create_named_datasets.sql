-- Why: one network dataset was served at a time (served_network_dataset(): the newest with a
-- complete run), so a second city replaced the first and two vintages of one city could not be
-- compared (#15 item 6). A network dataset now has a name (`chengdu-central-2018`, `porto-2020`:
-- derived from the file at import, or `npm run import -- osm <file> --name <name>`); rows sharing a
-- name are vintages of one dataset, and the newest with a complete run is served under that name
-- while a newer one is computed (the rule served_network_dataset() had, now per name). Several
-- names are served side by side; one is the default (is_default, else the name
-- served_network_dataset() used to pick), which every route and tile uses when no `dataset=` is
-- given.
--
-- dataset_run(name) below is the one place for "which dataset row and which complete run answer for
-- this name" (#10: tile functions and TypeScript ask it alike); served_network_dataset() and
-- served_run() become dataset_run(default_dataset_name()), so existing readers keep their meaning.
-- Every tile function gets an overload taking the dataset name last (bodies as in 0016, 0110, 0130,
-- 0190, 0210 with only the ds/served CTE changed); the old signatures call it with the default.
--
-- Index used: datasets_name_idx (name, id DESC) for the newest row of a name;
-- coverage_runs_dataset_idx (dataset_id, status, id DESC) for its done runs.

ALTER TABLE datasets ADD COLUMN name text, ADD COLUMN is_default boolean NOT NULL DEFAULT false,
  ADD COLUMN osm_timestamp timestamptz;

-- Existing network datasets are named after their file, as the importer derives it (the generated
-- city: sample-city).
UPDATE datasets SET name = CASE WHEN kind = 'sample_city' THEN 'sample-city' ELSE coalesce(nullif(
  left(trim(BOTH '-' FROM regexp_replace(lower(regexp_replace(source, '(\.osm)?(\.pbf|\.xml|\.osm)$', '', 'i')), '[^a-z0-9]+', '-', 'g')), 64), ''),
  'dataset') END
WHERE kind IN ('osm', 'sample_city');
UPDATE datasets SET name = left('dataset-' || name, 64) WHERE name ~ '^[0-9]+$';

ALTER TABLE datasets
  ADD CONSTRAINT datasets_network_named CHECK (kind NOT IN ('osm', 'sample_city') OR name IS NOT NULL),
  -- all digits is a run id in /api/compare?from=…
  ADD CONSTRAINT datasets_name_format CHECK (name IS NULL OR (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$' AND name !~ '^[0-9]+$')),
  ADD CONSTRAINT datasets_default_is_network CHECK (NOT is_default OR kind IN ('osm', 'sample_city'));
CREATE INDEX datasets_name_idx ON datasets (name, id DESC) WHERE kind IN ('osm', 'sample_city');
COMMENT ON COLUMN datasets.name IS 'Network datasets: the name routes and tiles take as dataset=; rows sharing it are vintages, the newest with a complete run is served.';
COMMENT ON COLUMN datasets.osm_timestamp IS 'Network datasets: the date of the OSM data (file header, else newest object); NULL when the file carries none.';
COMMENT ON COLUMN datasets.is_default IS 'The name answers come from when a request names none (the newest row so marked).';

CREATE FUNCTION default_dataset_name() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(
    (SELECT name FROM datasets WHERE kind IN ('osm', 'sample_city') AND is_default ORDER BY id DESC LIMIT 1),
    (SELECT d.name FROM datasets d
     WHERE d.kind IN ('osm', 'sample_city')
       AND EXISTS (SELECT 1 FROM coverage_runs r WHERE r.dataset_id = d.id AND r.status = 'done')
     ORDER BY d.id DESC LIMIT 1),
    (SELECT name FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1))
$$;
COMMENT ON FUNCTION default_dataset_name IS 'The dataset name used when a request names none: the newest marked default, else the newest with a complete run, else the newest.';

CREATE FUNCTION dataset_run(p_name text, OUT dataset_id integer, OUT run_id integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.id,
         (SELECT r.id FROM coverage_runs r WHERE r.dataset_id = s.id AND r.status = 'done' ORDER BY r.id DESC LIMIT 1)
  FROM (SELECT coalesce(
          (SELECT d.id FROM datasets d
           WHERE d.kind IN ('osm', 'sample_city') AND d.name = p_name
             AND EXISTS (SELECT 1 FROM coverage_runs r WHERE r.dataset_id = d.id AND r.status = 'done')
           ORDER BY d.id DESC LIMIT 1),
          (SELECT d.id FROM datasets d WHERE d.kind IN ('osm', 'sample_city') AND d.name = p_name ORDER BY d.id DESC LIMIT 1)) AS id) s
$$;
COMMENT ON FUNCTION dataset_run IS 'The network dataset row served under a name (the newest with a complete coverage run, else the newest) and its newest complete run; NULLs where there is none.';

CREATE OR REPLACE FUNCTION served_network_dataset() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT dataset_id FROM dataset_run(default_dataset_name())
$$;
COMMENT ON FUNCTION served_network_dataset IS 'The network dataset row served under the default name (dataset_run(default_dataset_name())).';

CREATE OR REPLACE FUNCTION served_run(OUT dataset_id integer, OUT run_id integer)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT dataset_id, run_id FROM dataset_run(default_dataset_name())
$$;
COMMENT ON FUNCTION served_run IS 'dataset_run() of the default dataset name.';

CREATE FUNCTION tile_basemap(z integer, x integer, y integer, p_dataset text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT (SELECT r.dataset_id FROM dataset_run(p_dataset) r) AS id
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

COMMENT ON FUNCTION tile_basemap(integer, integer, integer, text) IS 'The basemap tile of the named dataset (dataset_run(p_dataset)).';

CREATE OR REPLACE FUNCTION tile_basemap(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT tile_basemap(z, x, y, default_dataset_name())
$$;

CREATE FUNCTION tile_network(z integer, x integer, y integer, p_dataset text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH served AS (
    SELECT dataset_id, run_id FROM dataset_run(p_dataset)
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

COMMENT ON FUNCTION tile_network(integer, integer, integer, text) IS 'The network tile of the named dataset (dataset_run(p_dataset)).';

CREATE OR REPLACE FUNCTION tile_network(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT tile_network(z, x, y, default_dataset_name())
$$;

CREATE FUNCTION tile_facilities(z integer, x integer, y integer, p_dataset text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT (SELECT r.dataset_id FROM dataset_run(p_dataset) r) AS id
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

COMMENT ON FUNCTION tile_facilities(integer, integer, integer, text) IS 'The facilities tile of the named dataset (dataset_run(p_dataset)).';

CREATE OR REPLACE FUNCTION tile_facilities(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT tile_facilities(z, x, y, default_dataset_name())
$$;

CREATE FUNCTION tile_areas(z integer, x integer, y integer, rule_set text, p_dataset text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH served AS (
    SELECT dataset_id, run_id FROM dataset_run(p_dataset)
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

COMMENT ON FUNCTION tile_areas(integer, integer, integer, text, text) IS 'The areas tile of the named dataset (dataset_run(p_dataset)).';

CREATE OR REPLACE FUNCTION tile_areas(z integer, x integer, y integer, rule_set text DEFAULT 'chengdu-park-city') RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT tile_areas(z, x, y, rule_set, default_dataset_name())
$$;

CREATE FUNCTION tile_area_labels(z integer, x integer, y integer, p_dataset text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT (SELECT r.dataset_id FROM dataset_run(p_dataset) r) AS id
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
  envelope AS (
    SELECT ST_Transform(ST_TileEnvelope(z, x, y), 4326) AS e
  ),
  community_points AS (
    SELECT cm.id AS fid, cm.id, cm.name, ST_PointOnSurface(cm.geom) AS pt
    FROM communities cm
    JOIN datasets d ON d.id = cm.dataset_id
    WHERE z >= 9 AND cm.name IS NOT NULL
      AND cm.geom && tile_bbox_4326(z, x, y)
      AND CASE (SELECT src FROM community_source)
            WHEN 'imported' THEN d.kind = 'communities'
            ELSE d.id = (SELECT id FROM ds) END
  ),
  community_labels AS (
    SELECT p.fid, p.id, p.name,
           ST_AsMVTGeom(ST_Transform(p.pt, 3857), ST_TileEnvelope(z, x, y), 4096, 0, true) AS geom
    FROM community_points p
    WHERE ST_Intersects(p.pt, (SELECT e FROM envelope))
  ),
  residential_points AS (
    SELECT ra.id AS fid, ra.id, ra.name, ST_PointOnSurface(ra.geom) AS pt
    FROM residential_areas ra
    WHERE z >= 11 AND ra.name IS NOT NULL
      AND ra.geom && tile_bbox_4326(z, x, y)
      AND ra.dataset_id = (SELECT id FROM ds)
  ),
  residential_labels AS (
    SELECT p.fid, p.id, p.name,
           ST_AsMVTGeom(ST_Transform(p.pt, 3857), ST_TileEnvelope(z, x, y), 4096, 0, true) AS geom
    FROM residential_points p
    WHERE ST_Intersects(p.pt, (SELECT e FROM envelope))
  )
  SELECT (SELECT ST_AsMVT(t, 'community_labels', 4096, 'geom', 'fid') FROM community_labels t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'residential_area_labels', 4096, 'geom', 'fid') FROM residential_labels t WHERE t.geom IS NOT NULL)
$$;

COMMENT ON FUNCTION tile_area_labels(integer, integer, integer, text) IS 'The area_labels tile of the named dataset (dataset_run(p_dataset)).';

CREATE OR REPLACE FUNCTION tile_area_labels(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT tile_area_labels(z, x, y, default_dataset_name())
$$;

CREATE FUNCTION tile_barriers(z integer, x integer, y integer, p_dataset text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT (SELECT r.dataset_id FROM dataset_run(p_dataset) r) AS id
  ),
  walls AS (
    SELECT b.id AS fid, b.id, b.kind, b.osm_way_id,
           ST_AsMVTGeom(ST_Transform(b.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM barriers b
    WHERE z >= 14
      AND b.geom && tile_bbox_4326(z, x, y)
      AND b.dataset_id = (SELECT id FROM ds)
  ),
  compounds AS (
    SELECT ra.id AS fid, ra.id, ra.name, ra.gated_reason,
           ST_AsMVTGeom(ST_Transform(ra.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM residential_areas ra
    WHERE z >= 13 AND ra.is_gated
      AND ra.geom && tile_bbox_4326(z, x, y)
      AND ra.dataset_id = (SELECT id FROM ds)
  ),
  gates AS (
    SELECT g.id AS fid, g.id, g.kind, g.residential_area_id,
           ST_AsMVTGeom(ST_Transform(g.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM compound_gates g
    JOIN residential_areas ra ON ra.id = g.residential_area_id
    WHERE z >= 15
      AND g.geom && tile_bbox_4326(z, x, y)
      AND ra.dataset_id = (SELECT id FROM ds)
  )
  SELECT (SELECT ST_AsMVT(t, 'walls', 4096, 'geom', 'fid') FROM walls t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'gated_compounds', 4096, 'geom', 'fid') FROM compounds t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'compound_gates', 4096, 'geom', 'fid') FROM gates t WHERE t.geom IS NOT NULL)
$$;

COMMENT ON FUNCTION tile_barriers(integer, integer, integer, text) IS 'The barriers tile of the named dataset (dataset_run(p_dataset)).';

CREATE OR REPLACE FUNCTION tile_barriers(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT tile_barriers(z, x, y, default_dataset_name())
$$;

CREATE FUNCTION tile_population(z integer, x integer, y integer, p_dataset text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT (SELECT r.dataset_id FROM dataset_run(p_dataset) r) AS id
  ),
  envelope AS (
    SELECT ST_TileEnvelope(z, x, y) AS e
  ),
  t AS (
    SELECT o.id AS fid, o.id, o.kind, o.residential_area_id,
           round(o.population::numeric, 2)::double precision AS population,
           coalesce(o.population_source, 'estimate') AS population_source,
           coalesce(o.population_source, 'estimate') NOT IN ('osm', 'census') AS estimated,
           ST_AsMVTGeom(p.m, (SELECT e FROM envelope), 4096, 0, true) AS geom
    FROM origins o
    CROSS JOIN LATERAL (SELECT ST_Transform(o.geom, 3857) AS m) p
    WHERE z >= 13
      AND o.population > 0
      AND o.geom && tile_bbox_4326(z, x, y)
      AND o.dataset_id = (SELECT id FROM ds)
      -- half-open box [west, east) × (south, north]: a point on a tile edge belongs to one tile
      AND ST_X(p.m) >= ST_XMin((SELECT e FROM envelope)) AND ST_X(p.m) < ST_XMax((SELECT e FROM envelope))
      AND ST_Y(p.m) > ST_YMin((SELECT e FROM envelope)) AND ST_Y(p.m) <= ST_YMax((SELECT e FROM envelope))
  )
  SELECT ST_AsMVT(t, 'population', 4096, 'geom', 'fid') FROM t WHERE t.geom IS NOT NULL
$$;

COMMENT ON FUNCTION tile_population(integer, integer, integer, text) IS 'The population tile of the named dataset (dataset_run(p_dataset)).';

CREATE OR REPLACE FUNCTION tile_population(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT tile_population(z, x, y, default_dataset_name())
$$;

-- build_generalised_network (0250) with one change: a group of zero-length edges (real Porto has
-- two walk edges of length 0) merges into GEOMETRYCOLLECTION EMPTY, which the MultiLineString
-- column refused, failing the whole compute of the second dataset this migration serves; it is now
-- MULTILINESTRING EMPTY (drawn as nothing, its edges still listed).
CREATE OR REPLACE FUNCTION build_generalised_network(p_run_id integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_dataset integer;
  v_rows integer;
BEGIN
  SELECT dataset_id INTO STRICT v_dataset FROM coverage_runs WHERE id = p_run_id;
  DELETE FROM generalised_network WHERE dataset_id = v_dataset;
  INSERT INTO generalised_network (run_id, dataset_id, band, id, highway, name, is_private, d, edge_ids, geom)
  WITH bands(band) AS (VALUES (9), (10), (11), (12)),
  edges AS MATERIALIZED (
    SELECT e.id AS edge_id, e.highway, e.name, e.is_private, coalesce(ed.d, '{}'::jsonb) AS d, t.g, ST_LineInterpolatePoint(t.g, 0.5) AS m
    FROM walk_edges e
    LEFT JOIN edge_distances ed ON ed.run_id = p_run_id AND ed.edge_id = e.id
    CROSS JOIN LATERAL (SELECT ST_Transform(e.geom, 3857) AS g) t
    WHERE e.dataset_id = v_dataset AND e.highway = ANY (generalised_highways(12))
  ),
  keyed AS (
    SELECT b.band, e.*, dense_rank() OVER (ORDER BY b.band, e.highway, e.name, e.is_private, c.cx, c.cy) AS gk
    FROM bands b
    JOIN edges e ON e.highway = ANY (generalised_highways(b.band))
    CROSS JOIN LATERAL (SELECT floor(ST_X(e.m) / (tile_size_3857(b.band) / 32))::bigint AS cx,
                               floor(ST_Y(e.m) / (tile_size_3857(b.band) / 32))::bigint AS cy) c
  ),
  groups AS (
    SELECT gk, min(band) AS band, min(highway) AS highway, min(name) AS name,
           bool_and(is_private) AS is_private, array_agg(edge_id ORDER BY edge_id) AS edge_ids, count(*) AS n,
           ST_LineMerge(ST_Collect(g)) AS g
    FROM keyed
    GROUP BY gk
  ),
  worst AS (
    -- per group, the categories present on every piece: -1 if any piece is beyond the cap, else the largest
    SELECT c.gk, jsonb_object_agg(c.key, c.worst) AS d
    FROM (
      SELECT keyed.gk, kv.key, count(*) AS present,
             CASE WHEN min(kv.value::text::float8) = -1 THEN -1 ELSE ceil(max(kv.value::text::float8)) END AS worst
      FROM keyed CROSS JOIN LATERAL jsonb_each(keyed.d) AS kv
      GROUP BY keyed.gk, kv.key
    ) c
    JOIN groups k ON k.gk = c.gk
    WHERE c.present = k.n
    GROUP BY c.gk
  )
  SELECT p_run_id, v_dataset, g.band,
         row_number() OVER (PARTITION BY g.band ORDER BY g.edge_ids[1])::integer,
         g.highway, g.name, g.is_private, coalesce(w.d, '{}'::jsonb), g.edge_ids,
         ST_Multi(ST_CollectionExtract(ST_SimplifyPreserveTopology(g.g, tile_size_3857(g.band) / 4096), 2))
  FROM groups g
  LEFT JOIN worst w ON w.gk = g.gk;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION build_generalised_network IS 'Fills generalised_network for a coverage run (zooms 9–12); returns the rows written.';

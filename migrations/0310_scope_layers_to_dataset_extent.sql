-- Why: facility registers, imported community zones and districts are not part of a network
-- dataset, and several readers took them as belonging to every one (#15 item 6): Porto's engine
-- loaded Chengdu's elderly-care register (Porto's elderly-care rule was assessed, failing, instead
-- of "no data"), and once Chengdu's community boundaries were imported Porto's run took 'imported'
-- zones (none holding a Porto resident) and its audit listed every Chengdu community as an empty
-- zone. The rule server/queries/datasets.ts already used now holds everywhere: such a layer
-- belongs to a network dataset where it lies in (intersects) the dataset's extent, datasets.bbox;
-- a register facility also just outside it (dataset_facility_extent), since a street inside can
-- reach it. The community source of a dataset is 'imported' only when imported zones lie in its
-- extent (community_source_of). A dataset without a bbox keeps the old meaning (everything).
--
-- The tile functions taking a dataset name (0260) and build_generalised_areas (0251) are
-- replaced with only those filters changed. Runs computed before keep their community_source;
-- a new compute of a dataset whose source changes does not reuse them (compute-coverage.ts
-- reusableRun matches community_source).
--
-- Indexes used: the gist indexes on facilities.geom and communities.geom for ST_Intersects with
-- the extent (a box, evaluated once per statement); datasets' primary key for the bbox.

CREATE FUNCTION register_facility_margin_m() RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  -- The engine snaps a facility's access points to streets up to 200 m away (geo/snap.ts
  -- DEFAULT_MAX_SNAP_M), but the extent is the file's header box and OSM extracts keep ways
  -- complete, so streets (and what snaps to them) reach beyond it: 1 km keeps those, and is far
  -- below the distance between two cities' extents.
  SELECT 1000::double precision
$$;
COMMENT ON FUNCTION register_facility_margin_m IS 'How far outside a network dataset''s bbox a register facility still belongs to it, in metres.';

CREATE FUNCTION dataset_extent(p_dataset integer) RETURNS geometry
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(d.bbox, ST_MakeEnvelope(-180, -90, 180, 90, 4326)) FROM datasets d WHERE d.id = p_dataset
$$;
COMMENT ON FUNCTION dataset_extent IS 'The extent (WGS 84 box) in which registers, community zones and districts belong to network dataset p_dataset: its bbox, the whole world when it has none; NULL for no dataset.';

CREATE FUNCTION dataset_facility_extent(p_dataset integer) RETURNS geometry
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  -- metres to degrees: 110,574 m per degree of latitude (the smallest, at the equator) and the
  -- parallel's length at the box's edge farthest from the equator, so the margin is never short
  SELECT CASE WHEN d.bbox IS NULL THEN ST_MakeEnvelope(-180, -90, 180, 90, 4326)
    ELSE ST_Expand(d.bbox,
                   register_facility_margin_m() / (111320 * cos(radians(least(89, greatest(abs(ST_YMin(d.bbox)), abs(ST_YMax(d.bbox))))))),
                   register_facility_margin_m() / 110574) END
  FROM datasets d WHERE d.id = p_dataset
$$;
COMMENT ON FUNCTION dataset_facility_extent IS 'dataset_extent() grown by register_facility_margin_m(): where register facilities belong to network dataset p_dataset.';

CREATE FUNCTION community_source_of(p_dataset integer) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN EXISTS (SELECT 1 FROM communities c JOIN datasets cd ON cd.id = c.dataset_id
                           WHERE cd.kind = 'communities' AND ST_Intersects(c.geom, dataset_extent(p_dataset)))
              THEN 'imported' ELSE 'approximate' END
$$;
COMMENT ON FUNCTION community_source_of IS 'Which community zones a run of network dataset p_dataset uses: ''imported'' when imported zones lie in its extent, else its ''approximate'' zones.';

CREATE OR REPLACE FUNCTION tile_facilities(z integer, x integer, y integer, p_dataset text) RETURNS bytea
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
      AND (d.id = (SELECT id FROM ds)
           OR d.kind = 'facility_register' AND ST_Intersects(f.geom, (SELECT dataset_facility_extent(id) FROM ds)))
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


CREATE OR REPLACE FUNCTION tile_areas(z integer, x integer, y integer, rule_set text, p_dataset text) RETURNS bytea
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
                    community_source_of((SELECT id FROM ds))) AS src
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
            WHEN 'imported' THEN d.kind = 'communities' AND ST_Intersects(cm.geom, (SELECT dataset_extent(id) FROM ds))
            ELSE d.id = (SELECT id FROM ds) END
  )
  SELECT (SELECT ST_AsMVT(t, 'residential_areas', 4096, 'geom', 'fid') FROM residential_geoms t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'communities', 4096, 'geom', 'fid') FROM community_geoms t WHERE t.geom IS NOT NULL)
$$;


CREATE OR REPLACE FUNCTION tile_area_labels(z integer, x integer, y integer, p_dataset text) RETURNS bytea
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
                    community_source_of((SELECT id FROM ds))) AS src
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
            WHEN 'imported' THEN d.kind = 'communities' AND ST_Intersects(cm.geom, (SELECT dataset_extent(id) FROM ds))
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


CREATE OR REPLACE FUNCTION build_generalised_areas(p_run_id integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_dataset integer;
  v_source text;
  v_rows integer;
  v_px10 double precision := tile_size_3857(10) / 4096;
  v_px12 double precision := tile_size_3857(12) / 4096;
BEGIN
  SELECT r.dataset_id, coalesce(r.community_source,
           community_source_of(r.dataset_id))
    INTO STRICT v_dataset, v_source
  FROM coverage_runs r WHERE r.id = p_run_id;
  DELETE FROM generalised_areas WHERE dataset_id = v_dataset;

  -- the run's communities, as tile_areas chooses them
  CREATE TEMP TABLE gen_communities ON COMMIT DROP AS
  -- grouped by district as the coverage queries place them (server/queries/coverage.ts): the one the
  -- community names, else the imported district boundary holding it
  SELECT cm.id, cm.name, cm.street, cm.district, coalesce(cm.district, district_at(ST_PointOnSurface(cm.geom))) AS district_key,
         cm.is_approximate, ST_Transform(cm.geom, 3857) AS g
  FROM communities cm JOIN datasets d ON d.id = cm.dataset_id
  WHERE CASE v_source WHEN 'imported' THEN d.kind = 'communities' AND ST_Intersects(cm.geom, dataset_extent(v_dataset))
                     ELSE d.id = v_dataset END;

  INSERT INTO generalised_areas (run_id, dataset_id, band, level, area_key, id, name, street, district, is_approximate, geom)
  SELECT p_run_id, v_dataset, 9, 'district', u.district_key, NULL, u.district_key, NULL, u.district_key, NULL, u.g
  FROM (
    SELECT c.district_key, generalised_polygon(ST_Union(ST_SnapToGrid(c.g, v_px10 / 4)), v_px10) AS g
    FROM gen_communities c WHERE c.district_key IS NOT NULL GROUP BY c.district_key
  ) u WHERE u.g IS NOT NULL
  UNION ALL
  SELECT p_run_id, v_dataset, b.band, 'community', c.id::text, c.id, c.name, c.street, c.district, c.is_approximate, b.g
  FROM gen_communities c
  CROSS JOIN LATERAL (
    SELECT 9 AS band, generalised_polygon(c.g, v_px10) AS g WHERE c.district_key IS NULL
    UNION ALL SELECT 11, generalised_polygon(c.g, v_px12)
  ) b
  WHERE b.g IS NOT NULL;

  INSERT INTO generalised_areas (run_id, dataset_id, band, level, area_key, id, name, population, population_source, is_gated, geom)
  SELECT p_run_id, v_dataset, 11, 'residential_area', ra.id::text, ra.id, ra.name, ra.population, ra.population_source, ra.is_gated, s.g
  FROM residential_areas ra
  CROSS JOIN LATERAL (SELECT generalised_polygon(ST_Transform(ra.geom, 3857), v_px12) AS g) s
  WHERE ra.dataset_id = v_dataset AND s.g IS NOT NULL;

  SELECT count(*) INTO v_rows FROM generalised_areas WHERE run_id = p_run_id;
  DROP TABLE gen_communities;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION build_generalised_areas IS 'Fills generalised_areas for a coverage run (districts at zooms 9–10, communities and residential areas at 11–12); returns the rows.';

-- Importing a register (of a category), community zones or districts replaced every previous one
-- of its kind, wherever it lay: a Porto register deleted Chengdu's. A new layer now replaces the
-- previous ones in the same place only: those sharing a network dataset with it (both have rows
-- that belong to it, as above), or whose rows' extents meet; two layers that belong to no network
-- dataset at all (say, imported before any city) are in one place, as before.
CREATE FUNCTION layer_extent(p_layer integer) RETURNS geometry
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ST_SetSRID(ST_Extent(g)::geometry, 4326) FROM (
    SELECT geom AS g FROM facilities WHERE dataset_id = p_layer
    UNION ALL SELECT geom FROM communities WHERE dataset_id = p_layer
    UNION ALL SELECT geom FROM districts WHERE dataset_id = p_layer) t
$$;
COMMENT ON FUNCTION layer_extent IS 'The box of the facilities, communities or districts of layer dataset p_layer; NULL when it has none.';

CREATE FUNCTION layer_belongs_to(p_layer integer, p_network integer) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT EXISTS (SELECT 1 FROM facilities f JOIN datasets d ON d.id = f.dataset_id
                 WHERE f.dataset_id = p_layer AND d.kind = 'facility_register' AND ST_Intersects(f.geom, dataset_facility_extent(p_network)))
      OR EXISTS (SELECT 1 FROM communities c WHERE c.dataset_id = p_layer AND ST_Intersects(c.geom, dataset_extent(p_network)))
      OR EXISTS (SELECT 1 FROM districts dt WHERE dt.dataset_id = p_layer AND ST_Intersects(dt.geom, dataset_extent(p_network)))
$$;
COMMENT ON FUNCTION layer_belongs_to IS 'Whether layer dataset p_layer (register, communities, districts) has rows that belong to network dataset p_network.';

CREATE FUNCTION layers_share_place(p_a integer, p_b integer) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(ST_Intersects(layer_extent(p_a), layer_extent(p_b)), true)
      OR EXISTS (SELECT 1 FROM datasets n WHERE n.kind IN ('osm', 'sample_city')
                 AND layer_belongs_to(p_a, n.id) AND layer_belongs_to(p_b, n.id))
      OR NOT EXISTS (SELECT 1 FROM datasets n WHERE n.kind IN ('osm', 'sample_city')
                     AND (layer_belongs_to(p_a, n.id) OR layer_belongs_to(p_b, n.id)))
$$;
COMMENT ON FUNCTION layers_share_place IS 'Whether two layer datasets lie in the same place (an import of one replaces the other): their extents meet, one is empty, both belong to one network dataset, or neither to any.';

-- The map shows where a park is entered (issue 13): tile_facilities gains a third layer,
-- facility_access, with the access points of the facilities it draws (facility_id, category,
-- kind: entrance | crossing | sampled | point), from z14, where single entries can be told apart.
-- The other two layers are unchanged (migration 0005).
--
-- Indexes used: facilities_geom_idx (gist) for `f.geom && tile`, and facility_access_points_facility_idx
-- (migration 0003) for each drawn facility's access points.
CREATE OR REPLACE FUNCTION tile_facilities(z integer, x integer, y integer) RETURNS bytea
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

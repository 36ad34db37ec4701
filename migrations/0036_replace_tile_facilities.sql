-- Facility tiles leave out OSM parks and green spaces that a register area replaced
-- (facilities.replaced_by, migration 0035), as the engine and the dataset counts do, so the map
-- shows the register's park once instead of both. Same body as 0005 otherwise; the query is
-- served by facilities_geom_idx as before.
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
  )
  SELECT (SELECT ST_AsMVT(t, 'facilities', 4096, 'geom', 'fid') FROM points t WHERE t.geom IS NOT NULL)
      || (SELECT ST_AsMVT(t, 'facility_areas', 4096, 'geom', 'fid') FROM polygons t WHERE t.geom IS NOT NULL)
$$;

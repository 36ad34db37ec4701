-- Why: community names were drawn by a symbol layer on the areas polygons, so MapLibre placed one
-- label per polygon piece per tile and a community cut by tile edges was named two or three times
-- (香木林花园 ×3). tile_area_labels gives ONE point per community / residential area, inside the
-- polygon (ST_PointOnSurface), put only in the tile that holds it (no tile buffer), so each name
-- exists once in the tile pyramid at a zoom. The areas chosen are tile_areas' (0040): communities
-- from the imported register when the run used it, else the approximate zones of the served
-- dataset; residential areas of the served dataset.
-- Why: walls, gates and gated compounds decide where people can walk (snapping never crosses a
-- wall, a 拆除围墙 plan removes one), yet the map did not draw them, so a wall plan was drawn
-- blind. tile_barriers serves the barriers table (barrier=wall|fence …), compound_gates and the
-- outlines of gated residential areas with their gated_reason, from z14 (walls are short lines).
-- New functions, no existing one replaced. Indexes used: communities/residential_areas geom
-- indexes (0003), barriers_geom_idx, compound_gates_area_idx.
CREATE OR REPLACE FUNCTION tile_area_labels(z integer, x integer, y integer) RETURNS bytea
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
COMMENT ON FUNCTION tile_area_labels IS 'One label point per named community and residential area (as tile_areas chooses them), only in the tile that holds it.';

CREATE OR REPLACE FUNCTION tile_barriers(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT served_network_dataset() AS id
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
COMMENT ON FUNCTION tile_barriers IS 'Mapped walls and fences (z14+), gated residential areas with gated_reason (z13+) and their gates (z15+), of the served dataset.';

-- Serves: tile_barriers' gates by tile box.
CREATE INDEX IF NOT EXISTS compound_gates_geom_idx ON compound_gates USING gist (geom);

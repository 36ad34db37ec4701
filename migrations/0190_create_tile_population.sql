-- Why: a planner could not see where people live, so a new park 1 km from the homes that "covers
-- 0 new residents" was a puzzle. tile_population serves the coverage origins of the served
-- dataset (served_network_dataset(), as tile_area_labels and tile_barriers) with the residents
-- each stands for and where that figure comes from: population_source osm | census | grid |
-- estimate (README "Population"), kind building | area_sample, and `estimated` (true unless the
-- figure was counted: OSM population tags or an imported census table), so the map labels
-- estimated residents as estimated. A NULL source (origins made before 0030) counts as estimated.
-- Each origin is put only in the tile that holds it (no buffer), so summing `population` over the
-- features of a view counts every resident once. From z13: below that the points are a blur.
-- New function, no existing one replaced. Index added: origins_geom_idx (tile box lookup).
CREATE INDEX IF NOT EXISTS origins_geom_idx ON origins USING gist (geom);

CREATE OR REPLACE FUNCTION tile_population(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH ds AS (
    SELECT served_network_dataset() AS id
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
COMMENT ON FUNCTION tile_population IS 'Coverage origins of the served dataset (z13+): residents each stands for, population_source (osm | census | grid | estimate), estimated, kind; each only in the tile that holds it.';

-- Why: at zooms 9–12 a whole municipality's network does not fit a tile. tile_network served
-- every walk edge from z12 with its per-category distances, and a generated city of 1M OSM nodes
-- already puts 1.6 MB of edges in one z12 tile; zooms 9–11 showed no network at all (issue 15,
-- "Whole-city views"). Made once per run instead of per tile: the streets a reader can see at
-- those zooms, merged and simplified, each keeping the WORST distance of its pieces per category,
-- so a generalised street never looks better covered than any street it stands for.
--
-- One band per zoom, 9 to 12. A generalised line is the edges of one street (same highway, name
-- and is_private; unnamed ones of a highway class together) whose midpoints fall in one grid cell
-- of 1/32 of the zoom's tile (8 screen pixels; z9 2,446 m of Web Mercator … z12 306 m; ×cos(lat)
-- on the ground), merged (ST_LineMerge) and simplified to one tile pixel. Which streets, by
-- highway, for any city's OSM (roughly where OSM's standard style starts drawing them):
--   z9:  motorway, trunk, primary and their links;
--   z10: those plus secondary;
--   z11: those plus tertiary;
--   z12: those plus residential, unclassified, living_street, pedestrian, road.
-- Footways, paths, service roads and steps are drawn from z13 in full detail (tile_network).
--
-- The worst distance per category over the pieces, in the order the map colours them (better to
-- worse): a distance in metres (larger is worse) < -1 (beyond the distance cap) < absent (no path
-- or no data). So: absent when any piece lacks the category; else -1 when any piece is -1; else
-- the largest distance, rounded UP to the whole metre (a tile's value table holds each distinct
-- value once: decimetres made nearly every value distinct and were most of a tile's bytes; rounding
-- up never shows a street better than it is). Edges outside the engine's graph (fragments, no
-- edge_distances row) count as absent for every category, as tile_network shows them.
--
-- Geometry is stored in Web Mercator (EPSG:3857), so a tile cuts it without a transform. Only the
-- newest run of a dataset keeps its rows (tiles serve the newest complete run): building a run
-- deletes the dataset's older generalised rows.
--
-- Indexes: generalised_network_geom_idx (gist) for `geom && tile envelope`;
-- generalised_network_dataset_idx for the delete of older runs.

CREATE TABLE generalised_network (
  run_id     integer NOT NULL REFERENCES coverage_runs(id) ON DELETE CASCADE,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  band       smallint NOT NULL CHECK (band BETWEEN 9 AND 12),   -- the zoom it is drawn at
  id         integer NOT NULL,           -- feature id, unique per run and band
  highway    text NOT NULL,
  name       text,
  is_private boolean NOT NULL,
  d          jsonb NOT NULL,             -- per category: the worst distance of the pieces (see above)
  edge_ids   bigint[] NOT NULL,          -- the walk_edges it stands for
  geom       geometry(MultiLineString, 3857) NOT NULL,
  PRIMARY KEY (run_id, band, id)
);
-- Serves: tile_network_generalised (`geom && envelope`).
CREATE INDEX generalised_network_geom_idx ON generalised_network USING gist (geom);
-- Serves: deleting a dataset's older runs' rows in build_generalised_network.
CREATE INDEX generalised_network_dataset_idx ON generalised_network (dataset_id, run_id);
COMMENT ON TABLE generalised_network IS 'Generalised walking network per run for zooms 9–12: merged, simplified streets with the worst distance per category of the edges each stands for.';

-- The highways drawn at zoom z (9–12).
CREATE FUNCTION generalised_highways(z integer) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT ARRAY['motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link']
         || CASE WHEN z >= 10 THEN ARRAY['secondary', 'secondary_link'] ELSE '{}'::text[] END
         || CASE WHEN z >= 11 THEN ARRAY['tertiary', 'tertiary_link'] ELSE '{}'::text[] END
         || CASE WHEN z >= 12 THEN ARRAY['residential', 'unclassified', 'living_street', 'pedestrian', 'road'] ELSE '{}'::text[] END
$$;

-- Web Mercator metres per tile at zoom z.
CREATE FUNCTION tile_size_3857(z integer) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT 40075016.685578488 / 2 ^ z
$$;

-- Fills generalised_network for a run (zooms 9–12), replacing the rows of the dataset's other runs.
CREATE FUNCTION build_generalised_network(p_run_id integer) RETURNS integer
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
         ST_Multi(ST_SimplifyPreserveTopology(g.g, tile_size_3857(g.band) / 4096))
  FROM groups g
  LEFT JOIN worst w ON w.gk = g.gk;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION build_generalised_network IS 'Fills generalised_network for a coverage run (zooms 9–12); returns the rows written.';

-- Layer network at zooms 9–12 from generalised_network: the attributes of tile_network (highway,
-- name, is_private, and the distance per category as one attribute each, here in whole metres)
-- plus edges (how many walk edges the line stands for). The dataset and run are explicit, so a caller serving another
-- dataset or run asks for it. NULL outside zooms 9–12 (tile_network serves z13+).
CREATE FUNCTION tile_network_generalised(z integer, x integer, y integer, dataset_id integer, run_id integer) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT ST_AsMVT(t, 'network', 4096, 'geom', 'fid')
  FROM (
    SELECT g.id AS fid, g.highway, g.name, g.is_private, cardinality(g.edge_ids) AS edges, g.d,
           ST_AsMVTGeom(g.geom, ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
    FROM generalised_network g
    WHERE z BETWEEN 9 AND 12
      AND g.geom && ST_TileEnvelope(z, x, y, margin => 64.0 / 4096)
      AND g.run_id = tile_network_generalised.run_id
      AND g.dataset_id = tile_network_generalised.dataset_id
      AND g.band = z
  ) t
  WHERE t.geom IS NOT NULL
$$;
COMMENT ON FUNCTION tile_network_generalised IS 'Generalised walking network (zooms 9–12) of a dataset and run: merged, simplified streets with the worst distance per category of the edges each stands for.';

-- Provenance of every import and the walking network built from OSM.
-- One dataset of kind 'osm' is active at a time; an import inserts the new one and deletes the
-- old one in the same transaction, so readers see either the old or the new network, never a mix.
CREATE TABLE datasets (
  id            serial PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('osm', 'sample_city', 'facility_register', 'communities')),
  source        text NOT NULL,             -- file name as given
  sha256        text NOT NULL,
  bbox          geometry(Polygon, 4326),
  counts        jsonb NOT NULL DEFAULT '{}',
  is_sample     boolean NOT NULL DEFAULT false,
  category      text,                      -- facility registers: the category they replace
  crs           text,                      -- registers: coordinate system of the file (wgs84, gcj02, bd09)
  import_seconds double precision,
  imported_at   timestamptz NOT NULL DEFAULT now()
);

-- Nodes of the walking graph: way ends and nodes shared by two or more walkable ways.
-- is_private: every walkable way at this node is access=private (inside a gated compound).
CREATE TABLE walk_nodes (
  id         bigserial PRIMARY KEY,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  osm_id     bigint NOT NULL,
  is_gate    boolean NOT NULL DEFAULT false,
  is_private boolean NOT NULL DEFAULT false,
  geom       geometry(Point, 4326) NOT NULL
);
-- Serves: node look-ups when building the graph of the active dataset.
CREATE INDEX walk_nodes_dataset_idx ON walk_nodes (dataset_id);

-- Edges: OSM ways split at shared nodes. length_m = ST_Length(geom::geography).
-- cost / reverse_cost follow pgRouting's convention for the search outward from facilities:
-- -1 where that direction is not allowed (leaving a private compound way into the public network,
-- so compounds are never a shortcut; see README "Walkability rules").
CREATE TABLE walk_edges (
  id           bigserial PRIMARY KEY,
  dataset_id   integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  source       bigint NOT NULL REFERENCES walk_nodes(id) ON DELETE CASCADE,
  target       bigint NOT NULL REFERENCES walk_nodes(id) ON DELETE CASCADE,
  length_m     double precision NOT NULL CHECK (length_m >= 0),
  cost         double precision NOT NULL,
  reverse_cost double precision NOT NULL,
  highway      text NOT NULL,
  name         text,
  osm_way_id   bigint NOT NULL,
  is_private   boolean NOT NULL DEFAULT false,
  geom         geometry(LineString, 4326) NOT NULL
);
-- Serves: graph build (all edges of a dataset) and pgRouting queries filtered by dataset.
CREATE INDEX walk_edges_dataset_idx ON walk_edges (dataset_id);
-- Serves: network tiles and snapping look-ups in SQL.
CREATE INDEX walk_edges_geom_idx ON walk_edges USING gist (geom);

-- Layers a planner opens in QGIS: facilities and their access points, residential areas and
-- gated compounds, buildings, communities, places, walls, and the basemap.

-- Facilities by category (see geo/categories.ts). geom is a Point for amenities and a
-- (Multi)Polygon for parks and green spaces; area_m2 is the geodesic area of polygons.
CREATE TABLE facilities (
  id         bigserial PRIMARY KEY,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  category   text NOT NULL,
  subtype    text,
  name       text,
  geom       geometry(Geometry, 4326) NOT NULL,
  area_m2    double precision,
  capacity   integer,
  address    text,
  source     text NOT NULL,       -- 'osm', 'register:<file>' or 'sample'
  source_ref text,                -- OSM type/id (n123, w456, r789) or the register row
  is_sample  boolean NOT NULL DEFAULT false
);
-- Serves: per-category source lists for the engine, /api/categories counts.
CREATE INDEX facilities_category_idx ON facilities (category);
-- Serves: facilities tiles.
CREATE INDEX facilities_geom_idx ON facilities USING gist (geom);

-- Where a facility is entered on foot. kind: 'entrance' (mapped gate/entrance on the boundary),
-- 'crossing' (a walkable way meets or crosses the boundary), 'sampled' (boundary point every
-- 50 m where neither exists), 'point' (a point facility is its own access point).
CREATE TABLE facility_access_points (
  id          bigserial PRIMARY KEY,
  facility_id bigint NOT NULL REFERENCES facilities(id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('entrance', 'crossing', 'sampled', 'point')),
  geom        geometry(Point, 4326) NOT NULL
);
-- Serves: loading sources per facility.
CREATE INDEX facility_access_points_facility_idx ON facility_access_points (facility_id);

CREATE TABLE residential_areas (
  id                bigserial PRIMARY KEY,
  dataset_id        integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  osm_ref           text NOT NULL,
  name              text,
  geom              geometry(MultiPolygon, 4326) NOT NULL,
  area_m2           double precision NOT NULL,
  population        double precision,
  population_source text NOT NULL CHECK (population_source IN ('osm', 'register', 'estimate')),
  is_gated          boolean NOT NULL DEFAULT false,
  gated_reason      text               -- 'wall' | 'private_ways' | 'wall+private_ways'
);
-- Serves: areas tiles, origin generation, point-in-compound tests.
CREATE INDEX residential_areas_geom_idx ON residential_areas USING gist (geom);
CREATE INDEX residential_areas_dataset_idx ON residential_areas (dataset_id);

-- Gates of gated compounds: mapped entrance/gate nodes on the wall, or where the compound's
-- internal ways meet public ones.
CREATE TABLE compound_gates (
  id                  bigserial PRIMARY KEY,
  residential_area_id bigint NOT NULL REFERENCES residential_areas(id) ON DELETE CASCADE,
  osm_node_id         bigint,
  kind                text NOT NULL CHECK (kind IN ('mapped_gate', 'way_junction')),
  geom                geometry(Point, 4326) NOT NULL
);
CREATE INDEX compound_gates_area_idx ON compound_gates (residential_area_id);

-- Mapped walls and fences (barrier=wall|fence); snapping never crosses them.
CREATE TABLE barriers (
  id         bigserial PRIMARY KEY,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  kind       text NOT NULL,
  osm_way_id bigint NOT NULL,
  geom       geometry(LineString, 4326) NOT NULL
);
CREATE INDEX barriers_geom_idx ON barriers USING gist (geom);
CREATE INDEX barriers_dataset_idx ON barriers (dataset_id);

CREATE TABLE buildings (
  id                  bigserial PRIMARY KEY,
  dataset_id          integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  osm_ref             text NOT NULL,
  building            text NOT NULL,  -- OSM building=* value
  levels              integer,        -- building:levels
  footprint_m2        double precision NOT NULL,
  residential_area_id bigint REFERENCES residential_areas(id) ON DELETE SET NULL,
  population          double precision,   -- share of its residential area's population
  geom                geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX buildings_geom_idx ON buildings USING gist (geom);
CREATE INDEX buildings_area_idx ON buildings (residential_area_id);

-- place=neighbourhood|quarter|suburb points (community names where no boundaries are imported).
CREATE TABLE places (
  id         bigserial PRIMARY KEY,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  osm_ref    text NOT NULL,
  place      text NOT NULL,
  name       text,
  geom       geometry(Point, 4326) NOT NULL
);

-- Communities (社区) with their street (街道) and district (区). Imported polygons, or approximate
-- zones derived from place=neighbourhood points when none are imported (is_approximate).
CREATE TABLE communities (
  id                 bigserial PRIMARY KEY,
  dataset_id         integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  name               text NOT NULL,
  street             text,
  district           text,
  population         double precision,
  elderly_population double precision,
  is_approximate     boolean NOT NULL DEFAULT false,
  geom               geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX communities_geom_idx ON communities USING gist (geom);

-- Basemap layers for our own vector tiles.
CREATE TABLE basemap_roads (
  id         bigserial PRIMARY KEY,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  highway    text NOT NULL,
  name       text,
  geom       geometry(LineString, 4326) NOT NULL
);
CREATE INDEX basemap_roads_geom_idx ON basemap_roads USING gist (geom);

-- kind: 'water' (natural=water, waterway areas), 'river' (waterway lines), 'green', 'landuse'.
CREATE TABLE basemap_areas (
  id         bigserial PRIMARY KEY,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  layer      text NOT NULL CHECK (layer IN ('water', 'green', 'landuse')),
  class      text NOT NULL,
  name       text,
  geom       geometry(Geometry, 4326) NOT NULL
);
CREATE INDEX basemap_areas_geom_idx ON basemap_areas USING gist (geom);

-- Population where people live (issue 13): residential buildings outside landuse=residential count,
-- figures keep their source (osm, census, grid, estimate), and imported group counts (elderly,
-- children) travel from a census table or grid down to buildings and origins.

-- kind: 'landuse' (landuse=residential), 'buildings' (a cluster of residential buildings outside any
-- mapped residential land, its outline their 10 m buffer), 'grid_cell' (a populated raster cell
-- with no residential building: its residents stand at the cell centroid).
ALTER TABLE residential_areas ADD COLUMN kind text NOT NULL DEFAULT 'landuse'
  CHECK (kind IN ('landuse', 'buildings', 'grid_cell'));
ALTER TABLE residential_areas DROP CONSTRAINT residential_areas_population_source_check;
ALTER TABLE residential_areas ADD CONSTRAINT residential_areas_population_source_check
  CHECK (population_source IN ('osm', 'register', 'estimate', 'census', 'grid'));
ALTER TABLE residential_areas ADD COLUMN elderly double precision, ADD COLUMN children double precision;

-- is_residential: the rule of README "Population" (type, land use, tags, footprint floor);
-- floor_area_m2: footprint × (building:levels, else the default levels of its type).
ALTER TABLE buildings
  ADD COLUMN is_residential boolean NOT NULL DEFAULT false,
  ADD COLUMN has_nonresidential_tag boolean NOT NULL DEFAULT false,
  ADD COLUMN floor_area_m2 double precision,
  ADD COLUMN population_source text CHECK (population_source IN ('osm', 'census', 'grid', 'estimate')),
  ADD COLUMN elderly double precision,
  ADD COLUMN children double precision;

ALTER TABLE origins
  ADD COLUMN population_source text CHECK (population_source IN ('osm', 'census', 'grid', 'estimate')),
  ADD COLUMN elderly double precision,
  ADD COLUMN children double precision;

-- Population tables and grids imported over a network dataset (npm run import -- population).
ALTER TABLE datasets DROP CONSTRAINT datasets_kind_check;
ALTER TABLE datasets ADD CONSTRAINT datasets_kind_check
  CHECK (kind IN ('osm', 'sample_city', 'facility_register', 'communities', 'districts', 'population'));

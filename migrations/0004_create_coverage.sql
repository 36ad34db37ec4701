-- Coverage results of the walking-distance engine. A compute writes a whole run and flips it to
-- 'done' in one transaction; readers use the newest 'done' run of the active dataset, so every
-- answer comes from one complete run.

-- Where residents are: residential buildings with their population share, or grid points inside
-- residential areas without buildings (kind 'area_sample'). Made once per dataset.
CREATE TABLE origins (
  id                  bigserial PRIMARY KEY,
  dataset_id          integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  kind                text NOT NULL CHECK (kind IN ('building', 'area_sample')),
  residential_area_id bigint NOT NULL REFERENCES residential_areas(id) ON DELETE CASCADE,
  building_id         bigint REFERENCES buildings(id) ON DELETE CASCADE,
  community_id        bigint REFERENCES communities(id) ON DELETE SET NULL,
  population          double precision NOT NULL,
  geom                geometry(Point, 4326) NOT NULL
);
-- Serves: loading origins of the active dataset for a compute.
CREATE INDEX origins_dataset_idx ON origins (dataset_id);

CREATE TABLE coverage_runs (
  id                integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dataset_id        integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  rule_set_versions jsonb NOT NULL,          -- {"chengdu-park-city": "2026.11", …}
  status            text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  started_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz,
  timings_ms        jsonb NOT NULL DEFAULT '{}',
  counts            jsonb NOT NULL DEFAULT '{}',
  -- Whose data the areas come from: imported communities, or approximate zones.
  community_source  text
);
-- Serves: "newest done run of the active dataset".
CREATE INDEX coverage_runs_dataset_idx ON coverage_runs (dataset_id, status, id DESC);

-- One row per origin and rule: the walk to the nearest qualifying facility.
CREATE TABLE coverage_origin_results (
  run_id          integer NOT NULL REFERENCES coverage_runs(id) ON DELETE CASCADE,
  rule_set_id     text NOT NULL,
  rule_id         text NOT NULL,
  origin_id       bigint NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
  network_m       double precision,     -- null: unreachable within the rule's distance
  straight_m      double precision,
  facility_id     bigint,
  covered         boolean NOT NULL,
  straight_covered boolean NOT NULL,
  PRIMARY KEY (run_id, rule_set_id, rule_id, origin_id)
);

-- One row per area, level and rule: population-weighted shares and pass/fail.
CREATE TABLE coverage_area_results (
  run_id               integer NOT NULL REFERENCES coverage_runs(id) ON DELETE CASCADE,
  rule_set_id          text NOT NULL,
  rule_id              text NOT NULL,
  level                text NOT NULL CHECK (level IN ('residential_area', 'community', 'street', 'district', 'city')),
  area_key             text NOT NULL,        -- residential_areas.id, communities.id, street or district name
  area_name            text,
  population           double precision NOT NULL,
  covered_population   double precision NOT NULL,
  straight_covered_population double precision NOT NULL,
  share                double precision,
  straight_share       double precision,
  target_share         double precision NOT NULL,
  passes               boolean NOT NULL,
  deciding_facility_id bigint,
  uncovered_mean_m     double precision,     -- population-weighted network distance of the uncovered who can reach one
  uncovered_unreachable_population double precision NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, rule_set_id, level, area_key, rule_id)
);

-- Walking distance at each edge's midpoint to the nearest facility of every category, for the
-- network tiles: d = {"park": 412.3, …}; categories with none in reach are absent.
CREATE TABLE edge_distances (
  run_id  integer NOT NULL REFERENCES coverage_runs(id) ON DELETE CASCADE,
  edge_id bigint NOT NULL REFERENCES walk_edges(id) ON DELETE CASCADE,
  d       jsonb NOT NULL,
  PRIMARY KEY (run_id, edge_id)
);

-- Standards as data (issue 11): rule sets a planner writes as JSON files, stored versioned. The
-- built-in sets live in geo/rules/*.json; stored ones are added to them (same compute path). A new
-- version of the same id supersedes the old one (the highest stored_seq wins); coverage runs keep
-- the versions they were computed with (coverage_runs.rule_set_versions) and their own results.
CREATE TABLE rule_sets (
  id          text NOT NULL,
  version     text NOT NULL,
  body        jsonb NOT NULL,              -- the validated file, as written
  stored_seq  bigint GENERATED ALWAYS AS IDENTITY,
  stored_at   timestamptz NOT NULL DEFAULT now(),
  stored_by   text NOT NULL,               -- 'cli' or the API token's name
  PRIMARY KEY (id, version)
);
CREATE UNIQUE INDEX rule_sets_stored_seq_idx ON rule_sets (stored_seq);

-- What an area result's population columns count (the rule's measure): residents, or residential
-- land area in m² (城市体检 服务半径覆盖率); whose residents (population_group); and how much of
-- the figure is estimated because the population import gave no count for that group.
ALTER TABLE coverage_area_results
  ADD COLUMN measure text NOT NULL DEFAULT 'population' CHECK (measure IN ('population', 'residential_land_area')),
  ADD COLUMN population_group text NOT NULL DEFAULT 'all' CHECK (population_group IN ('all', 'elderly', 'children')),
  ADD COLUMN estimated_population double precision NOT NULL DEFAULT 0;
COMMENT ON COLUMN coverage_area_results.population IS 'the rule''s measure over the area: residents of its population_group, or residential land m² (measure residential_land_area)';
COMMENT ON COLUMN coverage_area_results.estimated_population IS 'part of population estimated from national group shares (no imported elderly/children count)';

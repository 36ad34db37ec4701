-- Scenarios planners keep: a named set of stored plans and drawn sites, evaluated once when saved,
-- with its results as rows (one per rule) so two saved scenarios can be compared side by side and
-- exported. Results name the dataset and coverage run they were computed on.
CREATE TABLE saved_scenarios (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  rule_set    text NOT NULL,
  plan_ids    bigint[] NOT NULL DEFAULT '{}',
  sites       jsonb NOT NULL DEFAULT '[]',   -- drawn (inline) plans: [{kind, name, geometry, becomes_open_space}]
  dataset_id  integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  run_id      integer NOT NULL REFERENCES coverage_runs(id) ON DELETE CASCADE,
  evaluation  jsonb NOT NULL,                -- the answer of POST /api/scenarios/evaluate, whole
  created_by  text NOT NULL,
  token_id    integer REFERENCES api_tokens(id),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE saved_scenario_results (
  scenario_id     integer NOT NULL REFERENCES saved_scenarios(id) ON DELETE CASCADE,
  rule_set_id     text NOT NULL,
  rule_id         text NOT NULL,
  target_share    double precision,
  population      double precision NOT NULL,
  covered_before  double precision NOT NULL,
  covered_after   double precision NOT NULL,
  share_before    double precision,
  share_after     double precision,
  newly_covered   double precision NOT NULL,
  communities_fail_to_pass integer NOT NULL,
  communities_pass_to_fail integer NOT NULL,
  PRIMARY KEY (scenario_id, rule_set_id, rule_id)   -- serves: one scenario's rows, and the compare join
);

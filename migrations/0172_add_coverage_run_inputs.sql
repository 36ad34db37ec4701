-- Why: importing one register should recompute only the rules that use its categories (issue 15).
-- A run records fingerprints of what it was computed from, so a later run can tell which rules'
-- inputs are unchanged and copy their results instead of recomputing them:
--   inputs = {"origins": sha256, "network": sha256, "facilities": {"park": sha256, …}}
-- (server/engine/run-inputs.ts). reused_from_run names the run whose results it copied.
ALTER TABLE coverage_runs
  ADD COLUMN inputs jsonb,
  ADD COLUMN reused_from_run integer;
COMMENT ON COLUMN coverage_runs.inputs IS 'sha256 fingerprints of the origins, the walking network and each category''s facilities the run was computed from';
COMMENT ON COLUMN coverage_runs.reused_from_run IS 'the earlier run whose results this run copied for rules whose inputs were unchanged (null: everything computed)';

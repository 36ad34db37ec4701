-- A large city writes millions of per-origin results per run; checking each row's origin_id (and
-- each edge distance's edge_id) against its parent cost more than writing the row. Both checks
-- are redundant: results belong to a run, the run to a dataset, and the dataset owns the origins
-- and edges, so deleting a dataset removes the results through coverage_runs (run_id cascade),
-- and the compute writes only ids it has just read in the same transaction.
ALTER TABLE coverage_origin_results DROP CONSTRAINT IF EXISTS coverage_origin_results_origin_id_fkey;
ALTER TABLE edge_distances DROP CONSTRAINT IF EXISTS edge_distances_edge_id_fkey;
-- These indexes only served the cascades above.
DROP INDEX IF EXISTS coverage_origin_results_origin_idx;
DROP INDEX IF EXISTS edge_distances_edge_idx;

-- Gates are stored by OSM node id; the engine finds their graph nodes by (dataset, osm_id).
-- Without this index, loading a city with 8,000 gated compounds scanned walk_nodes once per
-- compound (100 s for the 1M-node sample city).
-- Serves: the gate look-up in server/engine/load-network.ts (COMPOUNDS_SQL).
CREATE INDEX IF NOT EXISTS walk_nodes_dataset_osm_idx ON walk_nodes (dataset_id, osm_id);

-- Indexes on the referencing side of foreign keys. Replacing a dataset deletes the old one with
-- ON DELETE CASCADE; without these, every deleted node, origin or edge made PostgreSQL scan the
-- referencing table, so replacing a 135k-node network took minutes instead of seconds.
-- Serves: cascade deletes from walk_nodes (edges by source / target).
CREATE INDEX IF NOT EXISTS walk_edges_source_idx ON walk_edges (source);
CREATE INDEX IF NOT EXISTS walk_edges_target_idx ON walk_edges (target);
-- Serves: cascade deletes from origins and walk_edges into per-run results.
CREATE INDEX IF NOT EXISTS coverage_origin_results_origin_idx ON coverage_origin_results (origin_id);
CREATE INDEX IF NOT EXISTS edge_distances_edge_idx ON edge_distances (edge_id);
-- Serves: cascade deletes from residential_areas, buildings and communities into origins.
CREATE INDEX IF NOT EXISTS origins_residential_area_idx ON origins (residential_area_id);
CREATE INDEX IF NOT EXISTS origins_building_idx ON origins (building_id);
CREATE INDEX IF NOT EXISTS origins_community_idx ON origins (community_id);
-- Serves: cascade deletes of datasets into the layers that lacked a dataset index.
CREATE INDEX IF NOT EXISTS facilities_dataset_idx ON facilities (dataset_id);
CREATE INDEX IF NOT EXISTS buildings_dataset_idx ON buildings (dataset_id);
CREATE INDEX IF NOT EXISTS places_dataset_idx ON places (dataset_id);
CREATE INDEX IF NOT EXISTS communities_dataset_idx ON communities (dataset_id);
CREATE INDEX IF NOT EXISTS basemap_roads_dataset_idx ON basemap_roads (dataset_id);
CREATE INDEX IF NOT EXISTS basemap_areas_dataset_idx ON basemap_areas (dataset_id);
CREATE INDEX IF NOT EXISTS coverage_runs_dataset_fk_idx ON coverage_runs (dataset_id);

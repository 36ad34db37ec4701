-- PostGIS stores every layer; pgRouting is the peer our engine is checked against
-- (agreement tests and benchmarks run pgr_drivingDistance / pgr_withPointsDD on walk_edges).
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pgrouting;

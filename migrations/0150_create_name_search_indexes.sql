-- Finding your way: GET /api/search matches a typed name anywhere in the names of communities,
-- residential areas, facilities and roads (name ILIKE '%…%'). A B-tree cannot serve a leading
-- wildcard; pg_trgm's GIN trigram indexes can, for Chinese as for Latin names (three characters
-- or more; shorter queries fall back to a scan, bounded by LIMIT).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Serves: search by community name.
CREATE INDEX communities_name_trgm_idx ON communities USING gin (name gin_trgm_ops);
-- Serves: search by residential area name.
CREATE INDEX residential_areas_name_trgm_idx ON residential_areas USING gin (name gin_trgm_ops) WHERE name IS NOT NULL;
-- Serves: search by facility name (parks, green spaces, care homes, service centres).
CREATE INDEX facilities_name_trgm_idx ON facilities USING gin (name gin_trgm_ops) WHERE name IS NOT NULL;
-- Serves: search by road name.
CREATE INDEX basemap_roads_name_trgm_idx ON basemap_roads USING gin (name gin_trgm_ops) WHERE name IS NOT NULL;

-- District (区) boundaries, imported from a GeoJSON file (npm run import -- districts <file>).
-- An area whose community names no district (the approximate zones derived from OSM) takes the
-- district that holds it; imported community boundaries that name one keep theirs.
ALTER TABLE datasets DROP CONSTRAINT datasets_kind_check;
ALTER TABLE datasets ADD CONSTRAINT datasets_kind_check
  CHECK (kind IN ('osm', 'sample_city', 'facility_register', 'communities', 'districts'));

CREATE TABLE districts (
  id         bigserial PRIMARY KEY,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  name       text NOT NULL,
  name_en    text,
  adcode     text,                       -- the national administrative division code, e.g. 510108
  geom       geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX districts_geom_idx ON districts USING gist (geom);
CREATE INDEX districts_dataset_id_idx ON districts (dataset_id);
COMMENT ON TABLE districts IS 'District (区) boundaries; areas whose community names no district take the one that holds them.';

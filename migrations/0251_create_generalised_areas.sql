-- Why: at zooms 9–12 tile_areas sends every community and residential area at full detail; for
-- a whole municipality that is thousands of polygons per tile (issue 15, "Whole-city views").
-- Made once per run (the run decides which communities: imported or approximate), simplified to
-- one pixel of the band's last zoom and stored in Web Mercator:
--   band 9  (z9–10):  one polygon per district (区), the union of its communities, coloured by the
--                     run's district-level results; communities that name no district are kept
--                     as communities (simplified), so no area disappears;
--   band 11 (z11–12): every community, simplified; residential areas (simplified) at z12 only,
--                     as there are several per community (full detail from z13, tile_areas).
-- The results (shares, passes, worst_share, fails, edge_of_data) are joined per tile from
-- coverage_area_results, exactly as tile_areas does, so a rule set is chosen per request.
-- Only the newest run of a dataset keeps rows (tiles serve it); building a run replaces the
-- dataset's older rows.
--
-- Indexes: generalised_areas_geom_idx (gist) for `geom && tile envelope`;
-- generalised_areas_dataset_idx for the replace; coverage_area_results' primary key for results.

CREATE TABLE generalised_areas (
  run_id            integer NOT NULL REFERENCES coverage_runs(id) ON DELETE CASCADE,
  dataset_id        integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  band              smallint NOT NULL CHECK (band IN (9, 11)),
  level             text NOT NULL CHECK (level IN ('district', 'community', 'residential_area')),
  area_key          text NOT NULL,       -- coverage_area_results.area_key: the id, or the district's name
  id                bigint,              -- communities.id / residential_areas.id; NULL for a district
  name              text,
  street            text,
  district          text,
  is_approximate    boolean,
  population        double precision,
  population_source text,
  is_gated          boolean,
  geom              geometry(MultiPolygon, 3857) NOT NULL,
  PRIMARY KEY (run_id, band, level, area_key)
);
-- Serves: tile_areas_generalised (`geom && envelope`).
CREATE INDEX generalised_areas_geom_idx ON generalised_areas USING gist (geom);
-- Serves: replacing a dataset's rows in build_generalised_areas.
CREATE INDEX generalised_areas_dataset_idx ON generalised_areas (dataset_id, run_id);
COMMENT ON TABLE generalised_areas IS 'Simplified districts, communities and residential areas per run for zooms 9–12.';

-- A polygon simplified to `tolerance` metres of Web Mercator, as a valid MultiPolygon (NULL when it collapses).
CREATE FUNCTION generalised_polygon(g geometry, tolerance double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN ST_IsEmpty(s) THEN NULL ELSE ST_Multi(s) END
  FROM ST_CollectionExtract(ST_MakeValid(ST_SimplifyPreserveTopology(g, tolerance)), 3) AS s
$$;

CREATE FUNCTION build_generalised_areas(p_run_id integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_dataset integer;
  v_source text;
  v_rows integer;
  v_px10 double precision := tile_size_3857(10) / 4096;
  v_px12 double precision := tile_size_3857(12) / 4096;
BEGIN
  SELECT r.dataset_id, coalesce(r.community_source,
           CASE WHEN EXISTS (SELECT 1 FROM datasets WHERE kind = 'communities') THEN 'imported' ELSE 'approximate' END)
    INTO STRICT v_dataset, v_source
  FROM coverage_runs r WHERE r.id = p_run_id;
  DELETE FROM generalised_areas WHERE dataset_id = v_dataset;

  -- the run's communities, as tile_areas chooses them
  CREATE TEMP TABLE gen_communities ON COMMIT DROP AS
  -- grouped by district as the coverage queries place them (server/queries/coverage.ts): the one the
  -- community names, else the imported district boundary holding it
  SELECT cm.id, cm.name, cm.street, cm.district, coalesce(cm.district, district_at(ST_PointOnSurface(cm.geom))) AS district_key,
         cm.is_approximate, ST_Transform(cm.geom, 3857) AS g
  FROM communities cm JOIN datasets d ON d.id = cm.dataset_id
  WHERE CASE v_source WHEN 'imported' THEN d.kind = 'communities' ELSE d.id = v_dataset END;

  INSERT INTO generalised_areas (run_id, dataset_id, band, level, area_key, id, name, street, district, is_approximate, geom)
  SELECT p_run_id, v_dataset, 9, 'district', u.district_key, NULL, u.district_key, NULL, u.district_key, NULL, u.g
  FROM (
    SELECT c.district_key, generalised_polygon(ST_Union(ST_SnapToGrid(c.g, v_px10 / 4)), v_px10) AS g
    FROM gen_communities c WHERE c.district_key IS NOT NULL GROUP BY c.district_key
  ) u WHERE u.g IS NOT NULL
  UNION ALL
  SELECT p_run_id, v_dataset, b.band, 'community', c.id::text, c.id, c.name, c.street, c.district, c.is_approximate, b.g
  FROM gen_communities c
  CROSS JOIN LATERAL (
    SELECT 9 AS band, generalised_polygon(c.g, v_px10) AS g WHERE c.district_key IS NULL
    UNION ALL SELECT 11, generalised_polygon(c.g, v_px12)
  ) b
  WHERE b.g IS NOT NULL;

  INSERT INTO generalised_areas (run_id, dataset_id, band, level, area_key, id, name, population, population_source, is_gated, geom)
  SELECT p_run_id, v_dataset, 11, 'residential_area', ra.id::text, ra.id, ra.name, ra.population, ra.population_source, ra.is_gated, s.g
  FROM residential_areas ra
  CROSS JOIN LATERAL (SELECT generalised_polygon(ST_Transform(ra.geom, 3857), v_px12) AS g) s
  WHERE ra.dataset_id = v_dataset AND s.g IS NOT NULL;

  SELECT count(*) INTO v_rows FROM generalised_areas WHERE run_id = p_run_id;
  DROP TABLE gen_communities;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION build_generalised_areas IS 'Fills generalised_areas for a coverage run (districts at zooms 9–10, communities and residential areas at 11–12); returns the rows.';

-- Layers districts (z9–10), communities (z11–12; those naming no district also at z9–10) and
-- residential_areas (z12) with tile_areas' attributes and results under rule_set for the given
-- dataset and run. A district's id is its name. NULL outside zooms 9–12.
CREATE FUNCTION tile_areas_generalised(z integer, x integer, y integer, dataset_id integer, run_id integer, rule_set text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  WITH a AS (
    SELECT g.*, ST_AsMVTGeom(g.geom, ST_TileEnvelope(z, x, y), 4096, 64, true) AS mvt_geom
    FROM generalised_areas g
    WHERE z BETWEEN 9 AND 12
      AND g.geom && ST_TileEnvelope(z, x, y, margin => 64.0 / 4096)
      AND g.run_id = tile_areas_generalised.run_id
      AND g.dataset_id = tile_areas_generalised.dataset_id
      AND g.band = CASE WHEN z <= 10 THEN 9 ELSE 11 END
      -- residential areas at z12, and as tile_areas: those smaller than two pixels are left out
      AND (g.level <> 'residential_area' OR z = 12 AND greatest(ST_XMax(g.geom) - ST_XMin(g.geom), ST_YMax(g.geom) - ST_YMin(g.geom)) >= 2 * tile_size_3857(z) / 4096)
  ),
  t AS (
    SELECT row_number() OVER (ORDER BY a.level, a.area_key) AS rid, a.level, a.id, a.area_key, a.name, a.street,
           a.district, a.is_approximate, a.population, a.population_source, a.is_gated,
           cov.results, cov.worst_share, cov.fails, cov.edge_of_data, a.mvt_geom AS geom
    FROM a
    CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(c.rule_id || '_share', round(c.share::numeric, 4))
               || jsonb_object_agg(c.rule_id || '_pass', c.passes)
               || jsonb_object_agg(c.rule_id || '_no_data', c.no_data) AS results,
             round((min(c.share) FILTER (WHERE NOT c.no_data))::numeric, 4)::double precision AS worst_share,
             CASE WHEN count(*) > 0 THEN count(*) FILTER (WHERE NOT c.passes AND NOT c.no_data) END AS fails,
             bool_or(NOT c.passes AND NOT c.no_data AND c.uncovered_near_edge_population > 0) AS edge_of_data
      FROM coverage_area_results c
      WHERE c.run_id = tile_areas_generalised.run_id AND c.rule_set_id = rule_set
        AND c.level = a.level AND c.area_key = a.area_key
    ) cov
    WHERE a.mvt_geom IS NOT NULL
  )
  SELECT (SELECT ST_AsMVT(d, 'districts', 4096, 'geom', 'fid')
          FROM (SELECT rid AS fid, area_key AS id, name, results, worst_share, fails, edge_of_data, geom FROM t WHERE level = 'district') d)
      || (SELECT ST_AsMVT(c, 'communities', 4096, 'geom', 'fid')
          FROM (SELECT id AS fid, id, name, street, district, is_approximate, results, worst_share, fails, edge_of_data, geom FROM t WHERE level = 'community') c)
      || (SELECT ST_AsMVT(r, 'residential_areas', 4096, 'geom', 'fid')
          FROM (SELECT id AS fid, id, name, population, population_source, is_gated, results, worst_share, fails, edge_of_data, geom FROM t WHERE level = 'residential_area') r)
$$;
COMMENT ON FUNCTION tile_areas_generalised IS 'Generalised areas (zooms 9–12) of a dataset and run with pass/fail and shares per rule of rule_set: districts at z9–10, simplified communities and residential areas at z11–12.';

-- Runs finished before this migration: the newest complete run of each dataset gets its rows.
SELECT build_generalised_network(r.id), build_generalised_areas(r.id)
FROM (SELECT DISTINCT ON (dataset_id) id FROM coverage_runs WHERE status = 'done' ORDER BY dataset_id, id DESC) r;

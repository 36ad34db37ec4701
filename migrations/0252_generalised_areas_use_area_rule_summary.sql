-- Why: tile_areas_generalised (0251) wrote out again the per-area aggregation of
-- coverage_area_results that 0210 made one function, area_rule_summary(), for tile_areas. One rule,
-- one place: the generalised area tiles now call it too. Only the LATERAL join changes; the filters,
-- attributes and layer names are 0251's, so the tiles are the same bytes.
--
-- Index used: coverage_area_results' primary key (run_id, rule_set_id, level, area_key, rule_id).

CREATE OR REPLACE FUNCTION tile_areas_generalised(z integer, x integer, y integer, dataset_id integer, run_id integer, rule_set text) RETURNS bytea
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
    CROSS JOIN LATERAL area_rule_summary(tile_areas_generalised.run_id, rule_set, a.level, a.area_key) cov
    WHERE a.mvt_geom IS NOT NULL
  )
  SELECT (SELECT ST_AsMVT(d, 'districts', 4096, 'geom', 'fid')
          FROM (SELECT rid AS fid, area_key AS id, name, results, worst_share, fails, edge_of_data, geom FROM t WHERE level = 'district') d)
      || (SELECT ST_AsMVT(c, 'communities', 4096, 'geom', 'fid')
          FROM (SELECT id AS fid, id, name, street, district, is_approximate, results, worst_share, fails, edge_of_data, geom FROM t WHERE level = 'community') c)
      || (SELECT ST_AsMVT(r, 'residential_areas', 4096, 'geom', 'fid')
          FROM (SELECT id AS fid, id, name, population, population_source, is_gated, results, worst_share, fails, edge_of_data, geom FROM t WHERE level = 'residential_area') r)
$$;

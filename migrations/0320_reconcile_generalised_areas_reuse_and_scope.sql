-- 0300 (reuse of generalised areas after a register import) renamed build_generalised_areas to
-- build_generalised_areas_full and put a wrapper in its place that re-points unchanged areas; 0310
-- (layers belong to the dataset whose extent they lie in), written beside it, then replaced
-- build_generalised_areas with a scoped full build, dropping the wrapper and leaving the unscoped
-- full build behind it. Put them back together: the scoped build is the full one, the wrapper
-- decides, and the inputs' fingerprint reads the same scoped rows the build reads.

DROP FUNCTION build_generalised_areas_full(integer);
ALTER FUNCTION build_generalised_areas(integer) RENAME TO build_generalised_areas_full;
COMMENT ON FUNCTION build_generalised_areas_full IS
  'Builds generalised_areas for a coverage run from the communities, districts and residential areas that belong to its dataset (zooms 9–12), replacing the dataset''s rows; returns the rows.';

CREATE OR REPLACE FUNCTION generalised_area_fingerprint(p_dataset integer, p_source text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT md5(concat_ws('|', p_source,
    (SELECT md5(coalesce(string_agg(concat_ws(':', cm.id, cm.name, cm.street, cm.district, cm.is_approximate, md5(ST_AsEWKB(cm.geom))), ',' ORDER BY cm.id), ''))
     FROM communities cm JOIN datasets d ON d.id = cm.dataset_id
     WHERE CASE p_source WHEN 'imported' THEN d.kind = 'communities' AND ST_Intersects(cm.geom, dataset_extent(p_dataset))
                        ELSE d.id = p_dataset END),
    (SELECT md5(coalesce(string_agg(concat_ws(':', id, name, md5(ST_AsEWKB(geom))), ',' ORDER BY id), ''))
     FROM districts WHERE ST_Intersects(geom, dataset_extent(p_dataset))),
    (SELECT md5(coalesce(string_agg(concat_ws(':', id, name, population, population_source, is_gated, md5(ST_AsEWKB(geom))), ',' ORDER BY id), ''))
     FROM residential_areas WHERE dataset_id = p_dataset)))
$$;

CREATE FUNCTION build_generalised_areas(p_run_id integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_dataset integer;
  v_source text;
  v_fingerprint text;
  v_rows integer;
BEGIN
  -- the community source as build_generalised_areas_full chooses it
  SELECT r.dataset_id, coalesce(r.community_source, community_source_of(r.dataset_id))
    INTO STRICT v_dataset, v_source
  FROM coverage_runs r WHERE r.id = p_run_id;
  v_fingerprint := generalised_area_fingerprint(v_dataset, v_source);
  IF EXISTS (SELECT 1 FROM generalised_area_inputs WHERE dataset_id = v_dataset AND fingerprint = v_fingerprint)
     AND EXISTS (SELECT 1 FROM generalised_areas WHERE dataset_id = v_dataset) THEN
    UPDATE generalised_areas SET run_id = p_run_id WHERE dataset_id = v_dataset;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
  END IF;
  v_rows := build_generalised_areas_full(p_run_id);
  INSERT INTO generalised_area_inputs (dataset_id, fingerprint) VALUES (v_dataset, v_fingerprint)
  ON CONFLICT (dataset_id) DO UPDATE SET fingerprint = excluded.fingerprint;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION build_generalised_areas(integer) IS
  'Fills generalised_areas for a coverage run: the dataset''s rows re-pointed at the run when built from the same inputs (generalised_area_inputs), else a full build; returns the rows.';

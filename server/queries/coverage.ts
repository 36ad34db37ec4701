import type pg from 'pg';

export type { CoverageLevel } from '../../api/enums.ts';
import type { CoverageLevel } from '../../api/enums.ts';

export interface AreaCoverageRow {
  area_key: string;
  area_name: string | null;
  /** 街道 and 区 the area lies in: the communities', else (区) the imported district boundary holding it; null when neither says */
  street: string | null;
  district: string | null;
  population: number;
  population_estimated: boolean;
  /** Sources of the area's figures: 'osm', 'census', 'grid', 'estimate' (README "Population"). */
  population_sources: string[];
  is_approximate: boolean;
  rules: Record<
    string,
    {
      share: number | null;
      straight_share: number | null;
      target_share: number;
      passes: boolean;
      population: number;
      covered_population: number;
      straight_covered_population: number;
      deciding_facility_id: number | null;
      uncovered_mean_m: number | null;
      uncovered_unreachable_population: number;
      uncovered_beyond_cap_population: number;
      uncovered_near_edge_population: number;
      no_data: boolean;
      /** What population and covered_population count: residents (of population_group) or residential land m². */
      measure: 'population' | 'residential_land_area';
      population_group: 'all' | 'elderly' | 'children';
      /** Part of population estimated from national group shares (no imported group count). */
      estimated_population: number;
    }
  >;
}

/**
 * Per-area coverage of one run and rule set at one level, one row per area with every rule. The
 * caveat flags: population estimated (residential areas with population_source 'estimate' in or
 * overlapping the area) and approximate community zones.
 */
const AREA_COVERAGE_SQL = `
  WITH r AS (
    -- the area's residents: from an all-residents population rule (a rule of another set of the
    -- same run when this set has none); land-area and group rules count something else
    SELECT area_key, max(area_name) AS area_name,
           coalesce(max(population) FILTER (WHERE measure = 'population' AND population_group = 'all'),
                    (SELECT max(c2.population) FROM coverage_area_results c2 WHERE c2.run_id = $1 AND c2.level = $3 AND c2.area_key = coverage_area_results.area_key
                       AND c2.measure = 'population' AND c2.population_group = 'all'), 0) AS population,
           jsonb_object_agg(rule_id, jsonb_build_object(
             'share', share, 'straight_share', straight_share, 'target_share', target_share, 'passes', passes,
             'population', population, 'covered_population', covered_population,
             'straight_covered_population', straight_covered_population, 'deciding_facility_id', deciding_facility_id,
             'uncovered_mean_m', uncovered_mean_m, 'uncovered_unreachable_population', uncovered_unreachable_population,
             'uncovered_beyond_cap_population', uncovered_beyond_cap_population,
             'uncovered_near_edge_population', uncovered_near_edge_population, 'no_data', no_data,
             'measure', measure, 'population_group', population_group, 'estimated_population', estimated_population)) AS rules
    FROM coverage_area_results
    WHERE run_id = $1 AND rule_set_id = $2 AND level = $3
    GROUP BY area_key
  )
  SELECT r.area_key, r.area_name, r.population, r.rules,
    CASE $3
      WHEN 'residential_area' THEN (SELECT ra.population_source = 'estimate' FROM residential_areas ra WHERE ra.id::text = r.area_key)
      WHEN 'community' THEN EXISTS (SELECT 1 FROM communities c JOIN residential_areas ra ON ST_Intersects(ra.geom, c.geom)
                                    WHERE c.id::text = r.area_key AND ra.population_source = 'estimate' AND ra.dataset_id = (SELECT dataset_id FROM coverage_runs WHERE id = $1))
      ELSE EXISTS (SELECT 1 FROM residential_areas ra WHERE ra.population_source = 'estimate' AND ra.dataset_id = (SELECT dataset_id FROM coverage_runs WHERE id = $1))
    END AS population_estimated,
    -- where the figures come from (README "Population"): osm, census, grid, estimate
    CASE $3
      WHEN 'residential_area' THEN (SELECT ARRAY[CASE ra.population_source WHEN 'register' THEN 'census' ELSE ra.population_source END] FROM residential_areas ra WHERE ra.id::text = r.area_key)
      WHEN 'community' THEN (SELECT array_agg(DISTINCT o.population_source ORDER BY o.population_source) FROM communities c
                             JOIN origins o ON o.geom && c.geom AND ST_Intersects(c.geom, o.geom)
                             WHERE c.id::text = r.area_key AND o.dataset_id = (SELECT dataset_id FROM coverage_runs WHERE id = $1))
      ELSE (SELECT array_agg(DISTINCT o.population_source ORDER BY o.population_source) FROM origins o WHERE o.dataset_id = (SELECT dataset_id FROM coverage_runs WHERE id = $1))
    END AS population_sources,
    CASE $3
      WHEN 'community' THEN coalesce((SELECT c.is_approximate FROM communities c WHERE c.id::text = r.area_key), false)
      WHEN 'residential_area' THEN false
      -- a district with an imported boundary counts its residents where they live: not approximate
      WHEN 'district' THEN NOT EXISTS (SELECT 1 FROM districts dt WHERE dt.name = r.area_key
                                         AND ST_Intersects(dt.geom, dataset_extent((SELECT dataset_id FROM coverage_runs WHERE id = $1))))
                           AND coalesce((SELECT cr.community_source = 'approximate' FROM coverage_runs cr WHERE cr.id = $1), false)
      ELSE coalesce((SELECT cr.community_source = 'approximate' FROM coverage_runs cr WHERE cr.id = $1), false)
    END AS is_approximate,
    CASE $3 WHEN 'street' THEN r.area_key ELSE loc.street END AS street,
    CASE $3 WHEN 'district' THEN r.area_key
            WHEN 'street' THEN (SELECT max(c.district) FROM communities c WHERE c.street = r.area_key)
            -- where the communities name none: the imported district holding a point of the area
            ELSE coalesce(loc.district, district_at((
              SELECT ST_PointOnSurface(geom) FROM residential_areas WHERE $3 = 'residential_area' AND id::text = r.area_key
              UNION ALL SELECT ST_PointOnSurface(geom) FROM communities WHERE $3 = 'community' AND id::text = r.area_key LIMIT 1))) END AS district
  FROM r
  -- a community's own street and district; a residential area's are its community's (the one
  -- holding a point of it, among the communities the run used)
  LEFT JOIN LATERAL (
    SELECT c.street, c.district FROM communities c
    WHERE $3 = 'community' AND c.id::text = r.area_key
    UNION ALL
    SELECT c.street, c.district FROM residential_areas ra
    JOIN communities c ON ST_Contains(c.geom, ST_PointOnSurface(ra.geom))
    JOIN datasets d ON d.id = c.dataset_id
    WHERE $3 = 'residential_area' AND ra.id::text = r.area_key
      AND CASE (SELECT community_source FROM coverage_runs WHERE id = $1)
            WHEN 'imported' THEN d.kind = 'communities' AND ST_Intersects(c.geom, dataset_extent(ra.dataset_id))
            ELSE d.id = ra.dataset_id END
    LIMIT 1
  ) loc ON true
  ORDER BY r.area_name NULLS LAST, r.area_key`;

export async function areaCoverage(
  db: pg.Pool,
  runId: number,
  ruleSetId: string,
  level: CoverageLevel,
): Promise<AreaCoverageRow[]> {
  const { rows } = await db.query<AreaCoverageRow>(AREA_COVERAGE_SQL, [runId, ruleSetId, level]);
  return rows;
}

/** GeoJSON geometry of each area key at a level (districts: the imported boundary, else like streets the union of their communities). */
const AREA_GEOMETRY_SQL = `
  SELECT key, ST_AsGeoJSON(geom, 6)::json AS geometry FROM (
    SELECT ra.id::text AS key, ra.geom FROM residential_areas ra WHERE $1 = 'residential_area' AND ra.id::text = ANY($2)
    UNION ALL
    SELECT c.id::text, c.geom FROM communities c WHERE $1 = 'community' AND c.id::text = ANY($2)
    UNION ALL
    SELECT c.street, ST_Union(c.geom) FROM communities c WHERE $1 = 'street' AND c.street = ANY($2) GROUP BY c.street
    UNION ALL
    SELECT dt.name, dt.geom FROM districts dt WHERE $1 = 'district' AND dt.name = ANY($2)
    UNION ALL
    SELECT c.district, ST_Union(c.geom) FROM communities c
    WHERE $1 = 'district' AND c.district = ANY($2) AND NOT EXISTS (SELECT 1 FROM districts dt WHERE dt.name = c.district)
    GROUP BY c.district
  ) g`;

export async function areaGeometries(db: pg.Pool, level: CoverageLevel, keys: string[]): Promise<Map<string, unknown>> {
  const { rows } = await db.query<{ key: string; geometry: unknown }>(AREA_GEOMETRY_SQL, [level, keys]);
  return new Map(rows.map((r) => [r.key, r.geometry]));
}

/** A named community zone of a run that holds no resident: listed in the audit with 0 and a caveat. */
export interface EmptyZoneRow {
  area_key: string;
  area_name: string;
  street: string | null;
  district: string | null;
  is_approximate: boolean;
}

const EMPTY_ZONES_SQL = `
  SELECT c.id::text AS area_key, c.name AS area_name, c.street,
         coalesce(c.district, district_at(ST_PointOnSurface(c.geom))) AS district, c.is_approximate
  FROM coverage_runs cr
  JOIN communities c ON true
  JOIN datasets d ON d.id = c.dataset_id
  WHERE cr.id = $1
    AND CASE cr.community_source
          WHEN 'imported' THEN d.kind = 'communities' AND ST_Intersects(c.geom, dataset_extent(cr.dataset_id))
          ELSE d.id = cr.dataset_id END
    AND NOT EXISTS (SELECT 1 FROM coverage_area_results r WHERE r.run_id = $1 AND r.level = 'community' AND r.area_key = c.id::text)
  ORDER BY c.name, c.id`;

/**
 * Community zones of the run's source (imported ones in its dataset's extent, migration 0310, or
 * its approximate zones) that no resident lives in.
 */
export async function emptyZones(db: pg.Pool, runId: number): Promise<EmptyZoneRow[]> {
  return (await db.query<EmptyZoneRow>(EMPTY_ZONES_SQL, [runId])).rows;
}

/** Where an export comes from and what it was asked for: carried by every CSV row and GeoJSON file. */
export interface ExportProvenance {
  dataset_id: number;
  dataset_source: string | null;
  dataset_imported_at: string | null;
  run_id: number;
  run_finished_at: string | null;
  generated_at: string;
  filters: string;
}

export async function exportProvenance(
  db: pg.Pool,
  datasetId: number,
  runId: number,
  filters: Record<string, string>,
): Promise<ExportProvenance> {
  const { rows } = await db.query<{ source: string | null; imported_at: string | null; finished_at: string | null }>(
    `SELECT d.source, to_json(d.imported_at) #>> '{}' AS imported_at, to_json(r.finished_at) #>> '{}' AS finished_at
     FROM coverage_runs r LEFT JOIN datasets d ON d.id = $1 WHERE r.id = $2`,
    [datasetId, runId],
  );
  return {
    dataset_id: datasetId,
    dataset_source: rows[0]?.source ?? null,
    dataset_imported_at: rows[0]?.imported_at ?? null,
    run_id: runId,
    run_finished_at: rows[0]?.finished_at ?? null,
    generated_at: new Date().toISOString(),
    filters: Object.entries(filters)
      .map(([k, v]) => `${k}=${v}`)
      .join('&'),
  };
}

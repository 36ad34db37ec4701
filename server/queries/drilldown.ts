import type pg from 'pg';

export type DrilldownLevel = 'residential_area' | 'community';

/**
 * The origins of one area, as the engine assigns them (server/network/load-network.ts ORIGINS_SQL):
 * a residential area holds the origins made from it; a community those inside it (the run's
 * community source: imported communities when any lay in the dataset's extent, else the dataset's
 * approximate zones), first by id. Only origins with a result in the run (those of the study area)
 * are taken.
 */
const AREA_ORIGINS_SQL = `
  WITH run AS (SELECT id, dataset_id, community_source FROM coverage_runs WHERE id = $1),
  community_source AS (
    SELECT coalesce((SELECT community_source FROM run), community_source_of((SELECT dataset_id FROM run))) AS src
  ),
  members AS (
    SELECT o.id, o.population, o.geom
    FROM origins o, run
    WHERE o.dataset_id = run.dataset_id AND (
      ($3 = 'residential_area' AND o.residential_area_id::text = $4)
      OR ($3 = 'community' AND (
        SELECT c.id::text FROM communities c JOIN datasets d ON d.id = c.dataset_id
        WHERE ST_Intersects(c.geom, o.geom)
          AND ((SELECT src FROM community_source) = 'imported' AND d.kind = 'communities'
               OR (SELECT src FROM community_source) = 'approximate' AND d.id = run.dataset_id)
        ORDER BY c.id LIMIT 1) = $4))
  )
  SELECT m.id::text AS origin_id, m.population, ST_X(m.geom) AS lng, ST_Y(m.geom) AS lat,
         r.outcome, r.network_m, r.straight_m, r.facility_id::text AS facility_id, r.covered, r.straight_covered
  FROM members m
  JOIN coverage_origin_results r ON r.origin_id = m.id AND r.run_id = $1 AND r.rule_set_id = $2 AND r.rule_id = $5
  ORDER BY m.id`;

export interface DrilldownOrigin {
  origin_id: string;
  population: number;
  lng: number;
  lat: number;
  outcome: 'distance' | 'beyond_cap' | 'no_path' | 'no_data';
  network_m: number | null;
  straight_m: number | null;
  facility_id: string | null;
  covered: boolean;
  straight_covered: boolean;
}

export async function areaOrigins(
  db: pg.Pool,
  runId: number,
  ruleSetId: string,
  level: DrilldownLevel,
  areaKey: string,
  ruleId: string,
): Promise<DrilldownOrigin[]> {
  return (await db.query<DrilldownOrigin>(AREA_ORIGINS_SQL, [runId, ruleSetId, level, areaKey, ruleId])).rows;
}

const AREA_RESULT_SQL = `
  SELECT area_name, population, covered_population, share, straight_share, target_share, passes, no_data,
         coalesce(uncovered_near_edge_population, 0) AS uncovered_near_edge_population
  FROM coverage_area_results
  WHERE run_id = $1 AND rule_set_id = $2 AND level = $3 AND area_key = $4 AND rule_id = $5`;

export interface DrilldownAreaResult {
  area_name: string | null;
  population: number;
  covered_population: number;
  share: number | null;
  straight_share: number | null;
  target_share: number;
  passes: boolean;
  no_data: boolean;
  uncovered_near_edge_population: number;
}

export async function areaResult(
  db: pg.Pool,
  runId: number,
  ruleSetId: string,
  level: DrilldownLevel,
  areaKey: string,
  ruleId: string,
): Promise<DrilldownAreaResult | null> {
  return (
    (await db.query<DrilldownAreaResult>(AREA_RESULT_SQL, [runId, ruleSetId, level, areaKey, ruleId])).rows[0] ?? null
  );
}

export interface FacilitySummary {
  id: string;
  name: string | null;
  category: string;
  lng: number;
  lat: number;
  is_sample: boolean;
}

export async function facilitySummaries(db: pg.Pool, ids: string[]): Promise<Map<string, FacilitySummary>> {
  if (!ids.length) return new Map();
  const { rows } = await db.query<FacilitySummary>(
    `SELECT id::text AS id, name, category, ST_X(ST_PointOnSurface(geom)) AS lng, ST_Y(ST_PointOnSurface(geom)) AS lat, is_sample
     FROM facilities WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

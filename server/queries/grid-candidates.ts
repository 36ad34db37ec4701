import type pg from 'pg';
import { queryWithin } from '../db/query-within.ts';

/**
 * Vacant-land candidates: grid points over the extent, kept when they are inside no residential
 * area, building, park, green space or water body of the dataset and within GRID_MAX_NETWORK_M of a walkable
 * edge — an approximation of cleared or unbuilt land, since OSM maps no vacancy. Points are
 * generated in grid order (south to north, west to east) and tested one by one, so a LIMIT ($10)
 * stops the scan as soon as enough have passed; `n` gives the order back, since without ORDER BY
 * (which would test every point before the first row) PostgreSQL promises none. The tests sit in a
 * CASE so that each stays a per-point index probe, stopping at the first that rules a point out: as
 * NOT EXISTS the planner turned them into anti-joins with sequential scans, 2.2–2.7 times slower
 * (issue 14's probe grid, central Chengdu).
 */
export const GRID_SQL = `
  WITH p AS (
    SELECT n, x, y, ST_SetSRID(ST_MakePoint(x, y), 4326) AS geom
    FROM generate_series(0, $5::int * $6::int - 1) AS n,
         LATERAL (SELECT $1::float8 + (n % $5::int) * $3::float8 AS x, $2::float8 + (n / $5::int) * $4::float8 AS y) xy
  )
  SELECT p.n, p.x AS lng, p.y AS lat FROM p
  WHERE CASE
    WHEN EXISTS (SELECT 1 FROM residential_areas ra WHERE ra.dataset_id = $7 AND ra.geom && p.geom AND ST_Intersects(ra.geom, p.geom)) THEN false
    WHEN EXISTS (SELECT 1 FROM buildings b WHERE b.dataset_id = $7 AND b.geom && p.geom AND ST_Intersects(b.geom, p.geom)) THEN false
    WHEN EXISTS (SELECT 1 FROM facilities f WHERE f.dataset_id = $7 AND f.category IN ('park', 'green_space') AND f.geom && p.geom AND ST_Intersects(f.geom, p.geom)) THEN false
    WHEN EXISTS (SELECT 1 FROM basemap_areas w WHERE w.dataset_id = $7 AND w.layer = 'water' AND w.geom && p.geom AND ST_Intersects(w.geom, p.geom)) THEN false
    ELSE EXISTS (SELECT 1 FROM walk_edges e WHERE e.dataset_id = $7 AND e.geom && ST_Expand(p.geom, $9::float8)
                 AND ST_DWithin(e.geom::geography, p.geom::geography, $8::float8))
  END
  LIMIT $10`;

/** A grid over an extent: the first point's position, the steps, and the number of points along each axis. */
export interface CandidateGrid {
  originLng: number;
  originLat: number;
  stepLng: number;
  stepLat: number;
  nx: number;
  ny: number;
}

/**
 * The grid points of the dataset that pass the vacant-land test, in grid order; `maxNetworkM` is
 * the distance to a walkable edge, `metresPerDegLat` sizes the index pre-filter around each point.
 * With `limit`, the scan stops after `limit` points have passed (then which ones is unspecified,
 * still sorted): a caller that will refuse more than `limit - 1` candidates learns so without
 * testing the rest of the grid. The query runs under a statement timeout of `timeoutMs`
 * (503 `work_timed_out` past it).
 */
export async function gridCandidates(
  db: pg.Pool,
  grid: CandidateGrid,
  datasetId: number,
  maxNetworkM: number,
  metresPerDegLat: number,
  options: { limit?: number; timeoutMs: number },
): Promise<{ lng: number; lat: number }[]> {
  const { rows } = await queryWithin<{ n: number; lng: number; lat: number }>(
    db,
    options.timeoutMs,
    'the vacant-land search for grid candidates',
    GRID_SQL,
    [
      grid.originLng,
      grid.originLat,
      grid.stepLng,
      grid.stepLat,
      grid.nx,
      grid.ny,
      datasetId,
      maxNetworkM,
      (maxNetworkM * 1.5) / metresPerDegLat,
      options.limit ?? null,
    ],
  );
  return rows.sort((a, b) => a.n - b.n).map(({ lng, lat }) => ({ lng, lat }));
}

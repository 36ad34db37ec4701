import type pg from 'pg';
import { DEFAULT_MAX_SNAP_M } from '../../geo/snap.ts';

/** Metres around the point searched for candidate edges: the snap limit plus slack for the degree box. */
const SNAP_SEARCH_M = DEFAULT_MAX_SNAP_M * 1.25;

// The per-request pgRouting baseline for "how far is the nearest facility of a category on foot",
// shared by the API benchmark (test/bench/api.ts) and the API-level agreement test.

/**
 * The pgRouting baseline for "how far is the nearest park on foot" (or any category), per request:
 * the point is put on its nearest edge and one pgr_withPointsCost runs from it to every access point, each
 * also placed on its nearest edge, over the reversed graph (our searches run outward from
 * facilities, and cost/reverse_cost forbid leaving private ways in that direction; reversing swaps
 * source and target, so fractions become 1 − f). Both access legs are added, as ours does. The
 * edge set is read on every call, as an application calling pgRouting does; the points are bound
 * parameters, quoted into pgRouting's points query by format(%L) on the server.
 *
 * It asks exactly our question, so the answers can be compared to the centimetre:
 * - the point is placed as the engine places it (geo/snap.ts): on the nearest segment of an edge
 *   within the snap limit (200 m) whose straight access leg crosses no mapped wall or fence of the
 *   dataset (PostGIS ST_Crosses: the interiors meet at a point); a segment behind a wall is passed
 *   over for the next nearest, and with none left the answer is null, as ours is 422;
 * - the graph is the one the engine walks, `bench_engine_edges` (fragments under 50 nodes left
 *   out, see geo/components.ts), filled from the loaded engine by preparePgrNearest;
 * - the foot of the perpendicular and the fraction are found in the UTM zone's metres ($7), as
 *   ours are in a local metric projection (in degrees, a longitude step counts 1/cos(lat) too
 *   much, which moves the foot by metres);
 * - access legs are PostGIS geography distances (the WGS 84 ellipsoid), as ours are (geo/geodesy.ts).
 */
export const PGR_NEAREST_SQL = `
  WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS g),
  -- the nearest segment within the snap limit whose access leg crosses no wall or fence of the
  -- dataset ($9), as the engine snaps (geo/snap.ts): a segment behind a wall is passed over
  e AS (SELECT c.id, 1 - ST_LineLocatePoint(c.line, c.foot) AS fraction, c.source, c.target,
               ST_Distance(p.g::geography, ST_Transform(c.foot, 4326)::geography) AS leg_m
        FROM p, LATERAL (
          SELECT s.* FROM (
            SELECT we.id, we.source, we.target, l.line, d.path[1] AS seg,
                   ST_ClosestPoint(d.geom, l.pt) AS foot, ST_Distance(d.geom, l.pt) AS dist
            FROM walk_edges we
            CROSS JOIN LATERAL (SELECT ST_Transform(we.geom, $7::int) AS line, ST_Transform(p.g, $7::int) AS pt) l
            CROSS JOIN LATERAL ST_DumpSegments(l.line) d
            WHERE we.id IN (SELECT id FROM bench_engine_edges)
              AND we.geom && ST_Expand(p.g, ${SNAP_SEARCH_M} / (111320 * cos(radians($2))), ${SNAP_SEARCH_M} / 110574.0)) s
          WHERE s.dist <= ${DEFAULT_MAX_SNAP_M}
            AND NOT EXISTS (
              SELECT 1 FROM barriers b CROSS JOIN LATERAL (SELECT ST_MakeLine(p.g, ST_Transform(s.foot, 4326)) AS leg) k
              WHERE b.dataset_id = $9 AND b.geom && k.leg AND ST_Crosses(b.geom, k.leg))
          ORDER BY s.dist, s.id, s.seg LIMIT 1) c),
  -- fraction 0 or 1 over the reversed edge: the point is its end vertex, asked for by vertex id
  s AS (SELECT e.*, CASE e.fraction WHEN 0 THEN e.target WHEN 1 THEN e.source END AS vertex FROM e),
  ap AS (SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::float8[], $6::float8[], $8::bigint[]) AS t(pid, edge, fraction, leg_m, vertex)),
  pts AS (SELECT array_agg(pid) AS pid, array_agg(edge) AS edge, array_agg(fraction) AS fraction FROM (
            SELECT 1::bigint AS pid, s.id AS edge, s.fraction FROM s WHERE s.vertex IS NULL
            UNION ALL SELECT pid, edge, fraction FROM ap WHERE vertex IS NULL) x),
  costs AS (
    SELECT c.end_pid, c.agg_cost FROM pts, pgr_withPointsCost(
      'SELECT id, target AS source, source AS target, cost, reverse_cost FROM walk_edges WHERE id IN (SELECT id FROM bench_engine_edges)',
      format('SELECT pid, edge_id, fraction FROM unnest(%L::bigint[], %L::bigint[], %L::float8[]) AS t(pid, edge_id, fraction)', pts.pid, pts.edge, pts.fraction),
      (SELECT coalesce(vertex, -1) FROM s), (SELECT array_agg(coalesce(vertex, -pid)) FROM ap), directed := true) c
    -- pgRouting's *Cost functions leave out a start that is also an end; that walk is 0 m
    UNION ALL SELECT s.vertex, 0 FROM s WHERE s.vertex IS NOT NULL)
  SELECT min(costs.agg_cost + ap.leg_m) + (SELECT leg_m FROM s) AS distance_m
  FROM costs JOIN ap ON costs.end_pid = coalesce(ap.vertex, -ap.pid)`;

/**
 * A category's access points on their nearest public engine edge (facilities are not entered
 * through private compound ways, geo/coverage.ts), the same way: edge, fraction over the reversed
 * edge, access leg, and the vertex when the point is one. Points are numbered from 2 (1 is the
 * request's point); pgRouting names points by negative ids. pgRouting 3.4's withPoints functions
 * return nothing for a point at fraction 0 or 1 (pgRouting/pgrouting#2689), and park entrances
 * are often mapped on a network node, so such points are asked for as their vertex.
 */
const FACILITY_POINTS_SQL = `
  SELECT 1 + row_number() OVER (ORDER BY ap.id) AS pid, e.id AS edge_id, e.fraction,
         CASE e.fraction WHEN 0 THEN e.target WHEN 1 THEN e.source END AS vertex,
         ST_Distance(ap.geom::geography, ST_Transform(ST_ClosestPoint(e.line, e.pt), 4326)::geography) AS leg_m
  FROM facility_access_points ap JOIN facilities f ON f.id = ap.facility_id
  CROSS JOIN LATERAL (
    SELECT c.id, c.source, c.target, c.line, c.pt, 1 - ST_LineLocatePoint(c.line, c.pt) AS fraction FROM (
      SELECT we.id, we.source, we.target, ST_Transform(we.geom, $2::int) AS line, ST_Transform(ap.geom, $2::int) AS pt
      FROM walk_edges we WHERE we.id IN (SELECT id FROM bench_engine_edges) AND NOT we.is_private
      ORDER BY we.geom <-> ap.geom LIMIT 8) c
    ORDER BY ST_Distance(c.line, c.pt), c.id LIMIT 1) e
  JOIN datasets d ON d.id = f.dataset_id
  -- the OSM dataset's facilities and the registers' (as server/network/load-network.ts loads them)
  WHERE f.category = $3 AND (d.id = $1 OR d.kind = 'facility_register') ORDER BY ap.id`;

/** The WGS 84 / UTM zone holding a longitude (northern hemisphere above the equator). */
export const utmSrid = (lng: number, lat: number) =>
  (lat >= 0 ? 32600 : 32700) + Math.min(60, Math.floor((lng + 180) / 6) + 1);

/** What the baseline needs from the engine: its edges and its extent. */
export interface EngineGraphRef {
  edgeDbIds: ArrayLike<number>;
  bbox: readonly [number, number, number, number];
}

/**
 * Writes the engine's edge ids into `bench_engine_edges` (an unlogged table, replaced) and places
 * the category's access points; returns the per-request question as bound parameters, for
 * `PGR_NEAREST_SQL` with `[lng, lat, ...params]`.
 */
export async function preparePgrNearest(
  db: pg.Pool,
  datasetId: number,
  engine: EngineGraphRef,
  category: string,
): Promise<unknown[]> {
  await db.query(
    `DROP TABLE IF EXISTS bench_engine_edges; CREATE UNLOGGED TABLE bench_engine_edges (id bigint PRIMARY KEY)`,
  );
  await db.query(`INSERT INTO bench_engine_edges SELECT unnest($1::bigint[])`, [Array.from(engine.edgeDbIds)]);
  await db.query(`ANALYZE bench_engine_edges`);
  const srid = utmSrid((engine.bbox[0] + engine.bbox[2]) / 2, (engine.bbox[1] + engine.bbox[3]) / 2);
  const { rows } = await db.query<{
    pid: string;
    edge_id: string;
    fraction: number;
    leg_m: number;
    vertex: string | null;
  }>(FACILITY_POINTS_SQL, [datasetId, srid, category]);
  return [
    rows.map((p) => p.pid),
    rows.map((p) => p.edge_id),
    rows.map((p) => p.fraction),
    rows.map((p) => p.leg_m),
    srid,
    rows.map((p) => p.vertex),
    datasetId,
  ];
}

/** pgRouting's answer for one point: metres to the nearest facility prepared, or null. */
export async function pgrNearestM(db: pg.Pool, params: unknown[], lng: number, lat: number): Promise<number | null> {
  // PostGIS's per-call cost estimates put this plan above jit_above_cost, and compiling it took
  // 0.6 s for a 10 ms query: JIT off for this transaction only
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL jit = off');
    const { rows } = await client.query<{ distance_m: number | null }>(PGR_NEAREST_SQL, [lng, lat, ...params]);
    await client.query('COMMIT');
    return rows[0]?.distance_m ?? null;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

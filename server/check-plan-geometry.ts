import type pg from 'pg';
import { makeLocalProjection } from '../geo/geodesy.ts';
import { MAX_PLAN_EXTENT_M, MAX_PLAN_OUTLINE_M } from '../geo/scenario/plan.ts';
import { ApiError } from './errors.ts';
import { MAX_PLAN_VERTICES } from './limits.ts';

/**
 * The engine measures a plan in the dataset's local projection, this check in the plan's own; the
 * two differ by tan(lat) × the distance between their centres (0.5 % for a plan 50 km from the
 * centre at Chengdu's 30.7° N). Checking 1 % under the engine's limits keeps every plan accepted
 * here acceptable there.
 */
const PROJECTION_MARGIN = 0.99;
export const MAX_STORED_PLAN_EXTENT_M = Math.floor(MAX_PLAN_EXTENT_M * PROJECTION_MARGIN);
export const MAX_STORED_PLAN_OUTLINE_M = Math.floor(MAX_PLAN_OUTLINE_M * PROJECTION_MARGIN);

export type PlanKind = 'demolish_illegal' | 'demolish_wall' | 'add_open_space';
export type PlanGeometry = { type: 'Polygon' | 'MultiPolygon' | 'LineString'; coordinates: unknown };

function positionsOf(c: unknown, depth: number, out: number[][]): void {
  if (!Array.isArray(c))
    throw new ApiError('invalid_parameter', 'geometry.coordinates must be nested arrays of [lng, lat]');
  if (depth === 0) {
    if (c.length === 3 && c.every((v) => typeof v === 'number')) {
      throw new ApiError(
        'invalid_parameter',
        `geometry position [${c.join(', ')}] has a Z value: positions are [lng, lat]`,
      );
    }
    if (c.length !== 2 || !c.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      // never stringify the value whole: it may be nested thousands deep
      throw new ApiError(
        'invalid_parameter',
        `a geometry position is not [lng, lat] (${c.length} items${c.some(Array.isArray) ? ', nested deeper than the geometry type allows' : ''})`,
      );
    }
    const [lng, lat] = c as number[];
    if (lng < -180 || lng > 180 || lat < -90 || lat > 90)
      throw new ApiError('invalid_parameter', `geometry position ${lng}, ${lat} is out of range`);
    out.push(c as number[]);
    return;
  }
  for (const x of c) {
    positionsOf(x, depth - 1, out);
    if (out.length > MAX_PLAN_VERTICES)
      throw new ApiError('payload_too_large', `geometry has more than ${MAX_PLAN_VERTICES} vertices`);
  }
}

/**
 * The one check of a plan geometry, for stored plans (POST/PATCH /api/plans) and scenarios alike,
 * so a plan the API accepts is a plan every analysis accepts: shape, kind/type agreement, 2D
 * positions, at most MAX_PLAN_VERTICES vertices, and the scenario engine's limits on size less
 * PROJECTION_MARGIN (MAX_STORED_PLAN_EXTENT_M across, MAX_STORED_PLAN_OUTLINE_M of outline; this
 * also refuses a ring around the antimeridian, which spans the globe). Throws ApiError (400 / 413).
 * O(vertices).
 */
export function checkPlanGeometry(kind: PlanKind, g: PlanGeometry): void {
  const wantLine = kind === 'demolish_wall';
  if (wantLine !== (g.type === 'LineString')) {
    throw new ApiError(
      'invalid_parameter',
      `a ${kind} plan needs a ${wantLine ? 'LineString (the wall)' : 'Polygon or MultiPolygon (the site)'}, got ${g.type}`,
    );
  }
  const depth = g.type === 'LineString' ? 1 : g.type === 'Polygon' ? 2 : 3;
  const all: number[][] = [];
  positionsOf(g.coordinates, depth, all);
  if (g.type === 'LineString' && (g.coordinates as unknown[]).length < 2)
    throw new ApiError('invalid_parameter', 'a LineString needs at least 2 positions');
  const lines: number[][][] = [];
  if (g.type === 'LineString') lines.push(g.coordinates as number[][]);
  else {
    const polys = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as number[][][][];
    if (polys.length === 0) throw new ApiError('invalid_parameter', 'the geometry is empty');
    for (const rings of polys) {
      if (!rings.length) throw new ApiError('invalid_parameter', 'a polygon needs an outer ring');
      for (const ring of rings) {
        const first = ring[0],
          last = ring[ring.length - 1];
        if (ring.length < 4 || first[0] !== last[0] || first[1] !== last[1]) {
          throw new ApiError(
            'invalid_parameter',
            'each polygon ring needs at least 4 positions and must end where it starts',
          );
        }
        lines.push(ring);
      }
    }
  }
  let minLng = Infinity,
    minLat = Infinity,
    maxLng = -Infinity,
    maxLat = -Infinity;
  for (const [lng, lat] of all) {
    minLng = Math.min(minLng, lng);
    maxLng = Math.max(maxLng, lng);
    minLat = Math.min(minLat, lat);
    maxLat = Math.max(maxLat, lat);
  }
  const p = makeLocalProjection((minLng + maxLng) / 2, (minLat + maxLat) / 2);
  const spanM = Math.max((maxLng - minLng) * p.metresPerDegLng, (maxLat - minLat) * p.metresPerDegLat);
  if (spanM > MAX_STORED_PLAN_EXTENT_M) {
    throw new ApiError(
      'invalid_parameter',
      `the geometry spans ${Math.round(spanM)} m; a plan is a site of at most ${MAX_STORED_PLAN_EXTENT_M} m across`,
    );
  }
  let outlineM = 0;
  for (const l of lines)
    for (let i = 1; i < l.length; i++)
      outlineM += Math.hypot((l[i][0] - l[i - 1][0]) * p.metresPerDegLng, (l[i][1] - l[i - 1][1]) * p.metresPerDegLat);
  if (outlineM > MAX_STORED_PLAN_OUTLINE_M)
    throw new ApiError(
      'invalid_parameter',
      `the geometry has ${Math.round(outlineM)} m of outline; at most ${MAX_STORED_PLAN_OUTLINE_M} m`,
    );
}

/** Why PostGIS finds each geometry invalid (null when valid), in input order. */
const INVALID_REASONS_SQL = `SELECT CASE WHEN ST_IsEmpty(g) THEN 'empty' WHEN ST_IsValid(g) THEN NULL ELSE ST_IsValidReason(g) END AS reason
  FROM unnest($1::text[]) WITH ORDINALITY AS u(j, n), LATERAL (SELECT ST_SetSRID(ST_GeomFromGeoJSON(j), 4326) AS g) x ORDER BY n`;

/**
 * PostGIS's validity check of geometries that passed checkPlanGeometry, on the caller's client
 * (a handler inside a transaction must not ask the pool for a second one). Throws ApiError 400
 * naming the geometry (1-based) and PostGIS's reason.
 */
export async function checkPlanGeometriesValid(
  db: pg.Pool | pg.ClientBase,
  geometries: readonly PlanGeometry[],
): Promise<void> {
  if (!geometries.length) return;
  let rows: { reason: string | null }[];
  try {
    ({ rows } = await db.query<{ reason: string | null }>(INVALID_REASONS_SQL, [
      geometries.map((g) => JSON.stringify(g)),
    ]));
  } catch (err) {
    // PostGIS refuses some malformed GeoJSON outright (class 22 / XX000 "geometry requires more points")
    const code = (err as { code?: string }).code;
    if (code?.startsWith('22') || code === 'XX000')
      throw new ApiError('invalid_parameter', `a plan geometry is not valid GeoJSON: ${(err as Error).message}`);
    throw err;
  }
  rows.forEach((r, i) => {
    if (r.reason === 'empty')
      throw new ApiError(
        'invalid_parameter',
        geometries.length === 1 ? 'the geometry is empty' : `plan geometry ${i + 1} is empty`,
      );
    if (r.reason)
      throw new ApiError(
        'invalid_parameter',
        geometries.length === 1
          ? `the geometry is invalid: ${r.reason}`
          : `plan geometry ${i + 1} is invalid: ${r.reason}`,
      );
  });
}

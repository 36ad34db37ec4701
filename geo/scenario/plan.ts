import type { LineString, MultiPolygon, Polygon } from 'geojson';
import type { CategoryId } from '../categories.ts';
import type { LocalProjection } from '../geodesy.ts';
import { inPolygon, pointLineM, pointSegmentM, segmentParam, unionIntervals } from '../planar.ts';

/** A plan's extent, metres, at most: a 两拆一增 plan is a site or a wall, not a district. */
export const MAX_PLAN_EXTENT_M = 5000;
/** A plan's outline (or wall) length, metres, at most: bounds the points sampled along it. */
export const MAX_PLAN_OUTLINE_M = 20_000;

/**
 * A plan the scenario cannot apply because of how it is drawn or described: wrong geometry type,
 * too few positions, too large, too many walkable points around a cleared site. The message names
 * the plan (its `ref`) and what is wrong. Routes answer it with a 4xx; any other error is ours.
 */
export class PlanError extends Error {
  override name = 'PlanError';
  constructor(
    readonly ref: string,
    message: string,
  ) {
    super(message);
  }
}

export type ScenarioPlanKind = 'demolish_illegal' | 'demolish_wall' | 'add_open_space';

/** One 两拆一增 plan as the scenario sees it. */
export interface ScenarioPlan {
  /** stable reference for reports, e.g. `plan:12` or `inline:0` */
  ref: string;
  kind: ScenarioPlanKind;
  name: string;
  /** LineString for demolish_wall; Polygon or MultiPolygon otherwise; WGS 84 */
  geometry: LineString | Polygon | MultiPolygon;
  /** demolish_illegal only: the cleared land also becomes an open space */
  becomesOpenSpace?: boolean;
}

/** What one plan changed in the network. */
export interface PlanEffect {
  ref: string;
  kind: ScenarioPlanKind;
  name: string;
  linksAdded: number;
  linkLengthM: number;
  /** length of wall and fence removed, metres (geodesic) */
  barrierRemovedM: number;
  /** private compound edges made two-way and public */
  edgesOpened: number;
  /** gated compounds the demolished wall opened */
  compoundsOpened: number;
  openSpace: { facilityId: number; areaM2: number; category: CategoryId; accessPoints: number } | null;
}

/** A plan's geometry in local metres, prepared once per request and reused for every subset. */
export interface PreparedPlan {
  plan: ScenarioPlan;
  /** polylines (wall) or rings (polygons) in local metres, flat x,y */
  lines: Float64Array[];
  /** per polygon its rings (first outer), local metres; empty for walls */
  polygons: Float64Array[][];
  bbox: [number, number, number, number];
  openSpace: boolean;
}

export function polygonsOf(g: Polygon | MultiPolygon): number[][][][] {
  return (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as number[][][][];
}

export function toLocal(projection: LocalProjection, positions: readonly number[][]): Float64Array {
  const out = new Float64Array(positions.length * 2);
  positions.forEach((p, i) => {
    out[2 * i] = projection.toX(p[0]);
    out[2 * i + 1] = projection.toY(p[1]);
  });
  return out;
}

export function preparePlan(projection: LocalProjection, plan: ScenarioPlan): PreparedPlan {
  const g = plan.geometry;
  const wantLine = plan.kind === 'demolish_wall';
  if (wantLine !== (g.type === 'LineString')) {
    throw new PlanError(
      plan.ref,
      `plan ${plan.ref}: a ${plan.kind} plan needs a ${wantLine ? 'LineString' : 'Polygon or MultiPolygon'}, got ${g.type}`,
    );
  }
  let lines: Float64Array[];
  let polygons: Float64Array[][] = [];
  if (g.type === 'LineString') {
    if (g.coordinates.length < 2)
      throw new PlanError(plan.ref, `plan ${plan.ref}: a wall needs at least two positions`);
    lines = [toLocal(projection, g.coordinates)];
  } else {
    const polys = polygonsOf(g);
    if (!polys.length || polys.some((rings) => !rings.length || rings.some((r) => r.length < 4))) {
      throw new PlanError(plan.ref, `plan ${plan.ref}: every polygon ring needs at least four positions`);
    }
    polygons = polys.map((rings) => rings.map((r) => toLocal(projection, r)));
    lines = polygons.flat();
  }
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  for (const l of lines) {
    for (let i = 0; i < l.length; i += 2) {
      if (!Number.isFinite(l[i]) || !Number.isFinite(l[i + 1]))
        throw new PlanError(plan.ref, `plan ${plan.ref}: a position is not a number`);
      minX = Math.min(minX, l[i]);
      maxX = Math.max(maxX, l[i]);
      minY = Math.min(minY, l[i + 1]);
      maxY = Math.max(maxY, l[i + 1]);
    }
  }
  if (maxX - minX > MAX_PLAN_EXTENT_M || maxY - minY > MAX_PLAN_EXTENT_M) {
    throw new PlanError(
      plan.ref,
      `plan ${plan.ref} spans ${Math.round(Math.max(maxX - minX, maxY - minY))} m; a plan is a site of at most ${MAX_PLAN_EXTENT_M} m`,
    );
  }
  let outlineM = 0;
  for (const l of lines)
    for (let i = 0; i + 3 < l.length; i += 2) outlineM += Math.hypot(l[i + 2] - l[i], l[i + 3] - l[i + 1]);
  if (outlineM > MAX_PLAN_OUTLINE_M)
    throw new PlanError(
      plan.ref,
      `plan ${plan.ref} has ${Math.round(outlineM)} m of outline; at most ${MAX_PLAN_OUTLINE_M} m`,
    );
  const openSpace =
    plan.kind === 'add_open_space' || (plan.kind === 'demolish_illegal' && plan.becomesOpenSpace === true);
  return { plan, lines, polygons, bbox: [minX, minY, maxX, maxY], openSpace };
}

/** Whether a point lies in a plan's region: inside one of its polygons or within `d` of its lines. */
export function inRegion(p: PreparedPlan, x: number, y: number, d: number): boolean {
  if (x < p.bbox[0] - d || x > p.bbox[2] + d || y < p.bbox[1] - d || y > p.bbox[3] + d) return false;
  for (const rings of p.polygons) if (inPolygon(x, y, rings)) return true;
  for (const l of p.lines) if (pointLineM(x, y, l) <= d) return true;
  return false;
}

/**
 * The parameters t ∈ [0, 1] of segment AB lying in a plan's region (polygons, or within `d` of its
 * lines), as sorted disjoint intervals. Inside a polygon: cut at the ring crossings, midpoint test.
 * Near a line segment: the distance from A + t(B − A) to a segment is convex in t, so its sublevel
 * set is one interval, found by ternary search and bisection to 1e-9.
 */
export function regionIntervals(
  p: PreparedPlan,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  d: number,
): [number, number][] {
  const out: [number, number][] = [];
  for (const rings of p.polygons) {
    const ts = [0, 1];
    for (const r of rings) {
      for (let i = 0; i + 3 < r.length; i += 2) {
        const t = segmentParam(ax, ay, bx, by, r[i], r[i + 1], r[i + 2], r[i + 3]);
        if (t !== null) ts.push(t);
      }
    }
    ts.sort((x, y) => x - y);
    for (let i = 0; i + 1 < ts.length; i++) {
      const m = (ts[i] + ts[i + 1]) / 2;
      if (ts[i + 1] > ts[i] && inPolygon(ax + m * (bx - ax), ay + m * (by - ay), rings)) out.push([ts[i], ts[i + 1]]);
    }
  }
  for (const l of p.lines) {
    for (let i = 0; i + 3 < l.length; i += 2) {
      const f = (t: number) =>
        pointSegmentM(ax + t * (bx - ax), ay + t * (by - ay), l[i], l[i + 1], l[i + 2], l[i + 3]);
      let lo = 0,
        hi = 1;
      for (let k = 0; k < 100 && hi - lo > 1e-10; k++) {
        const m1 = lo + (hi - lo) / 3,
          m2 = hi - (hi - lo) / 3;
        if (f(m1) <= f(m2)) hi = m2;
        else lo = m1;
      }
      const tMin = (lo + hi) / 2;
      if (f(tMin) > d) continue;
      const edge = (inside: number, outside: number) => {
        if (f(outside) <= d) return outside;
        for (let k = 0; k < 60; k++) {
          const m = (inside + outside) / 2;
          if (f(m) <= d) inside = m;
          else outside = m;
        }
        return inside;
      };
      out.push([edge(tMin, 0), edge(tMin, 1)]);
    }
  }
  return unionIntervals(out);
}

/** Whether the straight line stays within the region, tested every 5 m. */
export function staysInRegion(p: PreparedPlan, ax: number, ay: number, bx: number, by: number, d: number): boolean {
  const n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / 5));
  for (let k = 1; k < n; k++) {
    const t = k / n;
    if (!inRegion(p, ax + t * (bx - ax), ay + t * (by - ay), d)) return false;
  }
  return true;
}

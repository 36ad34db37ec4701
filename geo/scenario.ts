import Flatbush from 'flatbush';
import { area as turfArea, pointOnFeature } from '@turf/turf';
import type { LineString, MultiPolygon, Polygon } from 'geojson';
import { CATEGORIES, type CategoryId } from './categories.ts';
import {
    evaluateCoverage,
    fieldFilters,
    snapOrigin,
    type AreaRuleResult,
    type EngineCompound,
    type EngineNetwork,
    type EngineOrigin,
    type RuleCoverage,
} from './coverage.ts';
import { createSearch, reachPoint, seedsFromSnaps, type EdgeSource, type Search, type SearchResult, type Seed } from './dijkstra.ts';
import {
    buildPolygonIndex,
    computeDistanceField,
    containingFacility,
    matchesFilter,
    sourceFilterKey,
    type DistanceField,
    type EngineFacility,
    type SourceFilter,
} from './distance-field.ts';
import { geodesicM, lineSliceAtFractions, makeLocalProjection, type LocalProjection } from './geodesy.ts';
import { buildGraph, DIR_BACKWARD, DIR_BOTH, DIR_FORWARD, type WalkGraph } from './graph.ts';
import type { Rule, RuleSet } from './rules/index.ts';
import { buildBarrierIndex, buildSnapIndex, crossesBarrier, DEFAULT_MAX_SNAP_M, snapPoint, type BarrierIndex, type SnapIndex, type SnapResult } from './snap.ts';

/**
 * Tolerance of a demolition in metres: wall and fence segments within 5 m of a demolished wall
 * line, or within 5 m of a cleared illegal site, are removed. Chosen, not from a standard: OSM
 * walls and a planner's line drawn over a basemap rarely lie farther apart than a few metres.
 */
export const DEMOLITION_TOLERANCE_M = 5;
/**
 * Network nodes within 30 m of a demolished wall get a link through the gap. Chosen: the ways of a
 * Chengdu compound usually end at or run along its wall within one building setback (10–30 m).
 */
export const WALL_LINK_REACH_M = 30;
/** Longest link through a demolished wall, metres: twice {@link WALL_LINK_REACH_M}, one reach either side. */
export const WALL_LINK_MAX_M = 2 * WALL_LINK_REACH_M;
/**
 * How far around a cleared illegal site its walkable points are looked for, metres. Chosen: OSM
 * street centrelines run 10–20 m from the building line (half a carriageway plus the setback),
 * so a cleared site's frontage streets lie within 20 m of its outline.
 */
export const CLEARED_REACH_M = 20;
/** Longest straight link across a cleared site, metres. Chosen: a Chengdu block is 150–300 m. */
export const CLEARED_LINK_MAX_M = 150;
/** Spacing of the points on a cleared site's outline that look for a frontage street, metres. */
export const CLEARED_OUTLINE_SPACING_M = 25;
/** More walkable points than this around one cleared site is a drawing error, not a demolition. */
export const MAX_CLEARED_POINTS = 400;
/**
 * A new open space counts as a park (category `park`) from 4000 m²: GB 50180-2018 table 4.0.7, the
 * smallest residential park (5-minute life circle) is 0.4 hm². Smaller ones are `green_space`
 * (小游园 / 微绿地). Rule tiers then apply their own minimum sizes (e.g. chengdu-park-city green_300:
 * ≥ 400 m²; garden-city: 2000 / 5000 m², GB/T 50563-2010).
 */
export const PARK_MIN_AREA_M2 = 4000;
/** Access points of a new open space: its outline every 50 m (a park is entered along its edge). */
export const OPEN_SPACE_ACCESS_SPACING_M = 50;
/** Shape points of a new open space for straight-line distances, as the loader densifies facilities (25 m). */
export const OPEN_SPACE_SHAPE_SPACING_M = 25;
/** A plan's extent, metres, at most: a 两拆一增 plan is a site or a wall, not a district. */
export const MAX_PLAN_EXTENT_M = 5000;
/** A plan's outline (or wall) length, metres, at most: bounds the points sampled along it. */
export const MAX_PLAN_OUTLINE_M = 20_000;
/** Split points closer than 1 m to an edge's end node, or to each other, are merged into it. */
const SPLIT_MERGE_M = 1;

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

/**
 * A scenario's network: a copy of the baseline engine network with the plans applied. Arrays that
 * did not change are shared with the baseline (read-only); nothing of the baseline is written.
 *
 * Edge ids: baseline edge e keeps id e (when split, e becomes its first piece), further pieces
 * follow from `baselineEdgeCount`, and links come last, from `linkStart`. Links are walked but not
 * snapped onto: a resident's or facility's nearest street stays the street it was.
 */
export interface ScenarioNetwork {
    net: EngineNetwork;
    baselineEdgeCount: number;
    linkStart: number;
    /** true when nodes, edges or directions differ from the baseline (every field is recomputed) */
    graphChanged: boolean;
    barriersChanged: boolean;
    /** scenario edge → baseline edge it is (part of), −1 for links */
    edgeBase: Int32Array;
    /** the stretch of the baseline edge each scenario edge covers, metres from its `from` node */
    edgeBaseFromM: Float64Array;
    edgeBaseToM: Float64Array;
    /** baseline edges that were split */
    splitEdges: ReadonlySet<number>;
    /** baseline edges made two-way and public */
    openedEdges: ReadonlySet<number>;
    /** compounds whose gates or internal edges changed (their residents are snapped again) */
    touchedCompounds: ReadonlySet<number>;
    /** the plan each link comes from (index into the plan list), per link */
    linkPlan: Int32Array;
    addedFacilities: EngineFacility[];
    /** removed wall / fence pieces, `[[lng, lat], [lng, lat]]` */
    removedBarriers: [number, number][][];
    /** lng/lat boxes around changes that can move a snap: split edges and removed barriers */
    changedBoxes: [number, number, number, number][];
    effects: PlanEffect[];
}

/** A plan's geometry in local metres, prepared once per request and reused for every subset. */
interface PreparedPlan {
    plan: ScenarioPlan;
    /** polylines (wall) or rings (polygons) in local metres, flat x,y */
    lines: Float64Array[];
    /** per polygon its rings (first outer), local metres; empty for walls */
    polygons: Float64Array[][];
    bbox: [number, number, number, number];
    openSpace: boolean;
}

type NodeRef = { node: number } | { edge: number; alongM: number };

interface Link {
    a: NodeRef;
    b: NodeRef;
    plan: number;
}

function polygonsOf(g: Polygon | MultiPolygon): number[][][][] {
    return (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as number[][][][];
}

function toLocal(projection: LocalProjection, positions: readonly number[][]): Float64Array {
    const out = new Float64Array(positions.length * 2);
    positions.forEach((p, i) => {
        out[2 * i] = projection.toX(p[0]);
        out[2 * i + 1] = projection.toY(p[1]);
    });
    return out;
}

function preparePlan(projection: LocalProjection, plan: ScenarioPlan): PreparedPlan {
    const g = plan.geometry;
    const wantLine = plan.kind === 'demolish_wall';
    if (wantLine !== (g.type === 'LineString')) {
        throw new RangeError(`plan ${plan.ref}: a ${plan.kind} plan needs a ${wantLine ? 'LineString' : 'Polygon or MultiPolygon'}, got ${g.type}`);
    }
    let lines: Float64Array[];
    let polygons: Float64Array[][] = [];
    if (g.type === 'LineString') {
        if (g.coordinates.length < 2) throw new RangeError(`plan ${plan.ref}: a wall needs at least two positions`);
        lines = [toLocal(projection, g.coordinates)];
    } else {
        const polys = polygonsOf(g);
        if (!polys.length || polys.some((rings) => !rings.length || rings.some((r) => r.length < 4))) {
            throw new RangeError(`plan ${plan.ref}: every polygon ring needs at least four positions`);
        }
        polygons = polys.map((rings) => rings.map((r) => toLocal(projection, r)));
        lines = polygons.flat();
    }
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const l of lines) {
        for (let i = 0; i < l.length; i += 2) {
            if (!Number.isFinite(l[i]) || !Number.isFinite(l[i + 1])) throw new RangeError(`plan ${plan.ref}: a position is not a number`);
            minX = Math.min(minX, l[i]); maxX = Math.max(maxX, l[i]);
            minY = Math.min(minY, l[i + 1]); maxY = Math.max(maxY, l[i + 1]);
        }
    }
    if (maxX - minX > MAX_PLAN_EXTENT_M || maxY - minY > MAX_PLAN_EXTENT_M) {
        throw new RangeError(`plan ${plan.ref} spans ${Math.round(Math.max(maxX - minX, maxY - minY))} m; a plan is a site of at most ${MAX_PLAN_EXTENT_M} m`);
    }
    let outlineM = 0;
    for (const l of lines) for (let i = 0; i + 3 < l.length; i += 2) outlineM += Math.hypot(l[i + 2] - l[i], l[i + 3] - l[i + 1]);
    if (outlineM > MAX_PLAN_OUTLINE_M) throw new RangeError(`plan ${plan.ref} has ${Math.round(outlineM)} m of outline; at most ${MAX_PLAN_OUTLINE_M} m`);
    const openSpace = plan.kind === 'add_open_space' || (plan.kind === 'demolish_illegal' && plan.becomesOpenSpace === true);
    return { plan, lines, polygons, bbox: [minX, minY, maxX, maxY], openSpace };
}

// ---------------------------------------------------------------------------------------------
// planar helpers, local metres

function pointSegmentM(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const ex = ax + t * dx - px, ey = ay + t * dy - py;
    return Math.sqrt(ex * ex + ey * ey);
}

/** Distance from a point to a flat x,y polyline (or ring), metres. */
function pointLineM(px: number, py: number, line: Float64Array): number {
    let best = Infinity;
    for (let i = 0; i + 3 < line.length; i += 2) best = Math.min(best, pointSegmentM(px, py, line[i], line[i + 1], line[i + 2], line[i + 3]));
    return best;
}

/** Even-odd point-in-polygon over all rings of one polygon. */
function inPolygon(px: number, py: number, rings: readonly Float64Array[]): boolean {
    let inside = false;
    for (const r of rings) {
        for (let i = 0, j = r.length - 2; i < r.length; j = i, i += 2) {
            const xi = r[i], yi = r[i + 1], xj = r[j], yj = r[j + 1];
            if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
        }
    }
    return inside;
}

/** Whether a point lies in a plan's region: inside one of its polygons or within `d` of its lines. */
function inRegion(p: PreparedPlan, x: number, y: number, d: number): boolean {
    if (x < p.bbox[0] - d || x > p.bbox[2] + d || y < p.bbox[1] - d || y > p.bbox[3] + d) return false;
    for (const rings of p.polygons) if (inPolygon(x, y, rings)) return true;
    for (const l of p.lines) if (pointLineM(x, y, l) <= d) return true;
    return false;
}

/** Segments AB and CD meet (touching counts). */
function segmentsMeet(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, dx: number, dy: number): boolean {
    const o1 = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    const o2 = (bx - ax) * (dy - ay) - (by - ay) * (dx - ax);
    const o3 = (dx - cx) * (ay - cy) - (dy - cy) * (ax - cx);
    const o4 = (dx - cx) * (by - cy) - (dy - cy) * (bx - cx);
    if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0))) return true;
    const eps = 1e-9;
    return (Math.abs(o1) < eps && onSegment(ax, ay, bx, by, cx, cy)) || (Math.abs(o2) < eps && onSegment(ax, ay, bx, by, dx, dy)) ||
        (Math.abs(o3) < eps && onSegment(cx, cy, dx, dy, ax, ay)) || (Math.abs(o4) < eps && onSegment(cx, cy, dx, dy, bx, by));
}

function onSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
    return px >= Math.min(ax, bx) - 1e-9 && px <= Math.max(ax, bx) + 1e-9 && py >= Math.min(ay, by) - 1e-9 && py <= Math.max(ay, by) + 1e-9;
}

function legMeetsLine(ax: number, ay: number, bx: number, by: number, line: Float64Array): boolean {
    for (let i = 0; i + 3 < line.length; i += 2) if (segmentsMeet(ax, ay, bx, by, line[i], line[i + 1], line[i + 2], line[i + 3])) return true;
    return false;
}

/**
 * The parameters t ∈ [0, 1] of segment AB lying in a plan's region (polygons, or within `d` of its
 * lines), as sorted disjoint intervals. Inside a polygon: cut at the ring crossings, midpoint test.
 * Near a line segment: the distance from A + t(B − A) to a segment is convex in t, so its sublevel
 * set is one interval, found by ternary search and bisection to 1e-9.
 */
function regionIntervals(p: PreparedPlan, ax: number, ay: number, bx: number, by: number, d: number): [number, number][] {
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
            const f = (t: number) => pointSegmentM(ax + t * (bx - ax), ay + t * (by - ay), l[i], l[i + 1], l[i + 2], l[i + 3]);
            let lo = 0, hi = 1;
            for (let k = 0; k < 100 && hi - lo > 1e-10; k++) {
                const m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
                if (f(m1) <= f(m2)) hi = m2; else lo = m1;
            }
            const tMin = (lo + hi) / 2;
            if (f(tMin) > d) continue;
            const edge = (inside: number, outside: number) => {
                if (f(outside) <= d) return outside;
                for (let k = 0; k < 60; k++) {
                    const m = (inside + outside) / 2;
                    if (f(m) <= d) inside = m; else outside = m;
                }
                return inside;
            };
            out.push([edge(tMin, 0), edge(tMin, 1)]);
        }
    }
    return unionIntervals(out);
}

/** Parameter along AB where it properly crosses CD, else null. */
function segmentParam(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, dx: number, dy: number): number | null {
    const rx = bx - ax, ry = by - ay, sx = dx - cx, sy = dy - cy;
    const den = rx * sy - ry * sx;
    if (den === 0) return null;
    const t = ((cx - ax) * sy - (cy - ay) * sx) / den;
    const u = ((cx - ax) * ry - (cy - ay) * rx) / den;
    return t > 0 && t < 1 && u >= 0 && u <= 1 ? t : null;
}

function unionIntervals(list: [number, number][]): [number, number][] {
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const out: [number, number][] = [];
    for (const [a, b] of list) {
        const last = out[out.length - 1];
        if (last && a <= last[1]) last[1] = Math.max(last[1], b);
        else out.push([a, b]);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// applying plans

/**
 * Applies the plans to a copy of the baseline network. O(E + P log P) for the copy and the snap
 * index when an edge is split; the work per plan is local (a spatial query around it).
 *
 * - demolish_wall (LineString): wall and fence pieces within {@link DEMOLITION_TOLERANCE_M} of the
 *   line stop being barriers. Every node within {@link WALL_LINK_REACH_M} of the line gets a
 *   two-way public link, as long as the geodesic distance, to the nearest point of a public edge
 *   (not its own) within {@link WALL_LINK_MAX_M} whose straight leg meets the wall line (i.e. lies
 *   across it) and crosses no remaining barrier; the edge is split there. Private ways with an end
 *   within reach become two-way and public (the wall that closed them is gone). A gated compound
 *   with a gate or internal node within reach is opened (开放小区): all its private ways become
 *   two-way and public, the public ends of its links become gates, and its residents are snapped
 *   again. Compounds whose ways are not mapped keep walking to their mapped gates: the engine has
 *   no compound outline to tell which side of the wall their buildings are on.
 * - demolish_illegal (Polygon): barriers inside the site or within the tolerance are removed; the
 *   walkable points of the site are the nodes inside it or within {@link CLEARED_REACH_M}, and the
 *   nearest public edge points (≤ {@link CLEARED_REACH_M}) of its outline sampled every
 *   {@link CLEARED_OUTLINE_SPACING_M}; every pair of them at most {@link CLEARED_LINK_MAX_M} apart
 *   whose straight line stays within the site (plus {@link CLEARED_REACH_M}) and crosses no
 *   remaining barrier gets a straight two-way public link. With `becomesOpenSpace` it is also an
 *   add_open_space.
 * - add_open_space (Polygon): see {@link openSpaceFacility}; the network is unchanged.
 *
 * Each plan is applied to the baseline independently (links never build on another plan's links),
 * so the result does not depend on the order of the plans; removals combine.
 */
export function applyPlans(baseline: EngineNetwork, plans: readonly ScenarioPlan[]): ScenarioNetwork {
    const prepared = plans.map((p) => preparePlan(baseline.snapIndex.projection, p));
    return applyPrepared(baseline, prepared, prepared.map(() => true));
}

function applyPrepared(baseline: EngineNetwork, prepared: readonly PreparedPlan[], include: readonly boolean[]): ScenarioNetwork {
    const g = baseline.graph;
    const projection = baseline.snapIndex.projection;
    const effects: PlanEffect[] = [];
    const active: number[] = [];
    prepared.forEach((p, i) => {
        if (!include[i]) return;
        active.push(i);
        effects.push({
            ref: p.plan.ref, kind: p.plan.kind, name: p.plan.name,
            linksAdded: 0, linkLengthM: 0, barrierRemovedM: 0, edgesOpened: 0, compoundsOpened: 0, openSpace: null,
        });
    });
    const effectOf = new Map(active.map((i, k) => [i, effects[k]]));
    const demolitions = active.filter((i) => prepared[i].plan.kind !== 'add_open_space');

    // 1. barriers
    const { barriers, barriersChanged, removed, changedBoxes } = removeBarriers(baseline, prepared, demolitions, effectOf);

    // 2. links and opened edges, each plan against the baseline
    const links: Link[] = [];
    const openedEdges = new Set<number>();
    const touched = new Set<number>();
    const gateLinks = new Map<number, Link[]>();
    for (const i of demolitions) {
        const p = prepared[i];
        const before = links.length;
        if (p.plan.kind === 'demolish_wall') {
            wallLinks(baseline, p, i, barriers, links, openedEdges, touched, gateLinks, effectOf.get(i)!);
        } else {
            clearedLinks(baseline, p, i, barriers, links);
        }
        const e = effectOf.get(i)!;
        e.linksAdded = links.length - before;
    }

    // 3. open spaces
    const addedFacilities: EngineFacility[] = [];
    for (const i of active) {
        const p = prepared[i];
        if (!p.openSpace) continue;
        const f = openSpaceFacility(p.plan, -(i + 1));
        addedFacilities.push(f);
        effectOf.get(i)!.openSpace = { facilityId: f.id, areaM2: f.areaM2 ?? 0, category: f.category, accessPoints: f.accessLng.length };
    }

    // 4. materialise
    const graphChanged = links.length > 0 || openedEdges.size > 0;
    if (!graphChanged) {
        const net: EngineNetwork = { ...baseline, barriers, facilities: [...baseline.facilities, ...addedFacilities] };
        const edgeBase = new Int32Array(g.edgeCount);
        const edgeBaseFromM = new Float64Array(g.edgeCount);
        const edgeBaseToM = Float64Array.from(g.edgeLengthM);
        for (let e = 0; e < g.edgeCount; e++) edgeBase[e] = e;
        return {
            net, baselineEdgeCount: g.edgeCount, linkStart: g.edgeCount, graphChanged, barriersChanged, edgeBase, edgeBaseFromM, edgeBaseToM,
            splitEdges: new Set(), openedEdges, touchedCompounds: touched, linkPlan: new Int32Array(0), addedFacilities,
            removedBarriers: removed, changedBoxes, effects,
        };
    }

    // split points per edge, merged within SPLIT_MERGE_M, ends snapped to their nodes
    const splitsByEdge = new Map<number, number[]>();
    const resolveEnd = (r: NodeRef): NodeRef => {
        if ('node' in r) return r;
        const L = g.edgeLengthM[r.edge];
        if (r.alongM <= SPLIT_MERGE_M) return { node: g.edgeFrom[r.edge] };
        if (r.alongM >= L - SPLIT_MERGE_M) return { node: g.edgeTo[r.edge] };
        return r;
    };
    for (const l of links) {
        l.a = resolveEnd(l.a);
        l.b = resolveEnd(l.b);
        for (const r of [l.a, l.b]) {
            if ('node' in r) continue;
            const list = splitsByEdge.get(r.edge);
            if (list) list.push(r.alongM); else splitsByEdge.set(r.edge, [r.alongM]);
        }
    }
    const splitNodes = new Map<number, { alongM: number; node: number }[]>();
    let nodeCount = g.nodeCount;
    const newNodeLng: number[] = [];
    const newNodeLat: number[] = [];
    const pieces: { edge: number; fromM: number; toM: number }[] = [];
    const splitEdges = [...splitsByEdge.keys()].sort((a, b) => a - b);
    for (const e of splitEdges) {
        const alongs = splitsByEdge.get(e)!.sort((a, b) => a - b);
        const merged: { alongM: number; node: number }[] = [];
        for (const a of alongs) {
            if (merged.length && a - merged[merged.length - 1].alongM <= SPLIT_MERGE_M) continue;
            merged.push({ alongM: a, node: nodeCount++ });
        }
        splitNodes.set(e, merged);
        const L = g.edgeLengthM[e];
        const start = g.edgeCoordOffset[e], end = g.edgeCoordOffset[e + 1];
        for (const s of merged) {
            const slice = lineSliceAtFractions(g.edgeCoords, start, end, L > 0 ? s.alongM / L : 0, L > 0 ? s.alongM / L : 0);
            newNodeLng.push(slice[0][0]);
            newNodeLat.push(slice[0][1]);
        }
        let fromM = 0;
        for (const s of merged) {
            pieces.push({ edge: e, fromM, toM: s.alongM });
            fromM = s.alongM;
        }
        pieces.push({ edge: e, fromM, toM: L });
    }
    const nodeOf = (r: NodeRef): number => {
        if ('node' in r) return r.node;
        let best = -1, bestD = Infinity;
        for (const s of splitNodes.get(r.edge)!) {
            const d = Math.abs(s.alongM - r.alongM);
            if (d < bestD) { bestD = d; best = s.node; }
        }
        return best;
    };
    // links between the same pair of nodes, or from a node to itself, add nothing
    const seenPair = new Set<string>();
    const finalLinks: { a: number; b: number; plan: number }[] = [];
    for (const l of links) {
        const a = nodeOf(l.a), b = nodeOf(l.b);
        if (a === b) continue;
        const key = a < b ? `${a},${b}` : `${b},${a}`;
        if (seenPair.has(key)) continue;
        seenPair.add(key);
        finalLinks.push({ a, b, plan: l.plan });
    }

    const nodeLng = new Float64Array(nodeCount);
    const nodeLat = new Float64Array(nodeCount);
    nodeLng.set(g.nodeLng);
    nodeLat.set(g.nodeLat);
    nodeLng.set(newNodeLng, g.nodeCount);
    nodeLat.set(newNodeLat, g.nodeCount);

    const extraPieces = pieces.filter((p) => p.fromM > 0);
    const linkStart = g.edgeCount + extraPieces.length;
    const edgeCount = linkStart + finalLinks.length;
    const edgeFrom = new Int32Array(edgeCount);
    const edgeTo = new Int32Array(edgeCount);
    const edgeLengthM = new Float64Array(edgeCount);
    const edgeDir = new Uint8Array(edgeCount);
    const edgeIsPrivate = new Uint8Array(edgeCount);
    const edgeDbId = new Float64Array(edgeCount).fill(-1);
    const edgeBase = new Int32Array(edgeCount).fill(-1);
    const edgeBaseFromM = new Float64Array(edgeCount);
    const edgeBaseToM = new Float64Array(edgeCount);
    edgeFrom.set(g.edgeFrom);
    edgeTo.set(g.edgeTo);
    edgeLengthM.set(g.edgeLengthM);
    edgeDir.set(g.edgeDir);
    edgeIsPrivate.set(baseline.edgeIsPrivate);
    edgeDbId.set(baseline.edgeDbId);
    for (let e = 0; e < g.edgeCount; e++) {
        edgeBase[e] = e;
        edgeBaseToM[e] = g.edgeLengthM[e];
    }
    for (const e of openedEdges) {
        edgeDir[e] = DIR_BOTH;
        edgeIsPrivate[e] = 0;
    }

    // coordinates: untouched edges copied, split edges sliced, links straight
    const pieceCoords = new Map<number, [number, number][]>();
    const pieceList: { id: number; edge: number; fromM: number; toM: number }[] = [];
    let nextPiece = g.edgeCount;
    for (const p of pieces) pieceList.push({ id: p.fromM > 0 ? nextPiece++ : p.edge, ...p });
    for (const p of pieceList) {
        const e = p.edge;
        const L = g.edgeLengthM[e];
        const nodes = splitNodes.get(e)!;
        const k = nodes.findIndex((s) => s.alongM === p.fromM);
        const from = p.fromM === 0 ? g.edgeFrom[e] : nodes[k].node;
        const toIdx = nodes.findIndex((s) => s.alongM === p.toM);
        const to = toIdx >= 0 ? nodes[toIdx].node : g.edgeTo[e];
        edgeFrom[p.id] = from;
        edgeTo[p.id] = to;
        edgeLengthM[p.id] = p.toM - p.fromM;
        edgeDir[p.id] = edgeDir[e];
        edgeIsPrivate[p.id] = edgeIsPrivate[e];
        edgeDbId[p.id] = baseline.edgeDbId[e];
        edgeBase[p.id] = e;
        edgeBaseFromM[p.id] = p.fromM;
        edgeBaseToM[p.id] = p.toM;
        const slice = lineSliceAtFractions(g.edgeCoords, g.edgeCoordOffset[e], g.edgeCoordOffset[e + 1], L > 0 ? p.fromM / L : 0, L > 0 ? p.toM / L : 1);
        // the pieces meet exactly at their shared node
        slice[0] = [nodeLng[from], nodeLat[from]];
        slice[slice.length - 1] = [nodeLng[to], nodeLat[to]];
        pieceCoords.set(p.id, slice);
    }
    const linkPlan = new Int32Array(finalLinks.length);
    finalLinks.forEach((l, k) => {
        const id = linkStart + k;
        edgeFrom[id] = l.a;
        edgeTo[id] = l.b;
        edgeLengthM[id] = geodesicM(nodeLng[l.a], nodeLat[l.a], nodeLng[l.b], nodeLat[l.b]);
        edgeDir[id] = DIR_BOTH;
        edgeIsPrivate[id] = 0;
        linkPlan[k] = l.plan;
        const eff = effectOf.get(l.plan)!;
        eff.linkLengthM += edgeLengthM[id];
    });
    for (const e of effects) e.linksAdded = 0;
    for (const l of finalLinks) effectOf.get(l.plan)!.linksAdded++;

    const edgeCoordOffset = new Uint32Array(edgeCount + 1);
    let points = 0;
    for (let e = 0; e < edgeCount; e++) {
        edgeCoordOffset[e] = points;
        const piece = pieceCoords.get(e);
        points += piece ? piece.length : e < g.edgeCount ? g.edgeCoordOffset[e + 1] - g.edgeCoordOffset[e] : 2;
    }
    edgeCoordOffset[edgeCount] = points;
    const edgeCoords = new Float64Array(points * 2);
    for (let e = 0; e < edgeCount; e++) {
        let o = edgeCoordOffset[e] * 2;
        const piece = pieceCoords.get(e);
        if (piece) {
            for (const [lng, lat] of piece) { edgeCoords[o++] = lng; edgeCoords[o++] = lat; }
        } else if (e < g.edgeCount) {
            edgeCoords.set(g.edgeCoords.subarray(g.edgeCoordOffset[e] * 2, g.edgeCoordOffset[e + 1] * 2), o);
        } else {
            const a = edgeFrom[e], b = edgeTo[e];
            edgeCoords[o] = nodeLng[a]; edgeCoords[o + 1] = nodeLat[a]; edgeCoords[o + 2] = nodeLng[b]; edgeCoords[o + 3] = nodeLat[b];
        }
    }

    const graph = buildGraph({ nodeCount, nodeLng, nodeLat, edgeFrom, edgeTo, edgeLengthM, edgeDir, edgeCoords, edgeCoordOffset });
    const splitSet = new Set(splitEdges);
    const snapIndex = splitSet.size === 0 ? baseline.snapIndex : buildSnapIndex(snappableView(graph, linkStart), projection);
    for (const e of splitEdges) changedBoxes.push(edgeBox(g, e));

    // compounds: pieces of internal edges stay internal; opened compounds gain their links' public ends as gates
    const piecesOf = new Map<number, number[]>();
    for (const p of pieceList) if (p.id !== p.edge) (piecesOf.get(p.edge) ?? piecesOf.set(p.edge, []).get(p.edge)!).push(p.id);
    const compounds: EngineCompound[] = baseline.compounds.map((c, ci) => {
        const extraGates = (gateLinks.get(ci) ?? []).map((l) => nodeOf(l.b));
        let extraEdges: number[] = [];
        for (const e of c.internalEdges) { const ps = piecesOf.get(e); if (ps) extraEdges = extraEdges.concat(ps); }
        if (!extraGates.length && !extraEdges.length) return c;
        touched.add(ci);
        return {
            id: c.id,
            gateNodes: [...new Set([...c.gateNodes, ...extraGates])],
            internalEdges: extraEdges.length ? new Set([...c.internalEdges, ...extraEdges]) : c.internalEdges,
        };
    });

    const net: EngineNetwork = {
        graph, snapIndex, barriers, edgeDbId, edgeIsPrivate, compounds,
        facilities: [...baseline.facilities, ...addedFacilities],
    };
    return {
        net, baselineEdgeCount: g.edgeCount, linkStart, graphChanged, barriersChanged, edgeBase, edgeBaseFromM, edgeBaseToM,
        splitEdges: splitSet, openedEdges, touchedCompounds: touched, linkPlan, addedFacilities, removedBarriers: removed, changedBoxes, effects,
    };
}

/** The graph without its links, for the snap index: links are walked, never snapped onto. */
function snappableView(graph: WalkGraph, linkStart: number): WalkGraph {
    const end = graph.edgeCoordOffset[linkStart];
    return { ...graph, edgeCount: linkStart, edgeCoordOffset: graph.edgeCoordOffset.subarray(0, linkStart + 1), edgeCoords: graph.edgeCoords.subarray(0, end * 2) };
}

function edgeBox(g: WalkGraph, e: number): [number, number, number, number] {
    let minLng = Infinity, minLat = Infinity, maxLng = -Infinity, maxLat = -Infinity;
    for (let i = g.edgeCoordOffset[e]; i < g.edgeCoordOffset[e + 1]; i++) {
        minLng = Math.min(minLng, g.edgeCoords[2 * i]); maxLng = Math.max(maxLng, g.edgeCoords[2 * i]);
        minLat = Math.min(minLat, g.edgeCoords[2 * i + 1]); maxLat = Math.max(maxLat, g.edgeCoords[2 * i + 1]);
    }
    return [minLng, minLat, maxLng, maxLat];
}

function removeBarriers(baseline: EngineNetwork, prepared: readonly PreparedPlan[], demolitions: readonly number[], effectOf: Map<number, PlanEffect>) {
    const removed: [number, number][][] = [];
    const changedBoxes: [number, number, number, number][] = [];
    const b = baseline.barriers;
    if (!b || !b.tree || demolitions.length === 0) return { barriers: b, barriersChanged: false, removed, changedBoxes };
    const { projection } = baseline.snapIndex;
    const tol = DEMOLITION_TOLERANCE_M;
    const candidates = new Set<number>();
    for (const i of demolitions) {
        const [minX, minY, maxX, maxY] = prepared[i].bbox;
        const hits = b.tree.search(projection.toLng(minX - tol), projection.toLat(minY - tol), projection.toLng(maxX + tol), projection.toLat(maxY + tol));
        for (const s of hits) candidates.add(s);
    }
    if (candidates.size === 0) return { barriers: b, barriersChanged: false, removed, changedBoxes };
    const coords: number[] = [];
    const offsets: number[] = [0];
    const keep = (lng0: number, lat0: number, lng1: number, lat1: number) => {
        coords.push(lng0, lat0, lng1, lat1);
        offsets.push(coords.length / 2);
    };
    let changed = false;
    for (let s = 0; s < b.segmentStart.length; s++) {
        const i = b.segmentStart[s];
        const lng0 = b.coords[2 * i], lat0 = b.coords[2 * i + 1], lng1 = b.coords[2 * i + 2], lat1 = b.coords[2 * i + 3];
        if (!candidates.has(s)) { keep(lng0, lat0, lng1, lat1); continue; }
        const ax = projection.toX(lng0), ay = projection.toY(lat0), bx = projection.toX(lng1), by = projection.toY(lat1);
        const all: [number, number][] = [];
        for (const k of demolitions) {
            const iv = regionIntervals(prepared[k], ax, ay, bx, by, tol);
            const lenM = geodesicM(lng0, lat0, lng1, lat1);
            for (const [t0, t1] of iv) effectOf.get(k)!.barrierRemovedM += (t1 - t0) * lenM;
            all.push(...iv);
        }
        const gone = unionIntervals(all).filter(([t0, t1]) => t1 > t0);
        if (!gone.length) { keep(lng0, lat0, lng1, lat1); continue; }
        changed = true;
        const at = (t: number): [number, number] => [lng0 + t * (lng1 - lng0), lat0 + t * (lat1 - lat0)];
        let t = 0;
        for (const [t0, t1] of gone) {
            if (t0 > t) keep(...at(t), ...at(t0));
            const p0 = at(t0), p1 = at(t1);
            removed.push([p0, p1]);
            changedBoxes.push([Math.min(p0[0], p1[0]), Math.min(p0[1], p1[1]), Math.max(p0[0], p1[0]), Math.max(p0[1], p1[1])]);
            t = t1;
        }
        if (t < 1) keep(...at(t), ...at(1));
    }
    if (!changed) return { barriers: b, barriersChanged: false, removed, changedBoxes };
    const barriers: BarrierIndex | undefined = offsets.length > 1 ? buildBarrierIndex(Float64Array.from(coords), Uint32Array.from(offsets)) : undefined;
    return { barriers, barriersChanged: true, removed, changedBoxes };
}

/** Baseline edges with a segment whose box is within `pad` metres of the local-metre box, ascending. */
function edgesNear(net: EngineNetwork, bbox: readonly number[], pad: number): number[] {
    const tree = net.snapIndex.tree;
    if (!tree) return [];
    const edges = new Set<number>();
    for (const s of tree.search(bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad)) edges.add(net.snapIndex.segmentEdge[s]);
    return [...edges].sort((a, b) => a - b);
}

/** The end nodes of {@link edgesNear}, ascending. */
function nodesNear(net: EngineNetwork, bbox: readonly number[], pad: number): number[] {
    const g = net.graph;
    const nodes = new Set<number>();
    for (const e of edgesNear(net, bbox, pad)) {
        nodes.add(g.edgeFrom[e]);
        nodes.add(g.edgeTo[e]);
    }
    return [...nodes].sort((a, b) => a - b);
}

/** The nearest point of an edge segment to (x, y) in local metres, as the snap index measures it. */
function nearestOnSegment(index: SnapIndex, segment: number, x: number, y: number) {
    const g = index.graph;
    const { projection } = index;
    const i = index.segmentStart[segment];
    const ax = projection.toX(g.edgeCoords[2 * i]), ay = projection.toY(g.edgeCoords[2 * i + 1]);
    const bx = projection.toX(g.edgeCoords[2 * i + 2]), by = projection.toY(g.edgeCoords[2 * i + 3]);
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    let t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const px = ax + t * dx, py = ay + t * dy;
    const e = index.segmentEdge[segment];
    const totalM = index.pointCumM[g.edgeCoordOffset[e + 1] - 1];
    const havM = index.pointCumM[i] + t * (index.pointCumM[i + 1] - index.pointCumM[i]);
    const alongM = totalM > 0 ? Math.min(g.edgeLengthM[e], g.edgeLengthM[e] * (havM / totalM)) : 0;
    return { edge: e, alongM, x: px, y: py, distM: Math.hypot(px - x, py - y) };
}

function wallLinks(
    net: EngineNetwork, p: PreparedPlan, planIndex: number, barriers: BarrierIndex | undefined, links: Link[],
    openedEdges: Set<number>, touched: Set<number>, gateLinks: Map<number, Link[]>, effect: PlanEffect,
): void {
    const g = net.graph;
    const index = net.snapIndex;
    const { projection } = index;
    const wall = p.lines[0];
    const near = nodesNear(net, p.bbox, WALL_LINK_REACH_M).filter((n) => pointLineM(projection.toX(g.nodeLng[n]), projection.toY(g.nodeLat[n]), wall) <= WALL_LINK_REACH_M);
    const nearSet = new Set(near);

    // private ways with an end within reach open: the wall that closed them is gone (edges found
    // through their segments, since a DIR_NONE way has no arcs)
    for (const e of edgesNear(net, p.bbox, WALL_LINK_REACH_M)) {
        if (net.edgeIsPrivate[e] && (nearSet.has(g.edgeFrom[e]) || nearSet.has(g.edgeTo[e])) && !openedEdges.has(e)) {
            openedEdges.add(e);
            effect.edgesOpened++;
        }
    }
    // so do the gated compounds with a gate or an internal node within reach: with a second way in,
    // their ways are no longer the residents' alone nor the gate the only way out (开放小区), so
    // all their private ways become two-way and public — else the one-way gate edges that keep
    // outsiders from cutting through would strand the residents living along them
    const compoundOfNode = new Map<number, number[]>();
    net.compounds.forEach((c, ci) => {
        let opened = c.gateNodes.some((n) => nearSet.has(n));
        for (const e of c.internalEdges) {
            for (const n of [g.edgeFrom[e], g.edgeTo[e]]) {
                if (!nearSet.has(n)) continue;
                opened = true;
                const list = compoundOfNode.get(n);
                if (!list) compoundOfNode.set(n, [ci]); else if (!list.includes(ci)) list.push(ci);
            }
        }
        if (!opened) return;
        touched.add(ci);
        effect.compoundsOpened++;
        for (const e of c.internalEdges) {
            if (net.edgeIsPrivate[e] && !openedEdges.has(e)) {
                openedEdges.add(e);
                effect.edgesOpened++;
            }
        }
    });

    for (const n of near) {
        const x = projection.toX(g.nodeLng[n]), y = projection.toY(g.nodeLat[n]);
        const tree = index.tree;
        if (!tree) break;
        const cands = tree.neighbors(x, y, Infinity, WALL_LINK_MAX_M)
            .map((s) => ({ s, ...nearestOnSegment(index, s, x, y) }))
            .filter((c) => c.distM <= WALL_LINK_MAX_M && net.edgeIsPrivate[c.edge] === 0 && g.edgeFrom[c.edge] !== n && g.edgeTo[c.edge] !== n)
            .sort((a, b) => a.distM - b.distM || a.s - b.s);
        for (const c of cands) {
            if (!legMeetsLine(x, y, c.x, c.y, wall)) continue;
            const lng = projection.toLng(c.x), lat = projection.toLat(c.y);
            if (barriers && crossesBarrier(barriers, g.nodeLng[n], g.nodeLat[n], lng, lat)) continue;
            const link: Link = { a: { node: n }, b: { edge: c.edge, alongM: c.alongM }, plan: planIndex };
            links.push(link);
            for (const ci of compoundOfNode.get(n) ?? []) (gateLinks.get(ci) ?? gateLinks.set(ci, []).get(ci)!).push(link);
            break;
        }
    }
}

function clearedLinks(net: EngineNetwork, p: PreparedPlan, planIndex: number, barriers: BarrierIndex | undefined, links: Link[]): void {
    const g = net.graph;
    const { projection } = net.snapIndex;
    const reach = CLEARED_REACH_M;
    interface Pt { ref: NodeRef; x: number; y: number; lng: number; lat: number; edge: number }
    const pts: Pt[] = [];
    for (const n of nodesNear(net, p.bbox, reach)) {
        const x = projection.toX(g.nodeLng[n]), y = projection.toY(g.nodeLat[n]);
        if (inRegion(p, x, y, reach)) pts.push({ ref: { node: n }, x, y, lng: g.nodeLng[n], lat: g.nodeLat[n], edge: -1 });
    }
    const publicEdge = (e: number) => net.edgeIsPrivate[e] === 0;
    for (const rings of p.polygons) {
        const outer = rings[0];
        for (const [x, y] of sampleLocalLine(outer, CLEARED_OUTLINE_SPACING_M)) {
            const lng = projection.toLng(x), lat = projection.toLat(y);
            const s = snapPoint(net.snapIndex, lng, lat, { maxSnapM: reach, edgeFilter: publicEdge, barriers });
            if (s.unreachable) continue;
            pts.push({ ref: { edge: s.edge, alongM: s.alongM }, x: projection.toX(s.lng), y: projection.toY(s.lat), lng: s.lng, lat: s.lat, edge: s.edge });
        }
    }
    if (pts.length > MAX_CLEARED_POINTS) {
        throw new RangeError(`plan ${p.plan.ref}: ${pts.length} walkable points around the cleared site (at most ${MAX_CLEARED_POINTS}): is the polygon a building site?`);
    }
    const joined = (a: number, b: number) => {
        for (let k = g.arcOffset[a]; k < g.arcOffset[a + 1]; k++) if (g.arcTo[k] === b) return true;
        for (let k = g.arcOffset[b]; k < g.arcOffset[b + 1]; k++) if (g.arcTo[k] === a) return true;
        return false;
    };
    for (let i = 0; i < pts.length; i++) {
        for (let j = i + 1; j < pts.length; j++) {
            const a = pts[i], b = pts[j];
            const lengthM = geodesicM(a.lng, a.lat, b.lng, b.lat);
            if (lengthM > CLEARED_LINK_MAX_M || lengthM <= SPLIT_MERGE_M) continue;
            if (a.edge >= 0 && a.edge === b.edge) continue;
            if ('node' in a.ref && 'node' in b.ref && joined(a.ref.node, b.ref.node)) continue;
            if (!staysInRegion(p, a.x, a.y, b.x, b.y, reach + 1)) continue;
            if (barriers && crossesBarrier(barriers, a.lng, a.lat, b.lng, b.lat)) continue;
            links.push({ a: a.ref, b: b.ref, plan: planIndex });
        }
    }
}

/** Whether the straight line stays within the region, tested every 5 m. */
function staysInRegion(p: PreparedPlan, ax: number, ay: number, bx: number, by: number, d: number): boolean {
    const n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / 5));
    for (let k = 1; k < n; k++) {
        const t = k / n;
        if (!inRegion(p, ax + t * (bx - ax), ay + t * (by - ay), d)) return false;
    }
    return true;
}

/** Points every `spacingM` metres along a local-metre polyline, from its first point (its last only when on the spacing). */
function sampleLocalLine(line: Float64Array, spacingM: number): [number, number][] {
    const out: [number, number][] = [];
    let next = 0, walked = 0;
    for (let i = 0; i + 3 < line.length; i += 2) {
        const ax = line[i], ay = line[i + 1], bx = line[i + 2], by = line[i + 3];
        const len = Math.hypot(bx - ax, by - ay);
        for (; next < walked + len; next += spacingM) {
            const t = (next - walked) / len;
            out.push([ax + t * (bx - ax), ay + t * (by - ay)]);
        }
        walked += len;
    }
    return out;
}

/**
 * Points every `spacingM` metres (geodesic) along `[lng, lat]` positions from the first one; the
 * last position only when it falls on the spacing (a closed ring's end is its start).
 */
function sampleLngLatLine(positions: readonly number[][], spacingM: number): [number, number][] {
    const out: [number, number][] = [];
    let next = 0, walked = 0;
    for (let i = 0; i + 1 < positions.length; i++) {
        const [lng0, lat0] = positions[i], [lng1, lat1] = positions[i + 1];
        const segM = geodesicM(lng0, lat0, lng1, lat1);
        for (; next < walked + segM; next += spacingM) {
            const t = (next - walked) / segM;
            out.push([lng0 + t * (lng1 - lng0), lat0 + t * (lat1 - lat0)]);
        }
        walked += segM;
    }
    return out;
}

/**
 * A new open space as a facility: geodesic area by @turf/turf `area`; category `park` from
 * {@link PARK_MIN_AREA_M2}, else `green_space`; access points on the outer rings every
 * {@link OPEN_SPACE_ACCESS_SPACING_M} (snapped to public edges like every facility's); shape points
 * every {@link OPEN_SPACE_SHAPE_SPACING_M} plus the vertices.
 */
export function openSpaceFacility(plan: ScenarioPlan, facilityId: number): EngineFacility {
    const g = plan.geometry;
    if (g.type === 'LineString') throw new RangeError(`plan ${plan.ref}: an open space needs a Polygon or MultiPolygon`);
    const [lng0, lat0] = polygonsOf(g)[0]?.[0]?.[0] ?? [0, 0];
    preparePlan(makeLocalProjection(lng0, lat0), { ...plan, kind: 'add_open_space' });
    const areaM2 = turfArea(g);
    const access: [number, number][] = [];
    const shape: [number, number][] = [];
    for (const rings of polygonsOf(g)) {
        access.push(...sampleLngLatLine(rings[0], OPEN_SPACE_ACCESS_SPACING_M));
        for (const v of rings[0].slice(0, -1)) shape.push([v[0], v[1]]);
        shape.push(...sampleLngLatLine(rings[0], OPEN_SPACE_SHAPE_SPACING_M));
    }
    const rep = pointOnFeature(g).geometry.coordinates;
    return {
        id: facilityId,
        category: areaM2 >= PARK_MIN_AREA_M2 ? 'park' : 'green_space',
        name: plan.name,
        areaM2,
        isSample: false,
        lng: rep[0],
        lat: rep[1],
        accessLng: Float64Array.from(access, (p) => p[0]),
        accessLat: Float64Array.from(access, (p) => p[1]),
        shapeLng: Float64Array.from(shape, (p) => p[0]),
        shapeLat: Float64Array.from(shape, (p) => p[1]),
    };
}

// ---------------------------------------------------------------------------------------------
// distance fields of a scenario

/** The fields coverage of `ruleSets` needs, with the bound the baseline used for the same filter. */
function neededFilters(ruleSets: readonly RuleSet[], baselineFields: ReadonlyMap<string, DistanceField>, withCategories: boolean) {
    const tierKeys = new Set<string>();
    for (const rs of ruleSets) for (const r of rs.rules) for (const t of r.tiers) tierKeys.add(sourceFilterKey({ categories: t.categories, minAreaM2: t.minAreaM2 }));
    return fieldFilters(ruleSets)
        .map(({ filter, maxDistM }) => {
            const key = sourceFilterKey(filter);
            return { key, filter, maxDistM: baselineFields.get(key)?.result.maxDistM ?? maxDistM };
        })
        .filter(({ key }) => tierKeys.has(key) || withCategories);
}

/** The baseline fields for `filters`: the given ones, plus any missing computed on the baseline network. */
function completeBaseline(
    baselineNet: EngineNetwork, baselineFields: ReadonlyMap<string, DistanceField>,
    filters: readonly { key: string; filter: SourceFilter; maxDistM: number }[], baseSearch: () => Search,
): Map<string, DistanceField> {
    const out = new Map(baselineFields);
    const basePublic = (e: number) => baselineNet.edgeIsPrivate[e] === 0;
    for (const f of filters) {
        if (!out.has(f.key)) {
            out.set(f.key, computeDistanceField(baselineNet.graph, baselineNet.snapIndex, baseSearch(), baselineNet.facilities, f.filter, f.maxDistM, basePublic));
        }
    }
    return out;
}

/**
 * Fields of a scenario. When the graph changed every field is recomputed on it. Otherwise a field
 * whose filter no new facility matches is the baseline's own (shared, read-only), and one that a
 * new facility matches is the baseline field merged with a search from the new facilities only:
 * adding sources can only lower distances, and a multi-source distance is the minimum over its
 * sources, so min(baseline, new) within the same bound is exact (ties keep the baseline facility,
 * as a full search would: its sourceIds come first).
 */
function scenarioFields(
    baselineNet: EngineNetwork, baselineFields: ReadonlyMap<string, DistanceField>, scenario: ScenarioNetwork,
    filters: readonly { key: string; filter: SourceFilter; maxDistM: number }[], baseSearch: () => Search,
): Map<string, DistanceField> {
    const out = new Map<string, DistanceField>();
    const net = scenario.net;
    const publicEdge = (e: number) => net.edgeIsPrivate[e] === 0;
    if (scenario.graphChanged) {
        const search = createSearch(net.graph);
        for (const f of filters) out.set(f.key, computeDistanceField(net.graph, net.snapIndex, search, net.facilities, f.filter, f.maxDistM, publicEdge));
        return out;
    }
    const basePublic = (e: number) => baselineNet.edgeIsPrivate[e] === 0;
    for (const f of filters) {
        const base = baselineFields.get(f.key);
        if (!base) throw new RangeError(`no baseline field ${f.key}`);
        const added = scenario.addedFacilities.filter((fac) => matchesFilter(f.filter, fac));
        if (!added.length) { out.set(f.key, base); continue; }
        const extra = computeDistanceField(baselineNet.graph, baselineNet.snapIndex, baseSearch(), added, f.filter, f.maxDistM, basePublic);
        out.set(f.key, mergeFields(base, extra, baselineNet.snapIndex.projection));
    }
    return out;
}

/** min(base, extra) of two fields over the same graph and bound; extra's sourceIds follow base's. O(V + sources). */
export function mergeFields(base: DistanceField, extra: DistanceField, projection: LocalProjection): DistanceField {
    const b = base.result, x = extra.result;
    const offset = base.facilities.length;
    const dist = b.dist.slice(), source = b.source.slice(), predArc = b.predArc.slice();
    const reachedList: number[] = Array.from(b.reached);
    for (const v of x.reached) {
        const d = x.dist[v];
        if (d < dist[v]) {
            if (dist[v] === Infinity) reachedList.push(v);
            dist[v] = d; source[v] = x.source[v] + offset; predArc[v] = x.predArc[v];
        }
    }
    const edgeOffset = b.edgeSources.length;
    const edgeSources: EdgeSource[] = [...b.edgeSources, ...x.edgeSources.map((s) => ({ snap: s.snap, sourceId: s.sourceId + offset }))];
    const seeds: Seed[] = [...b.seeds, ...x.seeds.map((s) => ({ ...s, sourceId: s.sourceId + offset, edgeSource: s.edgeSource === undefined ? undefined : s.edgeSource + edgeOffset }))];
    const byEdge = new Map<number, number[]>();
    edgeSources.forEach((s, i) => {
        const list = byEdge.get(s.snap.edge);
        if (list) list.push(i); else byEdge.set(s.snap.edge, [i]);
    });
    // spread first, so that whatever else a search result records is carried from the baseline's
    const result: SearchResult = { ...b, dist, source, predArc, maxDistM: b.maxDistM, reached: Int32Array.from(reachedList), seeds, edgeSources, edgeSourcesByEdge: byEdge };
    const facilities = [...base.facilities, ...extra.facilities];
    return {
        key: base.key, filter: base.filter, facilities, result,
        unsnappedAccessPoints: base.unsnappedAccessPoints + extra.unsnappedAccessPoints,
        ...shapeIndex(facilities, projection),
        ...buildPolygonIndex(facilities),
    };
}

function shapeIndex(facilities: readonly EngineFacility[], projection: LocalProjection) {
    let n = 0;
    for (const f of facilities) n += f.shapeLng.length;
    const shapeFacility = new Int32Array(n), shapeLng = new Float64Array(n), shapeLat = new Float64Array(n);
    if (n === 0) return { shapeTree: null, shapeFacility, shapeLng, shapeLat };
    const tree = new Flatbush(n);
    let k = 0;
    facilities.forEach((f, i) => {
        for (let j = 0; j < f.shapeLng.length; j++, k++) {
            shapeFacility[k] = i; shapeLng[k] = f.shapeLng[j]; shapeLat[k] = f.shapeLat[j];
            const x = projection.toX(f.shapeLng[j]), y = projection.toY(f.shapeLat[j]);
            tree.add(x, y, x, y);
        }
    });
    tree.finish();
    return { shapeTree: tree, shapeFacility, shapeLng, shapeLat };
}

/**
 * Origin snaps in a scenario: the baseline snap where nothing near it changed, else snapped again
 * with {@link snapOrigin}. Snapped again: residents of touched compounds, origins whose snapped
 * edge was split, and origins within the snap limit of a split edge or removed barrier piece
 * (their nearest unblocked edge may differ). Links are never snapped onto, so elsewhere the
 * snap is what a fresh snap would give. O(origins × changed boxes).
 */
function scenarioSnaps(scenario: ScenarioNetwork, origins: readonly EngineOrigin[], originSnaps: readonly SnapResult[]): SnapResult[] {
    const net = scenario.net;
    if (!scenario.graphChanged && !scenario.barriersChanged) return originSnaps as SnapResult[];
    const projection = net.snapIndex.projection;
    const padLat = (DEFAULT_MAX_SNAP_M + 1) / projection.metresPerDegLat;
    const padLng = (DEFAULT_MAX_SNAP_M + 1) / projection.metresPerDegLng;
    return origins.map((o, i) => {
        const s = originSnaps[i];
        let again = (o.compound >= 0 && scenario.touchedCompounds.has(o.compound)) || (!s.unreachable && scenario.splitEdges.has(s.edge));
        for (const [minLng, minLat, maxLng, maxLat] of scenario.changedBoxes) {
            if (again) break;
            again = o.lng >= minLng - padLng && o.lng <= maxLng + padLng && o.lat >= minLat - padLat && o.lat <= maxLat + padLat;
        }
        if (!again) return s;
        const r = snapOrigin(net, o.lng, o.lat, o.compound);
        return r.unreachable ? r : { ...r };
    });
}

/**
 * Covered population per rule (city total), counted as evaluateCoverage counts it (a resident is
 * covered when some tier's field reaches them within its distance), summed in origin order.
 * Skips straight-line distances, so it is the cheap count behind marginal gains and suggestions.
 * O(origins × tiers).
 */
export function coveredTotals(
    graph: WalkGraph, fields: ReadonlyMap<string, DistanceField>, rules: readonly Rule[], origins: readonly EngineOrigin[], snaps: readonly SnapResult[],
): number[] {
    return rules.map((rule) => {
        const tierFields = rule.tiers.map((t) => fields.get(sourceFilterKey({ categories: t.categories, minAreaM2: t.minAreaM2 }))!);
        let covered = 0;
        for (let i = 0; i < origins.length; i++) {
            if (originCovered(graph, rule, tierFields, snaps[i], origins[i])) covered += origins[i].population;
        }
        return covered;
    });
}

function originCovered(graph: WalkGraph, rule: Rule, tierFields: readonly DistanceField[], snap: SnapResult, origin: EngineOrigin): boolean {
    // Inside a park or green space: 0 m, as evaluateCoverage counts it.
    for (const f of tierFields) if (containingFacility(f, origin.lng, origin.lat) >= 0) return true;
    if (snap.unreachable) return false;
    for (let t = 0; t < rule.tiers.length; t++) {
        const r = reachPoint(graph, tierFields[t].result, snap);
        if (r && r.distM <= rule.tiers[t].maxDistanceM) return true;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// evaluation

export interface AreaImpact {
    level: 'community' | 'residential_area';
    key: string;
    name: string | null;
    population: number;
    coveredBefore: number;
    coveredAfter: number;
    shareBefore: number | null;
    shareAfter: number | null;
    passesBefore: boolean;
    passesAfter: boolean;
    flip: 'fail_to_pass' | 'pass_to_fail' | null;
}

export interface RuleImpact {
    ruleSetId: string;
    ruleId: string;
    targetShare: number;
    population: number;
    coveredBefore: number;
    coveredAfter: number;
    /** population covered after and not before */
    newlyCovered: number;
    /** population covered before and not after (a re-snapped origin whose nearest street changed) */
    newlyUncovered: number;
    /** areas whose covered population or pass/fail changed */
    areas: AreaImpact[];
    flips: Record<'community' | 'residential_area', { failToPass: number; passToFail: number }>;
    /** per plan: covered(all plans) − covered(all but this one); null when not computed */
    marginal: { ref: string; gain: number }[] | null;
}

export interface ChangedEdge {
    /** scenario edge id */
    edge: number;
    /** database id of the street it is (part of), −1 for links */
    dbId: number;
    isLink: boolean;
    /** per category whose midpoint distance fell: before (null: new edge or beyond the bound) and after, metres */
    distances: Partial<Record<CategoryId, { before: number | null; after: number }>>;
}

export interface ScenarioEvaluation {
    scenario: ScenarioNetwork;
    fields: Map<string, DistanceField>;
    originSnaps: SnapResult[];
    before: RuleCoverage[];
    after: RuleCoverage[];
    rules: RuleImpact[];
    /** null unless asked for */
    changedEdges: ChangedEdge[] | null;
}

export interface EvaluateOptions {
    /** evaluateCoverage of the baseline for the same rule sets (cached by the caller) */
    baselineCoverage?: RuleCoverage[];
    /** also per-category fields and the edges whose distance fell (default false) */
    includeChangedEdges?: boolean;
    /** per-plan marginal gains (default true; one extra scenario per plan when there are two or more) */
    marginal?: boolean;
    /** a search over the baseline graph to reuse (used synchronously) */
    baselineSearch?: Search;
}

/** Edges whose distance fell by less than this are not reported as changed (float noise). */
const CHANGED_EDGE_MIN_M = 0.01;

/**
 * The effect of a set of 两拆一增 plans on coverage: applies them ({@link applyPlans}), recomputes
 * only the fields that can change (all of them when the network changed; else only those whose
 * filter a new open space matches, by merging a search from the new facilities into the baseline
 * field — exact, see {@link scenarioFields}), snaps again only the origins near a change, and
 * compares evaluateCoverage before and after per rule, community and residential area. Marginal
 * gain of a plan = covered(all) − covered(all but that plan), from {@link coveredTotals}. The
 * baseline network and fields are only read. Cost: one scenario (plus one per plan for marginal
 * gains), each O(changed fields × (V + E) log V + origins × tiers).
 */
export function evaluateScenario(
    baselineNet: EngineNetwork,
    baselineFields: ReadonlyMap<string, DistanceField>,
    ruleSets: readonly RuleSet[],
    origins: readonly EngineOrigin[],
    originSnaps: readonly SnapResult[],
    plans: readonly ScenarioPlan[],
    options: EvaluateOptions = {},
): ScenarioEvaluation {
    const withEdges = options.includeChangedEdges ?? false;
    let search = options.baselineSearch;
    const baseSearch = () => (search ??= createSearch(baselineNet.graph));
    const prepared = plans.map((p) => preparePlan(baselineNet.snapIndex.projection, p));
    const all = prepared.map(() => true);
    const scenario = applyPrepared(baselineNet, prepared, all);
    const filters = neededFilters(ruleSets, baselineFields, withEdges);
    const baseFields = completeBaseline(baselineNet, baselineFields, filters, baseSearch);
    const fields = scenarioFields(baselineNet, baseFields, scenario, filters, baseSearch);
    const snaps = scenarioSnaps(scenario, origins, originSnaps);

    const before = options.baselineCoverage ?? evaluateCoverage(baselineNet, baseFields, ruleSets, origins, originSnaps);
    const after = evaluateAfter(scenario, fields, ruleSets, origins, snaps, before);

    const rules: RuleImpact[] = [];
    for (const rs of ruleSets) {
        for (const rule of rs.rules) {
            const b = before.find((c) => c.ruleSetId === rs.id && c.ruleId === rule.id)!;
            const a = after.find((c) => c.ruleSetId === rs.id && c.ruleId === rule.id)!;
            rules.push(ruleImpact(rule, rs.id, b, a, origins));
        }
    }

    if ((options.marginal ?? true) && plans.length > 0) {
        const flatRules = ruleSets.flatMap((rs) => rs.rules);
        const totalAll = rules.map((r) => r.coveredAfter);
        rules.forEach((r) => { r.marginal = []; });
        for (let i = 0; i < plans.length; i++) {
            let without: number[];
            if (plans.length === 1) without = rules.map((r) => r.coveredBefore);
            else {
                const mask = all.map((_, k) => k !== i);
                const sub = applyPrepared(baselineNet, prepared, mask);
                const subFields = scenarioFields(baselineNet, baseFields, sub, neededFilters(ruleSets, baseFields, false), baseSearch);
                without = coveredTotals(sub.net.graph, subFields, flatRules, origins, scenarioSnaps(sub, origins, originSnaps));
            }
            rules.forEach((r, k) => r.marginal!.push({ ref: plans[i].ref, gain: totalAll[k] - without[k] }));
        }
    }

    const changedEdges = withEdges ? changedEdgeList(baselineNet, baseFields, scenario, fields) : null;
    return { scenario, fields, originSnaps: snaps, before, after, rules, changedEdges };
}

/**
 * Coverage after: when only open spaces were added, rules none of whose tiers a new open space
 * matches keep the baseline result (nothing they read changed); the rest go through evaluateCoverage.
 */
function evaluateAfter(
    scenario: ScenarioNetwork, fields: ReadonlyMap<string, DistanceField>, ruleSets: readonly RuleSet[],
    origins: readonly EngineOrigin[], snaps: readonly SnapResult[], before: readonly RuleCoverage[],
): RuleCoverage[] {
    const out: RuleCoverage[] = [];
    const networkSame = !scenario.graphChanged && !scenario.barriersChanged;
    for (const rs of ruleSets) {
        const affected = rs.rules.filter((rule) => !networkSame ||
            rule.tiers.some((t) => scenario.addedFacilities.some((f) => matchesFilter({ categories: t.categories, minAreaM2: t.minAreaM2 }, f))));
        const fresh = affected.length ? evaluateCoverage(scenario.net, fields, [{ ...rs, rules: affected }], origins, snaps) : [];
        for (const rule of rs.rules) {
            out.push(fresh.find((c) => c.ruleId === rule.id) ?? before.find((c) => c.ruleSetId === rs.id && c.ruleId === rule.id)!);
        }
    }
    return out;
}

function ruleImpact(rule: Rule, ruleSetId: string, b: RuleCoverage, a: RuleCoverage, origins: readonly EngineOrigin[]): RuleImpact {
    let newly = 0, lost = 0;
    for (let i = 0; i < origins.length; i++) {
        if (a.origins[i].covered && !b.origins[i].covered) newly += origins[i].population;
        if (!a.origins[i].covered && b.origins[i].covered) lost += origins[i].population;
    }
    const city = (c: RuleCoverage) => c.areas.find((x) => x.level === 'city')!;
    const areas: AreaImpact[] = [];
    const flips = { community: { failToPass: 0, passToFail: 0 }, residential_area: { failToPass: 0, passToFail: 0 } };
    const beforeByKey = new Map<string, AreaRuleResult>();
    for (const x of b.areas) if (x.level === 'community' || x.level === 'residential_area') beforeByKey.set(`${x.level}\u0000${x.key}`, x);
    for (const x of a.areas) {
        if (x.level !== 'community' && x.level !== 'residential_area') continue;
        const y = beforeByKey.get(`${x.level}\u0000${x.key}`)!;
        if (x.coveredPopulation === y.coveredPopulation && x.passes === y.passes) continue;
        const flip = !y.passes && x.passes ? 'fail_to_pass' : y.passes && !x.passes ? 'pass_to_fail' : null;
        if (flip === 'fail_to_pass') flips[x.level].failToPass++;
        if (flip === 'pass_to_fail') flips[x.level].passToFail++;
        areas.push({
            level: x.level, key: x.key, name: x.name, population: x.population,
            coveredBefore: y.coveredPopulation, coveredAfter: x.coveredPopulation,
            shareBefore: y.share, shareAfter: x.share, passesBefore: y.passes, passesAfter: x.passes, flip,
        });
    }
    return {
        ruleSetId, ruleId: rule.id, targetShare: rule.targetShare, population: city(a).population,
        coveredBefore: city(b).coveredPopulation, coveredAfter: city(a).coveredPopulation,
        newlyCovered: newly, newlyUncovered: lost, areas, flips, marginal: null,
    };
}

/** Distance at `alongM` on edge e through whichever end may be walked towards it, within the bound; else Infinity. */
function distanceAlong(graph: WalkGraph, r: SearchResult, e: number, alongM: number): number {
    const dir = graph.edgeDir[e];
    let best = Infinity;
    if (dir !== DIR_BACKWARD) best = Math.min(best, r.dist[graph.edgeFrom[e]] + alongM);
    if (dir !== DIR_FORWARD) best = Math.min(best, r.dist[graph.edgeTo[e]] + graph.edgeLengthM[e] - alongM);
    return best <= r.maxDistM ? best : Infinity;
}

/**
 * Edges (scenario ids) whose per-category midpoint distance fell, with before and after: the
 * midpoint of a piece of a split edge is compared with the same point of the baseline edge; links
 * have no before. Distances as the map shows them (through the edge's ends, as edge_distances).
 */
function changedEdgeList(
    baselineNet: EngineNetwork, baselineFields: ReadonlyMap<string, DistanceField>, scenario: ScenarioNetwork, fields: ReadonlyMap<string, DistanceField>,
): ChangedEdge[] {
    const g = scenario.net.graph;
    const bg = baselineNet.graph;
    const out: ChangedEdge[] = [];
    const cats = CATEGORIES.map((c) => c.id).filter((id) => fields.has(id) && baselineFields.has(id) && fields.get(id) !== baselineFields.get(id));
    for (let e = 0; e < g.edgeCount; e++) {
        let distances: ChangedEdge['distances'] | null = null;
        for (const c of cats) {
            const after = distanceAlong(g, fields.get(c)!.result, e, g.edgeLengthM[e] / 2);
            if (after === Infinity) continue;
            const be = scenario.edgeBase[e];
            const before = be < 0 ? Infinity : distanceAlong(bg, baselineFields.get(c)!.result, be, (scenario.edgeBaseFromM[e] + scenario.edgeBaseToM[e]) / 2);
            if (!(after < before - CHANGED_EDGE_MIN_M)) continue;
            (distances ??= {})[c] = { before: before === Infinity ? null : before, after };
        }
        if (distances) out.push({ edge: e, dbId: scenario.net.edgeDbId[e], isLink: e >= scenario.linkStart, distances });
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// suggestions

/** Above this many subsets the exact optimum is not enumerated (open-space candidates, set unions). */
export const MAX_ENUMERATED_SUBSETS = 200_000;
/** Above this many subsets with network changes (each a scenario) the optimum is not enumerated. */
export const MAX_ENUMERATED_SCENARIOS = 64;

export interface SuggestPick {
    ref: string;
    /** population newly covered when picked (marginal over the earlier picks) */
    gain: number;
    /** newly covered by this candidate alone */
    standaloneGain: number;
    cumulative: number;
}

export interface Suggestion {
    picks: SuggestPick[];
    greedyTotal: number;
    /** exact optimum over all subsets of size k; null when skipped */
    optimum: { total: number; refs: string[] } | null;
    optimalityGap: number | null;
    enumeration: 'done' | 'skipped';
    subsetsEnumerated: number;
    baselineCovered: number;
}

/**
 * Greedy maximal covering for one rule: up to `k` candidates, each round taking the one with the
 * largest marginal gain recomputed against the picks so far (ties: lower index); stops when no
 * candidate adds anyone. When every candidate is an open space the covered set of a selection is
 * the union of each candidate's own newly covered residents (adding sources only lowers
 * distances), so gains come from set unions; otherwise each selection is evaluated as a scenario.
 * When the number of subsets is small ({@link MAX_ENUMERATED_SUBSETS} /
 * {@link MAX_ENUMERATED_SCENARIOS}) the exact optimum is enumerated and the gap reported.
 */
export function suggestPlans(
    baselineNet: EngineNetwork,
    baselineFields: ReadonlyMap<string, DistanceField>,
    ruleSet: RuleSet,
    rule: Rule,
    origins: readonly EngineOrigin[],
    originSnaps: readonly SnapResult[],
    candidates: readonly ScenarioPlan[],
    k: number,
    options: { baselineSearch?: Search } = {},
): Suggestion {
    const g = baselineNet.graph;
    let search = options.baselineSearch;
    const baseSearch = () => (search ??= createSearch(g));
    const rs: RuleSet = { ...ruleSet, rules: [rule] };
    const filters = neededFilters([rs], baselineFields, false);
    const baseFields = completeBaseline(baselineNet, baselineFields, filters, baseSearch);
    const basePublic = (e: number) => baselineNet.edgeIsPrivate[e] === 0;
    const tierFields = rule.tiers.map((t) => baseFields.get(sourceFilterKey({ categories: t.categories, minAreaM2: t.minAreaM2 }))!);
    const baseCovered = origins.map((o, i) => originCovered(g, rule, tierFields, originSnaps[i], o));
    let baselineCovered = 0;
    for (let i = 0; i < origins.length; i++) if (baseCovered[i]) baselineCovered += origins[i].population;
    const n = candidates.length;
    const kk = Math.min(k, n);
    const prepared = candidates.map((p) => preparePlan(baselineNet.snapIndex.projection, p));

    if (candidates.every((c) => c.kind === 'add_open_space')) {
        // Only origins within a tier's distance in a straight line of the site can be reached
        // within it: a walk is at least `stretch` times the great-circle length of its polylines,
        // which is at least the straight line. `stretch` is the smallest ratio of an edge's length
        // to the geodesic length of its polyline (1 for PostGIS lengths, up to rounding);
        // where it is implausible (< 0.5, e.g. zero-length test edges) every origin is checked.
        const { projection, pointCumM } = baselineNet.snapIndex;
        let stretch = Infinity;
        for (let e = 0; e < g.edgeCount; e++) {
            const havM = pointCumM[g.edgeCoordOffset[e + 1] - 1];
            if (havM > 0) stretch = Math.min(stretch, g.edgeLengthM[e] / havM);
        }
        const radiusOf = (maxM: number) => (stretch >= 0.5 ? (maxM / Math.min(1, stretch)) * 1.01 + 1 : Infinity);
        const originTree = new Flatbush(Math.max(1, origins.length));
        for (const o of origins) originTree.add(projection.toX(o.lng), projection.toY(o.lat), projection.toX(o.lng), projection.toY(o.lat));
        if (!origins.length) originTree.add(0, 0, 0, 0);
        originTree.finish();
        // each candidate's newly covered origins, from one bounded search per tier it qualifies for
        const sets: Int32Array[] = prepared.map((p, ci) => {
            const fac = openSpaceFacility(p.plan, -(ci + 1));
            const hit = new Uint8Array(origins.length);
            rule.tiers.forEach((t) => {
                if (!matchesFilter({ categories: t.categories, minAreaM2: t.minAreaM2 }, fac)) return;
                const snaps: SnapResult[] = [];
                for (let a = 0; a < fac.accessLng.length; a++) {
                    const s = snapPoint(baselineNet.snapIndex, fac.accessLng[a], fac.accessLat[a], { edgeFilter: basePublic });
                    if (!s.unreachable) snaps.push({ ...s });
                }
                const r = baseSearch().run(seedsFromSnaps(g, snaps, snaps.map(() => 0)), t.maxDistanceM);
                const padM = radiusOf(t.maxDistanceM);
                const [minX, minY, maxX, maxY] = p.bbox;
                for (const i of originTree.search(minX - padM, minY - padM, maxX + padM, maxY + padM)) {
                    if (i >= origins.length || baseCovered[i] || hit[i] || originSnaps[i].unreachable) continue;
                    const reach = reachPoint(g, r, originSnaps[i]);
                    if (reach && reach.distM <= t.maxDistanceM) hit[i] = 1;
                }
            });
            const list: number[] = [];
            hit.forEach((h, i) => { if (h) list.push(i); });
            return Int32Array.from(list);
        });
        const stamp = new Int32Array(origins.length);
        let round = 0;
        const unionPop = (chosen: readonly number[]) => {
            round++;
            let pop = 0;
            for (const c of chosen) for (const i of sets[c]) if (stamp[i] !== round) { stamp[i] = round; pop += origins[i].population; }
            return pop;
        };
        const standalone = sets.map((_, c) => unionPop([c]));
        const evalTotal = (chosen: readonly number[]) => baselineCovered + unionPop(chosen);
        return greedyAndEnumerate(candidates, kk, evalTotal, standalone, baselineCovered, MAX_ENUMERATED_SUBSETS, true);
    }

    const memo = new Map<string, number>();
    const evalTotal = (chosen: readonly number[]) => {
        const key = [...chosen].sort((a, b) => a - b).join(',');
        const hit = memo.get(key);
        if (hit !== undefined) return hit;
        const mask = prepared.map((_, i) => chosen.includes(i));
        const sc = applyPrepared(baselineNet, prepared, mask);
        const f = scenarioFields(baselineNet, baseFields, sc, filters, baseSearch);
        const total = coveredTotals(sc.net.graph, f, [rule], origins, scenarioSnaps(sc, origins, originSnaps))[0];
        memo.set(key, total);
        return total;
    };
    const standalone = candidates.map((_, c) => evalTotal([c]) - baselineCovered);
    return greedyAndEnumerate(candidates, kk, evalTotal, standalone, baselineCovered, MAX_ENUMERATED_SCENARIOS, false);
}

function greedyAndEnumerate(
    candidates: readonly ScenarioPlan[], k: number, evalTotal: (chosen: readonly number[]) => number,
    standalone: readonly number[], baselineCovered: number, maxSubsets: number, submodular: boolean,
): Suggestion {
    // a candidate that covers no one alone can help a selection only when gains interact (links)
    const usable = (c: number) => !submodular || standalone[c] > 0;
    const chosen: number[] = [];
    const picks: SuggestPick[] = [];
    let current = baselineCovered;
    while (chosen.length < k) {
        let best = -1, bestTotal = current;
        for (let c = 0; c < candidates.length; c++) {
            if (chosen.includes(c) || !usable(c)) continue;
            const total = evalTotal([...chosen, c]);
            if (total > bestTotal) { best = c; bestTotal = total; }
        }
        if (best < 0) break;
        chosen.push(best);
        picks.push({ ref: candidates[best].ref, gain: bestTotal - current, standaloneGain: standalone[best], cumulative: bestTotal - baselineCovered });
        current = bestTotal;
    }
    const greedyTotal = current - baselineCovered;

    // subsets of exactly k among the usable candidates
    const useful = candidates.map((_, c) => c).filter(usable);
    const size = Math.min(k, useful.length);
    const count = binomial(useful.length, size);
    if (count > maxSubsets) {
        return { picks, greedyTotal, optimum: null, optimalityGap: null, enumeration: 'skipped', subsetsEnumerated: 0, baselineCovered };
    }
    let bestTotal = baselineCovered;
    let bestSet: number[] = [];
    const combo: number[] = [];
    const visit = (start: number) => {
        if (combo.length === size) {
            const t = evalTotal(combo);
            if (t > bestTotal) { bestTotal = t; bestSet = [...combo]; }
            return;
        }
        for (let i = start; i <= useful.length - (size - combo.length); i++) {
            combo.push(useful[i]);
            visit(i + 1);
            combo.pop();
        }
    };
    visit(0);
    const optimum = { total: bestTotal - baselineCovered, refs: bestSet.map((c) => candidates[c].ref) };
    return { picks, greedyTotal, optimum, optimalityGap: optimum.total - greedyTotal, enumeration: 'done', subsetsEnumerated: count, baselineCovered };
}

function binomial(n: number, k: number): number {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return Math.round(r);
}

import type { EngineCompound, EngineNetwork } from '../coverage.ts';
import type { EngineFacility } from '../distance-field.ts';
import { geodesicM } from '../geodesy.ts';
import { DIR_BOTH, extendGraph, type EdgeCut, type WalkGraph } from '../graph.ts';
import { legMeetsLine, pointLineM, sampleLocalLine, segmentFootT, unionIntervals } from '../planar.ts';
import {
  buildBarrierIndex,
  buildSnapIndex,
  crossesBarrier,
  snapPoint,
  type BarrierIndex,
  type SnapIndex,
} from '../snap.ts';
import { openSpaceFacility } from './open-space.ts';
import {
  inRegion,
  PlanError,
  preparePlan,
  regionIntervals,
  staysInRegion,
  type PlanEffect,
  type PreparedPlan,
  type ScenarioPlan,
} from './plan.ts';

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
/** Split points closer than 1 m to an edge's end node, or to each other, are merged into it. */
const SPLIT_MERGE_M = 1;

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

type NodeRef = { node: number } | { edge: number; alongM: number };

interface Link {
  a: NodeRef;
  b: NodeRef;
  plan: number;
}

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
  return applyPrepared(
    baseline,
    prepared,
    prepared.map(() => true),
  );
}

/**
 * {@link applyPlans} for plans already prepared, applying those whose `include` flag is set (the
 * others keep their index, so links and open-space ids name the same plan in every subset).
 */
export function applyPrepared(
  baseline: EngineNetwork,
  prepared: readonly PreparedPlan[],
  include: readonly boolean[],
): ScenarioNetwork {
  const g = baseline.graph;
  const projection = baseline.snapIndex.projection;
  const effects: PlanEffect[] = [];
  const active: number[] = [];
  prepared.forEach((p, i) => {
    if (!include[i]) return;
    active.push(i);
    effects.push({
      ref: p.plan.ref,
      kind: p.plan.kind,
      name: p.plan.name,
      linksAdded: 0,
      linkLengthM: 0,
      barrierRemovedM: 0,
      edgesOpened: 0,
      compoundsOpened: 0,
      openSpace: null,
    });
  });
  const effectOf = new Map(active.map((i, k) => [i, effects[k]]));
  const demolitions = active.filter((i) => prepared[i].plan.kind !== 'add_open_space');

  // 1. barriers
  const { barriers, barriersChanged, removed, changedBoxes } = removeBarriers(
    baseline,
    prepared,
    demolitions,
    effectOf,
  );

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
    effectOf.get(i)!.openSpace = {
      facilityId: f.id,
      areaM2: f.areaM2 ?? 0,
      category: f.category,
      accessPoints: f.accessLng.length,
    };
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
      net,
      baselineEdgeCount: g.edgeCount,
      linkStart: g.edgeCount,
      graphChanged,
      barriersChanged,
      edgeBase,
      edgeBaseFromM,
      edgeBaseToM,
      splitEdges: new Set(),
      openedEdges,
      touchedCompounds: touched,
      linkPlan: new Int32Array(0),
      addedFacilities,
      removedBarriers: removed,
      changedBoxes,
      effects,
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
      if (list) list.push(r.alongM);
      else splitsByEdge.set(r.edge, [r.alongM]);
    }
  }
  const splitNodes = new Map<number, EdgeCut[]>();
  let nodeCount = g.nodeCount;
  const splitEdges = [...splitsByEdge.keys()].sort((a, b) => a - b);
  for (const e of splitEdges) {
    const alongs = splitsByEdge.get(e)!.sort((a, b) => a - b);
    const merged: EdgeCut[] = [];
    for (const a of alongs) {
      if (merged.length && a - merged[merged.length - 1].alongM <= SPLIT_MERGE_M) continue;
      merged.push({ alongM: a, node: nodeCount++ });
    }
    splitNodes.set(e, merged);
  }
  const nodeOf = (r: NodeRef): number => {
    if ('node' in r) return r.node;
    let best = -1,
      bestD = Infinity;
    for (const s of splitNodes.get(r.edge)!) {
      const d = Math.abs(s.alongM - r.alongM);
      if (d < bestD) {
        bestD = d;
        best = s.node;
      }
    }
    return best;
  };
  // links between the same pair of nodes, or from a node to itself, add nothing
  const seenPair = new Set<string>();
  const finalLinks: { from: number; to: number; plan: number }[] = [];
  for (const l of links) {
    const a = nodeOf(l.a),
      b = nodeOf(l.b);
    if (a === b) continue;
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    if (seenPair.has(key)) continue;
    seenPair.add(key);
    finalLinks.push({ from: a, to: b, plan: l.plan });
  }

  const { graph, linkStart, edgeBase, edgeBaseFromM, edgeBaseToM } = extendGraph(g, {
    cuts: splitNodes,
    edgeDir: new Map([...openedEdges].map((e) => [e, DIR_BOTH])),
    links: finalLinks,
  });
  // street attributes follow the street each piece is part of; links are public and no street
  const edgeIsPrivate = Uint8Array.from(edgeBase, (b) => (b < 0 || openedEdges.has(b) ? 0 : baseline.edgeIsPrivate[b]));
  const edgeDbId = Float64Array.from(edgeBase, (b) => (b < 0 ? -1 : baseline.edgeDbId[b]));
  const linkPlan = Int32Array.from(finalLinks, (l) => l.plan);
  finalLinks.forEach((l, k) => {
    effectOf.get(l.plan)!.linkLengthM += graph.edgeLengthM[linkStart + k];
  });
  for (const e of effects) e.linksAdded = 0;
  for (const l of finalLinks) effectOf.get(l.plan)!.linksAdded++;

  const splitSet = new Set(splitEdges);
  const snapIndex =
    splitSet.size === 0 ? baseline.snapIndex : buildSnapIndex(snappableView(graph, linkStart), projection);
  for (const e of splitEdges) changedBoxes.push(edgeBox(g, e));

  // compounds: pieces of internal edges stay internal; opened compounds gain their links' public ends as gates
  const piecesOf = new Map<number, number[]>();
  for (let e = g.edgeCount; e < linkStart; e++)
    (piecesOf.get(edgeBase[e]) ?? piecesOf.set(edgeBase[e], []).get(edgeBase[e])!).push(e);
  const compounds: EngineCompound[] = baseline.compounds.map((c, ci) => {
    const extraGates = (gateLinks.get(ci) ?? []).map((l) => nodeOf(l.b));
    let extraEdges: number[] = [];
    for (const e of c.internalEdges) {
      const ps = piecesOf.get(e);
      if (ps) extraEdges = extraEdges.concat(ps);
    }
    if (!extraGates.length && !extraEdges.length) return c;
    touched.add(ci);
    return {
      id: c.id,
      gateNodes: [...new Set([...c.gateNodes, ...extraGates])],
      internalEdges: extraEdges.length ? new Set([...c.internalEdges, ...extraEdges]) : c.internalEdges,
    };
  });

  const net: EngineNetwork = {
    graph,
    snapIndex,
    barriers,
    edgeDbId,
    edgeIsPrivate,
    compounds,
    facilities: [...baseline.facilities, ...addedFacilities],
  };
  return {
    net,
    baselineEdgeCount: g.edgeCount,
    linkStart,
    graphChanged,
    barriersChanged,
    edgeBase,
    edgeBaseFromM,
    edgeBaseToM,
    splitEdges: splitSet,
    openedEdges,
    touchedCompounds: touched,
    linkPlan,
    addedFacilities,
    removedBarriers: removed,
    changedBoxes,
    effects,
  };
}

/** The graph without its links, for the snap index: links are walked, never snapped onto. */
function snappableView(graph: WalkGraph, linkStart: number): WalkGraph {
  const end = graph.edgeCoordOffset[linkStart];
  return {
    ...graph,
    edgeCount: linkStart,
    edgeCoordOffset: graph.edgeCoordOffset.subarray(0, linkStart + 1),
    edgeCoords: graph.edgeCoords.subarray(0, end * 2),
  };
}

function edgeBox(g: WalkGraph, e: number): [number, number, number, number] {
  let minLng = Infinity,
    minLat = Infinity,
    maxLng = -Infinity,
    maxLat = -Infinity;
  for (let i = g.edgeCoordOffset[e]; i < g.edgeCoordOffset[e + 1]; i++) {
    minLng = Math.min(minLng, g.edgeCoords[2 * i]);
    maxLng = Math.max(maxLng, g.edgeCoords[2 * i]);
    minLat = Math.min(minLat, g.edgeCoords[2 * i + 1]);
    maxLat = Math.max(maxLat, g.edgeCoords[2 * i + 1]);
  }
  return [minLng, minLat, maxLng, maxLat];
}

function removeBarriers(
  baseline: EngineNetwork,
  prepared: readonly PreparedPlan[],
  demolitions: readonly number[],
  effectOf: Map<number, PlanEffect>,
) {
  const removed: [number, number][][] = [];
  const changedBoxes: [number, number, number, number][] = [];
  const b = baseline.barriers;
  if (!b || !b.tree || demolitions.length === 0) return { barriers: b, barriersChanged: false, removed, changedBoxes };
  const { projection } = baseline.snapIndex;
  const tol = DEMOLITION_TOLERANCE_M;
  const candidates = new Set<number>();
  for (const i of demolitions) {
    const [minX, minY, maxX, maxY] = prepared[i].bbox;
    const hits = b.tree.search(
      projection.toLng(minX - tol),
      projection.toLat(minY - tol),
      projection.toLng(maxX + tol),
      projection.toLat(maxY + tol),
    );
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
    const lng0 = b.coords[2 * i],
      lat0 = b.coords[2 * i + 1],
      lng1 = b.coords[2 * i + 2],
      lat1 = b.coords[2 * i + 3];
    if (!candidates.has(s)) {
      keep(lng0, lat0, lng1, lat1);
      continue;
    }
    const ax = projection.toX(lng0),
      ay = projection.toY(lat0),
      bx = projection.toX(lng1),
      by = projection.toY(lat1);
    const all: [number, number][] = [];
    for (const k of demolitions) {
      const iv = regionIntervals(prepared[k], ax, ay, bx, by, tol);
      const lenM = geodesicM(lng0, lat0, lng1, lat1);
      for (const [t0, t1] of iv) effectOf.get(k)!.barrierRemovedM += (t1 - t0) * lenM;
      all.push(...iv);
    }
    const gone = unionIntervals(all).filter(([t0, t1]) => t1 > t0);
    if (!gone.length) {
      keep(lng0, lat0, lng1, lat1);
      continue;
    }
    changed = true;
    const at = (t: number): [number, number] => [lng0 + t * (lng1 - lng0), lat0 + t * (lat1 - lat0)];
    let t = 0;
    for (const [t0, t1] of gone) {
      if (t0 > t) keep(...at(t), ...at(t0));
      const p0 = at(t0),
        p1 = at(t1);
      removed.push([p0, p1]);
      changedBoxes.push([
        Math.min(p0[0], p1[0]),
        Math.min(p0[1], p1[1]),
        Math.max(p0[0], p1[0]),
        Math.max(p0[1], p1[1]),
      ]);
      t = t1;
    }
    if (t < 1) keep(...at(t), ...at(1));
  }
  if (!changed) return { barriers: b, barriersChanged: false, removed, changedBoxes };
  const barriers: BarrierIndex | undefined =
    offsets.length > 1 ? buildBarrierIndex(Float64Array.from(coords), Uint32Array.from(offsets)) : undefined;
  return { barriers, barriersChanged: true, removed, changedBoxes };
}

/** Baseline edges with a segment whose box is within `pad` metres of the local-metre box, ascending. */
function edgesNear(net: EngineNetwork, bbox: readonly number[], pad: number): number[] {
  const tree = net.snapIndex.tree;
  if (!tree) return [];
  const edges = new Set<number>();
  for (const s of tree.search(bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad))
    edges.add(net.snapIndex.segmentEdge[s]);
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
  const ax = projection.toX(g.edgeCoords[2 * i]),
    ay = projection.toY(g.edgeCoords[2 * i + 1]);
  const bx = projection.toX(g.edgeCoords[2 * i + 2]),
    by = projection.toY(g.edgeCoords[2 * i + 3]);
  const t = segmentFootT(x, y, ax, ay, bx, by);
  const px = ax + t * (bx - ax),
    py = ay + t * (by - ay);
  const e = index.segmentEdge[segment];
  const totalM = index.pointCumM[g.edgeCoordOffset[e + 1] - 1];
  const havM = index.pointCumM[i] + t * (index.pointCumM[i + 1] - index.pointCumM[i]);
  const alongM = totalM > 0 ? Math.min(g.edgeLengthM[e], g.edgeLengthM[e] * (havM / totalM)) : 0;
  return { edge: e, alongM, x: px, y: py, distM: Math.hypot(px - x, py - y) };
}

function wallLinks(
  net: EngineNetwork,
  p: PreparedPlan,
  planIndex: number,
  barriers: BarrierIndex | undefined,
  links: Link[],
  openedEdges: Set<number>,
  touched: Set<number>,
  gateLinks: Map<number, Link[]>,
  effect: PlanEffect,
): void {
  const g = net.graph;
  const index = net.snapIndex;
  const { projection } = index;
  const wall = p.lines[0];
  const near = nodesNear(net, p.bbox, WALL_LINK_REACH_M).filter(
    (n) => pointLineM(projection.toX(g.nodeLng[n]), projection.toY(g.nodeLat[n]), wall) <= WALL_LINK_REACH_M,
  );
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
        if (!list) compoundOfNode.set(n, [ci]);
        else if (!list.includes(ci)) list.push(ci);
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
    const x = projection.toX(g.nodeLng[n]),
      y = projection.toY(g.nodeLat[n]);
    const tree = index.tree;
    if (!tree) break;
    const cands = tree
      .neighbors(x, y, Infinity, WALL_LINK_MAX_M)
      .map((s) => ({ s, ...nearestOnSegment(index, s, x, y) }))
      .filter(
        (c) =>
          c.distM <= WALL_LINK_MAX_M &&
          net.edgeIsPrivate[c.edge] === 0 &&
          g.edgeFrom[c.edge] !== n &&
          g.edgeTo[c.edge] !== n,
      )
      .sort((a, b) => a.distM - b.distM || a.s - b.s);
    for (const c of cands) {
      if (!legMeetsLine(x, y, c.x, c.y, wall)) continue;
      const lng = projection.toLng(c.x),
        lat = projection.toLat(c.y);
      if (barriers && crossesBarrier(barriers, g.nodeLng[n], g.nodeLat[n], lng, lat)) continue;
      const link: Link = { a: { node: n }, b: { edge: c.edge, alongM: c.alongM }, plan: planIndex };
      links.push(link);
      for (const ci of compoundOfNode.get(n) ?? []) (gateLinks.get(ci) ?? gateLinks.set(ci, []).get(ci)!).push(link);
      break;
    }
  }
}

function clearedLinks(
  net: EngineNetwork,
  p: PreparedPlan,
  planIndex: number,
  barriers: BarrierIndex | undefined,
  links: Link[],
): void {
  const g = net.graph;
  const { projection } = net.snapIndex;
  const reach = CLEARED_REACH_M;
  interface Pt {
    ref: NodeRef;
    x: number;
    y: number;
    lng: number;
    lat: number;
    edge: number;
  }
  const pts: Pt[] = [];
  for (const n of nodesNear(net, p.bbox, reach)) {
    const x = projection.toX(g.nodeLng[n]),
      y = projection.toY(g.nodeLat[n]);
    if (inRegion(p, x, y, reach)) pts.push({ ref: { node: n }, x, y, lng: g.nodeLng[n], lat: g.nodeLat[n], edge: -1 });
  }
  const publicEdge = (e: number) => net.edgeIsPrivate[e] === 0;
  for (const rings of p.polygons) {
    const outer = rings[0];
    for (const [x, y] of sampleLocalLine(outer, CLEARED_OUTLINE_SPACING_M)) {
      const lng = projection.toLng(x),
        lat = projection.toLat(y);
      const s = snapPoint(net.snapIndex, lng, lat, { maxSnapM: reach, edgeFilter: publicEdge, barriers });
      if (s.unreachable) continue;
      pts.push({
        ref: { edge: s.edge, alongM: s.alongM },
        x: projection.toX(s.lng),
        y: projection.toY(s.lat),
        lng: s.lng,
        lat: s.lat,
        edge: s.edge,
      });
    }
  }
  if (pts.length > MAX_CLEARED_POINTS) {
    throw new PlanError(
      p.plan.ref,
      `plan ${p.plan.ref}: ${pts.length} walkable points around the cleared site (at most ${MAX_CLEARED_POINTS}): is the polygon a building site?`,
    );
  }
  const joined = (a: number, b: number) => {
    for (let k = g.arcOffset[a]; k < g.arcOffset[a + 1]; k++) if (g.arcTo[k] === b) return true;
    for (let k = g.arcOffset[b]; k < g.arcOffset[b + 1]; k++) if (g.arcTo[k] === a) return true;
    return false;
  };
  for (let i = 0; i < pts.length; i++) {
    for (let j = i + 1; j < pts.length; j++) {
      const a = pts[i],
        b = pts[j];
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

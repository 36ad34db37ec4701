import Flatbush from 'flatbush';
import {
  geodesicM,
  makeLocalProjection,
  meridionalRadiusM,
  primeVerticalRadiusM,
  type LocalProjection,
} from './geodesy.ts';
import { properlyCross, segmentFootT } from './planar.ts';

const RAD = Math.PI / 180;
import type { WalkGraph } from './graph.ts';

/**
 * Default snap limit in metres. Chosen, not from a standard: a building entrance in Chengdu is
 * rarely more than 200 m from a mapped way; farther than that, the street data has a gap and a
 * made-up straight access leg would overstate coverage.
 */
export const DEFAULT_MAX_SNAP_M = 200;

/** A point placed on the network: where it meets edge `edge`, and the straight walk to get there. */
export interface EdgeSnap {
  unreachable: false;
  edge: number;
  /** distance from the edge's `from` node along the edge, in the edge's `lengthM` scale, 0..lengthM */
  alongM: number;
  /** geodesic length of the straight access leg from the query point to the snapped point, metres */
  accessM: number;
  /** the snapped point on the edge */
  lng: number;
  lat: number;
  /** the query point */
  pointLng: number;
  pointLat: number;
}

/** Why a point could not be placed on the network. */
export interface SnapFailure {
  unreachable: true;
  reason: 'beyond_snap_limit' | 'blocked_by_barrier';
  /** planar distance to the nearest edge (permitted by `edgeFilter`) in metres, if there is one */
  nearestM?: number;
}

export type SnapResult = EdgeSnap | SnapFailure;

export interface SnapOptions {
  /** candidates farther than this (planar metres) are ignored; default {@link DEFAULT_MAX_SNAP_M} */
  maxSnapM?: number;
  /** walls and fences the access leg must not cross */
  barriers?: BarrierIndex;
  /** return false to make an edge unsnappable (e.g. motorways, edges under construction) */
  edgeFilter?: (edge: number) => boolean;
}

/**
 * Spatial index over the polyline segments of every edge, in local metres
 * ({@link makeLocalProjection} about the centre of the graph's extent). Segment ids run in edge
 * order, then along each edge, and break ties between equidistant candidates (lowest wins).
 */
export interface SnapIndex {
  graph: WalkGraph;
  projection: LocalProjection;
  /** null when the graph has no edges */
  tree: Flatbush | null;
  segmentCount: number;
  segmentEdge: Int32Array;
  /** point index (into `graph.edgeCoords` pairs) where each segment starts */
  segmentStart: Uint32Array;
  /** geodesic length in metres from the first point of its edge to each point */
  pointCumM: Float64Array;
  scratch: SnapScratch;
}

/** Line segments of walls and fences, indexed in lng/lat degrees (crossing is affine-invariant). */
export interface BarrierIndex {
  coords: Float64Array;
  /** null when there are no barrier segments */
  tree: Flatbush | null;
  segmentStart: Uint32Array;
  scratch: { ax: number; ay: number; bx: number; by: number };
  crosses: (segment: number) => boolean;
}

interface SnapScratch {
  qx: number;
  qy: number;
  radiusM: number;
  edgeFilter: ((edge: number) => boolean) | undefined;
  count: number;
  t: number;
  candSegment: Int32Array;
  candDistM: Float64Array;
  candT: Float64Array;
  collect: (segment: number) => boolean;
}

/**
 * Builds the segment index. `projection` defaults to one centred on the bounding box of the edge
 * coordinates. O(P log P) time and about 60 bytes per polyline point.
 */
export function buildSnapIndex(graph: WalkGraph, projection?: LocalProjection): SnapIndex {
  const { edgeCount, edgeCoords: coords, edgeCoordOffset: offsets } = graph;
  const pointCount = coords.length / 2;
  const segmentCount = pointCount - edgeCount;

  if (!projection) {
    let minLng = Infinity,
      minLat = Infinity,
      maxLng = -Infinity,
      maxLat = -Infinity;
    for (let i = 0; i < pointCount; i++) {
      const lng = coords[2 * i],
        lat = coords[2 * i + 1];
      if (lng < minLng) minLng = lng;
      if (lng > maxLng) maxLng = lng;
      if (lat < minLat) minLat = lat;
      if (lat > maxLat) maxLat = lat;
    }
    projection = pointCount
      ? makeLocalProjection((minLng + maxLng) / 2, (minLat + maxLat) / 2)
      : makeLocalProjection(0, 0);
  }
  const { centerLng, centerLat, metresPerDegLng: kx, metresPerDegLat: ky } = projection;

  const segmentEdge = new Int32Array(segmentCount);
  const segmentStart = new Uint32Array(segmentCount);
  const pointCumM = new Float64Array(pointCount);
  const tree = segmentCount > 0 ? new Flatbush(segmentCount) : null;
  let s = 0;
  for (let e = 0; e < edgeCount; e++) {
    const end = offsets[e + 1];
    let cumM = 0;
    for (let i = offsets[e]; i + 1 < end; i++) {
      const lng0 = coords[2 * i],
        lat0 = coords[2 * i + 1],
        lng1 = coords[2 * i + 2],
        lat1 = coords[2 * i + 3];
      cumM += geodesicM(lng0, lat0, lng1, lat1);
      pointCumM[i + 1] = cumM;
      segmentEdge[s] = e;
      segmentStart[s] = i;
      const x0 = (lng0 - centerLng) * kx,
        y0 = (lat0 - centerLat) * ky;
      const x1 = (lng1 - centerLng) * kx,
        y1 = (lat1 - centerLat) * ky;
      tree!.add(Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1));
      s++;
    }
  }
  tree?.finish();
  return snapIndexFromParts(graph, projection, tree, segmentEdge, segmentStart, pointCumM);
}

/**
 * A snap index from its stored parts (a persisted engine, server/network/network-file.ts): the same
 * object {@link buildSnapIndex} returns for the same graph and projection, without the O(P log P)
 * build. `tree` is the Flatbush over the segments' projected boxes.
 */
export function snapIndexFromParts(
  graph: WalkGraph,
  projection: LocalProjection,
  tree: Flatbush | null,
  segmentEdge: Int32Array,
  segmentStart: Uint32Array,
  pointCumM: Float64Array,
): SnapIndex {
  const segmentCount = segmentEdge.length;
  const index: SnapIndex = {
    graph,
    projection,
    tree,
    segmentCount,
    segmentEdge,
    segmentStart,
    pointCumM,
    scratch: {
      qx: 0,
      qy: 0,
      radiusM: 0,
      edgeFilter: undefined,
      count: 0,
      t: 0,
      candSegment: new Int32Array(64),
      candDistM: new Float64Array(64),
      candT: new Float64Array(64),
      collect: () => false,
    },
  };
  const scratch = index.scratch;
  // one closure per index, reading the query from scratch, so queries create no functions
  scratch.collect = (segment) => {
    if (scratch.edgeFilter && !scratch.edgeFilter(segmentEdge[segment])) return false;
    const distM = segmentDistanceM(index, segment, scratch.qx, scratch.qy);
    if (distM > scratch.radiusM) return false;
    if (scratch.count === scratch.candSegment.length) growCandidates(scratch);
    const c = scratch.count++;
    scratch.candSegment[c] = segment;
    scratch.candDistM[c] = distM;
    scratch.candT[c] = scratch.t;
    return false; // keep flatbush's result array empty: the candidates live in scratch
  };
  return index;
}

/**
 * Planar distance in metres from (qx, qy) to a segment; leaves the parameter of the nearest point
 * on the segment (0..1) in `index.scratch.t`.
 */
function segmentDistanceM(index: SnapIndex, segment: number, qx: number, qy: number): number {
  const coords = index.graph.edgeCoords;
  const { centerLng, centerLat, metresPerDegLng: kx, metresPerDegLat: ky } = index.projection;
  const i = index.segmentStart[segment];
  const x0 = (coords[2 * i] - centerLng) * kx,
    y0 = (coords[2 * i + 1] - centerLat) * ky;
  const x1 = (coords[2 * i + 2] - centerLng) * kx,
    y1 = (coords[2 * i + 3] - centerLat) * ky;
  const t = segmentFootT(qx, qy, x0, y0, x1, y1);
  index.scratch.t = t;
  // at t = 1 use the end point itself, so that segments meeting at a vertex tie exactly there
  const ex = (t === 1 ? x1 : x0 + t * (x1 - x0)) - qx,
    ey = (t === 1 ? y1 : y0 + t * (y1 - y0)) - qy;
  return Math.sqrt(ex * ex + ey * ey);
}
function growCandidates(scratch: SnapScratch): void {
  const n = scratch.candSegment.length * 2;
  const seg = new Int32Array(n);
  seg.set(scratch.candSegment);
  scratch.candSegment = seg;
  const d = new Float64Array(n);
  d.set(scratch.candDistM);
  scratch.candDistM = d;
  const t = new Float64Array(n);
  t.set(scratch.candT);
  scratch.candT = t;
}

/** Gathers every segment (passing the edge filter) within `radiusM` of (qx, qy) into scratch. */
function collectCandidates(
  index: SnapIndex,
  qx: number,
  qy: number,
  radiusM: number,
  edgeFilter: ((edge: number) => boolean) | undefined,
): number {
  const scratch = index.scratch;
  scratch.qx = qx;
  scratch.qy = qy;
  scratch.radiusM = radiusM;
  scratch.edgeFilter = edgeFilter;
  scratch.count = 0;
  index.tree?.neighbors(qx, qy, Infinity, radiusM, scratch.collect);
  scratch.edgeFilter = undefined;
  return scratch.count;
}

/**
 * Places a WGS 84 point on the nearest edge segment (planar distance in local metres; ties go to
 * the lowest segment id). A candidate whose access leg properly crosses a barrier segment is
 * rejected and the next nearest segment is tried; each segment offers only its own nearest point.
 * Cost: O(log S + k) for the k segments within `maxSnapM`, plus O(k) per rejected candidate; no
 * buffers beyond flatbush's (empty) result array and the returned object. Scratch lives in the
 * index, so one index must not serve two queries at once (fine in one Node.js thread).
 */
export function snapPoint(index: SnapIndex, lng: number, lat: number, options: SnapOptions = {}): SnapResult {
  const maxSnapM = options.maxSnapM ?? DEFAULT_MAX_SNAP_M;
  const { projection, scratch } = index;
  const qx = projection.toX(lng),
    qy = projection.toY(lat);
  const count = collectCandidates(index, qx, qy, maxSnapM, options.edgeFilter);
  if (count === 0) {
    const nearestM = nearestDistanceM(index, qx, qy, options.edgeFilter);
    return nearestM === undefined
      ? { unreachable: true, reason: 'beyond_snap_limit' }
      : { unreachable: true, reason: 'beyond_snap_limit', nearestM };
  }

  const { candSegment, candDistM, candT } = scratch;
  const { edgeCoords: coords } = index.graph;
  let nearestM = Infinity;
  // selection by repeated minimum: the first candidate nearly always passes
  for (let remaining = count; remaining > 0; remaining--) {
    let best = 0;
    for (let c = 1; c < remaining; c++) {
      if (candDistM[c] < candDistM[best] || (candDistM[c] === candDistM[best] && candSegment[c] < candSegment[best]))
        best = c;
    }
    const segment = candSegment[best],
      t = footParameter(index, segment, lng, lat, candT[best]);
    if (candDistM[best] < nearestM) nearestM = candDistM[best];
    const i = index.segmentStart[segment];
    const snapLng = t === 1 ? coords[2 * i + 2] : coords[2 * i] + t * (coords[2 * i + 2] - coords[2 * i]);
    const snapLat = t === 1 ? coords[2 * i + 3] : coords[2 * i + 1] + t * (coords[2 * i + 3] - coords[2 * i + 1]);
    if (options.barriers && crossesBarrier(options.barriers, lng, lat, snapLng, snapLat)) {
      const last = remaining - 1;
      candSegment[best] = candSegment[last];
      candDistM[best] = candDistM[last];
      candT[best] = candT[last];
      continue;
    }
    return {
      unreachable: false,
      edge: index.segmentEdge[segment],
      alongM: alongM(index, segment, t),
      accessM: geodesicM(lng, lat, snapLng, snapLat),
      lng: snapLng,
      lat: snapLat,
      pointLng: lng,
      pointLat: lat,
    };
  }
  return { unreachable: true, reason: 'blocked_by_barrier', nearestM };
}

/**
 * The parameter of the foot of the perpendicular from (lng, lat) on a segment, in metres local to
 * the point: the index's projection is scaled for its centre, and 5 km north or south of it a
 * metre east is 0.05 % off, which moves the foot of a 100 m access leg by up to 2.5 cm.
 * `globalT` (from the index) is kept at the segment's ends, where segments meeting at a vertex tie.
 */
function footParameter(index: SnapIndex, segment: number, lng: number, lat: number, globalT: number): number {
  if (globalT === 0 || globalT === 1) return globalT;
  const coords = index.graph.edgeCoords;
  const i = index.segmentStart[segment];
  const ky = meridionalRadiusM(lat) * RAD;
  const kx = primeVerticalRadiusM(lat) * Math.cos(lat * RAD) * RAD;
  const x0 = (coords[2 * i] - lng) * kx,
    y0 = (coords[2 * i + 1] - lat) * ky;
  const dx = (coords[2 * i + 2] - coords[2 * i]) * kx,
    dy = (coords[2 * i + 3] - coords[2 * i + 1]) * ky;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? -(x0 * dx + y0 * dy) / len2 : 0;
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/** `alongM` of parameter t on a segment: geodesic fraction of the polyline times the edge's lengthM. */
function alongM(index: SnapIndex, segment: number, t: number): number {
  const { graph, pointCumM } = index;
  const e = index.segmentEdge[segment];
  const i = index.segmentStart[segment];
  const totalM = pointCumM[graph.edgeCoordOffset[e + 1] - 1];
  if (!(totalM > 0)) return 0;
  // exact at vertices, so that a point snapped onto an end node gets alongM 0 or lengthM exactly
  const partM = t === 1 ? pointCumM[i + 1] : pointCumM[i] + t * (pointCumM[i + 1] - pointCumM[i]);
  return Math.min(graph.edgeLengthM[e], graph.edgeLengthM[e] * (partM / totalM));
}

/** Exact nearest segment distance with no limit: bbox-nearest bounds the exact search radius. */
function nearestDistanceM(
  index: SnapIndex,
  qx: number,
  qy: number,
  edgeFilter: ((edge: number) => boolean) | undefined,
): number | undefined {
  const tree = index.tree;
  if (!tree) return undefined;
  const first = tree.neighbors(
    qx,
    qy,
    1,
    Infinity,
    edgeFilter && ((segment) => edgeFilter(index.segmentEdge[segment])),
  );
  if (first.length === 0) return undefined;
  // the bbox-nearest segment's exact distance bounds the nearest segment's bbox distance; the
  // slack covers rounding between flatbush's squared box distance and our square root
  const boundM = segmentDistanceM(index, first[0], qx, qy) * (1 + 1e-12) + 1e-9;
  const count = collectCandidates(index, qx, qy, boundM, edgeFilter);
  const scratch = index.scratch;
  let nearestM = Infinity;
  for (let c = 0; c < count; c++) if (scratch.candDistM[c] < nearestM) nearestM = scratch.candDistM[c];
  return nearestM;
}

/**
 * Indexes barrier polylines given as flat `[lng, lat, …]` `coords` with `lineCount + 1` point
 * offsets (line i is points `offsets[i]` to `offsets[i + 1]`, exclusive). O(B log B).
 */
export function buildBarrierIndex(coords: ArrayLike<number>, offsets: ArrayLike<number>): BarrierIndex {
  const lineCount = Math.max(0, offsets.length - 1);
  let segmentCount = 0;
  for (let l = 0; l < lineCount; l++) segmentCount += Math.max(0, offsets[l + 1] - offsets[l] - 1);
  const flat = Float64Array.from(coords);
  const segmentStart = new Uint32Array(segmentCount);
  const tree = segmentCount > 0 ? new Flatbush(segmentCount) : null;
  let s = 0;
  for (let l = 0; l < lineCount; l++) {
    for (let i = offsets[l]; i + 1 < offsets[l + 1]; i++) {
      segmentStart[s++] = i;
      const x0 = flat[2 * i],
        y0 = flat[2 * i + 1],
        x1 = flat[2 * i + 2],
        y1 = flat[2 * i + 3];
      tree!.add(Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1));
    }
  }
  tree?.finish();
  return barrierIndexFromParts(flat, tree, segmentStart);
}

/** A barrier index from its stored parts: what {@link buildBarrierIndex} returns for the same lines. */
export function barrierIndexFromParts(
  flat: Float64Array,
  tree: Flatbush | null,
  segmentStart: Uint32Array,
): BarrierIndex {
  const scratch = { ax: 0, ay: 0, bx: 0, by: 0 };
  const crosses = (segment: number): boolean => {
    const i = segmentStart[segment];
    return properlyCross(
      scratch.ax,
      scratch.ay,
      scratch.bx,
      scratch.by,
      flat[2 * i],
      flat[2 * i + 1],
      flat[2 * i + 2],
      flat[2 * i + 3],
    );
  };
  return { coords: flat, tree, segmentStart, scratch, crosses };
}

/**
 * Whether the straight leg between two WGS 84 points properly crosses a barrier segment: meets it
 * at one point interior to both. Touching a barrier's end or running along it does not count.
 * O(log B + k).
 */
export function crossesBarrier(
  barriers: BarrierIndex,
  lng1: number,
  lat1: number,
  lng2: number,
  lat2: number,
): boolean {
  if (!barriers.tree) return false;
  const s = barriers.scratch;
  s.ax = lng1;
  s.ay = lat1;
  s.bx = lng2;
  s.by = lat2;
  return barriers.tree.collides(
    Math.min(lng1, lng2),
    Math.min(lat1, lat2),
    Math.max(lng1, lng2),
    Math.max(lat1, lat2),
    barriers.crosses,
  );
}

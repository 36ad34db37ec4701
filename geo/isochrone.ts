import { isobands } from '@turf/turf';
import type { Feature, MultiLineString, MultiPolygon, Point } from 'geojson';
import { lineSliceAtFractions, makeLocalProjection } from './geodesy.ts';
import { DIR_BACKWARD, DIR_FORWARD, DIR_NONE, type WalkGraph } from './graph.ts';
import type { SearchResult } from './dijkstra.ts';

/**
 * Half-width in metres of the isochrone polygon around the reached streets. Chosen, not from a
 * standard: 40 m takes in the row of buildings that fronts a street (Chengdu's street-facing
 * residential and shop rows are 20–40 m deep) and closes the gap between parallel reached streets
 * up to 80 m apart, without claiming the inside of a superblock whose interior ways are unmapped.
 */
export const ISOCHRONE_BUFFER_M = 40;

/** The parts of the network within a walking distance of the nearest source. */
export interface Isochrone {
  maxDistM: number;
  /** total length of the reached parts, in the edges' lengthM scale, metres */
  reachedLengthM: number;
  /** one entry per reached piece, by ascending edge id then position along the edge */
  pieceEdge: number[];
  /** piece start and end as distance from the edge's `from` node, metres (fromM < toM) */
  pieceFromM: number[];
  pieceToM: number[];
  /** the pieces, cut in proportion to geodesic length along each polyline, from→to oriented */
  lines: Feature<MultiLineString, { maxDistM: number; reachedLengthM: number }>;
}

/**
 * Everything reachable within `maxDistM` (≤ `result.maxDistM`): each edge contributes the union of
 * the stretch walked in from its `from` node (`maxDistM − dist[from]`, if the edge may be walked
 * from→to), the stretch walked in from its `to` node, and the stretch around each source snapped
 * onto it (`maxDistM − accessM` either way, as the edge's direction allows). A {@link DIR_NONE}
 * edge is walked into from both ends, as points on it are reached. Access legs are not drawn.
 * O(R log R + N + points on reached edges) for the R arcs leaving reached nodes and N no-through
 * edges.
 */
export function isochrone(graph: WalkGraph, result: SearchResult, maxDistM: number): Isochrone {
  if (!(maxDistM <= result.maxDistM)) {
    throw new RangeError(
      `maxDistM ${maxDistM} exceeds the search bound ${result.maxDistM}: nodes beyond it are unlabelled`,
    );
  }
  const { arcOffset, arcEdge, edgeFrom, edgeTo, edgeDir, edgeLengthM, edgeCoords, edgeCoordOffset } = graph;
  const { dist, reached } = result;

  // candidate edges: those leaving reached nodes, no-through edges at reached nodes (they have
  // no arcs), and those with a source on them
  const noThrough = noThroughEdges(graph);
  let count = noThrough.length + result.edgeSources.length;
  for (const u of reached) count += arcOffset[u + 1] - arcOffset[u];
  const candidates = new Int32Array(count);
  let c = 0;
  for (const u of reached) {
    if (dist[u] > maxDistM) continue;
    for (let a = arcOffset[u]; a < arcOffset[u + 1]; a++) candidates[c++] = arcEdge[a];
  }
  for (const e of noThrough) if (dist[edgeFrom[e]] <= maxDistM || dist[edgeTo[e]] <= maxDistM) candidates[c++] = e;
  for (const s of result.edgeSources) candidates[c++] = s.snap.edge;
  const edges = candidates.subarray(0, c).sort();

  const pieceEdge: number[] = [],
    pieceFromM: number[] = [],
    pieceToM: number[] = [];
  const coordinates: [number, number][][] = [];
  const lo: number[] = [],
    hi: number[] = [];
  let reachedLengthM = 0;
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i];
    if (i > 0 && edges[i - 1] === e) continue;
    const lengthM = edgeLengthM[e];
    if (!(lengthM > 0)) continue;
    const dir = edgeDir[e];
    lo.length = 0;
    hi.length = 0;
    const dFrom = dist[edgeFrom[e]],
      dTo = dist[edgeTo[e]];
    if (dir !== DIR_BACKWARD && dFrom <= maxDistM) {
      lo.push(0);
      hi.push(Math.min(lengthM, maxDistM - dFrom));
    }
    if (dir !== DIR_FORWARD && dTo <= maxDistM) {
      lo.push(Math.max(0, lengthM - (maxDistM - dTo)));
      hi.push(lengthM);
    }
    for (const k of result.edgeSourcesByEdge.get(e) ?? []) {
      const { snap } = result.edgeSources[k];
      const rangeM = maxDistM - snap.accessM;
      if (rangeM < 0) continue;
      lo.push(dir === DIR_FORWARD ? snap.alongM : Math.max(0, snap.alongM - rangeM));
      hi.push(dir === DIR_BACKWARD ? snap.alongM : Math.min(lengthM, snap.alongM + rangeM));
    }
    mergeIntervals(lo, hi);
    const start = edgeCoordOffset[e],
      end = edgeCoordOffset[e + 1];
    for (let j = 0; j < lo.length; j++) {
      if (!(hi[j] > lo[j])) continue;
      pieceEdge.push(e);
      pieceFromM.push(lo[j]);
      pieceToM.push(hi[j]);
      reachedLengthM += hi[j] - lo[j];
      coordinates.push(lineSliceAtFractions(edgeCoords, start, end, lo[j] / lengthM, hi[j] / lengthM));
    }
  }

  return {
    maxDistM,
    reachedLengthM,
    pieceEdge,
    pieceFromM,
    pieceToM,
    lines: {
      type: 'Feature',
      properties: { maxDistM, reachedLengthM },
      geometry: { type: 'MultiLineString', coordinates },
    },
  };
}

const noThroughCache = new WeakMap<WalkGraph, Int32Array>();

/** The {@link DIR_NONE} edges of a graph, found once per graph. O(E) the first time. */
function noThroughEdges(graph: WalkGraph): Int32Array {
  let edges = noThroughCache.get(graph);
  if (!edges) {
    const list: number[] = [];
    for (let e = 0; e < graph.edgeCount; e++) if (graph.edgeDir[e] === DIR_NONE) list.push(e);
    edges = Int32Array.from(list);
    noThroughCache.set(graph, edges);
  }
  return edges;
}

/** Sorts intervals by start and merges overlapping or touching ones, in place. O(k log k), k small. */
function mergeIntervals(lo: number[], hi: number[]): void {
  const order = lo.map((_, i) => i).sort((a, b) => lo[a] - lo[b] || hi[a] - hi[b]);
  const sortedLo = order.map((i) => lo[i]),
    sortedHi = order.map((i) => hi[i]);
  lo.length = 0;
  hi.length = 0;
  for (let i = 0; i < sortedLo.length; i++) {
    const n = lo.length;
    if (n > 0 && sortedLo[i] <= hi[n - 1]) {
      if (sortedHi[i] > hi[n - 1]) hi[n - 1] = sortedHi[i];
    } else {
      lo.push(sortedLo[i]);
      hi.push(sortedHi[i]);
    }
  }
}

/** Options for {@link isochronePolygon}. */
/** [minLng, minLat, maxLng, maxLat] of every vertex of the lines (of a non-empty isochrone). */
export function linesBbox(lines: readonly (readonly number[])[][]): [number, number, number, number] {
  let minLng = Infinity,
    minLat = Infinity,
    maxLng = -Infinity,
    maxLat = -Infinity;
  for (const line of lines) {
    for (const [lng, lat] of line) {
      if (lng < minLng) minLng = lng;
      if (lng > maxLng) maxLng = lng;
      if (lat < minLat) minLat = lat;
      if (lat > maxLat) maxLat = lat;
    }
  }
  return [minLng, minLat, maxLng, maxLat];
}

export interface IsochronePolygonOptions {
  /** half-width around the reached lines, metres; default {@link ISOCHRONE_BUFFER_M} */
  bufferM?: number;
  /**
   * side of the distance grid the outline is traced on, metres; default bufferM / 5, coarsened
   * so that the grid stays under {@link MAX_GRID_POINTS}. The outline is within about half a
   * cell of the exact buffer.
   */
  cellM?: number;
}

/** Largest distance grid {@link isochronePolygon} builds (memory and time of turf isobands). */
export const MAX_GRID_POINTS = 400_000;

/**
 * The isochrone as an area: the reached lines buffered by `bufferM` and dissolved. Traced as the
 * `distance < bufferM` band of a grid of distances to the lines (marching squares, turf isobands),
 * because turf buffer and union of ~2,000 segments take tens of seconds (buffering the
 * MultiLineString once: 64 s for 2,844 segments here) while this takes well under one.
 * Null when nothing was reached. Not for hot loops: O(G + Σ segment stamp areas) for G grid points.
 */
export function isochronePolygon(iso: Isochrone, options: IsochronePolygonOptions = {}): Feature<MultiPolygon> | null {
  const lines = iso.lines.geometry.coordinates;
  if (lines.length === 0) return null;
  const bufferM = options.bufferM ?? ISOCHRONE_BUFFER_M;
  if (!(bufferM > 0)) throw new RangeError(`bufferM ${bufferM} must be > 0`);

  const [minLng, minLat, maxLng, maxLat] = linesBbox(lines);
  const projection = makeLocalProjection((minLng + maxLng) / 2, (minLat + maxLat) / 2);
  const { toX, toY } = projection;
  const widthM = toX(maxLng) - toX(minLng) + 2 * bufferM,
    heightM = toY(maxLat) - toY(minLat) + 2 * bufferM;
  const cellM = Math.max(options.cellM ?? bufferM / 5, Math.sqrt((widthM * heightM) / MAX_GRID_POINTS));
  // two spare cells on every side keep the band closed inside the grid
  const originX = toX(minLng) - bufferM - 2 * cellM,
    originY = toY(minLat) - bufferM - 2 * cellM;
  const nx = Math.ceil(widthM / cellM) + 5,
    ny = Math.ceil(heightM / cellM) + 5;
  const field = new Float64Array(nx * ny).fill(Infinity);

  for (const line of lines) {
    for (let k = 1; k < line.length; k++) {
      const ax = toX(line[k - 1][0]),
        ay = toY(line[k - 1][1]),
        bx = toX(line[k][0]),
        by = toY(line[k][1]);
      const dx = bx - ax,
        dy = by - ay,
        len2 = dx * dx + dy * dy;
      const i0 = Math.max(0, Math.floor((Math.min(ax, bx) - bufferM - originX) / cellM));
      const i1 = Math.min(nx - 1, Math.ceil((Math.max(ax, bx) + bufferM - originX) / cellM));
      const j0 = Math.max(0, Math.floor((Math.min(ay, by) - bufferM - originY) / cellM));
      const j1 = Math.min(ny - 1, Math.ceil((Math.max(ay, by) + bufferM - originY) / cellM));
      for (let j = j0; j <= j1; j++) {
        const py = originY + j * cellM;
        for (let i = i0; i <= i1; i++) {
          const px = originX + i * cellM;
          let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
          t = t < 0 ? 0 : t > 1 ? 1 : t;
          const ex = ax + t * dx - px,
            ey = ay + t * dy - py;
          const d = Math.sqrt(ex * ex + ey * ey);
          if (d < field[j * nx + i]) field[j * nx + i] = d;
        }
      }
    }
  }

  const points: Feature<Point, { distM: number }>[] = new Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    const lat = projection.toLat(originY + j * cellM);
    for (let i = 0; i < nx; i++) {
      const distM = field[j * nx + i];
      points[j * nx + i] = {
        type: 'Feature',
        properties: { distM: distM === Infinity ? 2 * bufferM : distM },
        geometry: { type: 'Point', coordinates: [projection.toLng(originX + i * cellM), lat] },
      };
    }
  }
  const bands = isobands({ type: 'FeatureCollection', features: points }, [-1, bufferM], { zProperty: 'distM' });
  const band = bands.features[0];
  if (!band || band.geometry.coordinates.length === 0) return null;
  return {
    type: 'Feature',
    properties: { maxDistM: iso.maxDistM, reachedLengthM: iso.reachedLengthM, bufferM, cellM },
    geometry: band.geometry,
  };
}

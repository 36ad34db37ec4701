import { isobands } from '@turf/turf';
import type { Feature, MultiPolygon, Point } from 'geojson';
import { makeLocalProjection } from './geodesy.ts';
import { DIR_BACKWARD, DIR_FORWARD, type WalkGraph } from './graph.ts';
import type { SearchResult } from './dijkstra.ts';
import { isochrone, linesBbox } from './isochrone.ts';

/**
 * Width in metres either side of a reached street that counts as reached at the street's own
 * walking distance: the frontage a pedestrian on the pavement stands in. Chosen, not from a
 * standard (Chengdu's street-facing rows are 20–40 m deep; the narrower figure claims less).
 */
export const BAND_FRONTAGE_M = 20;

/**
 * Farthest a band reaches off the mapped network, metres (beyond the frontage): the walk from a
 * street into an unmapped block interior, counted at walking distance. Half the 300 m block side of
 * GB 50180-2018's residential street grid guidance fills a block walked round on all sides; larger
 * unmapped interiors stay holes, so the polygon claims no superblock it cannot show a way into.
 */
export const BAND_OFF_STREET_MAX_M = 150;

/** Largest grid {@link isochroneBands} traces (memory and time of the marching squares). */
export const MAX_BAND_GRID_POINTS = 600_000;

/** One band: the area reached within `limitM` on foot. */
export interface IsochroneBand {
  limitM: number;
  polygon: Feature<MultiPolygon, { limitM: number }> | null;
}

/** What {@link isochroneBands} built, with the grid it traced on. */
export interface IsochroneBands {
  bands: IsochroneBand[];
  /** grid spacing, metres */
  cellM: number;
  /** half-width at the street's own distance, metres (raised above BAND_FRONTAGE_M when the grid had to be coarsened) */
  frontageM: number;
  offStreetMaxM: number;
  /** points along the reached streets that were stamped into the grid */
  samples: number;
  /** the reached pieces of the largest band (as {@link isochrone} cuts them) */
  reachedLengthM: number;
}

/** Options for {@link isochroneBands}; defaults are the exported constants. */
export interface IsochroneBandsOptions {
  frontageM?: number;
  offStreetMaxM?: number;
}

/**
 * Walking distance at the point `alongM` metres along edge e, by the ways in the search allows:
 * through either end (as the edge's direction permits), or along the edge from a source snapped
 * onto it, access leg included. Infinity when none. O(1 + sources on e).
 */
export function distanceOnEdge(graph: WalkGraph, result: SearchResult, e: number, alongM: number): number {
  const dir = graph.edgeDir[e],
    lengthM = graph.edgeLengthM[e];
  let best = Infinity;
  if (dir !== DIR_BACKWARD || alongM === 0) best = Math.min(best, result.dist[graph.edgeFrom[e]] + alongM);
  if (dir !== DIR_FORWARD || alongM === lengthM)
    best = Math.min(best, result.dist[graph.edgeTo[e]] + (lengthM - alongM));
  for (const k of result.edgeSourcesByEdge.get(e) ?? []) {
    const { snap } = result.edgeSources[k];
    const deltaM = alongM - snap.alongM;
    if ((deltaM > 0 && dir === DIR_BACKWARD) || (deltaM < 0 && dir === DIR_FORWARD)) continue;
    best = Math.min(best, snap.accessM + Math.abs(deltaM));
  }
  return best;
}

/**
 * Nested isochrone areas, one per limit (e.g. 300 / 500 / 1000 m), as a planner reads them: a
 * travel-distance surface on a grid, contoured per limit (marching squares, turf isobands), the way
 * Valhalla and R5 (Conveyal) build theirs rather than a concave hull of reached nodes
 * (openrouteservice), which bridges rivers and rail lines the walk never crosses.
 *
 * Each grid point takes the least of `d + max(0, s − frontageM)` over points along the reached
 * streets at walking distance d and straight-line distance s ≤ frontageM + offStreetMaxM: the walk
 * to the street point, then straight on into the block. So a block walked round on all sides is
 * filled, a street reached with little distance left is a thin corridor, and a block interior more
 * than `offStreetMaxM` from every reached street stays a hole.
 *
 * Guarantee (tested): every point of a reached street within a limit lies inside that limit's
 * polygon. Street points are sampled every cellM / 2 and the grid spacing is frontageM / 2, so some
 * sample no farther than the point lies within cellM / 2, and every corner of the point's grid cell
 * within cellM / 2 + cellM·√2 < frontageM of that sample.
 *
 * Cost O(R / cellM · ((frontageM + offStreetMaxM) / cellM)² + G) for R metres of reached street and
 * G grid points (capped at {@link MAX_BAND_GRID_POINTS} by coarsening the grid, which widens the
 * frontage to keep the guarantee). Not for hot loops: run it on the worker pool.
 */
export function isochroneBands(
  graph: WalkGraph,
  result: SearchResult,
  limitsM: readonly number[],
  options: IsochroneBandsOptions = {},
): IsochroneBands {
  const limits = [...limitsM].sort((a, b) => a - b);
  if (!limits.length || !limits.every((l) => l > 0))
    throw new RangeError(`band limits must be positive metres, got ${limitsM.join(', ')}`);
  const maxL = limits[limits.length - 1];
  const iso = isochrone(graph, result, maxL);
  let frontageM = options.frontageM ?? BAND_FRONTAGE_M;
  const offStreetMaxM = options.offStreetMaxM ?? BAND_OFF_STREET_MAX_M;
  const empty = (cellM: number): IsochroneBands => ({
    bands: limits.map((limitM) => ({ limitM, polygon: null })),
    cellM,
    frontageM,
    offStreetMaxM,
    samples: 0,
    reachedLengthM: 0,
  });
  const lines = iso.lines.geometry.coordinates;
  if (!lines.length) return empty(frontageM / 2);

  const [minLng, minLat, maxLng, maxLat] = linesBbox(lines);
  const { toX, toY, toLng, toLat } = makeLocalProjection((minLng + maxLng) / 2, (minLat + maxLat) / 2);
  const spanX = toX(maxLng) - toX(minLng),
    spanY = toY(maxLat) - toY(minLat);
  let cellM = frontageM / 2;
  const coarsest = Math.sqrt(
    ((spanX + 2 * (frontageM + offStreetMaxM)) * (spanY + 2 * (frontageM + offStreetMaxM))) / MAX_BAND_GRID_POINTS,
  );
  if (coarsest > cellM) {
    cellM = coarsest * 1.1;
    frontageM = 2 * cellM;
  }
  const stampM = frontageM + offStreetMaxM;
  // two spare cells on every side keep every band closed inside the grid
  const originX = toX(minLng) - stampM - 2 * cellM,
    originY = toY(minLat) - stampM - 2 * cellM;
  const nx = Math.ceil((spanX + 2 * stampM) / cellM) + 5,
    ny = Math.ceil((spanY + 2 * stampM) / cellM) + 5;
  const field = new Float64Array(nx * ny).fill(Infinity);

  let samples = 0;
  const stamp = (x: number, y: number, d: number) => {
    samples++;
    const r = frontageM + Math.min(offStreetMaxM, maxL - d);
    const i0 = Math.max(0, Math.floor((x - r - originX) / cellM)),
      i1 = Math.min(nx - 1, Math.ceil((x + r - originX) / cellM));
    const j0 = Math.max(0, Math.floor((y - r - originY) / cellM)),
      j1 = Math.min(ny - 1, Math.ceil((y + r - originY) / cellM));
    const r2 = r * r;
    for (let j = j0; j <= j1; j++) {
      const dy = originY + j * cellM - y;
      for (let i = i0; i <= i1; i++) {
        const dx = originX + i * cellM - x;
        const s2 = dx * dx + dy * dy;
        if (s2 > r2) continue;
        const s = Math.sqrt(s2);
        const v = d + (s > frontageM ? s - frontageM : 0);
        const k = j * nx + i;
        if (v < field[k]) field[k] = v;
      }
    }
  };
  const stepM = cellM / 2;
  for (let p = 0; p < lines.length; p++) {
    const e = iso.pieceEdge[p],
      fromM = iso.pieceFromM[p],
      toM = iso.pieceToM[p];
    const line = lines[p];
    const xs = line.map(([lng]) => toX(lng)),
      ys = line.map(([, lat]) => toY(lat));
    let totalM = 0;
    for (let k = 1; k < xs.length; k++) totalM += Math.hypot(xs[k] - xs[k - 1], ys[k] - ys[k - 1]);
    const at = (t: number) => fromM + (totalM > 0 ? t / totalM : 0) * (toM - fromM);
    // every vertex, and points every stepM between them (the piece's ends included)
    let walkedM = 0;
    for (let k = 0; k < xs.length; k++) {
      if (k > 0) {
        const segM = Math.hypot(xs[k] - xs[k - 1], ys[k] - ys[k - 1]);
        const n = Math.floor(segM / stepM);
        for (let q = 1; q <= n; q++) {
          const f = (q * stepM) / segM;
          if (f >= 1) break;
          stamp(
            xs[k - 1] + f * (xs[k] - xs[k - 1]),
            ys[k - 1] + f * (ys[k] - ys[k - 1]),
            Math.min(maxL, distanceOnEdge(graph, result, e, at(walkedM + f * segM))),
          );
        }
        walkedM += segM;
      }
      stamp(xs[k], ys[k], Math.min(maxL, distanceOnEdge(graph, result, e, at(walkedM))));
    }
  }

  const points: Feature<Point, { d: number }>[] = new Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    const lat = toLat(originY + j * cellM);
    for (let i = 0; i < nx; i++) {
      const v = field[j * nx + i];
      points[j * nx + i] = {
        type: 'Feature',
        properties: { d: v === Infinity ? 2 * maxL + 1 : v },
        geometry: { type: 'Point', coordinates: [toLng(originX + i * cellM), lat] },
      };
    }
  }
  const grid = { type: 'FeatureCollection' as const, features: points };
  return {
    // Each band is traced on its own as [−1, limit + 0.5 m): the half metre keeps a street end
    // reached at exactly the limit inside, where marching squares would put it on the outline.
    bands: limits.map((limitM) => {
      const band = isobands(grid, [-1, limitM + 0.5], { zProperty: 'd' }).features[0];
      const coordinates = band?.geometry.coordinates ?? [];
      return {
        limitM,
        polygon: coordinates.length
          ? { type: 'Feature', properties: { limitM }, geometry: { type: 'MultiPolygon', coordinates } }
          : null,
      };
    }),
    cellM,
    frontageM,
    offStreetMaxM,
    samples,
    reachedLengthM: iso.reachedLengthM,
  };
}

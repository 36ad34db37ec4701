/**
 * Candidate open-space sites for suggestions: the site size a rule accepts, the square drawn for a
 * site, and the regular grid of sites over an extent. Planar maths in the local projection; no I/O.
 */

import type { Polygon } from 'geojson';
import { makeLocalProjection } from './geodesy.ts';
import type { RuleSet } from './rules/index.ts';
import { PARK_MIN_AREA_M2 } from './scenario/open-space.ts';

/**
 * The site size grid candidates get for a rule: the larger of `defaultM2` and the smallest size
 * some tier accepts (a tier counting only parks needs PARK_MIN_AREA_M2); null when no tier counts
 * parks or green spaces.
 */
export function gridSiteAreaM2(rule: RuleSet['rules'][number], defaultM2: number): number | null {
  let smallest = Infinity;
  for (const t of rule.tiers) {
    if (t.categories.includes('green_space')) smallest = Math.min(smallest, t.minAreaM2 ?? 0);
    else if (t.categories.includes('park')) smallest = Math.min(smallest, Math.max(PARK_MIN_AREA_M2, t.minAreaM2 ?? 0));
  }
  return smallest === Infinity ? null : Math.max(defaultM2, smallest);
}

/** A square of `areaM2` centred on a point, sides along the meridian and parallel. */
export function squareAround(lng: number, lat: number, areaM2: number): Polygon {
  const half = Math.sqrt(areaM2) / 2;
  const { metresPerDegLng, metresPerDegLat } = makeLocalProjection(lng, lat);
  const dLat = half / metresPerDegLat;
  const dLng = half / metresPerDegLng;
  return {
    type: 'Polygon',
    coordinates: [
      [
        [lng - dLng, lat - dLat],
        [lng + dLng, lat - dLat],
        [lng + dLng, lat + dLat],
        [lng - dLng, lat + dLat],
        [lng - dLng, lat - dLat],
      ],
    ],
  };
}

/**
 * A grid of points every `spacingM` over `[minLng, minLat, maxLng, maxLat]`, the first half a step
 * in from the south-west corner, spaced in the local projection at the extent's centre.
 */
export function gridOver(bbox: readonly [number, number, number, number], spacingM: number) {
  const [minLng, minLat, maxLng, maxLat] = bbox;
  const { metresPerDegLng, metresPerDegLat } = makeLocalProjection((minLng + maxLng) / 2, (minLat + maxLat) / 2);
  const stepLng = spacingM / metresPerDegLng;
  const stepLat = spacingM / metresPerDegLat;
  const nx = Math.floor((maxLng - minLng) / stepLng) + 1;
  const ny = Math.floor((maxLat - minLat) / stepLat) + 1;
  return {
    originLng: minLng + stepLng / 2,
    originLat: minLat + stepLat / 2,
    stepLng,
    stepLat,
    nx,
    ny,
    metresPerDegLat,
  };
}

/**
 * How many points of `grid` lie inside `bbox` ([minLng, minLat, maxLng, maxLat], edges included):
 * counted per axis from the steps, without generating a point. With `bbox` the extent of every
 * point that could pass the vacant-land test (the network's extent grown by the largest distance a
 * candidate may lie from it), this is an upper bound on the candidates the grid query can return,
 * known before any query runs. O(1).
 */
export function gridPointsInside(
  grid: { originLng: number; originLat: number; stepLng: number; stepLat: number; nx: number; ny: number },
  bbox: readonly [number, number, number, number],
): number {
  const along = (origin: number, step: number, n: number, lo: number, hi: number): number => {
    // indexes i in [0, n) with lo <= origin + i * step <= hi; the epsilon keeps a point lying on an
    // edge (up to rounding) inside, so the count is never below the true one
    const eps = step * 1e-9;
    const first = Math.max(0, Math.ceil((lo - origin - eps) / step));
    const last = Math.min(n - 1, Math.floor((hi - origin + eps) / step));
    return Math.max(0, last - first + 1);
  };
  return (
    along(grid.originLng, grid.stepLng, grid.nx, bbox[0], bbox[2]) *
    along(grid.originLat, grid.stepLat, grid.ny, bbox[1], bbox[3])
  );
}

/** The extent [minLng, minLat, maxLng, maxLat] of interleaved lng, lat pairs (a graph's edgeCoords); O(n). */
export function extentOfCoords(coords: ArrayLike<number>): [number, number, number, number] {
  let minLng = Infinity,
    minLat = Infinity,
    maxLng = -Infinity,
    maxLat = -Infinity;
  for (let i = 0; i + 1 < coords.length; i += 2) {
    if (coords[i] < minLng) minLng = coords[i];
    if (coords[i] > maxLng) maxLng = coords[i];
    if (coords[i + 1] < minLat) minLat = coords[i + 1];
    if (coords[i + 1] > maxLat) maxLat = coords[i + 1];
  }
  return [minLng, minLat, maxLng, maxLat];
}

/**
 * An upper bound on the grid candidates the vacant-land test can pass: every candidate lies within
 * `maxNetworkM` of a walkable edge, so inside the network's extent (of every edge vertex) grown by
 * that distance — grown here by half as much again, with the longitude margin taken at the
 * extent's highest latitude, so the bound never falls short. Known before any query. O(1).
 */
export function gridCandidateBound(
  grid: Parameters<typeof gridPointsInside>[0] & { metresPerDegLat: number },
  networkExtent: readonly [number, number, number, number],
  maxNetworkM: number,
): number {
  const [x0, y0, x1, y1] = networkExtent;
  if (!(x0 <= x1 && y0 <= y1)) return 0;
  const padLat = (maxNetworkM * 1.5) / grid.metresPerDegLat;
  const highest = Math.min(89, Math.max(Math.abs(y0), Math.abs(y1)) + padLat);
  const padLng = padLat / Math.cos((highest * Math.PI) / 180);
  return gridPointsInside(grid, [x0 - padLng, y0 - padLat, x1 + padLng, y1 + padLat]);
}

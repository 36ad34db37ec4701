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
    coordinates: [[[lng - dLng, lat - dLat], [lng + dLng, lat - dLat], [lng + dLng, lat + dLat], [lng - dLng, lat + dLat], [lng - dLng, lat - dLat]]],
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
  return { originLng: minLng + stepLng / 2, originLat: minLat + stepLat / 2, stepLng, stepLat, nx, ny, metresPerDegLat };
}

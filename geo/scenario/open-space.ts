import { area as turfArea, pointOnFeature } from '@turf/turf';
import type { EngineFacility } from '../distance-field.ts';
import { geodesicM, makeLocalProjection } from '../geodesy.ts';
import { PlanError, polygonsOf, preparePlan, type ScenarioPlan } from './plan.ts';

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

/**
 * Points every `spacingM` metres (geodesic) along `[lng, lat]` positions from the first one; the
 * last position only when it falls on the spacing (a closed ring's end is its start).
 */
function sampleLngLatLine(positions: readonly number[][], spacingM: number): [number, number][] {
  const out: [number, number][] = [];
  let next = 0,
    walked = 0;
  for (let i = 0; i + 1 < positions.length; i++) {
    const [lng0, lat0] = positions[i],
      [lng1, lat1] = positions[i + 1];
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
  if (g.type === 'LineString')
    throw new PlanError(plan.ref, `plan ${plan.ref}: an open space needs a Polygon or MultiPolygon`);
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

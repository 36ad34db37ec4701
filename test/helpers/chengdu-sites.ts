import { squareAround } from '../../geo/candidate-sites.ts';

/** Centres of residential clusters beyond 500 m of any park in central Chengdu (OSM 2018). */
export const SITES = {
  south: [104.08665, 30.65816],
  southEast: [104.088, 30.65816], // 130 m east of `south`: their 500 m catchments overlap
  north: [104.10772, 30.71754], // 6.6 km from `south`: nobody lives within 1 km of both
  northEast: [104.11197, 30.71731],
  middle: [104.10313, 30.66721],
  middleNorth: [104.10196, 30.68758],
} as const;
export type Site = keyof typeof SITES;

/** A 70 m × 70 m (4900 m²) new park: counts for green_300 and park_500. */
export const park = (site: Site, name: string = site) => ({
  kind: 'add_open_space',
  name,
  geometry: squareAround(SITES[site][0], SITES[site][1], 4900),
});
/** A 100 m × 100 m cleared illegal block with streets within reach of its outline. */
export const CLEARED = squareAround(SITES.middle[0], SITES.middle[1], 10_000);

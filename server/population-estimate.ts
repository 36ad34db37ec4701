// The population estimate's constants, read by the import (derive-layers.ts) and by the
// coverage compute (load-network.ts), so neither folder imports the other.

/**
 * Population estimate constants (README "Population").
 * - Floor area per resident: 39 m², China's urban per-capita housing floor area for 2018
 *   (National Bureau of Statistics, Statistical Communiqué 2018 / China Statistical Yearbook 2019).
 * - Levels when building:levels is missing: by building type ({@link DEFAULT_LEVELS}); 6 for
 *   apartments, residential, dormitory and untagged buildings (a local choice: the walk-up 单元楼 of
 *   Chengdu's older compounds); marked as an estimate like every derived population.
 * - Fallback for residential areas whose mapped buildings cover little: floor-area ratio 1.5
 *   (a local choice inside GB 50180-2018 table 4.0.2's range for 7–9 storey 居住街坊, 1.5–1.7
 *   in climate zones III–V), i.e. area_m2 × 1.5 / 39 residents.
 * - "Covers little": mapped floor area below 0.3 × the area's land area (local choice).
 * - Footprint floor: an untagged building=yes smaller than 30 m² is a shed, kiosk, garage or
 *   substation, not a home (local choice: below the footprint of the smallest row house or 单元楼).
 * - Outline ceiling: a residential building without building:levels whose footprint exceeds
 *   10 000 m² is a compound outline mapped as a building (central Chengdu has a 6.6 ha one), so
 *   its floor area is footprint × the fallback floor-area ratio, as for land (local choice).
 * - Residential buildings outside any landuse=residential within 20 m of each other form one
 *   derived residential area (kind 'buildings'), outlined by their 10 m buffer.
 */
export const POPULATION_ESTIMATE = {
  floorAreaPerResidentM2: 39,
  defaultLevels: 6,
  fallbackFloorAreaRatio: 1.5,
  minMappedFloorAreaRatio: 0.3,
  minUntaggedFootprintM2: 30,
  maxBuildingFootprintM2: 10_000,
  clusterDistanceM: 20,
  clusterBufferM: 10,
} as const;

/** building=* values that are homes wherever they stand; building=yes counts under the rule of README "Population". */
export const RESIDENTIAL_BUILDING_TYPES = [
  'residential',
  'apartments',
  'house',
  'dormitory',
  'terrace',
  'detached',
  'semidetached_house',
  'bungalow',
  'farm',
  'cabin',
  'static_caravan',
  'houseboat',
] as const;

/**
 * Storeys assumed when building:levels is missing, by building type (local choices, README
 * "Population"): a house is two storeys, not six; anything else residential takes
 * {@link POPULATION_ESTIMATE.defaultLevels}.
 */
export const DEFAULT_LEVELS: Readonly<Record<string, number>> = {
  house: 2,
  detached: 2,
  semidetached_house: 2,
  farm: 2,
  terrace: 3,
  bungalow: 1,
  cabin: 1,
  static_caravan: 1,
  houseboat: 1,
};

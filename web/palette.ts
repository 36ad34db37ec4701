/** Colours shared by the map layers and the legend. */

/** One distinct colour per facility category (circle fill, route line). */
export const CATEGORY_COLORS: Record<string, string> = {
  park: '#2e7d32',
  green_space: '#7cb342',
  greenway: '#00897b',
  elderly_care: '#8e24aa',
  community_service: '#1e88e5',
  health: '#e53935',
  education: '#fb8c00',
  kindergarten: '#ec407a',
  primary_school: '#c49000',
  middle_school: '#6d4c41',
  market: '#f4511e',
  sports: '#3949ab',
};
export const FALLBACK_CATEGORY_COLOR = '#616161';

export function categoryColor(id: string): string {
  return CATEGORY_COLORS[id] ?? FALLBACK_CATEGORY_COLOR;
}

/**
 * Walking distance as a fraction of the rule's limit: two greens up to the limit, then warm
 * colours, so the limit itself is the one hue break a reader sees. Upper bounds of each class.
 */
export const DISTANCE_CLASSES: readonly { upTo: number; color: string }[] = [
  { upTo: 0.5, color: '#1b7a4a' },
  { upTo: 1, color: '#74c69d' },
  { upTo: 1.5, color: '#f6b26b' },
  { upTo: 2, color: '#e06636' },
  { upTo: Infinity, color: '#9b1c1c' },
];
/** Streets with no facility of the kind in their piece of the network (outcome no_path). */
export const UNREACHABLE_COLOR = '#8d8d8d';
/** Streets whose nearest facility of the kind lies beyond the distance cap (outcome beyond_cap). */
export const BEYOND_CAP_COLOR = '#5c1010';

/** Share of residents covered, for areas below target; areas at or above target are PASS_COLOR. */
export const SHARE_CLASSES: readonly { below: number; color: string }[] = [
  { below: 0.25, color: '#9b1c1c' },
  { below: 0.5, color: '#e06636' },
  { below: 0.75, color: '#f6b26b' },
  { below: 1.01, color: '#fde4b8' },
];
export const PASS_COLOR = '#52b788';
export const NO_RESULT_COLOR = '#bdbdbd';

export const PLAN_COLORS: Record<string, string> = {
  demolish_illegal: '#c62828',
  demolish_wall: '#6a1b9a',
  add_open_space: '#2e7d32',
};

export const ISOCHRONE_COLOR = '#3949ab';
export const HIGHLIGHT_COLOR = '#ff8f00';

/**
 * Walking distance a scenario saves on a street (before − after, metres), upper bounds of each
 * class; a sequential blue, so it reads apart from the green-to-red distance colours beneath.
 */
export const SAVED_CLASSES: readonly { upTo: number; color: string }[] = [
  { upTo: 50, color: '#9ecae1' },
  { upTo: 150, color: '#4292c6' },
  { upTo: 300, color: '#2166ac' },
  { upTo: Infinity, color: '#08306b' },
];
/** Streets with no facility of the kind in walking reach before (beyond the search bound): the saving has no figure. */
export const NEWLY_REACHED_COLOR = '#c51b7d';
/** New footpath links (through a cleared site or an opened wall) that bring no facility of the kind closer. */
export const NEW_LINK_COLOR = '#616161';
/** Temporary sites drawn in the scenario panel (sent inline, never stored). */
export const SCENARIO_SITE_COLOR = '#ff8f00';

/**
 * Where the residents of a home come from (README "Population"): counted figures (census table,
 * OSM population tag) in deep blues, estimated ones (population grid, floor-area estimate) in
 * lighter purples, so estimates read as estimates.
 */
export const POPULATION_SOURCE_COLORS: Record<'census' | 'osm' | 'grid' | 'estimate', string> = {
  census: '#1a237e',
  osm: '#3949ab',
  grid: '#8e24aa',
  estimate: '#ce93d8',
};

/** A walking distance's colour, as the streets show it: the ratio distance ÷ limit in DISTANCE_CLASSES. */
export function distanceColor(outcome: string, networkM: number | null, limitM: number): string {
  if (outcome === 'beyond_cap') return BEYOND_CAP_COLOR;
  if (outcome === 'no_path') return UNREACHABLE_COLOR;
  if (outcome !== 'distance' || networkM === null) return NO_RESULT_COLOR;
  const ratio = networkM / limitM;
  return (DISTANCE_CLASSES.find((c) => ratio <= c.upTo) ?? DISTANCE_CLASSES[DISTANCE_CLASSES.length - 1]).color;
}

/**
 * Change in an area's covered share between two runs (after − before, as a 0–1 fraction), for the
 * compare view: a diverging scheme, loss in reds and gain in blues around a neutral "no change"
 * (ColorBrewer RdBu, 7 classes: colorbrewer2.org). Upper bounds of each class; |change| below
 * NO_CHANGE_BELOW is no change (rounding between two runs of one input, not a change).
 */
export const CHANGE_CLASSES: readonly { below: number; color: string }[] = [
  { below: -0.1, color: '#b2182b' },
  { below: -0.02, color: '#ef8a62' },
  { below: 0, color: '#fddbc7' },
  { below: 0.02, color: '#d1e5f0' },
  { below: 0.1, color: '#67a9cf' },
  { below: Infinity, color: '#2166ac' },
];
export const NO_CHANGE_COLOR = '#f7f7f7';
/** |share change| below this (0.05 percentage points) is shown as no change. */
export const NO_CHANGE_BELOW = 0.0005;
/** Areas with results in only one of the two runs: grey, hatched, labelled. */
export const ONE_SIDE_COLOR = '#9e9e9e';

/** The colour of a share change as the compare view draws it (null: no figure). */
export function changeColor(change: number | null): string {
  if (change === null) return NO_RESULT_COLOR;
  if (Math.abs(change) < NO_CHANGE_BELOW) return NO_CHANGE_COLOR;
  return (CHANGE_CLASSES.find((c) => change < c.below) ?? CHANGE_CLASSES[CHANGE_CLASSES.length - 1]).color;
}

import type {
  ExpressionSpecification,
  FilterSpecification,
  LayerSpecification,
  Map as MapLibreMap,
  VectorSourceSpecification,
} from 'maplibre-gl';
import { tileUrl } from '../api/client.ts';
import type { RuleSet } from '../api/types.ts';
import { CATEGORY_COLORS, FALLBACK_CATEGORY_COLOR } from '../palette.ts';
import { ruleForCategory, ruleSetCategories } from '../rules.ts';
import { WORST } from '../state.ts';

export const FACILITIES_SOURCE = 'facilities';
export const FACILITY_POINTS = 'facility-points';
const FACILITY_AREAS = 'facility-areas';
const FACILITY_ACCESS = 'facility-access';
const SAMPLE_LABELS = 'facility-sample-labels';
const NAME_LABELS = 'facility-names';

export function facilitiesSource(): VectorSourceSpecification {
  return { type: 'vector', tiles: [tileUrl('facilities')], minzoom: 10, maxzoom: 16 };
}

const colourByCategory: ExpressionSpecification = [
  'match',
  ['get', 'category'],
  ...Object.entries(CATEGORY_COLORS).flat(),
  FALLBACK_CATEGORY_COLOR,
] as unknown as ExpressionSpecification;

const isSample: ExpressionSpecification = ['==', ['get', 'is_sample'], true];

/**
 * The categories shown for a selection: the category itself plus those its rule also counts
 * (e.g. parks count as green space), or every category the rule set measures for WORST.
 */
export function shownCategories(ruleSet: RuleSet, category: string): string[] {
  if (category === WORST) return ruleSetCategories(ruleSet);
  const rule = ruleForCategory(ruleSet, category);
  const tier = rule?.tiers.find((t) => t.categories.includes(category));
  return tier ? [category, ...tier.categories.filter((c) => c !== category)] : [category];
}

function categoryFilter(categories: string[]): FilterSpecification {
  return ['in', ['get', 'category'], ['literal', categories]] as FilterSpecification;
}

/**
 * Facility polygons (faint); from z14 where areas are entered on foot (small white dots ringed in
 * the category colour: gates, path crossings and sampled open edge, migration 0021); points by
 * category colour, hollow rings and a 示例 tag for sample facilities.
 */
export function facilitiesLayers(categories: string[]): LayerSpecification[] {
  const filter = categoryFilter(categories);
  return [
    {
      id: FACILITY_AREAS,
      type: 'fill',
      source: FACILITIES_SOURCE,
      'source-layer': 'facility_areas',
      filter,
      paint: { 'fill-color': colourByCategory, 'fill-opacity': 0.18, 'fill-outline-color': colourByCategory },
    },
    {
      id: FACILITY_ACCESS,
      type: 'circle',
      source: FACILITIES_SOURCE,
      'source-layer': 'facility_access',
      minzoom: 14,
      filter,
      paint: {
        'circle-radius': ['match', ['get', 'kind'], 'entrance', 4, 2.2],
        'circle-color': '#ffffff',
        'circle-stroke-color': colourByCategory,
        'circle-stroke-width': ['match', ['get', 'kind'], 'entrance', 2, 1.2],
      },
    },
    {
      id: FACILITY_POINTS,
      type: 'circle',
      source: FACILITIES_SOURCE,
      'source-layer': 'facilities',
      filter,
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 3, 14, 5.5, 17, 8],
        'circle-color': ['case', isSample, '#ffffff', colourByCategory],
        'circle-stroke-color': ['case', isSample, colourByCategory, '#ffffff'],
        'circle-stroke-width': ['case', isSample, 2.6, 1.4],
      },
    },
  ];
}

export function facilitiesLabelLayers(categories: string[], sampleWord: string): LayerSpecification[] {
  const filter = categoryFilter(categories);
  return [
    {
      id: SAMPLE_LABELS,
      type: 'symbol',
      source: FACILITIES_SOURCE,
      'source-layer': 'facilities',
      minzoom: 13,
      filter: ['all', filter, isSample] as FilterSpecification,
      layout: {
        'text-field': sampleWord,
        'text-size': 10,
        'text-offset': [0, 1.2],
        'text-anchor': 'top',
        'text-allow-overlap': false,
      },
      paint: { 'text-color': '#6a1b9a', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 },
    },
    {
      id: NAME_LABELS,
      type: 'symbol',
      source: FACILITIES_SOURCE,
      'source-layer': 'facilities',
      minzoom: 15.5,
      filter: ['all', filter, ['has', 'name']] as FilterSpecification,
      layout: {
        'text-field': ['get', 'name'],
        'text-size': 11,
        'text-offset': [0, -1.1],
        'text-anchor': 'bottom',
        'text-max-width': 9,
        'text-optional': true,
      },
      paint: { 'text-color': '#3d3a35', 'text-halo-color': '#ffffff', 'text-halo-width': 1.4 },
    },
  ];
}

export const FACILITY_LAYER_IDS = [FACILITY_AREAS, FACILITY_ACCESS, FACILITY_POINTS, SAMPLE_LABELS, NAME_LABELS];

export function updateFacilities(map: MapLibreMap, categories: string[], sampleWord: string, visible: boolean): void {
  for (const id of FACILITY_LAYER_IDS) {
    const filter =
      id === SAMPLE_LABELS
        ? (['all', categoryFilter(categories), isSample] as FilterSpecification)
        : id === NAME_LABELS
          ? (['all', categoryFilter(categories), ['has', 'name']] as FilterSpecification)
          : categoryFilter(categories);
    map.setFilter(id, filter);
    map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
  }
  map.setLayoutProperty(SAMPLE_LABELS, 'text-field', sampleWord);
}

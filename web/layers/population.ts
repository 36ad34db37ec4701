import type {
  ExpressionSpecification,
  LayerSpecification,
  Map as MapLibreMap,
  VectorSourceSpecification,
} from 'maplibre-gl';
import { tileUrl } from '../api/client.ts';
import { POPULATION_SOURCE_COLORS } from '../palette.ts';

export const POPULATION_SOURCE = 'population';
export const POPULATION_LAYER = 'population-circles';
/** The tiles start at z13 (migrations/0190_create_tile_population.sql). */
export const POPULATION_MIN_ZOOM = 13;

export function populationSource(): VectorSourceSpecification {
  return { type: 'vector', tiles: [tileUrl('population')], minzoom: POPULATION_MIN_ZOOM, maxzoom: 16 };
}

/** Radius in pixels at z16: circle area proportional to residents (√; 100 residents → 9 px), at least 1.5 px. */
const RADIUS_Z16: ExpressionSpecification = ['max', 1.5, ['*', 0.9, ['sqrt', ['to-number', ['get', 'population']]]]];

const SOURCE_COLOUR: ExpressionSpecification = [
  'match',
  ['get', 'population_source'],
  'census',
  POPULATION_SOURCE_COLORS.census,
  'osm',
  POPULATION_SOURCE_COLORS.osm,
  'grid',
  POPULATION_SOURCE_COLORS.grid,
  POPULATION_SOURCE_COLORS.estimate,
];

/**
 * Where people live: one circle per coverage origin (a residential building, or a sample point of
 * a residential area without buildings), its area proportional to the residents it stands for,
 * coloured by where that figure comes from. Hidden until the legend toggle turns it on.
 */
export function populationLayers(): LayerSpecification[] {
  return [
    {
      id: POPULATION_LAYER,
      type: 'circle',
      source: POPULATION_SOURCE,
      'source-layer': 'population',
      minzoom: POPULATION_MIN_ZOOM,
      layout: { visibility: 'none' },
      paint: {
        'circle-radius': [
          'interpolate',
          ['exponential', 2],
          ['zoom'],
          13,
          ['*', 0.35, RADIUS_Z16],
          16,
          RADIUS_Z16,
          19,
          ['*', 3, RADIUS_Z16],
        ],
        'circle-color': SOURCE_COLOUR,
        'circle-opacity': 0.55,
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 13, 0, 15, 0.6],
      },
    },
  ];
}

export function setPopulationVisible(map: MapLibreMap, visible: boolean): void {
  if (map.getLayer(POPULATION_LAYER))
    map.setLayoutProperty(POPULATION_LAYER, 'visibility', visible ? 'visible' : 'none');
}

/**
 * Residents of the homes drawn inside the map's view, in total and by population source; null
 * when the layer is hidden or not drawn at this zoom. A home counts once (tiles carry each origin
 * in one tile only; ids deduplicate what MapLibre returns twice) and only when its point lies in view.
 */
export function populationInView(
  map: MapLibreMap,
): { residents: number; homes: number; bySource: Record<string, number> } | null {
  if (
    !map.getLayer(POPULATION_LAYER) ||
    map.getLayoutProperty(POPULATION_LAYER, 'visibility') !== 'visible' ||
    map.getZoom() < POPULATION_MIN_ZOOM
  )
    return null;
  const bounds = map.getBounds();
  const seen = new Set<string | number>();
  const bySource: Record<string, number> = {};
  let residents = 0;
  for (const f of map.queryRenderedFeatures({ layers: [POPULATION_LAYER] })) {
    const id = f.id ?? f.properties.id;
    if (seen.has(id)) continue;
    const [lng, lat] = (f.geometry as unknown as { coordinates: [number, number] }).coordinates;
    if (!bounds.contains([lng, lat])) continue;
    seen.add(id);
    const pop = Number(f.properties.population);
    residents += pop;
    const src = String(f.properties.population_source);
    bySource[src] = (bySource[src] ?? 0) + pop;
  }
  return { residents: Math.round(residents * 100) / 100, homes: seen.size, bySource };
}

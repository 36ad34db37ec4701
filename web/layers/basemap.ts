import type { ExpressionSpecification, LayerSpecification, VectorSourceSpecification } from 'maplibre-gl';
import { tileUrl } from '../api/client.ts';

export const BASEMAP_SOURCE = 'basemap';
export const ATTRIBUTION = '© OpenStreetMap contributors';

/** Our own basemap tiles (water, landuse, green, roads, buildings); no outside servers. */
export function basemapSource(): VectorSourceSpecification {
  return {
    type: 'vector',
    tiles: [tileUrl('basemap')],
    minzoom: 6,
    maxzoom: 16,
    attribution: ATTRIBUTION,
  };
}

const MAJOR: ExpressionSpecification = [
  'match',
  ['get', 'highway'],
  ['motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link'],
  true,
  false,
];
const SECONDARY: ExpressionSpecification = [
  'match',
  ['get', 'highway'],
  ['secondary', 'secondary_link', 'tertiary', 'tertiary_link'],
  true,
  false,
];
const PATH: ExpressionSpecification = [
  'match',
  ['get', 'highway'],
  ['footway', 'path', 'steps', 'pedestrian', 'cycleway', 'track', 'bridleway', 'corridor'],
  true,
  false,
];

/** Road width in pixels by class and zoom; `extra` widens it for the casing (zoom must stay the top-level input). */
function roadWidth(extra = 0): ExpressionSpecification {
  return [
    'interpolate',
    ['exponential', 1.5],
    ['zoom'],
    10,
    ['case', MAJOR, 1.6 + extra, SECONDARY, 1 + extra, 0.4 + extra],
    14,
    ['case', MAJOR, 5 + extra, SECONDARY, 3.5 + extra, PATH, 0.8, 2 + extra],
    18,
    ['case', MAJOR, 22 + extra, SECONDARY, 16 + extra, PATH, 3, 10 + extra],
  ];
}

/** Calm grey ground layers, drawn under the coverage layers. */
export function basemapGroundLayers(): LayerSpecification[] {
  return [
    { id: 'background', type: 'background', paint: { 'background-color': '#f2f1ee' } },
    {
      id: 'landuse',
      type: 'fill',
      source: BASEMAP_SOURCE,
      'source-layer': 'landuse',
      paint: {
        'fill-color': [
          'match',
          ['get', 'class'],
          'residential',
          '#ebeae6',
          ['commercial', 'retail'],
          '#eeeae5',
          'industrial',
          '#e8e7e4',
          '#edece8',
        ],
      },
    },
    { id: 'green', type: 'fill', source: BASEMAP_SOURCE, 'source-layer': 'green', paint: { 'fill-color': '#dde7d5' } },
    { id: 'water', type: 'fill', source: BASEMAP_SOURCE, 'source-layer': 'water', paint: { 'fill-color': '#c6d6e4' } },
    {
      id: 'buildings',
      type: 'fill',
      source: BASEMAP_SOURCE,
      'source-layer': 'buildings',
      minzoom: 15,
      paint: { 'fill-color': '#dcd9d3', 'fill-outline-color': '#cdc9c2' },
    },
  ];
}

/** Roads as white lines on grey casings; the coverage network is drawn on top of them. */
export function basemapRoadLayers(): LayerSpecification[] {
  return [
    {
      id: 'roads-casing',
      type: 'line',
      source: BASEMAP_SOURCE,
      'source-layer': 'roads',
      filter: ['!', PATH],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#cfccc6', 'line-width': roadWidth(1.5) },
    },
    {
      id: 'roads',
      type: 'line',
      source: BASEMAP_SOURCE,
      'source-layer': 'roads',
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': ['case', PATH, '#e2dfd9', '#ffffff'], 'line-width': roadWidth() },
    },
  ];
}

/**
 * Road names along the lines. There is no `glyphs` URL in the style: MapLibre then draws every
 * glyph with the browser's own fonts (TinySDF), Chinese through `localIdeographFontFamily`, so
 * no glyph PBFs are fetched from anywhere.
 */
export function basemapLabelLayers(): LayerSpecification[] {
  return [
    {
      id: 'road-labels',
      type: 'symbol',
      source: BASEMAP_SOURCE,
      'source-layer': 'roads',
      minzoom: 13,
      filter: ['all', ['has', 'name'], ['!', PATH]],
      layout: {
        'symbol-placement': 'line',
        'text-field': ['get', 'name'],
        'text-size': ['interpolate', ['linear'], ['zoom'], 13, 11, 17, 14],
        'text-max-angle': 30,
        'symbol-spacing': 320,
        'text-padding': 4,
      },
      paint: { 'text-color': '#55524d', 'text-halo-color': 'rgba(255,255,255,0.95)', 'text-halo-width': 1.6 },
    },
  ];
}

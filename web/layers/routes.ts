import type {
  ExpressionSpecification,
  GeoJSONSource,
  GeoJSONSourceSpecification,
  LayerSpecification,
  Map as MapLibreMap,
} from 'maplibre-gl';
import type { Feature, FeatureCollection } from 'geojson';
import type { Proximity } from '../api/types.ts';
import { categoryColor } from '../palette.ts';

export const ROUTES_SOURCE = 'routes';
const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };

export function routesSource(): GeoJSONSourceSpecification {
  return { type: 'geojson', data: EMPTY };
}

/** Walking routes from the clicked point to each nearest facility, the point and its snap. */
export function routesLayers(): LayerSpecification[] {
  const isRoute: ExpressionSpecification = ['==', ['get', 'kind'], 'route'];
  return [
    {
      id: 'routes-casing',
      type: 'line',
      source: ROUTES_SOURCE,
      filter: isRoute,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': '#ffffff',
        'line-width': ['case', ['==', ['get', 'focus'], true], 8, 5.5],
        'line-opacity': 0.9,
      },
    },
    {
      id: 'routes-line',
      type: 'line',
      source: ROUTES_SOURCE,
      filter: isRoute,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': ['get', 'color'],
        'line-width': ['case', ['==', ['get', 'focus'], true], 5, 3],
        'line-opacity': ['case', ['==', ['get', 'dim'], true], 0.35, 0.95],
      },
    },
    {
      id: 'routes-snap',
      type: 'line',
      source: ROUTES_SOURCE,
      filter: ['==', ['get', 'kind'], 'snap'],
      paint: { 'line-color': '#333333', 'line-width': 1.5, 'line-dasharray': [1, 1.5] },
    },
    {
      id: 'routes-ends',
      type: 'circle',
      source: ROUTES_SOURCE,
      filter: ['==', ['get', 'kind'], 'facility'],
      paint: {
        'circle-radius': 7,
        'circle-color': ['get', 'color'],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 2,
      },
    },
    {
      id: 'routes-origin',
      type: 'circle',
      source: ROUTES_SOURCE,
      filter: ['==', ['get', 'kind'], 'origin'],
      paint: {
        'circle-radius': 7,
        'circle-color': '#212121',
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 2.5,
      },
    },
  ];
}

/** Show the walks of a proximity answer; `focus` (a category) is drawn wider and the rest dimmed. */
export function showRoutes(
  map: MapLibreMap,
  p: Proximity | null,
  focus: string | null = null,
  only: string[] | null = null,
): void {
  const features: Feature[] = [];
  if (p) {
    for (const r of p.results) {
      if (only && !only.includes(r.category)) continue;
      const color = categoryColor(r.category);
      if (r.path) {
        features.push({
          type: 'Feature',
          geometry: r.path,
          properties: {
            kind: 'route',
            category: r.category,
            color,
            focus: r.category === focus,
            dim: focus !== null && r.category !== focus,
          },
        });
      }
      if (r.facility) {
        features.push({
          type: 'Feature',
          geometry: { type: 'Point', coordinates: [r.facility.lng, r.facility.lat] },
          properties: { kind: 'facility', category: r.category, color },
        });
      }
    }
    features.push({
      type: 'Feature',
      geometry: {
        type: 'LineString',
        coordinates: [
          [p.point.lng, p.point.lat],
          [p.snap.lng, p.snap.lat],
        ],
      },
      properties: { kind: 'snap' },
    });
    features.push({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [p.point.lng, p.point.lat] },
      properties: { kind: 'origin' },
    });
  }
  map.getSource<GeoJSONSource>(ROUTES_SOURCE)?.setData({ type: 'FeatureCollection', features });
}

import type { GeoJSONSource, GeoJSONSourceSpecification, LayerSpecification, Map as MapLibreMap } from 'maplibre-gl';
import type { Isochrone } from '../api/types.ts';
import { ISOCHRONE_COLOR } from '../palette.ts';

export const ISOCHRONE_SOURCE = 'isochrone';

export function isochroneSource(): GeoJSONSourceSpecification {
  return { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
}

/** The area reachable on foot (buffered polygon) and the reached streets. */
export function isochroneLayers(): LayerSpecification[] {
  return [
    {
      id: 'isochrone-fill',
      type: 'fill',
      source: ISOCHRONE_SOURCE,
      filter: ['==', ['get', 'kind'], 'polygon'],
      paint: { 'fill-color': ISOCHRONE_COLOR, 'fill-opacity': 0.12 },
    },
    {
      id: 'isochrone-outline',
      type: 'line',
      source: ISOCHRONE_SOURCE,
      filter: ['==', ['get', 'kind'], 'polygon'],
      paint: { 'line-color': ISOCHRONE_COLOR, 'line-width': 1.5, 'line-opacity': 0.8 },
    },
    {
      id: 'isochrone-lines',
      type: 'line',
      source: ISOCHRONE_SOURCE,
      filter: ['==', ['get', 'kind'], 'lines'],
      layout: { 'line-cap': 'round' },
      paint: { 'line-color': ISOCHRONE_COLOR, 'line-width': 2, 'line-opacity': 0.7 },
    },
  ];
}

export function showIsochrone(map: MapLibreMap, iso: Isochrone | null): void {
  map.getSource<GeoJSONSource>(ISOCHRONE_SOURCE)?.setData(iso ?? { type: 'FeatureCollection', features: [] });
}

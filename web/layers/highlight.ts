import type { GeoJSONSource, GeoJSONSourceSpecification, LayerSpecification, Map as MapLibreMap } from 'maplibre-gl';
import type { Feature } from 'geojson';
import { HIGHLIGHT_COLOR } from '../palette.ts';

export const HIGHLIGHT_SOURCE = 'highlight';

export function highlightSource(): GeoJSONSourceSpecification {
  return { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
}

/** The area picked in the audit table: a bold outline over everything else. */
export function highlightLayers(): LayerSpecification[] {
  return [
    {
      id: 'highlight-fill',
      type: 'fill',
      source: HIGHLIGHT_SOURCE,
      paint: { 'fill-color': HIGHLIGHT_COLOR, 'fill-opacity': 0.12 },
    },
    {
      id: 'highlight-casing',
      type: 'line',
      source: HIGHLIGHT_SOURCE,
      paint: { 'line-color': '#ffffff', 'line-width': 6 },
    },
    {
      id: 'highlight-line',
      type: 'line',
      source: HIGHLIGHT_SOURCE,
      paint: { 'line-color': HIGHLIGHT_COLOR, 'line-width': 3.5 },
    },
  ];
}

export function showHighlight(map: MapLibreMap, feature: Feature | null): void {
  map
    .getSource<GeoJSONSource>(HIGHLIGHT_SOURCE)
    ?.setData({ type: 'FeatureCollection', features: feature ? [feature] : [] });
}

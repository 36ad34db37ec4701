import type { GeoJSONSource, GeoJSONSourceSpecification, LayerSpecification, Map as MapLibreMap } from 'maplibre-gl';
import type { Feature } from 'geojson';
import type { InlinePlan } from '../api/types.ts';
import { SCENARIO_SITE_COLOR } from '../palette.ts';

export const SCENARIO_SITES_SOURCE = 'scenario-sites';
export const SCENARIO_SITES_FILL = 'scenario-sites-fill';
export const SCENARIO_SITES_LINE = 'scenario-sites-line';

export function scenarioSitesSource(): GeoJSONSourceSpecification {
  return { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
}

/** Sites and walls drawn for a scenario only (not stored): orange, dashed, so they never pass for saved plans. */
export function scenarioSitesLayers(): LayerSpecification[] {
  return [
    {
      id: SCENARIO_SITES_FILL,
      type: 'fill',
      source: SCENARIO_SITES_SOURCE,
      filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': SCENARIO_SITE_COLOR, 'fill-opacity': 0.3 },
    },
    {
      id: SCENARIO_SITES_LINE,
      type: 'line',
      source: SCENARIO_SITES_SOURCE,
      paint: {
        'line-color': '#e65100',
        'line-width': ['case', ['==', ['geometry-type'], 'LineString'], 4, 2.5],
        'line-dasharray': [2, 1],
      },
    },
  ];
}

/** Show the scenario's drawn plans (an empty list hides them). */
export function showScenarioSites(map: MapLibreMap, plans: readonly InlinePlan[]): void {
  const features: Feature[] = plans.map((p, i) => ({
    type: 'Feature',
    geometry: p.geometry,
    properties: { kind: p.kind, index: i },
  }));
  map.getSource<GeoJSONSource>(SCENARIO_SITES_SOURCE)?.setData({ type: 'FeatureCollection', features });
}

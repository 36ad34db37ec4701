import type { GeoJSONSource, GeoJSONSourceSpecification, LayerSpecification, Map as MapLibreMap } from 'maplibre-gl';
import type { Feature, FeatureCollection, Point } from 'geojson';
import { distanceColor } from '../palette.ts';

export const DRILLDOWN_SOURCE = 'drilldown-points';
export const DRILLDOWN_LAYER = 'drilldown-points';

/** Properties of one uncovered home as /api/areas/:level/:id/drilldown gives it. */
export interface UncoveredProps {
  origin_id: string | number;
  population: number;
  outcome: string;
  network_m: number | null;
}

export function drilldownSource(): GeoJSONSourceSpecification {
  // feature ids are the origin ids, so a home cut by a tile edge is still one feature
  return { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'origin_id' };
}

/** The uncovered homes of a drill-down: dots in the streets' distance colours, over the areas and streets. */
export function drilldownLayers(): LayerSpecification[] {
  return [
    {
      id: DRILLDOWN_LAYER,
      type: 'circle',
      source: DRILLDOWN_SOURCE,
      paint: {
        'circle-color': ['get', 'color'],
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2.5, 16, 5, 18, 7],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1,
        'circle-opacity': 0.95,
      },
    },
  ];
}

/** Draw the uncovered homes of a drill-down (null clears them); `limitM` is the rule's limit. */
export function showUncovered(
  map: MapLibreMap,
  points: FeatureCollection<Point, UncoveredProps> | null,
  limitM: number,
): void {
  const features: Feature[] = (points?.features ?? []).map((f) => ({
    ...f,
    properties: { ...f.properties, color: distanceColor(f.properties.outcome, f.properties.network_m, limitM) },
  }));
  map.getSource<GeoJSONSource>(DRILLDOWN_SOURCE)?.setData({ type: 'FeatureCollection', features });
}

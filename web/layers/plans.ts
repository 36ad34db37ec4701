import type { ExpressionSpecification, LayerSpecification, Map as MapLibreMap, VectorSourceSpecification, VectorTileSource } from 'maplibre-gl';
import { tileUrl } from '../api/client.ts';
import { PLAN_COLORS } from '../map/palette.ts';

export const PLANS_SOURCE = 'plans';
const PLANS_FILL = 'plans-fill';
const PLANS_OUTLINE = 'plans-outline';
const PLANS_OUTLINE_PROPOSED = 'plans-outline-proposed';
const PLANS_LABEL = 'plans-label';
export const PLAN_LAYER_IDS = [PLANS_FILL, PLANS_OUTLINE, PLANS_OUTLINE_PROPOSED, PLANS_LABEL];

export function plansSource(): VectorSourceSpecification {
  return { type: 'vector', tiles: [tileUrl('plans')], minzoom: 9, maxzoom: 16 };
}

const colourByKind: ExpressionSpecification = ['match', ['get', 'kind'], ...Object.entries(PLAN_COLORS).flat(), '#555555'] as unknown as ExpressionSpecification;
const proposed: ExpressionSpecification = ['==', ['get', 'status'], 'proposed'];

/**
 * Plans by kind (colour) and status: proposed dashed, approved solid, done solid and filled
 * more strongly. Walls are lines; sites are polygons.
 */
export function plansLayers(): LayerSpecification[] {
  return [
    {
      id: PLANS_FILL, type: 'fill', source: PLANS_SOURCE, 'source-layer': 'plans',
      filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': colourByKind, 'fill-opacity': ['match', ['get', 'status'], 'done', 0.45, 'approved', 0.3, 0.18] },
    },
    {
      id: PLANS_OUTLINE, type: 'line', source: PLANS_SOURCE, 'source-layer': 'plans',
      filter: ['!', proposed],
      paint: { 'line-color': colourByKind, 'line-width': ['match', ['get', 'status'], 'done', 3.5, 2.5] },
    },
    {
      id: PLANS_OUTLINE_PROPOSED, type: 'line', source: PLANS_SOURCE, 'source-layer': 'plans',
      filter: proposed,
      paint: { 'line-color': colourByKind, 'line-width': 2.5, 'line-dasharray': [2, 1.5] },
    },
  ];
}

export function plansLabelLayers(): LayerSpecification[] {
  return [
    {
      id: PLANS_LABEL, type: 'symbol', source: PLANS_SOURCE, 'source-layer': 'plans', minzoom: 14,
      filter: ['has', 'name'],
      layout: { 'text-field': ['get', 'name'], 'text-size': 12, 'symbol-placement': 'point', 'text-max-width': 10 },
      paint: { 'text-color': colourByKind, 'text-halo-color': '#ffffff', 'text-halo-width': 1.8 },
    },
  ];
}

let version = 0;
/** Fetch the plan tiles again after a write (MapLibre keeps loaded tiles otherwise). */
export function reloadPlans(map: MapLibreMap): void {
  map.getSource<VectorTileSource>(PLANS_SOURCE)?.setTiles([tileUrl('plans', { v: String(++version) })]);
}

export function setPlansVisible(map: MapLibreMap, visible: boolean): void {
  for (const id of PLAN_LAYER_IDS) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
}

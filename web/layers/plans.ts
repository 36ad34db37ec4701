import type {
  ExpressionSpecification,
  GeoJSONSource,
  GeoJSONSourceSpecification,
  LayerSpecification,
  Map as MapLibreMap,
  VectorSourceSpecification,
  VectorTileSource,
} from 'maplibre-gl';
import type { Feature, Position } from 'geojson';
import type { Plan } from '../api/types.ts';
import { tileUrl } from '../api/client.ts';
import { PLAN_COLORS } from '../palette.ts';

export const PLANS_SOURCE = 'plans';
const PLANS_FILL = 'plans-fill';
const PLANS_OUTLINE = 'plans-outline';
const PLANS_OUTLINE_PROPOSED = 'plans-outline-proposed';
const PLANS_LABEL = 'plans-label';
export const PLAN_LAYER_IDS = [PLANS_FILL, PLANS_OUTLINE, PLANS_OUTLINE_PROPOSED, PLANS_LABEL];

/** One label point per plan (tiles would label a site once per tile it spans). */
export const PLAN_LABELS_SOURCE = 'plan-labels';

export function planLabelsSource(): GeoJSONSourceSpecification {
  return { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
}

function labelPoint(plan: Plan): Position {
  const g = plan.geometry;
  const ring: Position[] =
    g.type === 'LineString' ? g.coordinates : g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0];
  if (g.type === 'LineString') return ring[Math.floor(ring.length / 2)];
  const pts = ring.slice(0, -1);
  return [pts.reduce((a, p) => a + p[0], 0) / pts.length, pts.reduce((a, p) => a + p[1], 0) / pts.length];
}

export function showPlanLabels(map: MapLibreMap, plans: readonly Plan[]): void {
  const features: Feature[] = plans.map((p) => ({
    type: 'Feature',
    geometry: { type: 'Point', coordinates: labelPoint(p) },
    properties: { name: p.name, kind: p.kind },
  }));
  map.getSource<GeoJSONSource>(PLAN_LABELS_SOURCE)?.setData({ type: 'FeatureCollection', features });
}

export function plansSource(): VectorSourceSpecification {
  return { type: 'vector', tiles: [tileUrl('plans')], minzoom: 9, maxzoom: 16 };
}

const colourByKind: ExpressionSpecification = [
  'match',
  ['get', 'kind'],
  ...Object.entries(PLAN_COLORS).flat(),
  '#555555',
] as unknown as ExpressionSpecification;
const proposed: ExpressionSpecification = ['==', ['get', 'status'], 'proposed'];

/**
 * Plans by kind (colour) and status: proposed dashed, approved solid, done solid and filled
 * more strongly. Walls are lines; sites are polygons.
 */
export function plansLayers(): LayerSpecification[] {
  return [
    {
      id: PLANS_FILL,
      type: 'fill',
      source: PLANS_SOURCE,
      'source-layer': 'plans',
      filter: ['==', ['geometry-type'], 'Polygon'],
      paint: {
        'fill-color': colourByKind,
        'fill-opacity': ['match', ['get', 'status'], 'done', 0.45, 'approved', 0.3, 0.18],
      },
    },
    {
      id: PLANS_OUTLINE,
      type: 'line',
      source: PLANS_SOURCE,
      'source-layer': 'plans',
      filter: ['!', proposed],
      paint: { 'line-color': colourByKind, 'line-width': ['match', ['get', 'status'], 'done', 3.5, 2.5] },
    },
    {
      id: PLANS_OUTLINE_PROPOSED,
      type: 'line',
      source: PLANS_SOURCE,
      'source-layer': 'plans',
      filter: proposed,
      paint: { 'line-color': colourByKind, 'line-width': 2.5, 'line-dasharray': [2, 1.5] },
    },
  ];
}

export function plansLabelLayers(): LayerSpecification[] {
  return [
    {
      id: PLANS_LABEL,
      type: 'symbol',
      source: PLAN_LABELS_SOURCE,
      minzoom: 13,
      layout: { 'text-field': ['get', 'name'], 'text-size': 12, 'text-max-width': 10 },
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

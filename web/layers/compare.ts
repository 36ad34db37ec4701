import type {
  ExpressionSpecification,
  GeoJSONSource,
  GeoJSONSourceSpecification,
  LayerSpecification,
  Map as MapLibreMap,
} from 'maplibre-gl';
import type { CompareGeoJson } from '../../api/datasets.ts';
import { CHANGE_CLASSES, NO_CHANGE_BELOW, NO_CHANGE_COLOR, NO_RESULT_COLOR, ONE_SIDE_COLOR } from '../palette.ts';

/** The compare view (GET /api/compare?format=geojson): one polygon per area, coloured by one rule's share change. */
export const COMPARE_SOURCE = 'compare';
export const COMPARE_FILL = 'compare-fill';
const COMPARE_HATCH = 'compare-hatch';
const COMPARE_OUTLINE = 'compare-outline';
const COMPARE_LABEL = 'compare-side-label';
const HATCH_IMAGE = 'compare-hatch';

/** What one area of the comparison carries on the map, for the rule shown. */
export interface CompareFeatureProperties {
  area_key: string;
  area_name: string | null;
  side: 'both' | 'from_only' | 'to_only';
  /** After − before, 0–1; absent when either share is null. */
  share_change?: number;
  covered_change?: number;
  /** The words drawn on an area present on one side only. */
  side_label?: string;
}

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

export function compareSource(): GeoJSONSourceSpecification {
  return { type: 'geojson', data: EMPTY };
}

/** The fill's colour: one side only, no figure, no change, else the diverging classes of CHANGE_CLASSES. */
export function compareFillColour(): ExpressionSpecification {
  const steps: (number | string)[] = [CHANGE_CLASSES[0].color];
  for (let i = 1; i < CHANGE_CLASSES.length; i++) steps.push(CHANGE_CLASSES[i - 1].below, CHANGE_CLASSES[i].color);
  return [
    'case',
    ['!=', ['get', 'side'], 'both'],
    ONE_SIDE_COLOR,
    ['!', ['has', 'share_change']],
    NO_RESULT_COLOR,
    ['<', ['abs', ['to-number', ['get', 'share_change']]], NO_CHANGE_BELOW],
    NO_CHANGE_COLOR,
    ['step', ['to-number', ['get', 'share_change']], ...steps] as unknown as ExpressionSpecification,
  ];
}

const oneSide: ExpressionSpecification = ['!=', ['get', 'side'], 'both'];

/** Fill, hatching of one-sided areas, outline (hidden until a comparison is shown). */
export function compareLayers(): LayerSpecification[] {
  const layout = { visibility: 'none' as const };
  return [
    {
      id: COMPARE_FILL,
      type: 'fill',
      source: COMPARE_SOURCE,
      layout,
      paint: { 'fill-color': compareFillColour(), 'fill-opacity': 0.62 },
    },
    {
      id: COMPARE_HATCH,
      type: 'fill',
      source: COMPARE_SOURCE,
      filter: oneSide,
      layout,
      paint: { 'fill-pattern': HATCH_IMAGE, 'fill-opacity': 0.8 },
    },
    {
      id: COMPARE_OUTLINE,
      type: 'line',
      source: COMPARE_SOURCE,
      layout,
      paint: { 'line-color': '#4a4640', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.6, 15, 1.3] },
    },
  ];
}

/** "Only before" / "only after" on the areas present in one run only. */
export function compareLabelLayers(): LayerSpecification[] {
  return [
    {
      id: COMPARE_LABEL,
      type: 'symbol',
      source: COMPARE_SOURCE,
      filter: oneSide,
      layout: {
        visibility: 'none',
        'text-field': ['get', 'side_label'],
        'text-size': 11,
        'text-max-width': 8,
      },
      paint: { 'text-color': '#3d3a36', 'text-halo-color': 'rgba(255,255,255,0.92)', 'text-halo-width': 1.5 },
    },
  ];
}

/** Diagonal stripes for the hatch pattern (added once the style has loaded). */
export function installCompare(map: MapLibreMap): void {
  if (map.hasImage(HATCH_IMAGE)) return;
  const size = 8;
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const on = (x + y) % size < 2;
      const i = (y * size + x) * 4;
      data.set(on ? [70, 70, 70, 255] : [0, 0, 0, 0], i);
    }
  map.addImage(HATCH_IMAGE, { width: size, height: size, data });
}

/**
 * Show a comparison coloured by rule `ruleId` (null: hide the view). `sideLabel` words the areas of
 * one run only. The features keep the answer's geometry; each carries its area key, so a click finds
 * its row.
 */
export function showCompare(
  map: MapLibreMap,
  answer: CompareGeoJson | null,
  ruleId: string | null,
  sideLabel: (side: 'from_only' | 'to_only') => string,
): void {
  const features: GeoJSON.Feature[] = [];
  if (answer && ruleId)
    for (const f of answer.features) {
      if (!f.geometry) continue;
      const row = f.properties.rules[ruleId];
      const p: CompareFeatureProperties = {
        area_key: f.properties.area_key,
        area_name: f.properties.area_name,
        side: f.properties.side,
      };
      if (row?.share_change !== null && row?.share_change !== undefined) p.share_change = row.share_change;
      if (row?.covered_change !== null && row?.covered_change !== undefined) p.covered_change = row.covered_change;
      if (p.side !== 'both') p.side_label = sideLabel(p.side);
      features.push({ type: 'Feature', geometry: f.geometry, properties: { ...p } });
    }
  map.getSource<GeoJSONSource>(COMPARE_SOURCE)?.setData({ type: 'FeatureCollection', features });
  const visibility = answer && ruleId ? 'visible' : 'none';
  for (const id of [COMPARE_FILL, COMPARE_HATCH, COMPARE_OUTLINE, COMPARE_LABEL])
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visibility);
}

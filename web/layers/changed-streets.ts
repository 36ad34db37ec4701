import type {
  ExpressionSpecification,
  GeoJSONSource,
  GeoJSONSourceSpecification,
  LayerSpecification,
  Map as MapLibreMap,
} from 'maplibre-gl';
import type { Feature, FeatureCollection, LineString } from 'geojson';
import type { ChangedEdgeProperties, ChangedEdges } from '../api/types.ts';
import { NEW_LINK_COLOR, NEWLY_REACHED_COLOR, SAVED_CLASSES } from '../palette.ts';

export const CHANGED_STREETS_SOURCE = 'changed-streets';
export const CHANGED_STREETS_LINE = 'changed-streets-line';
export const CHANGED_STREETS_LINK = 'changed-streets-link';
const CHANGED_STREETS_CASING = 'changed-streets-casing';
const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };

export function changedStreetsSource(): GeoJSONSourceSpecification {
  return { type: 'geojson', data: EMPTY };
}

/** By class of distance saved; nothing in reach before has its own colour; a link that changed nothing for the category is grey. */
function colour(): ExpressionSpecification {
  const steps: (number | string)[] = [SAVED_CLASSES[0].color];
  for (let i = 1; i < SAVED_CLASSES.length; i++) steps.push(SAVED_CLASSES[i - 1].upTo, SAVED_CLASSES[i].color);
  return [
    'case',
    ['==', ['get', 'newly_reached'], true],
    NEWLY_REACHED_COLOR,
    ['!', ['has', 'saved_m']],
    NEW_LINK_COLOR,
    ['step', ['get', 'saved_m'], ...steps],
  ] as unknown as ExpressionSpecification;
}

const isLink: ExpressionSpecification = ['==', ['get', 'is_link'], true];
const width = (base: number): ExpressionSpecification => [
  'interpolate',
  ['linear'],
  ['zoom'],
  12,
  base,
  15,
  base * 1.6,
  18,
  base * 2.6,
];

/**
 * Streets a scenario brings closer to a facility, coloured by the distance saved; new links
 * (paths through cleared land or an opened wall) dashed. A white casing keeps them apart from
 * the distance colours beneath.
 */
export function changedStreetsLayers(): LayerSpecification[] {
  return [
    {
      id: CHANGED_STREETS_CASING,
      type: 'line',
      source: CHANGED_STREETS_SOURCE,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#ffffff', 'line-width': width(2.8), 'line-opacity': 0.85 },
    },
    {
      id: CHANGED_STREETS_LINE,
      type: 'line',
      source: CHANGED_STREETS_SOURCE,
      filter: ['!', isLink],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': colour(), 'line-width': width(1.7) },
    },
    {
      id: CHANGED_STREETS_LINK,
      type: 'line',
      source: CHANGED_STREETS_SOURCE,
      filter: isLink,
      paint: { 'line-color': colour(), 'line-width': width(1.9), 'line-dasharray': [1.5, 1] },
    },
  ];
}

/**
 * How much closer a street got to a facility of `categories`: the largest saving (metres) over
 * the categories it changed for, whether one of them was out of reach before (no figure then),
 * or null when it changed for none of them. O(categories).
 */
export function savedMetres(
  p: ChangedEdgeProperties,
  categories: readonly string[],
): { savedM: number | null; newlyReached: boolean } | null {
  let savedM: number | null = null;
  let newlyReached = false;
  let changed = false;
  for (const c of categories) {
    const after = p.after[c];
    if (after === undefined) continue;
    changed = true;
    const before = p.before[c];
    if (before === null || before === undefined) newlyReached = true;
    else savedM = Math.max(savedM ?? 0, before - after);
  }
  return changed ? { savedM, newlyReached } : null;
}

/**
 * Show the streets of a scenario that got closer for `categories` (null edges hide them); links
 * stay whatever the category, since they are new ground. Returns the number of features shown.
 * O(features × categories).
 */
export function showChangedStreets(
  map: MapLibreMap,
  edges: ChangedEdges | null,
  categories: readonly string[],
): number {
  const features: Feature<LineString>[] = [];
  for (const f of edges?.features ?? []) {
    const s = savedMetres(f.properties, categories);
    if (!s && !f.properties.is_link) continue;
    const properties: Record<string, unknown> = {
      edge: f.properties.edge,
      is_link: f.properties.is_link,
      newly_reached: s?.newlyReached ?? false,
    };
    if (s?.savedM !== null && s?.savedM !== undefined) properties.saved_m = s.savedM;
    features.push({ type: 'Feature', geometry: f.geometry, properties });
  }
  map.getSource<GeoJSONSource>(CHANGED_STREETS_SOURCE)?.setData({ type: 'FeatureCollection', features });
  return features.length;
}

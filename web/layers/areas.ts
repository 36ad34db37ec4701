import type {
  ExpressionSpecification,
  LayerSpecification,
  Map as MapLibreMap,
  VectorSourceSpecification,
  VectorTileSource,
} from 'maplibre-gl';
import { tileUrl } from '../api/client.ts';
import type { CoverageLevel, RuleSet } from '../api/types.ts';
import { NO_RESULT_COLOR, PASS_COLOR, SHARE_CLASSES } from '../palette.ts';
import { ruleForCategory } from '../rules.ts';
import { WORST } from '../state.ts';

export const AREAS_SOURCE = 'areas';
/** Source layers of the areas tiles; streets and districts are unions of communities, shown by them. */
const SOURCE_LAYERS = { residential_area: 'residential_areas', community: 'communities' } as const;
type AreaKind = keyof typeof SOURCE_LAYERS;
const KINDS: readonly AreaKind[] = ['community', 'residential_area'];

export const areaFillLayer = (k: AreaKind) => `areas-${k}-fill`;
const outlineLayer = (k: AreaKind) => `areas-${k}-outline`;
const labelLayer = (k: AreaKind) => `areas-${k}-label`;
/** Dashed outline of areas with the edge_of_data caveat (uncovered residents near the data's edge). */
const edgeLayer = (k: AreaKind) => `areas-${k}-edge`;
export const EDGE_OF_DATA_COLOR = '#37474f';

/** One label point per named area (tile_area_labels): a name is drawn once, not once per tile piece. */
export const AREA_LABELS_SOURCE = 'area-labels';
const LABEL_SOURCE_LAYERS = { residential_area: 'residential_area_labels', community: 'community_labels' } as const;

export function areaLabelsSource(): VectorSourceSpecification {
  return { type: 'vector', tiles: [tileUrl('area_labels')], minzoom: 9, maxzoom: 16 };
}

export function areasSource(ruleSetId: string): VectorSourceSpecification {
  return { type: 'vector', tiles: [tileUrl('areas', { rule_set: ruleSetId })], minzoom: 9, maxzoom: 16 };
}

/** What colours the areas: one rule's share and pass flag, or the worst share and the count of failed rules. */
export interface AreaColouring {
  /** Attribute whose presence says the area has results. */
  shareKey: string | null;
  /** The share shown, when not simply `shareKey`. */
  shareExpr?: ExpressionSpecification | null;
  passExpr: ExpressionSpecification | null;
}

/** For WORST, the lowest share and all passes over the rules not in `skipRules` (see networkColouring). */
export function areaColouring(
  ruleSet: RuleSet,
  category: string,
  skipRules: ReadonlySet<string> = new Set(),
  chosenRule?: string | null,
): AreaColouring {
  if (category === WORST) {
    const rules = ruleSet.rules.filter((r) => !skipRules.has(r.id));
    if (!rules.length || rules.length === ruleSet.rules.length)
      return { shareKey: 'worst_share', shareExpr: null, passExpr: ['==', ['get', 'fails'], 0] };
    const shares = rules.map(
      (r) => ['to-number', ['coalesce', ['get', `${r.id}_share`], 0]] as ExpressionSpecification,
    );
    return {
      shareKey: 'worst_share',
      shareExpr: shares.length === 1 ? shares[0] : (['min', ...shares] as unknown as ExpressionSpecification),
      passExpr: [
        'all',
        ...rules.map((r) => ['==', ['get', `${r.id}_pass`], true]),
      ] as unknown as ExpressionSpecification,
    };
  }
  const rule = ruleForCategory(ruleSet, category, chosenRule);
  // a rule not assessable (no_data) neither passes nor fails anyone: no colour
  if (!rule || skipRules.has(rule.id)) return { shareKey: null, shareExpr: null, passExpr: null };
  return { shareKey: `${rule.id}_share`, shareExpr: null, passExpr: ['==', ['get', `${rule.id}_pass`], true] };
}

function fillColour(c: AreaColouring): ExpressionSpecification | string {
  if (!c.shareKey || !c.passExpr) return NO_RESULT_COLOR;
  const steps: (number | string)[] = [SHARE_CLASSES[0].color];
  for (let i = 1; i < SHARE_CLASSES.length; i++) steps.push(SHARE_CLASSES[i - 1].below, SHARE_CLASSES[i].color);
  return [
    'case',
    ['!', ['has', c.shareKey]],
    NO_RESULT_COLOR,
    c.passExpr,
    PASS_COLOR,
    ['step', c.shareExpr ?? ['to-number', ['get', c.shareKey]], ...steps] as unknown as ExpressionSpecification,
  ];
}

const kindOf = (level: CoverageLevel): AreaKind => (level === 'residential_area' ? 'residential_area' : 'community');

/**
 * Districts (区): at zooms 9–10 the areas tiles carry one polygon per district with its
 * district-level results (migrations/0251) instead of its communities; drawn with the same colours
 * whenever communities would be.
 */
const DISTRICT_SOURCE_LAYER = 'districts';
const DISTRICT_FILL = 'areas-district-fill';
const DISTRICT_OUTLINE = 'areas-district-outline';

/** Fill, outline and name layers for residential areas and for communities; one pair is visible at a time. */
export function areasLayers(c: AreaColouring, level: CoverageLevel): LayerSpecification[] {
  const districtVisibility = kindOf(level) === 'community' ? 'visible' : 'none';
  const out: LayerSpecification[] = [
    {
      id: DISTRICT_FILL,
      type: 'fill',
      source: AREAS_SOURCE,
      'source-layer': DISTRICT_SOURCE_LAYER,
      maxzoom: 11,
      layout: { visibility: districtVisibility },
      paint: { 'fill-color': fillColour(c), 'fill-opacity': FILL_OPACITY_STOPS[0][1] },
    },
    {
      id: DISTRICT_OUTLINE,
      type: 'line',
      source: AREAS_SOURCE,
      'source-layer': DISTRICT_SOURCE_LAYER,
      maxzoom: 11,
      layout: { visibility: districtVisibility },
      paint: { 'line-color': '#5f5b55', 'line-width': 1, 'line-opacity': 0.75 },
    },
  ];
  for (const k of KINDS) {
    const visibility = k === kindOf(level) ? 'visible' : 'none';
    out.push(
      {
        id: areaFillLayer(k),
        type: 'fill',
        source: AREAS_SOURCE,
        'source-layer': SOURCE_LAYERS[k],
        layout: { visibility },
        paint: {
          'fill-color': fillColour(c),
          'fill-opacity': [
            'interpolate',
            ['linear'],
            ['zoom'],
            ...FILL_OPACITY_STOPS.flat(),
          ] as unknown as ExpressionSpecification,
        },
      },
      {
        id: outlineLayer(k),
        type: 'line',
        source: AREAS_SOURCE,
        'source-layer': SOURCE_LAYERS[k],
        layout: { visibility },
        paint: {
          'line-color': '#5f5b55',
          'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.6, 15, 1.3],
          'line-opacity': 0.75,
        },
      },
      {
        id: edgeLayer(k),
        type: 'line',
        source: AREAS_SOURCE,
        'source-layer': SOURCE_LAYERS[k],
        filter: ['==', ['get', 'edge_of_data'], true],
        layout: { visibility },
        paint: { 'line-color': EDGE_OF_DATA_COLOR, 'line-width': 2.2, 'line-dasharray': [2, 2] },
      },
    );
  }
  return out;
}

/** Area names, drawn above the streets so they stay readable. */
export function areasLabelLayers(level: CoverageLevel): LayerSpecification[] {
  return KINDS.map(
    (k) =>
      ({
        id: labelLayer(k),
        type: 'symbol',
        source: AREA_LABELS_SOURCE,
        'source-layer': LABEL_SOURCE_LAYERS[k],
        minzoom: k === 'residential_area' ? 15 : 12,
        filter: ['has', 'name'],
        layout: {
          visibility: k === kindOf(level) ? 'visible' : 'none',
          'text-field': ['get', 'name'],
          'text-size': 12,
          'text-padding': 6,
          'text-max-width': 8,
        },
        paint: { 'text-color': '#2f2c28', 'text-halo-color': 'rgba(255,255,255,0.92)', 'text-halo-width': 1.5 },
      }) as LayerSpecification,
  );
}

/** Recolour for a category or rule set, show the chosen level, or hide the areas. */
export function updateAreas(
  map: MapLibreMap,
  c: AreaColouring,
  level: CoverageLevel,
  ruleSetId: string,
  visible: boolean,
): void {
  const source = map.getSource<VectorTileSource>(AREAS_SOURCE);
  const url = tileUrl('areas', { rule_set: ruleSetId });
  if (source && source.tiles?.[0] !== url) source.setTiles([url]);
  for (const k of KINDS) {
    const v = visible && k === kindOf(level) ? 'visible' : 'none';
    for (const id of [areaFillLayer(k), outlineLayer(k), edgeLayer(k), labelLayer(k)])
      map.setLayoutProperty(id, 'visibility', v);
    map.setPaintProperty(areaFillLayer(k), 'fill-color', fillColour(c));
  }
  const districts = visible && kindOf(level) === 'community' ? 'visible' : 'none';
  for (const id of [DISTRICT_FILL, DISTRICT_OUTLINE]) map.setLayoutProperty(id, 'visibility', districts);
  map.setPaintProperty(DISTRICT_FILL, 'fill-color', fillColour(c));
}

/** Areas a place filter keeps: their keys (the tiles' `id`), or the 区 / 街道 communities carry ('' = any). */
export type AreaFocus = { keys: readonly string[] } | { district: string; street: string } | null;

const FILL_OPACITY_STOPS: readonly [number, number][] = [
  [11, 0.42],
  [14, 0.26],
  [17, 0.18],
];
/** Opacity of the areas a filter leaves out: still there for context, clearly set back. */
const DIMMED_FILL = 0.04;
const DIMMED_LINE = 0.12;

/** The expression matching the areas a focus keeps. */
export function focusExpression(focus: Exclude<AreaFocus, null>): ExpressionSpecification {
  if ('keys' in focus) return ['in', ['to-string', ['get', 'id']], ['literal', [...focus.keys]]];
  const parts: ExpressionSpecification[] = [];
  if (focus.district) parts.push(['==', ['get', 'district'], focus.district]);
  if (focus.street) parts.push(['==', ['get', 'street'], focus.street]);
  return parts.length === 1 ? parts[0] : (['all', ...parts] as ExpressionSpecification);
}

/**
 * Sets off the areas a place filter keeps: the others are dimmed (fill, outline and, by key, the
 * names), so the map reads as the filtered table does. null restores every area.
 */
export function setAreaFocus(map: MapLibreMap, focus: AreaFocus): void {
  const inside = focus ? focusExpression(focus) : null;
  const pick = (inValue: number, outValue: number): ExpressionSpecification | number =>
    inside ? ['case', inside, inValue, outValue] : inValue;
  const fillOpacity = [
    'interpolate',
    ['linear'],
    ['zoom'],
    ...FILL_OPACITY_STOPS.flatMap(([z, o]) => [z, pick(o, DIMMED_FILL)]),
  ] as unknown as ExpressionSpecification;
  for (const k of KINDS) {
    map.setPaintProperty(areaFillLayer(k), 'fill-opacity', fillOpacity);
    map.setPaintProperty(outlineLayer(k), 'line-opacity', pick(0.75, DIMMED_LINE));
    map.setPaintProperty(edgeLayer(k), 'line-opacity', pick(1, DIMMED_LINE));
    // label points carry the area's id, not its 区 / 街道
    map.setPaintProperty(labelLayer(k), 'text-opacity', focus && 'keys' in focus ? pick(1, 0.35) : 1);
  }
}

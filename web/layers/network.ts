import type {
  ExpressionSpecification,
  LayerSpecification,
  Map as MapLibreMap,
  VectorSourceSpecification,
} from 'maplibre-gl';
import { tileUrl } from '../api/client.ts';
import type { RuleSet } from '../api/types.ts';
import { BEYOND_CAP_COLOR, DISTANCE_CLASSES, UNREACHABLE_COLOR } from '../palette.ts';
import { FIFTEEN_MINUTE_WALK_M, limitForCategory, ruleForCategory } from '../rules.ts';
import { WORST } from '../state.ts';

export const NETWORK_SOURCE = 'network';
export const NETWORK_LAYER = 'network-lines';
/** Stand-in distance for outcome no_path inside expressions (the attribute is absent then). */
const NONE_M = 1e9;
/**
 * Stand-in distance for outcome beyond_cap (the tiles carry -1). Any limit of 101–9,999 m puts
 * its ratio between the no_path threshold and the beyond_cap one below.
 */
const BEYOND_M = 1e6;

/** Zooms 9–12 come generalised (main streets merged, worst distance kept; migrations/0250), 13+ in full. */
export function networkSource(): VectorSourceSpecification {
  return { type: 'vector', tiles: [tileUrl('network')], minzoom: 9, maxzoom: 16 };
}

/**
 * What the street colours mean for a category (or WORST) under a rule set: the ratio
 * walking distance ÷ limit, so the limit is always the break at 1.
 */
export interface NetworkColouring {
  /** Expression of the ratio distance ÷ limit; ≥ NONE_M / limit where nothing is in reach. */
  ratio: ExpressionSpecification;
  /** Limit in metres for one category (null for WORST). */
  limitM: number | null;
  /** Whether the limit comes from the rule set (false: the 15-minute reference). */
  fromRule: boolean;
}

const distanceOf = (category: string): ExpressionSpecification => [
  'case',
  ['==', ['get', category], -1],
  BEYOND_M,
  ['to-number', ['coalesce', ['get', category], NONE_M]],
];

function minOf(exprs: ExpressionSpecification[]): ExpressionSpecification {
  return exprs.length === 1 ? exprs[0] : (['min', ...exprs] as unknown as ExpressionSpecification);
}
function maxOf(exprs: ExpressionSpecification[]): ExpressionSpecification {
  return exprs.length === 1 ? exprs[0] : (['max', ...exprs] as unknown as ExpressionSpecification);
}

/**
 * `skipRules`: rules left out of WORST because they are not assessable (no_data: no facility of the
 * kind in the data, e.g. greenways in OSM Chengdu 2018); they would paint every street "no path".
 */
export function networkColouring(
  ruleSet: RuleSet,
  category: string,
  skipRules: ReadonlySet<string> = new Set(),
  chosenRule?: string | null,
): NetworkColouring {
  if (category === WORST) {
    const rules = ruleSet.rules.filter((r) => !skipRules.has(r.id));
    // A rule is met when any tier is: the best tier ratio; the street shows its worst rule.
    const perRule = (rules.length ? rules : ruleSet.rules).map((rule) =>
      minOf(
        rule.tiers.map(
          (tier) => ['/', minOf(tier.categories.map(distanceOf)), tier.max_distance_m] as ExpressionSpecification,
        ),
      ),
    );
    return { ratio: maxOf(perRule), limitM: null, fromRule: true };
  }
  const rule = ruleForCategory(ruleSet, category, chosenRule);
  const limit = limitForCategory(rule, category);
  const limitM = limit ?? FIFTEEN_MINUTE_WALK_M;
  return { ratio: ['/', distanceOf(category), limitM], limitM, fromRule: limit !== null };
}

function colourExpression(c: NetworkColouring): ExpressionSpecification {
  const steps: (number | string)[] = [DISTANCE_CLASSES[0].color];
  for (let i = 1; i < DISTANCE_CLASSES.length; i++) steps.push(DISTANCE_CLASSES[i - 1].upTo, DISTANCE_CLASSES[i].color);
  // The step thresholds are upper bounds, inclusive: nudge them so a street at exactly the limit passes.
  const stepped = [
    'step',
    c.ratio,
    ...steps.map((v) => (typeof v === 'number' ? v + 1e-9 : v)),
  ] as unknown as ExpressionSpecification;
  return [
    'case',
    ['>=', c.ratio, NONE_M / 100_000],
    UNREACHABLE_COLOR,
    ['>=', c.ratio, BEYOND_M / 100_000],
    BEYOND_CAP_COLOR,
    stepped,
  ];
}

export function networkLayers(c: NetworkColouring): LayerSpecification[] {
  return [
    {
      id: NETWORK_LAYER,
      type: 'line',
      source: NETWORK_SOURCE,
      'source-layer': 'network',
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': colourExpression(c),
        'line-width': ['interpolate', ['linear'], ['zoom'], 9, 0.6, 12, 1, 14, 2.2, 17, 4.5],
        'line-opacity': ['case', ['==', ['get', 'is_private'], true], 0.45, 0.9],
      },
    },
  ];
}

/** Recolour the streets for another category or rule set. */
export function updateNetwork(map: MapLibreMap, c: NetworkColouring): void {
  map.setPaintProperty(NETWORK_LAYER, 'line-color', colourExpression(c));
}

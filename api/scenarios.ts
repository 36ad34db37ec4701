/**
 * POST /api/scenarios/evaluate: the coverage effect of 两拆一增 plans, stored or drawn; and
 * GET /api/suggest: where to put new open spaces (or which proposed plans to do first) for a rule.
 */

import type { FeatureCollection, LineString } from 'geojson';
import type { FromSchema } from 'json-schema-to-ts';
import type { PlanGeometry } from './plans.ts';
import { featureCollectionSchema, planGeometrySchema, textSchema, type Override } from './common.ts';
import { PLAN_KINDS, RULE_REF_PATTERN, SUGGEST_CANDIDATES } from './enums.ts';
import {
  DEFAULT_RULE_SET,
  GRID_SPACING_M,
  MAX_NAME_CHARS,
  MAX_RULE_SET_ID_CHARS,
  MAX_SCENARIO_PLANS,
  MAX_SUGGEST_K,
} from './limits.ts';

export const inlinePlan = {
  type: 'object',
  required: ['kind', 'geometry'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: PLAN_KINDS },
    name: textSchema(1, MAX_NAME_CHARS),
    geometry: planGeometrySchema,
    becomes_open_space: {
      type: 'boolean',
      description: 'demolish_illegal only: the cleared land also becomes an open space',
    },
  },
} as const;

export const evaluateBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    plan_ids: {
      type: 'array',
      maxItems: MAX_SCENARIO_PLANS,
      uniqueItems: true,
      items: { type: 'integer', minimum: 1, maximum: 2147483647 },
    },
    plans: { type: 'array', maxItems: MAX_SCENARIO_PLANS, items: inlinePlan },
    rule_set: {
      type: 'string',
      maxLength: MAX_RULE_SET_ID_CHARS,
      default: DEFAULT_RULE_SET,
      description: "a rule set id, or 'all'",
    },
    include_changed_edges: { type: 'boolean', default: false },
    marginal: { type: 'boolean', default: true, description: 'per-plan marginal gains (one extra scenario per plan)' },
  },
} as const;

const flipCounts = {
  type: 'object',
  required: ['fail_to_pass', 'pass_to_fail'],
  properties: { fail_to_pass: { type: 'integer' }, pass_to_fail: { type: 'integer' } },
} as const;

const flips = {
  type: 'object',
  required: ['community', 'residential_area'],
  properties: { community: flipCounts, residential_area: flipCounts },
} as const;

const areaImpact = {
  type: 'object',
  required: [
    'key',
    'name',
    'population',
    'covered_before',
    'covered_after',
    'share_before',
    'share_after',
    'delta_share',
    'passes_before',
    'passes_after',
    'flip',
  ],
  properties: {
    key: { type: 'string' },
    name: { type: ['string', 'null'] },
    population: { type: 'number' },
    covered_before: { type: 'number' },
    covered_after: { type: 'number' },
    share_before: { type: ['number', 'null'] },
    share_after: { type: ['number', 'null'] },
    delta_share: { type: ['number', 'null'] },
    passes_before: { type: 'boolean' },
    passes_after: { type: 'boolean' },
    flip: { type: ['string', 'null'], enum: ['fail_to_pass', 'pass_to_fail', null] },
  },
} as const;

const ruleImpact = {
  type: 'object',
  required: [
    'rule_set',
    'rule_id',
    'target_share',
    'population',
    'covered_before',
    'covered_after',
    'share_before',
    'share_after',
    'newly_covered',
    'newly_uncovered',
    'flips',
    'communities',
    'residential_areas',
    'marginal',
    'marginal_sum',
  ],
  properties: {
    rule_set: { type: 'string' },
    rule_id: { type: 'string' },
    target_share: { type: 'number' },
    population: { type: 'number' },
    covered_before: { type: 'number' },
    covered_after: { type: 'number' },
    share_before: { type: ['number', 'null'] },
    share_after: { type: ['number', 'null'] },
    newly_covered: { type: 'number' },
    newly_uncovered: { type: 'number' },
    flips,
    communities: { type: 'array', items: areaImpact },
    residential_areas: { type: 'array', items: areaImpact },
    marginal: {
      type: ['array', 'null'],
      items: {
        type: 'object',
        required: ['plan', 'gain'],
        properties: { plan: { type: 'string' }, gain: { type: 'number' } },
      },
    },
    marginal_sum: { type: ['number', 'null'] },
  },
} as const;

const planEffect = {
  type: 'object',
  required: [
    'ref',
    'id',
    'kind',
    'name',
    'becomes_open_space',
    'links_added',
    'link_length_m',
    'barrier_removed_m',
    'edges_opened',
    'compounds_opened',
  ],
  properties: {
    ref: { type: 'string' },
    id: { type: ['integer', 'null'] },
    kind: { type: 'string', enum: PLAN_KINDS },
    name: { type: 'string' },
    becomes_open_space: { type: 'boolean' },
    links_added: { type: 'integer' },
    link_length_m: { type: 'number' },
    barrier_removed_m: { type: 'number' },
    edges_opened: { type: 'integer' },
    compounds_opened: { type: 'integer' },
    open_space: {
      type: ['object', 'null'],
      required: ['facility_id', 'area_m2', 'category', 'access_points'],
      properties: {
        facility_id: { type: 'integer' },
        area_m2: { type: 'number' },
        category: { type: 'string' },
        access_points: { type: 'integer' },
      },
    },
  },
} as const;

export const evaluateResponse = {
  type: 'object',
  required: ['dataset_id', 'run_id', 'rule_set', 'network_changed', 'origins', 'origins_resnapped', 'plans', 'rules'],
  properties: {
    dataset_id: { type: 'integer' },
    run_id: { type: 'integer' },
    rule_set: { type: 'string' },
    network_changed: { type: 'boolean' },
    origins: { type: 'integer' },
    origins_resnapped: { type: 'integer' },
    plans: { type: 'array', items: planEffect },
    rules: { type: 'array', items: ruleImpact },
    changed_edges: featureCollectionSchema,
  },
} as const;

export const suggestQuery = {
  type: 'object',
  required: ['rule'],
  additionalProperties: false,
  properties: {
    rule: {
      type: 'string',
      maxLength: 130,
      pattern: RULE_REF_PATTERN,
      description: '<rule_set>/<rule_id>, e.g. chengdu-park-city/green_300',
    },
    k: { type: 'integer', minimum: 1, maximum: MAX_SUGGEST_K, default: 3 },
    candidates: { type: 'string', enum: SUGGEST_CANDIDATES, default: 'grid' },
    spacing_m: { type: 'number', minimum: 50, maximum: 2000, default: GRID_SPACING_M },
    site_m2: {
      type: 'number',
      minimum: 100,
      maximum: 200_000,
      description: 'grid site size; default the larger of 2500 m² and the smallest the rule accepts',
    },
    bbox: {
      type: 'string',
      maxLength: 100,
      pattern: '^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$',
      description: 'grid extent minLng,minLat,maxLng,maxLat (default the dataset)',
    },
  },
} as const;

export const suggestResponse = {
  type: 'object',
  required: [
    'rule_set',
    'rule_id',
    'k',
    'candidates',
    'candidate_count',
    'candidates_truncated',
    'site_area_m2',
    'population',
    'baseline_covered',
    'picks',
    'greedy_total',
    'optimality_gap',
    'enumeration',
    'subsets_enumerated',
  ],
  properties: {
    rule_set: { type: 'string' },
    rule_id: { type: 'string' },
    k: { type: 'integer' },
    candidates: { type: 'string', enum: SUGGEST_CANDIDATES },
    candidate_count: { type: 'integer' },
    candidates_truncated: { type: 'boolean' },
    site_area_m2: { type: ['number', 'null'] },
    population: { type: 'number' },
    baseline_covered: { type: 'number' },
    picks: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'rank',
          'ref',
          'plan_id',
          'kind',
          'name',
          'lng',
          'lat',
          'gain',
          'standalone_gain',
          'cumulative',
          'geometry',
        ],
        properties: {
          rank: { type: 'integer' },
          ref: { type: 'string' },
          plan_id: { type: ['integer', 'null'] },
          kind: { type: 'string', enum: PLAN_KINDS },
          name: { type: 'string' },
          lng: { type: 'number' },
          lat: { type: 'number' },
          gain: { type: 'number' },
          standalone_gain: { type: 'number' },
          cumulative: { type: 'number' },
          geometry: {
            type: 'object',
            description: 'the site as GeoJSON: the square open space of a grid candidate, or the stored plan',
            required: ['type', 'coordinates'],
            properties: {
              type: { type: 'string', enum: ['LineString', 'Polygon', 'MultiPolygon'] },
              coordinates: { type: 'array' },
            },
          },
        },
      },
    },
    greedy_total: { type: 'number' },
    optimum: {
      type: ['object', 'null'],
      required: ['total', 'refs'],
      properties: { total: { type: 'number' }, refs: { type: 'array', items: { type: 'string' } } },
    },
    optimality_gap: { type: ['number', 'null'] },
    enumeration: { type: 'string', enum: ['done', 'skipped'] },
    subsets_enumerated: { type: 'integer' },
  },
} as const;

/** The body as the handler sees it (defaults filled in). */
export type EvaluateBody = FromSchema<typeof evaluateBody>;
/** The body as a client sends it: at least one of plan_ids and plans; defaulted fields may be left out. */
export type ScenarioRequest = Override<
  FromSchema<typeof evaluateBody, { keepDefaultedPropertiesOptional: true }>,
  { plans?: InlinePlan[] }
>;
/** A plan sent inline to a scenario: drawn in the browser, evaluated, never stored (geometry as GeoJSON). */
export type InlinePlan = Override<FromSchema<typeof inlinePlan>, { geometry: PlanGeometry }>;
export type SuggestQuery = FromSchema<typeof suggestQuery>;

type Evaluation = FromSchema<typeof evaluateResponse>;
export type ScenarioPlanEffect = Evaluation['plans'][number];
export type ScenarioRuleImpact = Evaluation['rules'][number];
export type ScenarioAreaImpact = ScenarioRuleImpact['communities'][number];
export type ScenarioFlips = ScenarioRuleImpact['flips']['community'];

/**
 * Per category whose walking distance fell on a street: before (null: new link or beyond the
 * search bound) and after, metres. The schema leaves GeoJSON feature properties open (see
 * common.ts); this type narrows them for clients.
 */
export interface ChangedEdgeProperties {
  edge: number;
  street_id: number | null;
  is_link: boolean;
  before: Record<string, number | null>;
  after: Record<string, number>;
}
export type ChangedEdges = FeatureCollection<LineString, ChangedEdgeProperties>;

/** The answer of POST /api/scenarios/evaluate, with changed_edges narrowed to GeoJSON. */
export type ScenarioEvaluation = Override<Evaluation, { changed_edges?: ChangedEdges }>;

type SuggestAnswer = FromSchema<typeof suggestResponse>;
/** One site of GET /api/suggest, in greedy order (geometry as GeoJSON). */
export type SuggestPick = Override<SuggestAnswer['picks'][number], { geometry: PlanGeometry }>;
/** GET /api/suggest: greedy maximal covering for one rule. */
export type Suggestion = Override<SuggestAnswer, { picks: SuggestPick[] }>;

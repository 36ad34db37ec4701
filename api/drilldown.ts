/** GET /api/areas/:level/:id/drilldown: why an area fails one rule, from the per-origin results. */

import type { FromSchema } from 'json-schema-to-ts';

export const drilldownParams = {
  type: 'object',
  required: ['level', 'id'],
  additionalProperties: false,
  properties: {
    level: { type: 'string', enum: ['residential_area', 'community'] },
    id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9]+$' },
  },
} as const;

export const drilldownQuery = {
  type: 'object',
  required: ['rule'],
  additionalProperties: false,
  properties: {
    rule_set: { type: 'string', maxLength: 64, default: 'chengdu-park-city' },
    rule: { type: 'string', minLength: 1, maxLength: 64 },
    max_points: { type: 'integer', minimum: 0, maximum: 20000, default: 5000 },
  },
} as const;

const countsByOutcome = {
  type: 'object',
  properties: {
    distance: { type: 'number' },
    beyond_cap: { type: 'number' },
    no_path: { type: 'number' },
    no_data: { type: 'number' },
  },
} as const;

export const drilldownJson = {
  type: 'object',
  required: ['rule_set', 'rule', 'level', 'area_key', 'run_id', 'histogram', 'sentence'],
  properties: {
    rule_set: { type: 'string' },
    level: { type: 'string' },
    area_key: { type: 'string' },
    area_name: { type: ['string', 'null'] },
    run_id: { type: 'integer' },
    dataset_id: { type: 'integer' },
    rule: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        zh: { type: 'string' },
        en: { type: 'string' },
        limit_m: { type: 'number', description: 'the largest walking distance any tier of the rule allows' },
        target_share: { type: 'number' },
        citation: { type: 'string' },
      },
    },
    population: { type: 'number', description: 'residents of the area with a result (the study area)' },
    covered_population: { type: 'number' },
    uncovered_population: { type: 'number' },
    share: { type: ['number', 'null'], description: 'network (walking) share' },
    straight_share: { type: ['number', 'null'], description: 'straight-line share, for comparison' },
    passes: { type: ['boolean', 'null'], description: 'null where the rule is not assessable (no_data)' },
    distance_cap_m: { type: 'number' },
    uncovered_by_outcome: { ...countsByOutcome, description: 'uncovered residents by outcome' },
    histogram: {
      type: 'object',
      description:
        'walking distances (outcome distance) of all residents of the area, in bins of bin_m; the others by outcome',
      properties: {
        bin_m: { type: 'number' },
        limit_m: { type: 'number' },
        bins: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              from_m: { type: 'number' },
              to_m: { type: 'number' },
              origins: { type: 'integer' },
              population: { type: 'number' },
            },
          },
        },
        origins_by_outcome: countsByOutcome,
        population_by_outcome: countsByOutcome,
      },
    },
    nearest_for_uncovered: {
      type: 'array',
      description: 'facilities nearest to the uncovered residents (outcome distance), most residents first',
      items: {
        type: 'object',
        properties: {
          facility_id: { type: 'string' },
          name: { type: ['string', 'null'] },
          category: { type: 'string' },
          lng: { type: 'number' },
          lat: { type: 'number' },
          is_sample: { type: 'boolean' },
          population: { type: 'number' },
          median_m: { type: 'number' },
        },
      },
    },
    caveats: {
      type: 'array',
      items: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
    },
    sentence: { type: 'string' },
    uncovered_points: {
      type: 'object',
      additionalProperties: true,
      description: 'GeoJSON FeatureCollection of the uncovered origins (outcome, network_m, population)',
    },
    points_truncated: { type: 'boolean' },
  },
} as const;

export type DrilldownQuery = FromSchema<typeof drilldownQuery>;
export type Drilldown = FromSchema<typeof drilldownJson>;
export type DrilldownHistogram = NonNullable<Drilldown['histogram']>;

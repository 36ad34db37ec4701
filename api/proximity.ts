/** GET /api/proximity: the walk from a point to the nearest facility of each category. */

import type { FromSchema } from 'json-schema-to-ts';
import { lngLatProperties } from './common.ts';
import { REACH_OUTCOMES } from './enums.ts';
import { DEFAULT_RULE_SET, MAX_RULE_SET_ID_CHARS } from './limits.ts';

export const proximityQuery = {
  type: 'object',
  required: ['lng', 'lat'],
  additionalProperties: false,
  properties: {
    ...lngLatProperties,
    categories: { type: 'string', maxLength: 400, description: 'comma-separated category ids (default: all)' },
    rule_set: { type: 'string', maxLength: MAX_RULE_SET_ID_CHARS, default: DEFAULT_RULE_SET },
    rule: {
      type: 'string',
      maxLength: 64,
      description:
        "a rule of rule_set that judges the categories its tiers name, instead of each category's default rule (e.g. gb50180-2018's min10_park_1ha for park)",
    },
  },
} as const;

// Nullable by a type list, not anyOf: fast-json-stringify picks an anyOf branch by running the
// validator on each value, a tenth of an all-categories answer's time.
const lineStringOrNull = {
  type: ['object', 'null'],
  required: ['type', 'coordinates'],
  properties: {
    type: { type: 'string', enum: ['LineString'] },
    coordinates: { type: 'array', items: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } },
  },
} as const;

export const proximityResponse = {
  type: 'object',
  required: ['point', 'snap', 'rule_set', 'results'],
  properties: {
    point: {
      type: 'object',
      required: ['lng', 'lat'],
      properties: { lng: { type: 'number' }, lat: { type: 'number' } },
    },
    snap: {
      type: 'object',
      required: ['lng', 'lat', 'distance_m'],
      properties: { lng: { type: 'number' }, lat: { type: 'number' }, distance_m: { type: 'number' } },
    },
    rule_set: { type: 'string' },
    walk_speed_m_per_min: { type: 'number' },
    distance_cap_m: { type: 'number', description: 'walking distances are reported up to here; farther is beyond_cap' },
    dataset_id: { type: 'integer' },
    run_id: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'category',
          'outcome',
          'label',
          'facility',
          'inside',
          'network_distance_m',
          'straight_distance_m',
          'walk_minutes',
          'max_distance_m',
          'meets_target',
          'path',
        ],
        properties: {
          category: { type: 'string' },
          outcome: {
            type: 'string',
            enum: REACH_OUTCOMES,
            description:
              'distance: network_distance_m is set (up to distance_cap_m); beyond_cap: a facility lies in this piece of the network, farther than the cap; no_path: none in this piece of the network; no_data: no facility of the category in the data',
          },
          label: {
            type: 'object',
            required: ['zh', 'en'],
            properties: { zh: { type: 'string' }, en: { type: 'string' } },
          },
          facility: {
            type: ['object', 'null'],
            required: ['id', 'name', 'lng', 'lat', 'is_sample'],
            properties: {
              id: { type: 'integer' },
              name: { type: ['string', 'null'] },
              lng: { type: 'number' },
              lat: { type: 'number' },
              is_sample: { type: 'boolean' },
            },
          },
          inside: {
            type: 'boolean',
            description: 'the point lies inside the facility (a park or green space polygon): 0 m, no path',
          },
          network_distance_m: { type: ['number', 'null'] },
          straight_distance_m: { type: ['number', 'null'] },
          walk_minutes: { type: ['number', 'null'] },
          rule_id: { type: ['string', 'null'] },
          max_distance_m: { type: ['number', 'null'] },
          meets_target: {
            type: ['boolean', 'null'],
            description: 'null where the category has no rule, or its rule is not assessable (no_data)',
          },
          path: lineStringOrNull,
        },
      },
    },
  },
} as const;

export type ProximityQuery = FromSchema<typeof proximityQuery>;
export type Proximity = FromSchema<typeof proximityResponse>;
export type ProximityResult = Proximity['results'][number];

/** GET /api/categories and GET /api/rules: what is measured, and against which standards. */

import type { FromSchema } from 'json-schema-to-ts';

export const categoriesResponse = {
  type: 'object',
  required: ['categories'],
  properties: {
    categories: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'zh', 'en', 'count'],
        properties: {
          id: { type: 'string' },
          zh: { type: 'string' },
          en: { type: 'string' },
          areal: { type: 'boolean' },
          count: { type: 'integer' },
          osm_tags: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

const tier = {
  type: 'object',
  required: ['categories', 'min_area_m2', 'max_distance_m'],
  properties: {
    categories: { type: 'array', items: { type: 'string' } },
    min_area_m2: { type: ['number', 'null'] },
    max_distance_m: { type: 'number' },
  },
} as const;

export const rulesResponse = {
  type: 'object',
  required: ['rule_sets'],
  properties: {
    rule_sets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'version', 'zh', 'en', 'citation', 'rules'],
        properties: {
          id: { type: 'string' },
          version: { type: 'string' },
          zh: { type: 'string' },
          en: { type: 'string' },
          citation: { type: 'string' },
          rules: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'zh', 'en', 'tiers', 'target_share', 'citation', 'note'],
              properties: {
                id: { type: 'string' },
                zh: { type: 'string' },
                en: { type: 'string' },
                tiers: { type: 'array', items: tier },
                target_share: { type: 'number' },
                citation: { type: 'string' },
                note: { type: ['string', 'null'] },
              },
            },
          },
        },
      },
    },
  },
} as const;

export type Category = FromSchema<typeof categoriesResponse>['categories'][number];
export type RuleSet = FromSchema<typeof rulesResponse>['rule_sets'][number];
export type Rule = RuleSet['rules'][number];
export type RuleTier = Rule['tiers'][number];

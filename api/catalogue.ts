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
  required: ['categories', 'min_area_m2', 'max_area_m2', 'max_distance_m', 'citation'],
  properties: {
    categories: { type: 'array', items: { type: 'string' } },
    min_area_m2: { type: ['number', 'null'] },
    max_area_m2: { type: ['number', 'null'], description: 'exclusive upper bound of the facility area (a size band)' },
    max_distance_m: { type: 'number' },
    citation: { type: ['string', 'null'] },
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
        required: ['id', 'version', 'zh', 'en', 'citation', 'note', 'built_in', 'rules'],
        properties: {
          id: { type: 'string' },
          version: { type: 'string' },
          zh: { type: 'string' },
          en: { type: 'string' },
          citation: { type: 'string' },
          note: { type: ['string', 'null'] },
          built_in: {
            type: 'boolean',
            description:
              'shipped as geo/rules/<id>.json; false = stored with npm run import -- rules or POST /api/rule-sets',
          },
          rules: {
            type: 'array',
            items: {
              type: 'object',
              required: [
                'id',
                'zh',
                'en',
                'tiers',
                'target_share',
                'measure',
                'population_group',
                'citation',
                'note',
                'judges',
              ],
              properties: {
                id: { type: 'string' },
                zh: { type: 'string' },
                en: { type: 'string' },
                tiers: { type: 'array', items: tier },
                target_share: { type: 'number' },
                measure: { type: 'string', enum: ['population', 'residential_land_area'] },
                population_group: { type: 'string', enum: ['all', 'elderly', 'children'] },
                citation: { type: 'string' },
                note: { type: ['string', 'null'] },
                judges: {
                  type: ['string', 'null'],
                  description: 'the category this rule judges by default where its tiers name several',
                },
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

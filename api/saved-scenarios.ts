import type { FromSchema } from 'json-schema-to-ts';
import { MAX_NAME_CHARS } from './limits.ts';
export { idParams as savedScenarioIdParams } from './plans.ts';

// ---- /api/saved-scenarios: named scenarios kept with their results, compared, exported -----------

export const saveScenarioBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: MAX_NAME_CHARS, pattern: '^[^\\u0000]*$' },
    rule_set: { type: 'string', maxLength: 64, default: 'chengdu-park-city', description: "a rule set id, or 'all'" },
    plan_ids: {
      type: 'array',
      maxItems: 50,
      uniqueItems: true,
      items: { type: 'integer', minimum: 1, maximum: 2147483647 },
    },
    sites: {
      type: 'array',
      maxItems: 50,
      items: { type: 'object', additionalProperties: true },
      description: 'drawn plans, as `plans` of POST /api/scenarios/evaluate',
    },
  },
} as const;

export const resultRow = {
  type: 'object',
  required: [
    'rule_set_id',
    'rule_id',
    'target_share',
    'population',
    'covered_before',
    'covered_after',
    'share_before',
    'share_after',
    'newly_covered',
    'communities_fail_to_pass',
    'communities_pass_to_fail',
  ],
  properties: {
    rule_set_id: { type: 'string' },
    rule_id: { type: 'string' },
    target_share: { type: ['number', 'null'] },
    population: { type: 'number' },
    covered_before: { type: 'number' },
    covered_after: { type: 'number' },
    share_before: { type: ['number', 'null'] },
    share_after: { type: ['number', 'null'] },
    newly_covered: { type: 'number' },
    communities_fail_to_pass: { type: 'integer' },
    communities_pass_to_fail: { type: 'integer' },
  },
} as const;

export const scenarioSummary = {
  type: 'object',
  required: [
    'id',
    'name',
    'rule_set',
    'plan_ids',
    'sites',
    'dataset_id',
    'run_id',
    'created_by',
    'created_at',
    'results',
  ],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    rule_set: { type: 'string' },
    plan_ids: { type: 'array', items: { type: 'integer' } },
    sites: { type: 'integer', description: 'drawn sites kept with it' },
    dataset_id: { type: 'integer' },
    run_id: { type: 'integer' },
    created_by: { type: 'string' },
    created_at: { type: 'string' },
    results: { type: 'array', items: resultRow },
  },
} as const;

export const compareQuery = {
  type: 'object',
  required: ['a', 'b'],
  additionalProperties: false,
  properties: {
    a: { type: 'integer', minimum: 1, maximum: 2147483647 },
    b: { type: 'integer', minimum: 1, maximum: 2147483647 },
  },
} as const;

const compareSide = {
  type: ['object', 'null'],
  required: ['share_after', 'covered_after', 'newly_covered'],
  properties: {
    share_after: { type: ['number', 'null'] },
    covered_after: { type: 'number' },
    newly_covered: { type: 'number' },
  },
} as const;

export const compareResponse = {
  type: 'object',
  required: ['a', 'b', 'rules'],
  properties: {
    a: scenarioSummary,
    b: scenarioSummary,
    rules: {
      type: 'array',
      items: {
        type: 'object',
        required: ['rule', 'a', 'b', 'newly_covered_b_minus_a'],
        additionalProperties: true,
        properties: {
          rule: { type: 'string', description: '<rule_set>/<rule_id>' },
          a: compareSide,
          b: compareSide,
          newly_covered_b_minus_a: {
            type: ['number', 'null'],
            description: 'residents newly covered in b minus in a; null when one lacks the rule',
          },
        },
      },
    },
  },
} as const;

export type SavedScenario = FromSchema<typeof scenarioSummary>;
export type ScenarioComparison = FromSchema<typeof compareResponse>;

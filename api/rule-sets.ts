/** GET /api/rule-sets/schema and POST /api/rule-sets (admin): store a rule set file, versioned. */

import type { FromSchema } from 'json-schema-to-ts';

export const ruleSetStoreQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    compute: {
      type: 'boolean',
      default: true,
      description: 'start a coverage compute for the new rule set (npm run compute, in its own process)',
    },
  },
} as const;
export const ruleSetStoreResponse = {
  type: 'object',
  required: ['id', 'version', 'created', 'supersedes', 'compute'],
  properties: {
    id: { type: 'string' },
    version: { type: 'string' },
    created: { type: 'boolean', description: 'false: this id and version were already stored with the same content' },
    supersedes: {
      type: ['string', 'null'],
      description: 'the version this one replaces for the next compute (earlier runs keep theirs)',
    },
    compute: { type: 'string', enum: ['started', 'already_running', 'skipped'] },
  },
} as const;

export type RuleSetStored = FromSchema<typeof ruleSetStoreResponse>;

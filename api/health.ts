/** GET /api/health: database reachability and the active dataset's provenance and counts. */

import type { FromSchema } from 'json-schema-to-ts';

export const healthResponse = {
  type: 'object',
  required: ['status', 'database', 'dataset', 'attribution'],
  properties: {
    status: {
      type: 'string',
      enum: ['ok', 'degraded', 'warming'],
      description: 'warming: the engine is loading (answers wait for it); see `engine`',
    },
    engine: {
      type: 'object',
      description: 'the in-memory engine: cold (not loaded yet), warming (a load is running), ready',
      required: ['state'],
      properties: {
        state: { type: 'string', enum: ['cold', 'warming', 'ready'] },
        dataset_id: { type: ['integer', 'null'] },
        run_id: { type: ['integer', 'null'] },
        network_source: {
          type: ['string', 'null'],
          enum: ['file', 'built', null],
          description: 'file: read from its engine file under .data/engine; built: from the database',
        },
        load_seconds: { type: ['number', 'null'] },
        warming_seconds: { type: ['number', 'null'] },
      },
    },
    database: { type: 'string', enum: ['reachable', 'unreachable'] },
    dataset: {
      type: ['object', 'null'],
      required: ['id', 'kind', 'source', 'is_sample', 'imported_at', 'counts'],
      properties: {
        id: { type: 'integer' },
        name: { type: 'string', description: 'the dataset name (dataset= of every route)' },
        kind: { type: 'string' },
        source: { type: 'string' },
        sha256: { type: 'string' },
        is_sample: { type: 'boolean' },
        imported_at: { type: 'string' },
        import_seconds: { type: ['number', 'null'] },
        counts: {
          type: 'object',
          required: ['facilities', 'residential_areas', 'communities'],
          properties: {
            walk_nodes: { type: 'integer' },
            walk_edges: { type: 'integer' },
            facilities: { type: 'object', additionalProperties: { type: 'integer' } },
            residential_areas: { type: 'integer' },
            communities: { type: 'integer' },
            districts: { type: 'integer', description: 'imported district (区) boundaries' },
          },
          additionalProperties: true,
        },
      },
    },
    coverage_run_id: {
      type: ['integer', 'null'],
      description: 'the coverage run answers come from; null: no results (503 no_results)',
    },
    problems: { type: 'array', items: { type: 'string' }, description: 'why the status is degraded' },
    attribution: { type: 'string' },
  },
} as const;

export type Health = FromSchema<typeof healthResponse>;

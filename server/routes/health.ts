import type { FastifyInstance } from 'fastify';
import { activeDataset, servingState } from '../queries/datasets.ts';

const healthResponse = {
  type: 'object',
  required: ['status', 'database', 'dataset'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded', 'warming'], description: "warming: the engine is loading (answers wait for it); see `engine`" },
    engine: {
      type: 'object',
      description: 'the in-memory engine: cold (not loaded yet), warming (a load is running), ready',
      properties: {
        state: { type: 'string', enum: ['cold', 'warming', 'ready'] },
        dataset_id: { type: ['integer', 'null'] },
        run_id: { type: ['integer', 'null'] },
        network_source: { type: ['string', 'null'], enum: ['file', 'built', null], description: 'file: read from its engine file under .data/engine; built: from the database' },
        load_seconds: { type: ['number', 'null'] },
        warming_seconds: { type: ['number', 'null'] },
      },
    },
    database: { type: 'string', enum: ['reachable', 'unreachable'] },
    dataset: {
      type: ['object', 'null'],
      properties: {
        id: { type: 'integer' },
        kind: { type: 'string' },
        source: { type: 'string' },
        sha256: { type: 'string' },
        is_sample: { type: 'boolean' },
        imported_at: { type: 'string' },
        import_seconds: { type: ['number', 'null'] },
        counts: {
          type: 'object',
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
    coverage_run_id: { type: ['integer', 'null'], description: 'the coverage run answers come from; null: no results (503 no_results)' },
    problems: { type: 'array', items: { type: 'string' }, description: 'why the status is degraded' },
    attribution: { type: 'string' },
  },
} as const;

/** GET /api/health: database reachability and the active dataset's provenance and counts. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/api/health', { schema: { tags: ['service'], summary: 'Service and dataset status', response: { 200: healthResponse, 503: healthResponse } } }, async (_req, reply) => {
    try {
      const [dataset, state] = await Promise.all([activeDataset(app.pg), servingState(app.pg)]);
      const problems: string[] = [];
      if (!dataset) problems.push('no dataset is loaded');
      else if (state.servedRunId === null) problems.push(`no results: dataset ${state.newestDatasetId} has no complete coverage run`);
      else if (!state.newestHasResults) problems.push(`dataset ${state.newestDatasetId} is being computed; answers come from dataset ${state.servedDatasetId}, run ${state.servedRunId}`);
      const engine = app.engine.state();
      if (engine.state === 'warming') problems.push(`the engine is loading (${engine.warming_seconds!.toFixed(1)} s so far); answers wait for it`);
      return {
        status: engine.state === 'warming' ? 'warming' : problems.length ? 'degraded' : 'ok', database: 'reachable', dataset, coverage_run_id: state.servedRunId, problems, engine,
        attribution: '© OpenStreetMap contributors',
      };
    } catch {
      return reply.status(503).send({ status: 'degraded', database: 'unreachable', dataset: null, attribution: '© OpenStreetMap contributors' });
    }
  });
}

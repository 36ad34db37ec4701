import type { FastifyInstance } from 'fastify';
import { activeDataset } from '../queries/datasets.ts';

const healthResponse = {
  type: 'object',
  required: ['status', 'database', 'dataset'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
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
    attribution: { type: 'string' },
  },
} as const;

/** GET /api/health: database reachability and the active dataset's provenance and counts. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/api/health', { schema: { tags: ['service'], summary: 'Service and dataset status', response: { 200: healthResponse, 503: healthResponse } } }, async (_req, reply) => {
    try {
      const dataset = await activeDataset(app.pg);
      return { status: dataset ? 'ok' : 'degraded', database: 'reachable', dataset, attribution: '© OpenStreetMap contributors' };
    } catch {
      return reply.status(503).send({ status: 'degraded', database: 'unreachable', dataset: null, attribution: '© OpenStreetMap contributors' });
    }
  });
}

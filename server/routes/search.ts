import type { FastifyInstance } from 'fastify';
import { searchQuerySchema, searchResponseSchema } from '../../api/search.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { searchNames } from '../queries/search.ts';
import { requestedDataset } from '../http/request.ts';

/** GET /api/search: find a community, residential area, facility or road by name. */
export async function searchRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { q: string; limit?: number } }>(
    '/api/search',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'Find communities, residential areas, facilities and roads by name',
        querystring: searchQuerySchema,
        response: { 200: searchResponseSchema, 400: errorSchema },
      },
      config: { rateLimit: { max: 600, timeWindow: '1 minute' } },
    },
    async (req) => {
      const q = req.query.q.trim();
      if (!q || q.includes('\0'))
        throw new ApiError('invalid_parameter', 'q must hold a name (not only spaces, no NUL)');
      return { query: q, results: await searchNames(app.pg, q, req.query.limit ?? 20, requestedDataset(req)) };
    },
  );
}

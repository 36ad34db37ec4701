import type { FastifyInstance } from 'fastify';
import { healthResponse } from '../../api/health.ts';
import { activeDataset, defaultDatasetName, servingState } from '../queries/datasets.ts';
import { requestedDataset } from '../http/request.ts';

/** GET /api/health: database reachability and the active dataset's provenance and counts. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/health',
    {
      schema: {
        tags: ['service'],
        summary: 'Service and dataset status',
        response: { 200: healthResponse, 503: healthResponse },
      },
    },
    async (req, reply) => {
      const name = requestedDataset(req);
      try {
        // the newest row of the name asked for, else of the default name (not the newest of any
        // name: `npm run datasets default` can mark an older one)
        const [dataset, state] = await Promise.all([
          defaultDatasetName(app.pg).then((d) => ((name ?? d) ? activeDataset(app.pg, name ?? d!) : null)),
          servingState(app.pg, name),
        ]);
        const problems: string[] = [];
        if (!dataset) problems.push('no dataset is loaded');
        else if (state.servedRunId === null)
          problems.push(`no results: dataset ${state.newestDatasetId} has no complete coverage run`);
        else if (!state.newestHasResults)
          problems.push(
            `dataset ${state.newestDatasetId} is being computed; answers come from dataset ${state.servedDatasetId}, run ${state.servedRunId}`,
          );
        const engine = app.engine.state(name);
        if (engine.state === 'warming')
          problems.push(`the engine is loading (${engine.warming_seconds!.toFixed(1)} s so far); answers wait for it`);
        return {
          status: engine.state === 'warming' ? 'warming' : problems.length ? 'degraded' : 'ok',
          database: 'reachable',
          dataset,
          coverage_run_id: state.servedRunId,
          problems,
          engine,
          attribution: '© OpenStreetMap contributors',
        };
      } catch {
        return reply.status(503).send({
          status: 'degraded',
          database: 'unreachable',
          dataset: null,
          attribution: '© OpenStreetMap contributors',
        });
      }
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { drilldownJson, drilldownParams, drilldownQuery } from '../../api/drilldown.ts';
import { computeDrilldown } from '../answers/drilldown.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { requireRuleSet, requestedDataset } from '../http/request.ts';
import type { DrilldownLevel } from '../queries/drilldown.ts';

/** GET /api/areas/:level/:id/drilldown: why an area fails one rule, from the per-origin results. */
export async function drilldownRoutes(app: FastifyInstance): Promise<void> {
  app.get<{
    Params: { level: DrilldownLevel; id: string };
    Querystring: { rule_set: string; rule: string; max_points: number };
  }>(
    '/api/areas/:level/:id/drilldown',
    {
      schema: {
        tags: ['coverage'],
        summary: 'Why an area fails a rule: uncovered homes, walking-distance histogram, nearest facility, caveats',
        params: drilldownParams,
        querystring: drilldownQuery,
        response: { 200: drilldownJson, 400: errorSchema, 404: errorSchema, 503: errorSchema },
      },
    },
    async (req) => {
      const rs = requireRuleSet(req.query.rule_set);
      const rule = rs.rules.find((r) => r.id === req.query.rule);
      if (!rule)
        throw new ApiError(
          'unknown_rule',
          `rule: no rule "${req.query.rule}" in rule set ${rs.id} (${rs.rules.map((r) => r.id).join(', ')})`,
        );
      const { datasetId, runId } = await app.engine.currentRun(requestedDataset(req));
      return computeDrilldown(
        app.pg,
        datasetId,
        runId,
        rs,
        rule,
        req.params.level,
        req.params.id,
        req.query.max_points,
      );
    },
  );
}

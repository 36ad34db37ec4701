import type { FastifyInstance, FastifyRequest } from 'fastify';
import { makeAuthorizer, type Principal } from '../auth.ts';
import { toCsv } from '../csv.ts';
import { ApiError, errorSchema } from '../errors.ts';
import {
  compareQuery,
  compareResponse,
  resultRow,
  saveScenarioBody,
  savedScenarioIdParams as idParams,
  scenarioSummary,
} from '../../api/saved-scenarios.ts';

// ---- /api/saved-scenarios: routes ---------------------------------------------------------------

const SUMMARY_SQL = `
  SELECT s.id, s.name, s.rule_set, s.plan_ids::int[] AS plan_ids, jsonb_array_length(s.sites) AS sites, s.dataset_id, s.run_id, s.created_by, s.created_at,
         coalesce((SELECT json_agg(r ORDER BY r.rule_set_id, r.rule_id) FROM (
           SELECT rule_set_id, rule_id, target_share, population, covered_before, covered_after, share_before, share_after, newly_covered,
                  communities_fail_to_pass, communities_pass_to_fail FROM saved_scenario_results WHERE scenario_id = s.id) r), '[]') AS results
  FROM saved_scenarios s`;

const CSV_HEADER = [
  'scenario',
  'name',
  'rule_set',
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
  'dataset_id',
  'run_id',
] as const;

interface RuleAnswer {
  rule_set: string;
  rule_id: string;
  target_share: number | null;
  population: number;
  covered_before: number;
  covered_after: number;
  share_before: number | null;
  share_after: number | null;
  newly_covered: number;
  flips: { community: { fail_to_pass: number; pass_to_fail: number } };
}

/**
 * Saved scenarios: a named set of stored plans and drawn sites with its results, kept; two compared
 * side by side; results exported as CSV. Writes need a planner or admin token and land in the audit
 * log with the row, in one transaction, as plan writes do.
 */
export async function savedScenarioRoutes(app: FastifyInstance): Promise<void> {
  const authorize = makeAuthorizer(app);
  const principals = new WeakMap<FastifyRequest, Principal>();
  const authenticate = async (req: FastifyRequest) =>
    void principals.set(req, await authorize(req, ['planner', 'admin']));

  app.post<{ Body: { name: string; rule_set: string; plan_ids?: number[]; sites?: unknown[] } }>(
    '/api/saved-scenarios',
    {
      onRequest: authenticate,
      schema: {
        tags: ['plans'],
        summary: 'Save a named scenario (stored plans and drawn sites) with its results (planner or admin token)',
        description:
          'Evaluated as POST /api/scenarios/evaluate would (same budgets, worker pool), then stored with one result row per rule.',
        body: saveScenarioBody,
        response: {
          201: scenarioSummary,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          422: errorSchema,
          429: errorSchema,
          503: errorSchema,
        },
      },
      config: { rateLimit: { max: 60, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const who = principals.get(req)!;
      const b = req.body;
      // the evaluation route, in-process: its validation, budgets and worker pool apply unchanged
      const res = await app.inject({
        method: 'POST',
        url: '/api/scenarios/evaluate',
        payload: {
          rule_set: b.rule_set,
          plan_ids: b.plan_ids ?? [],
          plans: b.sites ?? [],
          marginal: false,
          include_changed_edges: false,
        },
      });
      const answer = res.json() as {
        error?: { code: string; message: string };
        dataset_id: number;
        run_id: number;
        rules: RuleAnswer[];
      };
      if (res.statusCode !== 200) return reply.status(res.statusCode).send(answer);
      const c = await app.pg.connect();
      try {
        await c.query('BEGIN');
        const { rows } = await c.query<{ id: number }>(
          `INSERT INTO saved_scenarios (name, rule_set, plan_ids, sites, dataset_id, run_id, evaluation, created_by, token_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
          [
            b.name,
            b.rule_set,
            b.plan_ids ?? [],
            JSON.stringify(b.sites ?? []),
            answer.dataset_id,
            answer.run_id,
            JSON.stringify(answer),
            who.name,
            who.tokenId,
          ],
        );
        const id = rows[0].id;
        for (const r of answer.rules) {
          await c.query(
            `INSERT INTO saved_scenario_results VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
            [
              id,
              r.rule_set,
              r.rule_id,
              r.target_share,
              r.population,
              r.covered_before,
              r.covered_after,
              r.share_before,
              r.share_after,
              r.newly_covered,
              r.flips.community.fail_to_pass,
              r.flips.community.pass_to_fail,
            ],
          );
        }
        await c.query(
          `INSERT INTO audit_log (actor, token_id, action, entity, entity_id, before, after, request_id) VALUES ($1, $2, 'scenario.save', 'saved_scenario', $3, NULL, $4, $5)`,
          [
            who.name,
            who.tokenId,
            String(id),
            JSON.stringify({
              name: b.name,
              rule_set: b.rule_set,
              plan_ids: b.plan_ids ?? [],
              sites: (b.sites ?? []).length,
            }),
            req.id,
          ],
        );
        await c.query('COMMIT');
        const saved = await app.pg.query(`${SUMMARY_SQL} WHERE s.id = $1`, [id]);
        return reply.status(201).send(saved.rows[0]);
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
  );

  app.get(
    '/api/saved-scenarios',
    {
      schema: {
        tags: ['plans'],
        summary: 'Saved scenarios with their results, newest first',
        response: { 200: { type: 'object', properties: { scenarios: { type: 'array', items: scenarioSummary } } } },
      },
    },
    async () => ({ scenarios: (await app.pg.query(`${SUMMARY_SQL} ORDER BY s.id DESC LIMIT 500`)).rows }),
  );

  app.get<{ Querystring: { a: number; b: number } }>(
    '/api/saved-scenarios/compare',
    {
      schema: {
        tags: ['plans'],
        summary: 'Two saved scenarios side by side, rule by rule',
        querystring: compareQuery,
        response: { 200: compareResponse, 400: errorSchema, 404: errorSchema },
      },
    },
    async (req) => {
      const { rows } = await app.pg.query(`${SUMMARY_SQL} WHERE s.id = ANY($1::int[])`, [[req.query.a, req.query.b]]);
      const a = rows.find((r) => r.id === req.query.a),
        b = rows.find((r) => r.id === req.query.b);
      if (!a || !b)
        throw new ApiError(
          'not_found',
          `no saved scenario ${[!a ? req.query.a : null, !b ? req.query.b : null].filter(Boolean).join(', ')}`,
        );
      type Row = {
        rule_set_id: string;
        rule_id: string;
        share_after: number | null;
        covered_after: number;
        newly_covered: number;
        population: number;
      };
      const key = (r: Row) => `${r.rule_set_id}/${r.rule_id}`;
      const keys = [...new Set([...a.results, ...b.results].map(key))].sort();
      const rules = keys.map((k) => {
        const ra = (a.results as Row[]).find((r) => key(r) === k) ?? null,
          rb = (b.results as Row[]).find((r) => key(r) === k) ?? null;
        return {
          rule: k,
          a: ra && { share_after: ra.share_after, covered_after: ra.covered_after, newly_covered: ra.newly_covered },
          b: rb && { share_after: rb.share_after, covered_after: rb.covered_after, newly_covered: rb.newly_covered },
          newly_covered_b_minus_a: ra && rb ? Math.round((rb.newly_covered - ra.newly_covered) * 100) / 100 : null,
        };
      });
      return { a, b, rules };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/saved-scenarios/:id',
    {
      schema: {
        tags: ['plans'],
        summary: 'One saved scenario with its results',
        params: idParams,
        response: { 200: scenarioSummary, 400: errorSchema, 404: errorSchema },
      },
    },
    async (req) => {
      const { rows } = await app.pg.query(`${SUMMARY_SQL} WHERE s.id = $1`, [req.params.id]);
      if (!rows.length) throw new ApiError('not_found', `no saved scenario ${req.params.id}`);
      return rows[0];
    },
  );

  app.get<{ Params: { id: number }; Querystring: { format: 'csv' | 'json' } }>(
    '/api/saved-scenarios/:id/results',
    {
      schema: {
        tags: ['plans'],
        summary: "A saved scenario's results, one row per rule (CSV for Excel, or JSON)",
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['csv', 'json'], default: 'csv' } },
        },
        // JSON: the result rows; CSV (text/csv) is sent as text, not through this schema
        response: {
          200: { anyOf: [{ type: 'array', items: resultRow }, { type: 'string' }] },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const { rows } = await app.pg.query(`${SUMMARY_SQL} WHERE s.id = $1`, [req.params.id]);
      if (!rows.length) throw new ApiError('not_found', `no saved scenario ${req.params.id}`);
      const s = rows[0];
      if (req.query.format === 'json') return s.results;
      const body = toCsv(
        CSV_HEADER,
        (s.results as Record<string, unknown>[]).map((r) => [
          s.id,
          s.name,
          r.rule_set_id,
          r.rule_id,
          r.target_share,
          r.population,
          r.covered_before,
          r.covered_after,
          r.share_before,
          r.share_after,
          r.newly_covered,
          r.communities_fail_to_pass,
          r.communities_pass_to_fail,
          s.dataset_id,
          s.run_id,
        ]),
      );
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="scenario-${s.id}-results.csv"`)
        .send(body);
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/saved-scenarios/:id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['plans'],
        summary: 'Delete a saved scenario (planner or admin token)',
        params: idParams,
        response: {
          204: { type: 'null', description: 'deleted' },
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const who = principals.get(req)!;
      const c = await app.pg.connect();
      try {
        await c.query('BEGIN');
        const { rows } = await c.query(`DELETE FROM saved_scenarios WHERE id = $1 RETURNING name, rule_set, plan_ids`, [
          req.params.id,
        ]);
        if (!rows.length) throw new ApiError('not_found', `no saved scenario ${req.params.id}`);
        await c.query(
          `INSERT INTO audit_log (actor, token_id, action, entity, entity_id, before, after, request_id) VALUES ($1, $2, 'scenario.delete', 'saved_scenario', $3, $4, NULL, $5)`,
          [who.name, who.tokenId, String(req.params.id), JSON.stringify(rows[0]), req.id],
        );
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
      return reply.status(204).send();
    },
  );
}

import type { FastifyInstance } from 'fastify';
import type { LineString, MultiPolygon, Polygon } from 'geojson';
import { errorSchema } from '../../api/errors.ts';
import {
  GRID_MAX_NETWORK_M,
  GRID_SITE_M2,
  GRID_SPACING_M,
  MAX_GRID_POINTS,
  MAX_SCENARIO_PLANS,
} from '../../api/limits.ts';
import {
  evaluateBody,
  evaluateResponse,
  suggestQuery,
  suggestResponse,
  type EvaluateBody,
  type SuggestQuery,
} from '../../api/scenarios.ts';
import {
  extentOfCoords,
  gridCandidateBound,
  gridOver,
  gridSiteAreaM2,
  squareAround,
} from '../../geo/candidate-sites.ts';
import type { ScenarioPlan } from '../../geo/scenario/plan.ts';
import { checkPlanGeometriesValid } from '../check-plan-geometry.ts';
import { ApiError } from '../errors.ts';
import { parseBbox, requireRule, ruleSetsOf, requestedDataset } from '../http/request.ts';
import { checkBudget, evaluateCost, maxCandidatesWithin, planReachKm2, suggestCost } from '../plugins/heavy-pool.ts';
import type { SerialisedAnswer } from '../heavy-work/tasks.ts';
import { gridCandidates } from '../queries/grid-candidates.ts';
import { plansByIds, proposedPlans } from '../queries/plans.ts';
import { storedScenarioPlan, toScenarioPlan } from '../scenario-plans.ts';

type Geometry = LineString | Polygon | MultiPolygon;
type LoadedEngine = Awaited<ReturnType<FastifyInstance['engine']['current']>>;

const extents = new WeakMap<LoadedEngine, [number, number, number, number]>();

/** The extent of every vertex of the engine's walkable edges (the node extent misses curved edges' shape points); once per engine. */
function networkExtent(engine: LoadedEngine): [number, number, number, number] {
  let e = extents.get(engine);
  if (!e) extents.set(engine, (e = extentOfCoords(engine.net.graph.edgeCoords)));
  return e;
}

/**
 * POST /api/scenarios/evaluate: the coverage effect of 两拆一增 plans, stored or drawn; and
 * GET /api/suggest: where to put new open spaces (or which proposed plans to do first) for a rule.
 */
export async function scenarioRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: EvaluateBody }>(
    '/api/scenarios/evaluate',
    {
      schema: {
        tags: ['analysis'],
        summary: 'Coverage effect of 两拆一增 plans (stored by id, or drawn inline)',
        description:
          `At most ${MAX_SCENARIO_PLANS} plans. Answers covered population before and after per rule, the communities and residential ` +
          "areas whose share or pass/fail changed, each plan's marginal gain (total with all plans minus total without it), and " +
          'optionally the edges whose walking distance fell. Nothing is stored.',
        body: evaluateBody,
        response: {
          200: evaluateResponse,
          400: errorSchema,
          404: errorSchema,
          413: errorSchema,
          422: errorSchema,
          429: errorSchema,
          503: errorSchema,
        },
      },
      config: { rateLimit: { max: 120, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const b = req.body;
      const ids = b.plan_ids ?? [];
      const inline = b.plans ?? [];
      if (ids.length + inline.length === 0) throw new ApiError('invalid_parameter', 'give plan_ids, plans or both');
      if (ids.length + inline.length > MAX_SCENARIO_PLANS)
        throw new ApiError('invalid_parameter', `at most ${MAX_SCENARIO_PLANS} plans in one scenario`);
      const ruleSets = ruleSetsOf(b.rule_set);
      const t0 = performance.now();

      const inlinePlans = inline.map((p, i) =>
        toScenarioPlan(
          `inline:${i}`,
          p.kind,
          p.name ?? `inline ${i + 1}`,
          p.geometry as Geometry,
          p.becomes_open_space === true,
        ),
      );
      await checkPlanGeometriesValid(
        app.pg,
        inline.map((p) => p.geometry),
      );
      const rows = ids.length ? await plansByIds(app.pg, ids) : [];
      const found = new Set(rows.map((r) => Number(r.id)));
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length) throw new ApiError('not_found', `no plan ${missing.join(', ')}`, { missing });
      const byId = new Map(rows.map(storedScenarioPlan).map((p) => [Number(p.ref.slice(5)), p]));
      const plans = [...ids.map((id) => byId.get(id)!), ...inlinePlans];
      const planIds = [...ids, ...inlinePlans.map(() => null)];

      const engine = await app.engine.current(requestedDataset(req));
      const t1 = performance.now();
      checkBudget(
        'this evaluation',
        evaluateCost(
          plans.map((p) => planReachKm2(p.geometry)),
          ruleSets.length,
          b.marginal,
          b.include_changed_edges,
        ),
        app.heavy.limits.evaluateBudget,
        'fewer or smaller plans, one rule set, marginal=false or include_changed_edges=false',
      );
      // the worker answers the whole body serialised with this route's response schema (changed
      // edges run to megabytes): the event loop only sends the bytes
      const body = await app.heavy.run<SerialisedAnswer>(req, reply, engine, {
        kind: 'evaluate',
        ruleSets,
        plans,
        planIds,
        includeChangedEdges: b.include_changed_edges,
        marginal: b.marginal,
        envelope: { dataset_id: engine.datasetId, run_id: engine.runId, rule_set: b.rule_set },
      });
      const t2 = performance.now();
      reply.header('server-timing', `load;dur=${(t1 - t0).toFixed(1)}, evaluate;dur=${(t2 - t1).toFixed(1)}`);
      return reply
        .type('application/json; charset=utf-8')
        .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    },
  );

  app.get<{ Querystring: SuggestQuery }>(
    '/api/suggest',
    {
      schema: {
        tags: ['analysis'],
        summary:
          'Greedy maximal covering: where new open spaces (or which proposed plans) cover the most residents for a rule',
        description:
          `candidates=plans: the proposed plans (at most ${MAX_SCENARIO_PLANS}); candidates=grid: points every spacing_m (default ` +
          `${GRID_SPACING_M} m) over the dataset or bbox, outside residential areas, buildings, parks, green spaces and water and within ` +
          `${GRID_MAX_NETWORK_M} m of the network (vacant-land approximation), each a square open space of site_m2. ` +
          'Greedy with recomputed marginal gains; when the subsets are few the exact optimum is enumerated and optimality_gap reported.',
        querystring: suggestQuery,
        response: { 200: suggestResponse, 400: errorSchema, 422: errorSchema, 429: errorSchema, 503: errorSchema },
      },
      config: { rateLimit: { max: 30, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const q = req.query;
      const { ruleSet, rule } = requireRule(q.rule);
      const engine = await app.engine.current(requestedDataset(req));
      const t0 = performance.now();

      let candidates: ScenarioPlan[];
      let planIds: (number | null)[];
      let truncated = false;
      let siteAreaM2: number | null = null;
      if (q.candidates === 'plans') {
        const rows = await proposedPlans(app.pg, MAX_SCENARIO_PLANS + 1);
        truncated = rows.length > MAX_SCENARIO_PLANS;
        // a plan stored before plans were checked against the scenario limits is left out, not
        // allowed to fail everyone's suggestion
        candidates = [];
        for (const r of rows.slice(0, MAX_SCENARIO_PLANS)) {
          try {
            candidates.push(storedScenarioPlan(r));
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            req.log.warn({ planId: r.id, reason: err.message }, 'stored plan left out of suggestions');
          }
        }
        planIds = candidates.map((c) => Number(c.ref.slice(5)));
      } else {
        siteAreaM2 = q.site_m2 ?? gridSiteAreaM2(rule, GRID_SITE_M2);
        if (siteAreaM2 === null)
          throw new ApiError(
            'invalid_parameter',
            `rule ${q.rule} is not served by parks or green spaces: grid candidates are open spaces`,
          );
        const grid = gridOver(parseBbox(q.bbox, engine.bbox), q.spacing_m);
        const { nx, ny } = grid;
        if (nx * ny > MAX_GRID_POINTS)
          throw new ApiError(
            'invalid_parameter',
            `the grid would have ${nx * ny} points (at most ${MAX_GRID_POINTS}): raise spacing_m or narrow bbox`,
          );
        // The budget is checked against the candidates the grid can hold before any query runs: every
        // candidate lies within GRID_MAX_NETWORK_M of a walkable edge, so inside the network's extent
        // grown by that. Within budget even if all pass, the search runs whole; otherwise it stops at
        // one candidate over what the budget allows, and the request is refused then.
        const reach = planReachKm2(squareAround(0, 0, siteAreaM2));
        const allowed = maxCandidatesWithin(app.heavy.limits.suggestBudget, q.k, reach);
        const possible = gridCandidateBound(grid, networkExtent(engine), GRID_MAX_NETWORK_M);
        // one candidate more than the budget allows: what the refusal can say without counting the rest
        const overBudget = () => {
          const cost = suggestCost(allowed + 1, q.k, reach);
          return new ApiError(
            'work_budget_exceeded',
            `this suggestion would cost at least ${cost} work units (more than ${allowed} grid candidates of ${siteAreaM2} m² with k = ${q.k}); ` +
              `the budget is ${app.heavy.limits.suggestBudget} per request: a smaller k, a wider spacing_m, a narrower bbox or a smaller site_m2`,
            { cost, budget: app.heavy.limits.suggestBudget },
          );
        };
        if (allowed === 0 && possible > 0) throw overBudget();
        const rows =
          possible === 0
            ? []
            : await gridCandidates(app.pgHeavy, grid, engine.datasetId, GRID_MAX_NETWORK_M, grid.metresPerDegLat, {
                limit: possible > allowed ? allowed + 1 : undefined,
                timeoutMs: app.heavy.limits.sqlTimeLimitMs,
              });
        if (rows.length > allowed) throw overBudget();
        candidates = rows.map((r, i) => ({
          ref: `grid:${i}`,
          kind: 'add_open_space',
          name: `grid site ${i}`,
          geometry: squareAround(r.lng, r.lat, siteAreaM2!),
        }));
        planIds = candidates.map(() => null);
      }
      const reachKm2 =
        siteAreaM2 === null
          ? Math.max(0, ...candidates.map((c) => planReachKm2(c.geometry)))
          : planReachKm2(squareAround(0, 0, siteAreaM2));
      checkBudget(
        'this suggestion',
        suggestCost(candidates.length, q.k, reachKm2),
        app.heavy.limits.suggestBudget,
        'a smaller k, a wider spacing_m, a narrower bbox or a smaller site_m2',
      );
      const answer = await app.heavy.run<Record<string, unknown>>(req, reply, engine, {
        kind: 'suggest',
        ruleSetId: ruleSet.id,
        ruleSet,
        ruleId: rule.id,
        candidates,
        planIds,
        k: q.k,
      });
      reply.header('server-timing', `suggest;dur=${(performance.now() - t0).toFixed(1)}`);
      return {
        rule_set: ruleSet.id,
        rule_id: rule.id,
        k: q.k,
        candidates: q.candidates,
        candidate_count: candidates.length,
        candidates_truncated: truncated,
        site_area_m2: siteAreaM2,
        ...answer,
      };
    },
  );
}

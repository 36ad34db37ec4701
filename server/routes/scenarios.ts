import type { FastifyInstance } from 'fastify';
import type { LineString, MultiPolygon, Polygon } from 'geojson';
import { makeLocalProjection } from '../../geo/geodesy.ts';
import { RULE_SETS, type RuleSet } from '../../geo/rules/index.ts';
import { PARK_MIN_AREA_M2 } from '../../geo/scenario/open-space.ts';
import type { ScenarioPlan } from '../../geo/scenario/plan.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { checkBudget, evaluateCost, planReachKm2, suggestCost } from '../plugins/heavy-pool.ts';
import { checkPlanGeometriesValid, checkPlanGeometry } from '../check-plan-geometry.ts';
import { MAX_NAME_CHARS, textSchema } from '../limits.ts';
import { PLAN_KINDS } from './plans.ts';
import { featureCollectionSchema, planGeometrySchema } from '../schemas.ts';
import { requireRuleSet } from './proximity.ts';

/** Plans in one evaluation: a district's 两拆一增 programme is tens of sites, not hundreds. */
export const MAX_SCENARIO_PLANS = 50;
/** Largest k for suggestions: beyond ten sites a programme is planned, not suggested. */
export const MAX_SUGGEST_K = 10;
/** Grid spacing for vacant-land candidates, metres. Chosen: about one site per Chengdu block side (150 m). */
export const GRID_SPACING_M = 150;
/** Grid candidates must lie this close to the walking network, metres: a site nobody can walk to is no site. */
export const GRID_MAX_NETWORK_M = 100;
/** Default size of a grid candidate open space: a 50 m × 50 m square (2500 m²), a 小游园 / pocket park. */
export const GRID_SITE_M2 = 2500;
/** Grid points examined before filtering, at most; a finer grid over a whole city is a batch job. */
export const MAX_GRID_POINTS = 40_000;

/**
 * A stored demolish_illegal plan becomes an open space when its notes say so: the token
 * `becomes_open_space`, or the usual phrasing 拆违增绿 / 拆违建绿 / 增绿 / 建绿 / 还绿 (green after clearing).
 */
export const BECOMES_OPEN_SPACE_NOTE = /becomes_open_space|增绿|建绿|还绿/i;

const inlinePlan = {
  type: 'object',
  required: ['kind', 'geometry'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: PLAN_KINDS },
    name: textSchema(1, MAX_NAME_CHARS),
    geometry: planGeometrySchema,
    becomes_open_space: { type: 'boolean', description: 'demolish_illegal only: the cleared land also becomes an open space' },
  },
} as const;

const evaluateBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    plan_ids: { type: 'array', maxItems: MAX_SCENARIO_PLANS, uniqueItems: true, items: { type: 'integer', minimum: 1, maximum: 2147483647 } },
    plans: { type: 'array', maxItems: MAX_SCENARIO_PLANS, items: inlinePlan },
    rule_set: { type: 'string', maxLength: 64, default: 'chengdu-park-city', description: "a rule set id, or 'all'" },
    include_changed_edges: { type: 'boolean', default: false },
    marginal: { type: 'boolean', default: true, description: 'per-plan marginal gains (one extra scenario per plan)' },
  },
} as const;

const flips = {
  type: 'object',
  properties: {
    community: { type: 'object', properties: { fail_to_pass: { type: 'integer' }, pass_to_fail: { type: 'integer' } } },
    residential_area: { type: 'object', properties: { fail_to_pass: { type: 'integer' }, pass_to_fail: { type: 'integer' } } },
  },
} as const;

const areaImpact = {
  type: 'object',
  properties: {
    key: { type: 'string' },
    name: { type: ['string', 'null'] },
    population: { type: 'number' },
    covered_before: { type: 'number' },
    covered_after: { type: 'number' },
    share_before: { type: ['number', 'null'] },
    share_after: { type: ['number', 'null'] },
    delta_share: { type: ['number', 'null'] },
    passes_before: { type: 'boolean' },
    passes_after: { type: 'boolean' },
    flip: { type: ['string', 'null'], enum: ['fail_to_pass', 'pass_to_fail', null] },
  },
} as const;

const ruleImpact = {
  type: 'object',
  required: ['rule_set', 'rule_id', 'covered_before', 'covered_after', 'newly_covered', 'marginal'],
  properties: {
    rule_set: { type: 'string' },
    rule_id: { type: 'string' },
    target_share: { type: 'number' },
    population: { type: 'number' },
    covered_before: { type: 'number' },
    covered_after: { type: 'number' },
    share_before: { type: ['number', 'null'] },
    share_after: { type: ['number', 'null'] },
    newly_covered: { type: 'number' },
    newly_uncovered: { type: 'number' },
    flips,
    communities: { type: 'array', items: areaImpact },
    residential_areas: { type: 'array', items: areaImpact },
    marginal: { type: ['array', 'null'], items: { type: 'object', properties: { plan: { type: 'string' }, gain: { type: 'number' } } } },
    marginal_sum: { type: ['number', 'null'] },
  },
} as const;

const planEffect = {
  type: 'object',
  properties: {
    ref: { type: 'string' },
    id: { type: ['integer', 'null'] },
    kind: { type: 'string' },
    name: { type: 'string' },
    becomes_open_space: { type: 'boolean' },
    links_added: { type: 'integer' },
    link_length_m: { type: 'number' },
    barrier_removed_m: { type: 'number' },
    edges_opened: { type: 'integer' },
    compounds_opened: { type: 'integer' },
    open_space: {
      type: ['object', 'null'],
      properties: { facility_id: { type: 'integer' }, area_m2: { type: 'number' }, category: { type: 'string' }, access_points: { type: 'integer' } },
    },
  },
} as const;

const evaluateResponse = {
  type: 'object',
  required: ['dataset_id', 'run_id', 'rule_set', 'network_changed', 'plans', 'rules'],
  properties: {
    dataset_id: { type: 'integer' },
    run_id: { type: 'integer' },
    rule_set: { type: 'string' },
    network_changed: { type: 'boolean' },
    origins: { type: 'integer' },
    origins_resnapped: { type: 'integer' },
    plans: { type: 'array', items: planEffect },
    rules: { type: 'array', items: ruleImpact },
    changed_edges: featureCollectionSchema,
  },
} as const;

const suggestQuery = {
  type: 'object',
  required: ['rule'],
  additionalProperties: false,
  properties: {
    rule: { type: 'string', maxLength: 130, pattern: '^[a-z0-9._-]+/[a-z0-9._-]+$', description: '<rule_set>/<rule_id>, e.g. chengdu-park-city/green_300' },
    k: { type: 'integer', minimum: 1, maximum: MAX_SUGGEST_K, default: 3 },
    candidates: { type: 'string', enum: ['plans', 'grid'], default: 'grid' },
    spacing_m: { type: 'number', minimum: 50, maximum: 2000, default: GRID_SPACING_M },
    site_m2: { type: 'number', minimum: 100, maximum: 200_000, description: 'grid site size; default the larger of 2500 m² and the smallest the rule accepts' },
    bbox: { type: 'string', maxLength: 100, pattern: '^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$', description: 'grid extent minLng,minLat,maxLng,maxLat (default the dataset)' },
  },
} as const;

const suggestResponse = {
  type: 'object',
  required: ['rule_set', 'rule_id', 'k', 'candidates', 'picks', 'greedy_total', 'optimality_gap'],
  properties: {
    rule_set: { type: 'string' },
    rule_id: { type: 'string' },
    k: { type: 'integer' },
    candidates: { type: 'string' },
    candidate_count: { type: 'integer' },
    candidates_truncated: { type: 'boolean' },
    site_area_m2: { type: ['number', 'null'] },
    population: { type: 'number' },
    baseline_covered: { type: 'number' },
    picks: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          rank: { type: 'integer' },
          ref: { type: 'string' },
          plan_id: { type: ['integer', 'null'] },
          kind: { type: 'string' },
          name: { type: 'string' },
          lng: { type: 'number' },
          lat: { type: 'number' },
          gain: { type: 'number' },
          standalone_gain: { type: 'number' },
          cumulative: { type: 'number' },
          geometry: {
            type: 'object',
            description: 'the site as GeoJSON: the square open space of a grid candidate, or the stored plan',
            required: ['type', 'coordinates'],
            properties: { type: { type: 'string', enum: ['LineString', 'Polygon', 'MultiPolygon'] }, coordinates: { type: 'array' } },
          },
        },
      },
    },
    greedy_total: { type: 'number' },
    optimum: { type: ['object', 'null'], properties: { total: { type: 'number' }, refs: { type: 'array', items: { type: 'string' } } } },
    optimality_gap: { type: ['number', 'null'] },
    enumeration: { type: 'string', enum: ['done', 'skipped'] },
    subsets_enumerated: { type: 'integer' },
  },
} as const;

type Geometry = LineString | Polygon | MultiPolygon;
interface InlinePlan { kind: ScenarioPlan['kind']; name?: string; geometry: Geometry; becomes_open_space?: boolean }
interface EvaluateBody { plan_ids?: number[]; plans?: InlinePlan[]; rule_set: string; include_changed_edges: boolean; marginal: boolean }
interface SuggestQuery { rule: string; k: number; candidates: 'plans' | 'grid'; spacing_m: number; site_m2?: number; bbox?: string }

const PLANS_SQL = `SELECT id, kind, name, notes, ST_AsGeoJSON(geom)::json AS geometry FROM plans WHERE id = ANY($1::bigint[]) ORDER BY id`;
const CANDIDATE_PLANS_SQL = `SELECT id, kind, name, notes, ST_AsGeoJSON(geom)::json AS geometry FROM plans WHERE status = 'proposed' ORDER BY id LIMIT $1`;
/**
 * Vacant-land candidates: grid points over the extent, kept when they are inside no residential
 * area, building, park, green space or water body of the dataset and within GRID_MAX_NETWORK_M of a walkable
 * edge — an approximation of cleared or unbuilt land, since OSM maps no vacancy. Row order is the
 * grid order (south to north, west to east), so candidate indexes are stable.
 */
const GRID_SQL = `
  WITH g AS (
    SELECT j * $5::int + i AS n, $1::float8 + i * $3::float8 AS x, $2::float8 + j * $4::float8 AS y
    FROM generate_series(0, $5::int - 1) AS i, generate_series(0, $6::int - 1) AS j
  ), p AS (SELECT n, x, y, ST_SetSRID(ST_MakePoint(x, y), 4326) AS geom FROM g)
  SELECT p.x AS lng, p.y AS lat FROM p
  WHERE NOT EXISTS (SELECT 1 FROM residential_areas ra WHERE ra.dataset_id = $7 AND ra.geom && p.geom AND ST_Intersects(ra.geom, p.geom))
    AND NOT EXISTS (SELECT 1 FROM buildings b WHERE b.dataset_id = $7 AND b.geom && p.geom AND ST_Intersects(b.geom, p.geom))
    AND NOT EXISTS (SELECT 1 FROM facilities f WHERE f.dataset_id = $7 AND f.category IN ('park', 'green_space') AND f.geom && p.geom AND ST_Intersects(f.geom, p.geom))
    AND NOT EXISTS (SELECT 1 FROM basemap_areas w WHERE w.dataset_id = $7 AND w.layer = 'water' AND w.geom && p.geom AND ST_Intersects(w.geom, p.geom))
    AND EXISTS (SELECT 1 FROM walk_edges e WHERE e.dataset_id = $7 AND e.geom && ST_Expand(p.geom, $9::float8)
                AND ST_DWithin(e.geom::geography, p.geom::geography, $8::float8))
  ORDER BY p.n`;

function ruleSetsOf(id: string): RuleSet[] {
  return id === 'all' ? [...RULE_SETS] : [requireRuleSet(id)];
}

/** A stored or inline plan as the scenario engine takes it; 400 for a geometry that does not fit the kind. */
function toScenarioPlan(ref: string, kind: ScenarioPlan['kind'], name: string, g: Geometry, becomesOpenSpace: boolean): ScenarioPlan {
  try {
    checkPlanGeometry(kind, g);
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.code, `plan ${ref}: ${err.message}`, err.details);
    throw err;
  }
  return { ref, kind, name, geometry: g, becomesOpenSpace: kind === 'demolish_illegal' ? becomesOpenSpace : undefined };
}

/**
 * POST /api/scenarios/evaluate: the coverage effect of 两拆一增 plans, stored or drawn; and
 * GET /api/suggest: where to put new open spaces (or which proposed plans to do first) for a rule.
 */
export async function scenarioRoutes(app: FastifyInstance): Promise<void> {
  const storedPlans = async (rows: { id: string; kind: ScenarioPlan['kind']; name: string; notes: string | null; geometry: Geometry }[]) =>
    rows.map((r) => toScenarioPlan(`plan:${r.id}`, r.kind, r.name, r.geometry, BECOMES_OPEN_SPACE_NOTE.test(r.notes ?? '')));

  app.post<{ Body: EvaluateBody }>(
    '/api/scenarios/evaluate',
    {
      schema: {
        tags: ['analysis'],
        summary: 'Coverage effect of 两拆一增 plans (stored by id, or drawn inline)',
        description:
          `At most ${MAX_SCENARIO_PLANS} plans. Answers covered population before and after per rule, the communities and residential ` +
          'areas whose share or pass/fail changed, each plan\'s marginal gain (total with all plans minus total without it), and ' +
          'optionally the edges whose walking distance fell. Nothing is stored.',
        body: evaluateBody,
        response: { 200: evaluateResponse, 400: errorSchema, 404: errorSchema, 413: errorSchema, 422: errorSchema, 429: errorSchema, 503: errorSchema },
      },
      config: { rateLimit: { max: 120, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const b = req.body;
      const ids = b.plan_ids ?? [];
      const inline = b.plans ?? [];
      if (ids.length + inline.length === 0) throw new ApiError('invalid_parameter', 'give plan_ids, plans or both');
      if (ids.length + inline.length > MAX_SCENARIO_PLANS) throw new ApiError('invalid_parameter', `at most ${MAX_SCENARIO_PLANS} plans in one scenario`);
      const ruleSets = ruleSetsOf(b.rule_set);
      const t0 = performance.now();

      const inlinePlans = inline.map((p, i) => toScenarioPlan(`inline:${i}`, p.kind, p.name ?? `inline ${i + 1}`, p.geometry, p.becomes_open_space === true));
      await checkPlanGeometriesValid(app.pg, inline.map((p) => p.geometry));
      const { rows } = ids.length ? await app.pg.query(PLANS_SQL, [ids]) : { rows: [] };
      const found = new Set(rows.map((r: { id: string }) => Number(r.id)));
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length) throw new ApiError('not_found', `no plan ${missing.join(', ')}`, { missing });
      const byId = new Map((await storedPlans(rows)).map((p) => [Number(p.ref.slice(5)), p]));
      const plans = [...ids.map((id) => byId.get(id)!), ...inlinePlans];
      const planIds = [...ids, ...inlinePlans.map(() => null)];

      const engine = await app.engine.current();
      const t1 = performance.now();
      checkBudget(
        'this evaluation',
        evaluateCost(plans.map((p) => planReachKm2(p.geometry)), ruleSets.length, b.marginal, b.include_changed_edges),
        app.heavy.limits.evaluateBudget,
        'fewer or smaller plans, one rule set, marginal=false or include_changed_edges=false',
      );
      const answer = await app.heavy.run<Record<string, unknown>>(req, reply, engine, {
        kind: 'evaluate', ruleSets, plans, planIds, includeChangedEdges: b.include_changed_edges, marginal: b.marginal,
      });
      const t2 = performance.now();
      reply.header('server-timing', `load;dur=${(t1 - t0).toFixed(1)}, evaluate;dur=${(t2 - t1).toFixed(1)}`);
      return { dataset_id: engine.datasetId, run_id: engine.runId, rule_set: b.rule_set, ...answer };
    },
  );

  app.get<{ Querystring: SuggestQuery }>(
    '/api/suggest',
    {
      schema: {
        tags: ['analysis'],
        summary: 'Greedy maximal covering: where new open spaces (or which proposed plans) cover the most residents for a rule',
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
      const [ruleSetId, ruleId] = q.rule.split('/');
      const ruleSet = requireRuleSet(ruleSetId);
      const rule = ruleSet.rules.find((r) => r.id === ruleId);
      if (!rule) throw new ApiError('invalid_parameter', `rule set ${ruleSetId} has no rule "${ruleId}"; see /api/rules`);
      const engine = await app.engine.current();
      const t0 = performance.now();

      let candidates: ScenarioPlan[];
      let planIds: (number | null)[];
      let truncated = false;
      let siteAreaM2: number | null = null;
      if (q.candidates === 'plans') {
        const { rows } = await app.pg.query(CANDIDATE_PLANS_SQL, [MAX_SCENARIO_PLANS + 1]);
        truncated = rows.length > MAX_SCENARIO_PLANS;
        // a plan stored before plans were checked against the scenario limits is left out, not
        // allowed to fail everyone's suggestion
        candidates = [];
        for (const r of rows.slice(0, MAX_SCENARIO_PLANS)) {
          try {
            candidates.push(...(await storedPlans([r])));
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            req.log.warn({ planId: r.id, reason: err.message }, 'stored plan left out of suggestions');
          }
        }
        planIds = candidates.map((c) => Number(c.ref.slice(5)));
      } else {
        siteAreaM2 = q.site_m2 ?? gridSiteAreaM2(rule);
        if (siteAreaM2 === null) throw new ApiError('invalid_parameter', `rule ${q.rule} is not served by parks or green spaces: grid candidates are open spaces`);
        const [minLng, minLat, maxLng, maxLat] = q.bbox ? q.bbox.split(',').map(Number) : engine.bbox;
        if (!(minLng < maxLng && minLat < maxLat)) throw new ApiError('invalid_parameter', 'bbox must be minLng,minLat,maxLng,maxLat with min < max');
        const { metresPerDegLng, metresPerDegLat } = makeLocalProjection((minLng + maxLng) / 2, (minLat + maxLat) / 2);
        const stepLng = q.spacing_m / metresPerDegLng;
        const stepLat = q.spacing_m / metresPerDegLat;
        const nx = Math.floor((maxLng - minLng) / stepLng) + 1;
        const ny = Math.floor((maxLat - minLat) / stepLat) + 1;
        if (nx * ny > MAX_GRID_POINTS) throw new ApiError('invalid_parameter', `the grid would have ${nx * ny} points (at most ${MAX_GRID_POINTS}): raise spacing_m or narrow bbox`);
        const { rows } = await app.pg.query<{ lng: number; lat: number }>(GRID_SQL, [
          minLng + stepLng / 2, minLat + stepLat / 2, stepLng, stepLat, nx, ny, engine.datasetId, GRID_MAX_NETWORK_M, (GRID_MAX_NETWORK_M * 1.5) / metresPerDegLat,
        ]);
        candidates = rows.map((r, i) => ({ ref: `grid:${i}`, kind: 'add_open_space', name: `grid site ${i}`, geometry: squareAround(r.lng, r.lat, siteAreaM2!) }));
        planIds = candidates.map(() => null);
      }
      const reachKm2 = siteAreaM2 === null ? Math.max(0, ...candidates.map((c) => planReachKm2(c.geometry))) : planReachKm2(squareAround(0, 0, siteAreaM2));
      checkBudget('this suggestion', suggestCost(candidates.length, q.k, reachKm2), app.heavy.limits.suggestBudget, 'a smaller k, a wider spacing_m, a narrower bbox or a smaller site_m2');
      const answer = await app.heavy.run<Record<string, unknown>>(req, reply, engine, { kind: 'suggest', ruleSetId: ruleSet.id, ruleSet, ruleId: rule.id, candidates, planIds, k: q.k });
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

/**
 * The site size grid candidates get for a rule: the larger of GRID_SITE_M2 and the smallest size
 * some tier accepts (a tier counting only parks needs PARK_MIN_AREA_M2); null when no tier counts
 * parks or green spaces.
 */
export function gridSiteAreaM2(rule: RuleSet['rules'][number]): number | null {
  let smallest = Infinity;
  for (const t of rule.tiers) {
    if (t.categories.includes('green_space')) smallest = Math.min(smallest, t.minAreaM2 ?? 0);
    else if (t.categories.includes('park')) smallest = Math.min(smallest, Math.max(PARK_MIN_AREA_M2, t.minAreaM2 ?? 0));
  }
  return smallest === Infinity ? null : Math.max(GRID_SITE_M2, smallest);
}

/** A square of `areaM2` centred on a point, sides along the meridian and parallel. */
export function squareAround(lng: number, lat: number, areaM2: number): Polygon {
  const half = Math.sqrt(areaM2) / 2;
  const { metresPerDegLng, metresPerDegLat } = makeLocalProjection(lng, lat);
  const dLat = half / metresPerDegLat;
  const dLng = half / metresPerDegLng;
  return {
    type: 'Polygon',
    coordinates: [[[lng - dLng, lat - dLat], [lng + dLng, lat - dLat], [lng + dLng, lat + dLat], [lng - dLng, lat + dLat], [lng - dLng, lat - dLat]]],
  };
}

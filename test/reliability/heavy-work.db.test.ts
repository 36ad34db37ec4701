import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateCoverage, snapOrigin } from '../../geo/coverage.ts';
import { RULE_SETS } from '../../geo/rules/index.ts';
import { evaluateScenario } from '../../geo/scenario/evaluate.ts';
import type { ScenarioPlan } from '../../geo/scenario/plan.ts';
import { buildApp } from '../../server/app.ts';
import { loadOrigins } from '../../server/network/load-network.ts';
import { applyStudyArea } from '../../server/network/study-area.ts';
import { ERRORS } from '../../server/errors.ts';
import fs from 'node:fs';
import Fastify from 'fastify';
import { evaluateResponse } from '../../api/scenarios.ts';
import { isochroneResponse } from '../../api/isochrone.ts';
import {
  DEFAULT_HEAVY_LIMITS,
  HEAVY_NICE_INCREMENT,
  maxCandidatesWithin,
  PREPARING_RETRY_AFTER_S,
  planReachKm2,
} from '../../server/plugins/heavy-pool.ts';
import { extentOfCoords, gridCandidateBound, gridOver, squareAround } from '../../geo/candidate-sites.ts';
import { DEFAULT_RULE_SET, GRID_MAX_NETWORK_M } from '../../api/limits.ts';
import { gridCandidates, GRID_SQL } from '../../server/queries/grid-candidates.ts';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { engineFromSnapshot } from '../../server/heavy-work/engine-snapshot.ts';
import { BACKEND_NICE_INCREMENT } from '../../server/plugins/db.ts';

// Heavy work (scenarios, suggestions, isochrones) runs on the worker pool: the event loop keeps
// answering while it runs, oversized requests are refused before any work, running work ends at
// the time limit, and one client cannot hold more than its share of the pool.

const PROXIMITY = '/api/proximity?lng=104.105&lat=30.665';
/** n 70 m × 70 m parks on a 500 m lattice over central Chengdu. */
const parks = (n: number, areaM2 = 4900) =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'add_open_space' as const,
    name: `park ${i}`,
    geometry: squareAround(104.05 + (i % 10) * 0.005, 30.64 + Math.floor(i / 10) * 0.005, areaM2),
  }));
/** The probe's request (issue 14): 50 squares of 4.9 km with every rule set and changed edges. */
const PROBE_EVALUATE = { plans: parks(50, 4900 * 4900), rule_set: 'all', include_changed_edges: true };
const PROBE_SUGGEST =
  '/api/suggest?rule=chengdu-park-city/green_300&k=10&candidates=grid&site_m2=200000&spacing_m=50&bbox=104.0,30.65,104.1,30.74';

/** The nice value in a /proc stat file: the 19th field; the 2nd, (comm), may hold spaces. */
const niceInStat = (file: string) => {
  const stat = fs.readFileSync(file, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
};

describe('heavy work off the event loop', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  const evaluate = (a: FastifyInstance, payload: object): Promise<LightMyRequestResponse> =>
    a.inject({ method: 'POST', url: '/api/scenarios/evaluate', payload });

  beforeAll(async () => {
    db = await createTestDatabase('central');
    app = await buildApp({ databaseUrl: db.url, webDist: false, rateLimit: { max: 1e9 } });
    // threads started and the snapshot decoded, so what follows measures the work itself
    await app.heavy.warm(await app.engine.current());
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('answers proximity while an evaluation runs: a request sent after the work began completes first', async () => {
    let heavyEnd = 0;
    const heavy = evaluate(app, { plans: parks(30) }).then((r) => {
      heavyEnd = performance.now();
      return r;
    });
    const cheap: { sentAt: number; beforeHeavy: boolean }[] = [];
    while (heavyEnd === 0) {
      const sentAt = performance.now();
      const r = await app.inject(PROXIMITY);
      expect(r.statusCode, r.body.slice(0, 200)).toBe(200);
      cheap.push({ sentAt, beforeHeavy: heavyEnd === 0 });
      // let I/O through between requests, as requests arriving over sockets do: in-process inject
      // back to back would otherwise keep the database connection the evaluation opens from completing
      await new Promise((resolve) => setImmediate(resolve));
    }
    const h = await heavy;
    expect(h.statusCode, h.body.slice(0, 300)).toBe(200);
    // server-timing's evaluate span runs from the budget check to the answer: the heavy work. On a
    // blocked loop this test could not even send a request inside it, let alone get an answer.
    const workMs = Number(/evaluate;dur=([0-9.]+)/.exec(String(h.headers['server-timing']))?.[1]);
    expect(workMs).toBeGreaterThan(0);
    const workStart = heavyEnd - workMs;
    expect(cheap.filter((c) => c.sentAt > workStart && c.beforeHeavy).length).toBeGreaterThan(0);
  });

  it('answers exactly what the engine computes in-process', async () => {
    // sites from scenarios.db.test.ts: residents beyond 500 m of any park, and a cleared block
    const body = {
      rule_set: 'all',
      plans: [
        { kind: 'add_open_space' as const, name: 'south', geometry: squareAround(104.08665, 30.65816, 4900) },
        { kind: 'add_open_space' as const, name: 'north', geometry: squareAround(104.10772, 30.71754, 4900) },
        {
          kind: 'demolish_illegal' as const,
          name: 'cleared',
          becomes_open_space: true,
          geometry: squareAround(104.10313, 30.66721, 10_000),
        },
      ],
    };
    const r = await evaluate(app, body);
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
    const engine = await app.engine.current();
    // the worker pool evaluates the residents of the study area, like the stored coverage run
    const loaded = await loadOrigins(app.pg, engine.datasetId, engine.net.compounds);
    const { origins } = await applyStudyArea(app.pg, engine.datasetId, loaded.origins);
    const snaps = origins.map((o) => {
      const s = snapOrigin(engine.net, o.lng, o.lat, o.compound);
      return s.unreachable ? s : { ...s };
    });
    const plans: ScenarioPlan[] = body.plans.map((p, i) => ({
      ref: `inline:${i}`,
      kind: p.kind,
      name: p.name,
      geometry: p.geometry,
      becomesOpenSpace: p.kind === 'demolish_illegal' ? true : undefined,
    }));
    const before = evaluateCoverage(engine.net, engine.fields, RULE_SETS, origins, snaps);
    const ev = evaluateScenario(engine.net, engine.fields, RULE_SETS, origins, snaps, plans, {
      baselineCoverage: before,
      marginal: true,
    });
    const round2 = (x: number) => Math.round(x * 100) / 100;
    const got = r.json().rules as {
      rule_set: string;
      rule_id: string;
      covered_before: number;
      covered_after: number;
      marginal: { plan: string; gain: number }[];
    }[];
    expect(got.length).toBe(ev.rules.length);
    ev.rules.forEach((rule, i) => {
      expect(got[i]).toMatchObject({
        rule_set: rule.ruleSetId,
        rule_id: rule.ruleId,
        covered_before: round2(rule.coveredBefore),
        covered_after: round2(rule.coveredAfter),
        marginal: rule.marginal!.map((m) => ({ plan: m.ref, gain: round2(m.gain) })),
      });
    });
    expect(got.some((x) => x.covered_after > x.covered_before)).toBe(true);
    expect(r.json().network_changed).toBe(true);
  });

  it('sends bodies serialised in the worker byte for byte as fastify serialises the same answer with the route schema', async () => {
    // what the routes sent before: fastify serialising the answer with the route's response schema
    const reference = Fastify({ bodyLimit: 64 * 1048576 });
    reference.post('/evaluate', { schema: { response: { 200: evaluateResponse } } }, async (req) => req.body);
    reference.post('/isochrone', { schema: { response: { 200: isochroneResponse } } }, async (req) => req.body);
    try {
      const answers = [
        [
          '/evaluate',
          await evaluate(app, {
            rule_set: 'all',
            include_changed_edges: true,
            plans: [
              { kind: 'add_open_space', name: 'south', geometry: squareAround(104.08665, 30.65816, 4900) },
              {
                kind: 'demolish_illegal',
                name: 'cleared',
                becomes_open_space: true,
                geometry: squareAround(104.10313, 30.66721, 10_000),
              },
            ],
          }),
        ],
        ['/evaluate', await evaluate(app, { plans: parks(3) })],
        ['/isochrone', await app.inject('/api/isochrone?lng=104.0679&lat=30.7029&distance_m=3000')],
        ['/isochrone', await app.inject('/api/isochrone?lng=104.0679&lat=30.7029&distance_m=300')],
      ] as const;
      for (const [route, r] of answers) {
        expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
        expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
        const again = await reference.inject({
          method: 'POST',
          url: route,
          headers: { 'content-type': 'application/json' },
          payload: r.body,
        });
        expect(again.statusCode).toBe(200);
        expect(r.body.length).toBe(again.body.length);
        expect(r.body === again.body, `${route}: the bodies differ`).toBe(true);
      }
      // the answers hold what makes them big: changed edges, and lines with a polygon
      expect(answers[0][1].json().changed_edges.features.length).toBeGreaterThan(10);
      expect(answers[2][1].json().features.map((f: { properties: { kind: string } }) => f.properties.kind)).toEqual([
        'polygon',
        'lines',
      ]);
    } finally {
      await reference.close();
    }
  });

  it("refuses the probe's evaluation and suggestion with 422 work_budget_exceeded, naming cost and budget", async () => {
    for (const r of [await evaluate(app, PROBE_EVALUATE), await app.inject(PROBE_SUGGEST)]) {
      expect(r.statusCode, r.body.slice(0, 300)).toBe(422);
      expect(ERRORS.work_budget_exceeded).toBe(422);
      const { code, message, details } = r.json().error;
      expect(code).toBe('work_budget_exceeded');
      expect(details.cost).toBeGreaterThan(details.budget);
      expect(message).toContain(`${details.cost} work units`);
      expect(message).toContain(`the budget is ${details.budget}`);
    }
    expect(DEFAULT_HEAVY_LIMITS.evaluateBudget).toBe(app.heavy.limits.evaluateBudget);
  });

  it('bounds the grid candidates before any query: the bound holds, and a limited search stops early with a subset', async () => {
    const engine = await app.engine.current();
    const extent = extentOfCoords(engine.net.graph.edgeCoords);
    const c = engine.net.graph.edgeCoords;
    let northmost = [c[0], c[1]];
    for (let i = 0; i < c.length; i += 2) if (c[i + 1] > northmost[1]) northmost = [c[i], c[i + 1]];
    const grids = [
      gridOver(engine.bbox, 150), // the default request over the whole dataset
      gridOver([104.0, 30.65, 104.1, 30.74], 200), // the probe's box, a coarser grid
      // across the network's edge, around its northernmost vertex, so the bound's margin is what counts
      gridOver([northmost[0] - 0.01, northmost[1] - 0.01, northmost[0] + 0.01, northmost[1] + 0.01], 60),
    ];
    for (const grid of grids) {
      const all = await gridCandidates(app.pg, grid, engine.datasetId, GRID_MAX_NETWORK_M, grid.metresPerDegLat, {
        timeoutMs: 60_000,
      });
      const bound = gridCandidateBound(grid, extent, GRID_MAX_NETWORK_M);
      expect(all.length).toBeGreaterThan(0);
      expect(all.length).toBeLessThanOrEqual(bound);
      expect(bound).toBeLessThanOrEqual(grid.nx * grid.ny);
      // in grid order, as before: south to north, west to east
      for (let i = 1; i < all.length; i++)
        expect(all[i].lat > all[i - 1].lat || (all[i].lat === all[i - 1].lat && all[i].lng > all[i - 1].lng)).toBe(
          true,
        );
      const limit = Math.ceil(all.length / 3);
      const some = await gridCandidates(app.pg, grid, engine.datasetId, GRID_MAX_NETWORK_M, grid.metresPerDegLat, {
        limit,
        timeoutMs: 60_000,
      });
      expect(some.length).toBe(limit);
      const keys = new Set(all.map((p) => `${p.lng},${p.lat}`));
      for (const p of some) expect(keys.has(`${p.lng},${p.lat}`)).toBe(true);
    }
    // the limited search tests fewer grid points than the grid has: PostgreSQL's own count of the rows it generated
    const grid = grids[0];
    const { rows } = await app.pg.query<{ 'QUERY PLAN': object[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${GRID_SQL}`, [
      grid.originLng,
      grid.originLat,
      grid.stepLng,
      grid.stepLat,
      grid.nx,
      grid.ny,
      engine.datasetId,
      GRID_MAX_NETWORK_M,
      (GRID_MAX_NETWORK_M * 1.5) / grid.metresPerDegLat,
      10,
    ]);
    const scans: number[] = [];
    const walk = (node: Record<string, unknown>): void => {
      if (node['Node Type'] === 'Function Scan' && node['Function Name'] === 'generate_series')
        scans.push(node['Actual Rows'] as number);
      for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk((rows[0]['QUERY PLAN'][0] as { Plan: Record<string, unknown> }).Plan);
    expect(scans.length).toBe(1);
    expect(scans[0]).toBeGreaterThanOrEqual(10);
    expect(scans[0]).toBeLessThan((grid.nx * grid.ny) / 10);
  });

  it('runs heavy work on threads that gave up priority (nice 10), as /proc shows, while the event loop keeps its own', async () => {
    expect(process.platform).toBe('linux');
    const niceOf = (tid: number) => niceInStat(`/proc/${process.pid}/task/${tid}/stat`);
    const mainNice = niceOf(process.pid);
    const threads = await app.heavy.warm(await app.engine.current());
    expect(threads.length).toBe(app.heavy.limits.threads);
    for (const t of threads) {
      expect(t.threadId).toBeGreaterThan(0);
      expect(t.threadId).not.toBe(process.pid);
      expect(niceOf(t.threadId!)).toBe(Math.min(19, mainNice + HEAVY_NICE_INCREMENT));
      expect(t.nice).toBe(niceOf(t.threadId!));
    }
    expect(HEAVY_NICE_INCREMENT).toBe(10);
    expect(niceOf(process.pid)).toBe(mainNice);
  });

  it("runs heavy SQL on PostgreSQL backends that gave up priority (nice +10), the other queries' backends keeping theirs", async () => {
    const niceOfProcess = (pid: number) => niceInStat(`/proc/${pid}/stat`);
    const pidOf = async (pool: pg.Pool) => {
      const c = await pool.connect();
      try {
        return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      } finally {
        c.release();
      }
    };
    const [cheap, heavy] = await Promise.all([pidOf(app.pg), pidOf(app.pgHeavy)]);
    // lowering another user's process (postgres) needs root, as the project's own scripts run
    const root = process.getuid?.() === 0;
    if (root) expect(niceOfProcess(heavy)).toBe(Math.min(19, niceOfProcess(cheap) + BACKEND_NICE_INCREMENT));
    // and the routes' heavy SQL uses that pool: an isochrone polygon leaves a heavy backend busy no more
    const r = await app.inject('/api/isochrone?lng=104.0679&lat=30.7029&distance_m=300');
    expect(r.statusCode, r.body.slice(0, 200)).toBe(200);
    expect(app.pgHeavy.totalCount).toBeGreaterThan(0);
  });

  it("runs the API's queries without JIT compilation", async () => {
    expect((await app.pg.query<{ jit: string }>('SHOW jit')).rows[0].jit).toBe('off');
  });

  it("refuses the probe's suggestion once the search has found one candidate over the budget, naming that count", async () => {
    const r = await app.inject(PROBE_SUGGEST);
    expect(r.statusCode, r.body.slice(0, 300)).toBe(422);
    const allowed = maxCandidatesWithin(app.heavy.limits.suggestBudget, 10, planReachKm2(squareAround(0, 0, 200_000)));
    expect(allowed).toBeGreaterThan(0);
    expect(r.json().error.message).toContain(`more than ${allowed} grid candidates`);
  });

  describe('with the tables the grid search reads locked by another session', () => {
    let locker: pg.Client;
    beforeAll(async () => {
      locker = new pg.Client({ connectionString: db.url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE buildings IN ACCESS EXCLUSIVE MODE');
    });
    afterAll(async () => {
      await locker?.query('ROLLBACK');
      await locker?.end();
    });

    it('refuses a suggestion whose one candidate is over the budget at once, before any grid query (which could not run)', async () => {
      const tight = await buildApp({
        databaseUrl: db.url,
        webDist: false,
        heavy: { suggestBudget: 10, sqlTimeLimitMs: 60_000 },
      });
      try {
        const r = await tight.inject(PROBE_SUGGEST);
        expect(r.statusCode, r.body.slice(0, 300)).toBe(422);
        expect(r.json().error.code).toBe('work_budget_exceeded');
        expect(r.json().error.message).toContain('more than 0 grid candidates');
      } finally {
        await tight.close();
      }
    });

    it('ends a grid query that runs past the database time limit with 503 work_timed_out, and keeps serving', async () => {
      const quick = await buildApp({ databaseUrl: db.url, webDist: false, heavy: { sqlTimeLimitMs: 300 } });
      try {
        const r = await quick.inject(
          '/api/suggest?rule=chengdu-park-city/green_300&k=2&candidates=grid&bbox=104.07,30.65,104.08,30.66',
        );
        expect(r.statusCode, r.body.slice(0, 300)).toBe(503);
        expect(r.json().error.code).toBe('work_timed_out');
        expect(r.json().error.message).toContain('0.3 s database time limit');
        expect((await quick.inject(PROXIMITY)).statusCode).toBe(200);
        // the cancelled statement left no session of the app waiting on the lock
        const { rows } = await locker.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(rows[0].n).toBe(0);
      } finally {
        await quick.close();
      }
    });
  });

  it('ends work that runs past the time limit with 503 work_timed_out, and keeps serving', async () => {
    const quick = await buildApp({ databaseUrl: db.url, webDist: false, heavy: { timeLimitMs: 100 } });
    try {
      await quick.heavy.warm(await quick.engine.current());
      const r = await evaluate(quick, { plans: parks(30) });
      expect(r.statusCode, r.body.slice(0, 300)).toBe(503);
      expect(r.json().error.code).toBe('work_timed_out');
      expect(r.json().error.message).toContain('0.1 s time limit');
      expect((await quick.inject(PROXIMITY)).statusCode).toBe(200);
    } finally {
      await quick.close();
    }
  });

  it("never charges an engine's preparation to a request's time limit: with a limit shorter than snapping the origins, requests still answer", async () => {
    // the preparation the threads used to do inside the first request's limit, timed here (where
    // the code is already compiled and runs at full priority: a thread takes at least as long)
    const engine = await app.engine.current();
    const snap = await app.heavy.snapshot(engine);
    const t0 = performance.now();
    const decoded = engineFromSnapshot(snap);
    for (const o of decoded.origins) snapOrigin(decoded.net, o.lng, o.lat, o.compound);
    const prepareMs = performance.now() - t0;
    const timeLimitMs = Math.max(20, Math.round(prepareMs / 2));
    const short = await buildApp({ databaseUrl: db.url, webDist: false, heavy: { timeLimitMs } });
    try {
      const iso = () => short.inject('/api/isochrone?lng=104.0679&lat=30.7029&distance_m=300');
      // no warm-up: the first request finds the engine unprepared
      const first = await iso();
      const what = `limit ${timeLimitMs} ms, preparation in-process ${Math.round(prepareMs)} ms: ${first.body.slice(0, 300)}`;
      if (first.statusCode !== 200) {
        // waited the limit for the preparation, which goes on: told so, and when to come back
        expect(first.statusCode, what).toBe(503);
        expect(first.json().error.code, what).toBe('server_busy');
        expect(first.json().error.message).toContain('preparing');
        expect(first.headers['retry-after']).toBe(String(PREPARING_RETRY_AFTER_S));
      }
      await short.heavy.prepared(await short.engine.current());
      // prepared once for every thread: each request now runs within the limit, again and again
      // (before, each attempt was ended at the limit, its thread replaced, and the next started over)
      for (let i = 0; i < 3; i++) expect((await iso()).statusCode, what).toBe(200);
    } finally {
      await short.close();
    }
  });

  it("caps what a thread's own preparation adds to a request's limit: past it, 503 server_busy, and the thread is kept with its preparation", async () => {
    // every rule set but the default: their baseline coverage is prepared on a thread's first
    // request for them, not with the engine. Timed here in-process (a niced thread takes at least as long).
    const others = RULE_SETS.filter((r) => r.id !== DEFAULT_RULE_SET);
    const engine = await app.engine.current();
    const decoded = engineFromSnapshot(await app.heavy.snapshot(engine));
    const snaps = decoded.origins.map((o) => snapOrigin(decoded.net, o.lng, o.lat, o.compound));
    const t0 = performance.now();
    evaluateCoverage(decoded.net, decoded.fields, others, decoded.origins, snaps);
    const baselineMs = performance.now() - t0;
    // a limit the thread is sure to have started the task within, and a cap it prepares beyond
    const timeLimitMs = Math.max(20, Math.round(baselineMs / 2));
    const preparationLimitMs = 1;
    const what = `baseline ${Math.round(baselineMs)} ms, limit ${timeLimitMs} ms, cap ${preparationLimitMs} ms`;
    const capped = await buildApp({
      databaseUrl: db.url,
      webDist: false,
      heavy: { timeLimitMs: 60_000, preparationLimitMs },
    });
    try {
      const [before] = await capped.heavy.warm(await capped.engine.current());
      capped.heavy.limits.timeLimitMs = timeLimitMs;
      const first = await evaluate(capped, { plans: parks(1), rule_set: 'all', marginal: false });
      expect(first.statusCode, `${what}: ${first.body.slice(0, 300)}`).toBe(503);
      expect(first.json().error.code, what).toBe('server_busy');
      expect(first.json().error.message).toContain('preparing');
      expect(first.headers['retry-after']).toBe(String(PREPARING_RETRY_AFTER_S));
      // not terminated (which would throw the preparation away and start it over on the next
      // request): the same thread finishes preparing, skips the work, and takes the next task
      capped.heavy.limits.timeLimitMs = 60_000;
      const [after] = await capped.heavy.warm(await capped.engine.current());
      if (before.threadId !== null) expect(after.threadId, what).toBe(before.threadId);
      expect((await evaluate(capped, { plans: parks(1), rule_set: 'all', marginal: false })).statusCode).toBe(200);
    } finally {
      await capped.close();
    }
  });

  it('gives a client at most its share of heavy requests: the next gets 429 with Retry-After', async () => {
    const one = await buildApp({ databaseUrl: db.url, webDist: false, heavy: { perClient: 1 } });
    try {
      await one.heavy.warm(await one.engine.current());
      const [a, b] = await Promise.all([evaluate(one, { plans: parks(30) }), evaluate(one, { plans: parks(30) })]);
      const statuses = [a.statusCode, b.statusCode].sort();
      expect(statuses).toEqual([200, 429]);
      const refused = a.statusCode === 429 ? a : b;
      expect(refused.json().error.code).toBe('too_many_heavy_requests');
      expect(refused.headers['retry-after']).toBe('1');
      // once the first has answered, the client may ask again
      expect((await evaluate(one, { plans: parks(2) })).statusCode).toBe(200);
    } finally {
      await one.close();
    }
  });
});

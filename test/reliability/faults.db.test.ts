import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../server/auth.ts';
import { buildApp } from '../../server/app.ts';
import { migrate } from '../../server/db/migrate.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import type { Progress } from '../../server/progress.ts';
import { SHARED_DATA } from '../global-setup.ts';
import { createThrowawayCluster, type ThrowawayCluster } from './throwaway-cluster.ts';
import { createPool } from '../../server/db/pool.ts';
import { testRandom } from '../../geo/fixtures/random-walk-graph.ts';
import { spawnListening } from '../helpers/spawn-listening.ts';

// Faults injected into a PostgreSQL cluster of this file's own (killing it never disturbs anyone
// else's database) and into the API process: the data stays whole and the service recovers.

const SMALL_OSM = path.join(SHARED_DATA, 'chenghua-shuangqiaozi-2018.osm');
const CENTRAL_PBF = path.join(SHARED_DATA, 'chengdu-central-2018.osm.pbf');
const SERVE_CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve-child.ts');
/**
 * Requests while the database is down must be answered within this: the pool gives up connecting
 * after 2 s, and the bound leaves room for a loaded machine; without the fail-fast they would wait
 * for the database to come back.
 */
const FAIL_FAST_MS = 10_000;
/** Bounds on waiting for something that happens by itself (recovery, rollbacks), for a loaded machine. */
const PATIENCE_MS = 60_000;

let cluster: ThrowawayCluster;
let url: string;
let pool: pg.Pool;
const children = new Set<ChildProcess>();
const figures: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function newPool(): pg.Pool {
  const p = createPool(url, { max: 4, connectionTimeoutMillis: 5000 });
  // Clients die with the cluster; an unhandled 'error' event (idle, or checked out by an importer)
  // would take the test process down. The failing query reports the error.
  p.on('error', () => {});
  p.on('connect', (client) => client.on('error', () => {}));
  return p;
}

async function activeDataset(p: pg.Pool) {
  const { rows } = await p.query<{ id: number; sha256: string; edges: number; total_edges: number; datasets: number }>(
    `SELECT d.id, d.sha256, (SELECT count(*)::int FROM walk_edges WHERE dataset_id = d.id) AS edges,
            (SELECT count(*)::int FROM walk_edges) AS total_edges, (SELECT count(*)::int FROM datasets WHERE kind = 'osm') AS datasets
     FROM datasets d WHERE d.kind = 'osm' ORDER BY d.id DESC LIMIT 1`,
  );
  return rows[0];
}

beforeAll(async () => {
  cluster = await createThrowawayCluster();
  cluster.createDatabase('faults');
  url = cluster.url('faults');
  await migrate(url);
  pool = newPool();
  await importOsm(pool, SMALL_OSM);
  await computeCoverage(pool);
}, 300_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pool?.end().catch(() => {});
  cluster?.destroy();
  console.log(`faults:\n  ${figures.join('\n  ')}`);
});

describe('the database restarts while the app serves', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({ databaseUrl: url, webDist: false, rateLimit: { max: 1e9 } });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
  });

  const DB_ROUTES = [
    '/api/coverage?level=residential_area',
    '/api/audit?level=residential_area',
    '/tiles/network/15/25859/13449.pbf',
    '/api/plans',
    '/api/categories',
    '/api/isochrone?lng=104.105&lat=30.665&distance_m=500',
  ];
  const PROXIMITY = '/api/proximity?lng=104.105&lat=30.665';

  it(`requests during the outage fail within ${FAIL_FAST_MS} ms with 503 database_unavailable, and the same app recovers by itself`, async () => {
    for (const route of [...DB_ROUTES, PROXIMITY])
      expect((await app.inject(route)).statusCode, route).toBeLessThan(300);
    // Plan writes keep going through the crash, so some hold a checked-out client when the server dies.
    // Regression: that client's 'error' event had no listener and crashed the process (vitest reports
    // it as an unhandled error, failing the run); the db plugin now listens on every client.
    const { token } = await createToken(pool, 'outage-planner', 'planner');
    let writing = true;
    const writes: { status: number; ms: number }[] = [];
    const writer = async () => {
      while (writing) {
        const t = performance.now();
        const r = await app.inject({
          method: 'POST',
          url: '/api/plans',
          headers: { authorization: `Bearer ${token}` },
          payload: {
            kind: 'add_open_space',
            name: 'during the outage',
            geometry: {
              type: 'Polygon',
              coordinates: [
                [
                  [104.1, 30.66],
                  [104.1004, 30.66],
                  [104.1004, 30.6604],
                  [104.1, 30.6604],
                  [104.1, 30.66],
                ],
              ],
            },
          },
        });
        writes.push({ status: r.statusCode, ms: performance.now() - t });
        if (r.statusCode === 201) firstWrite();
        else await sleep(20);
      }
    };
    let firstWrite!: () => void;
    const written = new Promise<void>((resolve) => (firstWrite = resolve));
    const writers = [writer(), writer(), writer(), writer()];
    // Crash once a write has gone through (and more are in flight), however slow the machine.
    await written;
    await sleep(50);
    cluster.stop('immediate');
    const outage: { route: string; status: number; ms: number; code?: string }[] = [];
    const outageStarted = performance.now();
    // several rounds: the pool meets dead idle clients first, then refused connections
    while (performance.now() - outageStarted < 4000) {
      for (const route of [...DB_ROUTES, PROXIMITY, '/api/health']) {
        const t = performance.now();
        const r = await app.inject(route);
        outage.push({
          route,
          status: r.statusCode,
          ms: performance.now() - t,
          code: r.statusCode === 503 && route !== '/api/health' ? r.json().error.code : undefined,
        });
      }
    }
    for (const o of outage) {
      expect(o.ms, `${o.route} took ${o.ms} ms`).toBeLessThan(FAIL_FAST_MS);
      if (o.route === '/api/health') expect(o.status).toBe(503);
      else if (o.route === PROXIMITY) expect([200, 503], `${o.route} → ${o.status}`).toContain(o.status);
      else expect(o.status, `${o.route} → ${o.status}`).toBe(503);
      if (o.status === 503 && o.route !== '/api/health') expect(o.code).toBe('database_unavailable');
    }
    writing = false;
    await Promise.all(writers);
    expect(writes.filter((w) => w.status === 201).length).toBeGreaterThan(0);
    for (const w of writes) {
      expect([201, 503]).toContain(w.status);
      expect(w.ms).toBeLessThan(FAIL_FAST_MS);
    }
    // the in-memory engine keeps answering proximity within its recheck interval, then it too says 503
    expect(outage.filter((o) => o.route === PROXIMITY && o.status === 503).length).toBeGreaterThan(0);
    const health = await app.inject('/api/health');
    expect(health.json()).toMatchObject({ status: 'degraded', database: 'unreachable' });

    cluster.start();
    const restarted = performance.now();
    let recoveredMs = -1;
    while (performance.now() - restarted < PATIENCE_MS) {
      const statuses = await Promise.all(
        [...DB_ROUTES, PROXIMITY, '/api/health'].map((r) => app.inject(r).then((x) => x.statusCode)),
      );
      if (statuses.every((s) => s < 300)) {
        recoveredMs = performance.now() - restarted;
        break;
      }
      await sleep(100);
    }
    expect(recoveredMs, `the app did not recover within ${PATIENCE_MS / 1000} s of the restart`).toBeGreaterThanOrEqual(
      0,
    );
    const worst = Math.max(...outage.map((o) => o.ms));
    const median = outage.map((o) => o.ms).sort((a, b) => a - b)[Math.floor(outage.length / 2)];
    figures.push(
      `database down: ${outage.length} requests, ${outage.filter((o) => o.status === 503).length} × 503 (median ${median.toFixed(1)} ms, worst ${worst.toFixed(0)} ms), ` +
        `${outage.filter((o) => o.status === 200).length} proximity answers from memory; ${writes.filter((w) => w.status === 503).length} plan writes refused with 503 (none lost the process); ` +
        `all routes 2xx again ${recoveredMs.toFixed(0)} ms after pg_ctl start returned`,
    );
  });
});

describe('the API process is killed in the middle of plan writes', () => {
  const ROUNDS = 6;
  const CONCURRENCY = 8;

  async function startChild(): Promise<{ child: ChildProcess; port: number }> {
    const started = await spawnListening([SERVE_CHILD, url]);
    children.add(started.child);
    started.child.on('exit', () => children.delete(started.child));
    return started;
  }

  it(`SIGKILL at random moments over ${ROUNDS} rounds: every plan has its audit row and every audit row its plan`, async () => {
    const { token } = await createToken(pool, 'fault-planner', 'planner');
    const plansBefore = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM plans`)).rows[0].n;
    const random = testRandom(20180).float; // seeded, so the kill moments replay
    let acknowledged = 0;
    let cutOff = 0;
    const acknowledgedIds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { child, port } = await startChild();
      // Killed a random moment after this round's first acknowledged write, not after a fixed
      // time: a loaded machine may take longer than any fixed delay to acknowledge one.
      const killDelayMs = random() * 400;
      let killed = false;
      let firstAck!: () => void;
      const acknowledgedOnce = new Promise<void>((resolve) => (firstAck = resolve));
      const worker = async (w: number) => {
        for (let i = 0; !killed; i++) {
          const lng = 104.1 + random() * 0.01;
          const lat = 30.65 + random() * 0.01;
          try {
            const r = await fetch(`http://127.0.0.1:${port}/api/plans`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({
                kind: 'add_open_space',
                name: `round ${round} worker ${w} #${i}`,
                notes: 'x'.repeat(2000),
                geometry: {
                  type: 'Polygon',
                  coordinates: [
                    [
                      [lng, lat],
                      [lng + 0.0004, lat],
                      [lng + 0.0004, lat + 0.0004],
                      [lng, lat + 0.0004],
                      [lng, lat],
                    ],
                  ],
                },
              }),
            });
            if (r.status === 201) {
              acknowledged++;
              acknowledgedIds.push((await r.json()).id);
              firstAck();
            } else expect(r.status).toBe(201);
          } catch (err) {
            if (!killed) throw err; // a refused write before the kill is a failure, not a cut-off
            cutOff++; // the connection died with the process: the plan may or may not exist, but whole
          }
        }
      };
      const workers = Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
      // A worker failing before any acknowledgement ends the round with its error.
      await Promise.race([acknowledgedOnce, workers]);
      await sleep(killDelayMs);
      child.kill('SIGKILL');
      killed = true;
      await workers;
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
      );
    }
    // PostgreSQL notices the dead connections and rolls their transactions back
    let open = -1;
    for (const end = performance.now() + PATIENCE_MS; performance.now() < end && open !== 0;) {
      open = (
        await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'faults' AND state LIKE 'idle in transaction%'`,
        )
      ).rows[0].n;
      if (open) await sleep(100);
    }
    expect(open).toBe(0);
    const plans = (await pool.query<{ id: string }>(`SELECT id FROM plans`)).rows.map((r) => Number(r.id));
    const audited = (
      await pool.query<{ entity_id: string }>(
        `SELECT entity_id FROM audit_log WHERE entity = 'plan' AND action = 'plan.create'`,
      )
    ).rows.map((r) => Number(r.entity_id));
    expect(new Set(audited).size).toBe(audited.length);
    expect([...plans].sort((a, b) => a - b)).toEqual([...audited].sort((a, b) => a - b));
    for (const id of acknowledgedIds) expect(plans).toContain(id);
    // each audit row carries the plan as written
    const { rows: mismatched } = await pool.query(
      `SELECT p.id FROM plans p JOIN audit_log a ON a.entity = 'plan' AND a.entity_id = p.id::text AND a.action = 'plan.create'
       WHERE (a.after->>'name') IS DISTINCT FROM p.name OR (a.after->>'notes') IS DISTINCT FROM p.notes`,
    );
    expect(mismatched).toEqual([]);
    expect(acknowledged).toBeGreaterThan(0);
    expect(cutOff).toBeGreaterThan(0);
    figures.push(
      `API killed ${ROUNDS}× during plan writes (${CONCURRENCY} concurrent POSTs): ${acknowledged} acknowledged, ${cutOff} cut off, ${plans.length - plansBefore} new plans stored; all ${plans.length} plans = ${audited.length} plan.create audit rows, every acknowledged one present`,
    );
  });
});

describe('coverage is recomputed while readers query', () => {
  it('every response comes from one finished run, number for number', async () => {
    const app = await buildApp({ databaseUrl: url, webDist: false, rateLimit: { max: 1e9 } });
    const RUNS = 4;
    const responses: {
      route: string;
      body: { run_id: number; rule_set: string; level: string; areas: Record<string, unknown>[] };
    }[] = [];
    let computing = true;
    const computed: number[] = [];
    const computer = (async () => {
      try {
        for (let k = 0; k < RUNS; k++) {
          // Each run weighs a different third of the origins differently, so runs never agree and a
          // response mixing two runs cannot pass for either.
          await pool.query(`UPDATE origins SET population = population * 1.5 WHERE id % 3 = $1`, [k % 3]);
          computed.push((await computeCoverage(pool, { keepRuns: 100 })).runId);
        }
      } finally {
        computing = false;
      }
    })();
    const reader = async (route: string) => {
      while (computing) {
        const r = await app.inject(route);
        expect(r.statusCode, r.body.slice(0, 200)).toBe(200);
        responses.push({ route, body: r.json() });
      }
    };
    await Promise.all([
      computer,
      reader('/api/coverage?rule_set=chengdu-park-city&level=residential_area'),
      reader('/api/coverage?rule_set=gb50180-2018&level=community'),
      reader('/api/audit?rule_set=chengdu-park-city&level=residential_area'),
    ]);
    await app.close();

    const runIds = [...new Set(responses.map((r) => r.body.run_id))];
    expect(runIds.length, `readers saw runs ${runIds}`).toBeGreaterThanOrEqual(2);
    const { rows: done } = await pool.query<{ id: number }>(
      `SELECT id FROM coverage_runs WHERE status = 'done' AND id = ANY($1::int[])`,
      [runIds],
    );
    expect(done.map((r) => r.id).sort()).toEqual(runIds.sort());

    type Stored = {
      area_key: string;
      rule_id: string;
      share: number | null;
      population: number;
      covered_population: number;
    };
    const cache = new Map<string, Map<string, Stored>>();
    const stored = async (runId: number, ruleSet: string, level: string) => {
      const key = `${runId}/${ruleSet}/${level}`;
      if (!cache.has(key)) {
        const { rows } = await pool.query<Stored>(
          `SELECT area_key, rule_id, share, population, covered_population FROM coverage_area_results WHERE run_id = $1 AND rule_set_id = $2 AND level = $3`,
          [runId, ruleSet, level],
        );
        cache.set(key, new Map(rows.map((r) => [`${r.area_key}/${r.rule_id}`, r])));
      }
      return cache.get(key)!;
    };
    let compared = 0;
    for (const { route, body } of responses) {
      const s = await stored(body.run_id, body.rule_set, body.level);
      expect(body.areas.length).toBeGreaterThan(0);
      if (route.startsWith('/api/coverage')) {
        expect(body.areas.length * Object.keys((body.areas[0] as { rules: object }).rules).length).toBe(s.size);
        for (const a of body.areas as {
          area_key: string;
          rules: Record<string, { share: number | null; population: number; covered_population: number }>;
        }[]) {
          for (const [ruleId, x] of Object.entries(a.rules)) {
            const st = s.get(`${a.area_key}/${ruleId}`)!;
            expect({ share: x.share, population: x.population, covered: x.covered_population }).toEqual({
              share: st.share,
              population: st.population,
              covered: st.covered_population,
            });
            compared++;
          }
        }
      } else {
        for (const a of body.areas as {
          area_key: string;
          failed_rules: { rule_id: string; share: number | null; residents_not_covered: number }[];
        }[]) {
          for (const f of a.failed_rules) {
            const st = s.get(`${a.area_key}/${f.rule_id}`)!;
            expect(f.share).toBe(st.share === null ? null : Math.round(st.share * 1e4) / 1e4);
            expect(f.residents_not_covered).toBe(Math.round(st.population - st.covered_population));
            compared++;
          }
        }
      }
    }
    // the runs really differ, so a mixed response would have been caught
    const [first, last] = [Math.min(...computed), Math.max(...computed)];
    const a = await stored(first, 'chengdu-park-city', 'residential_area');
    const b = await stored(last, 'chengdu-park-city', 'residential_area');
    expect([...a.entries()].some(([k, v]) => b.get(k)?.covered_population !== v.covered_population)).toBe(true);
    figures.push(
      `recompute under reads: ${RUNS} runs while ${responses.length} responses were read, from runs ${runIds.sort().join(', ')}; ${compared} area × rule numbers all equal their run's stored numbers`,
    );
  });
});

describe('the database is killed in the middle of an import', () => {
  it('the previous dataset stays whole, and the next import works', async () => {
    const previous = await activeDataset(pool);
    expect(previous.edges).toBeGreaterThan(500);
    const importPool = newPool();
    let killedAt = '';
    let killedAfterMs = 0;
    // Kill once the new dataset's rows are being written inside the import's transaction.
    const progress: Progress = {
      step(label) {
        if (killedAt || !label.startsWith('writing facilities')) return;
        killedAt = label;
        const t = performance.now();
        setTimeout(() => {
          killedAfterMs = performance.now() - t;
          cluster.stop('immediate');
        }, 50);
      },
      update() {},
      done() {},
    };
    const t0 = performance.now();
    const failure = await importOsm(importPool, CENTRAL_PBF, { progress }).then(
      () => null,
      (err: Error) => err,
    );
    expect(killedAt).not.toBe('');
    expect(failure, 'the import finished before the kill').not.toBeNull();
    expect(failure!.message).toMatch(/terminat|shut ?down|ECONNRESET|ECONNREFUSED|Connection/i);
    await importPool.end().catch(() => {});
    const importFailedMs = performance.now() - t0;

    cluster.start();
    const after = newPool();
    try {
      expect(await activeDataset(after)).toEqual(previous);
      const next = await importOsm(after, CENTRAL_PBF);
      const now = await activeDataset(after);
      expect(now.id).toBe(next.datasetId);
      expect(now.id).toBeGreaterThan(previous.id);
      expect(now.edges).toBeGreaterThan(4000);
      // the previous dataset stays (and is served) until the new one has a complete coverage run
      expect(now.total_edges).toBe(now.edges + previous.edges);
      expect(now.datasets).toBe(2);
      figures.push(
        `database killed ${killedAfterMs.toFixed(0)} ms into "${killedAt}" of the central import (the import failed after ${(importFailedMs / 1000).toFixed(1)} s): ` +
          `dataset ${previous.id} (${previous.edges} edges, sha ${previous.sha256.slice(0, 12)}…) intact after restart; re-import → dataset ${now.id} with ${now.edges} edges`,
      );
    } finally {
      await after.end();
    }
  });
});

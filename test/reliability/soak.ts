import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildApp } from '../../server/app.ts';
import { readConfig } from '../../server/config.ts';
import { resolveDatabaseUrl } from '../../server/db/local-cluster.ts';
import { activeDataset } from '../../server/queries/datasets.ts';
import { squareAround } from '../../geo/candidate-sites.ts';
import { spawnListening } from '../helpers/spawn-listening.ts';
import { cycling, runAutocannon, seededRandom, tileOf, type AutocannonResult } from '../bench/autocannon.ts';
import { pacedRequests } from '../helpers/paced-requests.ts';

// npm run soak [-- --seconds 120 --rate 800 --heavy 2 --generator paced|autocannon --cpu-prof <dir> --in-process]
//
// Mixed traffic at a fixed rate against the dev database for a bounded time, on 127.0.0.1 only:
// proximity at random points in the dataset's extent, z15 network and basemap tiles, and the audit.
// The first half is that mix alone; in the second half `--heavy` clients also send heavy requests
// back to back (scenario evaluations, suggestions, isochrones, and the two requests that froze the
// server in issue 14, which the work budget now refuses). Prints the error rate, p50/p99 per route
// in each half and the server's memory along the way, then exits by itself. Rate limits are lifted
// and the per-client heavy allowance raised to `--heavy` (all traffic comes from one address); the
// point is how the service holds.
//
// The server runs in a child process (as `npm run bench:api` does), so what is measured is the
// server's latency as an outside client sees it, not the load generator's own work competing for
// the same event loop. `--in-process` runs both in one process, as the first version of this script
// did, for comparison.
//
// The cheap routes' load comes from `--generator paced` (the default; test/helpers/paced-requests.ts):
// open loop, requests spread evenly over each second, each latency measured from its scheduled send
// time, as wrk2 does. `--generator autocannon` is the earlier way: autocannon's fixed rate, which sends
// each second's requests in a bunch and corrects coordinated omission with a 1 ms interval, so its p99
// includes the bunch queueing behind itself. The generator used is printed. `--cpu-prof <dir>` writes
// a V8 CPU profile of the server child there when it exits.

const SELF = fileURLToPath(import.meta.url);

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    /** Requests per second over all routes; about half what `npm run bench:api` sustains. */
    rate: { type: 'string', default: '800' },
    /** Concurrent clients sending heavy requests in the second half: one client at its allowance. */
    heavy: { type: 'string', default: '2' },
    /** Server and load generator in one process (the first version of this script). */
    'in-process': { type: 'boolean', default: false },
    /** paced (open loop, wrk2-like) or autocannon (its fixed-rate mode). */
    generator: { type: 'string', default: 'paced' },
    /** Directory for a CPU profile of the server child (node --cpu-prof). */
    'cpu-prof': { type: 'string' },
    /** Child mode: serve `--serve <database-url>` and print "listening <port>". */
    serve: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const rate = Number(args.rate);
const heavyClients = Number(args.heavy);
if (!(seconds >= 2 && seconds <= 3600) || !(rate > 0 && rate <= 20_000))
  throw new Error('--seconds must be in 2…3600 and --rate in 1…20000');
if (!(Number.isInteger(heavyClients) && heavyClients >= 0 && heavyClients <= 32))
  throw new Error('--heavy must be an integer in 0…32');
const generator = args.generator;
if (generator !== 'paced' && generator !== 'autocannon') throw new Error('--generator must be paced or autocannon');

// The route mix: share of the overall rate and connections of each.
const MIX = [
  { route: 'proximity', share: 0.84, connections: 8 },
  { route: 'network tile z15', share: 0.07, connections: 3 },
  { route: 'basemap tile z15', share: 0.07, connections: 3 },
  { route: 'audit', share: 0.02, connections: 2 },
] as const;
const SEED = 15;

/** What the load generator reads of the server: its event-loop delay and memory. */
interface ServerProbe {
  /** Start a new window of event-loop delay. */
  resetLoop(): Promise<void>;
  /** The event-loop delay since the last reset, ms. */
  loop(): Promise<{ p99Ms: number; maxMs: number }>;
  /** Resident set (every thread) and the main heap, bytes; after a full collection when `gc` and the server allows it. */
  memory(gc: boolean): Promise<{ rss: number; heapUsed: number; collected: boolean }>;
  limits: { threads: number; timeLimitMs: number; evaluateBudget: number; suggestBudget: number };
  close(): Promise<void>;
}

type App = Awaited<ReturnType<typeof buildApp>>;

/** The app as the soak runs it: rate limits lifted, engine and worker threads warmed. */
async function soakApp(databaseUrl: string): Promise<App> {
  const app = await buildApp({
    databaseUrl,
    logger: false,
    webDist: false,
    rateLimit: { max: 1e9 },
    heavy: { perClient: Math.max(1, heavyClients) },
  });
  const ds = await activeDataset(app.pg);
  if (!ds) throw new Error('the dev database has no dataset: run npm start (or npm run import) first');
  await app.heavy.warm(await app.engine.current()); // fails clearly when coverage was never computed
  return app;
}

/** Event-loop delay and memory of this process, as the probe and the child's /soak routes report them. */
function localStats() {
  let h: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    reset() {
      h.disable();
      h = monitorEventLoopDelay({ resolution: 10 });
      h.enable();
    },
    loop: () => ({ p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 }),
    memory(gc: boolean) {
      const g = (globalThis as { gc?: () => void }).gc;
      if (gc && g) g();
      const m = process.memoryUsage();
      return { rss: m.rss, heapUsed: m.heapUsed, collected: gc && !!g };
    },
  };
}

/** Child mode: the soak's app plus two routes for the probe, on 127.0.0.1, printing its port. */
async function serve(databaseUrl: string): Promise<void> {
  const app = await soakApp(databaseUrl);
  const stats = localStats();
  app.post('/soak/loop', async () => {
    stats.reset();
    return {};
  });
  app.get<{ Querystring: { gc?: string } }>('/soak/stats', async (req) => ({
    loop: stats.loop(),
    memory: stats.memory(req.query.gc === '1'),
    limits: app.heavy.limits,
  }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${(app.server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/** The server in this process (`--in-process`). */
async function inProcessServer(databaseUrl: string): Promise<{ base: string; probe: ServerProbe }> {
  const app = await soakApp(databaseUrl);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const stats = localStats();
  return {
    base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    probe: {
      resetLoop: async () => stats.reset(),
      loop: async () => stats.loop(),
      memory: async (gc) => stats.memory(gc),
      limits: app.heavy.limits,
      close: () => app.close(),
    },
  };
}

/** The server as a child process (`node --expose-gc`), its memory read from /proc. */
async function childServer(databaseUrl: string): Promise<{ base: string; probe: ServerProbe; pid: number }> {
  const { child, port } = await spawnListening(
    [
      '--expose-gc',
      ...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : []),
      SELF,
      '--serve',
      databaseUrl,
      '--heavy',
      String(heavyClients),
    ],
    { forwardStderr: true, timeoutMs: 600_000 },
  );
  const base = `http://127.0.0.1:${port}`;
  const get = async <T>(path: string, method = 'GET'): Promise<T> => {
    const r = await fetch(base + path, { method, signal: AbortSignal.timeout(30_000) });
    if (!r.ok) throw new Error(`${path} answered ${r.status}`);
    return (await r.json()) as T;
  };
  const stats = await get<{ limits: ServerProbe['limits'] }>('/soak/stats');
  return {
    base,
    pid: child.pid!,
    probe: {
      resetLoop: async () => void (await get('/soak/loop', 'POST')),
      loop: async () => (await get<{ loop: { p99Ms: number; maxMs: number } }>('/soak/stats')).loop,
      memory: async (gc) => {
        if (gc)
          return (await get<{ memory: { rss: number; heapUsed: number; collected: boolean } }>('/soak/stats?gc=1'))
            .memory;
        // between samples, read the child's resident set without asking it anything
        const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
        return { rss: rssKb * 1024, heapUsed: NaN, collected: false };
      },
      limits: stats.limits,
      close: async () => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      },
    },
  };
}

if (args.serve) await serve(args.serve);
else await main();

async function main(): Promise<void> {
  // a hard stop, whatever happens
  setTimeout(
    () => {
      console.error('soak: did not finish in time; exiting');
      process.exit(2);
    },
    (seconds + 840) * 1000,
  ).unref();

  const databaseUrl = resolveDatabaseUrl(readConfig(), (l) => console.error(l));
  const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const ds = await activeDataset(db);
  if (!ds) throw new Error('the dev database has no dataset: run npm start (or npm run import) first');
  const { rows } = await db.query<{ x0: number; y0: number; x1: number; y1: number }>(
    `SELECT ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 FROM (SELECT ST_Extent(geom) e FROM walk_nodes WHERE dataset_id = $1) t`,
    [ds.id],
  );
  await db.end();
  const { x0, y0, x1, y1 } = rows[0];
  const random = seededRandom(SEED);
  const points = Array.from({ length: 5000 }, () => [
    (x0 + random() * (x1 - x0)).toFixed(6),
    (y0 + random() * (y1 - y0)).toFixed(6),
  ]);
  const [, tx0, ty1] = tileOf(x0, y0, 15);
  const [, tx1, ty0] = tileOf(x1, y1, 15);
  const tiles: string[] = [];
  for (let x = tx0; x <= tx1; x++) for (let y = ty0; y <= ty1; y++) tiles.push(`15/${x}/${y}`);
  const paths: Record<(typeof MIX)[number]['route'], string[]> = {
    proximity: points.map(([lng, lat]) => `/api/proximity?lng=${lng}&lat=${lat}`),
    'network tile z15': tiles.map((t) => `/tiles/network/${t}.pbf`),
    'basemap tile z15': tiles.map((t) => `/tiles/basemap/${t}.pbf`),
    audit: [
      '/api/audit?level=community',
      '/api/audit?level=residential_area',
      '/api/audit?level=community&format=csv',
      '/api/audit?rule_set=gb50180-2018&level=community',
    ],
  };

  const where = args['in-process'] ? 'in this process' : 'in a child process';
  const server = args['in-process'] ? await inProcessServer(databaseUrl) : await childServer(databaseUrl);
  const { base, probe } = server;
  try {
    // warm-up: JIT of every route
    for (const m of MIX)
      await runAutocannon({
        url: base,
        connections: 2,
        duration: 1,
        requests: [{ setupRequest: cycling(paths[m.route]) }],
      });

    // Heavy requests, each within its budget except the two issue-14 probes, which must be refused.
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    const parks = (n: number, areaM2: number) => ({
      plans: Array.from({ length: n }, (_, i) => ({
        kind: 'add_open_space',
        geometry: squareAround(cx + ((i % 10) - 5) * 0.005, cy + (Math.floor(i / 10) - 2) * 0.005, areaM2),
      })),
    });
    const small = `${(cx - 0.01).toFixed(4)},${(cy - 0.01).toFixed(4)},${(cx + 0.01).toFixed(4)},${(cy + 0.01).toFixed(4)}`;
    const HEAVY: { name: string; method: 'GET' | 'POST'; path: string; body?: object }[] = [
      { name: 'evaluate 10 parks', method: 'POST', path: '/api/scenarios/evaluate', body: parks(10, 4900) },
      {
        name: 'evaluate 2, all, edges',
        method: 'POST',
        path: '/api/scenarios/evaluate',
        body: { ...parks(2, 10_000), rule_set: 'all', include_changed_edges: true },
      },
      {
        name: 'isochrone 3000 m',
        method: 'GET',
        path: `/api/isochrone?lng=${cx.toFixed(5)}&lat=${cy.toFixed(5)}&distance_m=3000`,
      },
      {
        name: 'suggest k=5 in 2 km',
        method: 'GET',
        path: `/api/suggest?rule=chengdu-park-city/green_300&k=5&bbox=${small}`,
      },
      {
        name: 'probe evaluate (#14)',
        method: 'POST',
        path: '/api/scenarios/evaluate',
        body: { ...parks(50, 4900 * 4900), rule_set: 'all', include_changed_edges: true },
      },
      {
        name: 'probe suggest (#14)',
        method: 'GET',
        path: '/api/suggest?rule=chengdu-park-city/green_300&k=10&candidates=grid&site_m2=200000&spacing_m=50&bbox=104.0,30.65,104.1,30.74',
      },
    ];
    const heavyStats = new Map(HEAVY.map((h) => [h.name, { ms: [] as number[], status: new Map<string, number>() }]));
    let heavyRunning = false;
    const heavyClient = async (offset: number) => {
      for (let i = offset; heavyRunning; i++) {
        const h = HEAVY[i % HEAVY.length];
        const t = performance.now();
        let label: string;
        try {
          const r = await fetch(base + h.path, {
            method: h.method,
            headers: h.body ? { 'content-type': 'application/json' } : {},
            body: h.body && JSON.stringify(h.body),
            signal: AbortSignal.timeout(60_000),
          });
          const text = await r.text();
          label =
            r.status >= 400
              ? `${r.status} ${(JSON.parse(text) as { error: { code: string } }).error.code}`
              : String(r.status);
        } catch (err) {
          label = `error ${(err as Error).name}`;
        }
        const st = heavyStats.get(h.name)!;
        st.ms.push(performance.now() - t);
        st.status.set(label, (st.status.get(label) ?? 0) + 1);
      }
    };

    const mb = (n: number) => (Number.isFinite(n) ? `${(n / 1048576).toFixed(0)} MB` : '–');
    const memStart = await probe.memory(true);
    const rssTimeline: { s: number; rss: number }[] = [];
    let rssMax = memStart.rss;
    const started = Date.now();
    const sampler = setInterval(() => {
      void probe.memory(false).then((m) => {
        rssMax = Math.max(rssMax, m.rss);
        rssTimeline.push({ s: (Date.now() - started) / 1000, rss: m.rss });
      });
    }, 1000);
    const loadStart = os.loadavg()[0];
    const half = Math.max(1, Math.floor(seconds / 2));
    console.error(
      `soak: generator ${generator === 'paced' ? 'paced (open loop, latency from scheduled send time)' : 'autocannon (fixed rate, bunched per second)'}; ${seconds} s at ${rate} req/s against ${ds.source} (${tiles.length} z15 tiles, 5000 random points), ${base}, server ${where}; heavy burst of ${heavyClients} clients in the second half`,
    );
    const count = (r: AutocannonResult, lo: number, hi: number) =>
      Object.entries(r.statusCodeStats ?? {})
        .filter(([s]) => Number(s) >= lo && Number(s) < hi)
        .reduce((a, [, v]) => a + Number(v.count), 0);
    // one row's figures, whichever generator: latency of 2xx answers (null when none), every
    // request sent, and those never answered (connection errors and timeouts)
    type Row = {
      sent: number;
      p50: number | null;
      p99: number | null;
      max: number | null;
      c2xx: number;
      c4xx: number;
      c5xx: number;
      unanswered: number;
      sendLagMs: number | null;
    };
    const fromAutocannon = (r: AutocannonResult): Row => {
      const c2xx = count(r, 200, 300);
      const answered = count(r, 0, 1000);
      // autocannon's requests.sent runs ahead of what was written at a fixed rate: answered + failed
      const sent = answered + r.errors;
      return {
        sent,
        p50: c2xx ? r.latency.p50 : null,
        p99: c2xx ? r.latency.p99 : null,
        max: c2xx ? r.latency.max : null,
        c2xx,
        c4xx: count(r, 400, 500),
        c5xx: count(r, 500, 600),
        unanswered: r.errors,
        sendLagMs: null,
      };
    };
    const fromPaced = (r: Awaited<ReturnType<typeof pacedRequests>>): Row => {
      const c = (lo: number, hi: number) =>
        [...r.status].filter(([s]) => s >= lo && s < hi).reduce((a, [, n]) => a + n, 0);
      return {
        sent: r.sent,
        p50: r.p50,
        p99: r.p99,
        max: r.max,
        c2xx: c(200, 300),
        c4xx: c(400, 500),
        c5xx: c(500, 600),
        unanswered: r.errors + r.timeouts,
        sendLagMs: r.worstSendLagMs,
      };
    };
    const pad = (s: string | number, n: number) => String(s).padStart(n);
    let total = 0;
    let failed = 0;
    const heapAfter: { phase: string; heapUsed: number; rss: number; collected: boolean }[] = [];
    for (const phase of ['quiet', 'heavy burst'] as const) {
      const phaseStart = Date.now();
      // how long the server's callbacks waited for its event loop: blocking, as opposed to a busy machine
      await probe.resetLoop();
      heavyRunning = phase === 'heavy burst' && heavyClients > 0;
      const heavyDone = heavyRunning
        ? Promise.all(Array.from({ length: heavyClients }, (_, c) => heavyClient(c)))
        : Promise.resolve([]);
      const results = await Promise.all(
        MIX.map((m) =>
          (generator === 'paced'
            ? pacedRequests({
                base,
                paths: paths[m.route],
                rate: Math.max(1, Math.round(rate * m.share)),
                seconds: half,
                timeoutMs: 10_000,
              }).then(fromPaced)
            : runAutocannon({
                url: base,
                connections: m.connections,
                duration: half,
                overallRate: Math.max(1, Math.round(rate * m.share)),
                timeout: 10,
                requests: [{ setupRequest: cycling(paths[m.route]) }],
              }).then(fromAutocannon)
          ).then((r) => [m.route, r] as const),
        ),
      );
      heavyRunning = false;
      const loop = await probe.loop();
      const phaseSeconds = (Date.now() - phaseStart) / 1000;
      await heavyDone;
      heapAfter.push({ phase, ...(await probe.memory(true)) });
      console.log(
        `\n${phase}: ${phaseSeconds.toFixed(0)} s${phase === 'heavy burst' ? ` with ${heavyClients} heavy clients` : ''}; ` +
          `server event-loop delay p99 ${loop.p99Ms.toFixed(0)} ms, max ${loop.maxMs.toFixed(0)} ms`,
      );
      console.log(
        `${'route'.padEnd(20)}${pad('requests', 10)}${pad('req/s', 8)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('max ms', 8)}${pad('2xx', 9)}${pad('4xx', 7)}${pad('5xx', 6)}${pad('unansw.', 8)}`,
      );
      const ms = (x: number | null) => (x === null ? '–' : Math.round(x));
      for (const [route, r] of results) {
        const n = r.sent;
        total += n;
        failed += r.c5xx + r.unanswered;
        console.log(
          `${route.padEnd(20)}${pad(n, 10)}${pad(Math.round(n / phaseSeconds), 8)}${pad(ms(r.p50), 8)}${pad(ms(r.p99), 8)}${pad(ms(r.max), 8)}${pad(r.c2xx, 9)}${pad(r.c4xx, 7)}${pad(r.c5xx, 6)}${pad(r.unanswered, 8)}`,
        );
      }
      const lag = results.map(([, r]) => r.sendLagMs).filter((x): x is number => x !== null);
      if (lag.length) console.log(`  (the paced generator sent at most ${Math.max(...lag)} ms late)`);
    }
    if (heavyClients > 0) {
      const l = probe.limits;
      console.log(
        `\nheavy requests (worker pool: ${l.threads} thread(s), time limit ${l.timeLimitMs / 1000} s, budgets evaluate ${l.evaluateBudget} / suggest ${l.suggestBudget} units)`,
      );
      console.log(`${'request'.padEnd(26)}${pad('count', 7)}${pad('p50 ms', 8)}${pad('max ms', 8)}  answers`);
      for (const [name, st] of heavyStats) {
        const sorted = [...st.ms].sort((a, b) => a - b);
        const n = sorted.length;
        total += n;
        for (const [label, c] of st.status) if (!/^[24]/.test(label)) failed += c;
        console.log(
          `${name.padEnd(26)}${pad(n, 7)}${pad(n ? Math.round(sorted[Math.floor(n / 2)]) : '-', 8)}${pad(n ? Math.round(sorted[n - 1]) : '-', 8)}  ${[...st.status].map(([label, c]) => `${c} × ${label}`).join(', ')}`,
        );
      }
    }
    clearInterval(sampler);
    const memEnd = await probe.memory(true);
    const elapsed = (Date.now() - started) / 1000;
    console.log(
      `\nsoak: generator ${generator}, ${elapsed.toFixed(0)} s, target ${rate} req/s, ${ds.source}, ${os.cpus().length} cores, Node ${process.version}, load average ${loadStart.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}, server ${where}`,
    );
    console.log(
      `error rate (5xx, connection errors, timeouts): ${failed} of ${total} = ${((100 * failed) / Math.max(1, total)).toFixed(3)} %; 4xx are answers (points off the network → 422, probes over budget → 422)`,
    );
    const gcNote = memStart.collected ? 'after a full collection' : 'no forced collection';
    console.log(
      `server memory: RSS ${mb(memStart.rss)} → ${mb(memEnd.rss)} (max ${mb(rssMax)}), main heap used ${mb(memStart.heapUsed)} → ${mb(memEnd.heapUsed)} (${gcNote})`,
    );
    for (const h of heapAfter) console.log(`  after ${h.phase}: RSS ${mb(h.rss)}, main heap used ${mb(h.heapUsed)}`);
    const step = Math.max(1, Math.round(rssTimeline.length / 12));
    console.log(
      `  RSS every ${step} s: ${rssTimeline
        .filter((_, i) => i % step === 0)
        .map((x) => `${x.s.toFixed(0)} s ${mb(x.rss)}`)
        .join(', ')}`,
    );
    if (args['in-process']) console.log('  (server, worker threads and load generator share this process)');
    if (failed > 0) process.exitCode = 1;
  } finally {
    await probe.close();
  }
}

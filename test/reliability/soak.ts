import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildApp } from '../../server/app.ts';
import { readConfig } from '../../server/config.ts';
import { resolveDatabaseUrl } from '../../server/db/local-cluster.ts';
import { activeDataset } from '../../server/queries/datasets.ts';
import { cycling, runAutocannon, seededRandom, tileOf, type AutocannonResult } from '../bench/autocannon.ts';

// npm run soak [-- --seconds 120 --rate 800]
//
// Mixed traffic at a fixed rate against the dev database for a bounded time, on 127.0.0.1 only:
// proximity at random points in the dataset's extent, z15 network and basemap tiles, and the audit.
// Prints the error rate, p50/p99 per route and memory at start and end, then exits by itself.
// Rate limits are lifted (all traffic comes from one address); the point is how the service holds.

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    /** Requests per second over all routes; about half what `npm run bench:api` sustains. */
    rate: { type: 'string', default: '800' },
  },
});
const seconds = Number(args.seconds);
const rate = Number(args.rate);
if (!(seconds > 0 && seconds <= 3600) || !(rate > 0 && rate <= 20_000)) throw new Error('--seconds must be in 1…3600 and --rate in 1…20000');

// The route mix: share of the overall rate and connections of each.
const MIX = [
  { route: 'proximity', share: 0.84, connections: 8 },
  { route: 'network tile z15', share: 0.07, connections: 3 },
  { route: 'basemap tile z15', share: 0.07, connections: 3 },
  { route: 'audit', share: 0.02, connections: 2 },
] as const;
const SEED = 15;

// a hard stop, whatever happens
setTimeout(() => {
  console.error('soak: did not finish in time; exiting');
  process.exit(2);
}, (seconds + 120) * 1000).unref();

const databaseUrl = resolveDatabaseUrl(readConfig(), (l) => console.error(l));
const app = await buildApp({ databaseUrl, logger: false, webDist: false, rateLimit: { max: 1e9 } });
try {
  const ds = await activeDataset(app.pg);
  if (!ds) throw new Error('the dev database has no dataset: run npm start (or npm run import) first');
  await app.engine.current(); // fails clearly when coverage was never computed
  const { rows } = await app.pg.query<{ x0: number; y0: number; x1: number; y1: number }>(
    `SELECT ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 FROM (SELECT ST_Extent(geom) e FROM walk_nodes WHERE dataset_id = $1) t`,
    [ds.id],
  );
  const { x0, y0, x1, y1 } = rows[0];
  const random = seededRandom(SEED);
  const points = Array.from({ length: 5000 }, () => [(x0 + random() * (x1 - x0)).toFixed(6), (y0 + random() * (y1 - y0)).toFixed(6)]);
  const [, tx0, ty1] = tileOf(x0, y0, 15);
  const [, tx1, ty0] = tileOf(x1, y1, 15);
  const tiles: string[] = [];
  for (let x = tx0; x <= tx1; x++) for (let y = ty0; y <= ty1; y++) tiles.push(`15/${x}/${y}`);
  const paths: Record<(typeof MIX)[number]['route'], string[]> = {
    proximity: points.map(([lng, lat]) => `/api/proximity?lng=${lng}&lat=${lat}`),
    'network tile z15': tiles.map((t) => `/tiles/network/${t}.pbf`),
    'basemap tile z15': tiles.map((t) => `/tiles/basemap/${t}.pbf`),
    audit: ['/api/audit?level=community', '/api/audit?level=residential_area', '/api/audit?level=community&format=csv', '/api/audit?rule_set=gb50180-2018&level=community'],
  };

  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // warm-up: engine, JIT, pool
  for (const m of MIX) await runAutocannon({ url: base, connections: 2, duration: 1, requests: [{ setupRequest: cycling(paths[m.route]) }] });

  const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
  const memStart = process.memoryUsage();
  let rssMax = memStart.rss;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 1000);
  const loadStart = os.loadavg()[0];
  console.error(`soak: ${seconds} s at ${rate} req/s against ${ds.source} (${tiles.length} z15 tiles, 5000 random points), ${base}`);
  const started = Date.now();
  const results = await Promise.all(
    MIX.map((m) =>
      runAutocannon({
        url: base,
        connections: m.connections,
        duration: seconds,
        overallRate: Math.max(1, Math.round(rate * m.share)),
        timeout: 10,
        requests: [{ setupRequest: cycling(paths[m.route]) }],
      }).then((r) => [m.route, r] as const),
    ),
  );
  clearInterval(sampler);
  const memEnd = process.memoryUsage();
  const elapsed = (Date.now() - started) / 1000;

  const count = (r: AutocannonResult, lo: number, hi: number) =>
    Object.entries(r.statusCodeStats ?? {}).filter(([s]) => Number(s) >= lo && Number(s) < hi).reduce((a, [, v]) => a + Number(v.count), 0);
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`\nsoak: ${elapsed.toFixed(0)} s, target ${rate} req/s, ${ds.source}, ${os.cpus().length} cores, Node ${process.version}, load average ${loadStart.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`);
  console.log(`${'route'.padEnd(20)}${pad('requests', 10)}${pad('req/s', 8)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('max ms', 8)}${pad('2xx', 9)}${pad('4xx', 7)}${pad('5xx', 6)}${pad('errors', 8)}`);
  let total = 0;
  let failed = 0;
  for (const [route, r] of results) {
    const n = r.requests.total;
    const fivexx = count(r, 500, 600);
    const errors = r.errors + r.timeouts;
    total += n;
    failed += fivexx + errors;
    console.log(`${route.padEnd(20)}${pad(n, 10)}${pad(Math.round(n / elapsed), 8)}${pad(r.latency.p50, 8)}${pad(r.latency.p99, 8)}${pad(r.latency.max, 8)}${pad(count(r, 200, 300), 9)}${pad(count(r, 400, 500), 7)}${pad(fivexx, 6)}${pad(errors, 8)}`);
  }
  console.log(`error rate (5xx, connection errors, timeouts): ${failed} of ${total} = ${((100 * failed) / Math.max(1, total)).toFixed(3)} %; 4xx are answers (points off the network → 422)`);
  console.log(`memory: RSS ${mb(memStart.rss)} → ${mb(memEnd.rss)} (max ${mb(rssMax)}), heap used ${mb(memStart.heapUsed)} → ${mb(memEnd.heapUsed)} (server and load generator share this process)`);
  if (failed > 0) process.exitCode = 1;
} finally {
  await app.close();
}

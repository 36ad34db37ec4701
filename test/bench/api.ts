import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildApp } from '../../server/app.ts';
import { readConfig } from '../../server/config.ts';
import { resolveDatabaseUrl } from '../../server/db/local-cluster.ts';
import { migrate } from '../../server/db/migrate.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import { prepareDataset } from '../../server/import/default-data.ts';
import { activeDataset } from '../../server/queries/datasets.ts';
import { DISTANCE_CAP_M } from '../../geo/coverage.ts';
import { CLEARED, park } from '../helpers/chengdu-sites.ts';
import { pgrNearestM, preparePgrNearest } from '../helpers/pgrouting-nearest.ts';
import { spawnListening } from '../helpers/spawn-listening.ts';
import { DEFAULT_HEAVY_LIMITS } from '../../server/plugins/heavy-pool.ts';
import {
  cycling,
  runAutocannon,
  seededRandom,
  servedCells,
  servedRow,
  SERVED_HEAD,
  tileOf,
  type AutocannonResult,
} from './autocannon.ts';

// npm run bench:api [-- --seconds 20 --connections 10 --agreement-points 300 --database-url <url>]
//
// The HTTP API under load on loopback, with the same proximity question (walking distance to the
// nearest park) also answered per request by pgRouting in the same run, through the same server,
// and the ratio printed. The server runs in a child process so autocannon does not share its
// event loop. Without --database-url a scratch database lc_bench_api with central Chengdu is
// made once on the project's cluster (rebuilt when the OSM file changes).

const SELF = fileURLToPath(import.meta.url);
const CENTRAL = readConfig().defaultOsmFile;
const SCRATCH_DB = 'lc_bench_api';
const SEED = 20180;
const POINTS = 2000;
/** Points whose answers are compared with pgRouting's after the load (--agreement-points). */
const AGREEMENT_POINTS_DEFAULT = 300;
/** Answers further apart than this disagree (ours is rounded to the centimetre). */
const AGREE_M = 0.01;
/** Points are network nodes moved by up to this, so every one snaps to a street. */
const JITTER_M = 30;
/** Sequential runs of the busiest z15 network tile's SQL function. */
const TILE_SQL_RUNS = 300;
/** Sequential scenario evaluations per kind of plan; the median is reported. */
const EVALUATE_RUNS = 20;

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '10' },
    'agreement-points': { type: 'string', default: String(AGREEMENT_POINTS_DEFAULT) },
    'database-url': { type: 'string' },
    serve: { type: 'string' },
  },
});

if (args.serve) await serve(args.serve);
else await main();

/** Child mode: the app plus the pgRouting route, on 127.0.0.1, printing its port. */
async function serve(databaseUrl: string): Promise<void> {
  const app = await buildApp({ databaseUrl, logger: false, webDist: false, rateLimit: { max: 1e9 } });
  const ds = await activeDataset(app.pg);
  if (!ds) throw new Error('no dataset loaded');
  // the engine's graph, for pgRouting to walk the same one
  const engine = await app.engine.current();
  const parkParams = await preparePgrNearest(
    app.pg,
    ds.id,
    { edgeDbIds: engine.net.edgeDbId, bbox: engine.bbox },
    'park',
  );
  app.get<{ Querystring: { lng: number; lat: number } }>(
    '/bench/pgr-nearest-park',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['lng', 'lat'],
          properties: { lng: { type: 'number' }, lat: { type: 'number' } },
        },
      },
    },
    async (req) => {
      return { distance_m: await pgrNearestM(app.pg, parkParams, req.query.lng, req.query.lat) };
    },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${(app.server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** lc_bench_api with central Chengdu imported and computed; rebuilt when the file's sha256 changes. */
async function scratchDatabase(): Promise<string> {
  const serverUrl = resolveDatabaseUrl(readConfig(), (l) => console.error(l));
  const url = withDatabase(serverUrl, SCRATCH_DB);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(CENTRAL)).digest('hex');
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await admin.connect();
  try {
    const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [SCRATCH_DB])).rowCount;
    if (exists) {
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      const ds = await activeDataset(pool).catch(() => null);
      const runs = ds
        ? (await pool.query(`SELECT 1 FROM coverage_runs WHERE dataset_id = $1 AND status = 'done'`, [ds.id])).rowCount
        : 0;
      await pool.end();
      if (ds?.sha256 === sha && runs) return url;
      await admin.query(`DROP DATABASE "${SCRATCH_DB}" WITH (FORCE)`);
    }
    console.error(`preparing ${SCRATCH_DB}: importing ${CENTRAL} and computing coverage (once)…`);
    await admin.query(`CREATE DATABASE "${SCRATCH_DB}"`);
  } finally {
    await admin.end();
  }
  await migrate(url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await importOsm(pool, CENTRAL);
    await prepareDataset(pool);
  } finally {
    await pool.end();
  }
  return url;
}

interface Row {
  scenario: string;
  result: AutocannonResult;
}

async function main(): Promise<void> {
  const AGREEMENT_POINTS = Number(args['agreement-points']);
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const databaseUrl = args['database-url'] ?? (await scratchDatabase());
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const ds = await activeDataset(db);
  if (!ds) throw new Error(`no dataset in ${databaseUrl}`);

  // seeded questions: points near network nodes, and the z15 network tiles with the most edges
  const random = seededRandom(SEED);
  const nodes = (
    await db.query<{ lng: number; lat: number }>(
      `SELECT ST_X(geom) AS lng, ST_Y(geom) AS lat FROM walk_nodes WHERE dataset_id = $1 ORDER BY id`,
      [ds.id],
    )
  ).rows;
  const candidates = Array.from({ length: POINTS }, () => {
    const n = nodes[Math.floor(random() * nodes.length)];
    const dLat = ((random() * 2 - 1) * JITTER_M) / 111_320;
    const dLng = ((random() * 2 - 1) * JITTER_M) / (111_320 * Math.cos((n.lat * Math.PI) / 180));
    return [Number((n.lng + dLng).toFixed(6)), Number((n.lat + dLat).toFixed(6))] as const;
  });
  const mids = (
    await db.query<{ lng: number; lat: number }>(
      `SELECT ST_X(ST_LineInterpolatePoint(geom, 0.5)) AS lng, ST_Y(ST_LineInterpolatePoint(geom, 0.5)) AS lat FROM walk_edges WHERE dataset_id = $1`,
      [ds.id],
    )
  ).rows;
  const tileCounts = new Map<string, number>();
  for (const m of mids) {
    const key = tileOf(m.lng, m.lat, 15).join('/');
    tileCounts.set(key, (tileCounts.get(key) ?? 0) + 1);
  }
  const tiles = [...tileCounts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([t]) => t);
  // the busiest tile's SQL function alone, sequentially: what the database adds to a tile request
  const [tz, tx, ty] = tiles[0].split('/').map(Number);
  const tileSqlMs: number[] = [];
  for (let i = 0; i < TILE_SQL_RUNS; i++) {
    const t0 = performance.now();
    await db.query('SELECT tile_network($1, $2, $3)', [tz, tx, ty]);
    tileSqlMs.push(performance.now() - t0);
  }
  await db.end();

  const { child, port } = await spawnListening([SELF, '--serve', databaseUrl], { forwardStderr: true });
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', () => {
    stop();
    process.exit(130);
  });
  const base = `http://127.0.0.1:${port}`;
  const rows: Row[] = [];
  const load = os.loadavg()[0];
  try {
    // A point that cannot be placed on the network (its nearest streets lie behind a wall) is
    // answered 422; those are left out, so that the figures count answers only.
    const points: (readonly [number, number])[] = [];
    for (const p of candidates)
      if ((await fetch(`${base}/api/proximity?lng=${p[0]}&lat=${p[1]}&categories=park`)).ok) points.push(p);
    console.error(
      `${points.length} of ${candidates.length} points placed on the network${points.length < candidates.length ? ' (the others answer 422 and are left out)' : ''}`,
    );
    const run = async (
      scenario: string,
      paths: string[],
      headers: Record<string, string> = {},
      conns = connections,
    ) => {
      const result = await runAutocannon({
        url: base,
        connections: conns,
        duration: seconds,
        timeout: 10,
        headers,
        requests: [{ setupRequest: cycling(paths) }],
      });
      rows.push({ scenario, result });
      console.error(`  ${scenario}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms`);
    };
    const proximityAll = points.map(([lng, lat]) => `/api/proximity?lng=${lng}&lat=${lat}`);
    const proximityPark = points.map(([lng, lat]) => `/api/proximity?lng=${lng}&lat=${lat}&categories=park`);
    const pgrPark = points.map(([lng, lat]) => `/bench/pgr-nearest-park?lng=${lng}&lat=${lat}`);
    // warm-up: engine load, JIT, pool connections
    await runAutocannon({ url: base, connections, duration: 3, requests: [{ setupRequest: cycling(proximityAll) }] });
    await runAutocannon({ url: base, connections, duration: 2, requests: [{ setupRequest: cycling(pgrPark) }] });
    console.error(`measuring ${seconds} s per scenario, ${connections} connections…`);
    await run(
      `proximity, all ${(await (await fetch(`${base}/api/categories`)).json()).categories.length} categories`,
      proximityAll,
    );
    await run('proximity, park only', proximityPark);
    await run('pgRouting nearest park, per request', pgrPark);
    // a heavy route: one client's allowance in flight (all traffic comes from one address; more
    // connections would measure 429 answers)
    const heavyConnections = Math.min(connections, DEFAULT_HEAVY_LIMITS.perClient);
    await run(
      `isochrone 1000 m (${heavyConnections} connections)`,
      points.map(([lng, lat]) => `/api/isochrone?lng=${lng}&lat=${lat}&distance_m=1000`),
      {},
      heavyConnections,
    );
    await run(
      `network tile z15 (${tiles.length} tiles)`,
      tiles.map((t) => `/tiles/network/${t}.pbf`),
    );
    await run(
      `network tile z15, gzip`,
      tiles.map((t) => `/tiles/network/${t}.pbf`),
      { 'accept-encoding': 'gzip' },
    );

    // the two sides answer the same question: compare their distances on a sample. A point whose
    // answers differ by more than AGREE_M is a disagreement, as is one answered by one side only
    // (but none within the cap on our side and beyond it on pgRouting's is the same answer).
    const diffs: number[] = [];
    let beyondBoth = 0;
    let inside = 0;
    const disagree: string[] = [];
    for (const [lng, lat] of points.slice(0, AGREEMENT_POINTS)) {
      const result = (await (await fetch(`${base}/api/proximity?lng=${lng}&lat=${lat}&categories=park`)).json())
        .results[0];
      const ours = result.network_distance_m as number | null;
      // 0 m inside a park (README "Park entry"); pgRouting walks to an edge instead
      if (result.inside === true) {
        inside++;
        continue;
      }
      const theirs = (await (await fetch(`${base}/bench/pgr-nearest-park?lng=${lng}&lat=${lat}`)).json()).distance_m as
        number | null;
      if (ours !== null && theirs !== null) {
        const d = Math.abs(ours - theirs);
        diffs.push(d);
        if (d > AGREE_M)
          disagree.push(`${lng},${lat}: ours ${ours}, pgRouting ${theirs.toFixed(3)} (${d.toFixed(2)} m)`);
      }
      // ours searches DISTANCE_CAP_M (the distance cap) and says "none" beyond
      else if (ours === null && (theirs === null || theirs > DISTANCE_CAP_M)) beyondBoth++;
      else disagree.push(`${lng},${lat}: ours ${ours}, pgRouting ${theirs}`);
    }
    diffs.sort((a, b) => a - b);

    // one scenario evaluation at a time, as a planner asks them: median of EVALUATE_RUNS after one warm-up
    const evaluateMedianMs = async (body: object) => {
      const post = () =>
        fetch(`${base}/api/scenarios/evaluate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      await post();
      const ms: number[] = [];
      for (let i = 0; i < EVALUATE_RUNS; i++) {
        const t = performance.now();
        const r = await post();
        await r.arrayBuffer();
        ms.push(performance.now() - t);
        if (!r.ok) throw new Error(`scenario evaluation answered ${r.status}`);
      }
      ms.sort((a, b) => a - b);
      return (ms[EVALUATE_RUNS / 2 - 1] + ms[EVALUATE_RUNS / 2]) / 2;
    };
    // central Chengdu's sites: on another dataset (a generated city) they may not apply; then the
    // evaluation is reported as failed and the rest still printed
    const evaluateMs = { open: NaN, cleared: NaN, withEdges: NaN };
    let evaluateError = '';
    try {
      evaluateMs.open = await evaluateMedianMs({ plans: [park('middle')] });
      evaluateMs.cleared = await evaluateMedianMs({
        plans: [{ kind: 'demolish_illegal', name: 'x', geometry: CLEARED }],
      });
      evaluateMs.withEdges = await evaluateMedianMs({
        plans: [{ kind: 'demolish_illegal', name: 'x', geometry: CLEARED, becomes_open_space: true }],
        include_changed_edges: true,
      });
    } catch (err) {
      evaluateError = (err as Error).message;
    }

    const pad = (s: string | number, n: number) => String(s).padStart(n);
    console.log(
      `\nAPI benchmark: ${ds.source} (${ds.counts.walk_edges} edges), ${connections} connections, ${seconds} s per scenario, loopback`,
    );
    console.log(
      `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${load.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end\n`,
    );
    const widths = [8, 8, 8, 8, 8, 22, 11];
    console.log(`${'scenario'.padEnd(44)}${SERVED_HEAD.map((h, i) => pad(h, widths[i])).join('')}`);
    for (const { scenario, result: r } of rows) {
      console.log(
        `${scenario.padEnd(44)}${servedCells(servedRow(r))
          .map((c, i) => pad(c, widths[i]))
          .join('')}`,
      );
    }
    console.log(
      '  latency is of 2xx answers (– when none); non-2xx by status; unanswered: connection errors and timeouts (10 s)',
    );
    const all = rows[0].result;
    const ours = rows[1].result.requests.average;
    const theirs = rows[2].result.requests.average;
    const ratio = ours / theirs;
    console.log(
      `\nours / pgRouting, the same question (nearest park on foot): ${ratio.toFixed(0)}× the requests per second, p99 ${rows[1].result.latency.p99} ms vs ${rows[2].result.latency.p99} ms`,
    );
    console.log(
      `agreement on ${AGREEMENT_POINTS} points: ${diffs.length} answered by both, max |ours − pgRouting| ${diffs.at(-1)?.toFixed(3)} m (ours is rounded to the centimetre), ` +
        `median ${diffs[Math.floor(diffs.length / 2)]?.toFixed(3)} m; ${beyondBoth} with no park within ${DISTANCE_CAP_M} m for both; ${inside} inside a park (0 m); ` +
        `${disagree.length} disagree (differ by more than ${AGREE_M} m or answered by one side only)${disagree.length ? `: ${disagree.slice(0, 5).join('; ')}` : ''}`,
    );
    const stats = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
      return `mean ${mean.toFixed(2)} ms, p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)].toFixed(2)} ms`;
    };
    console.log(
      `z15 network tile ${tiles[0]}, SQL function alone, ${TILE_SQL_RUNS} sequential calls: ${stats(tileSqlMs)}`,
    );
    if (evaluateError) console.log(`scenario evaluation failed: ${evaluateError}`);
    console.log(
      `scenario evaluation, one request at a time, median of ${EVALUATE_RUNS}: add_open_space ${evaluateMs.open.toFixed(1)} ms, ` +
        `demolish_illegal ${evaluateMs.cleared.toFixed(1)} ms, demolish_illegal as open space with changed edges ${evaluateMs.withEdges.toFixed(1)} ms`,
    );
    const check = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(
      `targets: proximity ≥ 2000 req/s ${check(all.requests.average >= 2000)} (${Math.round(all.requests.average)}), p99 < 20 ms ${check(all.latency.p99 < 20)} (${all.latency.p99}), ≥ 50× pgRouting ${check(ratio >= 50)} (${ratio.toFixed(0)}×)`,
    );
    const slowest = Math.max(evaluateMs.open, evaluateMs.cleared, evaluateMs.withEdges);
    console.log(`targets: one-plan scenario evaluation < 1000 ms ${check(slowest < 1000)} (${slowest.toFixed(1)} ms)`);
  } finally {
    stop();
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
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
import { cycling, runAutocannon, seededRandom, tileOf, type AutocannonResult } from './autocannon.ts';

// npm run bench:api [-- --seconds 20 --connections 10 --database-url <url>]
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
/** Points are network nodes moved by up to this, so every one snaps to a street. */
const JITTER_M = 30;

/**
 * The pgRouting baseline for "how far is the nearest park on foot", per request: the point is put
 * on its nearest edge and one pgr_withPointsCost runs from it to every park access point, each
 * also placed on its nearest edge, over the reversed graph (our searches run outward from
 * facilities, and cost/reverse_cost forbid leaving private ways in that direction; reversing swaps
 * source and target, so fractions become 1 − f). Both access legs are added, as ours does. The
 * edge set is read on every call, as an application calling pgRouting does; the points are bound
 * parameters, quoted into pgRouting's points query by format(%L) on the server.
 *
 * It asks exactly our question, so the answers can be compared to the centimetre:
 * - the graph is the one the engine walks, `bench_engine_edges` (fragments under 50 nodes left
 *   out, see geo/components.ts), filled by the serving child from its loaded engine;
 * - the foot of the perpendicular and the fraction are found in the UTM zone's metres ($7), as
 *   ours are in a local metric projection (in degrees, a longitude step counts 1/cos(lat) too
 *   much, which moves the foot by metres);
 * - access legs are great-circle distances on PostGIS's sphere, as ours (haversine) are.
 */
const PGR_NEAREST_PARK_SQL = `
  WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS g),
  e AS (SELECT c.id, 1 - ST_LineLocatePoint(c.line, c.pt) AS fraction, c.source, c.target,
               ST_Distance(p.g::geography, ST_Transform(ST_ClosestPoint(c.line, c.pt), 4326)::geography, false) AS leg_m
        FROM p, LATERAL (
          SELECT we.id, we.source, we.target, ST_Transform(we.geom, $7::int) AS line, ST_Transform(p.g, $7::int) AS pt
          FROM walk_edges we WHERE we.id IN (SELECT id FROM bench_engine_edges) ORDER BY we.geom <-> p.g LIMIT 8) c
        ORDER BY ST_Distance(c.line, c.pt), c.id LIMIT 1),
  -- fraction 0 or 1 over the reversed edge: the point is its end vertex, asked for by vertex id
  s AS (SELECT e.*, CASE e.fraction WHEN 0 THEN e.target WHEN 1 THEN e.source END AS vertex FROM e),
  ap AS (SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::float8[], $6::float8[], $8::bigint[]) AS t(pid, edge, fraction, leg_m, vertex)),
  pts AS (SELECT array_agg(pid) AS pid, array_agg(edge) AS edge, array_agg(fraction) AS fraction FROM (
            SELECT 1::bigint AS pid, s.id AS edge, s.fraction FROM s WHERE s.vertex IS NULL
            UNION ALL SELECT pid, edge, fraction FROM ap WHERE vertex IS NULL) x)
  SELECT min(c.agg_cost + ap.leg_m) + (SELECT leg_m FROM s) AS distance_m
  FROM pts, pgr_withPointsCost(
    'SELECT id, target AS source, source AS target, cost, reverse_cost FROM walk_edges WHERE id IN (SELECT id FROM bench_engine_edges)',
    format('SELECT pid, edge_id, fraction FROM unnest(%L::bigint[], %L::bigint[], %L::float8[]) AS t(pid, edge_id, fraction)', pts.pid, pts.edge, pts.fraction),
    (SELECT coalesce(vertex, -1) FROM s), (SELECT array_agg(coalesce(vertex, -pid)) FROM ap), directed := true) c
  JOIN ap ON c.end_pid = coalesce(ap.vertex, -ap.pid)`;

/**
 * Park access points on their nearest engine edge, the same way: edge, fraction over the reversed
 * edge, access leg, and the vertex when the point is one. Points are numbered from 2 (1 is the
 * request's point); pgRouting names points by negative ids. pgRouting 3.4's withPoints functions
 * return nothing for a point at fraction 0 or 1 (pgRouting/pgrouting#2689), and park entrances
 * are often mapped on a network node, so such points are asked for as their vertex.
 */
const PARK_POINTS_SQL = `
  SELECT 1 + row_number() OVER (ORDER BY ap.id) AS pid, e.id AS edge_id, e.fraction,
         CASE e.fraction WHEN 0 THEN e.target WHEN 1 THEN e.source END AS vertex,
         ST_Distance(ap.geom::geography, ST_Transform(ST_ClosestPoint(e.line, e.pt), 4326)::geography, false) AS leg_m
  FROM facility_access_points ap JOIN facilities f ON f.id = ap.facility_id
  CROSS JOIN LATERAL (
    SELECT c.id, c.source, c.target, c.line, c.pt, 1 - ST_LineLocatePoint(c.line, c.pt) AS fraction FROM (
      SELECT we.id, we.source, we.target, ST_Transform(we.geom, $2::int) AS line, ST_Transform(ap.geom, $2::int) AS pt
      FROM walk_edges we WHERE we.id IN (SELECT id FROM bench_engine_edges) ORDER BY we.geom <-> ap.geom LIMIT 8) c
    ORDER BY ST_Distance(c.line, c.pt), c.id LIMIT 1) e
  WHERE f.category = 'park' AND f.dataset_id = $1 ORDER BY ap.id`;

/** The WGS 84 / UTM zone holding a longitude (northern hemisphere above the equator). */
const utmSrid = (lng: number, lat: number) => (lat >= 0 ? 32600 : 32700) + Math.min(60, Math.floor((lng + 180) / 6) + 1);

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '10' },
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
  await app.pg.query(`DROP TABLE IF EXISTS bench_engine_edges; CREATE UNLOGGED TABLE bench_engine_edges (id bigint PRIMARY KEY)`);
  await app.pg.query(`INSERT INTO bench_engine_edges SELECT unnest($1::bigint[])`, [Array.from(engine.net.edgeDbId)]);
  await app.pg.query(`ANALYZE bench_engine_edges`);
  const srid = utmSrid((engine.bbox[0] + engine.bbox[2]) / 2, (engine.bbox[1] + engine.bbox[3]) / 2);
  const parks = (await app.pg.query<{ pid: string; edge_id: string; fraction: number; leg_m: number; vertex: string | null }>(PARK_POINTS_SQL, [ds.id, srid])).rows;
  const parkParams = [parks.map((p) => p.pid), parks.map((p) => p.edge_id), parks.map((p) => p.fraction), parks.map((p) => p.leg_m), srid, parks.map((p) => p.vertex)];
  app.get<{ Querystring: { lng: number; lat: number } }>(
    '/bench/pgr-nearest-park',
    { schema: { querystring: { type: 'object', required: ['lng', 'lat'], properties: { lng: { type: 'number' }, lat: { type: 'number' } } } } },
    async (req) => {
      const { rows } = await app.pg.query<{ distance_m: number | null }>(PGR_NEAREST_PARK_SQL, [req.query.lng, req.query.lat, ...parkParams]);
      return { distance_m: rows[0]?.distance_m ?? null };
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
      const runs = ds ? (await pool.query(`SELECT 1 FROM coverage_runs WHERE dataset_id = $1 AND status = 'done'`, [ds.id])).rowCount : 0;
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

async function startServer(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--serve', databaseUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the server did not start within 60 s')), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/listening (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
  return { child, port };
}

interface Row {
  scenario: string;
  result: AutocannonResult;
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const databaseUrl = args['database-url'] ?? (await scratchDatabase());
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const ds = await activeDataset(db);
  if (!ds) throw new Error(`no dataset in ${databaseUrl}`);

  // seeded questions: points near network nodes, and the z15 network tiles with the most edges
  const random = seededRandom(SEED);
  const nodes = (await db.query<{ lng: number; lat: number }>(`SELECT ST_X(geom) AS lng, ST_Y(geom) AS lat FROM walk_nodes WHERE dataset_id = $1 ORDER BY id`, [ds.id])).rows;
  const points = Array.from({ length: POINTS }, () => {
    const n = nodes[Math.floor(random() * nodes.length)];
    const dLat = ((random() * 2 - 1) * JITTER_M) / 111_320;
    const dLng = ((random() * 2 - 1) * JITTER_M) / (111_320 * Math.cos((n.lat * Math.PI) / 180));
    return [Number((n.lng + dLng).toFixed(6)), Number((n.lat + dLat).toFixed(6))] as const;
  });
  const mids = (await db.query<{ lng: number; lat: number }>(`SELECT ST_X(ST_LineInterpolatePoint(geom, 0.5)) AS lng, ST_Y(ST_LineInterpolatePoint(geom, 0.5)) AS lat FROM walk_edges WHERE dataset_id = $1`, [ds.id])).rows;
  const tileCounts = new Map<string, number>();
  for (const m of mids) {
    const key = tileOf(m.lng, m.lat, 15).join('/');
    tileCounts.set(key, (tileCounts.get(key) ?? 0) + 1);
  }
  const tiles = [...tileCounts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([t]) => t);
  await db.end();

  const { child, port } = await startServer(databaseUrl);
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', () => {
    stop();
    process.exit(130);
  });
  const base = `http://127.0.0.1:${port}`;
  const rows: Row[] = [];
  const load = os.loadavg()[0];
  try {
    const run = async (scenario: string, paths: string[], c = connections) => {
      const result = await runAutocannon({ url: base, connections: c, duration: seconds, timeout: 10, requests: [{ setupRequest: cycling(paths) }] });
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
    await run(`proximity, all ${(await (await fetch(`${base}/api/categories`)).json()).categories.length} categories`, proximityAll);
    await run('proximity, park only', proximityPark);
    await run('pgRouting nearest park, per request', pgrPark);
    await run('isochrone 1000 m', points.map(([lng, lat]) => `/api/isochrone?lng=${lng}&lat=${lat}&distance_m=1000`));
    await run(`network tile z15 (${tiles.length} tiles)`, tiles.map((t) => `/tiles/network/${t}.pbf`));

    // the two sides answer the same question: compare their distances on a sample
    const diffs: number[] = [];
    const onlyOne = { ours: 0, pgRouting: 0 };
    for (const [lng, lat] of points.slice(0, 100)) {
      const ours = (await (await fetch(`${base}/api/proximity?lng=${lng}&lat=${lat}&categories=park`)).json()).results[0].network_distance_m;
      const theirs = (await (await fetch(`${base}/bench/pgr-nearest-park?lng=${lng}&lat=${lat}`)).json()).distance_m;
      if (ours !== null && theirs !== null) diffs.push(Math.abs(ours - theirs));
      else if (ours !== null) onlyOne.ours++;
      else if (theirs !== null) onlyOne.pgRouting++;
    }
    diffs.sort((a, b) => a - b);

    const pad = (s: string | number, n: number) => String(s).padStart(n);
    console.log(`\nAPI benchmark: ${ds.source} (${ds.counts.walk_edges} edges), ${connections} connections, ${seconds} s per scenario, loopback`);
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${load.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end\n`);
    console.log(`${'scenario'.padEnd(40)}${pad('req/s', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}${pad('non-2xx', 9)}${pad('errors', 8)}`);
    for (const { scenario, result: r } of rows) {
      console.log(`${scenario.padEnd(40)}${pad(Math.round(r.requests.average), 9)}${pad(r.latency.p50, 9)}${pad(r.latency.p99, 9)}${pad(r.latency.max, 9)}${pad(r.non2xx, 9)}${pad(r.errors + r.timeouts, 8)}`);
    }
    const all = rows[0].result;
    const ours = rows[1].result.requests.average;
    const theirs = rows[2].result.requests.average;
    const ratio = ours / theirs;
    console.log(`\nours / pgRouting, the same question (nearest park on foot): ${ratio.toFixed(0)}× the requests per second, p99 ${rows[1].result.latency.p99} ms vs ${rows[2].result.latency.p99} ms`);
    console.log(`agreement on ${diffs.length} points: median |ours − pgRouting| ${diffs[Math.floor(diffs.length / 2)]?.toFixed(1)} m, ${diffs.filter((d) => d <= 5).length} within 5 m; a park found by pgRouting only ${onlyOne.pgRouting}×, by ours only ${onlyOne.ours}× (ours searches 2000 m, twice the longest rule distance, and refuses walks through walls and out of compounds)`);
    const check = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(`targets: proximity ≥ 2000 req/s ${check(all.requests.average >= 2000)} (${Math.round(all.requests.average)}), p99 < 20 ms ${check(all.latency.p99 < 20)} (${all.latency.p99}), ≥ 50× pgRouting ${check(ratio >= 50)} (${ratio.toFixed(0)}×)`);
  } finally {
    stop();
  }
}

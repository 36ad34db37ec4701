import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateSampleCity } from '../../geo/sample-city.ts';
import { osmXmlChunks } from '../../geo/osm-xml.ts';
import { buildApp } from '../../server/app.ts';
import { readConfig } from '../../server/config.ts';
import { resolveDatabaseUrl } from '../../server/db/local-cluster.ts';
import { migrate } from '../../server/db/migrate.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { loadNetworkCached, networkFileKey } from '../../server/network/network-file.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import type { Progress } from '../../server/progress.ts';
import { activeDataset } from '../../server/queries/datasets.ts';
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
  type ServedRow,
} from './autocannon.ts';

// npm run bench:city [-- --osm-nodes N] [--seed S] [--seconds T] [--connections C] [--served-only]
//
// The whole-city benchmark (issue #15): builds (or reuses) a generated city of N OSM nodes as PBF
// under .data/bench/, imports it through the real importer into a scratch database, loads the
// engine cold (from PostGIS) and from its engine file, computes every rule set (the `npm run compute`
// path), and drives proximity and network tiles at z10/z12/z15 with autocannon on loopback. Every
// heavy phase runs in its own child process, so each peak RSS is that phase's alone. Prints a table,
// then as its LAST line one JSON object (null where a figure was not measured; `null_reasons` says why).
//
// A city beyond one generator district (MAX_TILE_NODES) is several districts side by side, each
// generated, written and dropped in turn (never the whole city in memory), with ids offset per
// district and merged by `osmium merge`; districts are separate street networks (labelled).
//
// Heavy routes (the isochrone) are driven with as many connections as one client's allowance of
// heavy requests in flight (DEFAULT_HEAVY_LIMITS.perClient): all traffic comes from one address,
// and more connections would measure 429 answers. Every row counts its 2xx answers, every other
// answer by status and every request left unanswered; latency is of 2xx answers, `–` when none.
// `--served-only` serves and drives the scratch database a previous run imported and computed
// (lc_bench_city_<N>_<seed>), skipping generation, import, compute and engine loads.

const SELF = fileURLToPath(import.meta.url);
const MAX_TILE_NODES = 4_000_000;
/** Ids of district k start at k × this (the generator numbers from 1 and stays far below). */
const TILE_ID_STRIDE = 100_000_000;
const GAP_M = 500;

const { values: args } = parseArgs({
  options: {
    'osm-nodes': { type: 'string', default: '20000000' },
    seed: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    phase: { type: 'string' },
    file: { type: 'string' },
    'database-url': { type: 'string' },
    'served-only': { type: 'boolean', default: false },
  },
});

const mib = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Write one district's OSM XML into `osmium cat` (stdin → PBF), respecting back-pressure. */
async function writeDistrictPbf(
  file: string,
  seed: number,
  targetNodes: number,
  originLng: number,
  originLat: number,
  idOffset: number,
): Promise<{ sideM: number; nodes: number }> {
  const city = generateSampleCity({ seed, targetNodes, originLng, originLat });
  const child = spawn('osmium', ['cat', '-F', 'osm', '-o', file, '-O', '-'], { stdio: ['pipe', 'inherit', 'inherit'] });
  const exited = once(child, 'close');
  for (const chunk of osmXmlChunks(city, { generator: 'life-circle bench:city (sample, invented place)', idOffset })) {
    if (!child.stdin.write(chunk)) await once(child.stdin, 'drain');
  }
  child.stdin.end();
  const [code] = (await exited) as [number];
  if (code !== 0) throw new Error(`osmium cat failed for ${file} (exit ${code})`);
  return { sideM: city.stats.sideM, nodes: city.nodes.id.length };
}

/** Child phase: the city's PBF, generated district by district. */
async function phaseGenerate(file: string, osmNodes: number, seed: number): Promise<object> {
  const t0 = performance.now();
  const tiles = Math.ceil(osmNodes / MAX_TILE_NODES);
  const perTile = Math.round(osmNodes / tiles);
  const cols = Math.ceil(Math.sqrt(tiles));
  const parts: string[] = [];
  let sideM = 0;
  let nodes = 0;
  for (let k = 0; k < tiles; k++) {
    const part = `${file}.part${k}.osm.pbf`;
    const lat0 = 30.66;
    const stepM = sideM + GAP_M;
    const lng = 104.06 + ((k % cols) * stepM) / (111_320 * Math.cos((lat0 * Math.PI) / 180));
    const lat = lat0 + (Math.floor(k / cols) * stepM) / 110_574;
    const r = await writeDistrictPbf(part, seed + k, perTile, lng, lat, k * TILE_ID_STRIDE);
    sideM = Math.max(sideM, r.sideM);
    nodes += r.nodes;
    parts.push(part);
    process.stderr.write(
      `  district ${k + 1}/${tiles}: ${r.nodes} OSM nodes, ${(r.sideM / 1000).toFixed(1)} km square\n`,
    );
  }
  if (parts.length === 1) fs.renameSync(parts[0], `${file}.tmp`);
  else {
    const child = spawn('osmium', ['merge', ...parts, '-o', `${file}.tmp`, '-f', 'pbf', '-O'], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const [code] = (await once(child, 'close')) as [number];
    if (code !== 0) throw new Error(`osmium merge failed (exit ${code})`);
    for (const p of parts) fs.rmSync(p);
  }
  fs.renameSync(`${file}.tmp`, file);
  return { generate_s: (performance.now() - t0) / 1000, osm_nodes: nodes, districts: tiles, peak_rss_mb: mib() };
}

/** A Progress that records when each step began (the importer's phases). */
function phaseRecorder(): Progress & { phases(): Record<string, number> } {
  const steps: [string, number][] = [];
  let last = 0;
  return {
    step(label: string) {
      steps.push([label, performance.now()]);
      process.stderr.write(`  ${label}\n`);
    },
    update(done: number, total: number) {
      if (performance.now() - last > 5000) {
        last = performance.now();
        process.stderr.write(`    ${done}/${total}\n`);
      }
    },
    done() {
      steps.push(['(end)', performance.now()]);
    },
    phases() {
      const out: Record<string, number> = {};
      for (let i = 0; i + 1 < steps.length; i++)
        out[steps[i][0]] = Math.round((steps[i + 1][1] - steps[i][1]) / 100) / 10;
      return out;
    },
  };
}

async function phaseImport(url: string, file: string): Promise<object> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const progress = phaseRecorder();
    const r = await importOsm(pool, file, { kind: 'sample_city', sourceName: path.basename(file), progress });
    return { import_s: r.seconds, import_phases_s: progress.phases(), counts: r.counts, peak_rss_mb: mib() };
  } finally {
    await pool.end();
  }
}

async function phaseCompute(url: string): Promise<object> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const t0 = performance.now();
    const r = await computeCoverage(pool, {
      progress: phaseRecorder(),
      engineDir: path.join(readConfig().dataDir, 'engine'),
    });
    return {
      compute_s: (performance.now() - t0) / 1000,
      timings_ms: r.timingsMs,
      counts: r.counts,
      peak_rss_mb: mib(),
    };
  } finally {
    await pool.end();
  }
}

/** Child phase: the engine's network cold (built from PostGIS, file removed first) or from its file. */
async function phaseEngine(url: string, dir: string, mode: 'cold' | 'file'): Promise<object> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const ds = await activeDataset(pool);
    if (!ds) throw new Error('no dataset');
    if (mode === 'cold') {
      const keys = await networkFileKey(pool, ds.id, dir);
      for (const f of [keys.file, keys.facilitiesFile]) fs.rmSync(f, { force: true });
    }
    const r = await loadNetworkCached(pool, ds.id, dir, (err) => {
      throw err;
    });
    if (r.source !== (mode === 'cold' ? 'built' : 'file'))
      throw new Error(`engine ${mode}: network came from ${r.source}`);
    return {
      seconds: r.seconds,
      graph_nodes: r.net.graph.nodeCount,
      file_mb: Math.round(fs.statSync(r.file).size / 2 ** 20),
      peak_rss_mb: mib(),
    };
  } finally {
    await pool.end();
  }
}

async function serve(url: string): Promise<void> {
  const app = await buildApp({ databaseUrl: url, logger: false, webDist: false, rateLimit: { max: 1e9 } });
  // the worker threads prepared too (origins snapped once), so the drive measures answers, not preparation
  const t0 = performance.now();
  await app.heavy.prepared(await app.engine.current());
  process.stderr.write(`  engine and worker threads prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${(app.server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/** Run this file as a child in `phase`; its last stdout line is the phase's JSON. */
async function child(phase: string, extra: string[]): Promise<Record<string, unknown>> {
  const c = spawn(
    process.execPath,
    ['--max-old-space-size=12000', '--import', 'tsx', SELF, '--phase', phase, ...extra],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  const [code] = (await once(c, 'close')) as [number];
  if (code !== 0) throw new Error(`phase ${phase} failed (exit ${code})`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function main(): Promise<void> {
  const osmNodes = Number(args['osm-nodes']);
  const seed = Number(args.seed);
  if (!(osmNodes >= 2000) || !Number.isInteger(seed))
    throw new Error('--osm-nodes must be ≥ 2000 and --seed an integer');
  const config = readConfig();
  const benchDir = path.join(config.dataDir, 'bench');
  // the server's own engine directory, so the serving child below starts from the file
  const engineDir = path.join(config.dataDir, 'engine');
  fs.mkdirSync(benchDir, { recursive: true });
  const file = path.join(benchDir, `city-${osmNodes}-seed${seed}.osm.pbf`);
  const load = os.loadavg()[0];
  const nullReasons: Record<string, string> = {};

  let generate: Record<string, unknown> = { generate_s: null, reused: true };
  if (!fs.existsSync(file) && !args['served-only']) {
    process.stderr.write(`generating ${file}…\n`);
    generate = await child('generate', ['--file', file, '--osm-nodes', String(osmNodes), '--seed', String(seed)]);
  } else process.stderr.write(`reusing ${file}\n`);

  const serverUrl = resolveDatabaseUrl(config, (l) => console.error(l));
  const dbName = `lc_bench_city_${osmNodes}_${seed}`;
  const url = withDatabase(serverUrl, dbName);
  const servedOnly = args['served-only'];
  // in --served-only mode no phase runs: their figures are null (and the table says so)
  const skipped = { seconds: null, peak_rss_mb: null, counts: {}, import_phases_s: {}, timings_ms: {} };
  let imp: Record<string, unknown> = skipped;
  let comp: Record<string, unknown> = skipped;
  let cold: Record<string, unknown> = skipped;
  let warm: Record<string, unknown> = skipped;
  if (!servedOnly) {
    const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${dbName}"`);
    await admin.end();
    await migrate(url);

    process.stderr.write('importing through the importer…\n');
    imp = await child('import', ['--file', file, '--database-url', url]);
    process.stderr.write('computing every rule set…\n');
    comp = await child('compute', ['--database-url', url]);
    process.stderr.write('engine: cold, then from its file…\n');
    cold = await child('engine-cold', ['--database-url', url, '--file', engineDir]);
    warm = await child('engine-file', ['--database-url', url, '--file', engineDir]);
  } else process.stderr.write(`--served-only: serving ${dbName} as a previous run left it\n`);

  // questions: points near seeded network nodes; the busiest z10/z12/z15 network tiles
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const ds = await activeDataset(pool);
  if (!ds) throw new Error(`${dbName} has no dataset: run bench:city without --served-only first`);
  const random = seededRandom(seed);
  const sample = (
    await pool.query<{ lng: number; lat: number }>(
      `SELECT ST_X(geom) AS lng, ST_Y(geom) AS lat FROM walk_nodes TABLESAMPLE SYSTEM (1) REPEATABLE (${seed}) WHERE dataset_id = $1 LIMIT 2000`,
      [ds.id],
    )
  ).rows;
  const points = Array.from({ length: 200 }, () => sample[Math.floor(random() * sample.length)]).map((n) => [
    Number(n.lng.toFixed(6)),
    Number((n.lat + 0.00005).toFixed(6)),
  ]);
  const busiest = (z: number) => {
    const counts = new Map<string, number>();
    for (const n of sample) {
      const k = tileOf(n.lng, n.lat, z).join('/');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([t]) => t);
  };
  const dbSize = (await pool.query<{ mb: number }>(`SELECT pg_database_size(current_database()) / 1048576.0 AS mb`))
    .rows[0].mb;
  await pool.end();

  const { child: server, port } = await spawnListening([SELF, '--phase', 'serve', '--database-url', url], {
    timeoutMs: 900_000,
    forwardStderr: true,
  });
  const base = `http://127.0.0.1:${port}`;
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const served: Record<string, ServedRow & { connections: number }> = {};
  // heavy routes: one client's allowance in flight, no more (the rest would be 429s)
  const heavyConnections = Math.min(connections, DEFAULT_HEAVY_LIMITS.perClient);
  try {
    const drive = async (name: string, paths: string[], conns = connections) => {
      await runAutocannon({
        url: base,
        connections: conns,
        duration: 2,
        timeout: 30,
        requests: [{ setupRequest: cycling(paths) }],
      });
      const r = await runAutocannon({
        url: base,
        connections: conns,
        duration: seconds,
        timeout: 10,
        requests: [{ setupRequest: cycling(paths) }],
      });
      served[name] = { ...servedRow(r), connections: conns };
      const cells = servedCells(served[name]);
      process.stderr.write(`  ${name}: ${SERVED_HEAD.map((h, i) => `${h} ${cells[i]}`).join(', ')}\n`);
    };
    await drive(
      'proximity',
      points.map(([lng, lat]) => `/api/proximity?lng=${lng}&lat=${lat}`),
    );
    await drive(
      'isochrone 1000 m',
      points.map(([lng, lat]) => `/api/isochrone?lng=${lng}&lat=${lat}&distance_m=1000`),
      heavyConnections,
    );
    for (const z of [10, 12, 15])
      await drive(
        `tile z${z}`,
        busiest(z).map((t) => `/tiles/network/${t}.pbf`),
      );
  } finally {
    server.kill('SIGTERM');
  }

  const timings = comp.timings_ms as Record<string, number>;
  const fields = (comp.counts as { fields?: number }).fields;
  const counts = imp.counts as { walk_nodes?: number };
  if (servedOnly)
    for (const k of ['import_s', 'compute_s', 'engine_load_s', 'engine_load_cold_s'])
      nullReasons[k] = '--served-only: the scratch database of a previous run was served as it was';
  for (const [name, row] of Object.entries(served))
    if (row.p99 === null)
      nullReasons[`${name} p99`] =
        `no 2xx answer: ${row.otherTotal} other answers (${JSON.stringify(row.other)}), ${row.unanswered} unanswered`;
  nullReasons.recompute_one_category_s = 'incremental recompute is issue #15 item 5 (engineer h15b), not built here';
  nullReasons.pgrouting_ms_per_category =
    'pgRouting on the whole city is measured by `npm run bench` (the generated network there), not in this run';
  if (generate.generate_s === null) nullReasons.generate_s = 'the city file was reused from .data/bench';
  const result = {
    osm_nodes: (generate.osm_nodes as number | undefined) ?? osmNodes,
    graph_nodes: cold.graph_nodes,
    walk_nodes_imported: counts.walk_nodes,
    origins: (comp.counts as { origins: number }).origins,
    generate_s: generate.generate_s,
    import_s: imp.import_s,
    import_phases_s: imp.import_phases_s,
    import_peak_rss_mb: imp.peak_rss_mb,
    engine_load_s: warm.seconds,
    engine_load_cold_s: cold.seconds,
    engine_file_mb: warm.file_mb,
    compute_s: comp.compute_s,
    compute_timings_ms: timings,
    compute_peak_rss_mb: comp.peak_rss_mb,
    recompute_one_category_s: null,
    peak_rss_mb: servedOnly
      ? null
      : Math.max(...[generate, imp, comp, cold, warm].map((p) => Number(p.peak_rss_mb ?? 0))),
    db_size_mb: Math.round(dbSize),
    proximity_rps: served.proximity.okPerS,
    proximity_p99_ms: served.proximity.p99,
    isochrone_rps: served['isochrone 1000 m'].okPerS,
    isochrone_p99_ms: served['isochrone 1000 m'].p99,
    tile_z10_p99_ms: served['tile z10'].p99,
    tile_z12_p99_ms: served['tile z12'].p99,
    tile_z15_p99_ms: served['tile z15'].p99,
    /** Every served row in full: 2xx per second, latency of 2xx, other answers, unanswered, connections. */
    served,
    search_ms_per_category: fields ? Math.round((timings.fields / fields) * 10) / 10 : null,
    pgrouting_ms_per_category: null,
    load_average: [load, os.loadavg()[0]].map((x) => Math.round(x * 100) / 100),
    null_reasons: nullReasons,
  };
  const pad = (s: unknown, n: number) => String(s).padStart(n);
  console.log(
    `\nwhole-city benchmark: generated sample city (invented place), ${result.osm_nodes} OSM nodes, seed ${seed}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${result.load_average.join(' → ')}`,
  );
  const fixed = (x: unknown, d: number) => (typeof x === 'number' ? x.toFixed(d) : 'skipped');
  if (!servedOnly) printPhases();
  function printPhases() {
    console.log(`${'phase'.padEnd(34)}${pad('seconds', 10)}${pad('peak RSS MiB', 14)}`);
    console.log(
      `${'generate + write PBF'.padEnd(34)}${pad(generate.generate_s === null ? 'cached' : (generate.generate_s as number).toFixed(1), 10)}${pad(generate.peak_rss_mb ?? '', 14)}`,
    );
    console.log(
      `${'import (real importer)'.padEnd(34)}${pad((imp.import_s as number).toFixed(1), 10)}${pad(imp.peak_rss_mb, 14)}`,
    );
    for (const [k, v] of Object.entries(imp.import_phases_s as Record<string, number>))
      console.log(`${`  ${k}`.slice(0, 34).padEnd(34)}${pad(v.toFixed(1), 10)}`);
    console.log(
      `${'compute (all rule sets)'.padEnd(34)}${pad((comp.compute_s as number).toFixed(1), 10)}${pad(comp.peak_rss_mb, 14)}`,
    );
    for (const [k, v] of Object.entries(timings))
      console.log(`${`  ${k}`.padEnd(34)}${pad((v / 1000).toFixed(1), 10)}`);
    console.log(
      `${'engine network, cold (PostGIS)'.padEnd(34)}${pad(fixed(cold.seconds, 2), 10)}${pad(cold.peak_rss_mb, 14)}`,
    );
    console.log(
      `${'engine network, from its file'.padEnd(34)}${pad(fixed(warm.seconds, 2), 10)}${pad(warm.peak_rss_mb, 14)}`,
    );
  }
  const widths = [8, 8, 8, 8, 8, 22, 11];
  console.log(`\n${'served (loopback; conns)'.padEnd(34)}${SERVED_HEAD.map((h, i) => pad(h, widths[i])).join('')}`);
  for (const [k, v] of Object.entries(served))
    console.log(
      `${`${k} (${v.connections})`.padEnd(34)}${servedCells(v)
        .map((c, i) => pad(c, widths[i]))
        .join('')}`,
    );
  console.log(
    '  latency is of 2xx answers (– when none); non-2xx by status; unanswered: connection errors and timeouts (10 s)',
  );
  console.log(JSON.stringify(result));
}

const phase = args.phase;
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
if (phase === 'generate') out(await phaseGenerate(args.file!, Number(args['osm-nodes']), Number(args.seed)));
else if (phase === 'import') out(await phaseImport(args['database-url']!, args.file!));
else if (phase === 'compute') out(await phaseCompute(args['database-url']!));
else if (phase === 'engine-cold') out(await phaseEngine(args['database-url']!, args.file!, 'cold'));
else if (phase === 'engine-file') out(await phaseEngine(args['database-url']!, args.file!, 'file'));
else if (phase === 'serve') await serve(args['database-url']!);
else await main();

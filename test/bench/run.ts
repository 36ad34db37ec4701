import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import pg from 'pg';
import { categoryOf, type CategoryId } from '../../geo/categories.ts';
import { createSearch, type Seed } from '../../geo/dijkstra.ts';
import { computeDistanceField } from '../../geo/distance-field.ts';
import { buildGraph, type WalkGraphInput } from '../../geo/graph.ts';
import { generateSampleCity, type SampleCity } from '../../geo/sample-city.ts';
import { edgeDirection, splitWays } from '../../geo/split-ways.ts';
import { writeOsmXml } from '../../server/import/write-osm-xml.ts';
import { projectRoot, readConfig } from '../../server/config.ts';
import { resolveDatabaseUrl } from '../../server/db/local-cluster.ts';
import { migrate } from '../../server/db/migrate.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { loadNetwork } from '../../server/network/load-network.ts';
import { importOsm, WALK_EDGES_INSERT_SQL } from '../../server/import/import-osm.ts';
import { insertBatches } from '../../server/db/insert-batches.ts';
import { importDefaultSampleRegisters, SAMPLE_REGISTERS } from '../../server/import/sample-registers.ts';
import { activeDataset } from '../../server/queries/datasets.ts';
import { withDatabase } from '../helpers/database-url.ts';

const CACHE_DIR = path.join(os.tmpdir(), 'life-circle-bench');
const SAMPLE_SEED = 15;
const OUR_RUNS = 5;
const WARMUP_MIN_RUNS = 3;
const WARMUP_MS = 200;
const WARMUP_MAX_RUNS = 200;
const PGR_RUNS = 3;
/** pgr_drivingDistance needs a bound: this one is beyond any walk, so both sides label every reachable node. */
const PGR_UNBOUNDED_M = 1e12;
/** Differences larger than this fail the run: the claim is agreement to the centimetre. */
const AGREEMENT_M = 0.01;

// pgRouting reads the network with this query on every call, as an application would; walk_edges of a
// scratch database holds one dataset only (checked), plus the super-source's edges to the seeds.
const PGR_EDGES_SQL =
  'SELECT id, source, target, cost, reverse_cost FROM walk_edges UNION ALL SELECT id, source, target, cost, reverse_cost FROM bench_super_edges';
const SETUP_SQL = [
  `CREATE TEMP TABLE bench_super_edges (id bigint, source bigint, target bigint, cost float8, reverse_cost float8)`,
  // timed inside the server, so neither transfer nor parsing counts; count(*) still makes pgRouting
  // build and return every row
  `CREATE FUNCTION pg_temp.bench_driving_distance(super bigint, bound float8, OUT ms float8, OUT reached bigint) AS $$
   DECLARE t0 timestamptz;
   BEGIN
     t0 := clock_timestamp();
     SELECT count(*) INTO reached FROM pgr_drivingDistance('${PGR_EDGES_SQL}', super, bound, directed := true);
     ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
   END $$ LANGUAGE plpgsql`,
];
const SUPER_EDGES_SQL = `
  INSERT INTO bench_super_edges SELECT $2::bigint + k, $1::bigint, node, dist, -1
  FROM unnest($3::bigint[], $4::float8[]) WITH ORDINALITY AS s(node, dist, k)`;
const DRIVING_DISTANCE_SQL = `
  SELECT node, agg_cost FROM pgr_drivingDistance('${PGR_EDGES_SQL}', $1::bigint, $2::float8, directed := true)`;

interface NetworkSpec {
  key: string;
  label: string;
  categories: CategoryId[];
  /** Puts the network into an empty, migrated database; returns how it was loaded. */
  load(pool: pg.Pool): Promise<string>;
  /** Identifies the input: the database is rebuilt when it changes. */
  inputKey(): string;
  coverage: boolean;
}

interface Row {
  category: string;
  facilities: number;
  seeds: number;
  oursMs: number;
  oursCpuMs: number;
  pgrCpuMs: number | null;
  pgrSqlMs: number;
  pgrWallMs: number;
  maxDiffM: number;
}

interface NetworkResult {
  spec: NetworkSpec;
  nodes: number;
  edges: number;
  arcs: number;
  buildMs: number;
  loadNetworkMs: number;
  prepared: string;
  rows: Row[];
  coverage: string;
  coverageNote: string;
  peakRssMb: number;
}

// A full collection before each timed series, so that garbage left by loading and snapping is not
// collected inside it (V8's helper threads would also count in process.cpuUsage).
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
/**
 * Time a process has spent on a CPU, in ms, from Linux's /proc/<pid>/schedstat (null where it cannot
 * be read, e.g. a database on another host). Unlike wall time it does not grow while other
 * processes hold the CPU, so it shows the work done even on a busy machine. Exact only for a
 * process that is not running at the moment (the kernel updates it when the process stops), as a
 * database backend between two queries.
 */
function onCpuMs(pid: number): number | null {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (line: string) =>
  process.stderr.write(`[bench ${((performance.now() / 1000) | 0).toString().padStart(4)} s] ${line}\n`);

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The generated sample city as OSM XML, written once per seed and size. */
async function sampleCityXml(seed: number, targetNodes: number, fresh: boolean): Promise<string> {
  const file = path.join(CACHE_DIR, `sample-city-${seed}-${targetNodes}.osm`);
  if (fresh || !fs.existsSync(file)) {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    log(`generating sample city seed ${seed}, ${targetNodes} nodes → ${file}`);
    await writeOsmXml(generateSampleCity({ seed, targetNodes }), `${file}.part`);
    fs.renameSync(`${file}.part`, file);
  }
  return file;
}

/**
 * Loads a generated city's walking network straight from the generator's model, without the OSM
 * importer: ways split as the importer splits them (geo/split-ways.ts), lengths from
 * ST_Length(geom::geography) as the importer computes them, and as facilities the tagged points
 * (access point = the point) and the parks (access points = their entrance nodes). No residential
 * areas, buildings or walls, so no coverage.
 */
async function loadModelDirect(pool: pg.Pool, city: SampleCity, source: string, sha256: string): Promise<void> {
  const index = new Map<number, number>();
  for (let k = 0; k < city.nodes.id.length; k++) index.set(city.nodes.id[k], k);
  const net = splitWays({ index, lng: city.nodes.lng, lat: city.nodes.lat }, city.ways);
  const coordOf = (osmId: number) => index.get(osmId)!;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO datasets (kind, source, sha256, is_sample) VALUES ('sample_city', $1, $2, true) RETURNING id`,
      [source, sha256],
    );
    const datasetId = rows[0].id;
    const isGate = (osmId: number) => {
      const t = city.nodes.tags.get(osmId);
      return t !== undefined && (t.entrance !== undefined || t.barrier === 'gate');
    };
    await insertBatches(
      client,
      `INSERT INTO walk_nodes (dataset_id, osm_id, is_gate, is_private, geom)
       SELECT $1, o, g, p, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM unnest($2::bigint[], $3::bool[], $4::bool[], $5::float8[], $6::float8[]) AS t(o, g, p, x, y)`,
      [datasetId],
      Array.from(net.nodeOsmId.keys()),
      (g) => [
        net.nodeOsmId[g],
        isGate(net.nodeOsmId[g]),
        net.nodeIsPrivate[g] === 1,
        city.nodes.lng[coordOf(net.nodeOsmId[g])],
        city.nodes.lat[coordOf(net.nodeOsmId[g])],
      ],
    );
    const ids = await client.query<{ id: string; osm_id: string }>(
      `SELECT id, osm_id FROM walk_nodes WHERE dataset_id = $1`,
      [datasetId],
    );
    const dbId = new Map(ids.rows.map((r) => [Number(r.osm_id), r.id]));
    await insertBatches(client, WALK_EDGES_INSERT_SQL, [datasetId], Array.from(net.edgeFrom.keys()), (e) => {
      const way = city.ways[net.edgeWay[e]];
      const f = net.edgeFrom[e],
        t = net.edgeTo[e];
      const xy: string[] = [];
      for (let k = net.edgeCoordOffset[e]; k < net.edgeCoordOffset[e + 1]; k += 2)
        xy.push(`${net.edgeCoords[k]} ${net.edgeCoords[k + 1]}`);
      return [
        dbId.get(net.nodeOsmId[f]),
        dbId.get(net.nodeOsmId[t]),
        way.tags.highway,
        way.tags.name ?? null,
        way.id,
        net.edgeIsPrivate[e] === 1,
        edgeDirection(net.edgeIsPrivate[e] === 1, net.nodeIsPrivate[f] === 1, net.nodeIsPrivate[t] === 1),
        `LINESTRING(${xy.join(',')})`,
      ];
    });

    // facilities with their access points, matched through a bench-made source_ref
    const facilities: { category: string; wkt: string; access: [number, number][] }[] = [];
    for (const [osmId, tags] of city.nodes.tags) {
      const cat = categoryOf(tags);
      const k = index.get(osmId);
      if (!cat || k === undefined) continue;
      facilities.push({
        category: cat.category,
        wkt: `POINT(${city.nodes.lng[k]} ${city.nodes.lat[k]})`,
        access: [[city.nodes.lng[k], city.nodes.lat[k]]],
      });
    }
    for (const way of city.ways) {
      if (way.tags.leisure !== 'park') continue;
      const ring: [number, number][] = [];
      const entrances: [number, number][] = [];
      for (const ref of way.refs) {
        const k = index.get(ref)!;
        ring.push([city.nodes.lng[k], city.nodes.lat[k]]);
        if (isGate(ref)) entrances.push([city.nodes.lng[k], city.nodes.lat[k]]);
      }
      facilities.push({
        category: 'park',
        wkt: `POLYGON((${ring.map((p) => p.join(' ')).join(',')}))`,
        access: entrances.length ? entrances : ring,
      });
    }
    await insertBatches(
      client,
      `INSERT INTO facilities (dataset_id, category, geom, area_m2, source, source_ref, is_sample)
       SELECT $1, c, g, CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(g::geography) END, 'sample', r, true
       FROM (SELECT c, ST_GeomFromText(w, 4326) AS g, r FROM unnest($2::text[], $3::text[], $4::text[]) AS u(c, w, r)) v`,
      [datasetId],
      Array.from(facilities.keys()),
      (i) => [facilities[i].category, facilities[i].wkt, `bench:${i}`],
    );
    const access = facilities.flatMap((f, i) => f.access.map(([lng, lat]) => [`bench:${i}`, lng, lat] as const));
    await insertBatches(
      client,
      `INSERT INTO facility_access_points (facility_id, kind, geom)
       SELECT f.id, 'point', ST_SetSRID(ST_MakePoint(x, y), 4326)
       FROM unnest($2::text[], $3::float8[], $4::float8[]) AS u(r, x, y) JOIN facilities f ON f.dataset_id = $1 AND f.source_ref = u.r`,
      [datasetId],
      access,
      (a) => a,
    );
    await client.query(
      `UPDATE datasets SET counts = jsonb_build_object('walk_nodes', (SELECT count(*) FROM walk_nodes WHERE dataset_id = $1),
         'walk_edges', (SELECT count(*) FROM walk_edges WHERE dataset_id = $1)) WHERE id = $1`,
      [datasetId],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The scratch database of a network, migrated and loaded; rebuilt when its input changed or with --fresh. */
async function prepareDatabase(
  serverUrl: string,
  spec: NetworkSpec,
  fresh: boolean,
): Promise<{ url: string; prepared: string }> {
  const name = `lc_bench_${spec.key}`;
  const url = withDatabase(serverUrl, name);
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await admin.connect();
  try {
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    const inputKey = spec.inputKey();
    if (exists && !fresh) {
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      try {
        await migrate(url);
        const ds = await activeDataset(pool);
        const marked = (
          await pool.query<{ has: boolean }>(`SELECT to_regclass('public.bench_input') IS NOT NULL AS has`)
        ).rows[0].has;
        const key = marked
          ? (await pool.query<{ key: string }>('SELECT key FROM bench_input')).rows[0]?.key
          : undefined;
        if (ds && key === inputKey) return { url, prepared: 'cached database' };
      } finally {
        await pool.end();
      }
    }
    // the name is a constant of this file, never input
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  await migrate(url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const t = performance.now();
    const how = await spec.load(pool);
    sampleRss();
    // written last: a database without it was not fully loaded and is rebuilt
    await pool.query('CREATE TABLE bench_input (key text NOT NULL)');
    await pool.query('INSERT INTO bench_input (key) VALUES ($1)', [spec.inputKey()]);
    return { url, prepared: `${how} ${((performance.now() - t) / 1000).toFixed(1)} s` };
  } finally {
    await pool.end();
  }
}

async function benchNetwork(serverUrl: string, spec: NetworkSpec, fresh: boolean): Promise<NetworkResult> {
  log(`${spec.label}: preparing lc_bench_${spec.key}`);
  const { url, prepared } = await prepareDatabase(serverUrl, spec, fresh);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const ds = await activeDataset(client);
    if (!ds) throw new Error(`lc_bench_${spec.key} has no dataset`);
    const datasets = await client.query('SELECT DISTINCT dataset_id FROM walk_edges');
    if (datasets.rowCount !== 1)
      throw new Error(`lc_bench_${spec.key}: walk_edges must hold one dataset, not ${datasets.rowCount}`);
    for (const sql of SETUP_SQL) await client.query(sql);
    const backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;

    log(`${spec.label}: loading the network into the engine`);
    let t = performance.now();
    const net = await loadNetwork(client, ds.id);
    const loadNetworkMs = performance.now() - t;
    sampleRss();
    const graph = net.graph;
    const input: WalkGraphInput = {
      nodeCount: graph.nodeCount,
      nodeLng: graph.nodeLng,
      nodeLat: graph.nodeLat,
      edgeFrom: graph.edgeFrom,
      edgeTo: graph.edgeTo,
      edgeLengthM: graph.edgeLengthM,
      edgeDir: graph.edgeDir,
      edgeCoords: graph.edgeCoords,
      edgeCoordOffset: graph.edgeCoordOffset,
    };
    const buildTimes: number[] = [];
    let arcs = 0;
    collectGarbage();
    for (let i = 0; i < OUR_RUNS; i++) {
      t = performance.now();
      arcs = buildGraph(input).arcCount;
      buildTimes.push(performance.now() - t);
    }

    const {
      rows: [ids],
    } = await client.query<{ node: string; edge: string }>(
      'SELECT (SELECT max(id) FROM walk_nodes) AS node, (SELECT max(id) FROM walk_edges) AS edge',
    );
    const superId = Number(ids.node) + 1;
    const edgeIdBase = Number(ids.edge) + 1;
    const search = createSearch(graph);
    const publicEdge = (e: number) => net.edgeIsPrivate[e] === 0;
    const rows: Row[] = [];
    for (const category of spec.categories) {
      const field = computeDistanceField(
        graph,
        net.snapIndex,
        search,
        net.facilities,
        { categories: [category] },
        Infinity,
        publicEdge,
      );
      const seeds = field.result.seeds;
      if (seeds.length === 0) {
        log(`${spec.label}: no ${category} facilities on the network, skipped`);
        continue;
      }
      log(`${spec.label}: ${category}, ${field.facilities.length} facilities, ${seeds.length} seeds`);
      collectGarbage();
      // warm-up until the optimising compiler is done with the search loop (it compiles on a
      // helper thread, which would count as CPU time and leave early runs unoptimised)
      for (
        let i = 0, start = performance.now();
        i < WARMUP_MAX_RUNS && (i < WARMUP_MIN_RUNS || performance.now() - start < WARMUP_MS);
        i++
      ) {
        search.run(seeds);
      }
      const ourTimes: number[] = [];
      const ourCpu: number[] = [];
      for (let i = 0; i < OUR_RUNS; i++) {
        const cpu = process.cpuUsage();
        t = performance.now();
        search.run(seeds);
        ourTimes.push(performance.now() - t);
        const used = process.cpuUsage(cpu);
        ourCpu.push((used.user + used.system) / 1000);
      }
      const ours = search.run(seeds).dist.slice();
      sampleRss();

      await client.query('TRUNCATE bench_super_edges');
      await client.query(SUPER_EDGES_SQL, [
        superId,
        edgeIdBase,
        seeds.map((s: Seed) => net.nodeDbId[s.node]),
        seeds.map((s: Seed) => s.initialDistM),
      ]);
      await client.query('ANALYZE bench_super_edges');
      await client.query('SELECT * FROM pg_temp.bench_driving_distance($1, $2)', [superId, PGR_UNBOUNDED_M]); // warm-up
      const sqlTimes: number[] = [];
      const pgrCpu: number[] = [];
      for (let i = 0; i < PGR_RUNS; i++) {
        const cpu = onCpuMs(backendPid);
        const r = await client.query<{ ms: number; reached: string }>(
          'SELECT * FROM pg_temp.bench_driving_distance($1, $2)',
          [superId, PGR_UNBOUNDED_M],
        );
        const cpuAfter = onCpuMs(backendPid);
        sqlTimes.push(r.rows[0].ms);
        if (cpu !== null && cpuAfter !== null) pgrCpu.push(cpuAfter - cpu);
      }
      const wallTimes: number[] = [];
      let pgr: { node: string; agg_cost: number }[] = [];
      for (let i = 0; i < PGR_RUNS; i++) {
        t = performance.now();
        pgr = (await client.query<{ node: string; agg_cost: number }>(DRIVING_DISTANCE_SQL, [superId, PGR_UNBOUNDED_M]))
          .rows;
        wallTimes.push(performance.now() - t);
      }
      sampleRss();
      const { maxDiffM, mismatch } = agreement(ours, net.nodeDbId, pgr, superId);
      if (maxDiffM > AGREEMENT_M || mismatch > 0) {
        throw new Error(
          `${spec.label} ${category}: pgRouting disagrees (max |Δ| ${maxDiffM} m, ${mismatch} nodes reached by one side only)`,
        );
      }
      rows.push({
        category,
        facilities: field.facilities.length,
        seeds: seeds.length,
        oursMs: median(ourTimes),
        oursCpuMs: median(ourCpu),
        pgrCpuMs: pgrCpu.length ? median(pgrCpu) : null,
        pgrSqlMs: median(sqlTimes),
        pgrWallMs: median(wallTimes),
        maxDiffM,
      });
    }

    let coverage = '—';
    let coverageNote = spec.coverage ? '' : 'no coverage: the direct load has no residential areas or origins';
    if (spec.coverage) {
      log(`${spec.label}: computeCoverage, every rule set`);
      t = performance.now();
      const r = await computeCoverage(pool);
      coverage = `${((performance.now() - t) / 1000).toFixed(1)} s (fields ${(r.timingsMs.fields / 1000).toFixed(2)} s)`;
      coverageNote = `${r.counts.fields} fields, ${r.counts.origins} origins; ${Object.entries(r.timingsMs)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
        .join(', ')}`;
      sampleRss();
    }
    return {
      spec,
      nodes: graph.nodeCount,
      edges: graph.edgeCount,
      arcs,
      buildMs: median(buildTimes),
      loadNetworkMs,
      prepared,
      rows,
      coverage,
      coverageNote,
      peakRssMb: peakRss / 2 ** 20,
    };
  } finally {
    await client.end();
    await pool.end();
  }
}

/** Largest |ours − pgRouting| over graph nodes, and how many nodes only one side reached. */
function agreement(
  ours: Float64Array,
  nodeDbId: Float64Array,
  pgr: readonly { node: string; agg_cost: number }[],
  superId: number,
) {
  const theirs = new Map<number, number>();
  for (const r of pgr) theirs.set(Number(r.node), r.agg_cost);
  theirs.delete(superId);
  let maxDiffM = 0;
  let mismatch = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = theirs.get(nodeDbId[i]);
    if (d === undefined) {
      if (ours[i] < Infinity) mismatch++;
    } else if (ours[i] < Infinity) maxDiffM = Math.max(maxDiffM, Math.abs(ours[i] - d));
    else mismatch++;
  }
  return { maxDiffM, mismatch };
}

/** The commit the engine was built from, and whether geo/ differs from it in the working tree. */
function engineVersion(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const changed = git('status', '--porcelain', '--', 'geo');
    return `commit ${git('rev-parse', '--short', 'HEAD')}${changed ? ' (geo/ has uncommitted changes)' : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

async function machineInfo(serverUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  try {
    const pgVersion = (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0].v;
    // the extension versions the server offers (the scratch databases create them from these)
    const ext = await client.query<{ name: string; default_version: string }>(
      `SELECT name, default_version FROM pg_available_extensions WHERE name IN ('postgis', 'pgrouting') ORDER BY name`,
    );
    const cpu = os.cpus();
    return [
      `engine: ${engineVersion()}`,
      `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`,
      `Node ${process.version}; PostgreSQL ${pgVersion}; ${ext.rows.map((r) => `${r.name === 'postgis' ? 'PostGIS' : 'pgRouting'} ${r.default_version}`).join('; ')}`,
    ];
  } finally {
    await client.end();
  }
}

function formatTable(results: readonly NetworkResult[]): string {
  const header = [
    'network',
    'graph nodes / edges',
    'build ms',
    'category',
    'fac / seeds',
    'ours ms',
    'pgr SQL ms',
    'pgr wall ms',
    '× SQL',
    '× wall',
    'ours CPU ms',
    'pgr CPU ms',
    '× CPU',
    'max |Δ| m',
    'computeCoverage',
    'peak RSS MB',
  ];
  const lines: string[][] = [];
  for (const r of results) {
    r.rows.forEach((row, i) => {
      const first = i === 0;
      lines.push([
        first ? r.spec.label : '',
        first ? `${r.nodes.toLocaleString('en')} / ${r.edges.toLocaleString('en')}` : '',
        first ? r.buildMs.toFixed(1) : '',
        row.category,
        `${row.facilities} / ${row.seeds}`,
        row.oursMs.toFixed(1),
        row.pgrSqlMs.toFixed(0),
        row.pgrWallMs.toFixed(0),
        `${(row.pgrSqlMs / row.oursMs).toFixed(0)}×`,
        `${(row.pgrWallMs / row.oursMs).toFixed(0)}×`,
        row.oursCpuMs.toFixed(1),
        row.pgrCpuMs === null ? 'n/a' : row.pgrCpuMs.toFixed(0),
        row.pgrCpuMs === null ? 'n/a' : `${(row.pgrCpuMs / row.oursCpuMs).toFixed(0)}×`,
        row.maxDiffM.toExponential(1),
        first ? r.coverage : '',
        first ? r.peakRssMb.toFixed(0) : '',
      ]);
    });
  }
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const fmt = (cells: string[]) => `| ${cells.map((s, c) => s.padEnd(widths[c])).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

/**
 * `npm run bench [-- --fresh] [--large]`: our multi-source search against pgRouting on the same
 * graphs, in one run, printed as one table on stdout (progress on stderr). Scratch databases
 * lc_bench_<network> are kept between runs, keyed by their input, and generated OSM XML is cached
 * under {@link CACHE_DIR}; --fresh rebuilds both. --large adds the generator's largest city
 * (5 M OSM nodes), loaded directly. Fails if pgRouting and we disagree anywhere.
 */
async function main(): Promise<void> {
  const fresh = process.argv.includes('--fresh');
  const started = performance.now();
  const timer = setInterval(sampleRss, 20);
  timer.unref();
  const serverUrl = resolveDatabaseUrl(readConfig(), (line) => log(line));
  const centralFile = path.resolve(projectRoot, '..', 'shared', 'data', 'chengdu-central-2018.osm.pbf');

  const sample = (targetNodes: number, label: string, categories: CategoryId[], direct: boolean): NetworkSpec => ({
    key: `sample${SAMPLE_SEED}n${targetNodes}`,
    label,
    categories,
    coverage: !direct,
    inputKey: () => `sample city seed ${SAMPLE_SEED} size ${targetNodes} ${direct ? 'direct' : 'importOsm'}`,
    async load(pool) {
      if (direct) {
        const t = performance.now();
        const city = generateSampleCity({ seed: SAMPLE_SEED, targetNodes });
        const genS = (performance.now() - t) / 1000;
        sampleRss();
        await loadModelDirect(
          pool,
          city,
          `generated sample city seed ${SAMPLE_SEED}, ${targetNodes} nodes (bench, direct)`,
          crypto.createHash('sha256').update(`${SAMPLE_SEED}/${targetNodes}`).digest('hex'),
        );
        return `generated in ${genS.toFixed(1)} s, loaded directly (split-ways + INSERT … unnest)`;
      }
      const file = await sampleCityXml(SAMPLE_SEED, targetNodes, fresh);
      await importOsm(pool, file, { kind: 'sample_city', isSample: true, sourceName: path.basename(file) });
      return `importOsm of ${path.basename(file)}`;
    },
  });
  const specs: NetworkSpec[] = [
    {
      key: 'central',
      label: 'central Chengdu',
      categories: ['park', 'elderly_care', 'health', 'market'],
      coverage: true,
      inputKey: () =>
        `chengdu central ${[centralFile, ...SAMPLE_REGISTERS.map((r) => r.file)].map(sha256File).join(' ')}`,
      async load(pool) {
        await importOsm(pool, centralFile);
        // as npm start does: the shipped sample registers fill OSM's gaps (elderly care, service centres)
        await importDefaultSampleRegisters(pool, ['elderly_care', 'community_service']);
        return 'importOsm + sample registers';
      },
    },
    sample(100_000, 'sample city 100k', ['park', 'elderly_care'], false),
    sample(1_000_000, 'sample city 1M', ['park', 'elderly_care'], true),
  ];
  // about 5 graph nodes per 37 OSM nodes: 7.5M OSM nodes give about 1 million graph nodes
  if (process.argv.includes('--large'))
    specs.push(sample(7_500_000, 'sample city 7.5M (~1M graph nodes)', ['park', 'elderly_care'], true));

  const loadStart = loadAverage();
  const info = await machineInfo(serverUrl);
  const results: NetworkResult[] = [];
  for (const spec of specs) results.push(await benchNetwork(serverUrl, spec, fresh));
  clearInterval(timer);

  const out = [
    ...info,
    '',
    formatTable(results),
    '',
    `ours: search.run(seeds) of geo/dijkstra.ts over the in-memory CSR graph, unbounded (every reachable node), median of ${OUR_RUNS} after a full GC and a warm-up (≥ ${WARMUP_MIN_RUNS} runs and ${WARMUP_MS} ms);`,
    `  seeds = the super-source edges of computeDistanceField (access points snapped mid-edge, access leg + partial edge); snapping not timed.`,
    `pgRouting: pgr_drivingDistance(walk_edges ∪ super-source edges to the same seeds, super-source, ${PGR_UNBOUNDED_M.toExponential(0)} m, directed), median of ${PGR_RUNS} after a warm-up;`,
    `  "SQL" = clock_timestamp() inside the server around count(*) of its rows (no transfer; includes pgRouting reading edges and building its graph, as every call does);`,
    `  "wall" = round trip from Node with all rows fetched. × = pgRouting time / ours. max |Δ| = largest difference at any node (both sides reach the same nodes).`,
    `CPU = time on a CPU of this process (process.cpuUsage) and of the database backend running pgRouting (/proc/<pid>/schedstat), medians of the same runs:`,
    `  it leaves out time spent waiting for the CPU, so it is the fairer figure when other processes load the machine.`,
    `build ms = buildGraph() from the typed arrays, median of ${OUR_RUNS}. computeCoverage = all ${'rule sets'}: load from PostGIS, every distance field, snapping origins, evaluation, persisting.`,
    `peak RSS = largest process.memoryUsage().rss seen up to the end of that network's rows (cumulative over the run).`,
    ...results.map(
      (r) =>
        `${r.spec.label}: ${r.arcs.toLocaleString('en')} arcs; database ${r.prepared}; loadNetwork ${(r.loadNetworkMs / 1000).toFixed(1)} s; computeCoverage: ${r.coverageNote}.`,
    ),
    `load average (1/5/15 min) at start ${loadStart}, at end ${loadAverage()}: other processes on this machine slow both sides.`,
    `total ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ];
  console.log(out.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

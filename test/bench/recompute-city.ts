import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { readConfig } from '../../server/config.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { resolveDatabaseUrl } from '../../server/db/local-cluster.ts';
import { migrate } from '../../server/db/migrate.ts';
import { importFacilities } from '../../server/import/import-facilities.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import { seededRandom } from './autocannon.ts';
import { withDatabase } from '../helpers/test-database.ts';

// One-category recompute on a generated city (issue #15 item 5), A/B-able between checkouts:
//
//   --phase prepare --file city.osm.pbf --db NAME --engine-dir DIR
//       imports the city into database NAME and computes every rule set (the run a recompute reuses)
//   --phase prime --db NAME --as COPY --engine-dir DIR
//       copies NAME to COPY, migrates it, and runs an incremental compute with nothing changed:
//       leaves in DIR the engine files, and in COPY what this checkout's code keeps from a run (as
//       a server or an earlier compute would have); measure on COPY
//   --phase measure --db NAME --engine-dir DIR [--homes 40] [--seed 15]
//       on a copy of NAME, imports a register of seeded elderly-care homes inside the city and
//       times the incremental recompute the import CLI runs after it (computeCoverage incremental,
//       reading DIR); prints one JSON line with every phase
//
// Copies are made with CREATE DATABASE … TEMPLATE, so every measurement starts from the same
// database; the engine directory should be restored between measurements (the recompute leaves
// files for the state after the register). Reported, not asserted.

const { values: args } = parseArgs({
  options: {
    phase: { type: 'string' },
    file: { type: 'string' },
    db: { type: 'string' },
    'engine-dir': { type: 'string' },
    homes: { type: 'string', default: '40' },
    as: { type: 'string' },
    seed: { type: 'string', default: '15' },
  },
});

const serverUrl = resolveDatabaseUrl(readConfig());
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const mib = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** A throwaway copy of `template`, dropped after `f`. */
async function onCopy<T>(template: string, f: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const copy = `${template}_copy_${process.pid}`;
  await admin((c) => c.query(`CREATE DATABASE "${copy}" TEMPLATE "${template}"`));
  const pool = new pg.Pool({ connectionString: withDatabase(serverUrl, copy), max: 2 });
  try {
    return await f(pool);
  } finally {
    await pool.end();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${copy}" WITH (FORCE)`));
  }
}

const db = args.db!;
const engineDir = path.resolve(args['engine-dir']!);
if (args.phase === 'prepare') {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${db}"`);
  });
  const url = withDatabase(serverUrl, db);
  await migrate(url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const imp = await importOsm(pool, path.resolve(args.file!), { kind: 'sample_city' });
    const t = performance.now();
    const r = await computeCoverage(pool, { engineDir });
    console.log(
      JSON.stringify({
        import_s: imp.seconds,
        compute_s: (performance.now() - t) / 1000,
        timings_ms: r.timingsMs,
        counts: r.counts,
        loadavg: loadavg(),
      }),
    );
  } finally {
    await pool.end();
  }
} else if (args.phase === 'prime') {
  // a copy kept as `--as`, migrated by this checkout, with one run of this checkout's code
  const target = args.as!;
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${target}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${target}" TEMPLATE "${db}"`);
  });
  const url = withDatabase(serverUrl, target);
  await migrate(url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const t = performance.now();
    const r = await computeCoverage(pool, { incremental: true, engineDir });
    console.log(
      JSON.stringify({ prime_s: (performance.now() - t) / 1000, timings_ms: r.timingsMs, loadavg: loadavg() }),
    );
  } finally {
    await pool.end();
  }
} else if (args.phase === 'measure') {
  await onCopy(db, async (pool) => {
    const box = (
      await pool.query<{ x0: number; y0: number; x1: number; y1: number }>(
        `SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1
         FROM (SELECT ST_Extent(geom)::geometry AS e FROM walk_nodes) s`,
      )
    ).rows[0];
    const random = seededRandom(Number(args.seed));
    const rows = ['name,lng,lat,capacity,address'];
    for (let i = 0; i < Number(args.homes); i++) {
      const lng = box.x0 + (0.1 + 0.8 * random()) * (box.x1 - box.x0);
      const lat = box.y0 + (0.1 + 0.8 * random()) * (box.y1 - box.y0);
      rows.push(`"bench home ${i} (sample)",${lng.toFixed(6)},${lat.toFixed(6)},30,"invented"`);
    }
    const file = path.join(os.tmpdir(), `recompute-city-${process.pid}.csv`);
    fs.writeFileSync(file, rows.join('\n') + '\n');
    const load0 = loadavg();
    const ti = performance.now();
    await importFacilities(pool, file, { category: 'elderly_care', crs: 'wgs84', isSample: true });
    const importS = (performance.now() - ti) / 1000;
    fs.rmSync(file);
    const t = performance.now();
    const r = await computeCoverage(pool, { incremental: true, engineDir });
    console.log(
      JSON.stringify({
        register_import_s: importS,
        recompute_one_category_s: (performance.now() - t) / 1000,
        timings_ms: r.timingsMs,
        computed_rules: r.counts.computed_rules,
        reused_rules: r.counts.reused_rules,
        origins: r.counts.origins,
        peak_rss_mb: mib(),
        loadavg_before: load0,
        loadavg_after: loadavg(),
        sources: r.sources,
        commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
      }),
    );
  });
} else throw new Error('--phase prepare|prime|measure');

import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { generateSampleCity } from '../../geo/sample-city.ts';
import { projectRoot, readConfig } from '../../server/config.ts';
import { resolveDatabaseUrl } from '../../server/db/local-cluster.ts';
import { migrate } from '../../server/db/migrate.ts';
import { createPool } from '../../server/db/pool.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import { writeOsmXml } from '../../server/import/write-osm-xml.ts';
import { withDatabase } from '../helpers/test-database.ts';

// npm run bench:compute-city -- --osm-nodes 3000000 [--runs 2]
//
// Full compute of all rule sets over a generated city, imported once through the real importer
// into its own database (lc_bench_city_<nodes>, reused by later runs), with the timing of every
// phase as computeCoverage reports it, peak RSS and the load average. Reported, not asserted.

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const osmNodes = arg('osm-nodes', 3_000_000);
const runs = arg('runs', 1);
const config = readConfig();
const serverUrl = resolveDatabaseUrl(config);
const dbName = `lc_bench_city_${osmNodes}`;
const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
await admin.connect();
const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount;
if (!exists) await admin.query(`CREATE DATABASE "${dbName}"`);
await admin.end();
const url = withDatabase(serverUrl, dbName);
await migrate(url);
const pool = createPool(url, { max: 2 });
try {
  const hasData = (await pool.query('SELECT 1 FROM datasets LIMIT 1')).rowCount;
  if (!hasData) {
    const file = path.join(projectRoot, '.data', `sample-city-${osmNodes}.osm`);
    if (!fs.existsSync(file)) {
      const t = performance.now();
      await writeOsmXml(generateSampleCity({ seed: 11, targetNodes: osmNodes }), file);
      console.log(`generated ${file} in ${Math.round(performance.now() - t)} ms`);
    }
    const t = performance.now();
    await importOsm(pool, file);
    console.log(`imported in ${Math.round(performance.now() - t)} ms`);
  }
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const res = await computeCoverage(pool);
    const totalMs = Math.round(performance.now() - t);
    const graph = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM walk_nodes')).rows[0].n;
    const size = (
      await pool.query<{ mb: number }>('SELECT (pg_database_size(current_database()) / 1048576)::int AS mb')
    ).rows[0].mb;
    console.log(
      JSON.stringify({
        osm_nodes: osmNodes,
        graph_nodes: graph,
        origins: res.counts.origins,
        compute_s: totalMs / 1000,
        timings_ms: res.timingsMs,
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        db_size_mb: size,
        loadavg: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      }),
    );
  }
} finally {
  await pool.end();
}

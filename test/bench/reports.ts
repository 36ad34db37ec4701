/**
 * The figures the tests used to print (or bound) while they ran, measured here instead, each
 * against a peer measured in the same run so the ratio means something on any machine:
 *   - an incremental coverage run with nothing changed, against a full run;
 *   - 100 MB of junk refused by the four importers, against reading the file once;
 *   - a backup (pg_dump) and its restore (pg_restore), against each other.
 * The tests keep the functional assertions (same results, refused and unchanged, identical tables).
 *
 * Run it on a scratch database with a dataset imported and computed: it adds coverage runs, and
 * restores the backup into a database it creates and drops.
 *
 *   DATABASE_URL=… npm run bench:reports [-- --runs 3]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { backupDatabase, restoreDatabase } from '../../server/cli/backup.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { createPool } from '../../server/db/pool.ts';
import { importCommunities } from '../../server/import/import-communities.ts';
import { importFacilities } from '../../server/import/import-facilities.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import { writeJunk } from '../helpers/junk-file.ts';
import { withDatabase } from '../helpers/database-url.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL to a scratch database with a dataset imported and computed');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) =>
  `median ${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
async function refused(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch {
    return;
  }
  throw new Error('the junk file was imported');
}

const pool = createPool(url, { max: 3 });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-bench-reports-'));
const out: string[] = [
  `bench:reports, ${runs} runs each, interleaved; load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')}`,
];
try {
  // Incremental (nothing changed: every rule's results copied) against full.
  const incremental: number[] = [],
    full: number[] = [];
  for (let i = 0; i < runs; i++) {
    incremental.push(await timed(() => computeCoverage(pool, { incremental: true })));
    full.push(await timed(() => computeCoverage(pool)));
  }
  out.push(
    `coverage run, nothing changed: incremental ${fmt(incremental)}, full ${fmt(full)}; ratio ${(median(incremental) / median(full)).toFixed(2)}`,
  );

  // 100 MB of junk under each importer's extension, against reading it once.
  const junk = path.join(tmp, 'junk-100mb.bin');
  await writeJunk(junk, 100 * 1024 * 1024);
  const as = (ext: string) => {
    const p = `${junk}.${ext}`;
    if (!fs.existsSync(p)) fs.linkSync(junk, p);
    return p;
  };
  const refusal: number[] = [],
    read: number[] = [];
  for (let i = 0; i < runs; i++) {
    refusal.push(
      await timed(async () => {
        await refused(() => importOsm(pool, as('osm.pbf')));
        await refused(() => importOsm(pool, as('osm')));
        await refused(() => importFacilities(pool, as('csv'), { category: 'elderly_care', crs: 'wgs84' }));
        await refused(() => importCommunities(pool, as('geojson')));
      }),
    );
    read.push(await timed(() => fs.readFileSync(junk).length));
  }
  out.push(
    `100 MB junk refused by 4 importers: ${fmt(refusal)}; reading it once ${fmt(read)}; ratio ${(median(refusal) / median(read)).toFixed(1)}`,
  );

  // Backup and restore into a fresh database.
  const target = `lc_bench_restore_${process.pid}`;
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  const dumps: number[] = [],
    restores: number[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < runs; i++) {
      await admin.query(`DROP DATABASE IF EXISTS ${target}`);
      await admin.query(`CREATE DATABASE ${target}`);
      const file = path.join(tmp, 'backup.dump');
      const b = backupDatabase(url, file);
      bytes = b.bytes;
      dumps.push(b.seconds * 1000);
      restores.push(restoreDatabase(withDatabase(url, target), file).seconds * 1000);
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
    await admin.end();
  }
  out.push(
    `backup ${(bytes / 1e6).toFixed(1)} MB: dump ${fmt(dumps)}, restore ${fmt(restores)}; restore/dump ${(median(restores) / median(dumps)).toFixed(1)}`,
  );
} finally {
  await pool.end();
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(out.join('\n'));

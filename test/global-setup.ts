import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { projectRoot, readConfig } from '../server/config.ts';
import { startLocalCluster } from '../server/db/local-cluster.ts';
import { migrate } from '../server/db/migrate.ts';
import { importOsm } from '../server/import/import-osm.ts';
import { prepareDataset } from '../server/import/default-data.ts';
import { withDatabase } from './helpers/test-database.ts';
import { createPool } from '../server/db/pool.ts';
import { ensureChromium } from './helpers/ensure-chromium.ts';
import { buildWebIfStale } from '../server/web-build.ts';

export const SHARED_DATA = path.resolve(projectRoot, '..', 'shared', 'data');

/**
 * Prepare template databases once per test run: migrated and empty; with the Chenghua 双桥子 OSM
 * cut; with central Chengdu. Test files copy them (CREATE DATABASE … TEMPLATE), so no test shares
 * mutable state with another.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = readConfig();
  // The browser suites are part of the README's test command: a machine without Chromium gets it.
  if (ensureChromium((line) => console.error(line))) console.error('chromium installed for the browser tests');
  // Built once here, before the test files run in parallel: each browser suite (and `npm start`
  // in the signals test) would otherwise find web/dist stale and run Vite into the same folder.
  await buildWebIfStale((line) => console.error(line));
  const serverUrl = process.env.TEST_DATABASE_URL ?? config.databaseUrl ?? startLocalCluster(config, () => {});
  const adminUrl = withDatabase(serverUrl, 'postgres');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  // Names carry the test run's pid, so concurrent runs never touch each other's databases;
  // databases left behind by runs that are gone are dropped.
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname ~ '^lc_(t|tpl)_[0-9]+_'`,
  );
  for (const r of rows) {
    const pid = Number(r.datname.split('_')[2]);
    if (!isAlive(pid)) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  }
  const templates: Record<string, string> = {};
  const make = async (name: string, load: (pool: pg.Pool) => Promise<void>) => {
    const db = `lc_tpl_${process.pid}_${name}`;
    await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${db}"`);
    const url = withDatabase(serverUrl, db);
    await migrate(url);
    const pool = createPool(url, { max: 2 });
    try {
      await load(pool);
    } finally {
      await pool.end();
    }
    templates[name] = db;
  };
  await make('empty', async () => {});
  await make('shuangqiaozi', async (pool) => {
    await importOsm(pool, path.join(SHARED_DATA, 'chenghua-shuangqiaozi-2018.osm'));
    await prepareDataset(pool);
  });
  await make('central', async (pool) => {
    await importOsm(pool, path.join(SHARED_DATA, 'chengdu-central-2018.osm.pbf'));
    await prepareDataset(pool);
  });
  await admin.end();
  project.provide('adminUrl', adminUrl);
  project.provide('templates', templates);
  project.provide('runId', String(process.pid));
  return async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    const left = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
      `lc\\_%\\_${process.pid}\\_%`,
    ]);
    for (const r of left.rows) await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    await c.end();
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

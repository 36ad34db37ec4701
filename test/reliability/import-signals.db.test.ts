import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/config.ts';
import { createPool } from '../../server/db/pool.ts';
import { SHARED_DATA } from '../global-setup.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

// `npm run import` is npm → sh → node: a signal to npm must end the importer, and its transaction
// must roll back (before, the importer went on alone and committed).

const CENTRAL_PBF = path.join(SHARED_DATA, 'chengdu-central-2018.osm.pbf');
/** Bounds on waiting, not timings under test: generous for a loaded machine. */
const DEADLINE_MS = 90_000;

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('empty');
  pool = createPool(db.url, { max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Poll until `f` returns a value, or fail naming `what`. */
async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + DEADLINE_MS;
  while (Date.now() < end) {
    const v = await f();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('signals to the npm run import wrapper reach the importer', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to npm while the OSM import's transaction is open: everything exits and nothing is kept`, async () => {
      const npm = spawn('npm', ['run', '--silent', 'import', '--', 'osm', CENTRAL_PBF, '--no-compute'], {
        cwd: projectRoot,
        env: { ...process.env, DATABASE_URL: db.url, MIGRATION_DATABASE_URL: '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      npm.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => npm.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
      try {
        // The importer's session, once it has written into its open transaction.
        const importer = await until('the importer to open its transaction', async () => {
          const { rows } = await pool.query<{ application_name: string }>(
            `SELECT application_name FROM pg_stat_activity
              WHERE datname = current_database() AND application_name ~ '^life-circle-import-[0-9]+$' AND backend_xid IS NOT NULL`,
          );
          return rows[0]?.application_name;
        });
        const importerPid = Number(importer.split('-').pop());
        expect(isAlive(importerPid)).toBe(true);
        npm.kill(signal);
        await until('npm to exit', async () => ((await Promise.race([exited, sleep(100).then(() => 'running')])) === 'running' ? undefined : true));
        await until(`the importer (pid ${importerPid}) to exit`, async () => (isAlive(importerPid) ? undefined : true));
        await until('the importer\'s database sessions to end', async () => {
          const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [importer]);
          return rows.length === 0 ? true : undefined;
        });
        const { rows } = await pool.query<{ datasets: number; edges: number; nodes: number }>(
          `SELECT (SELECT count(*)::int FROM datasets) AS datasets, (SELECT count(*)::int FROM walk_edges) AS edges, (SELECT count(*)::int FROM walk_nodes) AS nodes`,
        );
        expect(rows[0], stderr).toEqual({ datasets: 0, edges: 0, nodes: 0 });
        expect(stderr).toContain(`${signal}: stopping the import`);
      } finally {
        if (npm.exitCode === null) npm.kill('SIGKILL');
      }
    });
  }
});

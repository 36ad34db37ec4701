import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../server/config.ts';
import { createPool } from '../../server/db/pool.ts';
import { SHARED_DATA } from '../global-setup.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

// `npm run import` and `npm start` are npm → sh → node: a signal to npm must reach node. The
// importer's transaction must roll back (before, it went on alone and committed); the server must
// close and exit (before, tsx's wrapper could be left behind).

const CENTRAL_PBF = path.join(SHARED_DATA, 'chengdu-central-2018.osm.pbf');
/** Bounds on waiting, not timings under test: generous for a loaded machine. */
const DEADLINE_MS = 90_000;

let db: TestDatabase;
let pool: pg.Pool;
let served: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('empty');
  pool = createPool(db.url, { max: 2 });
  served = await createTestDatabase('shuangqiaozi');
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await served?.drop();
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
      const exited = new Promise<number | null>((resolve) =>
        npm.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))),
      );
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
        await until('npm to exit', async () =>
          (await Promise.race([exited, sleep(100).then(() => 'running')])) === 'running' ? undefined : true,
        );
        await until(`the importer (pid ${importerPid}) to exit`, async () => (isAlive(importerPid) ? undefined : true));
        await until("the importer's database sessions to end", async () => {
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

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('signals to the npm start wrapper reach the server', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to npm while serving: the server closes, its process exits, the port is free`, async () => {
      const port = await freePort();
      const npm = spawn('npm', ['start', '--silent'], {
        cwd: projectRoot,
        env: {
          ...process.env,
          DATABASE_URL: served.url,
          MIGRATION_DATABASE_URL: '',
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      npm.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<true>((resolve) => npm.on('exit', () => resolve(true)));
      try {
        const serverPid = await until('the server to listen', async () => {
          const m = stderr.match(/is serving http:\/\/127\.0\.0\.1:\d+\/ \(pid (\d+)/);
          return m ? Number(m[1]) : undefined;
        });
        const health = await fetch(`http://127.0.0.1:${port}/api/health`);
        expect(health.status, stderr).toBe(200);
        npm.kill(signal);
        await until('npm to exit', async () =>
          (await Promise.race([exited, sleep(100).then(() => undefined)])) ? true : undefined,
        );
        await until(`the server (pid ${serverPid}) to exit`, async () => (isAlive(serverPid) ? undefined : true));
        const refused = await fetch(`http://127.0.0.1:${port}/api/health`).then(
          () => false,
          () => true,
        );
        expect(refused).toBe(true);
        expect(stderr).toContain(`${signal}: closing the server`);
      } finally {
        if (npm.exitCode === null) npm.kill('SIGKILL');
      }
    });
  }
});

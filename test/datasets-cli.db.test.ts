import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { projectRoot } from '../server/config.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { createPool } from '../server/db/pool.ts';
import { importOsm } from '../server/import/import-osm.ts';
import { loadNetworkCached } from '../server/network/network-file.ts';
import { tileOf } from './bench/autocannon.ts';
import { SHARED_DATA } from './global-setup.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// Issue 15 item 6: datasets managed from the command line. `npm run datasets` runs against the real
// cluster (a copy of the central Chengdu template, with the 双桥子 cut imported beside it under its
// own name); its effects are read back from the tables, the engine files and the API.

const CENTRAL = 'chengdu-central-2018';
const CUT = 'shuangqiaozi-2018';
// 双桥子, inside both datasets (the cut lies within central Chengdu)
const POINT = { lng: 104.1, lat: 30.668 };

let db: TestDatabase;
let pool: pg.Pool;
let app: FastifyInstance;
let dataDir: string;

/** `npm run datasets -- …` as a child process on the test database and a data directory of its own. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/datasets.ts', ...args], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: db.url, MIGRATION_DATABASE_URL: db.url, LIFE_CIRCLE_DATA_DIR: dataDir },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const urlsOf = (ds: string) => {
  const [, x, y] = tileOf(POINT.lng, POINT.lat, 15);
  return [
    `/api/proximity?lng=${POINT.lng}&lat=${POINT.lat}&dataset=${ds}`,
    `/api/coverage?rule_set=chengdu-park-city&level=community&dataset=${ds}`,
    `/api/health?dataset=${ds}`,
    `/tiles/network/15/${x}/${y}.pbf?dataset=${ds}`,
    `/tiles/areas/15/${x}/${y}.pbf?rule_set=chengdu-park-city&dataset=${ds}`,
  ];
};
const answer = async (url: string) => {
  const r = await app.inject(url);
  return { status: r.statusCode, body: url.startsWith('/tiles/') ? r.rawPayload.toString('base64') : r.body };
};
/** /api/health carries the engine's load time and the clock: left out of "the same answer". */
const comparable = (url: string, a: { status: number; body: string }) =>
  url.startsWith('/api/health') ? { status: a.status, dataset: JSON.parse(a.body).dataset } : a;

const rowsOf = async (sql: string, params: unknown[]) => Number((await pool.query(sql, params)).rows[0].n);

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-datasets-cli-'));
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 3 });
  await importOsm(pool, path.join(SHARED_DATA, 'chenghua-shuangqiaozi-2018.osm'), { name: CUT });
  await computeCoverage(pool, { dataset: CUT });
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
}, 600_000);
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run datasets', () => {
  it('list --json gives what GET /api/datasets gives: names, default, dataset id, run, provenance', async () => {
    const r = cli('list', '--json');
    expect(r.status, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout) as { name: string; is_default: boolean; dataset_id: number; run_id: number }[];
    const api = (await app.inject('/api/datasets')).json().datasets as {
      name: string;
      is_default: boolean;
      dataset_id: number;
      run_id: number;
      provenance: { source: string; sha256: string };
    }[];
    expect(listed.map((d) => d.name).sort()).toEqual([CENTRAL, CUT].sort());
    for (const d of api) {
      const l = listed.find((x) => x.name === d.name)!;
      expect(l).toMatchObject({
        is_default: d.is_default,
        dataset_id: d.dataset_id,
        run_id: d.run_id,
        source: d.provenance.source,
        sha256: d.provenance.sha256,
      });
    }
    // and the table a person reads names both
    const table = cli('list');
    expect(table.status, table.stderr).toBe(0);
    for (const name of [CENTRAL, CUT]) expect(table.stdout).toContain(name);
  });

  it('default <name> marks it default for every route without dataset=; an unknown name exits non-zero naming it', async () => {
    const before = (await app.inject('/api/datasets'))
      .json()
      .datasets.find((d: { is_default: boolean }) => d.is_default).name as string;
    const other = before === CENTRAL ? CUT : CENTRAL;
    const r = cli('default', other);
    expect(r.status, r.stderr).toBe(0);
    const { rows } = await pool.query<{ name: string }>(`SELECT default_dataset_name() AS name`);
    expect(rows[0].name).toBe(other);
    const otherId = (await pool.query(`SELECT dataset_id FROM dataset_run($1)`, [other])).rows[0].dataset_id;
    // answers without dataset= come from it (the server resolves names at most once a second)
    await expect
      .poll(async () => (await app.inject('/api/coverage?rule_set=chengdu-park-city')).json().dataset_id, {
        timeout: 10_000,
      })
      .toBe(otherId);
    const listedDefault = (await app.inject('/api/datasets'))
      .json()
      .datasets.filter((d: { is_default: boolean }) => d.is_default);
    expect(listedDefault.map((d: { name: string }) => d.name)).toEqual([other]);
    // health and the catalogue describe the default too, not the newest row of any name
    expect((await app.inject('/api/health')).json().dataset.name).toBe(other);
    expect((await app.inject('/api/categories')).json()).toEqual(
      (await app.inject(`/api/categories?dataset=${other}`)).json(),
    );

    const unknown = cli('default', 'lisbon-2030');
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain('"lisbon-2030"');
    const bad = cli('default', 'Not A Name');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('not a dataset name');
    expect((await pool.query(`SELECT default_dataset_name() AS name`)).rows[0].name).toBe(other);
  });

  it('delete refuses the default without --force and a name that does not exist, changing nothing', async () => {
    expect(cli('default', CUT).status).toBe(0);
    const count = () => rowsOf(`SELECT count(*) AS n FROM datasets WHERE kind = 'osm'`, []);
    const n = await count();
    const r = cli('delete', CUT);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('default');
    expect(r.stderr).toContain('--force');
    const missing = cli('delete', 'lisbon-2030');
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('no dataset named "lisbon-2030"');
    expect(await count()).toBe(n);
    expect(cli('default', CENTRAL).status).toBe(0);
  });

  it('delete <name> removes its rows, runs, results and engine file; its routes answer 404, the other dataset the same as before', async () => {
    const ids = async (name: string) =>
      (await pool.query<{ id: number }>(`SELECT id FROM datasets WHERE name = $1 ORDER BY id`, [name])).rows.map(
        (r) => r.id,
      );
    const [cutIds, centralIds] = [await ids(CUT), await ids(CENTRAL)];
    expect(cutIds.length).toBeGreaterThan(0);
    // engine files of both, where the CLI's data directory keeps them
    const engineDir = path.join(dataDir, 'engine');
    const cutFile = (await loadNetworkCached(pool, cutIds.at(-1)!, engineDir)).file;
    const centralFile = (await loadNetworkCached(pool, centralIds.at(-1)!, engineDir)).file;
    expect(fs.existsSync(cutFile) && fs.existsSync(centralFile)).toBe(true);
    expect(cutFile).not.toBe(centralFile);

    const centralBefore = new Map<string, { status: number; body: string }>();
    for (const url of urlsOf(CENTRAL)) centralBefore.set(url, await answer(url));
    for (const url of urlsOf(CUT)) expect((await app.inject(url)).statusCode, url).toBeLessThan(300);
    const perTable = async (table: string, column = 'dataset_id') =>
      rowsOf(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ANY($1)`, [cutIds]);
    const cutRuns = (
      await pool.query<{ id: number }>(`SELECT id FROM coverage_runs WHERE dataset_id = ANY($1)`, [cutIds])
    ).rows.map((r) => r.id);
    expect(cutRuns.length).toBeGreaterThan(0);
    expect(await perTable('walk_edges')).toBeGreaterThan(0);
    expect(
      await rowsOf(`SELECT count(*) AS n FROM coverage_area_results WHERE run_id = ANY($1)`, [cutRuns]),
    ).toBeGreaterThan(0);

    const r = cli('delete', CUT);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ name: CUT, datasetIds: cutIds, runIds: cutRuns, wasDefault: false });
    expect(report.engineFiles).toEqual([cutFile]);

    expect(await ids(CUT)).toEqual([]);
    for (const table of ['walk_edges', 'walk_nodes', 'origins', 'residential_areas', 'coverage_runs'])
      expect(await perTable(table), table).toBe(0);
    for (const table of ['coverage_area_results', 'generalised_network'])
      expect(await rowsOf(`SELECT count(*) AS n FROM ${table} WHERE run_id = ANY($1)`, [cutRuns]), table).toBe(0);
    expect(fs.existsSync(cutFile)).toBe(false);
    expect(fs.existsSync(centralFile)).toBe(true);
    expect(await ids(CENTRAL)).toEqual(centralIds);

    // the running server: the name is unknown once it resolves names again (at most a second)
    await expect.poll(async () => (await app.inject(urlsOf(CUT)[0])).statusCode, { timeout: 10_000 }).toBe(404);
    for (const url of urlsOf(CUT)) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('unknown_dataset');
      expect(res.json().error.message).toContain(`"${CUT}"`);
    }
    for (const url of urlsOf(CENTRAL)) {
      const now = await answer(url);
      expect(now.status, url).toBeLessThan(300);
      expect(comparable(url, now), url).toEqual(comparable(url, centralBefore.get(url)!));
    }
    const listed = JSON.parse(cli('list', '--json').stdout) as { name: string; is_default: boolean }[];
    expect(listed.map((d) => [d.name, d.is_default])).toEqual([[CENTRAL, true]]);
  });

  it('delete --force removes even the default; the list is then empty', async () => {
    const r = cli('delete', CENTRAL, '--force');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: CENTRAL, wasDefault: true, defaultAfter: null });
    expect(JSON.parse(cli('list', '--json').stdout)).toEqual([]);
    expect(await rowsOf(`SELECT count(*) AS n FROM datasets WHERE kind IN ('osm', 'sample_city')`, [])).toBe(0);
  });
});

import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { readConfig } from '../../server/config.ts';
import { createPool } from '../../server/db/pool.ts';
import { loadDefaultData } from '../../server/import/default-data.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import { SHARED_DATA } from '../global-setup.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

// An importer stopped after its commit, and the switch from one coverage run to the next: the
// service keeps answering from the previous complete run, health says when there are no results,
// and the start-up step computes what is missing.

const SHUANGQIAOZI = path.join(SHARED_DATA, 'chenghua-shuangqiaozi-2018.osm');
const COVERAGE = '/api/coverage?rule_set=chengdu-park-city&level=residential_area';

let db: TestDatabase | undefined;
let app: FastifyInstance | undefined;
let pool: pg.Pool | undefined;

async function open(template: 'empty' | 'shuangqiaozi') {
  db = await createTestDatabase(template);
  pool = createPool(db.url, { max: 4 });
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
  return { app, pool };
}

afterEach(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
  app = pool = db = undefined;
});

describe('an import stopped after its commit', () => {
  it('with a previous dataset: its run keeps being served, health is degraded, and start computes the new one', async () => {
    const { app, pool } = await open('shuangqiaozi');
    const before = await app.inject(COVERAGE);
    expect(before.statusCode).toBe(200);
    const { run_id: oldRun, dataset_id: oldDataset, areas } = before.json();
    expect(areas.length).toBeGreaterThan(0);
    expect((await app.inject('/api/health')).json()).toMatchObject({
      status: 'ok',
      coverage_run_id: oldRun,
      problems: [],
    });

    // the importer commits, then dies before computing (nothing else runs after importOsm here)
    const imported = await importOsm(pool, SHUANGQIAOZI);
    const during = await app.inject(COVERAGE);
    expect(during.statusCode, during.body.slice(0, 200)).toBe(200); // was 503 no_results
    expect(during.json()).toMatchObject({ run_id: oldRun, dataset_id: oldDataset });
    expect(during.json().areas).toHaveLength(areas.length);
    const health = (await app.inject('/api/health')).json();
    expect(health).toMatchObject({ status: 'degraded', coverage_run_id: oldRun });
    expect(health.problems.join(' ')).toMatch(new RegExp(`dataset ${imported.datasetId} is being computed`));

    // npm start's data step computes the dataset that has no complete run, while readers keep asking
    const answers: { status: number; areas: number }[] = [];
    let computing = true;
    const poll = (async () => {
      while (computing) {
        const r = await app.inject(COVERAGE);
        answers.push({ status: r.statusCode, areas: r.statusCode === 200 ? r.json().areas.length : -1 });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await loadDefaultData(pool, readConfig({ ...process.env, DATABASE_URL: db!.url }));
    computing = false;
    await poll;
    expect(answers.length).toBeGreaterThan(0);
    // never 503, never 200 with 0 areas across the switch
    expect(answers.filter((a) => a.status !== 200 || a.areas === 0)).toEqual([]);

    const after = (await app.inject(COVERAGE)).json();
    expect(after.dataset_id).toBe(imported.datasetId);
    expect(after.run_id).not.toBe(oldRun);
    expect(after.areas).toHaveLength(areas.length);
    expect((await app.inject('/api/health')).json()).toMatchObject({
      status: 'ok',
      coverage_run_id: after.run_id,
      problems: [],
    });
  });

  it('with no previous dataset: 503 no_results and health degraded (was "ok"), until start computes it', async () => {
    const { app, pool } = await open('empty');
    await importOsm(pool, SHUANGQIAOZI);
    const r = await app.inject(COVERAGE);
    expect(r.statusCode).toBe(503);
    expect(r.json().error.code).toBe('no_results');
    const health = (await app.inject('/api/health')).json();
    expect(health).toMatchObject({ status: 'degraded', database: 'reachable', coverage_run_id: null });
    expect(health.problems.join(' ')).toMatch(/no results/);

    await loadDefaultData(pool, readConfig({ ...process.env, DATABASE_URL: db!.url }));
    expect((await app.inject(COVERAGE)).statusCode).toBe(200);
    expect((await app.inject('/api/health')).json()).toMatchObject({ status: 'ok', problems: [] });
  });
});

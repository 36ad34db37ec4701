import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import type { Config } from '../server/config.ts';
import { createPool } from '../server/db/pool.ts';
import { importDistricts } from '../server/import/import-communities.ts';
import { importSampleCity, prepareDataset } from '../server/import/default-data.ts';
import { importOsm } from '../server/import/import-osm.ts';
import { SAMPLE_REGISTERS_BBOX } from '../server/import/sample-registers.ts';
import { SHARED_DATA } from './global-setup.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const DISTRICTS_FILE = path.join(SHARED_DATA, 'chengdu-districts-chenghua-wuhou.geojson');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-leak-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** What of Chengdu is in the database: sample facilities, register datasets, district boundaries. */
const chengduLeft = async (pool: pg.Pool) =>
  (
    await pool.query<{ sample_facilities: number; registers: number; districts: number }>(
      `SELECT (SELECT count(*)::int FROM facilities f JOIN datasets d ON d.id = f.dataset_id WHERE d.kind = 'facility_register') AS registers,
            (SELECT count(*)::int FROM facilities f JOIN datasets d ON d.id = f.dataset_id WHERE d.kind = 'facility_register' AND f.is_sample) AS sample_facilities,
            (SELECT count(*)::int FROM districts) AS districts`,
    )
  ).rows[0];

describe('no Chengdu in other cities (central Chengdu template, real PostGIS)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let app: FastifyInstance;
  beforeAll(async () => {
    db = await createTestDatabase('central');
    pool = createPool(db.url, { max: 2 });
    app = await buildApp({ databaseUrl: db.url, logger: false, webDist: false });
  });
  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await db?.drop();
  });

  it('the shipped sample registers lie inside the bbox they are tied to, and central Chengdu has them', async () => {
    const { rows } = await pool.query<{ n: number; inside: number }>(
      `SELECT count(*)::int n, count(*) FILTER (WHERE ST_Within(f.geom, ST_MakeEnvelope($1, $2, $3, $4, 4326)))::int inside
       FROM facilities f JOIN datasets d ON d.id = f.dataset_id WHERE d.kind = 'facility_register' AND d.is_sample`,
      [...SAMPLE_REGISTERS_BBOX],
    );
    expect(rows[0].n).toBeGreaterThan(0);
    expect(rows[0].inside).toBe(rows[0].n);
  });

  it('importing the generated sample city leaves no Chengdu sample facility or district, and health counts none', async () => {
    await importDistricts(pool, DISTRICTS_FILE);
    const before = await chengduLeft(pool);
    expect(before.sample_facilities).toBeGreaterThan(0);
    expect(before.districts).toBe(2);
    const config = { dataDir: tmp } as Config;
    await importSampleCity(pool, config, { nodes: 2000, seed: 7 });
    await prepareDataset(pool);
    expect(await chengduLeft(pool)).toEqual({ registers: 0, sample_facilities: 0, districts: 0 });
    const health = (await app.inject('/api/health')).json();
    expect(health.dataset.kind).toBe('sample_city');
    expect(health.dataset.counts.districts).toBe(0);
    // facilities counted: the generated city's own, none from a register
    const { rows: own } = await pool.query<{ category: string; n: number }>(
      `SELECT category, count(*)::int n FROM facilities WHERE dataset_id = $1 GROUP BY category`,
      [health.dataset.id],
    );
    expect(health.dataset.counts.facilities).toEqual(Object.fromEntries(own.map((r) => [r.category, r.n])));
  });

  it('importing central Chengdu again brings the sample registers back; an extract elsewhere keeps them while Chengdu is served, and drops them once it is not', async () => {
    await importOsm(pool, path.join(SHARED_DATA, 'chenghua-shuangqiaozi-2018.osm'));
    await importDistricts(pool, DISTRICTS_FILE);
    await prepareDataset(pool);
    expect((await chengduLeft(pool)).sample_facilities).toBeGreaterThan(0);
    // a tiny extract in Spain
    const file = path.join(tmp, 'elsewhere.osm');
    fs.writeFileSync(
      file,
      `<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
<node id="1" version="1" lat="40.4200000" lon="-3.7000000"/><node id="2" version="1" lat="40.4200000" lon="-3.6990000"/>
<node id="3" version="1" lat="40.4210000" lon="-3.6990000"/>
<way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
</osm>
`,
    );
    // a second city beside Chengdu (another name): Chengdu's layers stay, they belong to a dataset still served
    const chengdu = await chengduLeft(pool);
    await importOsm(pool, file, { name: 'elsewhere' });
    await prepareDataset(pool);
    expect(await chengduLeft(pool)).toEqual(chengdu);
    expect((await app.inject('/api/health?dataset=elsewhere')).json().dataset.counts.districts).toBe(0);
    // the same extract as the next vintage of the only Chengdu dataset: nothing served lies in Chengdu any more
    await pool.query(
      `DELETE FROM datasets WHERE kind IN ('osm', 'sample_city') AND name <> 'chenghua-shuangqiaozi-2018'`,
    );
    await importOsm(pool, file, { name: 'chenghua-shuangqiaozi-2018' });
    await prepareDataset(pool);
    expect(await chengduLeft(pool)).toEqual({ registers: 0, sample_facilities: 0, districts: 0 });
    expect((await app.inject('/api/health')).json().dataset.counts.districts).toBe(0);
  });
});

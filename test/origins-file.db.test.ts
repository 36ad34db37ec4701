import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../server/config.ts';
import { runInputs } from '../server/coverage-run/run-inputs.ts';
import { createPool } from '../server/db/pool.ts';
import { importCommunities } from '../server/import/import-communities.ts';
import { importFacilities } from '../server/import/import-facilities.ts';
import { loadOrigins, MAKE_ORIGINS_SQL } from '../server/network/load-network.ts';
import { loadNetworkCached, type LoadedNetwork } from '../server/network/network-file.ts';
import {
  loadOriginsCached,
  originsFileKey,
  readOriginsFile,
  writeOriginsFile,
} from '../server/network/origins-file.ts';
import { applyStudyArea } from '../server/network/study-area.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// The origins file (server/network/origins-file.ts): what it gives back equals the origins the
// compute makes from PostGIS (loadOrigins, then the study area), object by object; a register
// import leaves it current; what changes the origins' places or areas makes it stale.
describe('origins file of the 双桥子 network (real PostGIS)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let datasetId: number;
  let dir: string;
  let net: LoadedNetwork;
  let streetsKey: string;

  const fresh = async () => {
    const loaded = await loadOrigins(pool, datasetId, net.compounds);
    return { ...(await applyStudyArea(pool, datasetId, loaded.origins)), communitySource: loaded.communitySource };
  };
  const cached = () => loadOriginsCached(pool, datasetId, dir, streetsKey, net.compounds);

  beforeAll(async () => {
    db = await createTestDatabase('shuangqiaozi');
    pool = createPool(db.url, { max: 2 });
    datasetId = (
      await pool.query<{ id: number }>(
        `SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1`,
      )
    ).rows[0].id;
    if (!(await pool.query('SELECT 1 FROM origins WHERE dataset_id = $1 LIMIT 1', [datasetId])).rowCount)
      for (const sql of MAKE_ORIGINS_SQL) await pool.query(sql, [datasetId]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'origins-file-'));
    ({ net, key: streetsKey } = await loadNetworkCached(pool, datasetId, dir));
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is built once, then read back equal to the origins made from PostGIS', async () => {
    const expected = await fresh();
    expect(expected.origins.length).toBeGreaterThan(100);
    const first = await cached();
    expect(first.source).toBe('built');
    const second = await cached();
    expect(second.source).toBe('file');
    for (const got of [first, second]) {
      expect(got.origins).toEqual(expected.origins);
      expect(got.outside).toBe(expected.outside);
      expect(got.communitySource).toBe(expected.communitySource);
      // what the incremental recompute compares: the origins' fingerprint
      expect(runInputs(net, got.origins).origins).toBe(runInputs(net, expected.origins).origins);
    }
    // toEqual passes over undefined-valued and missing keys alike; the fingerprint JSON does not
    expect(JSON.stringify(second.origins)).toBe(JSON.stringify(expected.origins));
  });

  it('carries the fields this extract leaves at their defaults (edge of data, group counts) exactly', async () => {
    // 双桥子 has no origin near the data's edge, in a gated compound or with imported group counts: set some by hand
    const { origins, outside, communitySource } = await fresh();
    const varied = origins.map((o, i) =>
      i % 3 === 0
        ? { ...o, nearDataEdge: true }
        : i % 3 === 1
          ? { ...o, elderly: i / 7, children: 0, compound: i % 5 }
          : o,
    );
    const file = path.join(dir, 'varied.origins');
    writeOriginsFile(file, 'k', { origins: varied, outside, communitySource });
    const back = readOriginsFile(file, 'k');
    expect(back).not.toBeNull();
    expect(JSON.stringify(back!.origins)).toBe(JSON.stringify(varied));
    expect(runInputs(net, back!.origins).origins).toBe(runInputs(net, varied).origins);
    expect(readOriginsFile(file, 'other')).toBeNull();
  });

  it('stays current after a register import', async () => {
    const k0 = await originsFileKey(pool, datasetId, streetsKey);
    await importFacilities(pool, path.join(projectRoot, 'test', 'fixtures', 'registers', 'elderly-care-gcj02.csv'), {
      category: 'elderly_care',
      crs: 'gcj02',
      isSample: true,
      allowOutsideNetwork: true,
    });
    expect(await originsFileKey(pool, datasetId, streetsKey)).toBe(k0);
    const got = await cached();
    expect(got.source).toBe('file');
    expect(got.origins).toEqual((await fresh()).origins);
  });

  it('is rebuilt when communities are imported, and equals the origins made from PostGIS', async () => {
    const before = await cached();
    await importCommunities(
      pool,
      path.join(projectRoot, 'test', 'fixtures', 'registers', 'communities-bowtie.geojson'),
    );
    const expected = await fresh();
    expect(expected.communitySource).toBe('imported');
    expect(JSON.stringify(expected.origins)).not.toBe(JSON.stringify(before.origins));
    const got = await cached();
    expect(got.source).toBe('built');
    expect(JSON.stringify(got.origins)).toBe(JSON.stringify(expected.origins));
    expect(got.communitySource).toBe('imported');
    expect((await cached()).source).toBe('file');
  });

  it('is rebuilt when the origins are made again (a population import deletes them)', async () => {
    await cached();
    await pool.query('DELETE FROM origins WHERE dataset_id = $1', [datasetId]);
    for (const sql of MAKE_ORIGINS_SQL) await pool.query(sql, [datasetId]);
    const got = await cached();
    expect(got.source).toBe('built');
    expect(JSON.stringify(got.origins)).toBe(JSON.stringify((await fresh()).origins));
  });

  it('is not read when truncated or under another key', async () => {
    const got = await cached();
    fs.truncateSync(got.file, Math.floor(fs.statSync(got.file).size / 2));
    expect((await cached()).source).toBe('built');
    const { file } = await cached();
    writeOriginsFile(file, 'another key', got);
    expect(readOriginsFile(file, 'another key')?.origins).toEqual(got.origins);
    expect((await cached()).source).toBe('built');
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../server/db/pool.ts';
import { loadNetwork } from '../server/network/load-network.ts';
import {
  loadNetworkCached,
  networkFileKey,
  networkHash,
  networkPartHashes,
  readNetworkFile,
  writeNetworkFile,
} from '../server/network/network-file.ts';
import { snapPoint } from '../geo/snap.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// The engine file (server/network/network-file.ts): what it gives back equals a fresh build from
// the database, array by array, and a file that no longer matches the database is rebuilt.
describe('engine file of the 双桥子 network (real PostGIS)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let datasetId: number;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('shuangqiaozi');
    pool = createPool(db.url, { max: 2 });
    datasetId = (
      await pool.query<{ id: number }>(
        `SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1`,
      )
    ).rows[0].id;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-file-'));
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is built once, then read back equal to a fresh build (hash of every array and the skeleton)', async () => {
    const fresh = await loadNetwork(pool, datasetId);
    const first = await loadNetworkCached(pool, datasetId, dir);
    expect(first.source).toBe('built');
    expect(fs.existsSync(first.file)).toBe(true);
    const second = await loadNetworkCached(pool, datasetId, dir);
    expect(second.source).toBe('file');
    expect(second.net.graph.nodeCount).toBeGreaterThan(500);
    expect(networkPartHashes(second.net)).toEqual(networkPartHashes(fresh));
    expect(networkHash(second.net)).toBe(networkHash(fresh));
    expect(networkHash(first.net)).toBe(networkHash(fresh));
    // the snap index read from the file answers like the built one, at every 97th node shifted 20 m north
    const g = fresh.graph;
    for (let i = 0; i < g.nodeCount; i += 97) {
      const lng = g.nodeLng[i];
      const lat = g.nodeLat[i] + 20 / 111_000;
      expect(snapPoint(second.net.snapIndex, lng, lat, { barriers: second.net.barriers })).toEqual(
        snapPoint(fresh.snapIndex, lng, lat, { barriers: fresh.barriers }),
      );
    }
  });

  it('is rebuilt when the facilities change, and the rebuild equals a fresh build', async () => {
    const old = (await loadNetworkCached(pool, datasetId, dir)).net;
    const before = await networkFileKey(pool, datasetId, dir);
    await pool.query(
      `INSERT INTO facilities (dataset_id, category, subtype, name, geom, area_m2, source, source_ref, is_sample)
       SELECT dataset_id, category, subtype, 'moved copy', ST_Translate(geom, 0.002, 0.001), area_m2, source, source_ref || '-copy', is_sample
       FROM facilities WHERE dataset_id = $1 ORDER BY id LIMIT 1`,
      [datasetId],
    );
    const after = await networkFileKey(pool, datasetId, dir);
    expect(after.key).not.toBe(before.key);
    expect(readNetworkFile(after.file, after.key)).toBeNull();
    const rebuilt = await loadNetworkCached(pool, datasetId, dir);
    expect(rebuilt.source).toBe('built');
    expect(rebuilt.net.facilities.some((f) => f.name === 'moved copy')).toBe(true);
    expect(networkHash(rebuilt.net)).toBe(networkHash(await loadNetwork(pool, datasetId)));
    expect(networkHash(rebuilt.net)).not.toBe(networkHash(old)); // the hash sees the change
    expect((await loadNetworkCached(pool, datasetId, dir)).source).toBe('file');
  });

  it('is rebuilt when the file is truncated or carries another key', async () => {
    const { key, file } = await networkFileKey(pool, datasetId, dir);
    const net = (await loadNetworkCached(pool, datasetId, dir)).net;
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    expect(readNetworkFile(file, key)).toBeNull();
    expect((await loadNetworkCached(pool, datasetId, dir)).source).toBe('built');
    writeNetworkFile(file, `${key}|other`, datasetId, net);
    expect((await loadNetworkCached(pool, datasetId, dir)).source).toBe('built');
    expect(networkHash(readNetworkFile(file, key)!)).toBe(networkHash(net));
  });
});

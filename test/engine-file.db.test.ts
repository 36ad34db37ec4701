import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../server/db/pool.ts';
import { projectRoot } from '../server/config.ts';
import { importFacilities } from '../server/import/import-facilities.ts';
import { loadNetwork } from '../server/network/load-network.ts';
import {
  loadNetworkCached,
  networkFileKey,
  networkHash,
  networkPartHashes,
  readFacilitiesFile,
  readStreetFile,
  writeStreetFile,
} from '../server/network/network-file.ts';
import { snapPoint } from '../geo/snap.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// The engine files (server/network/network-file.ts): what they give back equals a fresh build from
// the database, array by array, and a file that no longer matches the database is rebuilt. The
// streets and the facilities are two files: a register import rebuilds only the facilities'.

/** sha256 and modification time of a file: unchanged means not rewritten. */
const fileState = (file: string) => ({
  sha256: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
  mtimeNs: fs.statSync(file, { bigint: true }).mtimeNs,
});

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
    expect(first.facilitiesSource).toBe('built');
    expect(fs.existsSync(first.file)).toBe(true);
    const second = await loadNetworkCached(pool, datasetId, dir);
    expect(second.source).toBe('file');
    expect(second.facilitiesSource).toBe('file');
    expect(second.net.facilities.length).toBeGreaterThan(10);
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

  it('keeps the streets file when the facilities change, rebuilds the facilities, and equals a fresh build', async () => {
    const old = (await loadNetworkCached(pool, datasetId, dir)).net;
    const before = await networkFileKey(pool, datasetId, dir);
    const streetsBefore = fileState(before.file);
    await pool.query(
      `INSERT INTO facilities (dataset_id, category, subtype, name, geom, area_m2, source, source_ref, is_sample)
       SELECT dataset_id, category, subtype, 'moved copy', ST_Translate(geom, 0.002, 0.001), area_m2, source, source_ref || '-copy', is_sample
       FROM facilities WHERE dataset_id = $1 ORDER BY id LIMIT 1`,
      [datasetId],
    );
    const after = await networkFileKey(pool, datasetId, dir);
    expect(after.facilitiesKey).not.toBe(before.facilitiesKey);
    expect(after.key).toBe(before.key);
    expect(readFacilitiesFile(after.facilitiesFile, after.facilitiesKey)).toBeNull();
    const rebuilt = await loadNetworkCached(pool, datasetId, dir);
    expect(rebuilt.source).toBe('file');
    expect(rebuilt.facilitiesSource).toBe('built');
    expect(fileState(after.file)).toEqual(streetsBefore);
    expect(rebuilt.net.facilities.some((f) => f.name === 'moved copy')).toBe(true);
    expect(networkHash(rebuilt.net)).toBe(networkHash(await loadNetwork(pool, datasetId)));
    expect(networkHash(rebuilt.net)).not.toBe(networkHash(old)); // the hash sees the change
    const again = await loadNetworkCached(pool, datasetId, dir);
    expect([again.source, again.facilitiesSource]).toEqual(['file', 'file']);
  });

  it('after a register import: the streets are read, not rebuilt, and the whole equals a fresh build', async () => {
    await loadNetworkCached(pool, datasetId, dir);
    const before = await networkFileKey(pool, datasetId, dir);
    const streetsBefore = fileState(before.file);
    const facilitiesBefore = fileState(before.facilitiesFile);
    await importFacilities(pool, path.join(projectRoot, 'test', 'fixtures', 'registers', 'elderly-care-gcj02.csv'), {
      category: 'elderly_care',
      crs: 'gcj02',
      isSample: true,
      allowOutsideNetwork: true,
    });
    const loaded = await loadNetworkCached(pool, datasetId, dir);
    expect(loaded.source).toBe('file');
    expect(loaded.facilitiesSource).toBe('built');
    expect(fileState(before.file)).toEqual(streetsBefore);
    expect(fileState(before.facilitiesFile)).not.toEqual(facilitiesBefore);
    const fresh = await loadNetwork(pool, datasetId);
    expect(fresh.facilities.some((f) => f.name?.includes('养老服务站'))).toBe(true);
    expect(networkPartHashes(loaded.net)).toEqual(networkPartHashes(fresh));
    const read = await loadNetworkCached(pool, datasetId, dir);
    expect([read.source, read.facilitiesSource]).toEqual(['file', 'file']);
    expect(networkPartHashes(read.net)).toEqual(networkPartHashes(fresh));
  });

  it('rebuilds the streets when the network rows change (a wall added)', async () => {
    const before = await networkFileKey(pool, datasetId, dir);
    expect((await loadNetworkCached(pool, datasetId, dir)).source).toBe('file');
    await pool.query(
      `INSERT INTO barriers (dataset_id, kind, osm_way_id, geom)
       SELECT $1, 'wall', -1, ST_MakeLine(ST_Translate(geom, -0.0002, 0), ST_Translate(geom, 0.0002, 0))
       FROM walk_nodes WHERE dataset_id = $1 ORDER BY id LIMIT 1`,
      [datasetId],
    );
    const after = await networkFileKey(pool, datasetId, dir);
    expect(after.key).not.toBe(before.key);
    expect(after.facilitiesKey).toBe(before.facilitiesKey);
    const rebuilt = await loadNetworkCached(pool, datasetId, dir);
    expect([rebuilt.source, rebuilt.facilitiesSource]).toEqual(['built', 'file']);
    expect(networkHash(rebuilt.net)).toBe(networkHash(await loadNetwork(pool, datasetId)));
  });

  it('is rebuilt when the file is truncated or carries another key', async () => {
    const { key, file } = await networkFileKey(pool, datasetId, dir);
    const net = (await loadNetworkCached(pool, datasetId, dir)).net;
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    expect(readStreetFile(file, key)).toBeNull();
    expect((await loadNetworkCached(pool, datasetId, dir)).source).toBe('built');
    writeStreetFile(file, `${key}|other`, datasetId, net);
    expect((await loadNetworkCached(pool, datasetId, dir)).source).toBe('built');
    expect(networkHash({ ...readStreetFile(file, key)!, facilities: net.facilities })).toBe(networkHash(net));
  });
});

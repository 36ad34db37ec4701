import { VectorTile, type VectorTileFeature } from '@mapbox/vector-tile';
import type { FastifyInstance } from 'fastify';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PbfReader } from 'pbf';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { readConfig } from '../server/config.ts';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { importDistricts } from '../server/import/import-communities.ts';
import { importSampleCity } from '../server/import/default-data.ts';
import { GENERALISED_ZOOMS } from '../server/routes/tiles.ts';
import { tileOf } from './bench/autocannon.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// The whole-city views (issue 15): zooms 9–12 of the network and areas layers come from tables
// made once per run (migrations/0250, 0251). Checked here on a generated city with two imported
// districts: the generalised lines keep, per category, the worst distance of the edges each stands
// for (recomputed in TypeScript from edge_distances, not by the SQL that built them), every main
// street is in exactly one line, the tiles decode with features, and no tile at any zoom reaches
// the size limit.

/** A tile's size limit (issue 15): bytes of the uncompressed MVT. */
const MAX_TILE_BYTES = 500_000;
/** The highways drawn at each zoom, written out again here (migrations/0250 is what is tested). */
const Z9 = ['motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link'];
const Z10 = [...Z9, 'secondary', 'secondary_link'];
const Z11 = [...Z10, 'tertiary', 'tertiary_link'];
const BAND_HIGHWAYS: Record<number, readonly string[]> = {
  9: Z9,
  10: Z10,
  11: Z11,
  12: [...Z11, 'residential', 'unclassified', 'living_street', 'pedestrian', 'road'],
};
const LAYERS = ['basemap', 'network', 'facilities', 'areas', 'plans', 'area_labels', 'barriers', 'population'];

type Distances = Record<string, number>;

/**
 * The worst of several edges' distances per category, in the order the map colours them: metres
 * (larger worse) < -1 (beyond the cap) < absent (no path); metres rounded up. Plain loops, for the oracle.
 */
function worstOf(edges: readonly Distances[]): Distances {
  const out: Distances = {};
  const keys = new Set(edges.flatMap((d) => Object.keys(d)));
  for (const k of keys) {
    if (!edges.every((d) => k in d)) continue;
    const values = edges.map((d) => d[k]);
    out[k] = values.includes(-1) ? -1 : Math.ceil(Math.max(...values));
  }
  return out;
}

function decode(body: Buffer): VectorTile {
  return new VectorTile(new PbfReader(body));
}
function features(tile: VectorTile, layer: string): VectorTileFeature[] {
  const l = tile.layers[layer];
  return l ? Array.from({ length: l.length }, (_, i) => l.feature(i)) : [];
}

describe('generalised tiles of a generated city (real PostGIS)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let app: FastifyInstance;
  let dir: string;
  let runId: number;
  let datasetId: number;
  let bbox: [number, number, number, number];

  beforeAll(async () => {
    db = await createTestDatabase('empty');
    pool = createPool(db.url, { max: 2 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'generalised-'));
    await importSampleCity(pool, { ...readConfig(), dataDir: dir }, { nodes: 60_000, seed: 9 });
    const ds = (
      await pool.query<{ id: number; b: number[] }>(
        `SELECT id, ARRAY[ST_XMin(bbox), ST_YMin(bbox), ST_XMax(bbox), ST_YMax(bbox)] AS b FROM datasets WHERE kind = 'sample_city'`,
      )
    ).rows[0];
    datasetId = ds.id;
    bbox = ds.b as [number, number, number, number];
    // two districts, west and east halves of the city (the sample city names none)
    const mid = (bbox[0] + bbox[2]) / 2;
    const box = (x0: number, x1: number) => [
      [
        [x0, bbox[1] - 0.01],
        [x1, bbox[1] - 0.01],
        [x1, bbox[3] + 0.01],
        [x0, bbox[3] + 0.01],
        [x0, bbox[1] - 0.01],
      ],
    ];
    const districts = path.join(dir, 'districts.geojson');
    fs.writeFileSync(
      districts,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: { name: '示例西区' },
            geometry: { type: 'Polygon', coordinates: box(bbox[0] - 0.01, mid) },
          },
          {
            type: 'Feature',
            properties: { name: '示例东区' },
            geometry: { type: 'Polygon', coordinates: box(mid, bbox[2] + 0.01) },
          },
        ],
      }),
    );
    await importDistricts(pool, districts);
    runId = (await computeCoverage(pool)).runId;
    app = await buildApp({ databaseUrl: db.url, webDist: false });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('each generalised line keeps, per category, the worst distance of the edges it stands for; each main street is in exactly one line', async () => {
    const lines = (
      await pool.query<{ band: number; edge_ids: string[]; d: Distances; highway: string }>(
        `SELECT band, edge_ids, d, highway FROM generalised_network WHERE run_id = $1`,
        [runId],
      )
    ).rows;
    const edgeD = new Map(
      (
        await pool.query<{ edge_id: string; d: Distances }>(`SELECT edge_id, d FROM edge_distances WHERE run_id = $1`, [
          runId,
        ])
      ).rows.map((r) => [r.edge_id, r.d]),
    );
    const edges = (
      await pool.query<{ id: string; highway: string }>(`SELECT id, highway FROM walk_edges WHERE dataset_id = $1`, [
        datasetId,
      ])
    ).rows;
    for (const band of [9, 10, 11, 12]) {
      const inBand = lines.filter((l) => l.band === band);
      expect(inBand.length).toBeGreaterThan(0);
      // fewer lines than edges: they are merged
      const members = inBand.flatMap((l) => l.edge_ids);
      expect(inBand.length).toBeLessThan(members.length);
      expect(new Set(members).size).toBe(members.length);
      const expected = edges.filter((e) => BAND_HIGHWAYS[band].includes(e.highway)).map((e) => e.id);
      expect([...members].sort()).toEqual(expected.sort());
      let mixed = 0;
      for (const l of inBand) {
        const pieces = l.edge_ids.map((id) => edgeD.get(id) ?? {});
        expect(l.d).toEqual(worstOf(pieces));
        if (new Set(pieces.map((p) => JSON.stringify(p))).size > 1) mixed++;
      }
      // the oracle is exercised: some lines merge edges with different distances
      expect(mixed).toBeGreaterThan(0);
    }
  });

  it(`zooms ${GENERALISED_ZOOMS[0]}–${GENERALISED_ZOOMS[1]}: network and areas tiles decode and hold features; districts carry their results`, async () => {
    const centre: [number, number] = [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2];
    const districtShares = new Map(
      (
        await pool.query<{ area_key: string; worst: number }>(
          `SELECT area_key, round((min(share) FILTER (WHERE NOT no_data))::numeric, 4)::float8 AS worst FROM coverage_area_results
       WHERE run_id = $1 AND rule_set_id = 'chengdu-park-city' AND level = 'district' GROUP BY area_key`,
          [runId],
        )
      ).rows.map((r) => [r.area_key, r.worst]),
    );
    expect([...districtShares.keys()].sort()).toEqual(['示例东区', '示例西区']);
    for (let z = GENERALISED_ZOOMS[0]; z <= GENERALISED_ZOOMS[1]; z++) {
      const [, x, y] = tileOf(centre[0], centre[1], z);
      const net = await app.inject(`/tiles/network/${z}/${x}/${y}.pbf`);
      expect(net.statusCode, `network z${z}`).toBe(200);
      const lines = features(decode(net.rawPayload), 'network');
      expect(lines.length, `network z${z}`).toBeGreaterThan(0);
      expect(lines.some((f) => typeof f.properties.park === 'number')).toBe(true);
      expect(lines.every((f) => BAND_HIGHWAYS[z].includes(String(f.properties.highway)))).toBe(true);

      const areas = await app.inject(`/tiles/areas/${z}/${x}/${y}.pbf?rule_set=chengdu-park-city`);
      expect(areas.statusCode, `areas z${z}`).toBe(200);
      const tile = decode(areas.rawPayload);
      if (z <= 10) {
        const ds = features(tile, 'districts');
        expect(ds.map((f) => String(f.properties.name)).sort()).toEqual(['示例东区', '示例西区']);
        for (const f of ds) expect(f.properties.worst_share).toBe(districtShares.get(String(f.properties.name)));
      } else {
        expect(features(tile, 'communities').length).toBeGreaterThan(0);
        expect(features(tile, 'communities').some((f) => 'worst_share' in f.properties)).toBe(true);
      }
    }
    // z13 is full detail again: tile_network's edges, with their ids
    const [, x, y] = tileOf(centre[0], centre[1], 13);
    const full = features(decode((await app.inject(`/tiles/network/13/${x}/${y}.pbf`)).rawPayload), 'network');
    expect(full.length).toBeGreaterThan(0);
    expect(full.every((f) => typeof f.properties.id === 'number')).toBe(true);
  });

  it('a generalised tile is kept per run: another served run answers from its own rows', async () => {
    const [, x, y] = tileOf((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, 12);
    const url = `/tiles/network/12/${x}/${y}.pbf`;
    const before = await app.inject(url);
    expect(before.statusCode).toBe(200);
    // a newer complete run without generalised rows (as if computed by a server without them)
    const newer = (
      await pool.query<{ id: number }>(
        `INSERT INTO coverage_runs (dataset_id, rule_set_versions, status, finished_at, community_source)
       SELECT dataset_id, rule_set_versions, 'done', now(), community_source FROM coverage_runs WHERE id = $1 RETURNING id`,
        [runId],
      )
    ).rows[0].id;
    try {
      expect((await app.inject(url)).statusCode).toBe(204);
    } finally {
      await pool.query('DELETE FROM coverage_runs WHERE id = $1', [newer]);
    }
    const again = await app.inject(url);
    expect(again.rawPayload.equals(before.rawPayload)).toBe(true);
  });

  it('a later run of the same dataset keeps the lines and recomputes their distances exactly as a full build does (migration 0270)', async () => {
    const client = await pool.connect();
    const lines = async () =>
      (
        await client.query(
          `SELECT band, id, run_id, highway, name, is_private, d::text AS d, edge_ids, encode(ST_AsEWKB(geom), 'hex') AS geom
           FROM generalised_network WHERE dataset_id = $1 ORDER BY band, id`,
          [datasetId],
        )
      ).rows;
    try {
      await client.query('BEGIN');
      const before = await lines();
      const later = (
        await client.query<{ id: number }>(
          `INSERT INTO coverage_runs (dataset_id, rule_set_versions, status, community_source)
           SELECT dataset_id, rule_set_versions, 'running', community_source FROM coverage_runs WHERE id = $1 RETURNING id`,
          [runId],
        )
      ).rows[0].id;
      // other distances: some edges farther, some beyond the cap for parks, some without a row
      await client.query(
        `INSERT INTO edge_distances (run_id, edge_id, d)
         SELECT $1, edge_id,
                CASE WHEN edge_id % 7 = 0 THEN d || '{"park": -1}'::jsonb
                     WHEN edge_id % 3 = 0 THEN coalesce((SELECT jsonb_object_agg(key, CASE WHEN value::text = '-1' THEN value
                                                     ELSE to_jsonb(value::text::float8 + 7.3) END) FROM jsonb_each(d)), '{}'::jsonb)
                     ELSE d END
         FROM edge_distances WHERE run_id = $2 AND edge_id % 5 <> 0`,
        [later, runId],
      );
      await client.query('SAVEPOINT s');
      await client.query('SELECT build_generalised_network($1)', [later]);
      const reused = await lines();
      await client.query('ROLLBACK TO SAVEPOINT s');
      await client.query('SELECT build_generalised_network_full($1)', [later]);
      const full = await lines();
      await client.query('ROLLBACK TO SAVEPOINT s');
      expect(reused.length).toBeGreaterThan(100);
      expect(reused).toEqual(full);
      expect(reused.every((r) => r.run_id === later)).toBe(true);
      expect(reused.filter((r, i) => r.d !== before[i].d).length).toBeGreaterThan(10);
      // the lines really were kept, not rebuilt: a mark on one survives the later run
      await client.query(
        `UPDATE generalised_network SET name = 'kept' WHERE dataset_id = $1 AND band = 12 AND id = 1`,
        [datasetId],
      );
      await client.query('SELECT build_generalised_network($1)', [later]);
      expect((await lines()).find((r) => r.band === 12 && r.id === 1)!.name).toBe('kept');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('an incremental run recomputes only the changed categories of the lines, as a full build does (migration 0300)', async () => {
    const client = await pool.connect();
    const lines = async () =>
      (
        await client.query(
          `SELECT band, id, run_id, highway, name, is_private, d::text AS d, edge_ids, encode(ST_AsEWKB(geom), 'hex') AS geom
           FROM generalised_network WHERE dataset_id = $1 ORDER BY band, id`,
          [datasetId],
        )
      ).rows;
    try {
      await client.query('BEGIN');
      const from = (
        await client.query<{ run_id: number }>(
          'SELECT max(run_id) AS run_id FROM generalised_network WHERE dataset_id = $1',
          [datasetId],
        )
      ).rows[0].run_id;
      const before = await lines();
      const later = (
        await client.query<{ id: number }>(
          `INSERT INTO coverage_runs (dataset_id, rule_set_versions, status, community_source)
           SELECT dataset_id, rule_set_versions, 'running', community_source FROM coverage_runs WHERE id = $1 RETURNING id`,
          [from],
        )
      ).rows[0].id;
      // as an incremental run writes them: parks' distances changed (farther, beyond the cap, gone),
      // every other category's copied
      await client.query(
        `INSERT INTO edge_distances (run_id, edge_id, d)
         SELECT $1, edge_id,
                CASE WHEN edge_id % 7 = 0 THEN d || '{"park": -1}'::jsonb
                     WHEN edge_id % 5 = 0 THEN d - 'park'
                     WHEN d ? 'park' THEN d || jsonb_build_object('park', (d->>'park')::float8 + 7.3)
                     ELSE d END
         FROM edge_distances WHERE run_id = $2`,
        [later, from],
      );
      await client.query('SAVEPOINT s');
      await client.query(`SELECT build_generalised_network($1, $2, '{park}')`, [later, from]);
      const partial = await lines();
      await client.query('ROLLBACK TO SAVEPOINT s');
      await client.query('SELECT build_generalised_network_full($1)', [later]);
      const full = await lines();
      await client.query('ROLLBACK TO SAVEPOINT s');
      expect(partial.length).toBeGreaterThan(100);
      expect(partial).toEqual(full);
      expect(partial.every((r) => r.run_id === later)).toBe(true);
      expect(partial.filter((r, i) => r.d !== before[i].d).length).toBeGreaterThan(10);
      // lines that are not the named run's: the distances of every category are recomputed
      await client.query(`SELECT build_generalised_network($1, $2, '{park}')`, [later, from + 1000]);
      expect(await lines()).toEqual(full);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('areas built from the same inputs are re-pointed at a later run; changed inputs build them again (migration 0300)', async () => {
    const client = await pool.connect();
    const areas = async () =>
      (
        await client.query(
          `SELECT to_jsonb(g) - 'geom' AS a, encode(ST_AsEWKB(geom), 'hex') AS geom
           FROM generalised_areas g WHERE dataset_id = $1 ORDER BY band, level, area_key`,
          [datasetId],
        )
      ).rows as { a: Record<string, unknown>; geom: string }[];
    try {
      await client.query('BEGIN');
      const from = (
        await client.query<{ run_id: number }>(
          'SELECT max(run_id) AS run_id FROM generalised_areas WHERE dataset_id = $1',
          [datasetId],
        )
      ).rows[0].run_id;
      const later = (
        await client.query<{ id: number }>(
          `INSERT INTO coverage_runs (dataset_id, rule_set_versions, status, community_source)
           SELECT dataset_id, rule_set_versions, 'running', community_source FROM coverage_runs WHERE id = $1 RETURNING id`,
          [from],
        )
      ).rows[0].id;
      await client.query('SAVEPOINT s');
      await client.query('SELECT build_generalised_areas_full($1)', [later]);
      const full = await areas();
      await client.query('ROLLBACK TO SAVEPOINT s');
      // a mark on one row survives: re-pointed, not rebuilt
      await client.query(
        `UPDATE generalised_areas SET name = 'kept' WHERE dataset_id = $1 AND area_key = (SELECT min(area_key) FROM generalised_areas WHERE dataset_id = $1 AND level = 'residential_area')
           AND level = 'residential_area'`,
        [datasetId],
      );
      await client.query('SELECT build_generalised_areas($1)', [later]);
      const repointed = await areas();
      expect(repointed.filter((r) => r.a.name === 'kept')).toHaveLength(1);
      await client.query('ROLLBACK TO SAVEPOINT s');
      await client.query('SELECT build_generalised_areas($1)', [later]);
      expect(full.length).toBeGreaterThan(10);
      expect(await areas()).toEqual(full);
      expect(full.every((r) => r.a.run_id === later)).toBe(true);
      // a renamed residential area: the inputs differ, so the areas are built again
      await client.query(
        `UPDATE residential_areas SET name = 'renamed' WHERE id = (SELECT min(id) FROM generalised_areas WHERE dataset_id = $1 AND level = 'residential_area')`,
        [datasetId],
      );
      await client.query('SELECT build_generalised_areas($1)', [later]);
      expect((await areas()).some((r) => r.a.name === 'renamed')).toBe(true);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('no tile of any layer at any zoom reaches 500 kB, and the generalised z12 network is smaller than the full-detail one', async () => {
    let largest = { bytes: 0, url: '' };
    for (let z = 0; z <= 16; z++) {
      const [, x0, y1] = tileOf(bbox[0], bbox[1], z);
      const [, x1, y0] = tileOf(bbox[2], bbox[3], z);
      // every tile over the city up to z14; beyond, a diagonal of tiles across it
      const tiles: [number, number][] = [];
      if (z <= 14) for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) tiles.push([x, y]);
      else
        for (let i = 0; i <= 8; i++)
          tiles.push([Math.round(x0 + ((x1 - x0) * i) / 8), Math.round(y1 + ((y0 - y1) * i) / 8)]);
      for (const [x, y] of tiles) {
        for (const layer of LAYERS) {
          const url = `/tiles/${layer}/${z}/${x}/${y}.pbf`;
          const res = await app.inject(url);
          expect([200, 204], url).toContain(res.statusCode);
          if (res.rawPayload.length > largest.bytes) largest = { bytes: res.rawPayload.length, url };
        }
      }
    }
    expect(largest.bytes, largest.url).toBeLessThan(MAX_TILE_BYTES);
    expect(largest.bytes).toBeGreaterThan(0);

    const [, x, y] = tileOf((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, 12);
    const generalised = (await app.inject(`/tiles/network/12/${x}/${y}.pbf`)).rawPayload.length;
    const full = (await pool.query<{ mvt: Buffer }>('SELECT tile_network(12, $1, $2) AS mvt', [x, y])).rows[0].mvt
      .length;
    expect(generalised).toBeLessThan(full);
  });
});

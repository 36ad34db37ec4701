import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { ImportValidationError } from '../server/import/import-facilities.ts';
import { importDistricts } from '../server/import/import-communities.ts';
import { OUTSIDE_DISTRICTS } from '../server/network/load-network.ts';
import { SHARED_DATA } from './global-setup.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// District (区) boundaries from the real OSM file beside the project: 成华区 and 武侯区.
const DISTRICTS_FILE = path.join(SHARED_DATA, 'chengdu-districts-chenghua-wuhou.geojson');

let db: TestDatabase;
let pool: pg.Pool;
let app: FastifyInstance;
let tmp: string;

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 2 });
  app = await buildApp({ databaseUrl: db.url, logger: false, webDist: false });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-districts-'));
});
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const snapshot = async () =>
  (
    await pool.query(
      `SELECT (SELECT count(*) FROM districts)::int AS districts, (SELECT count(*) FROM datasets)::int AS datasets`,
    )
  ).rows[0];

describe('district boundaries', () => {
  it('a file with a nameless feature imports nothing and says which feature and field', async () => {
    const good = JSON.parse(fs.readFileSync(DISTRICTS_FILE, 'utf8'));
    delete good.features[1].properties.name;
    const file = path.join(tmp, 'nameless.geojson');
    fs.writeFileSync(file, JSON.stringify(good));
    const before = await snapshot();
    const err = await importDistricts(pool, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportValidationError);
    expect((err as ImportValidationError).problems).toEqual([
      expect.objectContaining({ feature: 1, field: 'name', reason: 'is missing' }),
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('import the real file: 成华区 and 武侯区 with their codes; a second import replaces the first', async () => {
    const first = await importDistricts(pool, DISTRICTS_FILE);
    expect(first.counts).toEqual({ features: 2, districts: 2, repaired: 0, skipped_invalid: 0 });
    const { rows } = await pool.query(
      `SELECT name, name_en, adcode, round(ST_Area(geom::geography) / 1e6) AS km2 FROM districts ORDER BY adcode`,
    );
    // the README of the data gives 126.7 and 108.75 km² (OSM relations 4734743, 4734807)
    expect(rows).toEqual([
      { name: '武侯区', name_en: 'Wuhou District', adcode: '510107', km2: 127 },
      { name: '成华区', name_en: 'Chenghua District', adcode: '510108', km2: 109 },
    ]);
    const second = await importDistricts(pool, DISTRICTS_FILE);
    expect(second.replacedDatasetIds).toEqual([first.datasetId]);
    expect((await snapshot()).districts).toBe(2);
  });

  it('the approximate zones take the district holding them, and the district level counts each resident where they live', async () => {
    const { runId } = await computeCoverage(pool);
    await expect
      .poll(async () => (await app.inject('/api/audit?level=community')).json().run_id, { timeout: 60_000 })
      .toBe(runId);

    const districts = (await app.inject('/api/coverage?level=district')).json().areas as {
      area_key: string;
      population: number;
      district: string;
      is_approximate: boolean;
    }[];
    expect(districts.map((d) => d.area_key)).toContain('成华区');
    // residents outside both boundaries are counted apart, never dropped (README "Community zones")
    const outside = districts.find((d) => d.area_key === OUTSIDE_DISTRICTS);
    expect(outside).toBeDefined();
    const { rows: out } = await pool.query<{ population: number }>(
      `SELECT sum(o.population) AS population FROM origins o
       WHERE o.id IN (SELECT origin_id FROM coverage_origin_results WHERE run_id = $1)
         AND NOT EXISTS (SELECT 1 FROM districts dt WHERE ST_Contains(dt.geom, o.geom))`,
      [runId],
    );
    expect(outside!.population).toBeCloseTo(out[0].population, 6);
    districts.splice(districts.indexOf(outside!), 1);
    // real boundaries, each resident where they live: not approximate, though the zones are
    for (const d of districts) expect(d.is_approximate, d.area_key).toBe(false);
    // oracle: the population of the run's origins (those it evaluated, in the study area) inside each boundary, summed in PostGIS
    const { rows } = await pool.query<{ name: string; population: number }>(
      `SELECT dt.name, sum(o.population) AS population FROM districts dt JOIN origins o ON ST_Contains(dt.geom, o.geom)
       WHERE o.id IN (SELECT origin_id FROM coverage_origin_results WHERE run_id = $1) GROUP BY dt.name`,
      [runId],
    );
    expect(districts.map((d) => d.area_key).sort()).toEqual(rows.map((r) => r.name).sort());
    for (const d of districts)
      expect(d.population, d.area_key).toBeCloseTo(rows.find((r) => r.name === d.area_key)!.population, 6);

    // an approximate zone is in the district that holds a point of it; zones outside both have none
    const communities = (await app.inject('/api/coverage?level=community')).json().areas as {
      area_key: string;
      district: string | null;
      is_approximate: boolean;
    }[];
    expect(communities.every((c) => c.is_approximate)).toBe(true);
    const { rows: held } = await pool.query<{ id: string; name: string | null }>(
      `SELECT c.id::text, (SELECT dt.name FROM districts dt WHERE ST_Contains(dt.geom, ST_PointOnSurface(c.geom)) LIMIT 1) AS name FROM communities c`,
    );
    const heldBy = new Map(held.map((r) => [r.id, r.name]));
    for (const c of communities) expect(c.district, c.area_key).toBe(heldBy.get(c.area_key) ?? null);
    expect(communities.some((c) => c.district === '成华区')).toBe(true);
    expect(communities.some((c) => c.district === null)).toBe(true);

    // the district's GeoJSON geometry is its boundary
    const fc = (await app.inject('/api/coverage?level=district&format=geojson')).json();
    const chenghua = fc.features.find((f: { id: string }) => f.id === '成华区');
    expect(chenghua.geometry.type).toBe('MultiPolygon');
    expect((await app.inject('/api/health')).json().dataset.counts.districts).toBe(2);
  });
});

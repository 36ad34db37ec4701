/**
 * GET /api/coverage and /api/audit with `district` and `street` (issue 12, item 8): a filtered
 * answer is exactly the unfiltered answer's areas of that 区 / 街道, entry for entry, in JSON, CSV
 * and GeoJSON, and the exports state the filter in their provenance. The oracle is the unfiltered
 * answer of the same server, filtered here by the areas' own `district` and `street` fields.
 * Community boundaries naming districts and streets come from the bow-tie register fixture.
 */
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Audit, Coverage } from '../api/coverage.ts';
import { buildApp } from '../server/app.ts';
import { projectRoot } from '../server/config.ts';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { importCommunities } from '../server/import/import-communities.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let db: TestDatabase;
let app: FastifyInstance;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 2 });
  await importCommunities(pool, path.join(projectRoot, 'test', 'fixtures', 'registers', 'communities-bowtie.geojson'));
  await computeCoverage(pool);
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

async function get<T>(url: string): Promise<T> {
  const r = await app.inject(url);
  expect(r.statusCode, `${url}: ${r.body.slice(0, 300)}`).toBe(200);
  return (url.includes('format=csv') ? r.body : r.json()) as T;
}

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
/** The distinct non-null values of a field over the areas. */
const values = (areas: readonly { district: string | null; street: string | null }[], field: 'district' | 'street') =>
  [...new Set(areas.map((a) => a[field]).filter((v): v is string => v !== null))].sort();
const csvRecords = (text: string) =>
  parseCsv(text, { columns: true, bom: true, skip_empty_lines: true }) as Record<string, string>[];

describe('coverage and audit filtered by 区 and 街道', () => {
  it("/api/audit?district=X lists exactly the unfiltered answer's areas of district X, entry for entry", async () => {
    let compared = 0;
    for (const level of ['community', 'residential_area']) {
      const all = await get<Audit>(`/api/audit?${q({ level })}`);
      const districts = values(all.areas, 'district');
      if (level === 'community')
        expect(districts.length, 'the imported communities name more than one 区').toBeGreaterThan(1);
      for (const district of districts) {
        const filtered = await get<Audit>(`/api/audit?${q({ level, district })}`);
        expect(filtered.areas, `${level} ${district}`).toEqual(all.areas.filter((a) => a.district === district));
        expect(filtered.filters).toEqual({ district });
        // not assessable is a city-wide fact: the same with or without the filter
        expect(filtered.not_assessable).toEqual(all.not_assessable);
        compared += filtered.areas.length;
      }
      for (const street of values(all.areas, 'street')) {
        const filtered = await get<Audit>(`/api/audit?${q({ level, street })}`);
        expect(filtered.areas, `${level} ${street}`).toEqual(all.areas.filter((a) => a.street === street));
      }
      expect(all.filters).toBeUndefined();
    }
    expect(compared).toBeGreaterThan(0);
  });

  it('/api/coverage?district=X&street=Y: the unfiltered areas of both, at every level; a place no area lies in answers none', async () => {
    for (const level of ['community', 'residential_area', 'street', 'district']) {
      const all = await get<Coverage>(`/api/coverage?${q({ level })}`);
      for (const district of values(all.areas, 'district')) {
        expect((await get<Coverage>(`/api/coverage?${q({ level, district })}`)).areas, `${level} ${district}`).toEqual(
          all.areas.filter((a) => a.district === district),
        );
        for (const street of values(
          all.areas.filter((a) => a.district === district),
          'street',
        )) {
          const both = await get<Coverage>(`/api/coverage?${q({ level, district, street })}`);
          expect(both.areas, `${level} ${district} ${street}`).toEqual(
            all.areas.filter((a) => a.district === district && a.street === street),
          );
          expect(both.areas.length).toBeGreaterThan(0);
          expect(both.filters).toEqual({ district, street });
        }
      }
      const none = await get<Coverage>(`/api/coverage?${q({ level, district: '不存在区' })}`);
      expect(none.areas).toEqual([]);
      expect(none.not_assessable).toEqual(all.not_assessable);
    }
  });

  it('CSV and GeoJSON exports hold only the filtered areas and state the filter in provenance', async () => {
    const all = await get<Coverage>(`/api/coverage?${q({ level: 'community' })}`);
    const district = values(all.areas, 'district').find((d) =>
      all.areas.some((a) => a.district === d && a.population > 0),
    )!;
    expect(district).toBeTruthy();
    const want = all.areas
      .filter((a) => a.district === district)
      .map((a) => a.area_key)
      .sort();

    const coverageCsv = csvRecords(
      await get<string>(`/api/coverage?${q({ level: 'community', format: 'csv', district })}`),
    );
    expect([...new Set(coverageCsv.map((r) => r.area_key))].sort()).toEqual(want);
    expect(new Set(coverageCsv.map((r) => r.district))).toEqual(new Set([district]));
    for (const r of coverageCsv) expect(new URLSearchParams(r.filters).get('district')).toBe(district);
    // unfiltered: the filters column names no place
    for (const r of csvRecords(await get<string>(`/api/coverage?${q({ level: 'community', format: 'csv' })}`)))
      expect(new URLSearchParams(r.filters).has('district')).toBe(false);

    const audit = await get<Audit>(`/api/audit?${q({ level: 'community' })}`);
    const auditCsv = csvRecords(await get<string>(`/api/audit?${q({ level: 'community', format: 'csv', district })}`));
    const withArea = auditCsv.filter((r) => r.area_key);
    expect([...new Set(withArea.map((r) => r.area_key))].sort()).toEqual(
      audit.areas
        .filter((a) => a.district === district)
        .map((a) => a.area_key)
        .sort(),
    );
    expect(new Set(withArea.map((r) => r.district))).toEqual(new Set([district]));
    for (const r of auditCsv) expect(new URLSearchParams(r.filters).get('district')).toBe(district);

    for (const route of ['coverage', 'audit']) {
      const r = await app.inject(`/api/${route}?${q({ level: 'community', format: 'geojson', district })}`);
      expect(r.statusCode).toBe(200);
      const fc = r.json() as {
        properties: { filters: unknown; provenance: { filters: string } };
        features: { id: string; properties: { district: string } }[];
      };
      expect(fc.properties.filters).toEqual({ district });
      expect(new URLSearchParams(fc.properties.provenance.filters).get('district')).toBe(district);
      expect(new Set(fc.features.map((f) => f.properties.district)), route).toEqual(new Set([district]));
      expect(fc.features.length).toBeGreaterThan(0);
    }
  });

  it('refuses an empty or over-long place name, naming the parameter', async () => {
    for (const url of ['/api/coverage?district=', `/api/audit?street=${'街'.repeat(201)}`]) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().error.code).toBe('invalid_parameter');
      expect(r.json().error.message).toMatch(/district|street/);
    }
  });
});

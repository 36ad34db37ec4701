import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot, readConfig } from '../server/config.ts';
import { resolveDatabaseUrl } from '../server/db/local-cluster.ts';
import { migrate } from '../server/db/migrate.ts';
import { importCommunities } from '../server/import/import-communities.ts';
import { formatProblem, ImportValidationError, importFacilities } from '../server/import/import-facilities.ts';
import { toWgs84 } from '../server/import/register-crs.ts';
import { importDefaultSampleRegisters, SAMPLE_REGISTERS } from '../server/import/sample-registers.ts';
import { createPool } from '../server/db/pool.ts';
import { MAX_NAME_CHARS, MAX_NOTES_CHARS } from '../server/limits.ts';
import { testRandom } from '../geo/fixtures/random-walk-graph.ts';

// coordtransform (an independent GCJ-02/BD-09 implementation) is CommonJS without typings.
const coordtransform = createRequire(import.meta.url)('coordtransform') as Record<
  'wgs84togcj02' | 'gcj02towgs84' | 'gcj02tobd09' | 'bd09togcj02',
  (lng: number, lat: number) => [number, number]
>;

const FIXTURES = path.join(projectRoot, 'test', 'fixtures', 'registers');
const fixture = (name: string) => path.join(FIXTURES, name);
// data/README.md: the Chengdu extract the project ships for tests and the demo.
const CHENGDU_BBOX = { minLng: 104.0421, maxLng: 104.1296, minLat: 30.6528, maxLat: 30.7279 };

/** Haversine distance in metres (mean Earth radius, IUGG). */
function distanceM(a: readonly number[], b: readonly number[]): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLng = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(h));
}

let adminUrl: string;
let scratchName: string;
let pool: pg.Pool;
let tmpDir: string;

beforeAll(async () => {
  const base = new URL(resolveDatabaseUrl(readConfig()));
  scratchName = `register_test_${crypto.randomBytes(4).toString('hex')}`;
  base.pathname = '/postgres';
  adminUrl = base.toString();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${scratchName}`);
  await admin.end();
  base.pathname = `/${scratchName}`;
  await migrate(base.toString());
  pool = createPool(base.toString(), { max: 4 });
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'register-test-'));
}, 120_000);

afterAll(async () => {
  await pool?.end();
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  if (scratchName) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${scratchName} WITH (FORCE)`);
    await admin.end();
  }
}, 60_000);

// Every test starts from an empty scratch database and imports what it needs.
beforeEach(async () => {
  await pool.query('TRUNCATE datasets CASCADE');
});

const scratchUrl = () => {
  const u = new URL(adminUrl);
  u.pathname = `/${scratchName}`;
  return u.toString();
};

async function tableCounts(): Promise<Record<string, number>> {
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM datasets) AS datasets, (SELECT count(*) FROM facilities) AS facilities,
            (SELECT count(*) FROM facility_access_points) AS access_points, (SELECT count(*) FROM communities) AS communities`,
  );
  return Object.fromEntries(Object.entries(rows[0]).map(([k, v]) => [k, Number(v)]));
}

async function registerFacilities(category: string) {
  const { rows } = await pool.query<{
    dataset_id: number;
    name: string;
    lng: number;
    lat: number;
    capacity: number | null;
    address: string | null;
    source: string;
    source_ref: string;
    is_sample: boolean;
  }>(
    `SELECT f.dataset_id, f.name, ST_X(f.geom) AS lng, ST_Y(f.geom) AS lat, f.capacity, f.address, f.source, f.source_ref, f.is_sample
     FROM facilities f JOIN datasets d ON d.id = f.dataset_id
     WHERE d.kind = 'facility_register' AND f.category = $1 ORDER BY f.id`,
    [category],
  );
  return rows;
}

/** Write `points` as a register CSV in the scratch folder. */
function writeCsv(name: string, points: ReadonlyArray<readonly [number, number]>): string {
  const file = path.join(tmpDir, name);
  fs.writeFileSync(file, ['name,lng,lat', ...points.map((p, i) => `point ${i},${p[0]},${p[1]}`)].join('\n'));
  return file;
}

describe('coordinate conversion (gcoord against coordtransform)', () => {
  it('matches published fixed points within 1 m', () => {
    // coordtransform test/app.js: wgs84togcj02(116.404, 39.915) and gcj02towgs84(116.404, 39.915), bd09togcj02(116.404, 39.915).
    expect(distanceM(toWgs84([116.41024449916938, 39.91640428150164], 'gcj02'), [116.404, 39.915])).toBeLessThan(1);
    expect(distanceM(toWgs84([116.404, 39.915], 'gcj02'), [116.39775550083061, 39.91359571849836])).toBeLessThan(1);
    expect(
      distanceM(toWgs84([116.404, 39.915], 'bd09'), toWgs84([116.39762729119315, 39.90865673957631], 'gcj02')),
    ).toBeLessThan(1);
    // The GCJ-02 offset in central Chengdu is a few hundred metres: the conversion really moved the point.
    const tianfu: [number, number] = [104.0657, 30.6574];
    const shift = distanceM(toWgs84(tianfu, 'gcj02'), tianfu);
    expect(shift).toBeGreaterThan(200);
    expect(shift).toBeLessThan(800);
    expect(toWgs84(tianfu, 'wgs84')).toEqual(tianfu);
  });

  it('imports GCJ-02 and BD-09 points within 1 m of the reference and round-trips WGS 84', async () => {
    const rand = testRandom(20260101).float; // seeded, so failures reproduce
    const wgs: [number, number][] = [];
    const b = CHENGDU_BBOX;
    for (let i = 0; i < 200; i++)
      wgs.push([b.minLng + rand() * (b.maxLng - b.minLng), b.minLat + rand() * (b.maxLat - b.minLat)]);
    const gcj = wgs.map((p) => coordtransform.wgs84togcj02(p[0], p[1]));
    const bd = gcj.map((p) => coordtransform.gcj02tobd09(p[0], p[1]));

    await importFacilities(pool, writeCsv('random-gcj02.csv', gcj), { category: 'health', crs: 'gcj02' });
    let stored = await registerFacilities('health');
    expect(stored).toHaveLength(200);
    let worstReference = 0;
    let worstRoundTrip = 0;
    stored.forEach((f, i) => {
      const reference = coordtransform.gcj02towgs84(gcj[i][0], gcj[i][1]);
      worstReference = Math.max(worstReference, distanceM([f.lng, f.lat], reference));
      worstRoundTrip = Math.max(worstRoundTrip, distanceM([f.lng, f.lat], wgs[i]));
    });
    expect(worstReference).toBeLessThan(1);
    // Forward GCJ-02 is exact; our iterated inverse must undo it to well under a centimetre.
    expect(worstRoundTrip).toBeLessThan(0.01);

    await importFacilities(pool, writeCsv('random-bd09.csv', bd), { category: 'market', crs: 'bd09' });
    stored = await registerFacilities('market');
    expect(stored).toHaveLength(200);
    worstReference = 0;
    worstRoundTrip = 0;
    stored.forEach((f, i) => {
      const g = coordtransform.bd09togcj02(bd[i][0], bd[i][1]);
      worstReference = Math.max(worstReference, distanceM([f.lng, f.lat], coordtransform.gcj02towgs84(g[0], g[1])));
      worstRoundTrip = Math.max(worstRoundTrip, distanceM([f.lng, f.lat], wgs[i]));
    });
    expect(worstReference).toBeLessThan(1);
    // The published BD-09 → GCJ-02 formula is not an exact inverse of GCJ-02 → BD-09 (≈0.1 m).
    expect(worstRoundTrip).toBeLessThan(0.5);
  });

  it('rejects GCJ-02 coordinates outside China', async () => {
    const file = writeCsv('paris-gcj02.csv', [[2.3522, 48.8566]]);
    const err = await importFacilities(pool, file, { category: 'sports', crs: 'gcj02' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportValidationError);
    expect((err as ImportValidationError).problems.map((p) => [p.line, p.field])).toEqual([[2, 'lng']]);
    // The same point is fine in WGS 84.
    await expect(importFacilities(pool, file, { category: 'sports', crs: 'wgs84' })).resolves.toMatchObject({
      counts: { facilities: { sports: 1 } },
    });
  });
});

describe('facility registers', () => {
  it('imports a GCJ-02 CSV with a facility, access point and provenance per row', async () => {
    const before = await tableCounts();
    const r = await importFacilities(pool, fixture('elderly-care-gcj02.csv'), {
      category: 'elderly_care',
      crs: 'gcj02',
    });
    expect(r.counts).toEqual({ rows: 5, facilities: { elderly_care: 5 }, skipped_invalid: 0 });
    expect(r.skipped).toEqual([]);
    const after = await tableCounts();
    expect(after.facilities - before.facilities).toBe(5);
    expect(after.access_points - before.access_points).toBe(5);
    const rows = await registerFacilities('elderly_care');
    expect(rows.map((f) => f.source_ref)).toEqual(['line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
    expect(rows.every((f) => f.source === 'register:elderly-care-gcj02.csv' && !f.is_sample)).toBe(true);
    expect(rows.map((f) => f.capacity)).toEqual([20, null, 0, 60, 8]);
    expect(rows[4].address).toBe('测试巷 5 号, 2 楼 (synthetic)');
    const reference = coordtransform.gcj02towgs84(104.080512, 30.668231);
    expect(distanceM([rows[0].lng, rows[0].lat], reference)).toBeLessThan(1);
    const { rows: ds } = await pool.query(
      `SELECT kind, source, category, crs, is_sample, sha256, bbox IS NOT NULL AS has_bbox FROM datasets WHERE id = $1`,
      [r.datasetId],
    );
    expect(ds[0]).toMatchObject({
      kind: 'facility_register',
      source: 'elderly-care-gcj02.csv',
      category: 'elderly_care',
      crs: 'gcj02',
      is_sample: false,
      has_bbox: true,
    });
    expect(ds[0].sha256).toBe(
      crypto
        .createHash('sha256')
        .update(fs.readFileSync(fixture('elderly-care-gcj02.csv')))
        .digest('hex'),
    );
    const { rows: ap } = await pool.query(
      `SELECT count(*)::int AS n FROM facility_access_points a JOIN facilities f ON f.id = a.facility_id
       WHERE f.dataset_id = $1 AND a.kind = 'point' AND ST_Equals(a.geom, f.geom)`,
      [r.datasetId],
    );
    expect(ap[0].n).toBe(5);
  });

  it('reads a BD-09 CSV with a BOM, CRLF line ends, header in any case and an extra column', async () => {
    const r = await importFacilities(pool, fixture('community-service-bd09-bom-crlf.csv'), {
      category: 'community_service',
      crs: 'bd09',
    });
    expect(r.counts.facilities).toEqual({ community_service: 4 });
    expect(r.warnings).toContain('line 1: ignored the column(s) "phone"');
    const rows = await registerFacilities('community_service');
    expect(rows.map((f) => [f.name, f.source_ref])).toEqual([
      ['测试 子 党群服务中心 (synthetic)', 'line 2'],
      ['测试 丑 便民服务中心 (synthetic)', 'line 3'],
      ['测试 寅 综合服务站 (synthetic)', 'line 4'],
      ['测试 卯 社区服务中心 (synthetic)', 'line 5'],
    ]);
    const g = coordtransform.bd09togcj02(104.08712, 30.67248);
    expect(distanceM([rows[0].lng, rows[0].lat], coordtransform.gcj02towgs84(g[0], g[1]))).toBeLessThan(1);
  });

  it('reports every bad row with line, field and reason and imports nothing', async () => {
    await importFacilities(pool, fixture('elderly-care-gcj02.csv'), { category: 'elderly_care', crs: 'gcj02' });
    const before = await tableCounts();
    const registerBefore = await registerFacilities('elderly_care');
    const err = await importFacilities(pool, fixture('elderly-care-bad-rows.csv'), {
      category: 'elderly_care',
      crs: 'gcj02',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportValidationError);
    const problems = (err as ImportValidationError).problems;
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [3, 'name'],
      [4, 'lat'],
      [5, 'lng'],
      [6, 'capacity'],
      [7, 'capacity'],
      [8, 'name'],
      [11, 'lat'],
      [15, 'capacity'],
    ]);
    expect(problems.map(formatProblem)).toEqual([
      'line 3, field name: "" is empty',
      'line 4, field lat: "abc" is not a number',
      'line 5, field lng: "2.3522" is outside China (73–136 E), where GCJ-02 is not defined',
      'line 6, field capacity: "-3" is negative',
      'line 7, field capacity: "2.5" is not a whole number',
      'line 8, field name: "测试 甲 养老服务站 (synthetic)" duplicates line 2 (same name, lng and lat)',
      'line 11, field lat: "95.5" is outside -90…90',
      'line 15, field capacity: "many" is not a number',
    ]);
    expect(await tableCounts()).toEqual(before);
    expect(await registerFacilities('elderly_care')).toEqual(registerBefore);
  });

  it('refuses a NUL character and an over-long name or address with line, field and value, importing nothing', async () => {
    // Regression: a NUL in a name was a raw database error without a line number, and a
    // 2,000,000-character name imported and then made every proximity answer 2 MB.
    await importFacilities(pool, fixture('elderly-care-gcj02.csv'), { category: 'elderly_care', crs: 'gcj02' });
    const before = await tableCounts();
    const registerBefore = await registerFacilities('elderly_care');
    const file = path.join(tmpDir, 'text-limits.csv');
    fs.writeFileSync(
      file,
      [
        'name,lng,lat,capacity,address',
        'fine,104.08,30.67,,',
        'bad\u0000name,104.081,30.671,,',
        `${'长'.repeat(2_000_000)},104.082,30.672,,`,
        `ok,104.083,30.673,,${'x'.repeat(MAX_NOTES_CHARS + 1)}`,
        `${'名'.repeat(MAX_NAME_CHARS)},104.084,30.674,,`,
      ].join('\n'),
    );
    const err = await importFacilities(pool, file, { category: 'elderly_care', crs: 'gcj02' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportValidationError);
    expect((err as ImportValidationError).problems.map(formatProblem)).toEqual([
      'line 3, field name: "bad\\u0000name" contains a NUL character (U+0000)',
      `line 4, field name: "${'长'.repeat(77)}…" is 2000000 characters long; at most ${MAX_NAME_CHARS}`,
      `line 5, field address: "${'x'.repeat(77)}…" is ${MAX_NOTES_CHARS + 1} characters long; at most ${MAX_NOTES_CHARS}`,
    ]);
    expect(await tableCounts()).toEqual(before);
    expect(await registerFacilities('elderly_care')).toEqual(registerBefore);
  });

  it('imports the valid rows with skipInvalid and reports the others', async () => {
    const r = await importFacilities(pool, fixture('elderly-care-bad-rows.csv'), {
      category: 'kindergarten',
      crs: 'gcj02',
      skipInvalid: true,
    });
    expect(r.counts).toEqual({ rows: 12, facilities: { kindergarten: 4 }, skipped_invalid: 8 });
    expect(r.skipped.map((p) => p.line)).toEqual([3, 4, 5, 6, 7, 8, 11, 15]);
    expect(r.warnings).toContain('line 4, field lat: "abc" is not a number');
    const rows = await registerFacilities('kindergarten');
    expect(rows.map((f) => f.source_ref)).toEqual(['line 2', 'line 9', 'line 12', 'line 13']);
    expect(rows[3].address).toBe('测试地址第一行\n第二行 (synthetic)');
  });

  it('replaces the previous register of the same category atomically and leaves other categories alone', async () => {
    await importFacilities(pool, fixture('community-service-bd09-bom-crlf.csv'), {
      category: 'community_service',
      crs: 'bd09',
    });
    const first = await importFacilities(pool, fixture('elderly-care-gcj02.csv'), {
      category: 'primary_school',
      crs: 'gcj02',
    });
    const other = await registerFacilities('community_service');
    expect(other).toHaveLength(4);
    const second = await importFacilities(pool, fixture('elderly-care-wgs84.geojson'), {
      category: 'primary_school',
      crs: 'wgs84',
    });
    expect(second.replacedDatasetIds).toEqual([first.datasetId]);
    const rows = await registerFacilities('primary_school');
    expect(rows.map((f) => [f.dataset_id, f.name, f.capacity, f.source_ref])).toEqual([
      [second.datasetId, '测试 新 养老服务中心 (synthetic)', 80, 'features[0]'],
      [second.datasetId, '测试 新 日间照料中心 (synthetic)', 12, 'features[1]'],
    ]);
    expect(rows[0].lng).toBeCloseTo(104.0921, 9);
    const { rows: gone } = await pool.query(`SELECT count(*)::int AS n FROM facilities WHERE dataset_id = $1`, [
      first.datasetId,
    ]);
    expect(gone[0].n).toBe(0);
    expect(await registerFacilities('community_service')).toEqual(other);

    // A failed re-import leaves the current register as it was.
    await expect(
      importFacilities(pool, fixture('elderly-care-bad-rows.csv'), { category: 'primary_school', crs: 'gcj02' }),
    ).rejects.toBeInstanceOf(ImportValidationError);
    expect(await registerFacilities('primary_school')).toEqual(rows);
  });

  it('keeps serving the old register to readers until the new one commits', async () => {
    const old = await importFacilities(pool, fixture('elderly-care-gcj02.csv'), {
      category: 'middle_school',
      crs: 'gcj02',
    });
    const reader = await pool.connect();
    const holder = await pool.connect();
    const count = async () =>
      (
        await reader.query<{ n: number; datasets: number[] }>(
          `SELECT count(*)::int AS n, array_agg(DISTINCT dataset_id) AS datasets FROM facilities WHERE category = 'middle_school'`,
        )
      ).rows[0];
    try {
      // A share lock on the old dataset row stops the next import at its DELETE, after it has
      // written the new facilities and access points but before it commits.
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM datasets WHERE id = $1 FOR SHARE`, [old.datasetId]);
      const pending = importFacilities(pool, fixture('elderly-care-wgs84.geojson'), {
        category: 'middle_school',
        crs: 'wgs84',
      });
      let waiting = false;
      for (let i = 0; i < 600 && !waiting; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const { rows } = await reader.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM datasets%'`,
        );
        waiting = rows[0].n > 0;
      }
      expect(waiting).toBe(true);
      expect(await count()).toEqual({ n: 5, datasets: [old.datasetId] });
      await holder.query('COMMIT');
      const fresh = await pending;
      expect(await count()).toEqual({ n: 2, datasets: [fresh.datasetId] });
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
      reader.release();
    }
  });

  it('rejects an unknown category; reads a GBK file as GBK, and refuses it read as UTF-8', async () => {
    await expect(
      importFacilities(pool, fixture('elderly-care-gcj02.csv'), { category: 'pharmacy', crs: 'gcj02' }),
    ).rejects.toThrow(/category must be one of/);
    const gbk = path.join(tmpDir, 'gbk.csv');
    // "名称" in GBK is C3 FB B3 C6: not UTF-8.
    fs.writeFileSync(
      gbk,
      Buffer.concat([Buffer.from([0xc3, 0xfb, 0xb3, 0xc6]), Buffer.from(',lng,lat\nx,104.08,30.67\n')]),
    );
    await expect(importFacilities(pool, gbk, { category: 'health', crs: 'gcj02', encoding: 'utf-8' })).rejects.toThrow(
      /line 1, field header: ".*" is not valid UTF-8/,
    );
    expect(await registerFacilities('health')).toEqual([]);
    const r = await importFacilities(pool, gbk, { category: 'health', crs: 'gcj02' });
    expect(r.warnings).toContain('gbk.csv is not UTF-8: read as GBK/GB18030 (give --encoding to choose)');
    expect((await registerFacilities('health')).map((f) => f.name)).toEqual(['x']);
  });

  it('the CLI prints one line per problem and exits 1', () => {
    const run = (args: string[]) =>
      spawnSync(
        path.join(projectRoot, 'node_modules', '.bin', 'tsx'),
        [path.join(projectRoot, 'server', 'cli', 'import.ts'), ...args],
        {
          cwd: projectRoot,
          encoding: 'utf8',
          env: { ...process.env, DATABASE_URL: scratchUrl() },
        },
      );
    const bad = run(['facilities', fixture('elderly-care-bad-rows.csv'), '--category', 'sports', '--crs', 'gcj02']);
    expect(bad.status).toBe(1);
    const lines = bad.stderr.split('\n');
    expect(lines).toContain('line 4, field lat: "abc" is not a number');
    expect(lines).toContain('line 15, field capacity: "many" is not a number');
    expect(
      lines.some((l) => l.startsWith('error: 8 invalid rows in elderly-care-bad-rows.csv; nothing imported')),
    ).toBe(true);
    const skipped = run([
      'facilities',
      fixture('elderly-care-bad-rows.csv'),
      '--category',
      'sports',
      '--crs',
      'gcj02',
      '--skip-invalid',
    ]);
    expect(skipped.status).toBe(0);
    expect(JSON.parse(skipped.stdout).counts).toEqual({ rows: 12, facilities: { sports: 4 }, skipped_invalid: 8 });
  }, 60_000);
});

describe('sample registers', () => {
  it('imports both shipped registers, labelled sample and inside central Chengdu', async () => {
    const outcomes = await importDefaultSampleRegisters(pool);
    expect(outcomes.map((o) => o.category)).toEqual(SAMPLE_REGISTERS.map((r) => r.category));
    for (const { category, result } of outcomes) {
      expect(result).not.toBeNull();
      const rows = await registerFacilities(category);
      expect(rows.length).toBeGreaterThanOrEqual(12);
      expect(rows.length).toBeLessThanOrEqual(20);
      for (const f of rows) {
        expect(f.is_sample).toBe(true);
        expect(f.name).toMatch(/^示例 .+ \(sample\)$/);
        expect(f.lng).toBeGreaterThan(CHENGDU_BBOX.minLng);
        expect(f.lng).toBeLessThan(CHENGDU_BBOX.maxLng);
        expect(f.lat).toBeGreaterThan(CHENGDU_BBOX.minLat);
        expect(f.lat).toBeLessThan(CHENGDU_BBOX.maxLat);
      }
      const { rows: ds } = await pool.query(`SELECT is_sample, crs FROM datasets WHERE id = $1`, [result!.datasetId]);
      expect(ds[0]).toEqual({ is_sample: true, crs: 'gcj02' });
    }
  });

  it('never replaces a real register', async () => {
    const real = await importFacilities(pool, fixture('elderly-care-gcj02.csv'), {
      category: 'elderly_care',
      crs: 'gcj02',
    });
    const outcomes = await importDefaultSampleRegisters(pool, ['elderly_care']);
    expect(outcomes).toEqual([{ category: 'elderly_care', result: null }]);
    expect((await registerFacilities('elderly_care')).every((f) => f.dataset_id === real.datasetId)).toBe(true);
  });
});

describe('community boundaries', () => {
  async function communities() {
    const { rows } = await pool.query<{
      dataset_id: number;
      name: string;
      street: string | null;
      district: string | null;
      population: number | null;
      elderly_population: number | null;
      valid: boolean;
      type: string;
      parts: number;
    }>(
      `SELECT c.dataset_id, c.name, c.street, c.district, c.population, c.elderly_population, ST_IsValid(c.geom) AS valid,
              GeometryType(c.geom) AS type, ST_NumGeometries(c.geom) AS parts
       FROM communities c JOIN datasets d ON d.id = c.dataset_id WHERE d.kind = 'communities' ORDER BY c.id`,
    );
    return rows;
  }

  it('repairs a self-intersecting (bow-tie) polygon and reports it', async () => {
    const r = await importCommunities(pool, fixture('communities-bowtie.geojson'));
    expect(r.counts).toEqual({ features: 3, communities: 3, repaired: 1, skipped_invalid: 0 });
    expect(r.repaired).toHaveLength(1);
    expect(r.repaired[0]).toMatchObject({ feature: 1, name: '测试 乙社区 (synthetic, bow-tie)', polygons: 2 });
    expect(r.repaired[0].reason).toMatch(/^Self-intersection\[104\.103\d* 30\.662\d*\]/);
    expect(
      r.warnings.some((w) =>
        w.startsWith('features[1] ("测试 乙社区 (synthetic, bow-tie)"): invalid geometry (Self-intersection'),
      ),
    ).toBe(true);
    const rows = await communities();
    expect(rows.map((c) => [c.name, c.valid, c.type, c.parts])).toEqual([
      ['测试 甲社区 (synthetic)', true, 'MULTIPOLYGON', 1],
      ['测试 乙社区 (synthetic, bow-tie)', true, 'MULTIPOLYGON', 2],
      ['测试 丙社区 (synthetic, two parts)', true, 'MULTIPOLYGON', 2],
    ]);
    expect(rows[0]).toMatchObject({
      street: '测试街道 (synthetic)',
      district: '成华区',
      population: 8200,
      elderly_population: 1650,
    });
    expect(rows[1].population).toBe(5400);
  });

  it('rejects a missing name, a negative count and an unrepairable polygon, importing nothing', async () => {
    await importCommunities(pool, fixture('communities-bowtie.geojson'));
    const before = await tableCounts();
    const existing = await communities();
    expect(existing).toHaveLength(3);
    const err = await importCommunities(pool, fixture('communities-invalid.geojson')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportValidationError);
    expect((err as ImportValidationError).problems.map(formatProblem)).toEqual([
      'features[0], field name: "" is missing',
      expect.stringMatching(/^features\[1\], field geometry: ".+" leaves no area after ST_MakeValid$/),
      'features[2], field elderly_population: "-5" is negative',
    ]);
    expect(await tableCounts()).toEqual(before);
    expect(await communities()).toEqual(existing);
  });

  it('imports the valid features with skipInvalid, closing an unclosed ring, and replaces the previous boundaries', async () => {
    const previous = await importCommunities(pool, fixture('communities-bowtie.geojson'));
    const r = await importCommunities(pool, fixture('communities-invalid.geojson'), { skipInvalid: true });
    expect(r.counts).toEqual({ features: 4, communities: 1, repaired: 0, skipped_invalid: 3 });
    expect(r.replacedDatasetIds).toEqual([previous.datasetId]);
    expect(r.warnings).toContain('features[3] ("测试 己社区 (synthetic)"): closed 1 unclosed ring(s)');
    const rows = await communities();
    expect(rows.map((c) => [c.dataset_id, c.name, c.valid])).toEqual([[r.datasetId, '测试 己社区 (synthetic)', true]]);
  });

  it('converts every vertex from GCJ-02', async () => {
    const r = await importCommunities(pool, fixture('communities-bowtie.geojson'), { crs: 'gcj02' });
    const { rows } = await pool.query<{ lng: number; lat: number }>(
      `SELECT ST_X(p.geom) AS lng, ST_Y(p.geom) AS lat FROM communities c, ST_DumpPoints(c.geom) p
       WHERE c.dataset_id = $1 AND c.name = '测试 甲社区 (synthetic)' ORDER BY p.path LIMIT 1`,
      [r.datasetId],
    );
    expect(distanceM([rows[0].lng, rows[0].lat], coordtransform.gcj02towgs84(104.09, 30.66))).toBeLessThan(1);
  });
});

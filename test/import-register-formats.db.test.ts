import { VectorTile } from '@mapbox/vector-tile';
import { execFileSync } from 'node:child_process';
import { PbfReader } from 'pbf';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import {
  formatProblem,
  ImportValidationError,
  importFacilities,
  type ImportFacilitiesOptions,
} from '../server/import/import-facilities.ts';
import { ensureGdal } from '../server/import/read-register.ts';
import { activeDataset } from '../server/queries/datasets.ts';
import { createPool } from '../server/db/pool.ts';
import { testRandom } from '../geo/fixtures/random-walk-graph.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// Golden imports of register files made here with GDAL (ogr2ogr writes XLSX, Shapefile, GeoPackage)
// and iconv (GBK), into a copy of the 双桥子 OSM cut (parks, water, residents).

// coordtransform (an independent GCJ-02 implementation) is CommonJS without typings.
const coordtransform = createRequire(import.meta.url)('coordtransform') as Record<
  'wgs84togcj02' | 'gcj02towgs84',
  (lng: number, lat: number) => [number, number]
>;

/** Haversine distance in metres (mean Earth radius, IUGG). */
function distanceM(a: readonly number[], b: readonly number[]): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLng = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(h));
}

let db: TestDatabase;
let pool: pg.Pool;
let dir: string;

beforeAll(async () => {
  ensureGdal(); // the fixtures are made with ogr2ogr and gdaltransform (Debian gdal-bin)
  db = await createTestDatabase('shuangqiaozi');
  pool = createPool(db.url, { max: 3 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'register-formats-'));
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const file = (name: string) => path.join(dir, name);
const ogr2ogr = (...args: string[]) => execFileSync('ogr2ogr', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** WGS 84 → EPSG:<srid> with GDAL's gdaltransform (PROJ), the reference for Gauss-Krüger. */
function gdalTransform(
  points: ReadonlyArray<readonly number[]>,
  to: string,
  from = '+proj=longlat +datum=WGS84',
): number[][] {
  const out = execFileSync('gdaltransform', ['-s_srs', from, '-t_srs', to, '-output_xy'], {
    input: points.map((p) => `${p[0]} ${p[1]}`).join('\n') + '\n',
    encoding: 'utf8',
  });
  return out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
}

async function snapshot() {
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM datasets) AS datasets, (SELECT count(*) FROM facilities) AS facilities,
            (SELECT count(*) FROM facility_access_points) AS access_points,
            (SELECT count(*) FROM facilities WHERE replaced_by IS NOT NULL) AS replaced`,
  );
  return rows[0];
}

/** Expect the import to be refused with problems matching `expected` (formatted), and nothing changed. */
async function expectRefused(options: ImportFacilitiesOptions, path_: string, expected: RegExp): Promise<string[]> {
  const before = await snapshot();
  const err = await importFacilities(pool, path_, options).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ImportValidationError);
  const lines = [(err as Error).message, ...(err as ImportValidationError).problems.map(formatProblem)];
  expect(lines.join('\n')).toMatch(expected);
  expect(await snapshot()).toEqual(before);
  return lines;
}

async function registerRows(category: string) {
  const { rows } = await pool.query<{
    id: string;
    name: string;
    source_ref: string;
    capacity: number | null;
    address: string | null;
    lng: number;
    lat: number;
    area_m2: number | null;
    geojson: string;
  }>(
    `SELECT f.id, f.name, f.source_ref, f.capacity, f.address, ST_X(ST_PointOnSurface(f.geom)) AS lng, ST_Y(ST_PointOnSurface(f.geom)) AS lat, f.area_m2, ST_AsGeoJSON(f.geom) AS geojson
     FROM facilities f JOIN datasets d ON d.id = f.dataset_id WHERE d.kind = 'facility_register' AND f.category = $1 ORDER BY f.id`,
    [category],
  );
  return rows;
}

/** Seeded WGS 84 points inside the 双桥子 residential extent. */
function randomPoints(n: number, seed: number): [number, number][] {
  const rand = testRandom(seed).float;
  return Array.from({ length: n }, () => [104.086 + rand() * 0.03, 30.652 + rand() * 0.03] as [number, number]);
}

describe('XLSX with Chinese headers and GCJ-02 points', () => {
  const wgs = randomPoints(12, 11);
  const gcj = wgs.map((p) => coordtransform.wgs84togcj02(p[0], p[1]));

  function writeXlsx(name: string, header: string, rows: string[]): string {
    const csv = file(`${name}.csv`);
    fs.writeFileSync(csv, [header, ...rows].join('\n') + '\n');
    const out = file(`${name}.xlsx`);
    fs.rmSync(out, { force: true });
    ogr2ogr('-f', 'XLSX', out, csv, '-nln', '养老机构名录');
    return out;
  }

  it('finds 机构名称/地址/经度/纬度/床位数 and converts GCJ-02 within 1 m of coordtransform', async () => {
    const xlsx = writeXlsx(
      'elderly',
      '机构名称,地址,经度,纬度,床位数,联系电话',
      gcj.map((p, i) => `测试养老院 ${i},成华区测试路 ${i} 号,${p[0]},${p[1]},${10 * i},028-0000000${i % 10}`),
    );
    const r = await importFacilities(pool, xlsx, { category: 'elderly_care', crs: 'gcj02' });
    expect(r.counts).toEqual({ rows: 12, facilities: { elderly_care: 12 }, skipped_invalid: 0 });
    expect(r.warnings).toContain('row 1: ignored the column(s) "联系电话"');
    const rows = await registerRows('elderly_care');
    expect(rows.map((f) => f.source_ref)).toEqual(gcj.map((_, i) => `row ${i + 2}`));
    expect(rows.map((f) => [f.name, f.capacity, f.address])).toEqual(
      gcj.map((_, i) => [`测试养老院 ${i}`, 10 * i, `成华区测试路 ${i} 号`]),
    );
    let worst = 0;
    rows.forEach((f, i) => {
      worst = Math.max(worst, distanceM([f.lng, f.lat], coordtransform.gcj02towgs84(gcj[i][0], gcj[i][1])));
    });
    console.log(`XLSX GCJ-02: worst distance to coordtransform ${worst.toFixed(3)} m over ${rows.length} points`);
    expect(worst).toBeLessThan(1);
  });

  it('refuses a sheet without a latitude column, listing the headers found, changing nothing', async () => {
    const xlsx = writeXlsx('no-lat', '机构名称,经度,床位数', ['测试养老院,104.09,10']);
    await expectRefused(
      { category: 'elderly_care', crs: 'gcj02' },
      xlsx,
      /row 1, field lat: .* has no "lat" column \(recognised: lat, latitude, y, 纬度; headers found: "机构名称", "经度", "床位数"\)/,
    );
  });

  it('takes --columns for headers it does not know', async () => {
    const xlsx = writeXlsx('own-headers', '单位,X坐标,Y坐标', [`测试站,${gcj[0][0]},${gcj[0][1]}`]);
    await expectRefused({ category: 'community_service', crs: 'gcj02' }, xlsx, /has no "name" column/);
    const r = await importFacilities(pool, xlsx, {
      category: 'community_service',
      crs: 'gcj02',
      columns: { name: '单位', lng: 'X坐标', lat: 'Y坐标' },
    });
    expect(r.counts.facilities).toEqual({ community_service: 1 });
  });
});

describe('CSV', () => {
  it('reads a GBK export (AMap header) by detection, and refuses it read as UTF-8 naming row, field and value', async () => {
    const utf8 = file('amap-utf8.csv');
    const wgs = randomPoints(3, 21);
    fs.writeFileSync(
      utf8,
      [
        '#,id,name,lon,lat,address,province,city,district,type',
        ...wgs.map(
          (p, i) => `${i + 1},B0FF${i},测试公园${i},${p[0]},${p[1]},成华区${i}号,四川省,成都市,成华区,风景名胜`,
        ),
      ].join('\n') + '\n',
    );
    const gbk = file('amap-gbk.csv');
    execFileSync('sh', ['-c', `iconv -f UTF-8 -t GBK "${utf8}" > "${gbk}"`]);
    expect(fs.readFileSync(gbk).equals(fs.readFileSync(utf8))).toBe(false);
    await expectRefused(
      { category: 'market', crs: 'wgs84', encoding: 'utf-8' },
      gbk,
      /line 2, field name: ".*" is not valid UTF-8 \(a GBK file read as UTF-8\? try --encoding gbk\)/,
    );
    const r = await importFacilities(pool, gbk, { category: 'market', crs: 'wgs84' });
    expect(r.warnings[0]).toBe('amap-gbk.csv is not UTF-8: read as GBK/GB18030 (give --encoding to choose)');
    const rows = await registerRows('market');
    expect(rows.map((f) => [f.name, f.address])).toEqual(wgs.map((_, i) => [`测试公园${i}`, `成华区${i}号`]));
    rows.forEach((f, i) => expect(distanceM([f.lng, f.lat], wgs[i])).toBeLessThan(0.01));
    const again = await importFacilities(pool, gbk, { category: 'market', crs: 'wgs84', encoding: 'gbk' });
    expect(again.counts.facilities).toEqual({ market: 3 });
  });

  it('matches headers case- and width-insensitively, and refuses two candidates for one role', async () => {
    const wide = file('wide.csv');
    fs.writeFileSync(wide, 'ＮＡＭＥ,Ｌｎｇ,ＬＡＴ\n测试,104.09,30.66\n');
    expect((await importFacilities(pool, wide, { category: 'sports', crs: 'wgs84' })).counts.facilities).toEqual({
      sports: 1,
    });
    const both = file('both.csv');
    fs.writeFileSync(both, 'name,lon,x,lat\n测试,104.09,104.09,30.66\n');
    await expectRefused(
      { category: 'sports', crs: 'wgs84' },
      both,
      /lng is ambiguous: "lon" and "x" could both be the lng column; choose one with --columns lng=<header>/,
    );
  });

  it('refuses swapped columns, metres given as degrees and points off the network, naming row, field and value', async () => {
    const swapped = file('swapped.csv');
    fs.writeFileSync(swapped, 'name,lng,lat\n甲,104.09,30.66\n乙,30.661,104.091\n');
    await expectRefused(
      { category: 'health', crs: 'wgs84' },
      swapped,
      /line 3, field lng: "30.661" looks like a latitude \(and the latitude 104.091 like a longitude\): are the lng and lat columns swapped\?/,
    );
    const [xy] = gdalTransform([[104.09, 30.66]], 'EPSG:4544');
    const metres = file('metres.csv');
    fs.writeFileSync(metres, `name,x,y\n甲,${xy[0]},${xy[1]}\n乙,${35_000_000 + xy[0]},${xy[1]}\n`);
    await expectRefused(
      { category: 'health', crs: 'wgs84' },
      metres,
      /line 2, field x: "4\d{5}\.\d+" looks like projected metres, not degrees \(wgs84\): give --crs EPSG:<code>[\s\S]*line 3, field x: "354\d{5}\.\d+" looks like projected metres, not degrees \(wgs84\): the easting carries Gauss-Krüger zone 35: give --crs EPSG:4523/,
    );
    await expectRefused(
      { category: 'health', crs: 'cgcs2000' },
      metres,
      /looks like projected metres, not degrees \(cgcs2000 \(EPSG:4490\)\)/,
    );
    // The prefixed easting under the variant without prefix, and degrees under a projected CRS.
    await expectRefused(
      { category: 'health', crs: 'EPSG:4544' },
      metres,
      /line 3, field x: "354\d+\.\d+" carries the zone number 35 in front, but EPSG:4544 has none: give --crs EPSG:4523/,
    );
    await expectRefused(
      { category: 'health', crs: 'EPSG:4544' },
      swapped,
      /line 2, field lng: "104.09" looks like degrees, but EPSG:4544 is projected \(metres\)/,
    );
    // Right CRS: both rows land within 1 m of the point they were made from.
    const ok = file('metres-ok.csv');
    fs.writeFileSync(ok, `name,x,y\n甲,${xy[0]},${xy[1]}\n`);
    await importFacilities(pool, ok, { category: 'health', crs: 'EPSG:4544' });
    const prefixed = file('metres-prefixed.csv');
    fs.writeFileSync(prefixed, `name,x,y\n乙,${35_000_000 + xy[0]},${xy[1]}\n`);
    await importFacilities(pool, prefixed, { category: 'market', crs: 'EPSG:4523' });
    expect(
      distanceM([(await registerRows('health'))[0].lng, (await registerRows('health'))[0].lat], [104.09, 30.66]),
    ).toBeLessThan(1);
    expect(
      distanceM([(await registerRows('market'))[0].lng, (await registerRows('market'))[0].lat], [104.09, 30.66]),
    ).toBeLessThan(1);

    const far = file('far.csv');
    fs.writeFileSync(far, 'name,lng,lat\n近,104.09,30.66\n北京,116.404,39.915\n上海,121.47,31.23\n');
    await expectRefused(
      { category: 'sports', crs: 'wgs84' },
      far,
      /line 3, field lng,lat: "116.404,39.915" lies outside the street network's extent \(.*; 2 of 3 rows do\)[\s\S]*line 4, field lng,lat: "121.47,31.23"/,
    );
  });

  it('warns "looks like GCJ-02" when WGS 84 points land in the river but would not as GCJ-02', async () => {
    const { rows: wet } = await pool.query<{ lng: number; lat: number }>(
      `SELECT ST_X(p) AS lng, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM basemap_areas WHERE layer = 'water' AND class = 'riverbank' ORDER BY id) x`,
    );
    expect(wet.length).toBeGreaterThan(0);
    const river = file('river.csv');
    fs.writeFileSync(river, ['name,lng,lat', ...wet.map((p, i) => `河边 ${i},${p.lng},${p.lat}`)].join('\n') + '\n');
    const r = await importFacilities(pool, river, { category: 'education', crs: 'wgs84' });
    expect(
      r.warnings.some((w) =>
        /points land in water when read as wgs84 .* the file looks like GCJ-02 \(AMap, Tencent\); if so, import it with --crs gcj02/.test(
          w,
        ),
      ),
    ).toBe(true);
    const quiet = await importFacilities(pool, river, { category: 'education', crs: 'gcj02' });
    expect(quiet.warnings.some((w) => /looks like GCJ-02/.test(w))).toBe(false);
  });
});

describe('Shapefile of park polygons in CGCS2000 Gauss-Krüger zone 35 (EPSG:4544)', () => {
  let xinhua: { id: string; ring: number[][] };
  let forest: { id: string; lng: number; lat: number; area: number };

  beforeAll(async () => {
    const { rows } = await pool.query<{
      id: string;
      name: string;
      geojson: string;
      lng: number;
      lat: number;
      area_m2: number;
    }>(
      `SELECT f.id, f.name, ST_AsGeoJSON(ST_ExteriorRing(ST_GeometryN(f.geom, 1)), 9) AS geojson,
              ST_X(ST_PointOnSurface(f.geom)) AS lng, ST_Y(ST_PointOnSurface(f.geom)) AS lat, f.area_m2
       FROM facilities f JOIN datasets d ON d.id = f.dataset_id AND d.kind = 'osm'
       WHERE f.category = 'park' AND f.name IN ('新华公园', '成华森林公园') ORDER BY f.name`,
    );
    const byName = new Map(rows.map((r) => [r.name, r]));
    expect([...byName.keys()].sort()).toEqual(['成华森林公园', '新华公园']);
    xinhua = {
      id: byName.get('新华公园')!.id,
      ring: (JSON.parse(byName.get('新华公园')!.geojson) as { coordinates: number[][] }).coordinates,
    };
    const f = byName.get('成华森林公园')!;
    forest = { id: f.id, lng: f.lng, lat: f.lat, area: f.area_m2 };
  });

  /** The parks as a Shapefile in EPSG:4544 (or with zone-prefixed eastings), .prj kept or removed. */
  function writeShapefile(
    name: string,
    options: { prj: boolean; prefix?: number },
  ): { shp: string; wgsRings: number[][][] } {
    // 新华公园 as surveyed again (same ring) and a 30 m square 小游园 inside 成华森林公园.
    const d = 0.00015;
    const pocket = [
      [forest.lng - d, forest.lat - d],
      [forest.lng + d, forest.lat - d],
      [forest.lng + d, forest.lat + d],
      [forest.lng - d, forest.lat + d],
      [forest.lng - d, forest.lat - d],
    ];
    const wgsRings = [xinhua.ring, pocket];
    const features = wgsRings.map((ring, i) => ({
      type: 'Feature',
      properties: { 名称: i === 0 ? '新华公园 (register)' : '测试小游园', 地址: '成华区' },
      geometry: {
        type: 'Polygon',
        coordinates: [gdalTransform(ring, 'EPSG:4544').map((p) => [p[0] + (options.prefix ?? 0), p[1]])],
      },
    }));
    const src = file(`${name}.geojson`);
    fs.writeFileSync(src, JSON.stringify({ type: 'FeatureCollection', features }));
    const shp = file(`${name}.shp`);
    ogr2ogr(
      '-f',
      'ESRI Shapefile',
      shp,
      src,
      '-a_srs',
      options.prefix ? 'EPSG:4523' : 'EPSG:4544',
      '-lco',
      'ENCODING=UTF-8',
    );
    if (!options.prj) fs.rmSync(file(`${name}.prj`));
    return { shp, wgsRings };
  }

  async function expectVerticesWithin1m(wgsRings: number[][][]) {
    const rows = await registerRows('park');
    expect(rows.map((r) => r.name)).toEqual(['新华公园 (register)', '测试小游园']);
    let worst = 0;
    rows.forEach((r, i) => {
      const ring = (JSON.parse(r.geojson) as { coordinates: number[][][] }).coordinates[0];
      expect(ring.length).toBe(wgsRings[i].length);
      // ST_MakeValid may start the ring elsewhere: compare each vertex to the nearest reference vertex.
      for (const p of ring) worst = Math.max(worst, Math.min(...wgsRings[i].map((q) => distanceM(p, q))));
    });
    return worst;
  }

  it('with a .prj: read in EPSG:4544, within 1 m; replaces the OSM 新华公园 and adds the pocket park', async () => {
    const { shp, wgsRings } = writeShapefile('parks-prj', { prj: true });
    const before = await activeDataset(pool);
    const r = await importFacilities(pool, shp, { category: 'park' });
    expect(r.crs).toBe('EPSG:4544');
    const worst = await expectVerticesWithin1m(wgsRings);
    console.log(`Shapefile EPSG:4544 with .prj: worst vertex distance ${worst.toFixed(3)} m`);
    expect(worst).toBeLessThan(1);
    expect(r.replacedOsm.map((x) => [x.ref, x.osmName])).toEqual([['features[0]', '新华公园']]);
    expect(r.replacedOsm[0].shareOfOsm).toBeGreaterThan(0.99);
    expect(r.warnings).toContain(
      `features[0] (新华公园 (register)) replaces OSM park w459158575 (新华公园): they overlap 100 % of the register's area and 100 % of the OSM one's`,
    );
    const { rows: replaced } = await pool.query<{ id: string; replaced_by: string | null }>(
      `SELECT id, replaced_by FROM facilities WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [[xinhua.id, forest.id]],
    );
    const parks = await registerRows('park');
    expect(Object.fromEntries(replaced.map((x) => [x.id, x.replaced_by]))).toEqual({
      [xinhua.id]: parks[0].id,
      [forest.id]: null,
    });
    // Geodesic areas, and access points by the OSM entry rule (crossings / sampled boundary points).
    const { rows: xinhuaOsm } = await pool.query<{ area_m2: number }>(`SELECT area_m2 FROM facilities WHERE id = $1`, [
      xinhua.id,
    ]);
    expect(Math.abs(parks[0].area_m2! - xinhuaOsm[0].area_m2) / xinhuaOsm[0].area_m2).toBeLessThan(0.001);
    expect(parks[1].area_m2).toBeGreaterThan(800);
    expect(parks[1].area_m2).toBeLessThan(1100);
    const { rows: ap } = await pool.query<{ facility_id: string; n: number }>(
      `SELECT facility_id, count(*)::int AS n FROM facility_access_points WHERE facility_id = ANY($1::bigint[]) GROUP BY 1`,
      [parks.map((p) => p.id)],
    );
    // 新华公园 is entered; the test-made pocket park only where a public way lies within the 30 m
    // entry leg of its edge (README "Park entry"), checked here in PostGIS on its own
    const entered = new Set(ap.map((a) => String(a.facility_id)));
    expect(entered.has(String(parks[0].id))).toBe(true);
    const { rows: near } = await pool.query<{ near: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM walk_edges w, facilities f WHERE f.id = $1 AND NOT w.is_private
                        AND ST_DWithin(w.geom::geography, ST_Boundary(f.geom)::geography, 30)) AS near`,
      [parks[1].id],
    );
    expect(entered.has(String(parks[1].id))).toBe(near[0].near);
    // The map's facility tiles draw the register's 新华公园, not the OSM one under it as well.
    const z = 15;
    const lng = parks[0].lng;
    const lat = parks[0].lat;
    const tx = Math.floor(((lng + 180) / 360) * 2 ** z);
    const ty = Math.floor(
      ((1 - Math.log(Math.tan((lat * Math.PI) / 180) + 1 / Math.cos((lat * Math.PI) / 180)) / Math.PI) / 2) * 2 ** z,
    );
    const { rows: tile } = await pool.query<{ t: Buffer }>(`SELECT tile_facilities($1, $2, $3) AS t`, [z, tx, ty]);
    const areas = new VectorTile(new PbfReader(tile[0].t)).layers.facility_areas;
    const ids = Array.from({ length: areas.length }, (_, i) => String(areas.feature(i).properties.id));
    expect(ids).toContain(parks[0].id);
    expect(ids).not.toContain(xinhua.id);
    // The park count the API shows: one more (the pocket park), not two.
    const after = await activeDataset(pool);
    expect(after!.counts.facilities.park).toBe(before!.counts.facilities.park + 1);
  });

  it('without a .prj it needs --crs; with --crs EPSG:4544, and zone-prefixed eastings with EPSG:4523, the same within 1 m', async () => {
    const { shp, wgsRings } = writeShapefile('parks-noprj', { prj: false });
    await expectRefused({ category: 'park' }, shp, /parks-noprj.shp does not say its coordinate system: give --crs/);
    await expectRefused(
      { category: 'park', crs: 'wgs84' },
      shp,
      /features\[0\], field geometry x: "4\d+\.\d+" looks like projected metres, not degrees/,
    );
    await importFacilities(pool, shp, { category: 'park', crs: 'EPSG:4544' });
    expect(await expectVerticesWithin1m(wgsRings)).toBeLessThan(1);
    const prefixed = writeShapefile('parks-prefixed', { prj: false, prefix: 35_000_000 });
    await expectRefused(
      { category: 'park', crs: 'EPSG:4544' },
      prefixed.shp,
      /carries the zone number 35 in front, but EPSG:4544 has none: give --crs EPSG:4523/,
    );
    await importFacilities(pool, prefixed.shp, { category: 'park', crs: 'EPSG:4523' });
    const worst = await expectVerticesWithin1m(prefixed.wgsRings);
    console.log(`Shapefile EPSG:4523 (zone prefix) without .prj: worst vertex distance ${worst.toFixed(3)} m`);
    expect(worst).toBeLessThan(1);
    // Zipped, with the .prj: the same.
    const withPrj = writeShapefile('parks-zip', { prj: true });
    // GDAL writes a zipped Shapefile when the name ends in .shp.zip.
    const zip = file('parks.shp.zip');
    ogr2ogr('-f', 'ESRI Shapefile', zip, withPrj.shp, '-lco', 'ENCODING=UTF-8');
    const r = await importFacilities(pool, zip, { category: 'park' });
    expect(r.crs).toBe('EPSG:4544');
    expect(await expectVerticesWithin1m(withPrj.wgsRings)).toBeLessThan(1);
  });

  it('refuses a polygon for a point category', async () => {
    const { shp } = writeShapefile('parks-as-care', { prj: true });
    await expectRefused(
      { category: 'elderly_care' },
      shp,
      /features\[0\], field geometry: "Polygon" is an area, but elderly_care facilities are points/,
    );
  });
});

describe('GeoPackage of greenway lines (CGCS2000, EPSG:4490)', () => {
  it('makes greenway_1000 coverage non-zero and covers the residents within 1 km along the network', async () => {
    const cityCovered = async () =>
      (
        await pool.query<{ population: number; covered_population: number }>(
          `SELECT population, covered_population FROM coverage_area_results
       WHERE run_id = (SELECT max(id) FROM coverage_runs WHERE status = 'done') AND rule_id = 'greenway_1000' AND level = 'city'`,
        )
      ).rows;
    await computeCoverage(pool);
    const before = await cityCovered();
    expect(before.every((r) => r.covered_population === 0)).toBe(true);

    // A greenway along the 沙河 east bank: a line through the middle of the cut, as a planner's GeoPackage.
    const line = [
      [104.0985, 30.66],
      [104.1, 30.668],
      [104.102, 30.676],
    ];
    const src = file('greenway.geojson');
    fs.writeFileSync(
      src,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', properties: { name: '测试绿道' }, geometry: { type: 'LineString', coordinates: line } },
        ],
      }),
    );
    const gpkg = file('greenways.gpkg');
    ogr2ogr('-f', 'GPKG', gpkg, src, '-a_srs', 'EPSG:4490', '-nln', '绿道');
    const r = await importFacilities(pool, gpkg, { category: 'greenway' });
    expect(r.crs).toBe('cgcs2000');
    const [gw] = await registerRows('greenway');
    const coords = (JSON.parse(gw.geojson) as { coordinates: number[][] }).coordinates;
    coords.forEach((p, i) => expect(distanceM(p, line[i])).toBeLessThan(1));
    const { rows: ap } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM facility_access_points WHERE facility_id = $1 AND kind = 'sampled'`,
      [gw.id],
    );
    expect(ap[0].n).toBeGreaterThan(10);

    const run = await computeCoverage(pool);
    const after = await cityCovered();
    expect(after.length).toBeGreaterThan(0);
    expect(after[0].covered_population).toBeGreaterThan(0);
    console.log(
      `greenway_1000 city coverage: ${after[0].covered_population.toFixed(0)} of ${after[0].population.toFixed(0)} residents`,
    );

    // Oracle: pgRouting's Dijkstra over the walking edges from the nodes nearest the greenway's
    // access points to the nodes nearest each origin (plain shortest paths, no gates or snapping
    // legs: an origin mid-way along a long edge is nearer than its nearest node, so compared with
    // a 500 m margin beyond the rule's 1000 m, and 300 m inside it).
    const { rows: oracle } = await pool.query<{ origin_id: string; oracle_m: number | null; covered: boolean }>(
      `WITH net AS (SELECT id FROM datasets WHERE kind = 'osm'),
       src AS (SELECT DISTINCT (SELECT n.id FROM walk_nodes n WHERE n.dataset_id = (SELECT id FROM net) ORDER BY n.geom <-> a.geom LIMIT 1) AS node
               FROM facility_access_points a WHERE a.facility_id = $2),
       o AS (SELECT r.origin_id, r.covered, (SELECT n.id FROM walk_nodes n WHERE n.dataset_id = (SELECT id FROM net) ORDER BY n.geom <-> og.geom LIMIT 1) AS node
             FROM coverage_origin_results r JOIN origins og ON og.id = r.origin_id
             WHERE r.run_id = $1 AND r.rule_id = 'greenway_1000'),
       d AS (SELECT end_vid AS node, min(agg_cost) AS m FROM pgr_dijkstraCost(
               'SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM walk_edges WHERE dataset_id = (SELECT id FROM datasets WHERE kind = ''osm'')',
               (SELECT array_agg(node) FROM src), (SELECT array_agg(DISTINCT node) FROM o), directed := false) GROUP BY end_vid)
       SELECT o.origin_id, CASE WHEN o.node IN (SELECT node FROM src) THEN 0 ELSE d.m END AS oracle_m, o.covered
       FROM o LEFT JOIN d ON d.node = o.node`,
      [run.runId, gw.id],
    );
    expect(oracle.length).toBeGreaterThan(100);
    const covered = oracle.filter((o) => o.covered);
    const near = oracle.filter((o) => o.oracle_m !== null && o.oracle_m <= 700);
    const far = oracle.filter((o) => o.oracle_m === null || o.oracle_m > 1500);
    console.log(
      `greenway oracle: ${covered.length} of ${oracle.length} origins covered; ${near.length} within 700 m by pgRouting, ${far.length} beyond 1500 m`,
    );
    expect(near.length).toBeGreaterThan(0);
    expect(far.length).toBeGreaterThan(0);
    // Nobody beyond 1500 m along the network is covered; (nearly) everybody within 700 m is (gated compounds may add a detour to their gate).
    expect(far.filter((o) => o.covered)).toEqual([]);
    expect(near.filter((o) => o.covered).length / near.length).toBeGreaterThan(0.9);
  }, 120_000);

  it('refuses a line for a category other than greenway', async () => {
    const gpkg = file('greenways.gpkg');
    await expectRefused(
      { category: 'park' },
      gpkg,
      /features\[0\], field geometry: "LineString" is a line, but only greenway registers take lines/,
    );
  });
});

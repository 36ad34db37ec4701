import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { createPool } from '../server/db/pool.ts';
import { importCommunities, importDistricts } from '../server/import/import-communities.ts';
import { importFacilities } from '../server/import/import-facilities.ts';
import { importOsm } from '../server/import/import-osm.ts';
import { ensureGdal, importPopulationGrid } from '../server/import/import-population.ts';
import { networkFileKey } from '../server/network/network-file.ts';
import { tileOf } from './bench/autocannon.ts';
import { SHARED_DATA } from './global-setup.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// Issue 15 item 6: registers, imported community zones and districts belong to the network
// dataset whose extent they lie in (migration 0310), not to every dataset. Real central Chengdu
// beside real Porto: importing a Chengdu register, Chengdu community zones and Chengdu districts
// changes Chengdu's answers and none of Porto's.

const CHENGDU = 'chengdu-central-2018';
const PORTO = 'porto-2020';
const RULE_SET = 'gb50180-2018';
const ELDERLY_RULE = 'min5_elderly_day_care';
const IN_CHENGDU = { lng: 104.0585, lat: 30.6605 };
const PORTO_POINTS = [
  { lng: -8.6109, lat: 41.1487 },
  { lng: -8.6291, lat: 41.1579 },
];

let db: TestDatabase;
let pool: pg.Pool;
let tmp: string;

/** A body with what differs between two runs of the same inputs taken out: run ids and times. */
function normalised(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(normalised);
  if (body && typeof body === 'object')
    return Object.fromEntries(
      Object.entries(body)
        .filter(([k]) => !/(^|_)run_id$|_at$|^seconds$|_ms$/.test(k))
        .map(([k, v]) => [k, normalised(v)]),
    );
  return body;
}
function tileDump(body: Buffer): string {
  const tile = new VectorTile(new PbfReader(body));
  const out: string[] = [];
  for (const [name, layer] of Object.entries(tile.layers))
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      out.push(JSON.stringify([name, f.id, f.properties, f.loadGeometry()]));
    }
  return out.sort().join('\n');
}

const portoUrls = (() => {
  const urls = PORTO_POINTS.map((p) => `/api/proximity?lng=${p.lng}&lat=${p.lat}&dataset=${PORTO}`);
  urls.push(
    `/api/coverage?rule_set=${RULE_SET}&level=community&dataset=${PORTO}`,
    `/api/audit?rule_set=${RULE_SET}&level=community&dataset=${PORTO}`,
    `/api/coverage?rule_set=${RULE_SET}&level=district&dataset=${PORTO}`,
  );
  for (const z of [12, 15]) {
    const [, x, y] = tileOf(PORTO_POINTS[0].lng, PORTO_POINTS[0].lat, z);
    for (const layer of ['facilities', 'areas', 'area_labels'])
      urls.push(`/tiles/${layer}/${z}/${x}/${y}.pbf?dataset=${PORTO}`);
    // Porto's tiles over Chengdu: nothing of Porto there, and nothing of Chengdu's may show
    const [, cx, cy] = tileOf(IN_CHENGDU.lng, IN_CHENGDU.lat, z);
    for (const layer of ['facilities', 'areas', 'area_labels'])
      urls.push(`/tiles/${layer}/${z}/${cx}/${cy}.pbf?dataset=${PORTO}`);
  }
  return urls;
})();
const chengduUrls = [
  `/api/proximity?lng=${IN_CHENGDU.lng}&lat=${IN_CHENGDU.lat}&dataset=${CHENGDU}`,
  `/api/coverage?rule_set=${RULE_SET}&level=community&dataset=${CHENGDU}`,
];

async function answers(urls: string[]): Promise<Map<string, { status: number; body: unknown }>> {
  const app = await buildApp({ databaseUrl: db.url, webDist: false });
  try {
    await app.ready();
    const out = new Map<string, { status: number; body: unknown }>();
    for (const url of urls) {
      const r = await app.inject(url);
      const isTile = url.startsWith('/tiles/');
      out.set(url, {
        status: r.statusCode,
        body: isTile ? (r.statusCode === 200 ? tileDump(r.rawPayload) : '') : normalised(r.json()),
      });
    }
    out.set('/api/datasets', { status: 200, body: await datasetEntry(app, PORTO) });
    out.set('/api/datasets#chengdu', { status: 200, body: await datasetEntry(app, CHENGDU) });
    return out;
  } finally {
    await app.close();
  }
}
async function datasetEntry(app: FastifyInstance, name: string): Promise<unknown> {
  const r = await app.inject('/api/datasets');
  expect(r.statusCode).toBe(200);
  const entry = r.json().datasets.find((d: { name: string }) => d.name === name);
  expect(entry, name).toBeDefined();
  // the engine's state is whether a request loaded it, not part of the dataset; the counts
  // (registers, zones and districts that belong to it) are health's
  const health = await app.inject(`/api/health?dataset=${name}`);
  expect(health.json().dataset?.counts, name).toBeDefined();
  return normalised({ ...entry, engine: undefined, counts: health.json().dataset.counts });
}

let before: Map<string, { status: number; body: unknown }>;
let after: Map<string, { status: number; body: unknown }>;
let portoRuns: { before: number; after: number };
/** Porto's engine-file key (what the engine loads besides its own rows) before and after. */
const portoKeys: string[] = [];
const portoKey = async () =>
  (
    await networkFileKey(
      pool,
      (await pool.query(`SELECT dataset_id FROM dataset_run($1)`, [PORTO])).rows[0].dataset_id,
      tmp,
    )
  ).key;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-scope-'));
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 3 });
  // Start with no register at all (the template has the shipped sample ones), so "before" is
  // Chengdu and Porto without any register, community zones or districts.
  await pool.query(`DELETE FROM datasets WHERE kind IN ('facility_register', 'communities', 'districts')`);
  await computeCoverage(pool, { dataset: CHENGDU });
  await importOsm(pool, path.join(SHARED_DATA, 'porto-2020-roads.osm.pbf'), { name: PORTO });
  // The Porto file is streets only: residents from a population grid (WGS 84, 0.002° cells, 100
  // each) over its centre, on the newest network dataset (Porto), at the cells' centres.
  const asc = path.join(tmp, 'porto-pop.asc');
  const [cols, rowsN, cell] = [12, 10, 0.002];
  fs.writeFileSync(
    asc,
    `ncols ${cols}\nnrows ${rowsN}\nxllcorner ${PORTO_POINTS[0].lng - (cols / 2) * cell}\nyllcorner ${PORTO_POINTS[0].lat - (rowsN / 2) * cell}\ncellsize ${cell}\nNODATA_value -9999\n` +
      Array.from({ length: rowsN }, () => Array(cols).fill(100).join(' ')).join('\n') +
      '\n',
  );
  const tif = path.join(tmp, 'porto-pop.tif');
  ensureGdal(); // gdal_translate (Debian gdal-bin): installed here when missing, as the importer does
  execFileSync('gdal_translate', ['-q', '-a_srs', 'EPSG:4326', '-of', 'GTiff', asc, tif]);
  await importPopulationGrid(pool, tif);
  await computeCoverage(pool, { dataset: PORTO });
  portoRuns = { before: await newestRun(PORTO), after: 0 };
  before = await answers([...portoUrls, ...chengduUrls]);
  portoKeys.push(await portoKey());

  // Chengdu's own layers: an elderly-care register on a grid over central Chengdu (WGS 84), and
  // community zones tiling part of it, and the real 成华/武侯 district boundaries.
  const [w, s, e, n] = [104.05, 30.655, 104.12, 30.72];
  const rows = ['name,lng,lat'];
  for (let i = 0; i < 6; i++)
    for (let j = 0; j < 6; j++)
      rows.push(`养老 ${i}-${j} (test),${w + ((e - w) * (i + 0.5)) / 6},${s + ((n - s) * (j + 0.5)) / 6}`);
  const register = path.join(tmp, 'elderly-care.csv');
  fs.writeFileSync(register, rows.join('\n') + '\n');
  await importFacilities(pool, register, { category: 'elderly_care', crs: 'wgs84', allowOutsideNetwork: true });
  const zones = [];
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      const [x0, y0] = [w + ((e - w) * i) / 4, s + ((n - s) * j) / 4];
      const [x1, y1] = [x0 + (e - w) / 4, y0 + (n - s) / 4];
      zones.push({
        type: 'Feature',
        properties: { name: `测试 ${i}-${j} 社区 (test)`, street: '测试街道 (test)', district: '成华区' },
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [x0, y0],
              [x1, y0],
              [x1, y1],
              [x0, y1],
              [x0, y0],
            ],
          ],
        },
      });
    }
  const communities = path.join(tmp, 'communities.geojson');
  fs.writeFileSync(communities, JSON.stringify({ type: 'FeatureCollection', features: zones }));
  await importCommunities(pool, communities);
  await importDistricts(pool, path.join(SHARED_DATA, 'chengdu-districts-chenghua-wuhou.geojson'));
  portoKeys.push(await portoKey());
  await computeCoverage(pool, { dataset: CHENGDU });
  await computeCoverage(pool, { dataset: PORTO });
  portoRuns.after = await newestRun(PORTO);
  after = await answers([...portoUrls, ...chengduUrls]);
}, 1_200_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function newestRun(name: string): Promise<number> {
  const { rows } = await pool.query<{ run_id: number }>(`SELECT run_id FROM dataset_run($1)`, [name]);
  return rows[0].run_id;
}

describe("Chengdu's register, community zones and districts belong to Chengdu only (real Chengdu and Porto)", () => {
  it("Porto was recomputed after Chengdu's layers were imported", () => {
    expect(portoRuns.after).toBeGreaterThan(portoRuns.before);
  });

  it("every Porto answer (proximity, coverage, audit, /api/datasets, tiles) is what it was before Chengdu's layers", () => {
    for (const url of [...portoUrls, '/api/datasets']) {
      // tiles may be empty (204): Porto has no facility in them
      if (!url.startsWith('/tiles/')) expect(before.get(url)!.status, url).toBe(200);
      expect(after.get(url), url).toEqual(before.get(url));
    }
    const [, x, y] = tileOf(PORTO_POINTS[0].lng, PORTO_POINTS[0].lat, 15);
    expect(after.get(`/tiles/areas/15/${x}/${y}.pbf?dataset=${PORTO}`)!.status).toBe(200);
    const [, cx, cy] = tileOf(IN_CHENGDU.lng, IN_CHENGDU.lat, 15);
    for (const layer of ['facilities', 'areas', 'area_labels'])
      expect(after.get(`/tiles/${layer}/15/${cx}/${cy}.pbf?dataset=${PORTO}`)!.status, layer).toBe(204);
    // something to compare: the community-level coverage lists Porto's (approximate) zones
    const cov = before.get(portoUrls[2])!.body as { areas: { is_approximate: boolean }[] };
    expect(cov.areas.length).toBeGreaterThan(0);
    expect(cov.areas.every((a) => a.is_approximate)).toBe(true);
  });

  it("Porto's engine file stays current: Chengdu's register is not among what it loads", () => {
    expect(portoKeys).toHaveLength(2);
    expect(portoKeys[1]).toBe(portoKeys[0]);
  });

  it("Porto's elderly-care rule is not assessable (no data), and its audit lists no Chengdu zone", async () => {
    const cov = after.get(portoUrls[2])!.body as {
      areas: { rules: Record<string, { no_data: boolean }> }[];
    };
    expect(cov.areas.length).toBeGreaterThan(0);
    for (const a of cov.areas) expect(a.rules[ELDERLY_RULE].no_data).toBe(true);
    const audit = JSON.stringify(after.get(portoUrls[3])!.body);
    expect(audit).not.toContain('(test)');
    expect(audit).not.toContain('成华区');
    const { rows } = await pool.query<{ community_source: string }>(
      `SELECT community_source FROM coverage_runs WHERE id = $1`,
      [portoRuns.after],
    );
    expect(rows[0].community_source).toBe('approximate');
    const tiles = portoUrls.filter((u) => u.startsWith('/tiles/')).map((u) => after.get(u)!.body as string);
    expect(tiles.join('\n')).not.toContain('(test)');
  });

  it("Chengdu's answers change with its own register, zones and districts", async () => {
    for (const url of chengduUrls) expect(after.get(url), url).not.toEqual(before.get(url));
    const cov = (b: Map<string, { body: unknown }>) =>
      b.get(chengduUrls[1])!.body as {
        areas: { area_name: string; is_approximate: boolean; rules: Record<string, { no_data: boolean }> }[];
      };
    expect(cov(before).areas.every((a) => a.rules[ELDERLY_RULE].no_data)).toBe(true);
    expect(cov(after).areas.some((a) => !a.rules[ELDERLY_RULE].no_data)).toBe(true);
    expect(cov(after).areas.some((a) => a.area_name.endsWith('(test)'))).toBe(true);
    const { rows } = await pool.query<{ community_source: string }>(
      `SELECT community_source FROM coverage_runs WHERE id = $1`,
      [await newestRun(CHENGDU)],
    );
    expect(rows[0].community_source).toBe('imported');
    const ds = after.get('/api/datasets#chengdu')!.body as { counts: Record<string, unknown> };
    expect(ds.counts.communities).toBe(16);
    expect(ds.counts.districts).toBe(2);
    expect((ds.counts.facilities as Record<string, number>).elderly_care).toBe(36);
  });

  it("a register facility just outside a dataset's box belongs to it, one far away does not", async () => {
    const { rows } = await pool.query<{ near: boolean; far: boolean; inside: boolean }>(
      `SELECT ST_Intersects(ST_SetSRID(ST_MakePoint(ST_XMax(bbox) + 0.005, ST_YMax(bbox)), 4326), dataset_facility_extent(id)) AS near,
              ST_Intersects(ST_SetSRID(ST_MakePoint(ST_XMax(bbox) + 0.05, ST_YMax(bbox)), 4326), dataset_facility_extent(id)) AS far,
              ST_Intersects(ST_SetSRID(ST_MakePoint(ST_XMax(bbox) + 0.005, ST_YMax(bbox)), 4326), dataset_extent(id)) AS inside
       FROM datasets WHERE id = (SELECT dataset_id FROM dataset_run($1))`,
      [PORTO],
    );
    // at 41° N, 0.005° of longitude is about 420 m: within the 1 km margin; 0.05° (4.2 km) is not
    expect(rows[0]).toEqual({ near: true, far: false, inside: false });
  });
});

describe('an import replaces the previous layer of its kind in the same place only', () => {
  const layerIds = async (kind: string) =>
    (await pool.query<{ id: number }>(`SELECT id FROM datasets WHERE kind = $1 ORDER BY id`, [kind])).rows.map(
      (r) => r.id,
    );
  const writeRegister = (name: string, points: { lng: number; lat: number }[]) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(
      file,
      ['name,lng,lat', ...points.map((p, i) => `${name} ${i},${p.lng},${p.lat}`)].join('\n') + '\n',
    );
    return file;
  };

  it("a Porto register leaves Chengdu's alone; a new Chengdu register replaces Chengdu's and leaves Porto's", async () => {
    const [chengdu] = await layerIds('facility_register');
    expect(chengdu).toBeDefined();
    const porto = await importFacilities(pool, writeRegister('porto.csv', PORTO_POINTS), {
      category: 'elderly_care',
      crs: 'wgs84',
      allowOutsideNetwork: true,
    });
    expect(porto.replacedDatasetIds).toEqual([]);
    expect(await layerIds('facility_register')).toEqual([chengdu, porto.datasetId]);
    const again = await importFacilities(pool, writeRegister('chengdu.csv', [IN_CHENGDU]), {
      category: 'elderly_care',
      crs: 'wgs84',
      allowOutsideNetwork: true,
    });
    expect(again.replacedDatasetIds).toEqual([chengdu]);
    expect(await layerIds('facility_register')).toEqual([porto.datasetId, again.datasetId]);
  });

  it("Porto's community zones leave Chengdu's alone, and another import of Porto's replaces them", async () => {
    const [chengdu] = await layerIds('communities');
    expect(chengdu).toBeDefined();
    const file = path.join(tmp, 'porto-zones.geojson');
    const [{ lng, lat }] = PORTO_POINTS;
    fs.writeFileSync(
      file,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: { name: 'Aliados (test)' },
            geometry: {
              type: 'Polygon',
              coordinates: [
                [
                  [lng - 0.01, lat - 0.01],
                  [lng + 0.01, lat - 0.01],
                  [lng + 0.01, lat + 0.01],
                  [lng - 0.01, lat + 0.01],
                  [lng - 0.01, lat - 0.01],
                ],
              ],
            },
          },
        ],
      }),
    );
    const first = await importCommunities(pool, file);
    expect(first.replacedDatasetIds).toEqual([]);
    const second = await importCommunities(pool, file);
    expect(second.replacedDatasetIds).toEqual([first.datasetId]);
    expect(await layerIds('communities')).toEqual([chengdu, second.datasetId]);
  });
});

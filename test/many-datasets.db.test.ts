import { VectorTile } from '@mapbox/vector-tile';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { PbfReader } from 'pbf';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { projectRoot } from '../server/config.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { createPool } from '../server/db/pool.ts';
import { importFacilities } from '../server/import/import-facilities.ts';
import { importOsm, sha256File } from '../server/import/import-osm.ts';
import { tileOf } from './bench/autocannon.ts';
import { SHARED_DATA } from './global-setup.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// Issue 15 item 6: two datasets served at once answer independently, tiles are addressed per
// dataset (the generalised z9–12 ones too), and /api/compare between a run and itself is all
// zeros, and before/after a register equals the difference of the two coverage exports. Real
// central Chengdu (the template) beside real Porto (a different city, continent and extent).

const CHENGDU = 'chengdu-central-2018';
const PORTO = 'porto-2020';
const PORTO_FILE = path.join(SHARED_DATA, 'porto-2020-roads.osm.pbf');
// 人民公园, central Chengdu; Avenida dos Aliados, central Porto: both on their networks.
const IN_CHENGDU = { lng: 104.0585, lat: 30.6605 };
const IN_PORTO = { lng: -8.6109, lat: 41.1487 };

let db: TestDatabase;
let pool: pg.Pool;
let app: FastifyInstance;
let tmp: string;
let spec: {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] } & Record<string, unknown>>>;
};
const ajv = new Ajv({ strict: false });

/** Answers over Chengdu alone, taken before Porto was imported: the other dataset must change none of them. */
const alone = new Map<string, { status: number; body: string }>();
const CHENGDU_URLS = (() => {
  const urls = [
    `/api/proximity?lng=${IN_CHENGDU.lng}&lat=${IN_CHENGDU.lat}`,
    `/api/isochrone?lng=${IN_CHENGDU.lng}&lat=${IN_CHENGDU.lat}&distance_m=500`,
    '/api/coverage?rule_set=chengdu-park-city&level=community',
    '/api/search?q=公园',
    '/api/categories',
  ];
  for (const z of [11, 12, 15]) {
    const [, x, y] = tileOf(IN_CHENGDU.lng, IN_CHENGDU.lat, z);
    for (const layer of ['network', 'areas', 'basemap', 'facilities']) urls.push(`/tiles/${layer}/${z}/${x}/${y}.pbf`);
  }
  return urls;
})();
/** A tile as text: every layer's features (properties and geometry), sorted, since feature order is not part of a tile's meaning. */
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
const answer = async (url: string) => {
  const r = await app.inject(url);
  const isTile = url.startsWith('/tiles/') && r.statusCode === 200;
  return { status: r.statusCode, body: isTile ? tileDump(r.rawPayload) : r.body };
};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-many-'));
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 3 });
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
  spec = app.swagger() as unknown as typeof spec;
  for (const url of CHENGDU_URLS) alone.set(url, await answer(url));
  await importOsm(pool, PORTO_FILE, { name: PORTO });
  await computeCoverage(pool, { dataset: PORTO });
}, 900_000);
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('two datasets served at once (central Chengdu and Porto, real PostGIS)', () => {
  it('GET /api/datasets lists both with provenance, run, extent and one default', async () => {
    const r = await app.inject('/api/datasets');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    const schema = (
      spec.paths['/api/datasets'].get as { responses: Record<string, { content: Record<string, { schema: object }> }> }
    ).responses['200'].content['application/json'].schema;
    const validate = ajv.compile(schema);
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    const byName = Object.fromEntries(body.datasets.map((d: { name: string }) => [d.name, d]));
    expect(Object.keys(byName).sort()).toEqual([CHENGDU, PORTO]);
    expect(body.datasets.filter((d: { is_default: boolean }) => d.is_default)).toHaveLength(1);
    expect(byName[PORTO].provenance).toMatchObject({
      kind: 'osm',
      source: 'porto-2020-roads.osm.pbf',
      sha256: await sha256File(PORTO_FILE),
      is_sample: false,
    });
    // the file header's timestamp (osmium fileinfo: 2015-06-06T00:23:02Z)
    expect(Date.parse(byName[PORTO].provenance.osm_timestamp)).toBe(Date.parse('2015-06-06T00:23:02Z'));
    expect(byName[CHENGDU].provenance.osm_timestamp).toBeNull();
    const { rows } = await pool.query<{ name: string; run_id: number }>(
      `SELECT d.name, max(r.id) AS run_id FROM datasets d JOIN coverage_runs r ON r.dataset_id = d.id AND r.status = 'done'
       WHERE d.kind = 'osm' GROUP BY d.name`,
    );
    for (const row of rows) expect(byName[row.name].run_id).toBe(row.run_id);
    const [w, s, e, n] = byName[PORTO].bbox;
    expect(IN_PORTO.lng).toBeGreaterThan(w);
    expect(IN_PORTO.lng).toBeLessThan(e);
    expect(IN_PORTO.lat).toBeGreaterThan(s);
    expect(IN_PORTO.lat).toBeLessThan(n);
  });

  it("every Chengdu answer and tile (decoded) named by dataset= is what Chengdu alone gave, Porto's import changed none", async () => {
    for (const url of CHENGDU_URLS) {
      const named = `${url}${url.includes('?') ? '&' : '?'}dataset=${CHENGDU}`;
      expect(await answer(named), named).toEqual(alone.get(url));
    }
    // and something there to compare: the network tiles were not empty
    expect(alone.get(CHENGDU_URLS.find((u) => u.startsWith('/tiles/network/15'))!)!.status).toBe(200);
    expect(alone.get(CHENGDU_URLS.find((u) => u.startsWith('/tiles/network/11'))!)!.status).toBe(200);
  });

  it('each dataset answers for its own city only: a point or tile of the other city is outside it or empty', async () => {
    const p = await app.inject(`/api/proximity?lng=${IN_PORTO.lng}&lat=${IN_PORTO.lat}&dataset=${PORTO}`);
    expect(p.statusCode, p.body).toBe(200);
    const wrong = await app.inject(`/api/proximity?lng=${IN_PORTO.lng}&lat=${IN_PORTO.lat}&dataset=${CHENGDU}`);
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().error.code).toBe('outside_dataset');
    const back = await app.inject(`/api/proximity?lng=${IN_CHENGDU.lng}&lat=${IN_CHENGDU.lat}&dataset=${PORTO}`);
    expect(back.json().error.code).toBe('outside_dataset');
    for (const z of [11, 12, 15]) {
      const [, px, py] = tileOf(IN_PORTO.lng, IN_PORTO.lat, z);
      const [, cx, cy] = tileOf(IN_CHENGDU.lng, IN_CHENGDU.lat, z);
      const own = await app.inject(`/tiles/network/${z}/${px}/${py}.pbf?dataset=${PORTO}`);
      expect(own.statusCode, `porto z${z}`).toBe(200);
      expect((await app.inject(`/tiles/network/${z}/${px}/${py}.pbf?dataset=${CHENGDU}`)).statusCode).toBe(204);
      expect((await app.inject(`/tiles/network/${z}/${cx}/${cy}.pbf?dataset=${PORTO}`)).statusCode).toBe(204);
      expect((await app.inject(`/tiles/basemap/${z}/${cx}/${cy}.pbf?dataset=${PORTO}`)).statusCode).toBe(204);
    }
    // the engines are kept apart: one per dataset, each with its own run
    const chengdu = await app.engine.current(CHENGDU);
    const porto = await app.engine.current(PORTO);
    expect(chengdu.datasetId).not.toBe(porto.datasetId);
    expect(porto.net.graph.nodeCount).toBeGreaterThan(chengdu.net.graph.nodeCount);
  });

  it('no dataset= answers from the default dataset, which /api/datasets marks', async () => {
    const def = (await app.inject('/api/datasets')).json().datasets.find((d: { is_default: boolean }) => d.is_default);
    const health = (await app.inject('/api/health')).json();
    expect(health.dataset.name).toBe(def.name);
    expect(health.coverage_run_id).toBe(def.run_id);
    const named = (await app.inject(`/api/health?dataset=${def.name === PORTO ? CHENGDU : PORTO}`)).json();
    expect(named.dataset.name).not.toBe(def.name);
  });

  it('every data route lists dataset= in the OpenAPI document; an unknown name is 404 naming it, a malformed one 400', async () => {
    for (const route of [
      '/api/proximity',
      '/api/coverage',
      '/api/isochrone',
      '/api/health',
      '/tiles/{layer}/{z}/{x}/{y}.pbf',
    ]) {
      const params = spec.paths[route]?.get?.parameters ?? [];
      expect(
        params.some((p) => p.name === 'dataset' && p.in === 'query'),
        route,
      ).toBe(true);
    }
    expect((spec.paths['/api/datasets'].get.parameters ?? []).some((p) => p.name === 'dataset')).toBe(false);
    for (const url of [
      `/api/proximity?lng=${IN_CHENGDU.lng}&lat=${IN_CHENGDU.lat}&dataset=lisbon-2030`,
      '/tiles/network/15/1/1.pbf?dataset=lisbon-2030',
      '/api/coverage?dataset=lisbon-2030',
    ]) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error.code).toBe('unknown_dataset');
      expect(r.json().error.message).toContain('"lisbon-2030"');
    }
    const bad = await app.inject('/api/coverage?dataset=Not%20A%20Name');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_parameter');
  });

  it('past the memory budget the least recently used engine is unloaded, and loads again when asked for', async () => {
    const small = await buildApp({ databaseUrl: db.url, webDist: false, engineBudgetMb: 0.001 });
    try {
      const state = async () =>
        Object.fromEntries(
          (await small.inject('/api/datasets'))
            .json()
            .datasets.map((d: { name: string; engine: { state: string } }) => [d.name, d.engine.state]),
        );
      await small.engine.current(CHENGDU);
      expect(await state()).toEqual({ [CHENGDU]: 'ready', [PORTO]: 'cold' });
      await small.engine.current(PORTO);
      expect(await state()).toEqual({ [CHENGDU]: 'cold', [PORTO]: 'ready' });
      const again = await small.inject(`/api/proximity?lng=${IN_CHENGDU.lng}&lat=${IN_CHENGDU.lat}&dataset=${CHENGDU}`);
      expect(again.statusCode).toBe(200);
      expect(await state()).toEqual({ [CHENGDU]: 'ready', [PORTO]: 'cold' });
    } finally {
      await small.close();
    }
  });
});

describe('GET /api/compare', () => {
  it('a run against itself is all zeros, by dataset name and by run id', async () => {
    const runId = (await app.engine.currentRun(CHENGDU)).runId;
    for (const [from, to] of [
      [CHENGDU, CHENGDU],
      [String(runId), CHENGDU],
    ]) {
      const r = await app.inject(`/api/compare?from=${from}&to=${to}&rule_set=chengdu-park-city&level=community`);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json();
      expect(body.from.run_id).toBe(runId);
      expect(body.rows.length).toBeGreaterThan(0);
      for (const row of body.rows) {
        expect(row.covered_change).toBe(0);
        expect(row.share_change).toBe(row.share_before === null ? null : 0);
      }
    }
  });

  it('an unknown dataset or run is 404 naming it', async () => {
    const r = await app.inject(`/api/compare?from=lisbon-2030&to=${CHENGDU}`);
    expect(r.statusCode).toBe(404);
    expect(r.json().error.message).toContain('lisbon-2030');
    const run = await app.inject(`/api/compare?from=999999&to=${CHENGDU}`);
    expect(run.statusCode).toBe(404);
    expect(run.json().error.message).toContain('999999');
  });

  it('before and after importing a register it equals the difference of the two coverage exports', async () => {
    const exportOf = async () => {
      const r = await app.inject(`/api/coverage?rule_set=chengdu-park-city&level=community&dataset=${CHENGDU}`);
      expect(r.statusCode).toBe(200);
      return r.json() as {
        run_id: number;
        areas: { area_key: string; rules: Record<string, { share: number | null; covered_population: number }> }[];
      };
    };
    const before = await exportOf();
    const lines = fs
      .readFileSync(path.join(projectRoot, 'server/sample-data/chengdu-sample-elderly-care.csv'), 'utf8')
      .trim()
      .split('\n');
    const file = path.join(tmp, 'elderly-care.csv');
    fs.writeFileSync(file, [lines[0], ...lines.slice(1).filter((_, i) => i % 2 === 0)].join('\n') + '\n');
    await importFacilities(pool, file, {
      category: 'elderly_care',
      crs: 'gcj02',
      isSample: true,
      allowOutsideNetwork: true,
    });
    await computeCoverage(pool, { dataset: CHENGDU });
    const after = await exportOf();
    expect(after.run_id).not.toBe(before.run_id);

    const r = await app.inject(
      `/api/compare?from=${before.run_id}&to=${CHENGDU}&rule_set=chengdu-park-city&level=community`,
    );
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect([body.from.run_id, body.to.run_id]).toEqual([before.run_id, after.run_id]);
    const expected = new Map<string, { share: number | null; covered: number | null }>();
    const beforeByKey = new Map(before.areas.map((a) => [a.area_key, a]));
    for (const a of after.areas) {
      const b = beforeByKey.get(a.area_key);
      for (const [rule, x] of Object.entries(a.rules)) {
        const y = b?.rules[rule];
        expected.set(`${a.area_key}/${rule}`, {
          share: y && x.share !== null && y.share !== null ? x.share - y.share : null,
          covered: y ? x.covered_population - y.covered_population : null,
        });
      }
    }
    expect(body.rows.length).toBe(expected.size);
    let changed = 0;
    for (const row of body.rows) {
      const e = expected.get(`${row.area_key}/${row.rule_id}`);
      expect(e, `${row.area_key}/${row.rule_id}`).toBeDefined();
      expect(row.covered_change).toBeCloseTo(e!.covered!, 6);
      if (e!.share === null) expect(row.share_change).toBeNull();
      else expect(row.share_change).toBeCloseTo(e!.share, 6);
      if (row.covered_change !== 0) changed++;
    }
    // the register moved something, so this is not two copies of one run
    expect(changed).toBeGreaterThan(0);
  });
});

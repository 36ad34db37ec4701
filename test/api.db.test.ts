import path from 'node:path';
import { JSON_SLICE_ITEMS } from '../server/http/json-slices.ts';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../server/auth.ts';
import { buildApp } from '../server/app.ts';
import { projectRoot } from '../server/config.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { importCommunities } from '../server/import/import-communities.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { createPool } from '../server/db/pool.ts';

// 人民公园 area, central Chengdu: on the network.
const CENTRE = { lng: 104.0585, lat: 30.6605 };

let db: TestDatabase;
let app: FastifyInstance;
let pool: pg.Pool;
let spec: {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
};
const ajv = new Ajv({ strict: false, allErrors: true });

/** Check a response body against the route's response schema in the served OpenAPI document. */
function expectMatchesSchema(route: string, method: string, status: number, body: unknown) {
  const openApiPath = route.replace(/:(\w+)/g, '{$1}');
  const schema = spec.paths[openApiPath]?.[method]?.responses?.[String(status)]?.content?.['application/json']?.schema;
  expect(schema, `no ${status} schema for ${method} ${route}`).toBeDefined();
  const validate = ajv.compile(schema!);
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
}

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 2 });
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
  spec = app.swagger() as unknown as typeof spec;
});
afterAll(async () => {
  await app.close();
  await pool.end();
  await db.drop();
});

describe('read routes', () => {
  it('GET /api/health reports the Chengdu dataset and database reachability', async () => {
    const r = await app.inject('/api/health');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expectMatchesSchema('/api/health', 'get', 200, body);
    expect(body.database).toBe('reachable');
    expect(body.dataset.source).toBe('chengdu-central-2018.osm.pbf');
    expect(body.dataset.counts.walk_edges).toBeGreaterThan(4000);
    expect(body.dataset.counts.facilities.park).toBe(29);
    // 186 landuse=residential areas in the file, plus the derived clusters of residential buildings outside them
    const { rows: ra } = await pool.query<{ landuse: number; all: number }>(
      `SELECT count(*) FILTER (WHERE kind = 'landuse')::int AS landuse, count(*)::int AS all FROM residential_areas WHERE dataset_id = $1`,
      [body.dataset.id],
    );
    expect(ra[0].landuse).toBe(186);
    expect(body.dataset.counts.residential_areas).toBe(ra[0].all);
    expect(body.dataset.counts.facilities.elderly_care).toBeGreaterThan(0); // the shipped sample register
  });

  it('GET /api/categories and /api/rules list labels, numbers and citations', async () => {
    const c = await app.inject('/api/categories');
    expectMatchesSchema('/api/categories', 'get', 200, c.json());
    expect(c.json().categories.find((x: { id: string }) => x.id === 'park')).toMatchObject({
      zh: '公园',
      en: 'Park',
      count: 29,
    });
    const r = await app.inject('/api/rules');
    expectMatchesSchema('/api/rules', 'get', 200, r.json());
    const park = r.json().rule_sets.find((s: { id: string }) => s.id === 'chengdu-park-city');
    expect(park.rules.map((x: { id: string }) => x.id)).toEqual(
      expect.arrayContaining(['green_300', 'park_500', 'elderly_care_500']),
    );
    for (const rs of r.json().rule_sets) for (const rule of rs.rules) expect(rule.citation.length).toBeGreaterThan(5);
  });

  it('GET /api/proximity answers per category with a walk that starts at the point', async () => {
    const r = await app.inject(`/api/proximity?lng=${CENTRE.lng}&lat=${CENTRE.lat}`);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expectMatchesSchema('/api/proximity', 'get', 200, body);
    const park = body.results.find((x: { category: string }) => x.category === 'park');
    expect(park.facility).not.toBeNull();
    expect(park.network_distance_m).toBeGreaterThanOrEqual(park.straight_distance_m - 0.01);
    expect(park.walk_minutes).toBeCloseTo(park.network_distance_m / (4000 / 60), 1);
    expect(park.meets_target).toBe(park.network_distance_m <= 500);
    expect(park.path.coordinates[0]).toEqual([CENTRE.lng, CENTRE.lat]);
    const elderly = body.results.find((x: { category: string }) => x.category === 'elderly_care');
    // OSM maps no elderly care in central Chengdu: the nearest is one of the shipped sample entries
    expect(elderly.facility).not.toBeNull();
    expect(elderly.facility.is_sample).toBe(true);
  });

  it('proximity agrees with the persisted per-origin results of the run', async () => {
    const { rows } = await pool.query<{ lng: number; lat: number; network_m: number | null; ra_gated: boolean }>(
      `SELECT ST_X(o.geom) lng, ST_Y(o.geom) lat, r.network_m, ra.is_gated ra_gated
       FROM coverage_origin_results r JOIN origins o ON o.id = r.origin_id JOIN residential_areas ra ON ra.id = o.residential_area_id
       WHERE r.rule_set_id = 'chengdu-park-city' AND r.rule_id = 'park_500' AND r.network_m IS NOT NULL ORDER BY o.id LIMIT 25`,
    );
    expect(rows.length).toBe(25);
    // residents of gated compounds walk out through their gates, which a bare point does not know
    const open = rows.filter((row) => !row.ra_gated);
    expect(open.length).toBeGreaterThan(0);
    for (const row of open) {
      const body = (await app.inject(`/api/proximity?lng=${row.lng}&lat=${row.lat}&categories=park`)).json();
      expect(body.results[0].network_distance_m).toBeCloseTo(row.network_m!, 1);
    }
  });

  it('GET /api/isochrone returns a polygon and lines that grow with distance', async () => {
    const sizes: number[] = [];
    for (const d of [300, 1000]) {
      const r = await app.inject(`/api/isochrone?lng=${CENTRE.lng}&lat=${CENTRE.lat}&distance_m=${d}`);
      expect(r.statusCode).toBe(200);
      const fc = r.json();
      expectMatchesSchema('/api/isochrone', 'get', 200, fc);
      expect(fc.features.map((f: { properties: { kind: string } }) => f.properties.kind)).toEqual(['polygon', 'lines']);
      sizes.push(fc.features[1].properties.reached_length_m);
    }
    expect(sizes[1]).toBeGreaterThan(sizes[0] * 3);
  });

  it('GET /api/isochrone from a facility walks out from all its access points', async () => {
    const { rows } = await pool.query<{ id: string; n: number }>(
      `SELECT f.id, count(a.*)::int AS n FROM facilities f JOIN facility_access_points a ON a.facility_id = f.id
       WHERE f.name = '人民公园' GROUP BY f.id`,
    );
    const r = await app.inject(`/api/isochrone?facility_id=${rows[0].id}&distance_m=300`);
    expect(r.statusCode).toBe(200);
    expectMatchesSchema('/api/isochrone', 'get', 200, r.json());
    expect(r.json().properties.access_points).toBeGreaterThan(1);
    expect(r.json().features[1].properties.reached_length_m).toBeGreaterThan(1000);
    expect((await app.inject('/api/isochrone?facility_id=99999999&distance_m=300')).statusCode).toBe(404);
    expect((await app.inject('/api/isochrone?distance_m=300')).json().error.code).toBe('invalid_parameter');
    expect(
      (await app.inject(`/api/isochrone?facility_id=${rows[0].id}&lng=104.06&lat=30.66&distance_m=300`)).statusCode,
    ).toBe(400);
  });

  it('GET /api/coverage in json, geojson and csv', async () => {
    for (const level of ['residential_area', 'community']) {
      const r = await app.inject(`/api/coverage?rule_set=chengdu-park-city&level=${level}`);
      expect(r.statusCode).toBe(200);
      expectMatchesSchema('/api/coverage', 'get', 200, r.json());
      const areas = r.json().areas;
      // the areas of the study area (the extract less its 1000 m edge margin): 20 of 23 communities, 133 of 186 residential areas
      expect(areas.length).toBeGreaterThan(level === 'community' ? 15 : 100);
      // more areas than a slice: sent a slice at a time (no length known up front), the schema and
      // the checks below holding as for an answer in one piece
      if (areas.length > JSON_SLICE_ITEMS) expect(r.headers['content-length']).toBeUndefined();
      else expect(r.headers['content-length']).toBeDefined();
      for (const a of areas) {
        const p = a.rules.park_500;
        expect(p.share).toBeGreaterThanOrEqual(0);
        expect(p.share).toBeLessThanOrEqual(1);
        // buffers overstate: the straight-line share is never below the network share
        expect(p.straight_share).toBeGreaterThanOrEqual(p.share - 1e-9);
      }
    }
    const g = await app.inject('/api/coverage?level=community&format=geojson');
    expect(g.json().type).toBe('FeatureCollection');
    expect(g.json().features[0].geometry.type).toMatch(/Polygon/);
    const csv = await app.inject('/api/coverage?level=community&format=csv');
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.charCodeAt(0)).toBe(0xfeff);
  });

  it('GET /api/audit lists failing areas worst first with caveats', async () => {
    const r = await app.inject('/api/audit?rule_set=chengdu-park-city&level=community');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expectMatchesSchema('/api/audit', 'get', 200, body);
    expect(body.areas.length).toBeGreaterThan(0);
    for (let i = 1; i < body.areas.length; i++)
      expect(body.areas[i - 1].worst_shortfall).toBeGreaterThanOrEqual(body.areas[i].worst_shortfall);
    const first = body.areas[0];
    expect(first.caveats).toEqual(expect.arrayContaining(['estimated_population', 'approximate_zone']));
    const elderly = body.areas
      .flatMap((a: { failed_rules: { rule_id: string; depends_on_sample_facilities: boolean }[] }) => a.failed_rules)
      .find((f: { rule_id: string }) => f.rule_id === 'elderly_care_500');
    expect(elderly).toBeDefined();
    expect(elderly.depends_on_sample_facilities).toBe(true);
    const csv = await app.inject('/api/audit?level=community&format=csv');
    expect(csv.body.startsWith('\uFEFFarea_key,area_name')).toBe(true);
    expect(csv.body).toMatch(/[\u4e00-\u9fff]/);
  });
});

describe('errors', () => {
  const cases: [string, number, string][] = [
    ['/api/proximity?lng=abc&lat=30.6', 400, 'invalid_parameter'],
    ['/api/proximity?lng=200&lat=30.6', 400, 'invalid_parameter'],
    ['/api/proximity?lat=30.6', 400, 'invalid_parameter'],
    ['/api/proximity?lng=2.35&lat=48.85', 422, 'outside_dataset'],
    ['/api/proximity?lng=104.06&lat=30.66&categories=park,unicorns', 400, 'unknown_category'],
    ['/api/proximity?lng=104.06&lat=30.66&rule_set=nope', 400, 'unknown_rule_set'],
    ['/api/isochrone?lng=104.06&lat=30.66&distance_m=99999', 400, 'invalid_parameter'],
    ['/api/isochrone?lng=104.06&lat=30.66&distance_m=-5', 400, 'invalid_parameter'],
    ['/api/coverage?level=planet', 400, 'invalid_parameter'],
    ['/api/audit?format=xlsx', 400, 'invalid_parameter'],
    ['/api/nothing-here', 404, 'not_found'],
    [
      "/api/proximity?lng=104.06&lat=30.66&categories=park'%3B%20DROP%20TABLE%20walk_edges%3B--",
      400,
      'unknown_category',
    ],
  ];
  for (const [url, status, code] of cases) {
    it(`${url} → ${status} ${code}`, async () => {
      const r = await app.inject(url);
      expect(r.statusCode).toBe(status);
      expect(r.json().error.code).toBe(code);
      expect(r.body).not.toMatch(/at .*\.ts:\d+/); // never a stack trace
    });
  }

  it('a point in the dataset but far from any street is not snappable (422, with why)', async () => {
    // Inside the bbox margin but beyond the 200 m snap limit: just outside the network's extent.
    const { rows } = await pool.query<{ lng: number; lat: number }>(
      `SELECT ST_XMax(ST_Extent(geom)) + 0.004 AS lng, (ST_YMin(ST_Extent(geom)) + ST_YMax(ST_Extent(geom))) / 2 AS lat FROM walk_nodes`,
    );
    const r = await app.inject(`/api/proximity?lng=${rows[0].lng}&lat=${rows[0].lat}`);
    expect(r.statusCode).toBe(422);
    expect(r.json().error.code).toBe('not_snappable');
  });
});

describe('plans: writes need a planner token and leave an audit trail', () => {
  const square = (lng: number, lat: number, d = 0.0005) => ({
    type: 'Polygon',
    coordinates: [
      [
        [lng, lat],
        [lng + d, lat],
        [lng + d, lat + d],
        [lng, lat + d],
        [lng, lat],
      ],
    ],
  });
  let planner: string;
  let viewer: string;

  beforeAll(async () => {
    planner = (await createToken(pool, 'test-planner', 'planner')).token;
    viewer = (await createToken(pool, 'test-viewer', 'viewer')).token;
  });

  it('rejects writes without a token (401), with a viewer token (403), and with a wrong token (401)', async () => {
    const body = { kind: 'add_open_space', name: '口袋公园', geometry: square(104.06, 30.66) };
    expect((await app.inject({ method: 'POST', url: '/api/plans', payload: body })).statusCode).toBe(401);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/plans',
          payload: body,
          headers: { authorization: `Bearer ${viewer}` },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/plans',
          payload: body,
          headers: { authorization: 'Bearer lc_wrong' },
        })
      ).statusCode,
    ).toBe(401);
    expect((await pool.query('SELECT count(*)::int AS n FROM plans')).rows[0].n).toBe(0);
  });

  it('creates, reads, patches and deletes a plan, auditing each write', async () => {
    const auth = { authorization: `Bearer ${planner}` };
    const created = await app.inject({
      method: 'POST',
      url: '/api/plans',
      headers: auth,
      payload: { kind: 'add_open_space', name: '口袋公园', geometry: square(104.06, 30.66), notes: '两拆一增' },
    });
    expect(created.statusCode).toBe(201);
    expectMatchesSchema('/api/plans', 'post', 201, created.json());
    const id = created.json().id;
    expect(created.json().area_m2).toBeGreaterThan(2000);
    const list = await app.inject('/api/plans');
    expectMatchesSchema('/api/plans', 'get', 200, list.json());
    expect(list.json().plans.map((p: { id: number }) => p.id)).toEqual([id]);
    const patched = await app.inject({
      method: 'PATCH',
      url: `/api/plans/${id}`,
      headers: auth,
      payload: { status: 'approved' },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().status).toBe('approved');
    expect((await app.inject({ method: 'DELETE', url: `/api/plans/${id}`, headers: auth })).statusCode).toBe(204);
    expect((await app.inject(`/api/plans/${id}`)).statusCode).toBe(404);
    const log = await pool.query(`SELECT actor, action FROM audit_log WHERE entity_id = $1 ORDER BY id`, [String(id)]);
    expect(log.rows).toEqual([
      { actor: 'test-planner', action: 'plan.create' },
      { actor: 'test-planner', action: 'plan.update' },
      { actor: 'test-planner', action: 'plan.delete' },
    ]);
    await expect(pool.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
  });

  it('rejects bad geometry with a reason and writes nothing', async () => {
    const auth = { authorization: `Bearer ${planner}` };
    const bowtie = {
      type: 'Polygon',
      coordinates: [
        [
          [104.06, 30.66],
          [104.061, 30.661],
          [104.061, 30.66],
          [104.06, 30.661],
          [104.06, 30.66],
        ],
      ],
    };
    const bad: [object, number, RegExp][] = [
      [{ kind: 'add_open_space', name: 'x', geometry: bowtie }, 400, /invalid: Self-intersection/],
      [{ kind: 'demolish_wall', name: 'x', geometry: square(104.06, 30.66) }, 400, /needs a LineString/],
      [
        {
          kind: 'add_open_space',
          name: 'x',
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [104.06, 30.66],
                [104.07, 30.66],
              ],
            ],
          },
        },
        400,
        /ring/,
      ],
      [
        {
          kind: 'add_open_space',
          name: 'x',
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [999, 30.66],
                [104.07, 30.66],
                [104.07, 30.67],
                [999, 30.66],
              ],
            ],
          },
        },
        400,
        /out of range|must be/,
      ],
      [{ kind: 'teleport', name: 'x', geometry: square(104.06, 30.66) }, 400, /kind/],
    ];
    for (const [payload, status, message] of bad) {
      const r = await app.inject({ method: 'POST', url: '/api/plans', headers: auth, payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(status);
      expect(r.json().error.message).toMatch(message);
    }
    const big = await app.inject({
      method: 'POST',
      url: '/api/plans',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({
        kind: 'add_open_space',
        name: 'x',
        geometry: square(104.06, 30.66),
        notes: 'x'.repeat(2_000_000),
      }),
    });
    expect(big.statusCode).toBe(413);
    expect((await pool.query('SELECT count(*)::int AS n FROM plans')).rows[0].n).toBe(0);
  });
});

describe('documentation', () => {
  it('serves the OpenAPI spec at /docs', async () => {
    const r = await app.inject('/docs/json');
    expect(r.statusCode).toBe(200);
    expect(Object.keys(r.json().paths)).toEqual(
      expect.arrayContaining(['/api/proximity', '/api/isochrone', '/api/coverage', '/api/audit', '/api/plans']),
    );
    expect((await app.inject('/docs/')).statusCode).toBe(200);
  });
});

// Last in the file: it replaces the approximate community zones with imported boundaries.
describe('streets and districts from imported community boundaries', () => {
  it('coverage and audit rows carry the 街道 and 区 of their community, at every level', async () => {
    await importCommunities(
      pool,
      path.join(projectRoot, 'test', 'fixtures', 'registers', 'communities-bowtie.geojson'),
    );
    const { runId } = await computeCoverage(pool);
    await expect
      .poll(async () => (await app.inject('/api/audit?level=community')).json().run_id, { timeout: 60_000 })
      .toBe(runId);

    const community = (await app.inject('/api/coverage?level=community')).json();
    expectMatchesSchema('/api/coverage', 'get', 200, community);
    const byName = new Map(community.areas.map((a: { area_name: string }) => [a.area_name, a]));
    expect(byName.get('测试 甲社区 (synthetic)')).toMatchObject({ street: '测试街道 (synthetic)', district: '成华区' });
    // every row is one of the fixture's communities, with its fields (丙 names no street)
    const FIXTURE: Record<string, { street: string | null; district: string }> = {
      '测试 甲社区 (synthetic)': { street: '测试街道 (synthetic)', district: '成华区' },
      '测试 乙社区 (synthetic, bow-tie)': { street: '测试街道 (synthetic)', district: '成华区' },
      '测试 丙社区 (synthetic, two parts)': { street: null, district: '锦江区' },
    };
    for (const a of community.areas) expect(a, a.area_name).toMatchObject(FIXTURE[a.area_name]);

    // a residential area takes its community's: the one holding a point of it (checked in PostGIS)
    const ras = (await app.inject('/api/coverage?level=residential_area')).json().areas as {
      area_key: string;
      district: string | null;
    }[];
    const placed = ras.filter((a) => a.district);
    expect(placed.length).toBeGreaterThan(0);
    for (const a of placed) {
      const { rows } = await pool.query(
        `SELECT c.district FROM residential_areas ra JOIN communities c ON ST_Contains(c.geom, ST_PointOnSurface(ra.geom))
         JOIN datasets d ON d.id = c.dataset_id AND d.kind = 'communities' WHERE ra.id = $1`,
        [a.area_key],
      );
      expect(
        rows.map((r) => r.district),
        a.area_key,
      ).toContain(a.district);
    }

    const districts = (await app.inject('/api/coverage?level=district')).json().areas as {
      area_key: string;
      district: string | null;
      street: string | null;
    }[];
    const withOrigins = new Set(community.areas.map((a: { area_name: string }) => FIXTURE[a.area_name].district));
    expect(districts.map((d) => d.area_key).sort()).toEqual([...withOrigins].sort());
    for (const d of districts) expect(d).toMatchObject({ district: d.area_key, street: null });
    const streets = (await app.inject('/api/coverage?level=street')).json().areas as {
      area_key: string;
      district: string | null;
      street: string | null;
    }[];
    expect(streets).toEqual([
      expect.objectContaining({ area_key: '测试街道 (synthetic)', street: '测试街道 (synthetic)', district: '成华区' }),
    ]);

    const audit = (await app.inject('/api/audit?level=community')).json();
    expectMatchesSchema('/api/audit', 'get', 200, audit);
    // the audit also lists, with 0, a community none of the run's evaluated residents lives in (not in
    // the coverage rows): each row carries its own community's fields, and the coverage rows' agree
    for (const a of audit.areas) {
      expect(Object.keys(FIXTURE), a.area_name).toContain(a.area_name);
      expect(a, a.area_name).toMatchObject(FIXTURE[a.area_name]);
    }
    // every coverage row is in the audit, and there the two agree on the district
    const auditInCoverage = audit.areas.filter((a: { area_name: string }) => byName.has(a.area_name));
    expect(auditInCoverage.map((a: { area_name: string }) => a.area_name).sort()).toEqual([...byName.keys()].sort());
    for (const a of auditInCoverage)
      expect(a.district, a.area_name).toBe((byName.get(a.area_name) as { district: string }).district);
    const csv = (await app.inject('/api/audit?level=community&format=csv')).body;
    expect(csv.replace(/^\uFEFF/, '').split('\r\n')[0]).toMatch(/^area_key,area_name,street,district,population,/);
  });
});

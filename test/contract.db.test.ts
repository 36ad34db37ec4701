/**
 * The API contract test: real answers of the real server (listening on a port, central Chengdu
 * template database), every route and its error envelopes, checked against the OpenAPI document
 * the server PUBLISHES at /docs/json, fetched over HTTP and compiled by an independent validator
 * (ajv + ajv-formats, not the serialiser Fastify answers with). It fails when
 * - an answer breaks its documented schema (a missing required field, a value outside an enum,
 *   an error code the catalogue does not list, a wrong type);
 * - a route answers a status its document does not list (Fastify then sends it unserialised);
 * - a documented operation is never exercised here (a new route must bring its cases).
 */
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { squareAround } from '../geo/candidate-sites.ts';
import { buildApp } from '../server/app.ts';
import { createToken } from '../server/auth.ts';
import { createPool } from '../server/db/pool.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const CENTRE = { lng: 104.0585, lat: 30.6605 };

type Responses = Record<string, { content?: Record<string, { schema: object }> }>;
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { responses: Responses }>>;
}

let db: TestDatabase;
let app: FastifyInstance;
let pool: pg.Pool;
let base: string;
let doc: OpenApi;
let planner: string;
let viewer: string;
let admin: string;
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
const compiled = new Map<string, ValidateFunction>();
/** `METHOD /openapi/path` of every operation a case exercised. */
const exercised = new Set<string>();

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 2 });
  app = await buildApp({ databaseUrl: db.url, webDist: false, rateLimit: { max: 100_000 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const published = await fetch(`${base}/docs/json`);
  expect(published.status).toBe(200);
  doc = (await published.json()) as OpenApi;
  planner = (await createToken(pool, 'contract-planner', 'planner')).token;
  viewer = (await createToken(pool, 'contract-viewer', 'viewer')).token;
  admin = (await createToken(pool, 'contract-admin', 'admin')).token;
});
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

interface Call {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** the route as the document names it, e.g. /api/plans/{id} */
  route: string;
  /** the URL requested (defaults to the route) */
  url?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Send a real HTTP request and check the answer against the published document: its status must be
 * documented for the operation, and a JSON body must validate against that status's schema.
 * Returns the status and the parsed body (or null).
 */
async function call(c: Call): Promise<{ status: number; body: any; headers: Headers }> {
  const method = c.method ?? 'GET';
  const res = await fetch(`${base}${c.url ?? c.route}`, {
    method,
    headers: { ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers },
    body: c.body === undefined ? undefined : JSON.stringify(c.body),
  });
  const key = `${method} ${c.route}`;
  const op = doc.paths[c.route]?.[method.toLowerCase()];
  expect(op, `${key} is not in the published document`).toBeDefined();
  exercised.add(key);
  const documented = op!.responses[String(res.status)];
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  expect(
    documented,
    `${key} answered ${res.status}, which its document does not list: ${text.slice(0, 300)}`,
  ).toBeDefined();
  if (!type.startsWith('application/json')) return { status: res.status, body: null, headers: res.headers };
  const body = JSON.parse(text);
  const schema = documented!.content?.['application/json']?.schema;
  expect(schema, `${key} ${res.status} answers JSON but its document gives no JSON schema`).toBeDefined();
  const id = `${key} ${res.status}`;
  let validate = compiled.get(id);
  if (!validate) compiled.set(id, (validate = ajv.compile(schema!)));
  expect(validate(body), `${id}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`).toBe(true);
  return { status: res.status, body, headers: res.headers };
}

const expectError = async (c: Call, status: number, code: string) => {
  const r = await call(c);
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error.code).toBe(code);
};

describe('answers match the published OpenAPI document', () => {
  it('publishes an OpenAPI 3 document that lists the error codes of the catalogue', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    const error = doc.paths['/api/proximity'].get.responses['400'].content!['application/json'].schema as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    expect(error.properties.error.properties.code.enum).toEqual(
      expect.arrayContaining(['invalid_parameter', 'outside_dataset', 'work_budget_exceeded', 'internal']),
    );
  });

  it('service and catalogue', async () => {
    expect((await call({ route: '/api/health' })).status).toBe(200);
    expect((await call({ route: '/api/categories' })).status).toBe(200);
    expect((await call({ route: '/api/rules' })).status).toBe(200);
  });

  it('datasets, dataset= and compare, and their errors', async () => {
    const list = await call({ route: '/api/datasets' });
    expect(list.status).toBe(200);
    const name = list.body.datasets[0].name;
    expect(
      (
        await call({
          route: '/api/proximity',
          url: `/api/proximity?lng=${CENTRE.lng}&lat=${CENTRE.lat}&dataset=${name}`,
        })
      ).status,
    ).toBe(200);
    await expectError(
      { route: '/api/proximity', url: `/api/proximity?lng=${CENTRE.lng}&lat=${CENTRE.lat}&dataset=nowhere-1900` },
      404,
      'unknown_dataset',
    );
    await expectError({ route: '/api/health', url: '/api/health?dataset=nowhere-1900' }, 404, 'unknown_dataset');
    const same = await call({ route: '/api/compare', url: `/api/compare?from=${name}&to=${name}` });
    expect(same.status).toBe(200);
    await expectError(
      { route: '/api/compare', url: `/api/compare?from=nowhere-1900&to=${name}` },
      404,
      'unknown_dataset',
    );
    await expectError({ route: '/api/compare', url: `/api/compare?from=999999&to=${name}` }, 404, 'not_found');
    await expectError({ route: '/api/compare', url: `/api/compare?from=${name}` }, 400, 'invalid_parameter');
  });

  it('proximity and its errors', async () => {
    const ok = await call({ route: '/api/proximity', url: `/api/proximity?lng=${CENTRE.lng}&lat=${CENTRE.lat}` });
    expect(ok.status).toBe(200);
    // one answer per outcome the data gives, each against the same schema
    expect(new Set(ok.body.results.map((r: { outcome: string }) => r.outcome)).size).toBeGreaterThan(0);
    await expectError({ route: '/api/proximity', url: `/api/proximity?lng=${CENTRE.lng}` }, 400, 'invalid_parameter');
    await expectError(
      { route: '/api/proximity', url: `/api/proximity?lng=${CENTRE.lng}&lat=${CENTRE.lat}&categories=nope` },
      400,
      'unknown_category',
    );
    await expectError(
      { route: '/api/proximity', url: `/api/proximity?lng=${CENTRE.lng}&lat=${CENTRE.lat}&rule_set=nope` },
      400,
      'unknown_rule_set',
    );
    await expectError({ route: '/api/proximity', url: '/api/proximity?lng=0&lat=0' }, 422, 'outside_dataset');
  });

  it('isochrone from a point and from a facility, and its errors', async () => {
    expect(
      (
        await call({
          route: '/api/isochrone',
          url: `/api/isochrone?lng=${CENTRE.lng}&lat=${CENTRE.lat}&distance_m=500`,
        })
      ).status,
    ).toBe(200);
    const { rows } = await pool.query<{ id: number }>(
      `SELECT f.id FROM facilities f JOIN facility_access_points a ON a.facility_id = f.id WHERE f.category = 'park' ORDER BY f.id LIMIT 1`,
    );
    expect(rows).toHaveLength(1);
    expect(
      (await call({ route: '/api/isochrone', url: `/api/isochrone?facility_id=${rows[0].id}&distance_m=300` })).status,
    ).toBe(200);
    await expectError({ route: '/api/isochrone', url: '/api/isochrone?distance_m=300' }, 400, 'invalid_parameter');
    await expectError(
      { route: '/api/isochrone', url: '/api/isochrone?facility_id=99999999&distance_m=300' },
      404,
      'not_found',
    );
    await expectError(
      { route: '/api/isochrone', url: '/api/isochrone?lng=0&lat=0&distance_m=300' },
      422,
      'outside_dataset',
    );
  });

  it('coverage at every level and format, audit at both levels, and their errors', async () => {
    for (const level of ['residential_area', 'community', 'street', 'district']) {
      const r = await call({ route: '/api/coverage', url: `/api/coverage?level=${level}` });
      expect(r.status).toBe(200);
      // the template may hold no 街道 or 区 areas; their answers are still checked against the document
      if (level === 'residential_area' || level === 'community') expect(r.body.areas.length).toBeGreaterThan(0);
    }
    expect((await call({ route: '/api/coverage', url: '/api/coverage?format=geojson' })).status).toBe(200);
    expect((await call({ route: '/api/coverage', url: '/api/coverage?format=csv' })).status).toBe(200);
    for (const level of ['community', 'residential_area']) {
      const r = await call({ route: '/api/audit', url: `/api/audit?level=${level}` });
      expect(r.status).toBe(200);
      expect(r.body.areas.length).toBeGreaterThan(0);
    }
    expect((await call({ route: '/api/audit', url: '/api/audit?format=geojson' })).status).toBe(200);
    await expectError({ route: '/api/coverage', url: '/api/coverage?rule_set=nope' }, 400, 'unknown_rule_set');
    await expectError({ route: '/api/coverage', url: '/api/coverage?level=city' }, 400, 'invalid_parameter');
    await expectError({ route: '/api/audit', url: '/api/audit?level=street' }, 400, 'invalid_parameter');
  });

  it('coverage and audit filtered by district and street (JSON, CSV, GeoJSON), and a bad place name', async () => {
    // the template names no 区 for some areas: the first named one is filtered by, else a name no area carries
    const all = await call({ route: '/api/coverage', url: '/api/coverage?level=residential_area' });
    const district: string =
      all.body.areas.find((a: { district: string | null }) => a.district)?.district ?? '不存在区';
    const enc = encodeURIComponent(district);
    const filtered = await call({
      route: '/api/coverage',
      url: `/api/coverage?level=residential_area&district=${enc}`,
    });
    expect(filtered.status).toBe(200);
    expect(filtered.body.filters).toEqual({ district });
    expect(filtered.body.areas.every((a: { district: string | null }) => a.district === district)).toBe(true);
    const both = await call({
      route: '/api/audit',
      url: `/api/audit?level=community&district=${enc}&street=${encodeURIComponent('不存在街道')}`,
    });
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({ filters: { district, street: '不存在街道' }, areas: [] });
    for (const route of ['/api/coverage', '/api/audit']) {
      expect((await call({ route, url: `${route}?district=${enc}&format=csv` })).status).toBe(200);
      expect((await call({ route, url: `${route}?street=${enc}&format=geojson` })).status).toBe(200);
    }
    await expectError({ route: '/api/coverage', url: '/api/coverage?district=' }, 400, 'invalid_parameter');
    await expectError({ route: '/api/audit', url: `/api/audit?street=${'a'.repeat(201)}` }, 400, 'invalid_parameter');
  });

  it('plans: list, read, create, change, delete, and their errors', async () => {
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const geometry = squareAround(104.10313, 30.66721, 4900);
    const created = await call({
      method: 'POST',
      route: '/api/plans',
      body: { kind: 'add_open_space', name: 'contract park', geometry, notes: null },
      headers: auth(planner),
    });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    await expectError(
      { method: 'POST', route: '/api/plans', body: { kind: 'add_open_space', name: 'x', geometry } },
      401,
      'unauthorized',
    );
    await expectError(
      {
        method: 'POST',
        route: '/api/plans',
        body: { kind: 'add_open_space', name: 'x', geometry },
        headers: auth(viewer),
      },
      403,
      'forbidden',
    );
    await expectError(
      { method: 'POST', route: '/api/plans', body: { kind: 'nope', name: 'x', geometry }, headers: auth(planner) },
      400,
      'invalid_parameter',
    );

    expect((await call({ route: '/api/plans' })).status).toBe(200);
    expect((await call({ route: '/api/plans', url: '/api/plans?include=geometry&limit=1' })).status).toBe(200);
    await expectError({ route: '/api/plans', url: '/api/plans?limit=0' }, 400, 'invalid_parameter');
    expect((await call({ route: '/api/plans/{id}', url: `/api/plans/${id}` })).status).toBe(200);
    await expectError({ route: '/api/plans/{id}', url: '/api/plans/99999999' }, 404, 'not_found');
    await expectError({ route: '/api/plans/{id}', url: '/api/plans/abc' }, 400, 'invalid_parameter');

    const patched = await call({
      method: 'PATCH',
      route: '/api/plans/{id}',
      url: `/api/plans/${id}`,
      body: { status: 'approved' },
      headers: { ...auth(planner), 'if-match': '"1"' },
    });
    expect(patched.status).toBe(200);
    await expectError(
      {
        method: 'PATCH',
        route: '/api/plans/{id}',
        url: `/api/plans/${id}`,
        body: { status: 'done' },
        headers: { ...auth(planner), 'if-match': '"1"' },
      },
      412,
      'precondition_failed',
    );
    await expectError(
      {
        method: 'PATCH',
        route: '/api/plans/{id}',
        url: '/api/plans/99999999',
        body: { status: 'done' },
        headers: auth(planner),
      },
      404,
      'not_found',
    );
    await expectError(
      { method: 'PATCH', route: '/api/plans/{id}', url: `/api/plans/${id}`, body: {}, headers: auth(planner) },
      400,
      'invalid_parameter',
    );
    await expectError(
      {
        method: 'DELETE',
        route: '/api/plans/{id}',
        url: `/api/plans/${id}`,
        headers: { ...auth(planner), 'if-match': '"1"' },
      },
      412,
      'precondition_failed',
    );
    expect(
      (await call({ method: 'DELETE', route: '/api/plans/{id}', url: `/api/plans/${id}`, headers: auth(planner) }))
        .status,
    ).toBe(204);
    await expectError(
      { method: 'DELETE', route: '/api/plans/{id}', url: `/api/plans/${id}`, headers: auth(planner) },
      404,
      'not_found',
    );
    await expectError({ method: 'DELETE', route: '/api/plans/{id}', url: `/api/plans/${id}` }, 401, 'unauthorized');
  });

  it('scenario evaluation and suggestions, and their errors', async () => {
    const site = { kind: 'add_open_space', name: 'contract site', geometry: squareAround(104.08665, 30.65816, 4900) };
    const r = await call({
      method: 'POST',
      route: '/api/scenarios/evaluate',
      body: { plans: [site], include_changed_edges: true },
    });
    expect(r.status).toBe(200);
    expect(r.body.changed_edges.features.length).toBeGreaterThan(0);
    await expectError({ method: 'POST', route: '/api/scenarios/evaluate', body: {} }, 400, 'invalid_parameter');
    await expectError(
      { method: 'POST', route: '/api/scenarios/evaluate', body: { plan_ids: [99999999] } },
      404,
      'not_found',
    );
    await expectError(
      { method: 'POST', route: '/api/scenarios/evaluate', body: { plans: [site], rule_set: 'nope' } },
      400,
      'unknown_rule_set',
    );

    const s = await call({
      route: '/api/suggest',
      url: '/api/suggest?rule=chengdu-park-city/park_500&k=2&bbox=104.08,30.65,104.095,30.665',
    });
    expect(s.status).toBe(200);
    expect(s.body.picks.length).toBeGreaterThan(0);
    expect(
      (await call({ route: '/api/suggest', url: '/api/suggest?rule=chengdu-park-city/park_500&k=1&candidates=plans' }))
        .status,
    ).toBe(200);
    await expectError(
      { route: '/api/suggest', url: '/api/suggest?rule=chengdu-park-city/nope' },
      400,
      'invalid_parameter',
    );
    await expectError(
      { route: '/api/suggest', url: '/api/suggest?rule=chengdu-park-city/park_500&bbox=104.1,30.7,104.0,30.6' },
      400,
      'invalid_parameter',
    );
  });

  it('vector tiles: a tile, an empty tile, and their errors', async () => {
    // z14 tile over 人民公园
    const n = 2 ** 14;
    const x = Math.floor(((CENTRE.lng + 180) / 360) * n);
    const latRad = (CENTRE.lat * Math.PI) / 180;
    const y = Math.floor(((1 - Math.log(Math.tan(latRad) + 1 / Math.cos(latRad)) / Math.PI) / 2) * n);
    const route = '/tiles/{layer}/{z}/{x}/{y}.pbf';
    expect((await call({ route, url: `/tiles/network/14/${x}/${y}.pbf` })).status).toBe(200);
    expect((await call({ route, url: '/tiles/network/14/0/0.pbf' })).status).toBe(204);
    await expectError({ route, url: '/tiles/nope/14/0/0.pbf' }, 404, 'not_found');
    await expectError({ route, url: '/tiles/network/1/5/0.pbf' }, 400, 'invalid_parameter');
    await expectError({ route, url: '/tiles/areas/14/0/0.pbf?rule_set=nope' }, 400, 'unknown_rule_set');
  });

  it('the token check', async () => {
    const r = await call({ route: '/api/token', headers: { authorization: `Bearer ${planner}` } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ role: 'planner', can_write_plans: true });
    await expectError({ route: '/api/token' }, 401, 'unauthorized');
    await expectError(
      { route: '/api/token', headers: { authorization: 'Bearer lc_not_a_token' } },
      401,
      'unauthorized',
    );
  });

  it('rule sets: the schema, storing one, and its errors', async () => {
    expect((await call({ route: '/api/rule-sets/schema' })).status).toBe(200);
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const set = {
      id: 'contract-elderly-600',
      version: '1',
      zh: '合同测试',
      en: 'Contract test',
      citation: 'test',
      rules: [
        {
          id: 'elderly_600',
          zh: '养老 600 m',
          en: 'Elderly care 600 m',
          targetShare: 0.8,
          citation: 'test',
          tiers: [{ categories: ['elderly_care'], maxDistanceM: 600, citation: 'test' }],
        },
      ],
    };
    const url = '/api/rule-sets?compute=false';
    const stored = await call({ method: 'POST', route: '/api/rule-sets', url, body: set, headers: auth(admin) });
    expect(stored.status).toBe(201);
    // the same content again is stored already (200); other content under the same version, or a built-in id, conflicts
    expect((await call({ method: 'POST', route: '/api/rule-sets', url, body: set, headers: auth(admin) })).status).toBe(
      200,
    );
    await expectError(
      { method: 'POST', route: '/api/rule-sets', url, body: { ...set, zh: '另一内容' }, headers: auth(admin) },
      409,
      'conflict',
    );
    await expectError(
      { method: 'POST', route: '/api/rule-sets', url, body: { ...set, id: 'chengdu-park-city' }, headers: auth(admin) },
      409,
      'conflict',
    );
    await expectError(
      { method: 'POST', route: '/api/rule-sets', url, body: { ...set, rules: [] }, headers: auth(admin) },
      422,
      'invalid_rule_set',
    );
    await expectError(
      { method: 'POST', route: '/api/rule-sets', url, body: set, headers: auth(planner) },
      403,
      'forbidden',
    );
    await expectError({ method: 'POST', route: '/api/rule-sets', url, body: set }, 401, 'unauthorized');
  });

  it('life-circle bands and search, and their errors', async () => {
    const bands = await call({
      route: '/api/isochrone/bands',
      url: `/api/isochrone/bands?lng=${CENTRE.lng}&lat=${CENTRE.lat}&limits_m=300,500`,
    });
    expect(bands.status).toBe(200);
    expect(bands.body.features).toHaveLength(2);
    await expectError(
      { route: '/api/isochrone/bands', url: `/api/isochrone/bands?lng=${CENTRE.lng}&lat=${CENTRE.lat}&limits_m=0` },
      400,
      'invalid_parameter',
    );
    await expectError(
      { route: '/api/isochrone/bands', url: '/api/isochrone/bands?lng=0&lat=0' },
      422,
      'outside_dataset',
    );
    const found = await call({ route: '/api/search', url: `/api/search?q=${encodeURIComponent('公园')}` });
    expect(found.status).toBe(200);
    await expectError({ route: '/api/search', url: '/api/search?q=' }, 400, 'invalid_parameter');
  });

  it('drill-down and the printable report, and their errors', async () => {
    const audit = await call({ route: '/api/audit', url: '/api/audit?level=community' });
    const failing = audit.body.areas.find((a: { failed_rules: unknown[] }) => a.failed_rules.length);
    expect(failing, 'a failing community in central Chengdu').toBeDefined();
    const route = '/api/areas/{level}/{id}/drilldown';
    const d = await call({
      route,
      url: `/api/areas/community/${failing.area_key}/drilldown?rule=${failing.failed_rules[0].rule_id}&max_points=50`,
    });
    expect(d.status).toBe(200);
    await expectError(
      { route, url: `/api/areas/community/${failing.area_key}/drilldown?rule=nope` },
      400,
      'unknown_rule',
    );
    await expectError(
      { route, url: `/api/areas/community/99999999/drilldown?rule=${failing.failed_rules[0].rule_id}` },
      404,
      'not_found',
    );
    await expectError({ route, url: '/api/areas/street/1/drilldown?rule=park_500' }, 400, 'invalid_parameter');
    const report = '/report/{level}/{id}';
    const html = await call({ route: report, url: `/report/community/${failing.area_key}?format=html` });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    await expectError({ route: report, url: '/report/city/5?format=html' }, 400, 'invalid_parameter');
    await expectError({ route: report, url: '/report/community/99999999?format=html' }, 404, 'not_found');
  });

  it('saved scenarios: save, list, read, results, compare, delete, and their errors', async () => {
    const auth = { authorization: `Bearer ${planner}` };
    const site = { kind: 'add_open_space', name: 'contract site', geometry: squareAround(104.08665, 30.65816, 4900) };
    const a = await call({
      method: 'POST',
      route: '/api/saved-scenarios',
      body: { name: 'A', sites: [site] },
      headers: auth,
    });
    expect(a.status).toBe(201);
    const b = await call({
      method: 'POST',
      route: '/api/saved-scenarios',
      body: { name: 'B', sites: [site, { ...site, name: 'second', geometry: squareAround(104.07, 30.67, 4900) }] },
      headers: auth,
    });
    expect(b.status).toBe(201);
    await expectError(
      { method: 'POST', route: '/api/saved-scenarios', body: { name: 'C', sites: [site] } },
      401,
      'unauthorized',
    );
    await expectError(
      {
        method: 'POST',
        route: '/api/saved-scenarios',
        body: { name: 'C', sites: [site] },
        headers: { authorization: `Bearer ${viewer}` },
      },
      403,
      'forbidden',
    );
    await expectError(
      { method: 'POST', route: '/api/saved-scenarios', body: { sites: [site] }, headers: auth },
      400,
      'invalid_parameter',
    );
    expect((await call({ route: '/api/saved-scenarios' })).status).toBe(200);
    const one = '/api/saved-scenarios/{id}';
    expect((await call({ route: one, url: `/api/saved-scenarios/${a.body.id}` })).status).toBe(200);
    await expectError({ route: one, url: '/api/saved-scenarios/99999999' }, 404, 'not_found');
    const results = '/api/saved-scenarios/{id}/results';
    expect((await call({ route: results, url: `/api/saved-scenarios/${a.body.id}/results?format=json` })).status).toBe(
      200,
    );
    expect((await call({ route: results, url: `/api/saved-scenarios/${a.body.id}/results` })).status).toBe(200);
    await expectError({ route: results, url: '/api/saved-scenarios/99999999/results' }, 404, 'not_found');
    const compare = '/api/saved-scenarios/compare';
    expect((await call({ route: compare, url: `${compare}?a=${a.body.id}&b=${b.body.id}` })).status).toBe(200);
    await expectError({ route: compare, url: `${compare}?a=${a.body.id}&b=99999999` }, 404, 'not_found');
    await expectError({ method: 'DELETE', route: one, url: `/api/saved-scenarios/${a.body.id}` }, 401, 'unauthorized');
    expect(
      (await call({ method: 'DELETE', route: one, url: `/api/saved-scenarios/${a.body.id}`, headers: auth })).status,
    ).toBe(204);
    await expectError(
      { method: 'DELETE', route: one, url: `/api/saved-scenarios/${a.body.id}`, headers: auth },
      404,
      'not_found',
    );
  });

  it('every operation of the published document was exercised above', () => {
    const documented = Object.entries(doc.paths)
      .filter(([p]) => !p.startsWith('/docs'))
      .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    expect(documented.length).toBeGreaterThan(10);
    expect(
      documented.filter((k) => !exercised.has(k)),
      'operations without a contract case',
    ).toEqual([]);
  });
});

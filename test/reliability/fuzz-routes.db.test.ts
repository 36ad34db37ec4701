import net from 'node:net';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../server/auth.ts';
import { buildApp } from '../../server/app.ts';
import { DEFAULT_HEAVY_LIMITS } from '../../server/plugins/heavy-pool.ts';
import { ERRORS } from '../../server/errors.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { dbSnapshot, type DbSnapshot } from './db-snapshot.ts';
import { createPool } from '../../server/db/pool.ts';

// Property-based garbage at every route through app.inject: never a 5xx, always the error body for a
// 4xx, never a hang, and the database unchanged afterwards. Seeded, so a failure replays exactly.

const SEED = 1515;
const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/**
 * A request taking longer than this counts as a hang: longer than the server's own limits allow (a
 * heavy task's time limit, then its SQL's), plus a margin. A fixed 10 s failed on a loaded 2-core
 * machine (load 11) on a 3 km isochrone the server was still legitimately working on.
 */
const REQUEST_TIMEOUT_MS = DEFAULT_HEAVY_LIMITS.timeLimitMs + DEFAULT_HEAVY_LIMITS.sqlTimeLimitMs + 5_000;

let db: TestDatabase;
let app: FastifyInstance;
let pool: pg.Pool;
let planner: string;
let viewer: string;
let fixturePlanId: number;
let before: DbSnapshot;
/** Writes the fuzz was allowed to make because the input happened to be valid. */
const accepted = { created: 0, updated: 0, deleted: 0 };
const statusCounts = new Map<number, number>();
let requests = 0;

const SQL_INJECTION = [
  "' OR '1'='1",
  '1; DROP TABLE walk_edges; --',
  "'); DELETE FROM plans; --",
  "1' UNION SELECT token_sha256 FROM api_tokens --",
  "park'; TRUNCATE audit_log; --",
  '$1',
  "\\'; SELECT pg_sleep(30); --",
  '1 AND (SELECT pg_sleep(30)) IS NULL',
  "chengdu-park-city' OR 1=1--",
  'community%27%20OR%201%3D1',
];
const SPECIAL = [
  '',
  ' ',
  'null',
  'undefined',
  'true',
  'false',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'toString',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '\uFEFF',
  '٣٠',
  '１０４',
  '一百零四',
  '🏞️',
  'a'.repeat(5000),
];
const NUMBERISH = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  '1e-400',
  '9'.repeat(400),
  '0x68',
  '104,06',
  '104.06.1',
  '+104.06',
  ' 104.06 ',
  '104.06abc',
  '0',
  '-0',
  '1e3',
  '.5',
  '5.',
  '2147483648',
  '-2147483649',
  '9007199254740993',
];

/** A query value as it would be typed, valid or not. */
const garbage: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...SQL_INJECTION),
  fc.constantFrom(...SPECIAL),
  fc.constantFrom(...NUMBERISH),
  fc.double().map(String),
  fc.integer().map(String),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);
/** A parameter's valid values, and what a fuzzer throws at it (valid values included). */
interface Param {
  valid: fc.Arbitrary<string>;
  any: fc.Arbitrary<string>;
}
const param = (valid: fc.Arbitrary<string>, ...bad: fc.Arbitrary<string>[]): Param => ({
  valid,
  any: fc.oneof(valid, ...bad, garbage),
});
const lngParam = param(fc.double({ min: 104.02, max: 104.1, noNaN: true }).map(String), fc.double().map(String));
const latParam = param(fc.double({ min: 30.63, max: 30.69, noNaN: true }).map(String), fc.double().map(String));
const ruleSetParam = param(
  fc.constantFrom('chengdu-park-city', 'gb50180-2018', 'garden-city'),
  fc.constantFrom('CHENGDU-PARK-CITY', 'gb50180'),
);
const categoriesParam = param(
  fc
    .subarray(['park', 'green_space', 'health', 'market', 'elderly_care', 'sports'], { minLength: 1 })
    .map((a) => a.join(',')),
  fc.constantFrom('unicorns', 'park,,park', ',', 'park,unicorns', 'PARK'),
  fc.array(fc.constantFrom('park', 'health', 'nope', '', ' '), { maxLength: 12 }).map((a) => a.join(',')),
);

/**
 * Query strings: a third all valid (so the handlers run on generated points and options), the rest
 * with each parameter absent, garbage or repeated (an array for the parser), unknown parameters and
 * unencoded fragments.
 */
function queryOf(params: Record<string, Param>): fc.Arbitrary<string> {
  const valid = fc.tuple(...Object.entries(params).map(([k, p]) => p.valid.map((v) => [k, v] as [string, string])));
  const entries = Object.entries(params).map(([k, p]) =>
    fc.oneof(
      { weight: 1, arbitrary: fc.constant([] as [string, string][]) },
      { weight: 10, arbitrary: p.any.map((v) => [[k, v]] as [string, string][]) },
      {
        weight: 1,
        arbitrary: fc
          .array(p.any, { minLength: 2, maxLength: 3 })
          .map((vs) => vs.map((v) => [k, v] as [string, string])),
      },
    ),
  );
  const extra = fc.oneof(
    { weight: 5, arbitrary: fc.constant([] as [string, string][]) },
    fc.tuple(fc.constantFrom('x', 'lng[]', '__proto__', 'constructor[prototype]', 'format'), garbage).map((e) => [e]),
  );
  // Unencoded fragments: bad percent escapes, a cut UTF-8 sequence, empty pairs.
  const raw = fc.oneof(
    { weight: 10, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('&lng=%', '&lat=%zz', '&lng=%E4%B8', '&&&', '&==', '&lat', '&lng=1&lng=') },
  );
  const fuzzed = fc
    .tuple(fc.tuple(...entries), extra, raw)
    .map(([groups, more, tail]) => ({ pairs: [...groups.flat(), ...more], tail }));
  return fc
    .oneof({ weight: 1, arbitrary: valid.map((pairs) => ({ pairs, tail: '' })) }, { weight: 2, arbitrary: fuzzed })
    .map(({ pairs, tail }) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&') + tail);
}

/** A polygon ring around (lng, lat), optionally a bow-tie (self-intersecting). */
const square = (lng: number, lat: number, d: number) => [
  [
    [lng, lat],
    [lng + d, lat],
    [lng + d, lat + d],
    [lng, lat + d],
    [lng, lat],
  ],
];
const bowtie = (lng: number, lat: number, d: number) => [
  [
    [lng, lat],
    [lng + d, lat + d],
    [lng + d, lat],
    [lng, lat + d],
    [lng, lat],
  ],
];
const coord = fc.oneof(
  fc.double({ min: 104, max: 104.1, noNaN: true }),
  fc.double(),
  fc.constantFrom(1e308, -1e308, 0, 181, -91),
);
const geometryLike: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({
    type: fc.constant('Polygon'),
    coordinates: fc
      .tuple(coord, coord, fc.double({ min: 0, max: 0.01, noNaN: true }))
      .map(([x, y, d]) => square(x, y, d)),
  }),
  fc.record({ type: fc.constant('Polygon'), coordinates: fc.tuple(coord, coord).map(([x, y]) => bowtie(x, y, 0.001)) }),
  fc.constantFrom(
    { type: 'Polygon', coordinates: [] },
    { type: 'Polygon', coordinates: [[]] },
    {
      type: 'Polygon',
      coordinates: [
        [
          [104.06, 30.66],
          [104.06, 30.66],
          [104.06, 30.66],
          [104.06, 30.66],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [104.06, 30.66],
          [104.07, 30.66],
          [104.07, 30.67],
        ],
      ],
    },
    { type: 'MultiPolygon', coordinates: [[]] },
    { type: 'MultiPolygon', coordinates: [square(104.06, 30.66, 0.001), square(104.0605, 30.6605, 0.001)] },
    { type: 'LineString', coordinates: [[104.06, 30.66]] },
    {
      type: 'LineString',
      coordinates: [
        [104.06, 30.66],
        [104.06, 30.66],
      ],
    },
    { type: 'Point', coordinates: [104.06, 30.66] },
    { type: 'GeometryCollection', geometries: [] },
    {
      type: 'Polygon',
      coordinates: [
        [
          ['104', '30'],
          ['104', '31'],
          ['105', '31'],
          ['104', '30'],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [104.06, 30.66, 1, 2],
          [104.07, 30.66],
          [104.07, 30.67],
          [104.06, 30.66],
        ],
      ],
    },
    { type: 'Polygon', coordinates: [[[[[[[104.06]]]]]]] },
    // a Z value; a ring spanning the antimeridian; a site wider than the 5 km scenarios accept
    {
      type: 'Polygon',
      coordinates: [
        [
          [104.06, 30.66],
          [104.07, 30.66, 0],
          [104.07, 30.67],
          [104.06, 30.66],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [104.07, 30.66, 0],
          [104.08, 30.66, 0],
          [104.08, 30.67, 0],
          [104.07, 30.66, 0],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [-180, 0],
          [0, 0],
          [180, 0],
          [180, 1],
          [-180, 1],
          [-180, 0],
        ],
      ],
    },
    { type: 'Polygon', coordinates: square(104.02, 30.63, 0.06) },
    {
      type: 'LineString',
      coordinates: [
        [104.02, 30.66],
        [104.09, 30.66],
      ],
    },
    { type: 'Polygon', coordinates: Array.from({ length: 2500 }, () => [[104.06, 30.66]]) },
    {
      type: 'Polygon',
      coordinates: [
        Array.from({ length: 2100 }, (_, k) => [104.06 + 0.001 * Math.cos(k), 30.66 + 0.001 * Math.sin(k)]),
      ],
    },
  ),
  fc.anything({ maxDepth: 4 }),
);
const planName = fc.oneof(
  fc.constantFrom('口袋公园', '=HYPERLINK("x")', '+1', '@SUM(A1)', ...SQL_INJECTION),
  fc.string({ minLength: 1, maxLength: 200 }),
);
/** Text PostgreSQL cannot store (NUL) or longer than the limits, next to valid text. */
const badText = fc.oneof(
  fc.constantFrom('口袋\u0000公园', '\u0000', 'x'.repeat(201), 'x'.repeat(2001), '长'.repeat(2_000_000)),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `${a}\u0000${b}`),
);
/** A body whose coordinates are nested `depth` deep, as raw JSON (JSON.stringify itself overflows on it). */
const deeplyNested = (depth: number, wrap: (coords: string) => string) =>
  wrap(`${'['.repeat(depth)}104.06,30.66${']'.repeat(depth)}`);
const DEEP_BODIES = [
  deeplyNested(
    10_000,
    (c) => `{"kind":"add_open_space","name":"deep","geometry":{"type":"Polygon","coordinates":${c}}}`,
  ),
  deeplyNested(10_000, (c) => `{"plans":[{"kind":"add_open_space","geometry":{"type":"Polygon","coordinates":${c}}}]}`),
  deeplyNested(10_000, (c) => `{"kind":"add_open_space","name":${c},"geometry":{"type":"Polygon","coordinates":[]}}`),
  deeplyNested(100_000, (c) => c),
];
/** Plans the API should accept: names include formulas and SQL, which must be stored as text. */
const validPlan: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('add_open_space', 'demolish_illegal'),
    name: planName,
    geometry: fc
      .tuple(
        fc.double({ min: 104.02, max: 104.1, noNaN: true }),
        fc.double({ min: 30.63, max: 30.69, noNaN: true }),
        fc.double({ min: 1e-5, max: 0.005, noNaN: true }),
      )
      .map(([x, y, d]) => ({ type: 'Polygon', coordinates: square(x, y, d) })),
  }),
  fc.record({
    kind: fc.constant('demolish_wall'),
    name: planName,
    geometry: fc
      .tuple(fc.double({ min: 104.02, max: 104.1, noNaN: true }), fc.double({ min: 30.63, max: 30.69, noNaN: true }))
      .map(([x, y]) => ({
        type: 'LineString',
        coordinates: [
          [x, y],
          [x + 0.001, y + 0.0005],
        ],
      })),
  }),
);
const planLike: fc.Arbitrary<unknown> = fc.oneof(
  validPlan,
  fc.record(
    {
      kind: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('demolish_illegal', 'demolish_wall', 'add_open_space', 'teleport') },
        garbage,
      ),
      name: fc.oneof(
        fc.constantFrom('口袋公园', '=HYPERLINK("x")', ...SQL_INJECTION),
        garbage,
        fc.constant(42),
        badText,
      ),
      status: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('proposed', 'approved', 'done') }, garbage),
      geometry: geometryLike,
      notes: fc.oneof(fc.constant(null), garbage, badText),
      extra: garbage,
    },
    { requiredKeys: ['kind', 'name', 'geometry'] },
  ),
  fc.anything({ maxDepth: 3 }),
);
const bodyLike: fc.Arbitrary<{ payload: string; contentType: string }> = fc.oneof(
  { weight: 6, arbitrary: planLike.map((b) => ({ payload: safeStringify(b), contentType: 'application/json' })) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 200 })
      .map((s) => ({ payload: s, contentType: 'application/json' })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '{"kind":',
        '{"a":1}}',
        '[]',
        'null',
        '"x"',
        '1e999',
        '{"__proto__":{"admin":true}}',
        '{"constructor":{"prototype":{"x":1}}}',
      )
      .map((s) => ({ payload: s, contentType: 'application/json' })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...DEEP_BODIES).map((s) => ({ payload: s, contentType: 'application/json' })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          'application/xml',
          '',
        ),
        garbage,
      )
      .map(([ct, s]) => ({ payload: s, contentType: ct })),
  },
);
const idLike = fc.oneof(fc.integer({ min: -5, max: 5 }).map(String), garbage);
const tokenLike = fc.oneof(
  { weight: 6, arbitrary: fc.constant('planner') },
  fc.constant('viewer'),
  fc.constant('none'),
  garbage.map((g) => `Bearer ${g}`),
  fc.constantFrom(
    'Bearer',
    'Basic dXNlcjpwYXNz',
    `Bearer lc_${'A'.repeat(43)}`,
    'bearer  ',
    'Bearer ' + 'x'.repeat(300),
  ),
);

/** encodeURIComponent that tolerates lone surrogates (it throws on them): they become U+FFFD. */
const enc = (s: string) =>
  encodeURIComponent(s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null';
  } catch {
    return '{}';
  }
}

let addressCounter = 0;
/** A fresh client address per request, so the auth-failure limiter never masks a deeper check. */
const nextAddress = () => {
  const n = ++addressCounter;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
  requests++;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `no answer within ${REQUEST_TIMEOUT_MS} ms: ${opts.method ?? 'GET'} ${String(opts.url).slice(0, 300)}`,
          ),
        ),
      REQUEST_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([app.inject({ remoteAddress: nextAddress(), ...opts }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The contract for any input: no 5xx; a 4xx carries {error:{code,message}} with a catalogued code. */
function expectSound(r: LightMyRequestResponse, what: string): void {
  statusCounts.set(r.statusCode, (statusCounts.get(r.statusCode) ?? 0) + 1);
  const ctx = `${what} → ${r.statusCode} ${r.body.slice(0, 300)}`;
  expect(r.statusCode, ctx).toBeLessThan(500);
  expect(r.body, ctx).not.toMatch(/at .*\.ts:\d+|node_modules|\bstack\b/);
  if (r.statusCode >= 400) {
    expect(r.headers['content-type'], ctx).toMatch(/application\/json/);
    const body = r.json();
    expect(typeof body?.error?.code, ctx).toBe('string');
    expect(typeof body?.error?.message, ctx).toBe('string');
    expect(Object.keys(ERRORS), ctx).toContain(body.error.code);
    if (body.error.code !== 'bad_request')
      expect(ERRORS[body.error.code as keyof typeof ERRORS], ctx).toBe(r.statusCode);
  } else {
    expect([200, 201, 204, 304], ctx).toContain(r.statusCode);
    const type = String(r.headers['content-type'] ?? '');
    if (type.includes('application/json')) expect(() => JSON.parse(r.body), ctx).not.toThrow();
  }
}

function authHeader(kind: string): Record<string, string> {
  if (kind === 'planner') return { authorization: `Bearer ${planner}` };
  if (kind === 'viewer') return { authorization: `Bearer ${viewer}` };
  if (kind === 'none') return {};
  return { authorization: kind };
}

const property = <T>(arb: fc.Arbitrary<T>, check: (v: T) => Promise<void>) =>
  fc.assert(fc.asyncProperty(arb, check), { seed: SEED, numRuns: NUM_RUNS, endOnFailure: true });

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 2 });
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
  planner = (await createToken(pool, 'fuzz-planner', 'planner')).token;
  viewer = (await createToken(pool, 'fuzz-viewer', 'viewer')).token;
  const created = await app.inject({
    method: 'POST',
    url: '/api/plans',
    headers: { authorization: `Bearer ${planner}` },
    payload: {
      kind: 'add_open_space',
      name: 'fixture',
      geometry: { type: 'Polygon', coordinates: square(104.06, 30.66, 0.0005) },
    },
  });
  expect(created.statusCode).toBe(201);
  fixturePlanId = created.json().id;
  before = await dbSnapshot(pool);
});

afterAll(async () => {
  const summary = [...statusCounts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  console.log(
    `fuzz: ${requests} requests (seed ${SEED}, ${NUM_RUNS} runs per route): ${summary}; accepted writes ${JSON.stringify(accepted)}`,
  );
  await app?.close();
  await pool?.end();
  await db?.drop();
});

describe(`every route survives generated garbage (seed ${SEED})`, () => {
  it('GET /api/proximity', async () => {
    await property(
      queryOf({ lng: lngParam, lat: latParam, categories: categoriesParam, rule_set: ruleSetParam }),
      async (q) => {
        expectSound(await send({ url: `/api/proximity?${q}` }), `proximity?${q}`);
      },
    );
  });

  it('GET /api/isochrone', async () => {
    const distance = param(fc.double({ min: 1, max: 3000, noNaN: true }).map(String), fc.double().map(String));
    await property(queryOf({ lng: lngParam, lat: latParam, distance_m: distance }), async (q) => {
      expectSound(await send({ url: `/api/isochrone?${q}` }), `isochrone?${q}`);
    });
  });

  it('GET /api/coverage and /api/audit', async () => {
    const level = param(
      fc.constantFrom('residential_area', 'community'),
      fc.constantFrom('street', 'district', 'planet'),
    );
    const format = param(fc.constantFrom('json', 'geojson', 'csv'), fc.constant('xlsx'));
    await property(
      fc.tuple(fc.constantFrom('/api/coverage', '/api/audit'), queryOf({ rule_set: ruleSetParam, level, format })),
      async ([route, q]) => {
        expectSound(await send({ url: `${route}?${q}` }), `${route}?${q}`);
      },
    );
  });

  it('GET /tiles/:layer/:z/:x/:y.pbf, including traversal attempts', async () => {
    const segment = fc.oneof(
      fc.integer({ min: -2, max: 40 }).map(String),
      fc.constantFrom(
        '..',
        '%2e%2e',
        '%2E%2E',
        '..%2f..%2f',
        '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
        '.',
        '%00',
        '%252e%252e',
        '/etc/passwd',
        '%2Fetc%2Fpasswd',
        'C:%5Cwindows',
        '%zz',
        '%E4%B8',
        '%',
      ),
      garbage.map(enc),
    );
    const layer = fc.oneof(
      fc.constantFrom(
        'basemap',
        'network',
        'facilities',
        'areas',
        'plans',
        'hasOwnProperty',
        '__proto__',
        'constructor',
      ),
      segment,
    );
    const tile = fc.oneof(
      fc
        .tuple(fc.integer({ min: 0, max: 22 }), fc.nat(), fc.nat())
        .map(([z, x, y]) => [String(z), String(x % 2 ** z), String(y % 2 ** z)]),
      fc.constant(['15', '25855', '13449']),
      fc.tuple(segment, segment, segment),
    );
    await property(fc.tuple(layer, tile, queryOf({ rule_set: ruleSetParam })), async ([l, [z, x, y], q]) => {
      const url = `/tiles/${l}/${z}/${x}/${y}.pbf?${q}`;
      const r = await send({ url });
      expectSound(r, url);
      expect(r.body).not.toContain('root:');
    });
  });

  it('GET /api/plans/:id, /api/health, /api/categories, /api/rules, /docs', async () => {
    await property(
      fc.tuple(
        fc.constantFrom(
          '/api/plans/',
          '/api/health?x=',
          '/api/categories?x=',
          '/api/rules?x=',
          '/api/plans?id=',
          '/docs/json?x=',
        ),
        idLike,
      ),
      async ([route, v]) => {
        expectSound(await send({ url: `${route}${enc(v)}` }), `${route}${v}`);
      },
    );
  });

  it('POST /api/plans with generated bodies and tokens', async () => {
    await property(fc.tuple(bodyLike, tokenLike), async ([body, token]) => {
      const r = await send({
        method: 'POST',
        url: '/api/plans',
        payload: body.payload,
        headers: { 'content-type': body.contentType, ...authHeader(token) },
      });
      expectSound(r, `POST ${token} ${body.payload.slice(0, 200)}`);
      if (r.statusCode === 201) accepted.created++;
    });
  });

  it('PATCH and DELETE /api/plans/:id with generated ids, bodies and tokens', async () => {
    const id = fc.oneof(
      fc.constant(() => String(fixturePlanId)),
      idLike.map((v) => () => v),
    );
    await property(
      fc.tuple(fc.constantFrom('PATCH', 'DELETE') as fc.Arbitrary<'PATCH' | 'DELETE'>, id, bodyLike, tokenLike),
      async ([method, idOf, body, token]) => {
        const url = `/api/plans/${enc(idOf())}`;
        const r = await send({
          method,
          url,
          payload: method === 'PATCH' ? body.payload : undefined,
          headers: { ...(method === 'PATCH' ? { 'content-type': body.contentType } : {}), ...authHeader(token) },
        });
        expectSound(r, `${method} ${url} ${token} ${body.payload.slice(0, 200)}`);
        if (method === 'PATCH' && r.statusCode === 200) accepted.updated++;
        if (method === 'DELETE' && r.statusCode === 204) accepted.deleted++;
      },
    );
  });

  it('every operation in the OpenAPI document, routes added later included', async () => {
    type Operation = { path: string; method: string; params: { name: string; in: string }[] };
    const spec = app.swagger() as unknown as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    };
    const ops: Operation[] = Object.entries(spec.paths).flatMap(([p, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ path: p, method: m.toUpperCase(), params: op.parameters ?? [] })),
    );
    expect(ops.length).toBeGreaterThan(10);
    const value = fc.oneof(
      garbage,
      fc.integer({ min: 0, max: 20 }).map(String),
      fc.constantFrom('park', 'chengdu-park-city/park_500', 'grid', 'plans', '104.05,30.65,104.07,30.67'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ops),
        fc.array(value, { minLength: 8, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        bodyLike,
        tokenLike,
        async (op, values, present, body, token) => {
          const pathParams = op.params.filter((p) => p.in === 'path');
          const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
            enc(values[pathParams.findIndex((p) => p.name === name)] ?? '1'),
          );
          const query = op.params
            .filter((p) => p.in === 'query')
            .map((p, i) => (present[i] ? `${enc(p.name)}=${enc(values[i])}` : ''))
            .filter(Boolean)
            .join('&');
          const hasBody = op.method === 'POST' || op.method === 'PATCH' || op.method === 'PUT';
          const r = await send({
            method: op.method as InjectOptions['method'],
            url: query ? `${url}?${query}` : url,
            payload: hasBody ? body.payload : undefined,
            headers: { ...(hasBody ? { 'content-type': body.contentType } : {}), ...authHeader(token) },
          });
          expectSound(r, `${op.method} ${url}?${query} ${hasBody ? body.payload.slice(0, 200) : ''}`);
          if (op.path.startsWith('/api/plans')) {
            if (op.method === 'POST' && r.statusCode === 201) accepted.created++;
            if (op.method === 'PATCH' && r.statusCode === 200) accepted.updated++;
            if (op.method === 'DELETE' && r.statusCode === 204) accepted.deleted++;
          }
        },
      ),
      { seed: SEED, numRuns: NUM_RUNS * 4, endOnFailure: true },
    );
  });

  it('router errors (over-long path parameter, bad percent-escape) keep the error form', async () => {
    // Regression: fastify's router answered these itself with {"error":"Bad Request","code":"FST_ERR_…"}.
    const long = await send({ url: `/tiles/basemap/${'9'.repeat(200)}/1/1.pbf` });
    expectSound(long, 'long param');
    expect(long.statusCode).toBe(414);
    expect(long.json().error.code).toBe('bad_request');
    const bad = await send({ url: '/tiles/network/%zz/1/1.pbf' });
    expectSound(bad, 'bad escape');
    expect(bad.statusCode).toBe(400);
  });

  it('non-finite numbers ("Infinity", "1e999") are refused in every query and path parameter', async () => {
    // Regression: Ajv coerced them to Infinity past minimum/maximum; the isochrone then walked the
    // whole network for seconds, and tiles, plan ids and suggestions answered 500.
    for (const url of [
      '/api/isochrone?lng=104.0585&lat=30.6605&distance_m=Infinity',
      '/api/isochrone?lng=104.0585&lat=30.6605&distance_m=1e999',
      '/api/proximity?lng=1e999&lat=30.66',
      '/api/proximity?lng=104.0585&lat=-Infinity',
      '/tiles/network/Infinity/1/1.pbf',
      '/tiles/network/15/1e999/1.pbf',
      '/api/plans/Infinity',
      '/api/plans/-1e999',
      '/api/suggest?rule=chengdu-park-city/park_500&k=Infinity',
    ]) {
      const r = await send({ url });
      expectSound(r, url);
      expect(r.statusCode, `${url} → ${r.body.slice(0, 200)}`).toBe(400);
      expect(r.json().error.code).toBe('invalid_parameter');
    }
  });

  it('oversized, self-intersecting and empty geometries are refused with a reason', async () => {
    const auth = { authorization: `Bearer ${planner}`, 'content-type': 'application/json' };
    const cases: [unknown, number, RegExp][] = [
      [
        { kind: 'add_open_space', name: 'x', geometry: { type: 'Polygon', coordinates: bowtie(104.06, 30.66, 0.001) } },
        400,
        /Self-intersection/,
      ],
      [{ kind: 'add_open_space', name: 'x', geometry: { type: 'Polygon', coordinates: [] } }, 400, /empty|ring/],
      [
        {
          kind: 'add_open_space',
          name: 'x',
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [104.06, 30.66],
                [104.06, 30.66],
                [104.06, 30.66],
                [104.06, 30.66],
              ],
            ],
          },
        },
        400,
        /invalid|empty/,
      ],
      [
        {
          kind: 'add_open_space',
          name: 'x',
          geometry: {
            type: 'Polygon',
            coordinates: [
              Array.from({ length: 2100 }, (_, k) => [104.06 + 0.001 * Math.cos(k), 30.66 + 0.001 * Math.sin(k)]),
            ],
          },
        },
        413,
        /vertices/,
      ],
      [
        {
          kind: 'add_open_space',
          name: 'x',
          geometry: { type: 'Polygon', coordinates: [Array.from({ length: 120_000 }, () => [104.06, 30.66])] },
        },
        413,
        /too large/,
      ],
      [
        {
          kind: 'add_open_space',
          name: 'x',
          geometry: { type: 'Polygon', coordinates: square(Infinity, 30.66, 0.001) },
        },
        400,
        /position|must be/,
      ],
    ];
    for (const [payload, status, message] of cases) {
      const r = await send({ method: 'POST', url: '/api/plans', headers: auth, payload: JSON.stringify(payload) });
      expectSound(r, JSON.stringify(payload).slice(0, 200));
      expect(r.statusCode, r.body).toBe(status);
      expect(r.json().error.message).toMatch(message);
    }
  });
});

describe('each class of input that answered 500 now answers a catalogued 4xx with its reason', () => {
  const auth = () => ({ authorization: `Bearer ${planner}`, 'content-type': 'application/json' });
  const polygon = (coordinates: unknown) => ({ type: 'Polygon', coordinates });
  let planId: number;
  beforeAll(async () => {
    // a plan of its own: the fuzz above may have deleted the fixture
    const r = await send({
      method: 'POST',
      url: '/api/plans',
      headers: auth(),
      payload: JSON.stringify({
        kind: 'add_open_space',
        name: 'classes',
        geometry: polygon(square(104.061, 30.661, 0.0005)),
      }),
    });
    expect(r.statusCode).toBe(201);
    accepted.created++;
    planId = r.json().id;
  });
  const classes: [string, Record<string, unknown>, number, string, RegExp][] = [
    [
      'a Z value',
      {
        kind: 'add_open_space',
        name: 'z',
        geometry: polygon([
          [
            [104.06, 30.66],
            [104.07, 30.66, 0],
            [104.07, 30.67],
            [104.06, 30.66],
          ],
        ]),
      },
      400,
      'invalid_parameter',
      /Z value/,
    ],
    [
      'a ring across the antimeridian',
      {
        kind: 'add_open_space',
        name: 'a',
        geometry: polygon([
          [
            [-180, 0],
            [0, 0],
            [180, 0],
            [180, 1],
            [-180, 1],
            [-180, 0],
          ],
        ]),
      },
      400,
      'invalid_parameter',
      /spans \d+ m; a plan is a site of at most 4950 m across/,
    ],
    [
      'a site 6.4 km wide',
      { kind: 'add_open_space', name: 'w', geometry: polygon(square(104.02, 30.63, 0.066)) },
      400,
      'invalid_parameter',
      /spans \d+ m/,
    ],
    [
      'a wall 7 km long',
      {
        kind: 'demolish_wall',
        name: 'w',
        geometry: {
          type: 'LineString',
          coordinates: [
            [104.02, 30.66],
            [104.093, 30.66],
          ],
        },
      },
      400,
      'invalid_parameter',
      /spans \d+ m/,
    ],
    [
      'a NUL in name',
      { kind: 'add_open_space', name: '口袋\u0000公园', geometry: polygon(square(104.06, 30.66, 0.0005)) },
      400,
      'invalid_parameter',
      /name/,
    ],
    [
      'a NUL in notes',
      { kind: 'add_open_space', name: 'n', notes: 'a\u0000b', geometry: polygon(square(104.06, 30.66, 0.0005)) },
      400,
      'invalid_parameter',
      /notes/,
    ],
    [
      'a name of 201 characters',
      { kind: 'add_open_space', name: 'x'.repeat(201), geometry: polygon(square(104.06, 30.66, 0.0005)) },
      400,
      'invalid_parameter',
      /name.*200/,
    ],
    [
      'notes of 2001 characters',
      { kind: 'add_open_space', name: 'n', notes: 'x'.repeat(2001), geometry: polygon(square(104.06, 30.66, 0.0005)) },
      400,
      'invalid_parameter',
      /notes.*2000/,
    ],
  ];
  for (const [what, body, status, code, message] of classes) {
    it(`${what}: POST and PATCH /api/plans, and inline in the unauthenticated evaluate`, async () => {
      const payload = JSON.stringify(body);
      const post = await send({ method: 'POST', url: '/api/plans', headers: auth(), payload });
      const patch = await send({ method: 'PATCH', url: `/api/plans/${planId}`, headers: auth(), payload });
      const { kind, geometry, name } = body as { kind: string; geometry: unknown; name: string };
      const evaluate = await send({
        method: 'POST',
        url: '/api/scenarios/evaluate',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ plans: [{ kind, geometry, name }] }),
      });
      for (const [r, route] of [
        [post, 'POST'],
        [patch, 'PATCH'],
        [evaluate, 'evaluate'],
      ] as const) {
        if (route === 'evaluate' && /notes/.test(what)) continue; // inline plans have no notes
        expectSound(r, `${route} ${what}`);
        expect(r.statusCode, `${route} ${what}: ${r.body.slice(0, 200)}`).toBe(status);
        expect(r.json().error.code).toBe(code);
        expect(r.json().error.message).toMatch(message);
      }
    });
  }

  it('coordinates nested 10,000 deep (and a body 100,000 deep) never overflow the stack', async () => {
    for (const payload of DEEP_BODIES) {
      for (const [url, headers] of [
        ['/api/plans', auth()],
        ['/api/scenarios/evaluate', { 'content-type': 'application/json' }],
      ] as const) {
        const r = await send({ method: 'POST', url, headers, payload });
        expectSound(r, `${url} deep ${payload.length}`);
        expect(r.statusCode, r.body.slice(0, 200)).toBe(400);
        expect(r.json().error.message).toMatch(/nested \d+ levels deep; at most 32/);
      }
    }
  });

  it('a proposed plan wider than 5 km stored before the write-time check does not fail suggestions for everyone', async () => {
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO plans (kind, name, geom) VALUES ('add_open_space', 'legacy 6 km', ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) RETURNING id`,
      [JSON.stringify(polygon(square(104.02, 30.63, 0.066)))],
    );
    try {
      const r = await send({ url: '/api/suggest?rule=chengdu-park-city/park_500&candidates=plans&k=1' });
      expectSound(r, 'suggest with a legacy wide plan');
      expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
      expect(r.json().picks.map((p: { plan_id: number }) => p.plan_id)).not.toContain(Number(rows[0].id));
      const ev = await send({
        method: 'POST',
        url: '/api/scenarios/evaluate',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ plan_ids: [Number(rows[0].id)] }),
      });
      expectSound(ev, 'evaluate a legacy wide plan');
      expect(ev.statusCode).toBe(400);
      expect(ev.json().error.message).toMatch(new RegExp(`^plan plan:${rows[0].id}: the geometry spans`));
    } finally {
      await pool.query(`DELETE FROM plans WHERE id = $1`, [rows[0].id]);
    }
  });

  it("requests Node's HTTP parser refuses come back in the error envelope", async () => {
    // app.inject bypasses the HTTP parser, so these go over a real socket.
    const server = await buildApp({ databaseUrl: db.url, webDist: false });
    await server.listen({ port: 0, host: '127.0.0.1' });
    const port = (server.server.address() as import('node:net').AddressInfo).port;
    const raw = (request: string) =>
      new Promise<{ status: number; headers: string; body: string }>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (d) => (data += d));
        socket.on('error', reject);
        socket.on('close', () => {
          const [head, body] = [data.slice(0, data.indexOf('\r\n\r\n')), data.slice(data.indexOf('\r\n\r\n') + 4)];
          resolve({ status: Number(head.split(' ')[1]), headers: head, body });
        });
        socket.end(request);
      });
    try {
      const cases: [string, string, number, string, RegExp][] = [
        [
          'a 60 kB query string',
          `GET /api/proximity?lng=104.06&lat=30.66&x=${'a'.repeat(60_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
          431,
          'headers_too_large',
          /query string/,
        ],
        [
          'a NUL in a header',
          'GET /api/health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n',
          400,
          'bad_request',
          /header/,
        ],
        [
          'Transfer-Encoding with Content-Length',
          'POST /api/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
          400,
          'bad_request',
          /Transfer-Encoding and Content-Length/,
        ],
        [
          'Content-Length with Transfer-Encoding',
          'POST /api/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
          400,
          'bad_request',
          /Transfer-Encoding and Content-Length/,
        ],
      ];
      for (const [what, request, status, code, message] of cases) {
        const r = await raw(request);
        expect(r.status, `${what}: ${r.headers}`).toBe(status);
        expect(r.headers, what).toMatch(/content-type: application\/json/i);
        const body = JSON.parse(r.body);
        expect(body.error.code, what).toBe(code);
        expect(body.error.message, what).toMatch(message);
        expect(Object.keys(ERRORS)).toContain(body.error.code);
        if (code !== 'bad_request') expect(ERRORS[code as keyof typeof ERRORS]).toBe(status);
      }
    } finally {
      await server.close();
    }
  });
});

describe('after the fuzz', () => {
  it('the database holds exactly what the valid writes made, and nothing else changed', async () => {
    const after = await dbSnapshot(pool);
    expect(after.datasets).toEqual(before.datasets);
    expect(after.facilityIdSum).toBe(before.facilityIdSum);
    expect(after.communityIdSum).toBe(before.communityIdSum);
    const expected = { ...before.counts };
    expected.plans += accepted.created - accepted.deleted;
    expected.audit_log += accepted.created + accepted.updated + accepted.deleted;
    expect(after.counts).toEqual(expected);
    // each accepted write is in the audit log with its plan, and nothing else is
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM plans p WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.entity = 'plan' AND a.entity_id = p.id::text AND a.action = 'plan.create')`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('the process still serves /api/health', async () => {
    const r = await app.inject('/api/health');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ok', database: 'reachable' });
    expect(r.json().dataset.counts.walk_edges).toBe(before.counts.walk_edges);
  });
});

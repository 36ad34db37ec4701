import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../server/auth.ts';
import { buildApp } from '../../server/app.ts';
import { createPool } from '../../server/db/pool.ts';
import { MAX_NAME_CHARS, MAX_NOTES_CHARS, MAX_PLAN_VERTICES } from '../../server/limits.ts';
import { PLANS_PAGE_DEFAULT, PLANS_PAGE_MAX } from '../../api/limits.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';

// Plans under concurrent and stale edits, and a list that stays light: each test pins a finding of
// issue 14 that failed before its fix.

let db: TestDatabase;
let app: FastifyInstance;
let pool: pg.Pool;
let token: string;

const square = (lng: number, lat: number, d: number) => ({
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
const auth = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

async function createPlan(name: string, i = 0): Promise<{ id: number; etag: string }> {
  const r = await app.inject({
    method: 'POST',
    url: '/api/plans',
    headers: auth(),
    payload: { kind: 'add_open_space', name, geometry: square(104.06 + i * 0.001, 30.66, 0.0005) },
  });
  expect(r.statusCode, r.body).toBe(201);
  return { id: r.json().id, etag: String(r.headers.etag) };
}
const auditCount = async (id: number) =>
  (
    await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE entity = 'plan' AND entity_id = $1`,
      [String(id)],
    )
  ).rows[0].n;

beforeAll(async () => {
  db = await createTestDatabase('empty');
  pool = createPool(db.url, { max: 2 });
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
  token = (await createToken(pool, 'state-planner', 'planner')).token;
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

describe('concurrent geometry edits', () => {
  it('24 concurrent geometry PATCHes all succeed without exhausting the pool, and reads meanwhile are answered', async () => {
    // Regression: the handler held a client for its transaction and asked the pool (10) for a
    // second to validate; 24 at once gave 10 × 503 and stalled everything else.
    const plans = await Promise.all(Array.from({ length: 24 }, (_, i) => createPlan(`concurrent ${i}`, i)));
    const patches = plans.map((p, i) =>
      app.inject({
        method: 'PATCH',
        url: `/api/plans/${p.id}`,
        headers: auth(),
        payload: { geometry: square(104.06 + i * 0.001, 30.661, 0.0004) },
      }),
    );
    const reads = plans.slice(0, 8).map((p) => app.inject({ url: `/api/plans/${p.id}` }));
    const answers = await Promise.all([...patches, ...reads]);
    expect(answers.map((r) => r.statusCode)).toEqual(answers.map(() => 200));
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM plans WHERE version = 2 AND ST_YMin(geom) > 30.6605`,
    );
    expect(rows[0].n).toBe(24);
  });
});

describe('plan versions: ETag and If-Match', () => {
  it('GET answers the version as ETag; a PATCH based on it applies and answers the next one', async () => {
    const p = await createPlan('versioned');
    expect(p.etag).toBe('"1"');
    const got = await app.inject({ url: `/api/plans/${p.id}` });
    expect(got.headers.etag).toBe('"1"');
    expect(got.json().version).toBe(1);
    const r = await app.inject({
      method: 'PATCH',
      url: `/api/plans/${p.id}`,
      headers: { ...auth(), 'if-match': '"1"' },
      payload: { name: 'renamed' },
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers.etag).toBe('"2"');
    expect(r.json()).toMatchObject({ name: 'renamed', version: 2 });
  });

  it('a stale PATCH or DELETE answers 412 precondition_failed and changes nothing, audit log included', async () => {
    const p = await createPlan('contested');
    const first = await app.inject({
      method: 'PATCH',
      url: `/api/plans/${p.id}`,
      headers: { ...auth(), 'if-match': p.etag },
      payload: { name: 'first editor' },
    });
    expect(first.statusCode).toBe(200);
    const audits = await auditCount(p.id);
    const stale = await app.inject({
      method: 'PATCH',
      url: `/api/plans/${p.id}`,
      headers: { ...auth(), 'if-match': p.etag },
      payload: { name: 'second editor, stale' },
    });
    expect(stale.statusCode, stale.body).toBe(412);
    expect(stale.json().error).toMatchObject({ code: 'precondition_failed', details: { version: 2 } });
    expect(stale.json().error.message).toMatch(/changed by someone else/);
    const del = await app.inject({
      method: 'DELETE',
      url: `/api/plans/${p.id}`,
      headers: { authorization: `Bearer ${token}`, 'if-match': p.etag },
    });
    expect(del.statusCode).toBe(412);
    const now = await app.inject({ url: `/api/plans/${p.id}` });
    expect(now.json()).toMatchObject({ name: 'first editor', version: 2 });
    expect(await auditCount(p.id)).toBe(audits);
    // a weak tag never matches (RFC 9110 strong comparison); the current one, or *, does
    expect(
      (
        await app.inject({
          method: 'PATCH',
          url: `/api/plans/${p.id}`,
          headers: { ...auth(), 'if-match': 'W/"2"' },
          payload: { status: 'approved' },
        })
      ).statusCode,
    ).toBe(412);
    expect(
      (
        await app.inject({
          method: 'PATCH',
          url: `/api/plans/${p.id}`,
          headers: { ...auth(), 'if-match': '"7", "2"' },
          payload: { status: 'approved' },
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await app.inject({
          method: 'DELETE',
          url: `/api/plans/${p.id}`,
          headers: { authorization: `Bearer ${token}`, 'if-match': '*' },
        })
      ).statusCode,
    ).toBe(204);
  });

  it('without If-Match a change applies (the header is optional) and still moves the version on', async () => {
    const p = await createPlan('no precondition');
    const r = await app.inject({
      method: 'PATCH',
      url: `/api/plans/${p.id}`,
      headers: auth(),
      payload: { notes: 'n' },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers.etag).toBe('"2"');
  });
});

describe('GET /api/plans is paged and light', () => {
  it(`pages by cursor (default ${PLANS_PAGE_DEFAULT}, at most ${PLANS_PAGE_MAX}); geometry only with include=geometry`, async () => {
    await Promise.all(Array.from({ length: 7 }, (_, i) => createPlan(`paged ${i}`, i)));
    const all = (await pool.query<{ id: string }>(`SELECT id FROM plans ORDER BY id`)).rows.map((r) => Number(r.id));
    const seen: number[] = [];
    let cursor: number | null = 0;
    let pages = 0;
    while (cursor !== null) {
      const r = await app.inject({ url: `/api/plans?limit=3&cursor=${cursor}` });
      expect(r.statusCode).toBe(200);
      const body = r.json() as {
        plans: { id: number; geometry?: unknown; version: number }[];
        next_cursor: number | null;
      };
      expect(body.plans.length).toBeLessThanOrEqual(3);
      for (const p of body.plans) {
        expect(p).not.toHaveProperty('geometry');
        expect(p.version).toBeGreaterThanOrEqual(1);
      }
      seen.push(...body.plans.map((p) => p.id));
      cursor = body.next_cursor;
      pages++;
    }
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 3));
    const withGeometry = (await app.inject({ url: '/api/plans?include=geometry&limit=2' })).json();
    expect(withGeometry.plans).toHaveLength(2);
    expect(withGeometry.plans[0].geometry.type).toBe('Polygon');
    const byDefault = (await app.inject({ url: '/api/plans' })).json();
    expect(byDefault.plans).toHaveLength(Math.min(all.length, PLANS_PAGE_DEFAULT));
    for (const q of [`limit=${PLANS_PAGE_MAX + 1}`, 'limit=0', 'cursor=-1', 'include=everything']) {
      const r = await app.inject({ url: `/api/plans?${q}` });
      expect(r.statusCode, q).toBe(400);
      expect(r.json().error.code).toBe('invalid_parameter');
    }
  });

  it(`bounds a plan at write time: ${MAX_PLAN_VERTICES} vertices, names ${MAX_NAME_CHARS} and notes ${MAX_NOTES_CHARS} characters`, async () => {
    const ring = (n: number) => [
      ...Array.from({ length: n - 1 }, (_, k) => [
        104.06 + 0.001 * Math.cos((2 * Math.PI * k) / (n - 1)),
        30.66 + 0.001 * Math.sin((2 * Math.PI * k) / (n - 1)),
      ]),
      [104.061, 30.66],
    ];
    const ok = await app.inject({
      method: 'POST',
      url: '/api/plans',
      headers: auth(),
      payload: {
        kind: 'add_open_space',
        name: 'n'.repeat(MAX_NAME_CHARS),
        notes: 'x'.repeat(MAX_NOTES_CHARS),
        geometry: { type: 'Polygon', coordinates: [ring(MAX_PLAN_VERTICES)] },
      },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const cases: [Record<string, unknown>, number][] = [
      [{ name: 'n'.repeat(MAX_NAME_CHARS + 1) }, 400],
      [{ notes: 'x'.repeat(MAX_NOTES_CHARS + 1) }, 400],
      [{ geometry: { type: 'Polygon', coordinates: [ring(MAX_PLAN_VERTICES + 1)] } }, 413],
    ];
    for (const [change, status] of cases) {
      const r = await app.inject({
        method: 'PATCH',
        url: `/api/plans/${ok.json().id}`,
        headers: auth(),
        payload: change,
      });
      expect(r.statusCode, `${Object.keys(change)[0]}: ${r.body.slice(0, 200)}`).toBe(status);
    }
  });
});

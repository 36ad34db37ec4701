import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { ERRORS } from '../server/errors.ts';
import { squareAround } from '../geo/candidate-sites.ts';
import { CLEARED, park, SITES, type Site } from './helpers/chengdu-sites.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { createPool } from '../server/db/pool.ts';

interface RuleJson {
  rule_set: string;
  rule_id: string;
  covered_before: number;
  covered_after: number;
  newly_covered: number;
  newly_uncovered: number;
  marginal: { plan: string; gain: number }[] | null;
  marginal_sum: number | null;
  communities: { key: string; share_before: number | null; share_after: number | null; flip: string | null }[];
  residential_areas: unknown[];
  flips: Record<string, { fail_to_pass: number; pass_to_fail: number }>;
}

describe('scenarios on central Chengdu', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let sql: pg.Pool;

  const evaluate = (payload: object): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'POST', url: '/api/scenarios/evaluate', payload });
  const rule = (body: { rules: RuleJson[] }, id: string) => body.rules.find((r) => r.rule_id === id)!;
  const insertPlan = async (
    kind: string,
    name: string,
    geometry: object,
    status = 'proposed',
    notes: string | null = null,
  ): Promise<number> => {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO plans (kind, name, status, geom, notes) VALUES ($1, $2, $3, ST_SetSRID(ST_GeomFromGeoJSON($4), 4326), $5) RETURNING id`,
      [kind, name, status, JSON.stringify(geometry), notes],
    );
    return Number(rows[0].id);
  };

  beforeAll(async () => {
    db = await createTestDatabase('central');
    app = await buildApp({ databaseUrl: db.url, webDist: false });
    sql = createPool(db.url, { max: 2 });
  });

  afterAll(async () => {
    await app?.close();
    await sql?.end();
    await db?.drop();
  });

  describe('POST /api/scenarios/evaluate', () => {
    it('answers the same body with the same JSON, changed edges included', async () => {
      const body = {
        plans: [
          park('middleNorth'),
          { kind: 'demolish_illegal', name: 'cleared block', becomes_open_space: true, geometry: CLEARED },
        ],
        include_changed_edges: true,
      };
      const a = await evaluate(body);
      const b = await evaluate(body);
      expect(a.statusCode).toBe(200);
      expect(a.headers['server-timing']).toMatch(/evaluate;dur=/);
      expect(b.body).toBe(a.body);
      const json = a.json();
      expect(json).toMatchObject({ rule_set: 'chengdu-park-city', network_changed: true });
      expect(json.plans).toHaveLength(2);
      expect(json.plans[1]).toMatchObject({
        kind: 'demolish_illegal',
        becomes_open_space: true,
        open_space: { category: 'park' },
      });
      expect(json.plans[1].links_added).toBeGreaterThan(0);
      expect(json.changed_edges.type).toBe('FeatureCollection');
      expect(json.changed_edges.features.length).toBeGreaterThan(0);
      let compared = 0;
      for (const f of json.changed_edges.features.slice(0, 50)) {
        expect(f.geometry.type).toBe('LineString');
        for (const [cat, after] of Object.entries(f.properties.after as Record<string, number>)) {
          const before = f.properties.before[cat];
          // null before: a new link, or beyond the field's bound until now
          if (before === null) continue;
          expect(after).toBeLessThan(before);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(0);
      expect(json.changed_edges.features.some((f: { properties: { is_link: boolean } }) => f.properties.is_link)).toBe(
        true,
      );
      const p = rule(json, 'park_500');
      expect(p.newly_covered).toBeGreaterThan(0);
      expect(p.covered_after).toBeGreaterThan(p.covered_before);
      expect(p.communities.length).toBeGreaterThan(0);
      for (const c of p.communities) expect(c.share_after! >= c.share_before! || c.flip === 'pass_to_fail').toBe(true);
    });

    it('marginal gains add up to the total for far-apart sites, and fall short of it for overlapping ones', async () => {
      const far = (await evaluate({ plans: [park('south'), park('north')] })).json();
      for (const r of far.rules as RuleJson[]) {
        expect(r.marginal).toHaveLength(2);
        expect(r.marginal_sum!).toBeCloseTo(r.newly_covered, 1);
      }
      expect(rule(far, 'park_500').newly_covered).toBeGreaterThan(1000);

      const near = (await evaluate({ plans: [park('south'), park('southEast')] })).json();
      for (const r of near.rules as RuleJson[]) expect(r.marginal_sum!).toBeLessThanOrEqual(r.newly_covered + 0.01);
      const p = rule(near, 'park_500');
      // residents within 500 m of both are nobody's marginal gain
      expect(p.marginal_sum!).toBeLessThan(p.newly_covered - 100);
      // and each site alone covers what it covers as the only plan
      const alone = (await evaluate({ plans: [park('south')] })).json();
      expect(rule(alone, 'park_500').marginal).toEqual([
        { plan: 'inline:0', gain: rule(alone, 'park_500').newly_covered },
      ]);
    });

    it('stored plans by id give what the same plans give inline; 拆违增绿 in the notes makes an open space', async () => {
      const cleared = CLEARED;
      const idPark = await insertPlan('add_open_space', 'park south', park('south').geometry);
      const idCleared = await insertPlan(
        'demolish_illegal',
        'cleared block',
        cleared,
        'approved',
        '拆违增绿：拆除后建设社区绿地',
      );
      const byId = await evaluate({ plan_ids: [idPark, idCleared] });
      expect(byId.statusCode).toBe(200);
      const inline = await evaluate({
        plans: [
          park('south', 'park south'),
          { kind: 'demolish_illegal', name: 'cleared block', geometry: cleared, becomes_open_space: true },
        ],
      });
      const strip = (j: { rules: RuleJson[] }) =>
        j.rules.map((r) => ({ ...r, marginal: r.marginal!.map((m) => m.gain) }));
      expect(strip(byId.json())).toEqual(strip(inline.json()));
      expect(byId.json().plans.map((p: { id: number; ref: string }) => [p.id, p.ref])).toEqual([
        [idPark, `plan:${idPark}`],
        [idCleared, `plan:${idCleared}`],
      ]);
      expect(byId.json().plans[1].becomes_open_space).toBe(true);
    });

    it('404 for unknown plan ids, naming them', async () => {
      const id = await insertPlan('add_open_space', 'exists', park('north').geometry);
      const r = await evaluate({ plan_ids: [id, 987654] });
      expect(r.statusCode).toBe(404);
      expect(r.json().error).toMatchObject({ code: 'not_found', details: { missing: [987654] } });
    });

    it('400 for bad geometry and bad bodies', async () => {
      const [lng, lat] = SITES.middle;
      const cases: [string, object][] = [
        [
          'unclosed ring',
          {
            plans: [
              {
                kind: 'add_open_space',
                geometry: {
                  type: 'Polygon',
                  coordinates: [
                    [
                      [lng, lat],
                      [lng + 0.001, lat],
                      [lng + 0.001, lat + 0.001],
                      [lng, lat + 0.001],
                    ],
                  ],
                },
              },
            ],
          },
        ],
        [
          'self-intersecting (bow tie)',
          {
            plans: [
              {
                kind: 'add_open_space',
                geometry: {
                  type: 'Polygon',
                  coordinates: [
                    [
                      [lng, lat],
                      [lng + 0.001, lat + 0.001],
                      [lng + 0.001, lat],
                      [lng, lat + 0.001],
                      [lng, lat],
                    ],
                  ],
                },
              },
            ],
          },
        ],
        [
          'a line for an open space',
          {
            plans: [
              {
                kind: 'add_open_space',
                geometry: {
                  type: 'LineString',
                  coordinates: [
                    [lng, lat],
                    [lng + 0.001, lat],
                  ],
                },
              },
            ],
          },
        ],
        ['a polygon for a wall', { plans: [{ kind: 'demolish_wall', geometry: squareAround(lng, lat, 100) }] }],
        [
          'a position out of range',
          {
            plans: [
              {
                kind: 'demolish_wall',
                geometry: {
                  type: 'LineString',
                  coordinates: [
                    [lng, 95],
                    [lng, lat],
                  ],
                },
              },
            ],
          },
        ],
        ['no plans', { plans: [] }],
        ['51 plans', { plans: Array.from({ length: 51 }, () => park('south')) }],
        ['unknown rule set', { plans: [park('south')], rule_set: 'nope' }],
        ['unknown field', { plans: [park('south')], colour: 'red' }],
        [
          'a site wider than 5 km',
          { plans: [{ kind: 'add_open_space', geometry: squareAround(lng, lat, 6000 * 6000) }] },
        ],
        [
          'a continent-sized cleared site',
          {
            plans: [
              {
                kind: 'demolish_illegal',
                geometry: {
                  type: 'Polygon',
                  coordinates: [
                    [
                      [0, -60],
                      [170, -60],
                      [170, 60],
                      [0, 60],
                      [0, -60],
                    ],
                  ],
                },
              },
            ],
          },
        ],
      ];
      for (const [what, body] of cases) {
        const r = await evaluate(body);
        expect(r.statusCode, what).toBe(400);
        expect(r.json().error.code, what).toMatch(/invalid_parameter|unknown_rule_set/);
      }
    });

    it('seeded garbage never gets a 5xx, and every 4xx is a catalogued error', async () => {
      const [lng, lat] = SITES.middle;
      const position = fc.oneof(
        fc.tuple(
          fc.double({ min: lng - 0.01, max: lng + 0.01, noNaN: true }),
          fc.double({ min: lat - 0.01, max: lat + 0.01, noNaN: true }),
        ),
        fc.array(fc.oneof(fc.double(), fc.string(), fc.constant(null)), { maxLength: 4 }),
      );
      const ring = fc
        .array(position, { maxLength: 8 })
        .map((r) => (r.length > 2 && fc.sample(fc.boolean(), 1)[0] ? [...r, r[0]] : r));
      const geometry = fc.oneof(
        fc.record({ type: fc.constant('Polygon'), coordinates: fc.array(ring, { maxLength: 2 }) }),
        fc.record({
          type: fc.constant('MultiPolygon'),
          coordinates: fc.array(fc.array(ring, { maxLength: 2 }), { maxLength: 2 }),
        }),
        fc.record({ type: fc.constant('LineString'), coordinates: fc.array(position, { maxLength: 6 }) }),
        fc.anything(),
      );
      const plan = fc.record(
        {
          kind: fc.constantFrom('add_open_space', 'demolish_wall', 'demolish_illegal', 'other'),
          geometry,
          becomes_open_space: fc.boolean(),
        },
        { requiredKeys: ['kind', 'geometry'] },
      );
      const body = fc.oneof(
        fc.record(
          {
            plans: fc.array(plan, { maxLength: 3 }),
            plan_ids: fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }),
            rule_set: fc.constantFrom('chengdu-park-city', 'all', 'x'),
          },
          { requiredKeys: [] },
        ),
        fc.anything(),
      );
      const catalogued = new Set(Object.keys(ERRORS));
      // limits are per client address: each garbage request comes from its own, so the fuzz
      // neither meets the limiter nor uses up the other tests' budget
      let n = 0;
      const remoteAddress = () => `10.15.${(++n >> 8) & 255}.${n & 255}`;
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const r = await app.inject({
            method: 'POST',
            url: '/api/scenarios/evaluate',
            payload: JSON.stringify(b) ?? 'null',
            headers: { 'content-type': 'application/json' },
            remoteAddress: remoteAddress(),
          });
          expect(r.statusCode, JSON.stringify(b)).toBeLessThan(500);
          if (r.statusCode >= 400) expect(catalogued.has(r.json().error.code), r.body).toBe(true);
        }),
        { seed: 15015, numRuns: 150 },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.string({ maxLength: 40 }),
          fc.string({ maxLength: 6 }),
          fc.constantFrom('plans', 'grid', 'x'),
          fc.string({ maxLength: 30 }),
          async (rule, k, candidates, bbox) => {
            const q = new URLSearchParams({ rule, k, candidates, bbox });
            const r = await app.inject({ method: 'GET', url: `/api/suggest?${q}`, remoteAddress: remoteAddress() });
            expect(r.statusCode, q.toString()).toBeLessThan(500);
            if (r.statusCode >= 400) expect(catalogued.has(r.json().error.code), r.body).toBe(true);
          },
        ),
        { seed: 15015, numRuns: 100 },
      );
    });
  });

  describe('GET /api/suggest', () => {
    it('greedy matches the enumerated optimum on six proposed plans with k = 2, and both match the evaluations', async () => {
      const ids: number[] = [];
      for (const site of Object.keys(SITES) as Site[])
        ids.push(await insertPlan('add_open_space', `suggest ${site}`, park(site).geometry));
      // a done plan is no candidate
      await insertPlan('add_open_space', 'already built', park('north').geometry, 'done');
      await sql.query(`UPDATE plans SET status = 'approved' WHERE id <> ALL($1::bigint[]) AND status = 'proposed'`, [
        ids,
      ]);

      const r = await app.inject({
        method: 'GET',
        url: '/api/suggest?rule=chengdu-park-city/park_500&k=2&candidates=plans',
      });
      expect(r.statusCode).toBe(200);
      const s = r.json();
      expect(s).toMatchObject({
        rule_set: 'chengdu-park-city',
        rule_id: 'park_500',
        k: 2,
        candidates: 'plans',
        candidate_count: 6,
        enumeration: 'done',
        subsets_enumerated: 15,
      });
      expect(s.picks).toHaveLength(2);
      expect(s.optimality_gap).toBe(0);
      expect(s.greedy_total).toBe(s.optimum.total);
      expect(s.picks[1].gain).toBeLessThanOrEqual(s.picks[0].gain);

      // brute force through the evaluate endpoint
      let best = 0;
      for (let i = 0; i < ids.length; i++) {
        for (let j = i + 1; j < ids.length; j++) {
          const e = (await evaluate({ plan_ids: [ids[i], ids[j]], marginal: false })).json();
          best = Math.max(best, rule(e, 'park_500').newly_covered);
        }
      }
      expect(s.optimum.total).toBeCloseTo(best, 1);
      const picked = (
        await evaluate({ plan_ids: s.picks.map((p: { plan_id: number }) => p.plan_id), marginal: false })
      ).json();
      expect(rule(picked, 'park_500').newly_covered).toBeCloseTo(s.greedy_total, 1);
    });

    it('a stored plan the engine cannot apply is left out of suggestions, and evaluating it is a 400 naming it, never a 500', async () => {
      const [lng, lat] = SITES.middle;
      // stored plans are not checked by the plans route when written straight to the table: a
      // 6 km square is more than a plan may span (MAX_PLAN_EXTENT_M), found only when it is prepared
      const id = await insertPlan('add_open_space', 'too wide', squareAround(lng, lat, 6000 * 6000));
      await sql.query(`UPDATE plans SET status = 'approved' WHERE id <> $1 AND status = 'proposed'`, [id]);
      try {
        const r = await app.inject({
          method: 'GET',
          url: '/api/suggest?rule=chengdu-park-city/park_500&k=1&candidates=plans',
        });
        expect(r.statusCode, r.body).toBe(200);
        expect(r.json().candidate_count).toBe(0);
        const e = await app.inject({ method: 'POST', url: '/api/scenarios/evaluate', payload: { plan_ids: [id] } });
        expect(e.statusCode, e.body).toBe(400);
        expect(e.json().error.code).toBe('invalid_parameter');
        expect(e.json().error.message).toContain(`plan:${id}`);
      } finally {
        await sql.query('DELETE FROM plans WHERE id = $1', [id]);
      }
    });

    it('grid candidates in a small box: ranked sites with non-increasing gains, exact optimum, evaluation agrees', async () => {
      const bbox = [104.08, 30.65, 104.1, 30.67];
      const r = await app.inject({
        method: 'GET',
        url: `/api/suggest?rule=chengdu-park-city/green_300&k=2&candidates=grid&bbox=${bbox.join(',')}`,
      });
      expect(r.statusCode).toBe(200);
      const s = r.json();
      expect(s.site_area_m2).toBe(2500);
      expect(s.candidate_count).toBeGreaterThan(10);
      expect(s.picks).toHaveLength(2);
      expect(s.enumeration).toBe('done');
      expect(s.optimality_gap).toBeGreaterThanOrEqual(0);
      expect(s.picks[1].gain).toBeLessThanOrEqual(s.picks[0].gain);
      for (const p of s.picks) {
        expect(p.lng).toBeGreaterThan(bbox[0]);
        expect(p.lng).toBeLessThan(bbox[2]);
        expect(p.lat).toBeGreaterThan(bbox[1]);
        expect(p.lat).toBeLessThan(bbox[3]);
      }
      const plans = s.picks.map((p: { lng: number; lat: number }) => ({
        kind: 'add_open_space',
        geometry: squareAround(p.lng, p.lat, 2500),
      }));
      const e = (await evaluate({ plans, marginal: false })).json();
      expect(rule(e, 'green_300').newly_covered).toBeCloseTo(s.greedy_total, 0);
      // park_500 needs parks: its grid sites are 4000 m² (GB 50180-2018 table 4.0.7)
      const parkGrid = (
        await app.inject({
          method: 'GET',
          url: `/api/suggest?rule=chengdu-park-city/park_500&k=1&candidates=grid&bbox=${bbox.join(',')}`,
        })
      ).json();
      expect(parkGrid.site_area_m2).toBe(4000);
    });

    it('400 for an unknown rule, and for grid sites under a rule no open space serves', async () => {
      for (const url of [
        '/api/suggest?rule=chengdu-park-city/nope',
        '/api/suggest?rule=nope/green_300',
        '/api/suggest?rule=chengdu-park-city/elderly_care_500&candidates=grid',
        '/api/suggest?rule=chengdu-park-city/green_300&k=11',
      ]) {
        const r = await app.inject({ method: 'GET', url });
        expect(r.statusCode, url).toBe(400);
      }
    });
  });
});

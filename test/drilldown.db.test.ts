import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { createPool } from '../server/db/pool.ts';
import { binWidthM } from '../server/answers/drilldown.ts';
import { parse } from 'csv-parse/sync';
import { CHENGDU_PARK_CITY } from '../geo/rules/index.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let db: TestDatabase;
let app: FastifyInstance;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('central');
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  pool = createPool(db.url, { max: 2 });
}, 120_000);
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

interface Drilldown {
  area_key: string;
  run_id: number;
  population: number;
  uncovered_population: number;
  share: number | null;
  straight_share: number | null;
  rule: { id: string; limit_m: number };
  histogram: {
    bin_m: number;
    limit_m: number;
    bins: { from_m: number; to_m: number; origins: number; population: number }[];
    origins_by_outcome: Record<string, number>;
  };
  nearest_for_uncovered: { facility_id: string; name: string | null; population: number; median_m: number }[];
  caveats: { code: string; message: string }[];
  sentence: string;
  uncovered_points: { features: { properties: { outcome: string; network_m: number | null } }[] };
  points_truncated: boolean;
}

/** Origins of a community by an independent rule: the first community (by id) that contains the origin. */
const ORACLE_SQL = `
  WITH m AS (
    SELECT o.id, o.population,
           (SELECT c.id FROM communities c WHERE ST_Contains(c.geom, o.geom) ORDER BY c.id LIMIT 1) AS community_id
    FROM origins o)
  SELECT r.outcome, CASE WHEN r.outcome = 'distance' THEN floor(r.network_m / $4)::int END AS bin,
         count(*)::int AS origins, sum(m.population)::float8 AS population,
         count(*) FILTER (WHERE NOT r.covered)::int AS uncovered_origins
  FROM coverage_origin_results r JOIN m ON m.id = r.origin_id
  WHERE r.run_id = $1 AND r.rule_set_id = 'chengdu-park-city' AND r.rule_id = $2 AND m.community_id::text = $3
  GROUP BY 1, 2`;

describe('GET /api/areas/:level/:id/drilldown on central Chengdu', () => {
  it('histogram counts equal the per-origin results, for failing communities of every rule', async () => {
    const audit = JSON.parse((await app.inject('/api/audit?rule_set=chengdu-park-city&level=community')).body) as {
      run_id: number;
      areas: { area_key: string; failed_rules: { rule_id: string; residents_not_covered: number }[] }[];
    };
    const cases = audit.areas.flatMap((a) =>
      a.failed_rules.map((f) => ({ key: a.area_key, rule: f.rule_id, notCovered: f.residents_not_covered })),
    );
    expect(cases.length).toBeGreaterThan(5);
    // every rule that fails somewhere, in its worst and a middle area
    const picked = [...new Set(cases.map((c) => c.rule))].flatMap((rule) => {
      const of = cases.filter((c) => c.rule === rule);
      return [of[0], of[Math.floor(of.length / 2)]];
    });
    // counted, so that the checks below that apply only to some areas cannot all be skipped
    let checkedDistances = 0,
      checkedNearest = 0;
    for (const c of picked) {
      const r = await app.inject(`/api/areas/community/${c.key}/drilldown?rule=${c.rule}`);
      expect(r.statusCode, r.body).toBe(200);
      const d = JSON.parse(r.body) as Drilldown;
      expect(d.run_id).toBe(audit.run_id);
      expect(d.histogram.bin_m).toBe(binWidthM(d.rule.limit_m));
      const oracle = (
        await pool.query<{
          outcome: string;
          bin: number | null;
          origins: number;
          population: number;
          uncovered_origins: number;
        }>(ORACLE_SQL, [d.run_id, c.rule, c.key, d.histogram.bin_m])
      ).rows;
      const dist = oracle.filter((o) => o.outcome === 'distance');
      // every bin the oracle has, with the same count; no bin the oracle lacks has anything in it
      for (const o of dist) {
        const bin = d.histogram.bins[Math.min(o.bin!, d.histogram.bins.length - 1)];
        if (o.bin! < d.histogram.bins.length - 1) {
          expect(bin.origins, `${c.key} ${c.rule} bin ${o.bin}`).toBe(o.origins);
          expect(bin.population).toBeCloseTo(o.population, 2);
        }
      }
      expect(d.histogram.bins.reduce((s, b) => s + b.origins, 0)).toBe(dist.reduce((s, o) => s + o.origins, 0));
      for (const k of ['beyond_cap', 'no_path', 'no_data']) {
        expect(d.histogram.origins_by_outcome[k]).toBe(
          oracle.filter((o) => o.outcome === k).reduce((s, o) => s + o.origins, 0),
        );
      }
      // the uncovered homes drawn as dots are the per-origin uncovered rows
      expect(d.uncovered_points.features.length).toBe(oracle.reduce((s, o) => s + o.uncovered_origins, 0));
      expect(d.points_truncated).toBe(false);
      // the residents it leaves out are the audit's
      expect(d.uncovered_population).toBe(c.notCovered);
      expect(d.sentence).toContain(
        `${c.notCovered.toLocaleString('en-US')} of ${d.population.toLocaleString('en-US')} residents`,
      );
      // every uncovered dot with a distance is farther than the limit of the rule's tier that it fails
      const withDistance = d.uncovered_points.features.filter((f) => f.properties.outcome === 'distance');
      for (const f of withDistance) expect(f.properties.network_m).toBeGreaterThan(0);
      checkedDistances += withDistance.length;
      if (d.nearest_for_uncovered.length) {
        checkedNearest++;
        const n = d.nearest_for_uncovered[0];
        const fac = await pool.query(`SELECT name FROM facilities WHERE id = $1`, [n.facility_id]);
        expect(fac.rows[0].name).toBe(n.name);
        expect(n.population).toBeGreaterThan(0);
      }
    }
    expect(checkedDistances, 'uncovered dots with a walking distance were checked').toBeGreaterThan(0);
    expect(checkedNearest, 'nearest facilities were checked').toBeGreaterThan(0);
  }, 120_000);

  it('caveats in words name the outcomes found', async () => {
    const { rows } = await pool.query<{ area_key: string; rule_id: string }>(
      `SELECT area_key, rule_id FROM coverage_area_results
       WHERE run_id = (SELECT max(id) FROM coverage_runs WHERE status = 'done') AND level = 'community' AND rule_set_id = 'chengdu-park-city'
         AND uncovered_beyond_cap_population > 0 ORDER BY uncovered_beyond_cap_population DESC LIMIT 1`,
    );
    if (!rows[0]) return; // central Chengdu may have none; the histogram test above still runs
    const d = JSON.parse(
      (await app.inject(`/api/areas/community/${rows[0].area_key}/drilldown?rule=${rows[0].rule_id}`)).body,
    ) as Drilldown;
    expect(d.caveats.map((c) => c.code)).toContain('beyond_cap');
  });

  it('refuses an unknown rule and answers 404 for an area with no results, naming the field', async () => {
    const bad = await app.inject('/api/areas/community/1/drilldown?rule=nope');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('rule');
    const none = await app.inject('/api/areas/community/999999999/drilldown?rule=green_300');
    expect(none.statusCode).toBe(404);
    const level = await app.inject('/api/areas/planet/1/drilldown?rule=green_300');
    expect(level.statusCode).toBe(400);
  });
});

describe('exports carry rule labels, limits, units, provenance and filters', () => {
  it('coverage CSV: every row names its rule in zh and en, its limit in m, the run and the filters; file name set', async () => {
    const r = await app.inject('/api/coverage?rule_set=chengdu-park-city&level=community&format=csv');
    expect(r.headers['content-disposition']).toBe('attachment; filename="coverage-chengdu-park-city-community.csv"');
    const [cols, ...lines] = parse(r.body.replace(/^\uFEFF/, ''), { relax_column_count: false }) as string[][];
    for (const c of [
      'rule_zh',
      'rule_en',
      'limit_m',
      'distance_unit',
      'dataset_id',
      'dataset_source',
      'run_id',
      'generated_at',
      'filters',
    ])
      expect(cols).toContain(c);
    const run = (await pool.query<{ id: number }>(`SELECT max(id) AS id FROM coverage_runs WHERE status = 'done'`))
      .rows[0].id;
    expect(lines.length).toBeGreaterThan(15 * 5);
    for (const line of lines) {
      const tail = line.slice(cols.indexOf('rule_zh'));
      const ruleId = line[cols.indexOf('rule_id')];
      const rule = CHENGDU_PARK_CITY.rules.find((x) => x.id === ruleId);
      expect(rule, line.join(',')).toBeDefined();
      expect(tail[0]).toBe(rule!.zh);
      expect(tail[1]).toBe(rule!.en);
      expect(Number(tail[2])).toBe(Math.max(...rule!.tiers.map((t) => t.maxDistanceM)));
      expect(tail[3]).toBe('m');
      expect(Number(tail[8])).toBe(run);
      expect(tail[11]).toBe('rule_set=chengdu-park-city&level=community');
    }
  });

  it('GeoJSON flattens each rule into share/target/result attributes and lists the failing rules', async () => {
    const r = await app.inject('/api/coverage?rule_set=chengdu-park-city&level=community&format=geojson');
    expect(r.headers['content-disposition']).toBe(
      'attachment; filename="coverage-chengdu-park-city-community.geojson"',
    );
    expect(r.headers['content-type']).toMatch(/application\/geo\+json/);
    const fc = r.json() as {
      properties: {
        provenance: { run_id: number; filters: string };
        rules: { id: string; zh: string; unit: string }[];
      };
      features: {
        properties: Record<string, unknown> & {
          rules: Record<string, { share: number | null; passes: boolean; no_data: boolean; population: number }>;
        };
      }[];
    };
    expect(fc.properties.provenance.filters).toBe('rule_set=chengdu-park-city&level=community');
    expect(fc.properties.rules.map((x) => x.unit)).toEqual(fc.properties.rules.map(() => 'm'));
    let failing = 0;
    for (const f of fc.features) {
      const p = f.properties;
      const expected = Object.entries(p.rules)
        .filter(([, x]) => !x.no_data && !x.passes && x.population > 0)
        .map(([id]) => id)
        .sort();
      expect(String(p.failing_rules).split(',').filter(Boolean).sort()).toEqual(expected);
      expect(p.failing_count).toBe(expected.length);
      for (const [id, x] of Object.entries(p.rules)) {
        expect(p[`${id}_result`]).toBe(x.no_data ? 'no_data' : x.passes ? 'pass' : 'fail');
        expect(typeof p[`${id}_share`] === 'number' || p[`${id}_share`] === null).toBe(true);
      }
      failing += expected.length;
    }
    expect(failing).toBeGreaterThan(0);
  });
});

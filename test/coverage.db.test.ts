import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { createPool } from '../server/db/pool.ts';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 3 });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const AREA_SQL = `
  SELECT rule_set_id, rule_id, level, area_key, area_name, population, covered_population, straight_covered_population,
         share, straight_share, passes, deciding_facility_id
  FROM coverage_area_results WHERE run_id = $1 ORDER BY rule_set_id, rule_id, level, area_key`;

describe('coverage of central Chengdu for chengdu-park-city', () => {
  it('is the same, to the last digit, run after run', async () => {
    const first = (await pool.query<{ id: number }>(`SELECT max(id) AS id FROM coverage_runs WHERE status = 'done'`))
      .rows[0].id;
    const second = (await computeCoverage(pool)).runId;
    expect(second).toBeGreaterThan(first);
    const a = (await pool.query(AREA_SQL, [first])).rows;
    const b = (await pool.query(AREA_SQL, [second])).rows;
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toEqual(a);
    const originSql = `SELECT rule_set_id, rule_id, origin_id, network_m, straight_m, facility_id, covered FROM coverage_origin_results WHERE run_id = $1 ORDER BY 1, 2, 3`;
    expect((await pool.query(originSql, [second])).rows).toEqual((await pool.query(originSql, [first])).rows);
  });

  it('community shares are the population-weighted sums of their origins (an independent SQL oracle)', async () => {
    const run = (await pool.query<{ id: number }>(`SELECT max(id) AS id FROM coverage_runs WHERE status = 'done'`))
      .rows[0].id;
    const { rows } = await pool.query<{
      area_key: string;
      rule_id: string;
      share: number;
      oracle: number;
      straight_share: number;
      straight_oracle: number;
      passes: boolean;
      target_share: number;
    }>(
      `WITH m AS (
         SELECT o.id AS origin_id, o.population,
                (SELECT c.id FROM communities c WHERE ST_Contains(c.geom, o.geom) ORDER BY c.id LIMIT 1) AS community_id
         FROM origins o)
       SELECT a.area_key, a.rule_id, a.share, a.straight_share, a.passes, a.target_share,
              sum(m.population) FILTER (WHERE r.covered) / sum(m.population) AS oracle,
              sum(m.population) FILTER (WHERE r.straight_covered) / sum(m.population) AS straight_oracle
       FROM coverage_area_results a
       JOIN coverage_origin_results r ON r.run_id = a.run_id AND r.rule_set_id = a.rule_set_id AND r.rule_id = a.rule_id
       JOIN m ON m.origin_id = r.origin_id AND m.community_id::text = a.area_key
       WHERE a.run_id = $1 AND a.rule_set_id = 'chengdu-park-city' AND a.level = 'community'
       GROUP BY a.area_key, a.rule_id, a.share, a.straight_share, a.passes, a.target_share`,
      [run],
    );
    // communities of the study area (the extract less its 1000 m edge margin) × 5 rules
    expect(rows.length).toBeGreaterThan(15 * 5);
    for (const r of rows) {
      expect(r.share).toBeCloseTo(r.oracle ?? 0, 9);
      expect(r.straight_share).toBeCloseTo(r.straight_oracle ?? 0, 9);
      expect(r.passes).toBe(r.share >= r.target_share);
    }
    const parks = rows.filter((r) => r.rule_id === 'park_500');
    // Buffers overstate coverage: the straight-line share is never below the walking share, and
    // city-wide it is clearly above it.
    for (const r of parks) expect(r.straight_share).toBeGreaterThanOrEqual(r.share - 1e-12);
    const city = (
      await pool.query(
        `SELECT share, straight_share FROM coverage_area_results WHERE run_id = $1 AND level = 'city' AND rule_id = 'park_500'`,
        [run],
      )
    ).rows[0];
    expect(city.straight_share).toBeGreaterThan(city.share);
    console.log(
      `park_500 city-wide: network ${(city.share * 100).toFixed(1)} %, straight-line ${(city.straight_share * 100).toFixed(1)} %`,
    );
  });

  it('walking distances are never shorter than straight-line distances', async () => {
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM coverage_origin_results r
       WHERE r.run_id = (SELECT max(id) FROM coverage_runs WHERE status = 'done') AND r.network_m < r.straight_m - 0.01
         AND r.rule_id IN ('park_500', 'elderly_care_500')`,
    );
    expect(rows[0].n).toBe(0);
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuleCoverage } from '../geo/coverage.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { createPool } from '../server/db/pool.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let db: TestDatabase;
let pool: pg.Pool;
let runId: number;
let originIds: readonly number[] = [];
let coverage: readonly RuleCoverage[] = [];

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 3 });
  runId = (
    await computeCoverage(pool, {
      onEvaluated: (ids, c) => {
        originIds = ids;
        coverage = c;
      },
    })
  ).runId;
}, 300_000);
afterAll(async () => {
  await pool.end();
  await db.drop();
});

interface Row {
  rule_set_id: string;
  rule_id: string;
  origin_id: string;
  network_m: number | null;
  straight_m: number | null;
  facility_id: string | null;
  covered: boolean;
  straight_covered: boolean;
  outcome: string;
}

const key = (r: { rule_set_id: string; rule_id: string; origin_id: string | number }) =>
  `${r.rule_set_id}/${r.rule_id}/${r.origin_id}`;

/** The engine's results as the per-origin table stored them before issue 15: metres rounded to the centimetre. */
function expectedRows(): Map<string, Row> {
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const out = new Map<string, Row>();
  for (const rc of coverage) {
    rc.origins.forEach((r, i) => {
      const row: Row = {
        rule_set_id: rc.ruleSetId,
        rule_id: rc.ruleId,
        origin_id: String(originIds[i]),
        network_m: r.networkM === null ? null : round2(r.networkM),
        straight_m: r.straightM === null ? null : round2(r.straightM),
        facility_id: r.facilityId === null ? null : String(r.facilityId),
        covered: r.covered,
        straight_covered: r.straightCovered,
        outcome: r.outcome,
      };
      out.set(key(row), row);
    });
  }
  return out;
}

const COLUMNS =
  'rule_set_id, rule_id, origin_id, network_m, straight_m, facility_id, covered, straight_covered, outcome';

// The compact storage replaced the one-row-per-origin table after this comparison, with the
// old table written beside it, found them equal in every column (commit a437cd0); the engine's
// own numbers are the oracle from then on.
describe('compact per-origin results on central Chengdu', () => {
  it('the QGIS view gives every origin and rule the engine evaluated, to the centimetre', async () => {
    const expected = expectedRows();
    expect(originIds.length).toBeGreaterThan(1000);
    expect(expected.size).toBe(originIds.length * coverage.length);
    const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM coverage_origin_results WHERE run_id = $1`, [runId]);
    expect(rows.length).toBe(expected.size);
    let differ = 0;
    for (const r of rows) {
      const e = expected.get(key(r));
      if (!e || JSON.stringify(e) !== JSON.stringify({ ...r })) {
        if (differ++ < 5) expect(r).toEqual(e);
      }
    }
    expect(differ).toBe(0);
    // every outcome, both coverage flags and nulls occur, so each part of the encoding is exercised
    const outcomes = new Set(rows.map((r) => r.outcome));
    for (const o of ['distance', 'beyond_cap', 'no_data']) expect(outcomes).toContain(o);
    expect(rows.some((r) => r.covered) && rows.some((r) => !r.covered && r.straight_covered)).toBe(true);
    expect(rows.some((r) => r.network_m === null) && rows.some((r) => r.facility_id === null)).toBe(true);
  });
});

import { parse } from 'csv-parse/sync';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_SETS } from '../geo/rules/index.ts';
import { buildApp } from '../server/app.ts';
import { projectRoot } from '../server/config.ts';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { importFacilities } from '../server/import/import-facilities.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let db: TestDatabase;
let pool: pg.Pool;
let app: FastifyInstance;
let tmp: string;

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 3 });
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-incremental-'));
}, 300_000);
afterAll(async () => {
  await app.close();
  await pool.end();
  await db.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const LEVELS = ['residential_area', 'community', 'street', 'district'];

/** Every coverage and audit CSV export of the served run, by URL. */
/** Export columns that differ between two runs of the same results by design (provenance). */
const PER_RUN_COLUMNS = new Set(['run_id', 'run_finished_at', 'generated_at']);

async function exports(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rs of RULE_SETS) {
    for (const level of LEVELS) {
      for (const route of ['coverage', 'audit']) {
        if (route === 'audit' && level !== 'community' && level !== 'residential_area') continue;
        const url = `/api/${route}?rule_set=${rs.id}&level=${level}&format=csv`;
        const r = await app.inject(url);
        expect(r.statusCode, url).toBe(200);
        // every column but those saying which run and when (run_id, run_finished_at, generated_at)
        const rows = parse(r.body.replace(/^\uFEFF/, ''), { relax_column_count: false }) as string[][];
        const keep = rows[0].map((h, i) => (PER_RUN_COLUMNS.has(h) ? -1 : i)).filter((i) => i >= 0);
        expect(keep.length, url).toBeLessThan(rows[0].length);
        out.set(url, JSON.stringify(rows.map((row) => keep.map((i) => row[i]))));
      }
    }
  }
  return out;
}

/** Everything a run stored, without its id: per-origin results (view), area results, edge distances. */
async function stored(runId: number): Promise<unknown[]> {
  const q = async (sql: string) => (await pool.query(sql, [runId])).rows;
  return [
    await q(
      `SELECT rule_set_id, rule_id, origin_id, network_m, straight_m, facility_id, covered, straight_covered, outcome FROM coverage_origin_results WHERE run_id = $1 ORDER BY 1, 2, 3`,
    ),
    await q(
      `SELECT to_jsonb(a) - 'run_id' AS a FROM coverage_area_results a WHERE run_id = $1 ORDER BY rule_set_id, rule_id, level, area_key`,
    ),
    await q(`SELECT edge_id, d FROM edge_distances WHERE run_id = $1 ORDER BY edge_id`),
  ];
}

describe('incremental recompute after importing a register, central Chengdu', () => {
  it("recomputes only the rules using the register's category, and equals a full recompute byte for byte", async () => {
    const before = await exports();
    // The engine files (streets, facilities, origins) written before the register, as a server or
    // an earlier compute leaves them: the recompute reads the streets and origins from them and
    // builds only the facilities again; the full recompute below reads everything from PostGIS.
    const engineDir = path.join(tmp, 'engine');
    await computeCoverage(pool, { incremental: true, engineDir });
    // A different elderly care register: every other row of the shipped sample, and one more home.
    const lines = fs
      .readFileSync(path.join(projectRoot, 'server/sample-data/chengdu-sample-elderly-care.csv'), 'utf8')
      .trim()
      .split('\n');
    const file = path.join(tmp, 'elderly-care.csv');
    fs.writeFileSync(
      file,
      [
        lines[0],
        ...lines.slice(1).filter((_, i) => i % 2 === 0),
        '"示例 test home (sample)",104.0640,30.6570,30,"invented"',
      ].join('\n') + '\n',
    );
    await importFacilities(pool, file, {
      category: 'elderly_care',
      crs: 'gcj02',
      isSample: true,
      allowOutsideNetwork: true,
    });

    const incremental = await computeCoverage(pool, { incremental: true, engineDir });
    expect(incremental.sources).toEqual({ streets: 'file', facilities: 'built', origins: 'file' });
    const allRules = RULE_SETS.reduce((a, rs) => a + rs.rules.length, 0);
    const elderlyRules = RULE_SETS.reduce(
      (a, rs) => a + rs.rules.filter((r) => r.tiers.some((t) => t.categories.includes('elderly_care'))).length,
      0,
    );
    expect(elderlyRules).toBeGreaterThan(0);
    expect(incremental.counts.computed_rules).toBe(elderlyRules);
    expect(incremental.counts.reused_rules).toBe(allRules - elderlyRules);
    const afterIncremental = await exports();
    const incrementalStored = await stored(incremental.runId);

    const full = await computeCoverage(pool);
    expect(full.counts.computed_rules).toBe(allRules);
    expect(full.counts.reused_rules).toBe(0);
    const afterFull = await exports();

    // The register changed something, so the comparison is not between two copies of the old run.
    expect([...afterFull].some(([url, csv]) => before.get(url) !== csv)).toBe(true);
    for (const [url, csv] of afterFull) expect(afterIncremental.get(url), url).toBe(csv);
    expect(incrementalStored).toEqual(await stored(full.runId));
    // What the incremental run saves in time: npm run bench:reports.
  }, 360_000);

  it('with nothing changed, an incremental run computes no rule and copies every result', async () => {
    const last = (await pool.query<{ id: number }>(`SELECT max(id) AS id FROM coverage_runs WHERE status = 'done'`))
      .rows[0].id;
    const again = await computeCoverage(pool, { incremental: true });
    expect(again.counts.computed_rules).toBe(0);
    expect(await stored(again.runId)).toEqual(await stored(last));
  }, 180_000);
});

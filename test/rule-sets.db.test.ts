import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VectorTile } from '@mapbox/vector-tile';
import type { FastifyInstance } from 'fastify';
import { PbfReader } from 'pbf';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_SHARE_ESTIMATE } from '../geo/coverage.ts';
import { BUILT_IN_RULE_SETS, RuleSetValidationError, validateRuleSet } from '../geo/rules/index.ts';
import { buildApp } from '../server/app.ts';
import { createToken } from '../server/auth.ts';
import { projectRoot } from '../server/config.ts';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { importRuleSetFile } from '../server/import/import-rule-set.ts';
import { tileOf } from './bench/autocannon.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

/** A planner's own standard: a land-area park rule with a 2000–5000 m² band, and an elderly-weighted one. */
function customRuleSet(version = '1'): Record<string, unknown> {
  return {
    id: 'district-x',
    version,
    zh: '某区 自定标准',
    en: 'District X standard',
    citation: 'District X planning bureau, 2026 notice (test)',
    rules: [
      {
        id: 'park_land',
        zh: '公园服务半径覆盖率 (用地)',
        en: 'Park service radius (land area)',
        measure: 'residential_land_area',
        tiers: [
          { categories: ['park', 'green_space'], minAreaM2: 5000, maxDistanceM: 500, citation: 'notice §1' },
          {
            categories: ['park', 'green_space'],
            minAreaM2: 2000,
            maxAreaM2: 5000,
            maxDistanceM: 300,
            citation: 'notice §1',
          },
        ],
        targetShare: 0.8,
        citation: 'notice §1',
      },
      {
        id: 'park_elderly',
        zh: '老年人 600 m 见园',
        en: 'Park within 600 m, residents 60+',
        populationGroup: 'elderly',
        tiers: [{ categories: ['park'], maxDistanceM: 600, citation: 'notice §2' }],
        targetShare: 0.8,
        citation: 'notice §2',
      },
      {
        id: 'park_all',
        zh: '600 m 见园',
        en: 'Park within 600 m, all residents',
        tiers: [{ categories: ['park'], maxDistanceM: 600, citation: 'notice §2' }],
        targetShare: 0.8,
        citation: 'notice §2',
      },
    ],
  };
}

const problemsOf = (value: unknown): string[] => {
  try {
    validateRuleSet(value);
  } catch (err) {
    if (err instanceof RuleSetValidationError) return [...err.problems];
    throw err;
  }
  return [];
};

describe('rule set files', () => {
  it('the shipped files are valid, and every tier and rule cites its numbers', () => {
    const ids = BUILT_IN_RULE_SETS.map((r) => r.id);
    expect(ids).toEqual([
      'chengdu-park-city',
      'gb50180-2018',
      'garden-city',
      'chengjian-park-greenway',
      'tdt1062-2021',
    ]);
    for (const rs of BUILT_IN_RULE_SETS)
      for (const r of rs.rules) for (const t of r.tiers) expect(t.citation, `${rs.id}/${r.id}`).toBeTruthy();
    const cj = BUILT_IN_RULE_SETS.find((r) => r.id === 'chengjian-park-greenway')!;
    expect(cj.rules.map((r) => r.measure)).toEqual(['residential_land_area', 'residential_land_area']);
    expect(cj.rules[0].tiers.map((t) => [t.minAreaM2, t.maxAreaM2 ?? null, t.maxDistanceM])).toEqual([
      [5000, null, 500],
      [2000, 5000, 300],
    ]);
    expect(cj.rules[1].tiers[0]).toMatchObject({ categories: ['greenway'], maxDistanceM: 1000 });
    const td = BUILT_IN_RULE_SETS.find((r) => r.id === 'tdt1062-2021')!;
    expect(td.note).toMatch(/local choice/);
    expect(td.rules.find((r) => r.tiers[0].categories.includes('kindergarten'))!.populationGroup).toBe('children');
    expect(td.rules.find((r) => r.tiers[0].categories.includes('elderly_care'))!.populationGroup).toBe('elderly');
  });

  it('names every problem by its JSON path', () => {
    const bad = customRuleSet();
    const rules = bad.rules as Record<string, unknown>[];
    (rules[0].tiers as Record<string, unknown>[])[0].maxDistanceM = 0;
    (rules[1].tiers as Record<string, unknown>[])[0].categories = ['parks'];
    delete rules[2].citation;
    rules[2].populationGroup = 'teenagers';
    (bad as Record<string, unknown>).colour = 'green';
    const problems = problemsOf(bad);
    expect(problems).toContain('/rules/0/tiers/0/maxDistanceM: must be > 0');
    expect(problems).toContain("/rules/2: must have required property 'citation'");
    expect(problems.some((p) => p.startsWith('/rules/1/tiers/0/categories/0: must be one of "park"'))).toBe(true);
    expect(
      problems.some((p) => p.startsWith('/rules/2/populationGroup: must be one of "all", "elderly", "children"')),
    ).toBe(true);
    expect(problems).toContain('/: must NOT have additional property "colour"');

    // what the schema cannot say, still by path
    const crossed = customRuleSet();
    const r0 = (crossed.rules as Record<string, unknown>[])[0];
    (r0.tiers as Record<string, unknown>[])[1].maxAreaM2 = 1000;
    r0.populationGroup = 'elderly';
    (crossed.rules as Record<string, unknown>[])[2].id = 'park_land';
    expect(problemsOf(crossed).sort()).toEqual([
      '/rules/0/populationGroup: must be "all" with the residential_land_area measure (land is not weighed by age group)',
      '/rules/0/tiers/1/maxAreaM2: must be > minAreaM2 (2000)',
      '/rules/2/id: duplicate rule id "park_land"',
    ]);
    expect(problemsOf(customRuleSet())).toEqual([]);
  });
});

describe('stored rule sets', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let app: FastifyInstance;
  let admin: string;
  let planner: string;

  beforeAll(async () => {
    db = await createTestDatabase('shuangqiaozi');
    pool = createPool(db.url, { max: 3 });
    app = await buildApp({ databaseUrl: db.url, webDist: false });
    await app.ready();
    admin = (await createToken(pool, 'test-admin', 'admin')).token;
    planner = (await createToken(pool, 'test-planner', 'planner')).token;
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await db?.drop();
  });

  const post = (body: unknown, token?: string) =>
    app.inject({
      method: 'POST',
      url: '/api/rule-sets?compute=false',
      payload: body as object,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('publishes the schema', async () => {
    const r = await app.inject('/api/rule-sets/schema');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual(
      JSON.parse(fs.readFileSync(path.join(projectRoot, 'geo/rules/rule-set.schema.json'), 'utf8')),
    );
  });

  it('POST /api/rule-sets: admins only; a bad file is refused by JSON path and stores nothing', async () => {
    expect((await post(customRuleSet())).statusCode).toBe(401);
    expect((await post(customRuleSet(), planner)).statusCode).toBe(403);
    const bad = customRuleSet();
    ((bad.rules as Record<string, unknown>[])[0].tiers as Record<string, unknown>[])[0].maxDistanceM = -5;
    const r = await post(bad, admin);
    expect(r.statusCode).toBe(422);
    expect(r.json().error.code).toBe('invalid_rule_set');
    expect(r.json().error.details.problems).toContain('/rules/0/tiers/0/maxDistanceM: must be > 0');
    const builtIn = await post({ ...customRuleSet(), id: 'garden-city' }, admin);
    expect(builtIn.statusCode).toBe(409);
    expect((await pool.query('SELECT count(*)::int AS n FROM rule_sets')).rows[0].n).toBe(0);
  });

  it('the CLI refuses a bad file by JSON path and stores nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rule-sets-'));
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ ...customRuleSet(), targetShare: 2 }));
    await expect(importRuleSetFile(pool, file)).rejects.toThrow('/: must NOT have additional property "targetShare"');
    fs.writeFileSync(file, '{"id": ');
    await expect(importRuleSetFile(pool, file)).rejects.toThrow(/is not JSON/);
    expect((await pool.query('SELECT count(*)::int AS n FROM rule_sets')).rows[0].n).toBe(0);
    fs.rmSync(dir, { recursive: true });
  });

  it('a stored set is computed and appears in /api/rules, coverage, audit and tiles; a new version supersedes', async () => {
    const r = await post(customRuleSet('1'), admin);
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({
      id: 'district-x',
      version: '1',
      created: true,
      supersedes: null,
      compute: 'skipped',
    });
    expect((await post(customRuleSet('1'), admin)).statusCode).toBe(200); // same content again: nothing new
    const changed = customRuleSet('1');
    changed.en = 'changed';
    expect((await post(changed, admin)).statusCode).toBe(409); // same version, other content
    const run1 = await computeCoverage(pool);

    const rules = (await app.inject('/api/rules')).json().rule_sets as {
      id: string;
      built_in: boolean;
      rules: { id: string; measure: string; population_group: string; tiers: { max_area_m2: number | null }[] }[];
    }[];
    const mine = rules.find((x) => x.id === 'district-x')!;
    expect(mine.built_in).toBe(false);
    expect(mine.rules.map((x) => [x.id, x.measure, x.population_group])).toEqual([
      ['park_land', 'residential_land_area', 'all'],
      ['park_elderly', 'population', 'elderly'],
      ['park_all', 'population', 'all'],
    ]);
    expect(mine.rules[0].tiers[1].max_area_m2).toBe(5000);

    const cov = await app.inject('/api/coverage?rule_set=district-x&level=community');
    expect(cov.statusCode).toBe(200);
    const areas = cov.json().areas as { rules: Record<string, { measure: string; population: number }> }[];
    expect(areas.length).toBeGreaterThan(0);
    expect(areas[0].rules.park_land.measure).toBe('residential_land_area');
    const audit = await app.inject('/api/audit?rule_set=district-x&level=residential_area');
    expect(audit.statusCode).toBe(200);

    const {
      rows: [pt],
    } = await pool.query<{ lng: number; lat: number }>(
      `SELECT ST_X(p) AS lng, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM residential_areas ORDER BY area_m2 DESC LIMIT 1) x`,
    );
    const [, x, y] = tileOf(pt.lng, pt.lat, 15);
    const tile = await app.inject(`/tiles/areas/15/${x}/${y}.pbf?rule_set=district-x`);
    expect(tile.statusCode).toBe(200);
    const layer = new VectorTile(new PbfReader(tile.rawPayload)).layers.residential_areas;
    const keys = new Set(
      Array.from({ length: layer.length }, (_, i) => Object.keys(layer.feature(i).properties)).flat(),
    );
    expect(keys).toContain('park_land_share');
    expect(keys).toContain('park_elderly_pass');

    // a new version supersedes for the next compute; the run before keeps its version
    const v2 = customRuleSet('2');
    ((v2.rules as Record<string, unknown>[])[2].tiers as Record<string, unknown>[])[0].maxDistanceM = 100;
    expect((await post(v2, admin)).json()).toMatchObject({ version: '2', supersedes: '1' });
    const run2 = await computeCoverage(pool, { keepRuns: 5 });
    const versions = await pool.query<{ id: number; v: string }>(
      `SELECT id, rule_set_versions->>'district-x' AS v FROM coverage_runs WHERE id = ANY($1) ORDER BY id`,
      [[run1.runId, run2.runId]],
    );
    expect(versions.rows.map((x) => x.v)).toEqual(['1', '2']);
    const share = async (run: number) =>
      (
        await pool.query<{ s: number }>(
          `SELECT covered_population / population AS s FROM coverage_area_results WHERE run_id = $1 AND rule_set_id = 'district-x' AND rule_id = 'park_all' AND level = 'city'`,
          [run],
        )
      ).rows[0].s;
    expect(await share(run2.runId)).toBeLessThan(await share(run1.runId));
  }, 300_000);

  it('the land-area measure equals a PostGIS computation of covered residential land', async () => {
    const {
      rows: [run],
    } = await pool.query<{ id: number }>(`SELECT max(id) AS id FROM coverage_runs WHERE status = 'done'`);
    const {
      rows: [engine],
    } = await pool.query<{ population: number; covered_population: number; straight_covered_population: number }>(
      `SELECT population, covered_population, straight_covered_population FROM coverage_area_results
       WHERE run_id = $1 AND rule_set_id = 'district-x' AND rule_id = 'park_land' AND level = 'city'`,
      [run.id],
    );
    // Independent: each residential area's geodesic area (PostGIS, not the stored area_m2), shared
    // among its origins; covered land = the shares of the origins the run marks covered.
    const {
      rows: [oracle],
    } = await pool.query<{ total: number; covered: number; ra: number }>(
      `WITH per_origin AS (
         SELECT o.id, ST_Area(ra.geom::geography) / count(*) OVER (PARTITION BY o.residential_area_id) AS land
         FROM origins o JOIN residential_areas ra ON ra.id = o.residential_area_id
         WHERE o.dataset_id = (SELECT dataset_id FROM coverage_runs WHERE id = $1))
       SELECT sum(p.land) AS total, sum(p.land) FILTER (WHERE r.covered) AS covered, count(DISTINCT o.residential_area_id)::int AS ra
       FROM coverage_origin_results r JOIN per_origin p ON p.id = r.origin_id JOIN origins o ON o.id = r.origin_id
       WHERE r.run_id = $1 AND r.rule_set_id = 'district-x' AND r.rule_id = 'park_land'`,
      [run.id],
    );
    expect(oracle.ra).toBeGreaterThan(3);
    expect(engine.population).toBeGreaterThan(0);
    expect(engine.population / oracle.total).toBeCloseTo(1, 3);
    expect(engine.covered_population / (oracle.covered ?? 0)).toBeCloseTo(1, 3);
    // The land share is not the residents' share (else the measure would be a relabelling).
    const {
      rows: [byResidents],
    } = await pool.query<{ s: number }>(
      `SELECT sum(o.population) FILTER (WHERE r.covered) / sum(o.population) AS s FROM coverage_origin_results r JOIN origins o ON o.id = r.origin_id
       WHERE r.run_id = $1 AND r.rule_set_id = 'district-x' AND r.rule_id = 'park_land'`,
      [run.id],
    );
    expect(Math.abs(engine.covered_population / engine.population - byResidents.s)).toBeGreaterThan(1e-6);
  });

  it('elderly-weighted rules weigh imported counts, estimate missing ones, and the audit says so', async () => {
    const ds = (
      await pool.query<{ id: number }>(
        `SELECT dataset_id AS id FROM coverage_runs WHERE status = 'done' ORDER BY id DESC LIMIT 1`,
      )
    ).rows[0].id;
    // Half the origins get an imported elderly count far from the national share; the rest keep none.
    await pool.query(`UPDATE origins SET elderly = population * 0.5 WHERE dataset_id = $1 AND id % 2 = 0`, [ds]);
    const run = await computeCoverage(pool, { keepRuns: 5 });
    const {
      rows: [naive],
    } = await pool.query<{ total: number; covered: number; estimated: number }>(
      `SELECT sum(w) AS total, sum(w) FILTER (WHERE covered) AS covered, sum(w) FILTER (WHERE est) AS estimated FROM (
         SELECT coalesce(o.elderly, o.population * $2) AS w, o.elderly IS NULL AS est, r.covered
         FROM coverage_origin_results r JOIN origins o ON o.id = r.origin_id
         WHERE r.run_id = $1 AND r.rule_set_id = 'district-x' AND r.rule_id = 'park_elderly') x`,
      [run.runId, GROUP_SHARE_ESTIMATE.elderly],
    );
    const {
      rows: [engine],
    } = await pool.query<{
      population: number;
      covered_population: number;
      estimated_population: number;
      population_group: string;
    }>(
      `SELECT population, covered_population, estimated_population, population_group FROM coverage_area_results
       WHERE run_id = $1 AND rule_set_id = 'district-x' AND rule_id = 'park_elderly' AND level = 'city'`,
      [run.runId],
    );
    expect(engine.population_group).toBe('elderly');
    expect(engine.population).toBeCloseTo(naive.total, 3);
    expect(engine.covered_population).toBeCloseTo(naive.covered ?? 0, 3);
    expect(engine.estimated_population).toBeCloseTo(naive.estimated, 3);
    expect(engine.estimated_population).toBeGreaterThan(0);
    expect(engine.estimated_population).toBeLessThan(engine.population);

    // the audit names the group and that its figures are estimated
    const audit = (await app.inject('/api/audit?rule_set=district-x&level=residential_area')).json();
    const failed = (
      audit.areas as {
        caveats: string[];
        failed_rules: {
          rule_id: string;
          population_group: string;
          group_estimated: boolean;
          measure: string;
          land_not_covered_m2: number | null;
        }[];
      }[]
    ).flatMap((a) => a.failed_rules.map((f) => ({ ...f, caveats: a.caveats })));
    const elderly = failed.filter((f) => f.rule_id === 'park_elderly');
    expect(elderly.length).toBeGreaterThan(0);
    for (const f of elderly) expect(f.population_group).toBe('elderly');
    expect(elderly.some((f) => f.group_estimated && f.caveats.includes('estimated_elderly'))).toBe(true);
    const land = failed.filter((f) => f.rule_id === 'park_land');
    for (const f of land) expect(f.land_not_covered_m2).toBeGreaterThan(0);
  }, 300_000);

  it('npm run import -- rules stores a file from the command line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rule-sets-cli-'));
    const file = path.join(dir, 'mine.json');
    fs.writeFileSync(file, JSON.stringify({ ...customRuleSet('1'), id: 'cli-set' }));
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'server/cli/import.ts', 'rules', file, '--no-compute'],
      {
        cwd: projectRoot,
        env: { ...process.env, DATABASE_URL: db.url, MIGRATION_DATABASE_URL: db.url },
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(out)).toMatchObject({ id: 'cli-set', version: '1', created: true });
    fs.rmSync(dir, { recursive: true });
  }, 120_000);
});

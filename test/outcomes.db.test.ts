import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISTANCE_CAP_M } from '../geo/coverage.ts';
import { buildApp } from '../server/app.ts';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { EDGE_MARGIN_M } from '../server/network/study-area.ts';
import { importOsm } from '../server/import/import-osm.ts';
import { readStudyArea, setStudyArea, StudyAreaError } from '../server/import/import-study-area.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

/*
 * A made-up town, in metres east (x) and north (y) of 104.0 E, 30.6 N:
 * - a main street along y = 0 from x = 0 to 6000 with a 50 m footway north every 100 m, and one
 *   clinic (health) at its west end: the only facility of the town;
 * - a separate 8 × 8 street grid at x 0–700, y 1000–1700, joined to nothing: no path from it;
 * - residential areas: A (x 300–600, near the clinic), B (x 2700–3300, part within the cap, part
 *   beyond), C (x 4400–5200, beyond the cap and reaching into the edge margin), D (in the grid),
 *   E (x −1450 to −1350: wholly inside the edge margin, outside the study area);
 * - the file's bounds reach 1500 m past the streets west, south and north and to x = 5500 east, so
 *   the default study area is those bounds less EDGE_MARGIN_M (x −500 to 4500).
 * No parks, green spaces or anything else: every rule but health's is no_data.
 */
const LNG0 = 104.0;
const LAT0 = 30.6;
const M_PER_DEG_LAT = 110_860;
const M_PER_DEG_LNG = 111_320 * Math.cos((LAT0 * Math.PI) / 180);
const lngOf = (x: number) => LNG0 + x / M_PER_DEG_LNG;
const latOf = (y: number) => LAT0 + y / M_PER_DEG_LAT;
const BOUNDS = { minX: -1500, minY: -1500, maxX: 5500, maxY: 3200 };

function townXml(): string {
  const nodes: string[] = [];
  const ways: string[] = [];
  let nid = 1;
  let wid = 1;
  const node = (x: number, y: number, tags: Record<string, string> = {}) => {
    const id = nid++;
    const t = Object.entries(tags)
      .map(([k, v]) => `<tag k="${k}" v="${v}"/>`)
      .join('');
    nodes.push(`<node id="${id}" version="1" lat="${latOf(y).toFixed(7)}" lon="${lngOf(x).toFixed(7)}">${t}</node>`);
    return id;
  };
  const way = (refs: number[], tags: Record<string, string>) => {
    ways.push(
      `<way id="${wid++}" version="1">${refs.map((r) => `<nd ref="${r}"/>`).join('')}${Object.entries(tags)
        .map(([k, v]) => `<tag k="${k}" v="${v}"/>`)
        .join('')}</way>`,
    );
  };
  const main: number[] = [];
  for (let x = 0; x <= 6000; x += 100) {
    const on = node(x, 0);
    main.push(on);
    if (x > 0) way([on, node(x, 50)], { highway: 'footway' });
  }
  way(main, { highway: 'residential', name: 'Main Street' });
  const grid: number[][] = [];
  for (let i = 0; i < 8; i++) {
    grid.push([]);
    for (let j = 0; j < 8; j++) grid[i].push(node(j * 100, 1000 + i * 100));
  }
  for (let i = 0; i < 8; i++) way(grid[i], { highway: 'residential' });
  for (let j = 0; j < 8; j++)
    way(
      grid.map((row) => row[j]),
      { highway: 'residential' },
    );
  node(0, 20, { amenity: 'clinic', name: 'Town Clinic' });
  const area = (name: string, x0: number, y0: number, x1: number, y1: number) => {
    const ring = [node(x0, y0), node(x1, y0), node(x1, y1), node(x0, y1)];
    way([...ring, ring[0]], { landuse: 'residential', name });
  };
  area('A', 300, 10, 600, 45);
  area('B', 2700, 10, 3300, 45);
  area('C', 4400, 10, 5200, 45);
  area('D', 210, 1210, 480, 1480);
  area('E', -1450, -1450, -1350, -1350);
  return `<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="life-circle test">
<bounds minlat="${latOf(BOUNDS.minY).toFixed(7)}" minlon="${lngOf(BOUNDS.minX).toFixed(7)}" maxlat="${latOf(BOUNDS.maxY).toFixed(7)}" maxlon="${lngOf(BOUNDS.maxX).toFixed(7)}"/>
${nodes.join('\n')}
${ways.join('\n')}
</osm>
`;
}

let db: TestDatabase;
let pool: pg.Pool;
let app: FastifyInstance;
let tmp: string;
let spec: {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
};
const ajv = new Ajv({ strict: false, allErrors: true });

/** Check a response body against the route's response schema in the served OpenAPI document. */
function expectMatchesSchema(route: string, body: unknown) {
  const schema = spec.paths[route]?.get?.responses?.['200']?.content?.['application/json']?.schema;
  expect(schema, `no 200 schema for GET ${route}`).toBeDefined();
  const validate = ajv.compile(schema!);
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
}

interface Rule {
  share: number | null;
  passes: boolean;
  no_data: boolean;
  population: number;
  covered_population: number;
  uncovered_mean_m: number | null;
  uncovered_unreachable_population: number;
  uncovered_beyond_cap_population: number;
  uncovered_near_edge_population: number;
}
interface Area {
  area_key: string;
  area_name: string | null;
  population: number;
  rules: Record<string, Rule>;
}

beforeAll(async () => {
  db = await createTestDatabase('empty');
  pool = createPool(db.url, { max: 2 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-outcomes-'));
  const file = path.join(tmp, 'town.osm');
  fs.writeFileSync(file, townXml());
  await importOsm(pool, file);
  await computeCoverage(pool);
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
  spec = app.swagger() as unknown as typeof spec;
}, 120_000);
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function coverage(ruleSet: string): Promise<Map<string, Area>> {
  const r = await app.inject(`/api/coverage?rule_set=${ruleSet}&level=residential_area`);
  expect(r.statusCode).toBe(200);
  expectMatchesSchema('/api/coverage', r.json());
  return new Map((r.json().areas as Area[]).map((a) => [a.area_name ?? a.area_key, a]));
}

describe('distance, beyond_cap, no_path and no_data on a made-up town', () => {
  it('proximity says which of the four outcomes each category has', async () => {
    const ask = async (x: number, y: number) => {
      const r = await app.inject(`/api/proximity?lng=${lngOf(x)}&lat=${latOf(y)}&categories=health,park`);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json();
      expectMatchesSchema('/api/proximity', body);
      expect(body.distance_cap_m).toBe(DISTANCE_CAP_M);
      return Object.fromEntries(
        (
          body.results as {
            category: string;
            outcome: string;
            network_distance_m: number | null;
            meets_target: boolean | null;
          }[]
        ).map((x) => [x.category, x]),
      );
    };
    const near = await ask(500, 5);
    expect(near.health.outcome).toBe('distance');
    expect(near.health.network_distance_m).toBeGreaterThan(450);
    expect(near.health.network_distance_m).toBeLessThan(600);
    expect(near.park.outcome).toBe('no_data');
    expect(near.park.network_distance_m).toBeNull();
    // the park rule of chengdu-park-city is not assessable: neither met nor missed
    expect(near.park.meets_target).toBeNull();

    // 2500 m: farther than any rule's limit, still reported (the cap is the same for every rule)
    const mid = await ask(2500, 5);
    expect(mid.health.outcome).toBe('distance');
    expect(mid.health.network_distance_m).toBeGreaterThan(2450);

    const far = await ask(4000, 5);
    expect(far.health.outcome).toBe('beyond_cap');
    expect(far.health.network_distance_m).toBeNull();

    const cut = await ask(300, 1300);
    expect(cut.health.outcome).toBe('no_path');
    expect(cut.health.network_distance_m).toBeNull();
    expect(cut.park.outcome).toBe('no_data');
  });

  it('stores an outcome per origin, and area figures agree with them (SQL oracle)', async () => {
    const run = (await pool.query<{ id: number }>(`SELECT max(id) AS id FROM coverage_runs WHERE status = 'done'`))
      .rows[0].id;
    const { rows } = await pool.query<{ name: string; outcome: string; n: number }>(
      `SELECT ra.name, r.outcome, count(*)::int AS n FROM coverage_origin_results r
       JOIN origins o ON o.id = r.origin_id JOIN residential_areas ra ON ra.id = o.residential_area_id
       WHERE r.run_id = $1 AND r.rule_set_id = 'gb50180-2018' AND r.rule_id = 'min15_health'
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [run],
    );
    const by = (name: string) => Object.fromEntries(rows.filter((r) => r.name === name).map((r) => [r.outcome, r.n]));
    expect(Object.keys(by('A'))).toEqual(['distance']);
    expect(by('B').distance).toBeGreaterThan(0);
    expect(by('B').beyond_cap).toBeGreaterThan(0);
    expect(Object.keys(by('C'))).toEqual(['beyond_cap']);
    expect(Object.keys(by('D'))).toEqual(['no_path']);
    // E lies wholly in the edge margin, outside the study area: not evaluated
    expect(by('E')).toEqual({});
    const noData = await pool.query<{ outcome: string }>(
      `SELECT DISTINCT outcome FROM coverage_origin_results WHERE run_id = $1 AND rule_set_id = 'gb50180-2018' AND rule_id = 'min5_park_0_4ha'`,
      [run],
    );
    expect(noData.rows.map((r) => r.outcome)).toEqual(['no_data']);

    const oracle = await pool.query<{ area_key: string; beyond: number; no_path: number; mean_m: number | null }>(
      `SELECT o.residential_area_id::text AS area_key,
              coalesce(sum(o.population) FILTER (WHERE NOT r.covered AND r.outcome = 'beyond_cap'), 0) AS beyond,
              coalesce(sum(o.population) FILTER (WHERE NOT r.covered AND r.outcome = 'no_path'), 0) AS no_path,
              sum(o.population * r.network_m) FILTER (WHERE NOT r.covered AND r.outcome = 'distance')
                / nullif(sum(o.population) FILTER (WHERE NOT r.covered AND r.outcome = 'distance'), 0) AS mean_m
       FROM coverage_origin_results r JOIN origins o ON o.id = r.origin_id
       WHERE r.run_id = $1 AND r.rule_set_id = 'gb50180-2018' AND r.rule_id = 'min15_health'
       GROUP BY 1`,
      [run],
    );
    const areas = await coverage('gb50180-2018');
    const byKey = new Map([...areas.values()].map((a) => [a.area_key, a]));
    expect(oracle.rows.length).toBe(4);
    for (const o of oracle.rows) {
      const h = byKey.get(o.area_key)!.rules.min15_health;
      expect(h.uncovered_beyond_cap_population).toBeCloseTo(o.beyond, 6);
      expect(h.uncovered_unreachable_population).toBeCloseTo(o.no_path, 6);
      if (o.mean_m === null) expect(h.uncovered_mean_m).toBeNull();
      // stored distances are rounded to the centimetre
      else expect(h.uncovered_mean_m).toBeCloseTo(o.mean_m, 1);
    }
    // B: the mean is over those with a distance (within the cap), the rest counted beside it
    const b = areas.get('B')!.rules.min15_health;
    expect(b.uncovered_mean_m).toBeGreaterThan(2600);
    expect(b.uncovered_mean_m).toBeLessThanOrEqual(DISTANCE_CAP_M);
    expect(b.uncovered_beyond_cap_population).toBeGreaterThan(0);
    expect(b.uncovered_unreachable_population).toBe(0);
    // D: "unreachable" is only no_path
    const d = areas.get('D')!.rules.min15_health;
    expect(d.uncovered_unreachable_population).toBeCloseTo(d.population, 6);
    expect(d.uncovered_beyond_cap_population).toBe(0);
    expect(d.uncovered_mean_m).toBeNull();
    expect(areas.get('A')!.rules.min15_health.passes).toBe(true);
    expect(areas.has('E')).toBe(false);
  });

  it('a rule with no data is not assessable: never failed, listed with what to import', async () => {
    const areas = await coverage('gb50180-2018');
    for (const a of areas.values()) {
      expect(a.rules.min15_health.no_data).toBe(false);
      expect(a.rules.min5_park_0_4ha.no_data).toBe(true);
      expect(a.rules.min5_park_0_4ha.passes).toBe(false);
    }
    const r = await app.inject('/api/audit?rule_set=gb50180-2018&level=residential_area');
    expect(r.statusCode).toBe(200);
    const audit = r.json();
    expectMatchesSchema('/api/audit', audit);
    const na = audit.not_assessable as { rule_id: string; categories: string[]; message: string }[];
    const naIds = na.map((n) => n.rule_id).sort();
    expect(naIds).toContain('min5_park_0_4ha');
    expect(naIds).not.toContain('min15_health');
    expect(na.find((n) => n.rule_id === 'min5_kindergarten')!.message).toBe(
      'not assessable — no kindergarten in the data; import a register',
    );
    // only health is assessable here, so only health can fail: B, C and D
    const failing = audit.areas as { area_name: string; failed_rules: { rule_id: string }[] }[];
    expect(failing.map((a) => a.area_name).sort()).toEqual(['B', 'C', 'D']);
    for (const a of failing) expect(a.failed_rules.map((f) => f.rule_id)).toEqual(['min15_health']);

    // chengdu-park-city has nothing but no_data rules here: no area fails
    const park = (await app.inject('/api/audit?rule_set=chengdu-park-city&level=residential_area')).json();
    expectMatchesSchema('/api/audit', park);
    expect(park.areas).toEqual([]);
    expect(park.not_assessable.map((n: { rule_id: string }) => n.rule_id).sort()).toEqual([
      'community_service_1000',
      'elderly_care_500',
      'green_300',
      'greenway_1000',
      'park_500',
    ]);

    const csv = (await app.inject('/api/audit?rule_set=gb50180-2018&level=residential_area&format=csv')).body;
    expect(csv).toMatch(/,min5_park_0_4ha,no_data,/);
    expect(csv.split('\n')[0]).toContain('uncovered_beyond_cap');
    expect(csv.split('\n')[0]).toContain('uncovered_no_path');
    const covCsv = (await app.inject('/api/coverage?rule_set=gb50180-2018&level=residential_area&format=csv')).body;
    expect(covCsv).toMatch(/,min5_park_0_4ha,[^\n]*,no_data,/);
    const geo = (await app.inject('/api/audit?rule_set=gb50180-2018&level=residential_area&format=geojson')).json();
    expect(geo.properties.not_assessable.length).toBe(na.length);
  });

  it('areas whose uncovered residents lie in the edge margin carry edge_of_data', async () => {
    const audit = (await app.inject('/api/audit?rule_set=gb50180-2018&level=residential_area')).json();
    const caveats = Object.fromEntries(
      (audit.areas as { area_name: string; caveats: string[]; failed_rules: { edge_of_data: boolean }[] }[]).map(
        (a) => [a.area_name, a],
      ),
    );
    // C reaches past x = 4500, within EDGE_MARGIN_M of the data's east edge (x = 5500)
    expect(EDGE_MARGIN_M).toBe(1000);
    expect(caveats.C.caveats).toContain('edge_of_data');
    expect(caveats.C.failed_rules[0].edge_of_data).toBe(true);
    expect(caveats.B.caveats).not.toContain('edge_of_data');
    expect(caveats.D.caveats).not.toContain('edge_of_data');
    // the map reads the same flag from the areas tiles' function
    const t = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM coverage_area_results WHERE uncovered_near_edge_population > 0 AND rule_set_id = 'gb50180-2018' AND level = 'residential_area'`,
    );
    expect(t.rows[0].n).toBeGreaterThan(0);
  });

  it('a study area given as a polygon replaces the default; a bad one is refused naming why', async () => {
    const ring = [
      [-200, -200],
      [3400, -200],
      [3400, 1800],
      [-200, 1800],
      [-200, -200],
    ].map(([x, y]) => [lngOf(x), latOf(y)]);
    const file = path.join(tmp, 'study.geojson');
    fs.writeFileSync(
      file,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } }],
      }),
    );
    const bad = path.join(tmp, 'bad.geojson');
    fs.writeFileSync(
      bad,
      JSON.stringify({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [104, 30.6] } }),
    );
    await expect(readStudyArea(pool, bad)).rejects.toThrow(StudyAreaError);
    await expect(readStudyArea(pool, bad)).rejects.toThrow(
      /feature 0: geometry type "Point" is not Polygon or MultiPolygon/,
    );
    const ds = (await pool.query<{ id: number }>(`SELECT id FROM datasets WHERE kind = 'osm' ORDER BY id DESC LIMIT 1`))
      .rows[0].id;
    await setStudyArea(pool, ds, file, await readStudyArea(pool, file));
    await computeCoverage(pool);
    const areas = await coverage('gb50180-2018');
    // C (x 4400–5200) now lies wholly outside the study area; A, B and D inside
    expect([...areas.keys()].sort()).toEqual(['A', 'B', 'D']);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { OUTSIDE_DISTRICTS } from '../server/network/load-network.ts';
import { DEFAULT_LEVELS, POPULATION_ESTIMATE } from '../server/population-estimate.ts';
import { importDistricts } from '../server/import/import-communities.ts';
import { importOsm } from '../server/import/import-osm.ts';
import { readStudyArea, setStudyArea } from '../server/import/import-study-area.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// A small town in Spain, laid out in metres east (x) and north (y) of LNG0, LAT0.
const LNG0 = -3.7;
const LAT0 = 40.42;
const M_PER_DEG_LAT = 111_030;
const M_PER_DEG_LNG = 111_320 * Math.cos((LAT0 * Math.PI) / 180);
const lngLat = (x: number, y: number): [number, number] => [LNG0 + x / M_PER_DEG_LNG, LAT0 + y / M_PER_DEG_LAT];

interface Box {
  ref: string;
  tags: Record<string, string>;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The fixture's closed ways (each a rectangle) and what the population rule says about each building. */
const AREAS: (Box & { residential?: boolean; levels?: number })[] = [
  { ref: 'landuse', tags: { landuse: 'residential', name: 'Casas A' }, x0: 0, y0: 20, x1: 60, y1: 80 },
  // in mapped residential land, 5 storeys mapped
  {
    ref: 'apartments',
    tags: { building: 'apartments', 'building:levels': '5' },
    x0: 10,
    y0: 30,
    x1: 50,
    y1: 70,
    residential: true,
    levels: 5,
  },
  // outside any residential land: a house (2 storeys by default) and an untagged building (6) 10 m apart
  {
    ref: 'house',
    tags: { building: 'house' },
    x0: 400,
    y0: 30,
    x1: 410,
    y1: 42,
    residential: true,
    levels: DEFAULT_LEVELS.house,
  },
  {
    ref: 'untagged',
    tags: { building: 'yes' },
    x0: 420,
    y0: 30,
    x1: 435,
    y1: 50,
    residential: true,
    levels: POPULATION_ESTIMATE.defaultLevels,
  },
  // a shop, a shed below the footprint floor, a commercial building: not homes
  { ref: 'shop', tags: { building: 'yes', shop: 'supermarket' }, x0: 500, y0: 30, x1: 515, y1: 50, residential: false },
  { ref: 'shed', tags: { building: 'yes' }, x0: 450, y0: 60, x1: 454, y1: 65, residential: false },
  { ref: 'commercial', tags: { building: 'commercial' }, x0: 350, y0: -100, x1: 370, y1: -80, residential: false },
  // industrial land with an untagged building: not a home
  { ref: 'industrial', tags: { landuse: 'industrial' }, x0: 100, y0: -200, x1: 250, y1: -20 },
  { ref: 'factory', tags: { building: 'yes' }, x0: 150, y0: -150, x1: 180, y1: -120, residential: false },
  // a detached house far from the others, its levels mapped
  {
    ref: 'detached',
    tags: { building: 'detached', 'building:levels': '3' },
    x0: 550,
    y0: -60,
    x1: 560,
    y1: -50,
    residential: true,
    levels: 3,
  },
];

/** OSM XML of the fixture town: two streets, the areas above, and the given place nodes. */
function townXml(places: { place: string; name: string; x: number; y: number }[]): string {
  let id = 0;
  const nodes: string[] = [];
  const ways: string[] = [];
  const node = (x: number, y: number, tags: Record<string, string> = {}) => {
    const [lng, lat] = lngLat(x, y);
    nodes.push(
      `<node id="${++id}" version="1" lat="${lat.toFixed(7)}" lon="${lng.toFixed(7)}">${Object.entries(tags)
        .map(([k, v]) => `<tag k="${k}" v="${v}"/>`)
        .join('')}</node>`,
    );
    return id;
  };
  const way = (refs: number[], tags: Record<string, string>) =>
    ways.push(
      `<way id="${++id + 1000}" version="1">${refs.map((r) => `<nd ref="${r}"/>`).join('')}${Object.entries(tags)
        .map(([k, v]) => `<tag k="${k}" v="${v}"/>`)
        .join('')}</way>`,
    );
  const street: number[] = [];
  for (let x = -50; x <= 650; x += 100) street.push(node(x, 0));
  way(street, { highway: 'residential', name: 'Calle Mayor' });
  way([node(300, -300), street[4], node(300, 300)], { highway: 'residential', name: 'Calle Nueva' });
  for (const a of AREAS) {
    const c = [node(a.x0, a.y0), node(a.x1, a.y0), node(a.x1, a.y1), node(a.x0, a.y1)];
    way([...c, c[0]], a.tags);
  }
  for (const p of places) node(p.x, p.y, { place: p.place, name: p.name });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n${nodes.join('\n')}\n${ways.join('\n')}\n</osm>\n`;
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-population-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function withTown(places: Parameters<typeof townXml>[0], body: (pool: pg.Pool, url: string) => Promise<void>) {
  const db: TestDatabase = await createTestDatabase('empty');
  const pool = createPool(db.url, { max: 2 });
  try {
    const file = path.join(tmp, `town-${places.length}-${Math.random().toString(36).slice(2)}.osm`);
    fs.writeFileSync(file, townXml(places));
    const { datasetId } = await importOsm(pool, file);
    // The town is a few hundred metres across: the default study area (the extract less its edge
    // margin) would leave out the residents near its edges. Like `import osm --study-area`, give it
    // a study area over the whole extract, so every resident is evaluated and counted at every level.
    const whole = [
      lngLat(-1000, -1000),
      lngLat(1700, -1000),
      lngLat(1700, 1000),
      lngLat(-1000, 1000),
      lngLat(-1000, -1000),
    ];
    const studyFile = path.join(tmp, `study-${datasetId}-${Math.random().toString(36).slice(2)}.geojson`);
    fs.writeFileSync(studyFile, JSON.stringify({ type: 'Polygon', coordinates: [whole] }));
    await setStudyArea(pool, datasetId, studyFile, await readStudyArea(pool, studyFile));
    await body(pool, db.url);
  } finally {
    await pool.end();
    await db.drop();
  }
}

/** Population per level of the newest run and one rule: sums per level. */
async function levelSums(pool: pg.Pool, runId: number): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ level: string; population: number }>(
    `SELECT level, sum(population) AS population FROM coverage_area_results
     WHERE run_id = $1 AND (rule_set_id, rule_id) = (SELECT rule_set_id, rule_id FROM coverage_area_results WHERE run_id = $1 ORDER BY 1, 2 LIMIT 1)
     GROUP BY level`,
    [runId],
  );
  return Object.fromEntries(rows.map((r) => [r.level, r.population]));
}

describe('population where people live (fixture town)', () => {
  it('residential buildings count anywhere; shops, sheds, commercial and industrial ones never; levels by type', async () => {
    await withTown([], async (pool) => {
      const { rows } = await pool.query<{
        osm_ref: string;
        is_residential: boolean;
        footprint_m2: number;
        floor_area_m2: number;
        area_kind: string | null;
        population: number | null;
      }>(
        `SELECT b.osm_ref, b.is_residential, b.footprint_m2, b.floor_area_m2, ra.kind AS area_kind, b.population
         FROM buildings b LEFT JOIN residential_areas ra ON ra.id = b.residential_area_id ORDER BY b.id`,
      );
      const buildings = AREAS.filter((a) => a.residential !== undefined);
      expect(rows.length).toBe(buildings.length);
      rows.forEach((r, i) => {
        const a = buildings[i];
        expect(r.is_residential, a.ref).toBe(a.residential);
        if (a.residential) {
          expect(r.floor_area_m2, a.ref).toBeCloseTo(r.footprint_m2 * a.levels!, 6);
          // the one inside landuse=residential belongs to it; the others to derived building clusters
          expect(r.area_kind, a.ref).toBe(a.ref === 'apartments' ? 'landuse' : 'buildings');
          expect(r.population, a.ref).toBeGreaterThan(0);
        } else {
          expect(r.population ?? 0, a.ref).toBe(0);
        }
      });
      // the house and the untagged building 10 m apart form one cluster, the detached house another
      const { rows: areas } = await pool.query<{ kind: string; population: number; floor: number; n: number }>(
        `SELECT ra.kind, ra.population, sum(b.floor_area_m2) AS floor, count(b.id)::int AS n
         FROM residential_areas ra JOIN buildings b ON b.residential_area_id = ra.id AND b.is_residential
         GROUP BY ra.id ORDER BY ra.kind, n`,
      );
      expect(areas.map((a) => [a.kind, a.n])).toEqual([
        ['buildings', 1],
        ['buildings', 2],
        ['landuse', 1],
      ]);
      // the documented estimate: floor area / 39 m² per resident, rounded per area
      for (const a of areas)
        expect(a.population).toBe(Math.round(a.floor / POPULATION_ESTIMATE.floorAreaPerResidentM2));
      // by hand from the nominal sizes: 1600 × 5 / 39 = 205; (120 × 2 + 300 × 6) / 39 = 52; 100 × 3 / 39 = 8
      expect(areas.reduce((s, a) => s + a.population, 0)).toBeGreaterThanOrEqual(263);
      expect(areas.reduce((s, a) => s + a.population, 0)).toBeLessThanOrEqual(267);
    });
  });

  it('without place points every residential area is an approximate zone; residents are equal at every level', async () => {
    await withTown([], async (pool) => {
      const { rows } = await pool.query<{ name: string; is_approximate: boolean }>(
        `SELECT name, is_approximate FROM communities ORDER BY name`,
      );
      expect(rows.length).toBe(3);
      expect(rows.every((r) => r.is_approximate)).toBe(true);
      expect(rows.map((r) => r.name)).toContain('Casas A');
      const { runId } = await computeCoverage(pool);
      const sums = await levelSums(pool, runId);
      const total = (await pool.query<{ p: number }>(`SELECT sum(population) AS p FROM residential_areas`)).rows[0].p;
      expect(sums.city).toBeCloseTo(total, 6);
      expect(sums.residential_area).toBeCloseTo(total, 6);
      expect(sums.community).toBeCloseTo(total, 6);
    });
  });

  it('one place point gives one zone holding every resident', async () => {
    await withTown([{ place: 'suburb', name: 'Barrio Uno', x: 200, y: 100 }], async (pool) => {
      const { rows } = await pool.query<{ name: string; holds_all: boolean }>(
        `SELECT c.name, NOT EXISTS (SELECT 1 FROM residential_areas ra WHERE NOT ST_Covers(c.geom, ra.geom)) AS holds_all FROM communities c`,
      );
      expect(rows).toEqual([{ name: 'Barrio Uno', holds_all: true }]);
      const { runId } = await computeCoverage(pool);
      const sums = await levelSums(pool, runId);
      expect(sums.community).toBeCloseTo(sums.city, 6);
      expect(sums.city).toBeGreaterThan(250);
    });
  });

  it('the finest level with two or more points makes the zones; district sums keep residents outside the boundaries', async () => {
    const places = [
      { place: 'neighbourhood', name: 'Solo', x: 30, y: 100 },
      { place: 'suburb', name: 'Oeste', x: 50, y: 100 },
      { place: 'suburb', name: 'Este', x: 500, y: 100 },
    ];
    await withTown(places, async (pool) => {
      const { rows } = await pool.query<{ name: string }>(`SELECT name FROM communities ORDER BY name`);
      expect(rows.map((r) => r.name)).toEqual(['Este', 'Oeste']);
      // a district boundary over the western half only
      const west = [lngLat(-100, -400), lngLat(300, -400), lngLat(300, 400), lngLat(-100, 400), lngLat(-100, -400)];
      const file = path.join(tmp, 'west.geojson');
      fs.writeFileSync(
        file,
        JSON.stringify({
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              properties: { name: 'Distrito Oeste' },
              geometry: { type: 'Polygon', coordinates: [west] },
            },
          ],
        }),
      );
      await importDistricts(pool, file);
      const { runId } = await computeCoverage(pool);
      const sums = await levelSums(pool, runId);
      for (const level of ['residential_area', 'community', 'district'])
        expect(sums[level], level).toBeCloseTo(sums.city, 6);
      const { rows: d } = await pool.query<{ area_key: string; population: number }>(
        `SELECT DISTINCT area_key, population FROM coverage_area_results WHERE run_id = $1 AND level = 'district' AND measure = 'population' AND population_group = 'all' ORDER BY area_key`,
        [runId],
      );
      // the western cluster (Casas A, 205) is in the district; the eastern buildings are counted outside it
      expect(d.map((x) => x.area_key)).toEqual([OUTSIDE_DISTRICTS, 'Distrito Oeste']);
      const westPop = (
        await pool.query<{ p: number }>(`SELECT population AS p FROM residential_areas WHERE name = 'Casas A'`)
      ).rows[0].p;
      expect(d[1].population).toBeCloseTo(westPop, 6);
    });
  });

  it('a named zone no resident lives in is listed in the audit with 0 and a caveat, never dropped', async () => {
    const places = [
      { place: 'suburb', name: 'Oeste', x: 50, y: 100 },
      { place: 'suburb', name: 'Este', x: 500, y: 100 },
      { place: 'suburb', name: 'Vacío', x: 300, y: -290 },
    ];
    await withTown(places, async (pool, url) => {
      await computeCoverage(pool);
      const app = await buildApp({ databaseUrl: url, logger: false, webDist: false });
      try {
        const res = await app.inject('/api/audit?level=community');
        expect(res.statusCode).toBe(200);
        const areas = res.json().areas as {
          area_name: string;
          population: number;
          caveats: string[];
          population_sources: string[];
        }[];
        const listed = new Map(areas.map((a) => [a.area_name, a]));
        // every zone either fails a rule (listed with its residents) or is listed empty; Vacío holds nobody
        expect(listed.get('Vacío')).toMatchObject({ population: 0, caveats: ['no_residents', 'approximate_zone'] });
        const coverage = (await app.inject('/api/coverage?level=community')).json().areas as {
          area_name: string;
          population: number;
          population_sources: string[];
        }[];
        expect(coverage.map((a) => a.area_name).sort()).toEqual(['Este', 'Oeste']);
        for (const a of coverage) expect(a.population_sources).toEqual(['estimate']);
        const csv = (await app.inject('/api/audit?level=community&format=csv')).body;
        expect(csv).toContain('Vacío');
      } finally {
        await app.close();
      }
    });
  });
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { ImportValidationError } from '../server/import/import-facilities.ts';
import { ensureGdal, importPopulationGrid, importPopulationTable } from '../server/import/import-population.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let db: TestDatabase;
let pool: pg.Pool;
let tmp: string;

beforeAll(async () => {
  db = await createTestDatabase('shuangqiaozi');
  pool = createPool(db.url, { max: 2 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-popimport-'));
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const snapshot = async () =>
  (
    await pool.query(`SELECT (SELECT sum(population) FROM buildings) AS b, (SELECT sum(population) FROM residential_areas) AS ra,
                            (SELECT count(*)::int FROM datasets) AS datasets`)
  ).rows[0];

/** Population placed by an import of source `src`: buildings, plus areas that carry it without buildings. */
const placed = async (src: string) =>
  (
    await pool.query<{ p: number; e: number | null; c: number | null }>(
      `SELECT sum(p) AS p, sum(e) AS e, sum(c) AS c FROM (
       SELECT population p, elderly e, children c FROM buildings WHERE population_source = $1
       UNION ALL
       SELECT population, elderly, children FROM residential_areas ra WHERE population_source = $1
         AND NOT EXISTS (SELECT 1 FROM buildings b WHERE b.residential_area_id = ra.id AND b.is_residential)) t`,
      [src],
    )
  ).rows[0];

describe('population import (Chenghua 双桥子, real PostGIS)', () => {
  it('a census table naming an unknown community imports nothing and names the row, field and value', async () => {
    const file = path.join(tmp, 'bad.csv');
    fs.writeFileSync(file, 'community,residents\n双林社区,1200\n不存在社区,300\n');
    const before = await snapshot();
    const err = await importPopulationTable(pool, file, {
      level: 'community',
      nameField: 'community',
      valueField: 'residents',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportValidationError);
    expect((err as ImportValidationError).problems).toEqual([
      expect.objectContaining({ line: 3, field: 'community', value: '不存在社区' }),
    ]);
    const negative = path.join(tmp, 'negative.csv');
    fs.writeFileSync(negative, 'community,residents\n双林社区,-5\n');
    const err2 = await importPopulationTable(pool, negative, {
      level: 'community',
      nameField: 'community',
      valueField: 'residents',
    }).catch((e: unknown) => e);
    expect((err2 as ImportValidationError).problems).toEqual([
      expect.objectContaining({ line: 2, field: 'residents', value: '-5' }),
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('a census table by community is distributed onto each zone by floor area, to the person, with elderly and children', async () => {
    const rows = [
      { name: '朝发苑', residents: 23456, elderly: 4100, children: 2900 },
      { name: '双林社区', residents: 8765, elderly: 1500, children: 900 },
      { name: '新鸿社区', residents: 15001, elderly: 2600, children: 2000 },
    ];
    const file = path.join(tmp, 'census.csv');
    fs.writeFileSync(
      file,
      `社区,常住人口,老年人口,儿童\n${rows.map((r) => `${r.name},${r.residents},${r.elderly},${r.children}`).join('\n')}\n`,
    );
    const r = await importPopulationTable(pool, file, {
      level: 'community',
      nameField: '社区',
      valueField: '常住人口',
      elderlyField: '老年人口',
      childrenField: '儿童',
    });
    const total = rows.reduce((s, x) => s + x.residents, 0);
    expect(r.counts.population).toBe(total);
    const p = await placed('census');
    expect(Math.round(p.p)).toBe(total);
    expect(Math.round(p.e!)).toBe(rows.reduce((s, x) => s + x.elderly, 0));
    expect(Math.round(p.c!)).toBe(rows.reduce((s, x) => s + x.children, 0));
    // oracle per row: the zone's residential buildings (point on surface inside), shares by floor area
    for (const row of rows) {
      const { rows: bs } = await pool.query<{ floor: number; population: number; source: string }>(
        `SELECT b.floor_area_m2 AS floor, b.population, b.population_source AS source FROM buildings b, communities c
         WHERE c.name = $1 AND b.is_residential AND ST_Intersects(c.geom, ST_PointOnSurface(b.geom))`,
        [row.name],
      );
      if (bs.length === 0) {
        // no residential building: its building-less residential areas by land area, else its point
        const { rows: areas } = await pool.query<{ area: number; population: number; kind: string }>(
          `SELECT ra.area_m2 AS area, ra.population, ra.kind FROM residential_areas ra, communities c
           WHERE c.name = $1 AND ra.population_source = 'census' AND (ra.name = $1 AND ra.kind = 'grid_cell' OR ra.kind <> 'grid_cell' AND ST_Intersects(c.geom, ST_PointOnSurface(ra.geom)))`,
          [row.name],
        );
        expect(areas.length, row.name).toBeGreaterThan(0);
        const land = areas.reduce((s, a) => s + a.area, 0);
        for (const a of areas)
          expect(a.population, row.name).toBeCloseTo(
            a.kind === 'grid_cell' ? row.residents : (row.residents * a.area) / land,
            6,
          );
        continue;
      }
      const floor = bs.reduce((s, b) => s + b.floor, 0);
      for (const b of bs) {
        expect(b.source).toBe('census');
        expect(b.population).toBeCloseTo((row.residents * b.floor) / floor, 6);
      }
    }
    // after a compute the origins carry the figures and their source, groups included
    const { runId } = await computeCoverage(pool);
    const { rows: o } = await pool.query<{ e: number; c: number; sources: string[] }>(
      `SELECT sum(elderly) e, sum(children) c, array_agg(DISTINCT population_source ORDER BY population_source) sources FROM origins`,
    );
    expect(Math.round(o[0].e)).toBe(rows.reduce((s, x) => s + x.elderly, 0));
    expect(Math.round(o[0].c)).toBe(rows.reduce((s, x) => s + x.children, 0));
    expect(o[0].sources).toEqual(['census', 'estimate']);
    const { rows: lv } = await pool.query<{ level: string; p: number }>(
      `SELECT level, sum(population) p FROM coverage_area_results WHERE run_id = $1
         AND (rule_set_id, rule_id) = (SELECT rule_set_id, rule_id FROM coverage_area_results WHERE run_id = $1 ORDER BY 1, 2 LIMIT 1) GROUP BY level`,
      [runId],
    );
    const city = lv.find((x) => x.level === 'city')!.p;
    expect(city).toBeCloseTo(
      (await pool.query<{ p: number }>(`SELECT sum(population) p FROM residential_areas`)).rows[0].p,
      6,
    );
    for (const x of lv)
      if (x.level === 'residential_area' || x.level === 'community') expect(x.p, x.level).toBeCloseTo(city, 6);
  });

  it('a GeoTIFF in UTM (made here with GDAL) is distributed onto buildings within each cell, else at the cell centre', async () => {
    // 500 m cells in EPSG:32648 over the residential buildings' extent, seeded values
    const { rows: ext } = await pool.query<{ xmin: number; ymin: number; xmax: number; ymax: number }>(
      `SELECT ST_XMin(g) xmin, ST_YMin(g) ymin, ST_XMax(g) xmax, ST_YMax(g) ymax
       FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, 4326), 32648) g FROM buildings WHERE is_residential) t`,
    );
    const cell = 500;
    const x0 = Math.floor(ext[0].xmin / cell) * cell;
    const y1 = Math.ceil(ext[0].ymax / cell) * cell;
    const ncols = Math.ceil((ext[0].xmax - x0) / cell);
    const nrows = Math.ceil((y1 - ext[0].ymin) / cell);
    const rng = xoroshiro128plus(13);
    rng.jump();
    const values: number[][] = [];
    for (let r = 0; r < nrows; r++) {
      values.push([]);
      for (let c = 0; c < ncols; c++) {
        const v = uniformInt(rng, 0, 5000);
        values[r].push(r === 0 && c === 0 ? -9999 : v);
      }
    }
    const asc = path.join(tmp, 'pop.asc');
    fs.writeFileSync(
      asc,
      `ncols ${ncols}\nnrows ${nrows}\nxllcorner ${x0}\nyllcorner ${y1 - nrows * cell}\ncellsize ${cell}\nNODATA_value -9999\n${values.map((r) => r.join(' ')).join('\n')}\n`,
    );
    const tif = path.join(tmp, 'pop.tif');
    ensureGdal(); // gdal_translate (Debian gdal-bin): installed here when missing, as the importer does
    execFileSync('gdal_translate', ['-q', '-a_srs', 'EPSG:32648', '-of', 'GTiff', asc, tif]);
    const total = values
      .flat()
      .filter((v) => v > 0)
      .reduce((s, v) => s + v, 0);

    const r = await importPopulationGrid(pool, tif);
    expect(r.counts.population).toBe(total);
    expect(Math.round((await placed('grid')).p)).toBe(total);
    // oracle per cell: bin the residential buildings by their point in UTM (computed apart from the import's cell polygons)
    const { rows: bs } = await pool.query<{ x: number; y: number; floor: number; population: number; source: string }>(
      `SELECT ST_X(p) x, ST_Y(p) y, floor_area_m2 floor, population, population_source source
       FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 32648) p, floor_area_m2, population, population_source FROM buildings WHERE is_residential) t`,
    );
    const byCell = new Map<string, typeof bs>();
    for (const b of bs) {
      const key = `${Math.floor((y1 - b.y) / cell)},${Math.floor((b.x - x0) / cell)}`;
      byCell.set(key, [...(byCell.get(key) ?? []), b]);
    }
    let checkedCells = 0;
    for (const [key, cellBuildings] of byCell) {
      const [row, col] = key.split(',').map(Number);
      const v = values[row][col];
      if (!(v > 0)) continue;
      const floor = cellBuildings.reduce((s, b) => s + b.floor, 0);
      for (const b of cellBuildings) {
        expect(b.source).toBe('grid');
        expect(b.population).toBeCloseTo((v * b.floor) / floor, 6);
      }
      checkedCells++;
    }
    expect(checkedCells).toBeGreaterThan(3);
    // a populated cell with no residential building or area stands at its centre
    const { rows: points } = await pool.query<{ population: number; x: number; y: number }>(
      `SELECT population, ST_X(p) x, ST_Y(p) y FROM (SELECT population, ST_Transform(ST_PointOnSurface(geom), 32648) p FROM residential_areas WHERE kind = 'grid_cell' AND osm_ref LIKE 'grid:%') t`,
    );
    expect(points.length).toBeGreaterThan(0);
    for (const p of points) {
      const row = Math.floor((y1 - p.y) / cell);
      const col = Math.floor((p.x - x0) / cell);
      expect(p.population).toBe(values[row][col]);
      expect(Math.abs(p.x - (x0 + (col + 0.5) * cell))).toBeLessThan(5);
    }
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Feature, FeatureCollection, Point } from 'geojson';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGolden, GOLDEN_DIR } from '../geo/fixtures/golden.ts';
import { geodesicM } from '../geo/geodesy.ts';
import type { OsmModel, OsmWay } from '../geo/osm-model.ts';
import { osmXmlChunks } from '../geo/osm-xml.ts';
import { buildApp } from '../server/app.ts';
import { createPool } from '../server/db/pool.ts';
import { computeCoverage } from '../server/coverage-run/compute-coverage.ts';
import { importOsm } from '../server/import/import-osm.ts';
import { activeDataset } from '../server/queries/datasets.ts';
import { productParkDistances } from './helpers/park-distance.ts';
import { differenceStats, oracleParkDistances, pointsNearParks } from './helpers/park-entry-oracle.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const CASE = 'park-entry-gate-and-open-edge';

/**
 * The fixture town of this test as an OSM model: four residential streets round a block, a park
 * in it whose north side is fenced (way 6) with a gate (node 28) that a footway (way 7) from
 * North Street passes, and whose south side is open. Written to OSM XML by geo/osm-xml.ts.
 */
function gateAndOpenEdgeTown(): OsmModel {
  // [id, lng, lat], ids ascending
  const nodes: [number, number, number][] = [
    [1, 104.0484351, 30.6499098],
    [2, 104.0526082, 30.6499098],
    [3, 104.0484351, 30.6510373],
    [4, 104.0526082, 30.6510373],
    [5, 104.0489567, 30.6499098],
    [6, 104.0494784, 30.6499098],
    [7, 104.05, 30.6499098],
    [8, 104.0505216, 30.6499098],
    [9, 104.0510433, 30.6499098],
    [10, 104.0515649, 30.6499098],
    [11, 104.0520866, 30.6499098],
    [12, 104.0505216, 30.6510373],
    [13, 104.0489567, 30.6510373],
    [14, 104.0494784, 30.6510373],
    [15, 104.05, 30.6510373],
    [16, 104.0510433, 30.6510373],
    [17, 104.0515649, 30.6510373],
    [18, 104.0520866, 30.6510373],
    [19, 104.0484351, 30.6503608],
    [20, 104.0484351, 30.6508118],
    [21, 104.0526082, 30.6503608],
    [22, 104.0526082, 30.6508118],
    [23, 104.05, 30.65],
    [24, 104.0510433, 30.65],
    [25, 104.0510433, 30.650902],
    [26, 104.0505216, 30.650902],
    [27, 104.05, 30.650902],
    [28, 104.0505216, 30.650911],
    [29, 104.0499478, 30.650911],
    [30, 104.0510954, 30.650911],
  ];
  const ways: OsmWay[] = [
    { id: 1, refs: [1, 5, 6, 7, 8, 9, 10, 11, 2], tags: { highway: 'residential', name: 'South Street' } },
    { id: 2, refs: [3, 13, 14, 15, 12, 16, 17, 18, 4], tags: { highway: 'residential', name: 'North Street' } },
    { id: 3, refs: [1, 19, 20, 3], tags: { highway: 'residential', name: 'West Street' } },
    { id: 4, refs: [2, 21, 22, 4], tags: { highway: 'residential', name: 'East Street' } },
    { id: 5, refs: [23, 24, 25, 26, 27, 23], tags: { leisure: 'park', name: 'Gate and Open Edge Park' } },
    { id: 6, refs: [29, 28, 30], tags: { barrier: 'fence' } },
    { id: 7, refs: [12, 28, 26], tags: { highway: 'footway' } },
  ];
  const lng = Float64Array.from(nodes, (n) => n[1]);
  const lat = Float64Array.from(nodes, (n) => n[2]);
  return {
    nodes: { id: Float64Array.from(nodes, (n) => n[0]), lng, lat, tags: new Map([[28, { barrier: 'gate' }]]) },
    ways,
    bbox: [Math.min(...lng), Math.min(...lat), Math.max(...lng), Math.max(...lat)],
  };
}

describe('a fixture park with a fenced side entered by its gate and an open side (real PostGIS, API)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let app: FastifyInstance;
  let origins: Feature<Point, { role: string; name: string }>[];
  const answers: {
    name: string;
    lngLat: [number, number];
    distanceM: number | null;
    inside: boolean;
    straightM: number | null;
    path: [number, number][] | null;
  }[] = [];
  let access: { kind: string; lng: number; lat: number }[];
  let gate: [number, number];

  let tmp: string;
  let osmFile: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-park-entry-'));
    osmFile = path.join(tmp, `${CASE}.osm`);
    fs.writeFileSync(
      osmFile,
      [...osmXmlChunks(gateAndOpenEdgeTown(), { generator: 'life-circle test fixture' })].join(''),
    );
    db = await createTestDatabase('empty');
    pool = createPool(db.url, { max: 2 });
    await importOsm(pool, osmFile);
    await computeCoverage(pool);
    app = await buildApp({ databaseUrl: db.url, webDist: false });
    await app.ready();
    origins = (
      JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, 'in', `${CASE}.geojson`), 'utf8')) as FeatureCollection<
        Point,
        { role: string; name: string }
      >
    ).features;
    for (const o of origins) {
      const [lng, lat] = o.geometry.coordinates;
      const r = await app.inject(`/api/proximity?lng=${lng}&lat=${lat}&categories=park`);
      expect(r.statusCode).toBe(200);
      const park = r.json().results[0];
      answers.push({
        name: o.properties.name,
        lngLat: [lng, lat],
        distanceM: park.network_distance_m,
        inside: park.inside,
        straightM: park.straight_distance_m,
        path: park.path?.coordinates ?? null,
      });
    }
    access = (
      await pool.query<{ kind: string; lng: number; lat: number }>(
        `SELECT a.kind, ST_X(a.geom) AS lng, ST_Y(a.geom) AS lat FROM facility_access_points a JOIN facilities f ON f.id = a.facility_id
       WHERE f.category = 'park' ORDER BY a.kind, ST_X(a.geom), ST_Y(a.geom)`,
      )
    ).rows;
    const g = (
      await pool.query<{ lng: number; lat: number }>(`SELECT ST_X(geom) AS lng, ST_Y(geom) AS lat FROM entrances`)
    ).rows;
    expect(g).toHaveLength(1);
    gate = [g[0].lng, g[0].lat];
  });
  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await db?.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const answer = (prefix: string) => answers.filter((a) => a.name.startsWith(prefix));

  it('points outside the open side walk straight in: 40 m from the edge, within half a sample spacing', () => {
    const open = answer('outside the open south side');
    expect(open).toHaveLength(2);
    for (const a of open) {
      expect(a.inside).toBe(false);
      expect(a.distanceM).not.toBeNull();
      expect(a.distanceM!).toBeGreaterThanOrEqual(a.straightM! - 0.01);
      // 40 m from the edge, plus at most half the ≤ 10 m sample spacing along the street
      expect(a.distanceM!).toBeLessThanOrEqual(45);
    }
  });

  it('points outside the fenced side walk round to the gate', () => {
    const fenced = answer('outside the fenced north side');
    expect(fenced).toHaveLength(2);
    for (const a of fenced) {
      expect(a.inside).toBe(false);
      // 25 m to North Street, 30 m along it, 14 m down the footway to the gate
      expect(a.distanceM!).toBeGreaterThan(68);
      expect(a.distanceM!).toBeLessThan(71);
      expect(a.path).not.toBeNull();
      expect(Math.min(...a.path!.map(([lng, lat]) => geodesicM(lng, lat, gate[0], gate[1])))).toBeLessThan(2);
    }
  });

  it('no sampled entry lies on the fenced side, and the open side is sampled every 10 m', () => {
    const northLat = Math.max(...access.map((a) => a.lat));
    const sampled = access.filter((a) => a.kind === 'sampled');
    expect(sampled.length).toBeGreaterThanOrEqual(10);
    for (const s of sampled) expect(geodesicM(s.lng, s.lat, s.lng, northLat)).toBeGreaterThan(50);
    expect(access.filter((a) => a.kind === 'entrance')).toHaveLength(1);
  });

  it('a point inside the park is 0 m from it, and the API says inside', () => {
    const inside = answer('inside the park');
    expect(inside).toHaveLength(2);
    for (const a of inside) {
      expect(a.inside).toBe(true);
      expect(a.distanceM).toBe(0);
      expect(a.straightM).toBe(0);
      expect(a.path).toBeNull();
    }
  });

  it('matches the golden file', () => {
    const features: Feature[] = [
      ...answers.map((a): Feature => ({
        type: 'Feature',
        properties: {
          role: 'origin',
          name: a.name,
          park_m: a.distanceM === null ? null : Math.round(a.distanceM * 10) / 10,
          inside: a.inside,
        },
        geometry: { type: 'Point', coordinates: a.lngLat },
      })),
      ...access.map((a): Feature => ({
        type: 'Feature',
        properties: { role: 'access_point', kind: a.kind },
        geometry: { type: 'Point', coordinates: [a.lng, a.lat] },
      })),
    ];
    expectGolden(CASE, { type: 'FeatureCollection', features });
  });
});

describe('park distances on central Chengdu against a boundary-sampled oracle (real PostGIS)', () => {
  // Seeded random points within 300 m of a park; no park in central Chengdu has a mapped barrier
  // within 15 m of its edge, so every park is open and boundary entry is the right answer.
  const POINTS = 500;
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase('central');
    pool = createPool(db.url, { max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('agrees within the sampling tolerance: median ≤ 3 m, p95 ≤ 20 m, under 3 % more than 50 m apart', async () => {
    const ds = await activeDataset(pool);
    expect(ds).not.toBeNull();
    const closedParks = await pool.query(
      `SELECT f.id FROM facilities f JOIN barriers b ON b.dataset_id = f.dataset_id AND ST_DWithin(b.geom::geography, ST_Boundary(f.geom)::geography, 15)
       WHERE f.dataset_id = $1 AND f.category = 'park' AND ST_Dimension(f.geom) = 2`,
      [ds!.id],
    );
    expect(closedParks.rowCount).toBe(0);
    const client = await pool.connect();
    try {
      const points = await pointsNearParks(client, ds!.id, POINTS, 300, 13);
      expect(points).toHaveLength(POINTS);
      const ours = await productParkDistances(client, ds!.id, points);
      const oracle = await oracleParkDistances(client, ds!.id, points);
      // Reachability agrees: a point is unreachable for both (more than 200 m from any way) or for neither.
      const disagree = points.filter((_, i) => Number.isFinite(ours[i]) !== Number.isFinite(oracle[i])).length;
      expect(disagree).toBe(0);
      const both = points.map((_, i) => i).filter((i) => Number.isFinite(ours[i]));
      expect(both.length).toBeGreaterThan(0.9 * POINTS);
      // Inside a park both say 0 m.
      const inside = both.filter((i) => oracle[i] === 0);
      expect(inside.length).toBeGreaterThan(0);
      for (const i of inside) expect(ours[i]).toBe(0);
      const stats = differenceStats(both.map((i) => Math.abs(ours[i] - oracle[i])));
      console.log(
        `park entry vs oracle on ${stats.n} points: median ${stats.medianM.toFixed(1)} m, p95 ${stats.p95M.toFixed(1)} m, ` +
          `${(stats.over50Share * 100).toFixed(1)} % over 50 m, max ${stats.maxM.toFixed(1)} m`,
      );
      expect(stats.medianM).toBeLessThanOrEqual(3);
      expect(stats.p95M).toBeLessThanOrEqual(20);
      expect(stats.over50Share).toBeLessThan(0.03);
    } finally {
      client.release();
    }
  });

  it('a point inside 活水公园 is 0 m from a park (it was 723 m)', async () => {
    const ds = await activeDataset(pool);
    const [d] = await productParkDistances(pool, ds!.id, [[104.084843, 30.673476]]);
    expect(d).toBe(0);
  });
});

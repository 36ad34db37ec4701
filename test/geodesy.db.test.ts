import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRandom } from '../geo/fixtures/random-walk-graph.ts';
import { geodesicM, lineLengthM } from '../geo/geodesy.ts';
import { createPool } from '../server/db/pool.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// geo/geodesy.ts claims its distances agree with PostGIS's geography (Karney's geodesic on the WGS 84
// ellipsoid), which measures walk_edges.length_m. PostGIS is the oracle here.

let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase('empty');
  pool = createPool(db.url, { max: 1 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Seeded point pairs around Chengdu's centre, each pair `lengthM` apart in a random direction (roughly). */
function pairs(seed: number, n: number, lengthM: number): number[][] {
  const random = testRandom(seed);
  return Array.from({ length: n }, () => {
    const lng = 104.0 + 0.15 * random.float(),
      lat = 30.6 + 0.15 * random.float();
    const a = 2 * Math.PI * random.float();
    return [lng, lat, lng + (lengthM * Math.cos(a)) / 96_000, lat + (lengthM * Math.sin(a)) / 110_900];
  });
}

async function postgis(ps: number[][]): Promise<number[]> {
  const { rows } = await pool.query<{ d: number }>(
    `SELECT ST_Distance(ST_SetSRID(ST_MakePoint(a, b), 4326)::geography, ST_SetSRID(ST_MakePoint(c, d), 4326)::geography) AS d
     FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[]) WITH ORDINALITY AS t(a, b, c, d, k) ORDER BY k`,
    [0, 1, 2, 3].map((j) => ps.map((p) => p[j])),
  );
  return rows.map((r) => r.d);
}

describe('geodesicM against PostGIS geography', () => {
  for (const [lengthM, toleranceM] of [
    [100, 1e-4],
    [1000, 1e-3],
    [5000, 1e-3],
    [20_000, 1e-2],
  ] as const) {
    it(`agrees within ${toleranceM * 1000} mm for ${lengthM} m lines`, async () => {
      const ps = pairs(lengthM, 200, lengthM);
      const want = await postgis(ps);
      let worst = 0;
      ps.forEach((p, k) => (worst = Math.max(worst, Math.abs(geodesicM(p[0], p[1], p[2], p[3]) - want[k]))));
      console.log(`${lengthM} m: worst |geodesicM − ST_Distance(geography)| ${(worst * 1000).toFixed(3)} mm`);
      expect(worst).toBeLessThanOrEqual(toleranceM);
    });
  }

  it('sums polylines to ST_Length(geography), as walk_edges.length_m is measured', async () => {
    const random = testRandom(7);
    const lines = Array.from({ length: 50 }, () => {
      const c: number[] = [104.0 + 0.1 * random.float(), 30.6 + 0.1 * random.float()];
      for (let i = 0; i < 8; i++)
        c.push(c[c.length - 2] + (random.float() - 0.5) * 0.004, c[c.length - 1] + (random.float() - 0.5) * 0.004);
      return c;
    });
    const { rows } = await pool.query<{ len: number }>(
      `SELECT ST_Length(ST_GeomFromText(w, 4326)::geography) AS len FROM unnest($1::text[]) WITH ORDINALITY AS t(w, k) ORDER BY k`,
      [
        lines.map(
          (c) =>
            `LINESTRING(${Array.from({ length: c.length / 2 }, (_, i) => `${c[2 * i]} ${c[2 * i + 1]}`).join(',')})`,
        ),
      ],
    );
    lines.forEach((c, k) => expect(Math.abs(lineLengthM(c, 0, c.length / 2) - rows[k].len)).toBeLessThan(1e-3));
  });
});

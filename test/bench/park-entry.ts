import pg from 'pg';
import { differenceStats, oracleParkDistances, pointsNearParks } from '../helpers/park-entry-oracle.ts';
import { productParkDistances } from '../helpers/park-distance.ts';

// Park distances of the product against the boundary-based oracle (test/helpers/park-entry-oracle.ts)
// on the active dataset of DATABASE_URL: `DATABASE_URL=… npx tsx test/bench/park-entry.ts`.
// Prints the distribution of differences for the README, and the point inside 活水公园.

const POINTS = 500;
const RADIUS_M = 300;
const SEED = 13;
const HUOSHUI: [number, number] = [104.084843, 30.673476];

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
try {
  const datasetId = Number(
    (
      await client.query<{ id: number }>(
        `SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id DESC LIMIT 1`,
      )
    ).rows[0].id,
  );
  const points = [...(await pointsNearParks(client, datasetId, POINTS, RADIUS_M, SEED)), HUOSHUI];
  const ours = await productParkDistances(client, datasetId, points);
  const oracle = await oracleParkDistances(client, datasetId, points);
  const both = points
    .map((_, i) => i)
    .slice(0, POINTS)
    .filter((i) => Number.isFinite(ours[i]) && Number.isFinite(oracle[i]));
  const stats = differenceStats(both.map((i) => Math.abs(ours[i] - oracle[i])));
  const round = (x: number) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      points: POINTS,
      compared: both.length,
      radius_m: RADIUS_M,
      seed: SEED,
      median_m: round(stats.medianM),
      p95_m: round(stats.p95M),
      over_50m_pct: round(stats.over50Share * 100),
      max_m: round(stats.maxM),
      inside_parks: points.slice(0, POINTS).filter((_, i) => oracle[i] === 0).length,
      huoshui: { ours_m: round(ours[POINTS]), oracle_m: round(oracle[POINTS]) },
    }),
  );
} finally {
  await client.end();
}

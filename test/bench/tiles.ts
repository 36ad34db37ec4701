import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildApp } from '../../server/app.ts';
import { activeDataset } from '../../server/queries/datasets.ts';
import { spawnListening } from '../helpers/spawn-listening.ts';
import { cycling, runAutocannon, tileOf } from './autocannon.ts';

// npm run bench:tiles -- --database-url <url> [--seconds 10] [--connections 10]
//
// Tile latency per zoom on a whole city (issue 15, "Whole-city views"): the network and areas
// tiles at z9, z10, z12 (served from the generalised tables, migrations/0250, 0251) and z15 (full
// detail), driven with autocannon on loopback after a warm-up, every tile over the dataset at
// z9–12 and the 12 busiest at z15. The peer in the same run: the full-detail tile_network at z12
// (what z12 cost before), called sequentially on the same tiles; and the machine's floor, a small
// static answer (/api/categories) under the same connections. Also each zoom one request at a
// time (p99 without queueing behind our own connections) and the largest tile in bytes. Use the database `npm run bench:city -- --osm-nodes N` leaves (lc_bench_city_<N>_<seed>).

const SELF = fileURLToPath(import.meta.url);
const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    serve: { type: 'string' },
  },
});

async function serve(url: string): Promise<void> {
  const app = await buildApp({ databaseUrl: url, logger: false, webDist: false, rateLimit: { max: 1e9 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${(app.server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

const p99 = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))];

async function main(url: string): Promise<void> {
  const seconds = Number(args.seconds);
  const connections = Number(args.connections);
  const db = new pg.Pool({ connectionString: url, max: 2 });
  const ds = await activeDataset(db);
  if (!ds) throw new Error(`no dataset in ${url}`);
  const b = (
    await db.query<{ b: number[] }>(
      `SELECT ARRAY[ST_XMin(bbox), ST_YMin(bbox), ST_XMax(bbox), ST_YMax(bbox)] AS b FROM datasets WHERE id = $1`,
      [ds.id],
    )
  ).rows[0].b;
  const over = (z: number) => {
    const [, x0, y1] = tileOf(b[0], b[1], z);
    const [, x1, y0] = tileOf(b[2], b[3], z);
    const out: string[] = [];
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) out.push(`${z}/${x}/${y}`);
    return out;
  };
  // z15: the tiles with the most edge midpoints
  const mids = (
    await db.query<{ lng: number; lat: number }>(
      `SELECT ST_X(ST_LineInterpolatePoint(geom, 0.5)) AS lng, ST_Y(ST_LineInterpolatePoint(geom, 0.5)) AS lat FROM walk_edges WHERE dataset_id = $1`,
      [ds.id],
    )
  ).rows;
  const counts = new Map<string, number>();
  for (const m of mids) {
    const k = tileOf(m.lng, m.lat, 15).join('/');
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const tiles: Record<number, string[]> = {
    9: over(9),
    10: over(10),
    12: over(12),
    15: [...counts.entries()]
      .sort((a, c) => c[1] - a[1])
      .slice(0, 12)
      .map(([t]) => t),
  };

  // the peer: z12 at full detail (tile_network), sequentially, twice over the tiles (the first pass warms)
  const fullMs: number[] = [];
  let fullMax = 0;
  for (let pass = 0; pass < 2; pass++) {
    for (const t of tiles[12]) {
      const [z, x, y] = t.split('/').map(Number);
      const t0 = performance.now();
      const r = await db.query<{ mvt: Buffer | null }>('SELECT tile_network($1, $2, $3) AS mvt', [z, x, y]);
      if (pass) fullMs.push(performance.now() - t0);
      fullMax = Math.max(fullMax, r.rows[0].mvt?.length ?? 0);
    }
  }
  await db.end();

  const { child, port } = await spawnListening([SELF, '--serve', url], { forwardStderr: true });
  const base = `http://127.0.0.1:${port}`;
  const load = os.loadavg()[0];
  let floorRow = { rps: 0, p50: 0, p99: 0 };
  const rows: {
    layer: string;
    z: number;
    tiles: number;
    rps: number;
    p50: number;
    p99: number;
    p99One: number;
    non2xx: number;
    maxBytes: number;
    status204: number;
  }[] = [];
  try {
    // the machine's floor in this run: a small static answer under the same load
    const floorPaths = ['/api/categories'];
    await runAutocannon({ url: base, connections, duration: 2, requests: [{ setupRequest: cycling(floorPaths) }] });
    const floor = await runAutocannon({
      url: base,
      connections,
      duration: seconds,
      timeout: 10,
      requests: [{ setupRequest: cycling(floorPaths) }],
    });
    floorRow = { rps: Math.round(floor.requests.average), p50: floor.latency.p50, p99: floor.latency.p99 };
    for (const layer of ['network', 'areas']) {
      for (const z of [9, 10, 12, 15]) {
        const paths = tiles[z].map(
          (t) => `/tiles/${layer}/${t}.pbf${layer === 'areas' ? '?rule_set=chengdu-park-city' : ''}`,
        );
        // sizes, and every tile once (warm-up of the database's cache)
        let maxBytes = 0;
        let status204 = 0;
        for (const p of paths) {
          const r = await fetch(`${base}${p}`);
          maxBytes = Math.max(maxBytes, (await r.arrayBuffer()).byteLength);
          if (r.status === 204) status204++;
        }
        await runAutocannon({ url: base, connections, duration: 2, requests: [{ setupRequest: cycling(paths) }] });
        const r = await runAutocannon({
          url: base,
          connections,
          duration: seconds,
          timeout: 10,
          requests: [{ setupRequest: cycling(paths) }],
        });
        // one request at a time: the latency of a tile without queueing behind our own connections
        const one = await runAutocannon({
          url: base,
          connections: 1,
          duration: Math.max(2, seconds / 2),
          timeout: 10,
          requests: [{ setupRequest: cycling(paths) }],
        });
        rows.push({
          layer,
          z,
          tiles: paths.length,
          rps: Math.round(r.requests.average),
          p50: r.latency.p50,
          p99: r.latency.p99,
          p99One: one.latency.p99,
          non2xx: r.non2xx,
          maxBytes,
          status204,
        });
        process.stderr.write(`  ${layer} z${z}: ${rows.at(-1)!.rps} req/s, p99 ${r.latency.p99} ms\n`);
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(
    `\ntile benchmark: ${ds.source} (${ds.counts.walk_edges} edges), ${connections} connections, ${seconds} s per row, loopback; load average ${load.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`,
  );
  console.log(
    `${'layer'.padEnd(10)}${pad('zoom', 6)}${pad('tiles', 7)}${pad('req/s', 8)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('p99 1 conn', 12)}${pad('non-2xx', 9)}${pad('empty', 7)}${pad('max kB', 9)}`,
  );
  for (const r of rows)
    console.log(
      `${r.layer.padEnd(10)}${pad(r.z, 6)}${pad(r.tiles, 7)}${pad(r.rps, 8)}${pad(r.p50, 8)}${pad(r.p99, 8)}${pad(r.p99One, 12)}${pad(r.non2xx, 9)}${pad(r.status204, 7)}${pad((r.maxBytes / 1000).toFixed(1), 9)}`,
    );
  console.log(
    `floor: /api/categories (a small static answer) under the same ${connections} connections: ${floorRow.rps} req/s, p50 ${floorRow.p50} ms, p99 ${floorRow.p99} ms`,
  );
  const gen12 = rows.find((r) => r.layer === 'network' && r.z === 12)!;
  console.log(
    `peer: z12 network at full detail (tile_network, one at a time, ${tiles[12].length} tiles): p99 ${p99(fullMs).toFixed(0)} ms, largest ${(fullMax / 1000).toFixed(1)} kB; generalised largest ${(gen12.maxBytes / 1000).toFixed(1)} kB`,
  );
  const worstP99 = Math.max(...rows.filter((r) => r.z <= 12).map((r) => r.p99));
  const largest = Math.max(...rows.map((r) => r.maxBytes));
  console.log(
    `targets: z9–12 tile p99 < 100 ms ${worstP99 < 100 ? 'met' : 'NOT met'} (${worstP99} ms), every tile < 500 kB ${largest < 500_000 ? 'met' : 'NOT met'} (${(largest / 1000).toFixed(1)} kB)`,
  );
}

if (args.serve) await serve(args.serve);
else if (!args['database-url'])
  throw new Error('--database-url is required (e.g. the lc_bench_city_<N>_<seed> database bench:city leaves)');
else await main(args['database-url']);

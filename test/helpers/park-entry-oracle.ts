import type pg from 'pg';

// A plain, independent re-implementation of "walking metres to the nearest park" with
// boundary-based entry, for the park-entry oracle test and the before/after comparison
// (test/bench/park-entry.ts). It shares no code with geo/: sampling and snapping are done by
// PostGIS in the UTM zone's metres, the search is a textbook Dijkstra over an adjacency list.
//   - every park polygon is entered anywhere on its boundary: points every 10 m along each ring
//     (ST_LineInterpolatePoints in UTM metres), kept when the nearest walkable edge is within 30 m,
//     joined to it by the straight perpendicular; no entrances, no crossings, no barrier test;
//   - a park mapped as a point is entered at the point, joined to its nearest edge;
//   - a point inside a park is 0 m from it;
//   - a point outside walks from its own nearest edge, if within 200 m (the README's snap limit);
//     both legs count;
//   - pieces of the network with fewer than 50 nodes are not walked (the README's documented rule),
//     and an edge is walked only in the directions its cost / reverse_cost allow, outward from the park.

/** Sample spacing and longest leg of the oracle's boundary entry (the specification). */
export const ORACLE_SPACING_M = 10;
export const ORACLE_MAX_LEG_M = 30;
/** Points farther than this from every walkable edge are unreachable (README, "Snapping"). */
export const ORACLE_SNAP_LIMIT_M = 200;
/** Pieces of the network smaller than this are left out (README, "Fragments"). */
export const ORACLE_MIN_PIECE_NODES = 50;

interface Placed {
  edge: number;
  /** Fraction along the edge from its source, in the UTM line's metres. */
  fraction: number;
  legM: number;
}

const EDGES_SQL = `SELECT id, source, target, length_m, cost, reverse_cost FROM walk_edges WHERE dataset_id = $1 ORDER BY id`;

// Work tables in the session: the walked edges in UTM metres, with a spatial index.
const PREPARE_SQL = [
  `CREATE TEMP TABLE oracle_edges (id bigint PRIMARY KEY, line geometry(LineString))`,
  `CREATE INDEX ON oracle_edges USING gist (line)`,
];

const FILL_EDGES_SQL = `
  INSERT INTO oracle_edges SELECT id, ST_Transform(geom, $2::int) FROM walk_edges WHERE dataset_id = $1 AND id = ANY ($3::bigint[])`;

const SAMPLES_SQL = `
  WITH rings AS (
    SELECT f.id, (ST_Dump(ST_Boundary(ST_Transform(f.geom, $2::int)))).geom AS ring
    FROM facilities f WHERE f.dataset_id = $1 AND f.category = 'park' AND ST_Dimension(f.geom) = 2
  ), pts AS (
    SELECT r.id, (ST_Dump(ST_LineInterpolatePoints(r.ring, least(1, $3::float8 / ST_Length(r.ring))))).geom AS pt FROM rings r
    WHERE ST_Length(r.ring) > 0
  )
  SELECT p.id AS park_id, e.id AS edge, ST_LineLocatePoint(e.line, p.pt) AS fraction, ST_Distance(e.line, p.pt) AS leg_m
  FROM pts p CROSS JOIN LATERAL (SELECT id, line FROM oracle_edges ORDER BY line <-> p.pt, id LIMIT 1) e
  WHERE ST_Distance(e.line, p.pt) <= $4
  UNION ALL
  SELECT f.id, e.id, ST_LineLocatePoint(e.line, f.pt), ST_Distance(e.line, f.pt)
  FROM (SELECT id, ST_Transform(geom, $2::int) AS pt FROM facilities WHERE dataset_id = $1 AND category = 'park' AND ST_Dimension(geom) = 0) f
  CROSS JOIN LATERAL (SELECT id, line FROM oracle_edges ORDER BY line <-> f.pt, id LIMIT 1) e
  WHERE ST_Distance(e.line, f.pt) <= $5`;

const ORIGINS_SQL = `
  WITH o AS (SELECT k, ST_Transform(ST_SetSRID(ST_MakePoint(lng, lat), 4326), $1::int) AS pt
             FROM unnest($2::float8[], $3::float8[]) WITH ORDINALITY AS u(lng, lat, k))
  SELECT o.k, e.id AS edge, ST_LineLocatePoint(e.line, o.pt) AS fraction, ST_Distance(e.line, o.pt) AS leg_m,
         EXISTS (SELECT 1 FROM facilities f WHERE f.dataset_id = $4 AND f.category = 'park' AND ST_Dimension(f.geom) = 2
                   AND ST_Contains(f.geom, ST_Transform(o.pt, 4326))) AS inside
  FROM o CROSS JOIN LATERAL (SELECT id, line FROM oracle_edges ORDER BY line <-> o.pt, id LIMIT 1) e
  ORDER BY o.k`;

/** UTM zone (WGS 84, northern hemisphere) of a longitude: EPSG 326xx. */
export function utmEpsg(lng: number): number {
  return 32600 + Math.floor((lng + 180) / 6) + 1;
}

/**
 * Oracle distances (metres; Infinity when no park is reachable) from each `[lng, lat]` point to the
 * nearest park of dataset `datasetId`. Runs on one client (temp tables). O((V + E) log V + points).
 */
export async function oracleParkDistances(
  client: pg.ClientBase,
  datasetId: number,
  points: readonly [number, number][],
): Promise<number[]> {
  const edges = (
    await client.query<{
      id: string;
      source: string;
      target: string;
      length_m: number;
      cost: number;
      reverse_cost: number;
    }>(EDGES_SQL, [datasetId])
  ).rows;
  const nodeOf = new Map<string, number>();
  const node = (id: string) => {
    let i = nodeOf.get(id);
    if (i === undefined) nodeOf.set(id, (i = nodeOf.size));
    return i;
  };
  const from = edges.map((e) => node(e.source));
  const to = edges.map((e) => node(e.target));
  const n = nodeOf.size;
  // Pieces (undirected), by breadth-first search.
  const undirected: number[][] = Array.from({ length: n }, () => []);
  edges.forEach((_, k) => {
    undirected[from[k]].push(to[k]);
    undirected[to[k]].push(from[k]);
  });
  const piece = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  for (let s = 0; s < n; s++) {
    if (piece[s] >= 0) continue;
    const id = sizes.length;
    let size = 0;
    const queue = [s];
    piece[s] = id;
    while (queue.length) {
      const v = queue.pop()!;
      size++;
      for (const w of undirected[v])
        if (piece[w] < 0) {
          piece[w] = id;
          queue.push(w);
        }
    }
    sizes.push(size);
  }
  const largest = sizes.indexOf(Math.max(...sizes));
  const kept = edges.map((_, k) => sizes[piece[from[k]]] >= ORACLE_MIN_PIECE_NODES || piece[from[k]] === largest);
  const edgeIndex = new Map(edges.map((e, k) => [e.id, k]));

  const epsg = utmEpsg(points[0]?.[0] ?? 104);
  for (const sql of PREPARE_SQL) await client.query(sql);
  await client.query(FILL_EDGES_SQL, [datasetId, epsg, edges.filter((_, k) => kept[k]).map((e) => e.id)]);
  await client.query('ANALYZE oracle_edges');
  const samples = (
    await client.query<{ edge: string; fraction: number; leg_m: number }>(SAMPLES_SQL, [
      datasetId,
      epsg,
      ORACLE_SPACING_M,
      ORACLE_MAX_LEG_M,
      ORACLE_SNAP_LIMIT_M,
    ])
  ).rows.map((r): Placed => ({ edge: edgeIndex.get(r.edge)!, fraction: r.fraction, legM: r.leg_m }));
  const origins = (
    await client.query<{ edge: string; fraction: number; leg_m: number; inside: boolean }>(ORIGINS_SQL, [
      epsg,
      points.map((p) => p[0]),
      points.map((p) => p[1]),
      datasetId,
    ])
  ).rows;
  await client.query('DROP TABLE oracle_edges');

  // Directed adjacency, outward from the parks: source → target where cost ≥ 0, back where reverse_cost ≥ 0.
  const adj: { to: number; w: number }[][] = Array.from({ length: n }, () => []);
  edges.forEach((e, k) => {
    if (!kept[k]) return;
    if (e.cost >= 0) adj[from[k]].push({ to: to[k], w: e.length_m });
    if (e.reverse_cost >= 0) adj[to[k]].push({ to: from[k], w: e.length_m });
  });
  const dist = new Float64Array(n).fill(Infinity);
  const heap: [number, number][] = [];
  const push = (d: number, v: number) => {
    if (d >= dist[v]) return;
    dist[v] = d;
    heap.push([d, v]);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (heap[p][0] <= heap[i][0]) break;
      [heap[p], heap[i]] = [heap[i], heap[p]];
      i = p;
    }
  };
  const pop = (): [number, number] => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < heap.length && heap[l][0] < heap[m][0]) m = l;
        if (r < heap.length && heap[r][0] < heap[m][0]) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };
  const samplesByEdge = new Map<number, Placed[]>();
  for (const s of samples) {
    const e = edges[s.edge];
    const along = s.fraction * e.length_m;
    // From a point on the edge to its source node is the target → source direction, and so on.
    if (e.reverse_cost >= 0) push(s.legM + along, from[s.edge]);
    if (e.cost >= 0) push(s.legM + e.length_m - along, to[s.edge]);
    const list = samplesByEdge.get(s.edge);
    if (list) list.push(s);
    else samplesByEdge.set(s.edge, [s]);
  }
  while (heap.length) {
    const [d, v] = pop();
    if (d > dist[v]) continue;
    for (const a of adj[v]) push(d + a.w, a.to);
  }

  return origins.map((o) => {
    if (o.inside) return 0;
    if (o.leg_m > ORACLE_SNAP_LIMIT_M) return Infinity;
    const k = edgeIndex.get(o.edge)!;
    const e = edges[k];
    const along = o.fraction * e.length_m;
    let best = Infinity;
    if (e.cost >= 0) best = Math.min(best, dist[from[k]] + along);
    if (e.reverse_cost >= 0) best = Math.min(best, dist[to[k]] + e.length_m - along);
    for (const s of samplesByEdge.get(k) ?? []) {
      const sAlong = s.fraction * e.length_m;
      if ((sAlong <= along && e.cost >= 0) || (sAlong >= along && e.reverse_cost >= 0))
        best = Math.min(best, s.legM + Math.abs(along - sAlong));
    }
    return best + o.leg_m;
  });
}

/** Seeded random points within `radiusM` of a park of the dataset (PostGIS's seeded generator). */
export async function pointsNearParks(
  client: pg.ClientBase,
  datasetId: number,
  count: number,
  radiusM: number,
  seed: number,
): Promise<[number, number][]> {
  const { rows } = await client.query<{ lng: number; lat: number }>(
    `WITH zone AS (
       SELECT ST_Union(ST_Buffer(geom::geography, $2)::geometry) AS g FROM facilities WHERE dataset_id = $1 AND category = 'park'
     )
     SELECT ST_X(d.geom) AS lng, ST_Y(d.geom) AS lat FROM zone, ST_Dump(ST_GeneratePoints(zone.g, $3, $4)) d`,
    [datasetId, radiusM, count, seed],
  );
  return rows.map((r) => [r.lng, r.lat]);
}

/** Median, 95th percentile, share over 50 m and maximum of absolute differences. */
export function differenceStats(diffs: readonly number[]): {
  n: number;
  medianM: number;
  p95M: number;
  over50Share: number;
  maxM: number;
} {
  const s = [...diffs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return {
    n: s.length,
    medianM: q(0.5),
    p95M: q(0.95),
    over50Share: s.filter((d) => d > 50).length / s.length,
    maxM: s[s.length - 1],
  };
}

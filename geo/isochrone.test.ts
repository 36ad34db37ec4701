import { booleanPointInPolygon, point } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import { createSearch, distanceToPoint, seedsFromSnaps, type SearchResult } from './dijkstra.ts';
import { randomEdgeSnap, randomWalkGraph, testRandom } from './fixtures/random-walk-graph.ts';
import { lineLengthM, linePointAtFraction, makeLocalProjection } from './geodesy.ts';
import { buildGraph, DIR_BACKWARD, DIR_BOTH, DIR_FORWARD, type WalkGraph, type WalkGraphInput } from './graph.ts';
import { ISOCHRONE_BUFFER_M, isochrone, isochronePolygon } from './isochrone.ts';
import type { EdgeSnap } from './snap.ts';

/**
 * Reached length of one edge, brute force: cut the edge at every place where some way in could
 * run out (maxDistM − d from either end, around each source on it) and test the middle of each
 * piece against the walking distance to that spot.
 */
function reachedOnEdgeNaive(g: WalkGraph, r: SearchResult, sources: EdgeSnap[], e: number, maxDistM: number): number {
  const L = g.edgeLengthM[e],
    dir = g.edgeDir[e];
  const dFrom = r.dist[g.edgeFrom[e]],
    dTo = r.dist[g.edgeTo[e]];
  const onEdge = sources.filter((s) => s.edge === e);
  const distAt = (x: number) => {
    let best = Infinity;
    if (dir !== DIR_BACKWARD || x === 0) best = Math.min(best, dFrom + x);
    if (dir !== DIR_FORWARD || x === L) best = Math.min(best, dTo + (L - x));
    for (const s of onEdge) {
      if ((x > s.alongM && dir === DIR_BACKWARD) || (x < s.alongM && dir === DIR_FORWARD)) continue;
      best = Math.min(best, s.accessM + Math.abs(x - s.alongM));
    }
    return best;
  };
  const cuts = [0, L, maxDistM - dFrom, L - (maxDistM - dTo)];
  for (const s of onEdge) cuts.push(s.alongM, s.alongM - (maxDistM - s.accessM), s.alongM + (maxDistM - s.accessM));
  const xs = cuts.filter((x) => x >= 0 && x <= L).sort((a, b) => a - b);
  let lengthM = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    if (xs[i + 1] > xs[i] && distAt((xs[i] + xs[i + 1]) / 2) <= maxDistM) lengthM += xs[i + 1] - xs[i];
  }
  return lengthM;
}

describe('isochrone', () => {
  it('reaches the same length per edge as brute force, with sources mid-edge, one-way and no-through edges', () => {
    let partialPieces = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const random = testRandom(seed);
      const g = buildGraph(
        randomWalkGraph(random, {
          nodeCount: random.int(2, 40),
          edgeCount: random.int(1, 80),
          components: random.int(1, 2),
          oneWayShare: 0.4,
          noThroughShare: 0.15,
        }),
      );
      const sources: EdgeSnap[] = [];
      for (let i = random.int(1, 4); i > 0; i--)
        sources.push(randomEdgeSnap(random, g, random.int(0, g.edgeCount - 1)));
      const searchBoundM = 3000 * random.float();
      const result = createSearch(g).run(
        seedsFromSnaps(
          g,
          sources,
          sources.map((_, i) => i),
        ),
        searchBoundM,
      );
      const maxDistM = random.float() < 0.3 ? searchBoundM : searchBoundM * random.float();
      const iso = isochrone(g, result, maxDistM);

      const perEdge = new Map<number, number>();
      iso.pieceEdge.forEach((e, i) => perEdge.set(e, (perEdge.get(e) ?? 0) + iso.pieceToM[i] - iso.pieceFromM[i]));
      let totalNaive = 0;
      for (let e = 0; e < g.edgeCount; e++) {
        const naive = reachedOnEdgeNaive(g, result, sources, e, maxDistM);
        totalNaive += naive;
        expect(Math.abs((perEdge.get(e) ?? 0) - naive), `seed ${seed} edge ${e}`).toBeLessThanOrEqual(
          1e-9 * Math.max(1, naive),
        );
      }
      expect(Math.abs(iso.reachedLengthM - totalNaive)).toBeLessThanOrEqual(1e-6 * Math.max(1, totalNaive));

      // each drawn piece covers the same share of the polyline as of the edge length
      iso.lines.geometry.coordinates.forEach((line, i) => {
        const e = iso.pieceEdge[i];
        const flat = line.flat();
        const edgeHavM = lineLengthM(g.edgeCoords, g.edgeCoordOffset[e], g.edgeCoordOffset[e + 1]);
        const share = (iso.pieceToM[i] - iso.pieceFromM[i]) / g.edgeLengthM[e];
        // cut points are interpolated linearly in lng/lat, which is not quite constant
        // speed along the great circle: a few ppm on these kilometre-long segments
        expect(Math.abs(lineLengthM(flat, 0, line.length) - share * edgeHavM)).toBeLessThan(1e-5 * edgeHavM + 1e-9);
        if (share < 1) partialPieces++;
      });

      // a point on the network is inside the lines exactly when it is within maxDistM
      for (let k = 0; k < 30; k++) {
        const e = random.int(0, g.edgeCount - 1);
        const target = { ...randomEdgeSnap(random, g, e), accessM: 0 };
        const d = distanceToPoint(g, result, target);
        // end nodes are drawn with the edges that leave them, not necessarily this one
        if (Math.abs(d - maxDistM) < 1e-6 || target.alongM === 0 || target.alongM === g.edgeLengthM[e]) continue;
        const inside = iso.pieceEdge.some(
          (pe, i) => pe === e && iso.pieceFromM[i] <= target.alongM && target.alongM <= iso.pieceToM[i],
        );
        expect(inside, `seed ${seed} edge ${e} at ${target.alongM}: d ${d}`).toBe(d <= maxDistM);
      }
    }
    expect(partialPieces).toBeGreaterThan(100);
  });

  it('refuses a distance beyond what the search labelled', () => {
    const g = buildGraph(randomWalkGraph(testRandom(9), { nodeCount: 5, edgeCount: 5 }));
    const result = createSearch(g).run([{ node: 0, initialDistM: 0, sourceId: 0 }], 500);
    expect(() => isochrone(g, result, 600)).toThrow(RangeError);
  });
});

/** A side × side street grid with `stepDeg` spacing; every edge has a kink in the middle. */
function bentGrid(side: number, stepDeg: number): WalkGraphInput {
  const n = side * side;
  const nodeLng = new Float64Array(n),
    nodeLat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    nodeLng[i] = 104 + (i % side) * stepDeg;
    nodeLat[i] = 30.6 + Math.floor(i / side) * stepDeg;
  }
  const from: number[] = [],
    to: number[] = [],
    coords: number[] = [],
    offsets = [0];
  for (let u = 0; u < n; u++) {
    for (const v of [u % side < side - 1 ? u + 1 : -1, u + side < n ? u + side : -1]) {
      if (v < 0) continue;
      from.push(u);
      to.push(v);
      const midLng = (nodeLng[u] + nodeLng[v]) / 2 + (v === u + side ? stepDeg / 10 : 0);
      const midLat = (nodeLat[u] + nodeLat[v]) / 2 + (v === u + 1 ? stepDeg / 10 : 0);
      coords.push(nodeLng[u], nodeLat[u], midLng, midLat, nodeLng[v], nodeLat[v]);
      offsets.push(coords.length / 2);
    }
  }
  const edgeCoords = Float64Array.from(coords),
    edgeCoordOffset = Uint32Array.from(offsets);
  return {
    nodeCount: n,
    nodeLng,
    nodeLat,
    edgeFrom: Int32Array.from(from),
    edgeTo: Int32Array.from(to),
    edgeLengthM: Float64Array.from(from, (_, e) => lineLengthM(edgeCoords, edgeCoordOffset[e], edgeCoordOffset[e + 1])),
    edgeDir: new Uint8Array(from.length).fill(DIR_BOTH),
    edgeCoords,
    edgeCoordOffset,
  };
}

const projection = makeLocalProjection(104.01, 30.61);
function planarDistanceM(lng: number, lat: number, [lng0, lat0]: number[], [lng1, lat1]: number[]): number {
  const { toX, toY } = projection;
  const x = toX(lng),
    y = toY(lat),
    x0 = toX(lng0),
    y0 = toY(lat0),
    dx = toX(lng1) - x0,
    dy = toY(lat1) - y0;
  const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(x0 + t * dx - x, y0 + t * dy - y);
}

describe('isochronePolygon', () => {
  it('covers the reached lines with the documented width and leaves distant points out', () => {
    const random = testRandom(77);
    const g = buildGraph(bentGrid(40, 0.0006));
    const sources = [0, 1, 2].map(() => randomEdgeSnap(random, g, random.int(0, g.edgeCount - 1)));
    const result = createSearch(g).run(seedsFromSnaps(g, sources, [0, 1, 2]), 900);
    const iso = isochrone(g, result, 900);
    const segments = iso.lines.geometry.coordinates.reduce((n, line) => n + line.length - 1, 0);
    expect(segments).toBeGreaterThan(1500);
    const polygon = isochronePolygon(iso)!;
    expect(polygon.properties).toMatchObject({ bufferM: ISOCHRONE_BUFFER_M });
    for (const line of iso.lines.geometry.coordinates) {
      const mid = linePointAtFraction(line.flat(), 0, line.length, 0.5);
      expect(booleanPointInPolygon(point(mid), polygon)).toBe(true);
    }
    // random points: inside when nearer than bufferM to a reached line, outside when farther,
    // up to the grid's resolution
    const cellM = polygon.properties!.cellM as number;
    const [minLng, minLat, maxLng, maxLat] = [103.999, 30.599, 104.025, 30.625];
    let inside = 0,
      outside = 0;
    for (let k = 0; k < 300; k++) {
      const lng = minLng + (maxLng - minLng) * random.float(),
        lat = minLat + (maxLat - minLat) * random.float();
      let d = Infinity;
      for (const line of iso.lines.geometry.coordinates) {
        for (let i = 1; i < line.length; i++) d = Math.min(d, planarDistanceM(lng, lat, line[i - 1], line[i]));
      }
      if (Math.abs(d - ISOCHRONE_BUFFER_M) < cellM) continue;
      const expected = d < ISOCHRONE_BUFFER_M;
      expect(booleanPointInPolygon(point([lng, lat]), polygon), `${lng},${lat} at ${d} m`).toBe(expected);
      if (expected) inside++;
      else outside++;
    }
    expect(inside).toBeGreaterThan(30);
    expect(outside).toBeGreaterThan(30);
    expect(isochronePolygon(isochrone(g, createSearch(g).run([], 10), 10))).toBeNull();
  });
});

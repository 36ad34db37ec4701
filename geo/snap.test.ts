import { describe, expect, it } from 'vitest';
import { randomWalkGraph, testRandom } from './fixtures/random-walk-graph.ts';
import { geodesicM, lineLengthM, meridionalRadiusM, primeVerticalRadiusM } from './geodesy.ts';
import { buildGraph, DIR_BOTH, type WalkGraph } from './graph.ts';
import {
  buildBarrierIndex,
  buildSnapIndex,
  crossesBarrier,
  snapPoint,
  type SnapIndex,
  type SnapResult,
} from './snap.ts';

/** Proper crossing by orientation signs, written out again for the oracle. */
function crossesNaive(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cx: number,
  cy: number,
  dx: number,
  dy: number,
): boolean {
  const side = (px: number, py: number, qx: number, qy: number, rx: number, ry: number) =>
    Math.sign((qx - px) * (ry - py) - (qy - py) * (rx - px));
  return (
    side(ax, ay, bx, by, cx, cy) * side(ax, ay, bx, by, dx, dy) < 0 &&
    side(cx, cy, dx, dy, ax, ay) * side(cx, cy, dx, dy, bx, by) < 0
  );
}

/** Brute force over every segment of every edge, in the index's projection. */
function snapNaive(
  index: SnapIndex,
  g: WalkGraph,
  lng: number,
  lat: number,
  maxSnapM: number,
  barrier: { coords: number[]; offsets: number[] } | undefined,
  edgeFilter: ((e: number) => boolean) | undefined,
): SnapResult {
  const { toX, toY } = index.projection;
  const qx = toX(lng),
    qy = toY(lat);
  const all: { e: number; i: number; segment: number; d: number; t: number }[] = [];
  let segment = 0;
  for (let e = 0; e < g.edgeCount; e++) {
    for (let i = g.edgeCoordOffset[e]; i + 1 < g.edgeCoordOffset[e + 1]; i++, segment++) {
      if (edgeFilter && !edgeFilter(e)) continue;
      const c = g.edgeCoords;
      const x0 = toX(c[2 * i]),
        y0 = toY(c[2 * i + 1]),
        x1 = toX(c[2 * i + 2]),
        y1 = toY(c[2 * i + 3]);
      const dx = x1 - x0,
        dy = y1 - y0;
      const len2 = dx * dx + dy * dy;
      const t = len2 > 0 ? Math.min(1, Math.max(0, ((qx - x0) * dx + (qy - y0) * dy) / len2)) : 0;
      const px = t === 1 ? x1 : x0 + t * dx,
        py = t === 1 ? y1 : y0 + t * dy;
      all.push({ e, i, segment, d: Math.sqrt((px - qx) ** 2 + (py - qy) ** 2), t });
    }
  }
  all.sort((a, b) => a.d - b.d || a.segment - b.segment);
  const inRange = all.filter((c) => c.d <= maxSnapM);
  if (inRange.length === 0) {
    return all.length
      ? { unreachable: true, reason: 'beyond_snap_limit', nearestM: all[0].d }
      : { unreachable: true, reason: 'beyond_snap_limit' };
  }
  for (const { e, i, t: globalT } of inRange) {
    const c = g.edgeCoords;
    // the foot is placed again in metres local to the query point (the index's are the centre's)
    let t = globalT;
    if (t > 0 && t < 1) {
      const ky = (meridionalRadiusM(lat) * Math.PI) / 180,
        kx = (primeVerticalRadiusM(lat) * Math.cos((lat * Math.PI) / 180) * Math.PI) / 180;
      const ax = (c[2 * i] - lng) * kx,
        ay = (c[2 * i + 1] - lat) * ky;
      const bx = (c[2 * i + 2] - lng) * kx,
        by = (c[2 * i + 3] - lat) * ky;
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
      t = len2 > 0 ? Math.min(1, Math.max(0, -(ax * (bx - ax) + ay * (by - ay)) / len2)) : 0;
    }
    const sLng = t === 1 ? c[2 * i + 2] : c[2 * i] + t * (c[2 * i + 2] - c[2 * i]);
    const sLat = t === 1 ? c[2 * i + 3] : c[2 * i + 1] + t * (c[2 * i + 3] - c[2 * i + 1]);
    let blocked = false;
    if (barrier) {
      for (let l = 0; l + 1 < barrier.offsets.length && !blocked; l++) {
        for (let j = barrier.offsets[l]; j + 1 < barrier.offsets[l + 1] && !blocked; j++) {
          const b = barrier.coords;
          blocked = crossesNaive(lng, lat, sLng, sLat, b[2 * j], b[2 * j + 1], b[2 * j + 2], b[2 * j + 3]);
        }
      }
    }
    if (blocked) continue;
    const start = g.edgeCoordOffset[e],
      end = g.edgeCoordOffset[e + 1];
    const totalM = lineLengthM(c, start, end);
    const partM = lineLengthM(c, start, i + 1) + t * geodesicM(c[2 * i], c[2 * i + 1], c[2 * i + 2], c[2 * i + 3]);
    return {
      unreachable: false,
      edge: e,
      alongM: totalM > 0 ? (g.edgeLengthM[e] * partM) / totalM : 0,
      accessM: geodesicM(lng, lat, sLng, sLat),
      lng: sLng,
      lat: sLat,
      pointLng: lng,
      pointLat: lat,
    };
  }
  return { unreachable: true, reason: 'blocked_by_barrier', nearestM: inRange[0].d };
}

function expectSameSnap(got: SnapResult, want: SnapResult, label: string): void {
  expect(got.unreachable, label).toBe(want.unreachable);
  if (got.unreachable || want.unreachable) {
    expect(got, label).toMatchObject({ reason: (want as { reason: string }).reason });
    const gotM = (got as { nearestM?: number }).nearestM,
      wantM = (want as { nearestM?: number }).nearestM;
    if (wantM === undefined) expect(gotM, label).toBeUndefined();
    else expect(Math.abs(gotM! - wantM), label).toBeLessThan(1e-9);
    return;
  }
  expect(got.edge, label).toBe(want.edge);
  expect(Math.abs(got.alongM - want.alongM), label).toBeLessThan(1e-9);
  expect(Math.abs(got.accessM - want.accessM), label).toBeLessThan(1e-9);
  expect(Math.abs(got.lng - want.lng) + Math.abs(got.lat - want.lat), label).toBeLessThan(1e-12);
}

describe('snapPoint', () => {
  it('agrees with brute force over all segments, with barriers, limits and edge filters', () => {
    let blockedOnce = 0,
      beyond = 0,
      rerouted = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const random = testRandom(seed);
      const g = buildGraph(
        randomWalkGraph(random, { nodeCount: random.int(2, 30), edgeCount: random.int(1, 50), components: 2 }),
      );
      const index = buildSnapIndex(g);
      const barrier = { coords: [] as number[], offsets: [0] };
      for (let l = random.int(0, 120); l > 0; l--) {
        const lng = 104 + 0.05 * random.float(),
          lat = 30.6 + 0.02 * random.float();
        barrier.coords.push(lng, lat);
        for (let p = random.int(1, 3); p > 0; p--)
          barrier.coords.push(lng + 0.008 * (random.float() - 0.5), lat + 0.008 * (random.float() - 0.5));
        barrier.offsets.push(barrier.coords.length / 2);
      }
      const barriers = buildBarrierIndex(barrier.coords, barrier.offsets);
      for (let k = 0; k < 60; k++) {
        let lng = 103.995 + 0.06 * random.float(),
          lat = 30.595 + 0.03 * random.float();
        if (random.float() < 0.8) {
          // most queries near the network, where candidates compete
          const i = random.int(0, g.edgeCoords.length / 2 - 1);
          lng = g.edgeCoords[2 * i] + 0.004 * (random.float() - 0.5);
          lat = g.edgeCoords[2 * i + 1] + 0.004 * (random.float() - 0.5);
        }
        const maxSnapM = [30, 100, 200, 500][random.int(0, 3)];
        const edgeFilter = random.float() < 0.3 ? (e: number) => e % 3 !== 0 : undefined;
        const useBarriers = random.float() < 0.7;
        const got = snapPoint(index, lng, lat, { maxSnapM, edgeFilter, barriers: useBarriers ? barriers : undefined });
        const want = snapNaive(index, g, lng, lat, maxSnapM, useBarriers ? barrier : undefined, edgeFilter);
        expectSameSnap(got, want, `seed ${seed} query ${k}`);
        if (!got.unreachable && useBarriers) {
          const free = snapPoint(index, lng, lat, { maxSnapM, edgeFilter });
          if (!free.unreachable && (free.edge !== got.edge || free.alongM !== got.alongM)) rerouted++;
        }
        if (got.unreachable && got.reason === 'blocked_by_barrier') blockedOnce++;
        if (got.unreachable && got.reason === 'beyond_snap_limit') beyond++;
      }
    }
    // every branch must be exercised for the comparison to mean anything
    expect(rerouted).toBeGreaterThan(10);
    expect(blockedOnce).toBeGreaterThan(20);
    expect(beyond).toBeGreaterThan(100);
  });

  it("gives ties to the lowest edge id and measures alongM in the edge's own length", () => {
    // a plus-shaped junction at node 0; the query sits exactly on the junction
    const lng = [104, 104.001, 103.999, 104, 104],
      lat = [30.6, 30.6, 30.6, 30.601, 30.599];
    const g = buildGraph({
      nodeCount: 5,
      nodeLng: Float64Array.from(lng),
      nodeLat: Float64Array.from(lat),
      edgeFrom: Int32Array.of(3, 0, 2, 4),
      edgeTo: Int32Array.of(0, 1, 0, 0),
      edgeLengthM: Float64Array.of(120, 100, 100, 100),
      edgeDir: new Uint8Array(4).fill(DIR_BOTH),
      edgeCoords: Float64Array.of(
        104,
        30.601,
        104,
        30.6,
        104,
        30.6,
        104.001,
        30.6,
        103.999,
        30.6,
        104,
        30.6,
        104,
        30.599,
        104,
        30.6,
      ),
      edgeCoordOffset: Uint32Array.of(0, 2, 4, 6, 8),
    });
    const index = buildSnapIndex(g);
    expect(snapPoint(index, 104, 30.6)).toMatchObject({ edge: 0, alongM: 120, accessM: 0 });
    // just beyond the end of a polyline, alongM is exactly the edge length
    expect(snapPoint(index, 104.0015, 30.6)).toMatchObject({ edge: 1, alongM: 100 });
    // a quarter of the way along edge 0 (from node 3 southwards), 10 m east of it
    const p = snapPoint(index, 104 + 10 / index.projection.metresPerDegLng, 30.60075);
    expect(p.unreachable).toBe(false);
    if (!p.unreachable) {
      expect(p.edge).toBe(0);
      expect(p.alongM).toBeCloseTo(30, 6);
      expect(p.accessM).toBeCloseTo(10, 1);
    }
  });

  it('rejects an access leg through a wall and takes the street behind it', () => {
    // streets along lat 30.6000 (edge 0) and lat 30.6020 (edge 1); a wall at lat 30.6005
    const g = buildGraph({
      nodeCount: 4,
      nodeLng: Float64Array.of(104, 104.01, 104, 104.01),
      nodeLat: Float64Array.of(30.6, 30.6, 30.602, 30.602),
      edgeFrom: Int32Array.of(0, 2),
      edgeTo: Int32Array.of(1, 3),
      edgeLengthM: Float64Array.of(960, 960),
      edgeDir: new Uint8Array(2).fill(DIR_BOTH),
      edgeCoords: Float64Array.of(104, 30.6, 104.01, 30.6, 104, 30.602, 104.01, 30.602),
      edgeCoordOffset: Uint32Array.of(0, 2, 4),
    });
    const index = buildSnapIndex(g);
    const wall = buildBarrierIndex([104.004, 30.6005, 104.006, 30.6005], [0, 2]);
    expect(snapPoint(index, 104.005, 30.6008)).toMatchObject({ edge: 0 });
    expect(snapPoint(index, 104.005, 30.6008, { barriers: wall })).toMatchObject({ edge: 1 });
    expect(snapPoint(index, 104.005, 30.6008, { barriers: wall, maxSnapM: 100 })).toMatchObject({
      unreachable: true,
      reason: 'blocked_by_barrier',
    });
    // around the end of the wall there is no crossing
    expect(snapPoint(index, 104.0065, 30.6008, { barriers: wall })).toMatchObject({ edge: 0 });
    // touching the wall's end point is not a proper crossing
    expect(crossesBarrier(wall, 104.006, 30.6008, 104.006, 30.6)).toBe(false);
    expect(crossesBarrier(wall, 104.005, 30.6008, 104.005, 30.6)).toBe(true);
    expect(snapPoint(index, 104.005, 30.7)).toMatchObject({ unreachable: true, reason: 'beyond_snap_limit' });
  });

  it('handles a graph with no edges', () => {
    const g = buildGraph({
      nodeCount: 1,
      nodeLng: Float64Array.of(104),
      nodeLat: Float64Array.of(30.6),
      edgeFrom: new Int32Array(0),
      edgeTo: new Int32Array(0),
      edgeLengthM: new Float64Array(0),
      edgeDir: new Uint8Array(0),
      edgeCoords: new Float64Array(0),
      edgeCoordOffset: Uint32Array.of(0),
    });
    expect(snapPoint(buildSnapIndex(g), 104, 30.6)).toEqual({ unreachable: true, reason: 'beyond_snap_limit' });
  });
});

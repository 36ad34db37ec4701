import { describe, expect, it } from 'vitest';
import { randomWalkGraph, testRandom } from './fixtures/random-walk-graph.ts';
import {
  buildGraph,
  DIR_BACKWARD,
  DIR_BOTH,
  DIR_FORWARD,
  DIR_NONE,
  extendGraph,
  graphMemoryBytes,
  hilbertNodeOrder,
  renumberNodes,
  reverseGraph,
  type EdgeCut,
  type WalkGraphInput,
} from './graph.ts';
import { geodesicM, lineSliceAtFractions } from './geodesy.ts';

/** Sorted "from>to@edge:length" strings of the arcs, from the CSR or straight from the edge list. */
function csrArcs(g: ReturnType<typeof buildGraph>): string[] {
  const out: string[] = [];
  for (let u = 0; u < g.nodeCount; u++) {
    for (let a = g.arcOffset[u]; a < g.arcOffset[u + 1]; a++)
      out.push(`${u}>${g.arcTo[a]}@${g.arcEdge[a]}:${g.arcLengthM[a]}`);
  }
  return out.sort();
}
function edgeListArcs(g: WalkGraphInput): string[] {
  const out: string[] = [];
  for (let e = 0; e < g.edgeFrom.length; e++) {
    if (g.edgeDir[e] === DIR_BOTH || g.edgeDir[e] === DIR_FORWARD)
      out.push(`${g.edgeFrom[e]}>${g.edgeTo[e]}@${e}:${g.edgeLengthM[e]}`);
    if (g.edgeDir[e] === DIR_BOTH || g.edgeDir[e] === DIR_BACKWARD)
      out.push(`${g.edgeTo[e]}>${g.edgeFrom[e]}@${e}:${g.edgeLengthM[e]}`);
  }
  return out.sort();
}

describe('buildGraph', () => {
  it('has exactly the arcs the edge list implies, ordered by edge id per node', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = testRandom(seed);
      const input = randomWalkGraph(random, {
        nodeCount: random.int(1, 40),
        edgeCount: random.int(0, 80),
        oneWayShare: 0.5,
      });
      const g = buildGraph(input);
      expect(csrArcs(g)).toEqual(edgeListArcs(input));
      expect(g.arcOffset[g.nodeCount]).toBe(g.arcCount);
      for (let u = 0; u < g.nodeCount; u++) {
        for (let a = g.arcOffset[u] + 1; a < g.arcOffset[u + 1]; a++)
          expect(g.arcEdge[a]).toBeGreaterThanOrEqual(g.arcEdge[a - 1]);
      }
      expect(csrArcs(reverseGraph(g))).toEqual(
        edgeListArcs(input)
          .map((s) => s.replace(/^(\d+)>(\d+)/, '$2>$1'))
          .sort(),
      );
      expect(graphMemoryBytes(g)).toBeGreaterThan(g.arcCount * 16);
    }
  });

  it('returns the graph itself as its reverse when nothing is one-way', () => {
    const g = buildGraph(randomWalkGraph(testRandom(3), { nodeCount: 10, edgeCount: 20, oneWayShare: 0 }));
    expect(reverseGraph(g)).toBe(g);
  });

  it('rejects malformed input', () => {
    const input = randomWalkGraph(testRandom(5), { nodeCount: 5, edgeCount: 6 });
    expect(() => buildGraph({ ...input, edgeTo: Int32Array.from(input.edgeTo, (v, i) => (i === 2 ? 5 : v)) })).toThrow(
      /edge 2/,
    );
    expect(() =>
      buildGraph({ ...input, edgeLengthM: Float64Array.from(input.edgeLengthM, (v, i) => (i === 1 ? NaN : v)) }),
    ).toThrow(/edge 1/);
    expect(() =>
      buildGraph({ ...input, edgeDir: Uint8Array.from(input.edgeDir, (v, i) => (i === 0 ? DIR_NONE + 1 : v)) }),
    ).toThrow(/direction/);
    expect(() => buildGraph({ ...input, edgeCoordOffset: input.edgeCoordOffset.subarray(1) })).toThrow(RangeError);
    expect(() => buildGraph({ ...input, nodeLat: new Float64Array(4) })).toThrow(RangeError);
  });
});

describe('DIR_NONE edges (private ways between two public nodes)', () => {
  // 0 —(public, 100 m)— 1 —(private, no through route, 50 m)— 2 —(public, 100 m)— 3, and 0 — 3 directly (500 m)
  const input: WalkGraphInput = {
    nodeCount: 4,
    nodeLng: Float64Array.from([104.0, 104.001, 104.0015, 104.0025]),
    nodeLat: Float64Array.from([30.6, 30.6, 30.6, 30.6]),
    edgeFrom: Int32Array.from([0, 1, 2, 0]),
    edgeTo: Int32Array.from([1, 2, 3, 3]),
    edgeLengthM: Float64Array.from([100, 50, 100, 500]),
    edgeDir: Uint8Array.from([DIR_BOTH, DIR_NONE, DIR_BOTH, DIR_BOTH]),
    edgeCoords: Float64Array.from([
      104.0, 30.6, 104.001, 30.6, 104.001, 30.6, 104.0015, 30.6, 104.0015, 30.6, 104.0025, 30.6, 104.0, 30.6, 104.0025,
      30.6,
    ]),
    edgeCoordOffset: Uint32Array.from([0, 2, 4, 6, 8]),
  };

  it('have no arcs, so a search never walks through them', async () => {
    const g = buildGraph(input);
    expect(csrArcs(g).filter((a) => a.includes('@1:'))).toEqual([]);
    const { createSearch } = await import('./dijkstra.ts');
    const r = createSearch(g).run([{ node: 0, initialDistM: 0, sourceId: 0 }], 10_000);
    expect(r.dist[3]).toBe(500); // around by the public edge, not 250 through the private one
    expect(r.dist[2]).toBe(600);
  });

  it('are still reached from either end by a point on them', async () => {
    const g = buildGraph(input);
    const { createSearch, distanceToPoint } = await import('./dijkstra.ts');
    const r = createSearch(g).run([{ node: 0, initialDistM: 0, sourceId: 0 }], 10_000);
    const snap = {
      unreachable: false as const,
      edge: 1,
      alongM: 10,
      accessM: 5,
      lng: 104.0011,
      lat: 30.6,
      pointLng: 104.0011,
      pointLat: 30.6001,
    };
    expect(distanceToPoint(g, r, snap)).toBeCloseTo(100 + 10 + 5, 9);
    expect(reverseGraph(g).edgeDir[1]).toBe(DIR_NONE);
  });
});

describe('hilbertNodeOrder and renumberNodes', () => {
  it('renumber into a permutation that keeps every distance, with neighbours near in memory', async () => {
    const { createSearch } = await import('./dijkstra.ts');
    const random = testRandom(11);
    const input = randomWalkGraph(random, {
      nodeCount: 300,
      edgeCount: 600,
      components: 2,
      oneWayShare: 0.3,
      noThroughShare: 0.1,
    });
    const order = hilbertNodeOrder(input.nodeLng, input.nodeLat);
    expect([...order].sort((a, b) => a - b)).toEqual([...Array(300).keys()]);
    const { input: renumbered, oldToNew } = renumberNodes(input, order);
    for (let i = 0; i < 300; i++) {
      expect(oldToNew[order[i]]).toBe(i);
      expect(renumbered.nodeLng[i]).toBe(input.nodeLng[order[i]]);
    }
    const before = createSearch(buildGraph(input)).run([
      { node: 5, initialDistM: 0, sourceId: 0 },
      { node: 77, initialDistM: 10, sourceId: 1 },
    ]);
    const after = createSearch(buildGraph(renumbered)).run([
      { node: oldToNew[5], initialDistM: 0, sourceId: 0 },
      { node: oldToNew[77], initialDistM: 10, sourceId: 1 },
    ]);
    for (let v = 0; v < 300; v++) {
      expect(after.dist[oldToNew[v]]).toBe(before.dist[v]);
      expect(after.source[oldToNew[v]]).toBe(before.source[v]);
    }
    // consecutive nodes along the curve are far closer than consecutive nodes in input order
    const step = (ids: ArrayLike<number>) => {
      let sum = 0;
      for (let i = 1; i < ids.length; i++)
        sum += Math.hypot(
          input.nodeLng[ids[i]] - input.nodeLng[ids[i - 1]],
          input.nodeLat[ids[i]] - input.nodeLat[ids[i - 1]],
        );
      return sum;
    };
    expect(step(order)).toBeLessThan(step([...Array(300).keys()]) / 4);
    expect(() =>
      renumberNodes(
        input,
        order.map((v, i) => (i === 0 ? order[1] : v)),
      ),
    ).toThrow(RangeError);
  });
});

describe('extendGraph', () => {
  /** Edge e's polyline as [lng, lat] pairs. */
  const polyline = (g: WalkGraphInput, e: number) => {
    const out: number[][] = [];
    for (let i = g.edgeCoordOffset[e]; i < g.edgeCoordOffset[e + 1]; i++)
      out.push([g.edgeCoords[2 * i], g.edgeCoords[2 * i + 1]]);
    return out;
  };

  it('splits edges into pieces that add up and meet, turns directions, and appends links (random graphs)', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const random = testRandom(seed);
      const g = buildGraph(randomWalkGraph(random, { nodeCount: 30, edgeCount: 60, oneWayShare: 0.3 }));
      const cuts = new Map<number, EdgeCut[]>();
      let node = g.nodeCount;
      for (let e = 0; e < g.edgeCount; e += 7) {
        const L = g.edgeLengthM[e];
        if (!(L > 3)) continue;
        const alongs = [
          ...new Set(Array.from({ length: random.int(1, 3) }, () => 1 + Math.floor(random.float() * (L - 2)))),
        ].sort((a, b) => a - b);
        cuts.set(
          e,
          alongs.map((alongM) => ({ alongM, node: node++ })),
        );
      }
      const edgeDir = new Map([
        [1, DIR_BOTH],
        [2, DIR_NONE],
      ]);
      const links = [
        { from: 0, to: node - 1 },
        { from: 3, to: 4 },
      ];
      const x = extendGraph(g, { cuts, edgeDir, links });
      const h = x.graph;
      expect(h.nodeCount).toBe(node);
      expect(h.edgeCount).toBe(x.linkStart + links.length);
      expect(x.linkStart - g.edgeCount).toBe([...cuts.values()].reduce((n, c) => n + c.length, 0));
      // every original edge is its pieces, in order, covering [0, L] exactly
      const pieces = new Map<number, number[]>();
      for (let e = 0; e < x.linkStart; e++)
        (pieces.get(x.edgeBase[e]) ?? pieces.set(x.edgeBase[e], []).get(x.edgeBase[e])!).push(e);
      for (let e = 0; e < g.edgeCount; e++) {
        const list = pieces.get(e)!.sort((a, b) => x.edgeBaseFromM[a] - x.edgeBaseFromM[b]);
        expect(list[0], `edge ${e} keeps its id for its first piece`).toBe(e);
        expect(list).toHaveLength((cuts.get(e)?.length ?? 0) + 1);
        expect(x.edgeBaseFromM[list[0]]).toBe(0);
        expect(x.edgeBaseToM[list.at(-1)!]).toBe(g.edgeLengthM[e]);
        expect(h.edgeFrom[list[0]]).toBe(g.edgeFrom[e]);
        expect(h.edgeTo[list.at(-1)!]).toBe(g.edgeTo[e]);
        for (let k = 0; k < list.length; k++) {
          const p = list[k];
          expect(h.edgeLengthM[p]).toBeCloseTo(x.edgeBaseToM[p] - x.edgeBaseFromM[p], 9);
          expect(h.edgeDir[p]).toBe(edgeDir.get(e) ?? g.edgeDir[e]);
          if (k > 0) {
            expect(x.edgeBaseFromM[p]).toBe(x.edgeBaseToM[list[k - 1]]);
            expect(h.edgeFrom[p]).toBe(h.edgeTo[list[k - 1]]);
          }
          const line = polyline(h, p);
          expect(line[0]).toEqual([h.nodeLng[h.edgeFrom[p]], h.nodeLat[h.edgeFrom[p]]]);
          expect(line.at(-1)).toEqual([h.nodeLng[h.edgeTo[p]], h.nodeLat[h.edgeTo[p]]]);
        }
        if (!cuts.has(e)) expect(polyline(h, e)).toEqual(polyline(g, e));
      }
      // a cut node lies on its edge, as far along it (geodesic fraction) as asked
      for (const [e, list] of cuts) {
        const line = polyline(g, e).flat();
        for (const c of list) {
          const [lng, lat] = lineSliceAtFractions(
            Float64Array.from(line),
            0,
            line.length / 2,
            0,
            c.alongM / g.edgeLengthM[e],
          ).at(-1)!;
          expect(h.nodeLng[c.node]).toBeCloseTo(lng, 12);
          expect(h.nodeLat[c.node]).toBeCloseTo(lat, 12);
        }
      }
      links.forEach((l, k) => {
        const id = x.linkStart + k;
        expect([h.edgeFrom[id], h.edgeTo[id], h.edgeDir[id], x.edgeBase[id]]).toEqual([l.from, l.to, DIR_BOTH, -1]);
        expect(h.edgeLengthM[id]).toBe(
          geodesicM(h.nodeLng[l.from], h.nodeLat[l.from], h.nodeLng[l.to], h.nodeLat[l.to]),
        );
      });
      // the original is only read
      expect(g.nodeLng.length).toBe(g.nodeCount);
      expect(g.edgeFrom.length).toBe(g.edgeCount);
    }
  });

  it('rejects a cut at an end of its edge or naming an existing node', () => {
    const g = buildGraph(randomWalkGraph(testRandom(4), { nodeCount: 5, edgeCount: 6 }));
    expect(() => extendGraph(g, { cuts: new Map([[0, [{ alongM: 0, node: g.nodeCount }]]]), links: [] })).toThrow(
      /cut of edge 0/,
    );
    expect(() =>
      extendGraph(g, { cuts: new Map([[0, [{ alongM: g.edgeLengthM[0] / 2, node: 0 }]]]), links: [] }),
    ).toThrow(/cut of edge 0/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  createSearch,
  DEFAULT_BUCKET_WIDTH_M,
  distanceToPoint,
  pathToSource,
  reachPoint,
  seedsFromSnaps,
  walkToPoint,
  type Seed,
} from './dijkstra.ts';
import { randomEdgeSnap, randomWalkGraph, testRandom } from './fixtures/random-walk-graph.ts';
import { geodesicM } from './geodesy.ts';
import {
  buildGraph,
  DIR_BACKWARD,
  DIR_BOTH,
  DIR_FORWARD,
  DIR_NONE,
  reverseGraph,
  type WalkGraph,
  type WalkGraphInput,
} from './graph.ts';
import type { EdgeSnap } from './snap.ts';

interface Arc {
  from: number;
  to: number;
  w: number;
}

/** Directed arcs straight from the edge list, independent of the CSR build. */
function naiveArcs(g: WalkGraphInput): Arc[] {
  const arcs: Arc[] = [];
  for (let e = 0; e < g.edgeFrom.length; e++) {
    if (g.edgeDir[e] === DIR_BOTH || g.edgeDir[e] === DIR_FORWARD)
      arcs.push({ from: g.edgeFrom[e], to: g.edgeTo[e], w: g.edgeLengthM[e] });
    if (g.edgeDir[e] === DIR_BOTH || g.edgeDir[e] === DIR_BACKWARD)
      arcs.push({ from: g.edgeTo[e], to: g.edgeFrom[e], w: g.edgeLengthM[e] });
  }
  return arcs;
}

/** Bellman-Ford from a set of (node, initial distance) starts. */
function bellmanFord(n: number, arcs: Arc[], starts: [number, number][]): Float64Array {
  const d = new Float64Array(n).fill(Infinity);
  for (const [node, d0] of starts) d[node] = Math.min(d[node], d0);
  for (let changed = true; changed;) {
    changed = false;
    for (const { from, to, w } of arcs) {
      if (d[from] + w < d[to]) {
        d[to] = d[from] + w;
        changed = true;
      }
    }
  }
  return d;
}

/** Per node: min over sources of the single-source distance, lowest sourceId on exact ties. */
function naiveMultiSource(n: number, arcs: Arc[], perSource: Map<number, [number, number][]>) {
  const dist = new Float64Array(n).fill(Infinity);
  const source = new Int32Array(n).fill(-1);
  const second = new Float64Array(n).fill(Infinity); // best distance from any other source
  for (const [sourceId, starts] of [...perSource].sort((a, b) => a[0] - b[0])) {
    const d = bellmanFord(n, arcs, starts);
    for (let v = 0; v < n; v++) {
      if (d[v] < dist[v]) {
        second[v] = dist[v];
        dist[v] = d[v];
        source[v] = sourceId;
      } else if (d[v] < second[v]) second[v] = d[v];
    }
  }
  return { dist, source, second };
}

/**
 * Oracle for snapped sources and targets: split every edge into real nodes at each distinct snap
 * position ("spots"), hang each source off its spot by a one-way access arc (and each target the
 * other way), and run Bellman-Ford per source on that refined graph. A snap exactly at an end
 * node is also joined to that node directly, whatever the edge's direction. A no-through edge
 * (DIR_NONE) becomes two two-way chains, one hanging off each end and not joined to the other, with
 * every snap on both: reachable from either end, no way through.
 */
function refinedOracle(g: WalkGraph, sources: EdgeSnap[], sourceIds: number[], targets: EdgeSnap[]) {
  const snapsByEdge = new Map<number, EdgeSnap[]>();
  for (const s of [...sources, ...targets]) {
    if (!snapsByEdge.has(s.edge)) snapsByEdge.set(s.edge, []);
    snapsByEdge.get(s.edge)!.push(s);
  }
  let n = g.nodeCount;
  const arcs: Arc[] = [];
  const spotsOf = new Map<EdgeSnap, number[]>();
  const addChain = (e: number, withFrom: boolean, withTo: boolean, dir: number) => {
    const chain: { alongM: number; node: number }[] = withFrom ? [{ alongM: 0, node: g.edgeFrom[e] }] : [];
    let last: { alongM: number; node: number } | undefined;
    for (const s of [...(snapsByEdge.get(e) ?? [])].sort((a, b) => a.alongM - b.alongM)) {
      if (!last || last.alongM !== s.alongM) {
        last = { alongM: s.alongM, node: n++ };
        chain.push(last);
      }
      spotsOf.set(s, [...(spotsOf.get(s) ?? []), last.node]);
    }
    if (withTo) chain.push({ alongM: g.edgeLengthM[e], node: g.edgeTo[e] });
    for (let i = 0; i + 1 < chain.length; i++) {
      const w = chain[i + 1].alongM - chain[i].alongM;
      if (dir !== DIR_BACKWARD) arcs.push({ from: chain[i].node, to: chain[i + 1].node, w });
      if (dir !== DIR_FORWARD) arcs.push({ from: chain[i + 1].node, to: chain[i].node, w });
    }
  };
  for (let e = 0; e < g.edgeCount; e++) {
    if (g.edgeDir[e] === DIR_NONE) {
      addChain(e, true, false, 0);
      addChain(e, false, true, 0);
    } else {
      addChain(e, true, true, g.edgeDir[e]);
    }
  }
  const endNodes = (s: EdgeSnap) => [
    ...(s.alongM === 0 ? [g.edgeFrom[s.edge]] : []),
    ...(s.alongM === g.edgeLengthM[s.edge] ? [g.edgeTo[s.edge]] : []),
  ];
  const perSource = new Map<number, [number, number][]>();
  sources.forEach((s, i) => {
    const virtual = n++;
    for (const to of [...spotsOf.get(s)!, ...endNodes(s)]) arcs.push({ from: virtual, to, w: s.accessM });
    if (!perSource.has(sourceIds[i])) perSource.set(sourceIds[i], []);
    perSource.get(sourceIds[i])!.push([virtual, 0]);
  });
  const targetNode = targets.map((t) => {
    const virtual = n++;
    for (const from of [...spotsOf.get(t)!, ...endNodes(t)]) arcs.push({ from, to: virtual, w: t.accessM });
    return virtual;
  });
  const best = naiveMultiSource(n, arcs, perSource);
  return { ...best, targetNode };
}

describe('createSearch().run', () => {
  it('matches naive multi-source Bellman-Ford on random graphs with one-way edges and components', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const random = testRandom(seed);
      const input = randomWalkGraph(random, {
        nodeCount: random.int(1, 60),
        edgeCount: random.int(0, 120),
        components: random.int(1, 3),
        noThroughShare: 0.1,
      });
      const g = buildGraph(input);
      const arcs = naiveArcs(input);
      // tiny buckets, the default, and buckets wider than any arc (everything re-expanded in one bucket)
      const search = createSearch(g, { bucketWidthM: [0.5, DEFAULT_BUCKET_WIDTH_M, 5000][seed % 3] });
      for (let round = 0; round < 4; round++) {
        const seeds: Seed[] = [];
        const seedCount = random.int(1, 6);
        // in odd rounds some seeds start farther out than the bucket ring spans
        const spreadM = round % 2 === 0 ? 100 : 20_000;
        for (let i = 0; i < seedCount; i++) {
          seeds.push({
            node: random.int(0, g.nodeCount - 1),
            initialDistM: random.float() < 0.5 ? 0 : spreadM * random.float(),
            sourceId: random.int(0, 9),
          });
        }
        const perSource = new Map<number, [number, number][]>();
        for (const s of seeds) {
          if (!perSource.has(s.sourceId)) perSource.set(s.sourceId, []);
          perSource.get(s.sourceId)!.push([s.node, s.initialDistM]);
        }
        const oracle = naiveMultiSource(g.nodeCount, arcs, perSource);
        const maxDistM = round < 2 ? Infinity : 1500 * random.float();
        const result = search.run(seeds, maxDistM);
        let reached = 0;
        for (let v = 0; v < g.nodeCount; v++) {
          if (oracle.dist[v] < Infinity && oracle.dist[v] <= maxDistM) {
            reached++;
            expect(Math.abs(result.dist[v] - oracle.dist[v]), `seed ${seed} node ${v}`).toBeLessThan(1e-9);
            if (oracle.second[v] - oracle.dist[v] > 1e-9) expect(result.source[v]).toBe(oracle.source[v]);
          } else {
            expect(result.dist[v], `seed ${seed} node ${v} beyond ${maxDistM}`).toBe(Infinity);
            expect(result.source[v]).toBe(-1);
          }
        }
        expect(result.reached.length).toBe(reached);
      }
    }
  });

  it('breaks exact ties towards the lowest sourceId, identically run after run', () => {
    for (let seed = 100; seed < 115; seed++) {
      const random = testRandom(seed);
      const input = randomWalkGraph(random, { nodeCount: 40, edgeCount: 90, integerLengths: true });
      const g = buildGraph(input);
      const search = createSearch(g, { bucketWidthM: seed % 2 ? 1 : 3 });
      const seeds: Seed[] = [];
      for (let i = 0; i < 8; i++)
        seeds.push({ node: random.int(0, 39), initialDistM: random.int(0, 3), sourceId: random.int(0, 20) });
      const perSource = new Map<number, [number, number][]>();
      for (const s of seeds) {
        if (!perSource.has(s.sourceId)) perSource.set(s.sourceId, []);
        perSource.get(s.sourceId)!.push([s.node, s.initialDistM]);
      }
      const oracle = naiveMultiSource(g.nodeCount, naiveArcs(input), perSource);
      const first = search.run(seeds);
      expect(Array.from(first.dist)).toEqual(Array.from(oracle.dist));
      expect(Array.from(first.source)).toEqual(Array.from(oracle.source));
      const snapshot = { dist: first.dist.slice(), source: first.source.slice(), predArc: first.predArc.slice() };
      search.run([{ node: 0, initialDistM: 0, sourceId: 99 }]);
      const again = search.run([...seeds].reverse());
      expect(again.dist).toEqual(snapshot.dist);
      expect(again.source).toEqual(snapshot.source);
      expect(again.predArc).toEqual(snapshot.predArc);
    }
  });

  it('expands each node once when no arc is shorter than a bucket', () => {
    for (let seed = 50; seed < 60; seed++) {
      const random = testRandom(seed);
      const input = randomWalkGraph(random, { nodeCount: 200, edgeCount: 400, oneWayShare: 0.2 });
      input.edgeLengthM = input.edgeLengthM.map(() => DEFAULT_BUCKET_WIDTH_M + 300 * random.float());
      const g = buildGraph(input);
      const seeds: Seed[] = [];
      for (let i = 0; i < 5; i++)
        seeds.push({ node: random.int(0, 199), initialDistM: 3000 * random.float(), sourceId: i });
      const result = createSearch(g).run(seeds);
      expect(result.reached.length).toBeGreaterThan(100);
      expect(result.expandedCount).toBe(result.reached.length);
    }
  });

  it('labels exactly with crowded buckets, small runs after large ones and seeds over 2^31 buckets apart', () => {
    const random = testRandom(400);
    const input = randomWalkGraph(random, { nodeCount: 3000, edgeCount: 7000, components: 2, noThroughShare: 0.05 });
    const g = buildGraph(input);
    const arcs = naiveArcs(input);
    const arcTail = new Int32Array(g.arcCount);
    for (let u = 0; u < g.nodeCount; u++) arcTail.fill(u, g.arcOffset[u], g.arcOffset[u + 1]);
    const search = createSearch(g);
    let scattered = 0;
    for (let round = 0; round < 9; round++) {
      // every third round hundreds of seeds, half at 0 m (several chunks in one bucket); in the
      // others a few seeds and a bound that reaches only a few nodes, after a run that reached
      // most or after another small one
      const large = round % 3 === 0;
      const seeds: Seed[] = [];
      const seedCount = large ? random.int(300, 900) : random.int(1, 3);
      for (let i = 0; i < seedCount; i++) {
        const initialDistM = i % 2 === 0 ? 0 : round === 3 && i === 1 ? 1e13 : 3000 * random.float();
        seeds.push({ node: random.int(0, g.nodeCount - 1), initialDistM, sourceId: random.int(0, 40) });
      }
      const maxDistM = large ? Infinity : 50 + 200 * random.float();
      const result = search.run(seeds, maxDistM);

      // oracle: Bellman-Ford on (distance, sourceId) pairs, independent of the queue
      const dist = new Float64Array(g.nodeCount).fill(Infinity);
      const source = new Int32Array(g.nodeCount).fill(-1);
      for (const s of seeds) {
        if (s.initialDistM < dist[s.node] || (s.initialDistM === dist[s.node] && s.sourceId < source[s.node])) {
          dist[s.node] = s.initialDistM;
          source[s.node] = s.sourceId;
        }
      }
      for (let changed = true; changed;) {
        changed = false;
        for (const { from, to, w } of arcs) {
          const d = dist[from] + w;
          if (d < dist[to] || (d === dist[to] && d < Infinity && source[from] < source[to])) {
            dist[to] = d;
            source[to] = source[from];
            changed = true;
          }
        }
      }
      let reached = 0;
      for (let v = 0; v < g.nodeCount; v++) {
        if (!(dist[v] < Infinity && dist[v] <= maxDistM)) {
          expect(result.dist[v], `round ${round} node ${v}`).toBe(Infinity);
          expect(result.source[v]).toBe(-1);
          expect(result.predArc[v]).toBe(-1);
          continue;
        }
        reached++;
        expect(result.dist[v], `round ${round} node ${v}`).toBe(dist[v]);
        expect(result.source[v], `round ${round} node ${v}`).toBe(source[v]);
        const a = result.predArc[v];
        if (a === -1) {
          expect(seeds.some((s) => s.node === v && s.initialDistM === dist[v] && s.sourceId === source[v])).toBe(true);
        } else {
          expect(g.arcTo[a]).toBe(v);
          expect(result.dist[arcTail[a]] + g.arcLengthM[a]).toBe(dist[v]);
          expect(result.source[arcTail[a]]).toBe(source[v]);
        }
      }
      expect(result.reached.length).toBe(reached);
      expect(new Set(result.reached).size).toBe(reached);
      if (!large && reached < g.nodeCount / 16) scattered++;
    }
    // the small runs must stay small, or the test proves nothing about resetting only what was touched
    expect(scattered).toBe(6);
  });

  it('leaves unreachable nodes at Infinity and rejects bad seeds', () => {
    const g = buildGraph(randomWalkGraph(testRandom(7), { nodeCount: 10, edgeCount: 0 }));
    const result = createSearch(g).run([{ node: 3, initialDistM: 5, sourceId: 1 }]);
    expect(result.dist[3]).toBe(5);
    expect(result.predArc[3]).toBe(-1);
    expect(result.dist[4]).toBe(Infinity);
    expect(() => createSearch(g).run([{ node: 10, initialDistM: 0, sourceId: 0 }])).toThrow(RangeError);
    expect(() => createSearch(g).run([{ node: 0, initialDistM: -1, sourceId: 0 }])).toThrow(RangeError);
  });
});

describe('seedsFromSnaps + distanceToPoint', () => {
  it('matches Bellman-Ford on the graph refined at every snap, incl. same-edge pairs and one-way edges', () => {
    let sameEdgeWins = 0;
    for (let seed = 200; seed < 240; seed++) {
      const random = testRandom(seed);
      const input = randomWalkGraph(random, {
        nodeCount: random.int(2, 40),
        edgeCount: random.int(1, 70),
        components: random.int(1, 2),
        oneWayShare: 0.4,
        noThroughShare: 0.15,
      });
      const g = buildGraph(input);
      const search = createSearch(g);
      for (let round = 0; round < 3; round++) {
        const sources: EdgeSnap[] = [];
        const sourceIds: number[] = [];
        for (let i = random.int(1, 5); i > 0; i--) {
          sources.push(randomEdgeSnap(random, g, random.int(0, g.edgeCount - 1)));
          sourceIds.push(random.int(0, 7));
        }
        const targets: EdgeSnap[] = [];
        for (let i = 0; i < 25; i++) {
          // half the targets share an edge with a source
          const edge =
            random.float() < 0.5 ? sources[random.int(0, sources.length - 1)].edge : random.int(0, g.edgeCount - 1);
          targets.push(randomEdgeSnap(random, g, edge));
        }
        const oracle = refinedOracle(g, sources, sourceIds, targets);
        const maxDistM = round === 0 ? Infinity : 2500 * random.float();
        const result = search.run(seedsFromSnaps(g, sources, sourceIds), maxDistM);
        for (let v = 0; v < g.nodeCount; v++) {
          const expected = oracle.dist[v] < Infinity && oracle.dist[v] <= maxDistM ? oracle.dist[v] : Infinity;
          if (expected === Infinity) expect(result.dist[v]).toBe(Infinity);
          else expect(Math.abs(result.dist[v] - expected), `seed ${seed} node ${v}`).toBeLessThan(1e-9);
        }
        targets.forEach((t, j) => {
          const expected = oracle.dist[oracle.targetNode[j]];
          const got = distanceToPoint(g, result, t);
          if (!(expected < Infinity && expected <= maxDistM)) {
            expect(got, `seed ${seed} target ${j}`).toBe(Infinity);
            expect(reachPoint(g, result, t)).toBeNull();
            return;
          }
          expect(Math.abs(got - expected), `seed ${seed} target ${j}: ${got} vs ${expected}`).toBeLessThan(1e-9);
          const reach = reachPoint(g, result, t)!;
          expect(reach.distM).toBe(got);
          const node = oracle.targetNode[j];
          if (oracle.second[node] - expected > 1e-9) expect(reach.sourceId).toBe(oracle.source[node]);
          if (reach.via === 'edge') sameEdgeWins++;
        });
      }
    }
    // the same-edge shortcut must actually be exercised, or the test proves nothing about it
    expect(sameEdgeWins).toBeGreaterThan(50);
  });

  it('lets a source on a one-way edge reach only the end it may walk to', () => {
    // 0 —(100 m, only 0→1)— 1 —(100 m, both)— 2
    const g = buildGraph({
      nodeCount: 3,
      nodeLng: Float64Array.of(104, 104.001, 104.002),
      nodeLat: Float64Array.of(30.6, 30.6, 30.6),
      edgeFrom: Int32Array.of(0, 1),
      edgeTo: Int32Array.of(1, 2),
      edgeLengthM: Float64Array.of(100, 100),
      edgeDir: Uint8Array.of(DIR_FORWARD, DIR_BOTH),
      edgeCoords: Float64Array.of(104, 30.6, 104.001, 30.6, 104.001, 30.6, 104.002, 30.6),
      edgeCoordOffset: Uint32Array.of(0, 2, 4),
    });
    const source: EdgeSnap = {
      unreachable: false,
      edge: 0,
      alongM: 30,
      accessM: 5,
      lng: 104.0003,
      lat: 30.6,
      pointLng: 104.0003,
      pointLat: 30.6001,
    };
    const sources = seedsFromSnaps(g, [source], [7]);
    expect(sources.seeds).toEqual([{ node: 1, initialDistM: 75, sourceId: 7, edgeSource: 0 }]);
    const result = createSearch(g).run(sources);
    expect(result.dist[0]).toBe(Infinity);
    expect(result.dist[2]).toBe(175);
    const ahead: EdgeSnap = { ...source, alongM: 50, accessM: 1 };
    const behind: EdgeSnap = { ...source, alongM: 10, accessM: 1 };
    expect(distanceToPoint(g, result, ahead)).toBe(26);
    expect(distanceToPoint(g, result, behind)).toBe(Infinity);
    const back = createSearch(reverseGraph(g)).run(seedsFromSnaps(reverseGraph(g), [source], [7]));
    expect(back.dist[0]).toBe(35);
    expect(back.dist[1]).toBe(Infinity);
  });
});

describe('pathToSource and walkToPoint', () => {
  it('returns walks whose lengths add up to the labels and that respect edge direction', () => {
    for (let seed = 300; seed < 310; seed++) {
      const random = testRandom(seed);
      const g = buildGraph(randomWalkGraph(random, { nodeCount: 50, edgeCount: 110 }));
      const sources = [0, 1, 2].map(() => randomEdgeSnap(random, g, random.int(0, g.edgeCount - 1)));
      const run = seedsFromSnaps(g, sources, [10, 11, 12]);
      const result = createSearch(g).run(run);
      for (let v = 0; v < g.nodeCount; v++) {
        const path = pathToSource(g, result, v);
        if (result.dist[v] === Infinity) {
          expect(path).toBeNull();
          continue;
        }
        const seedDist = run.seeds
          .filter((s) => s.node === path!.seedNode && s.sourceId === path!.sourceId)
          .reduce((m, s) => Math.min(m, s.initialDistM), Infinity);
        let at = path!.seedNode,
          sum = seedDist;
        path!.edges.forEach((e, i) => {
          const forward = path!.forward[i];
          expect(forward ? g.edgeFrom[e] : g.edgeTo[e]).toBe(at);
          expect(g.edgeDir[e]).not.toBe(forward ? DIR_BACKWARD : DIR_FORWARD);
          at = forward ? g.edgeTo[e] : g.edgeFrom[e];
          sum += g.edgeLengthM[e];
        });
        expect(at).toBe(v);
        expect(Math.abs(sum - result.dist[v])).toBeLessThan(1e-9);
      }
      for (let i = 0; i < 20; i++) {
        const target = randomEdgeSnap(random, g, random.int(0, g.edgeCount - 1));
        const walk = walkToPoint(g, result, target);
        if (!walk) {
          expect(distanceToPoint(g, result, target)).toBe(Infinity);
          continue;
        }
        const sourceSnap = sources[walk.sourceId - 10];
        expect(walk.coordinates[0]).toEqual([sourceSnap.pointLng, sourceSnap.pointLat]);
        expect(walk.coordinates.at(-1)).toEqual([target.pointLng, target.pointLat]);
        const passes = (lng: number, lat: number) =>
          walk.coordinates.some(([x, y]) => geodesicM(x, y, lng, lat) < 1e-6);
        expect(passes(sourceSnap.lng, sourceSnap.lat)).toBe(true);
        expect(passes(target.lng, target.lat)).toBe(true);
      }
    }
  });
});

import { describe, expect, it } from 'vitest';
import { randomWalkGraph, testRandom } from './fixtures/random-walk-graph.ts';
import { buildGraph, graphMemoryBytes, reverseGraph, type WalkGraphInput } from './graph.ts';

/** Sorted "from>to@edge:length" strings of the arcs, from the CSR or straight from the edge list. */
function csrArcs(g: ReturnType<typeof buildGraph>): string[] {
    const out: string[] = [];
    for (let u = 0; u < g.nodeCount; u++) {
        for (let a = g.arcOffset[u]; a < g.arcOffset[u + 1]; a++) out.push(`${u}>${g.arcTo[a]}@${g.arcEdge[a]}:${g.arcLengthM[a]}`);
    }
    return out.sort();
}
function edgeListArcs(g: WalkGraphInput): string[] {
    const out: string[] = [];
    for (let e = 0; e < g.edgeFrom.length; e++) {
        if (g.edgeDir[e] !== 2) out.push(`${g.edgeFrom[e]}>${g.edgeTo[e]}@${e}:${g.edgeLengthM[e]}`);
        if (g.edgeDir[e] !== 1) out.push(`${g.edgeTo[e]}>${g.edgeFrom[e]}@${e}:${g.edgeLengthM[e]}`);
    }
    return out.sort();
}

describe('buildGraph', () => {
    it('has exactly the arcs the edge list implies, ordered by edge id per node', () => {
        for (let seed = 1; seed <= 20; seed++) {
            const random = testRandom(seed);
            const input = randomWalkGraph(random, { nodeCount: random.int(1, 40), edgeCount: random.int(0, 80), oneWayShare: 0.5 });
            const g = buildGraph(input);
            expect(csrArcs(g)).toEqual(edgeListArcs(input));
            expect(g.arcOffset[g.nodeCount]).toBe(g.arcCount);
            for (let u = 0; u < g.nodeCount; u++) {
                for (let a = g.arcOffset[u] + 1; a < g.arcOffset[u + 1]; a++) expect(g.arcEdge[a]).toBeGreaterThanOrEqual(g.arcEdge[a - 1]);
            }
            expect(csrArcs(reverseGraph(g))).toEqual(edgeListArcs(input).map((s) => s.replace(/^(\d+)>(\d+)/, '$2>$1')).sort());
            expect(graphMemoryBytes(g)).toBeGreaterThan(g.arcCount * 16);
        }
    });

    it('returns the graph itself as its reverse when nothing is one-way', () => {
        const g = buildGraph(randomWalkGraph(testRandom(3), { nodeCount: 10, edgeCount: 20, oneWayShare: 0 }));
        expect(reverseGraph(g)).toBe(g);
    });

    it('rejects malformed input', () => {
        const input = randomWalkGraph(testRandom(5), { nodeCount: 5, edgeCount: 6 });
        expect(() => buildGraph({ ...input, edgeTo: Int32Array.from(input.edgeTo, (v, i) => (i === 2 ? 5 : v)) })).toThrow(/edge 2/);
        expect(() => buildGraph({ ...input, edgeLengthM: Float64Array.from(input.edgeLengthM, (v, i) => (i === 1 ? NaN : v)) })).toThrow(/edge 1/);
        expect(() => buildGraph({ ...input, edgeDir: Uint8Array.from(input.edgeDir, (v, i) => (i === 0 ? 3 : v)) })).toThrow(/direction/);
        expect(() => buildGraph({ ...input, edgeCoordOffset: input.edgeCoordOffset.subarray(1) })).toThrow(RangeError);
        expect(() => buildGraph({ ...input, nodeLat: new Float64Array(4) })).toThrow(RangeError);
    });
});

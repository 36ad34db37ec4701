import { lineSliceAtFractions } from './geodesy.ts';
import { DIR_BACKWARD, DIR_FORWARD, type WalkGraph } from './graph.ts';
import type { EdgeSnap, SnapResult } from './snap.ts';

/** A start node for a search: the walk to `node` has already cost `initialDistM` metres. */
export interface Seed {
    node: number;
    initialDistM: number;
    sourceId: number;
    /** index into {@link Sources.edgeSources} of the snapped point this seed comes from, if any */
    edgeSource?: number;
}

/** A source placed mid-edge: it also reaches points on its own edge without passing a node. */
export interface EdgeSource {
    snap: EdgeSnap;
    sourceId: number;
}

/** Seeds together with the snapped points they come from. */
export interface Sources {
    seeds: Seed[];
    edgeSources: EdgeSource[];
}

/**
 * The labels of the last {@link Search.run}: views on the search's buffers, overwritten by the next
 * run. For every node whose walking distance from the nearest source is at most `maxDistM`,
 * `dist` is that distance in metres (else Infinity), `source` the sourceId of the nearest source
 * (lowest sourceId among equals, else -1) and `predArc` the arc it was reached by (-1 for seeds).
 */
export interface SearchResult {
    dist: Float64Array;
    source: Int32Array;
    predArc: Int32Array;
    maxDistM: number;
    /** the nodes with a finite `dist`, in no particular order */
    reached: Int32Array;
    /**
     * node expansions the run made: `reached.length` plus re-expansions (a cost diagnostic; absent
     * on results copied or assembled elsewhere)
     */
    expandedCount?: number;
    seeds: readonly Seed[];
    edgeSources: readonly EdgeSource[];
    /** edge id → indices into `edgeSources` on that edge */
    edgeSourcesByEdge: Map<number, number[]>;
}

/** A multi-source bounded Dijkstra over one graph, with its buffers allocated once. */
export interface Search {
    graph: WalkGraph;
    bucketWidthM: number;
    /**
     * Labels every node within `maxDistM` of the nearest seed. Distances are walked along arcs,
     * i.e. away from the sources; use `reverseGraph` for distances towards them.
     * Deterministic: equal distances go to the lowest sourceId, and the whole result (predArc
     * included) does not depend on the order the seeds are listed in.
     * O(V' + E' + maxDist / bucketWidthM) for the V' nodes and E' arcs within reach, plus
     * re-expansions of nodes improved inside their own bucket (rare when most arcs are longer than
     * bucketWidthM); resets only what the previous run touched.
     */
    run(sources: Sources | readonly Seed[], maxDistM?: number): SearchResult;
}

export interface SearchOptions {
    /** width of a bucket of the queue, metres; default {@link DEFAULT_BUCKET_WIDTH_M} */
    bucketWidthM?: number;
}

/**
 * Default queue bucket width. Measured, not from a standard: on a 1M-node grid with 500 sources,
 * 5 m ran fastest among 2, 5 and 10 m, for 70–90 m arcs and for arcs of 1–300 m alike.
 */
export const DEFAULT_BUCKET_WIDTH_M = 5;

// bound on the bucket ring, so a graph with one absurdly long arc gets wider buckets instead
const MAX_RING_SIZE = 1 << 20;

/**
 * Allocates the buffers for searches over `graph`: 20 bytes per node, plus a bucket ring and an
 * entry pool that grows to the largest number of queued labels seen. O(V + E).
 *
 * The queue is a ring of distance buckets (Dial's algorithm, widened as in Δ-stepping): a node is
 * expanded when the scan reaches the bucket of its distance, and a node improved by an arc shorter
 * than the bucket width, inside the current bucket, is simply expanded again. Labels are exact; on
 * street networks it beat a binary heap (flatqueue) by 1.5–2× because nodes of one wavefront are
 * expanded together, which keeps their memory in cache.
 */
export function createSearch(graph: WalkGraph, options: SearchOptions = {}): Search {
    const n = graph.nodeCount;
    const { arcOffset, arcTo, arcLengthM, arcCount } = graph;
    let maxArcM = 0;
    for (let a = 0; a < arcCount; a++) if (arcLengthM[a] > maxArcM) maxArcM = arcLengthM[a];
    let bucketWidthM = options.bucketWidthM ?? DEFAULT_BUCKET_WIDTH_M;
    if (!(bucketWidthM > 0 && bucketWidthM < Infinity)) throw new RangeError(`bucketWidthM ${bucketWidthM} must be > 0`);
    bucketWidthM = Math.max(bucketWidthM, maxArcM / (MAX_RING_SIZE - 2));
    // pushes land at most floor(maxArcM / width) + 1 buckets ahead of the current one
    let ringSize = 2;
    while (ringSize < Math.floor(maxArcM / bucketWidthM) + 2) ringSize *= 2;
    const ringMask = ringSize - 1;
    const perBucket = 1 / bucketWidthM;

    const dist = new Float64Array(n).fill(Infinity);
    const source = new Int32Array(n).fill(-1);
    const predArc = new Int32Array(n).fill(-1);
    const touched = new Int32Array(n);
    let touchedCount = 0;
    const head = new Int32Array(ringSize).fill(-1);
    // queued labels: node, its distance when queued (stale once the node improves), next in bucket
    let entryNode = new Int32Array(1024);
    let entryDistM = new Float64Array(1024);
    let entryNext = new Int32Array(1024);

    const result: SearchResult = {
        dist, source, predArc, maxDistM: Infinity, reached: touched.subarray(0, 0), expandedCount: 0,
        seeds: [], edgeSources: [], edgeSourcesByEdge: new Map()
    };

    function grow(): void {
        const size = entryNode.length * 2;
        const nodes = new Int32Array(size); nodes.set(entryNode); entryNode = nodes;
        const dists = new Float64Array(size); dists.set(entryDistM); entryDistM = dists;
        const next = new Int32Array(size); next.set(entryNext); entryNext = next;
    }

    let lastExpandedCount = 0;

    /**
     * The bucket scan proper; returns the number of touched nodes. Everything the loop reads is in a
     * local, which keeps V8 from reloading closure slots on every arc.
     */
    function searchBuckets(seeds: readonly Seed[], maxDistM: number): number {
        const dist_ = dist, source_ = source, predArc_ = predArc, touched_ = touched, head_ = head;
        let nodes = entryNode, dists = entryDistM, next = entryNext;
        let touchedN = 0, used = 0, free = -1, pending = 0, expanded = 0;

        // seeds in a canonical order, so that equal-cost arcs are expanded in the same order (and
        // predArc comes out the same) whatever order the caller listed the sources in; each is
        // queued when the scan reaches its bucket, as seeds may lie farther apart than the ring
        const order = seeds.map((_, i) => i).sort((i, j) => compareSeeds(seeds[i], seeds[j]));
        let nextSeed = 0;

        for (let bucket = 0; ; bucket++) {
            if (pending === 0) {
                if (nextSeed === order.length || seeds[order[nextSeed]].initialDistM > maxDistM) break;
                bucket = Math.max(bucket, Math.floor(seeds[order[nextSeed]].initialDistM * perBucket));
            }
            for (; nextSeed < order.length; nextSeed++) {
                const { node, initialDistM: d, sourceId } = seeds[order[nextSeed]];
                if (d > maxDistM || Math.floor(d * perBucket) > bucket) break;
                const dv = dist_[node];
                if (d < dv || (d === dv && sourceId < source_[node])) {
                    if (dv === Infinity) touched_[touchedN++] = node;
                    dist_[node] = d; source_[node] = sourceId; predArc_[node] = -1;
                    let k = free;
                    if (k !== -1) free = next[k];
                    else {
                        if (used === nodes.length) { grow(); nodes = entryNode; dists = entryDistM; next = entryNext; }
                        k = used++;
                    }
                    const slot = bucket & ringMask;
                    nodes[k] = node; dists[k] = d; next[k] = head_[slot]; head_[slot] = k; pending++;
                }
            }

            const slot = bucket & ringMask;
            while (head_[slot] !== -1) {
                const k = head_[slot];
                head_[slot] = next[k]; next[k] = free; free = k; pending--;
                const u = nodes[k];
                const du = dist_[u];
                if (dists[k] !== du) continue;
                expanded++;
                const su = source_[u];
                for (let a = arcOffset[u], end = arcOffset[u + 1]; a < end; a++) {
                    const nd = du + arcLengthM[a];
                    if (nd > maxDistM) continue;
                    const v = arcTo[a];
                    const dv = dist_[v];
                    if (nd < dv || (nd === dv && su < source_[v])) {
                        if (dv === Infinity) touched_[touchedN++] = v;
                        dist_[v] = nd; source_[v] = su; predArc_[v] = a;
                        let e = free;
                        if (e !== -1) free = next[e];
                        else {
                            if (used === nodes.length) { grow(); nodes = entryNode; dists = entryDistM; next = entryNext; }
                            e = used++;
                        }
                        const s = Math.floor(nd * perBucket) & ringMask;
                        nodes[e] = v; dists[e] = nd; next[e] = head_[s]; head_[s] = e; pending++;
                    }
                }
            }
        }
        lastExpandedCount = expanded;
        return touchedN;
    }

    function run(sources: Sources | readonly Seed[], maxDistM = Infinity): SearchResult {
        if (!(maxDistM >= 0)) throw new RangeError(`maxDistM ${maxDistM} must be ≥ 0`);
        const seeds = isSeedList(sources) ? sources : sources.seeds;
        const edgeSources = isSeedList(sources) ? [] : sources.edgeSources;
        for (const { node, initialDistM } of seeds) {
            if (!(node >= 0 && node < n)) throw new RangeError(`seed node ${node} outside 0..${n - 1}`);
            if (!(initialDistM >= 0 && initialDistM < Infinity)) throw new RangeError(`seed distance ${initialDistM} must be finite and ≥ 0`);
        }

        for (let i = 0; i < touchedCount; i++) {
            const u = touched[i];
            dist[u] = Infinity; source[u] = -1; predArc[u] = -1;
        }
        head.fill(-1);
        touchedCount = searchBuckets(seeds, maxDistM);

        const byEdge = new Map<number, number[]>();
        edgeSources.forEach((s, i) => {
            const list = byEdge.get(s.snap.edge);
            if (list) list.push(i); else byEdge.set(s.snap.edge, [i]);
        });
        result.maxDistM = maxDistM;
        result.reached = touched.subarray(0, touchedCount);
        result.expandedCount = lastExpandedCount;
        result.seeds = seeds;
        result.edgeSources = edgeSources;
        result.edgeSourcesByEdge = byEdge;
        return result;
    }

    return { graph, bucketWidthM, run };
}

function compareSeeds(a: Seed, b: Seed): number {
    return a.initialDistM - b.initialDistM || a.sourceId - b.sourceId || a.node - b.node ||
        (a.edgeSource ?? -1) - (b.edgeSource ?? -1);
}

function isSeedList(sources: Sources | readonly Seed[]): sources is readonly Seed[] {
    return Array.isArray(sources);
}

/**
 * Turns snapped source points into seeds: a point at `alongM` on edge e with access leg `accessM`
 * seeds e's `from` node with `accessM + alongM` and its `to` node with
 * `accessM + lengthM − alongM`, each only if the edge may be walked that way (a point exactly at
 * an end node seeds it whatever the direction: walking zero metres needs no permission). A point
 * on a `DIR_NONE` edge (no through route, but entered from either end) seeds both ends. Failed
 * snaps are skipped. O(number of snaps).
 */
export function seedsFromSnaps(graph: WalkGraph, snaps: readonly SnapResult[], sourceIds: ArrayLike<number>): Sources {
    if (sourceIds.length !== snaps.length) throw new RangeError('snaps and sourceIds must have the same length');
    const seeds: Seed[] = [];
    const edgeSources: EdgeSource[] = [];
    for (let i = 0; i < snaps.length; i++) {
        const snap = snaps[i];
        if (snap.unreachable) continue;
        const e = snap.edge;
        const sourceId = sourceIds[i];
        const k = edgeSources.push({ snap, sourceId }) - 1;
        const dir = graph.edgeDir[e];
        if (dir !== DIR_FORWARD || snap.alongM === 0) {
            seeds.push({ node: graph.edgeFrom[e], initialDistM: snap.accessM + snap.alongM, sourceId, edgeSource: k });
        }
        if (dir !== DIR_BACKWARD || snap.alongM === graph.edgeLengthM[e]) {
            seeds.push({
                node: graph.edgeTo[e], initialDistM: snap.accessM + (graph.edgeLengthM[e] - snap.alongM), sourceId, edgeSource: k
            });
        }
    }
    return { seeds, edgeSources };
}

/** How a point is reached: its distance, nearest source and the way in. */
export interface PointReach {
    distM: number;
    sourceId: number;
    /** 'from' / 'to': through that end node of the point's edge; 'edge': from `edgeSource` on the same edge */
    via: 'from' | 'to' | 'edge';
    /** index into `result.edgeSources` when `via` is 'edge' */
    edgeSource: number;
}

const scratchReach: PointReach = { distM: Infinity, sourceId: -1, via: 'from', edgeSource: -1 };

/** Best way to a snapped point, written into `out`; distM is Infinity when none is within maxDistM. */
function bestReach(graph: WalkGraph, result: SearchResult, snap: EdgeSnap, out: PointReach): PointReach {
    const e = snap.edge;
    const dir = graph.edgeDir[e];
    const lengthM = graph.edgeLengthM[e];
    const { dist, source } = result;
    out.distM = Infinity; out.sourceId = -1; out.via = 'from'; out.edgeSource = -1;
    const from = graph.edgeFrom[e], to = graph.edgeTo[e];
    if ((dir !== DIR_BACKWARD || snap.alongM === 0) && dist[from] < Infinity) {
        offer(out, dist[from] + snap.alongM + snap.accessM, source[from], 'from', -1);
    }
    if ((dir !== DIR_FORWARD || snap.alongM === lengthM) && dist[to] < Infinity) {
        offer(out, dist[to] + (lengthM - snap.alongM) + snap.accessM, source[to], 'to', -1);
    }
    const onEdge = result.edgeSourcesByEdge.get(e);
    if (onEdge) {
        for (const k of onEdge) {
            const { snap: s, sourceId } = result.edgeSources[k];
            const deltaM = snap.alongM - s.alongM;
            if ((deltaM > 0 && dir === DIR_BACKWARD) || (deltaM < 0 && dir === DIR_FORWARD)) continue;
            offer(out, s.accessM + Math.abs(deltaM) + snap.accessM, sourceId, 'edge', k);
        }
    }
    if (out.distM > result.maxDistM) { out.distM = Infinity; out.sourceId = -1; }
    return out;
}

function offer(out: PointReach, distM: number, sourceId: number, via: PointReach['via'], edgeSource: number): void {
    if (distM < out.distM || (distM === out.distM && sourceId < out.sourceId)) {
        out.distM = distM; out.sourceId = sourceId; out.via = via; out.edgeSource = edgeSource;
    }
}

/**
 * Walking distance in metres from the nearest source of `result` to a snapped point, access legs
 * included: through either end of the point's edge (where the edge may be walked towards the
 * point, or the point is exactly at that end; both ends of a `DIR_NONE` edge), or straight along
 * the edge from a source snapped onto the same edge (in a direction the edge allows; either way
 * on a `DIR_NONE` edge). Exact when at most
 * `result.maxDistM`, otherwise Infinity. O(1 + sources on that edge).
 */
export function distanceToPoint(graph: WalkGraph, result: SearchResult, snap: SnapResult): number {
    if (snap.unreachable) return Infinity;
    return bestReach(graph, result, snap, scratchReach).distM;
}

/** Like {@link distanceToPoint}, also telling which source and which way; null if out of reach. */
export function reachPoint(graph: WalkGraph, result: SearchResult, snap: SnapResult): PointReach | null {
    if (snap.unreachable) return null;
    const reach = bestReach(graph, result, snap, { distM: Infinity, sourceId: -1, via: 'from', edgeSource: -1 });
    return reach.distM < Infinity ? reach : null;
}

/** The walk from a seed to a node, as found by a search. */
export interface NodePath {
    sourceId: number;
    distM: number;
    seedNode: number;
    /** edge ids in walking order, from the seed node to the node */
    edges: number[];
    /** per edge: true where the walk goes from its `from` node to its `to` node */
    forward: boolean[];
}

/**
 * Follows `predArc` back from `node` to the seed that labelled it. Null if `node` was not reached.
 * O(path length).
 */
export function pathToSource(graph: WalkGraph, result: SearchResult, node: number): NodePath | null {
    const { dist, predArc } = result;
    if (!(dist[node] < Infinity)) return null;
    const edges: number[] = [];
    const forward: boolean[] = [];
    let v = node;
    // the search never takes a self-loop (it cannot shorten anything), so each arc's tail is the other end
    for (let a = predArc[v]; a !== -1; a = predArc[v]) {
        const e = graph.arcEdge[a];
        const isForward = graph.edgeTo[e] === v && graph.edgeFrom[e] !== v;
        edges.push(e);
        forward.push(isForward);
        v = isForward ? graph.edgeFrom[e] : graph.edgeTo[e];
        if (edges.length > graph.nodeCount) throw new Error('predArc has a cycle: the result is stale');
    }
    edges.reverse();
    forward.reverse();
    return { sourceId: result.source[node], distM: dist[node], seedNode: v, edges, forward };
}

/** A walk between two points, as GeoJSON positions. */
export interface PointWalk {
    sourceId: number;
    distM: number;
    /** `[lng, lat]` positions from the source's query point, along the network, to the target point */
    coordinates: [number, number][];
}

/**
 * The walk from the nearest source to a snapped point as a GeoJSON LineString coordinate list:
 * the source's access leg, the part of its edge up to the seed node, the edges in between, the
 * part of the target's edge up to the snapped point and the target's access leg. Edges are cut at
 * the snap points in proportion to their haversine length. Null if out of reach, or if the
 * winning seed did not come from a snapped point. O(path length + polyline points on it).
 */
export function walkToPoint(graph: WalkGraph, result: SearchResult, snap: SnapResult): PointWalk | null {
    const reach = reachPoint(graph, result, snap);
    if (!reach || snap.unreachable) return null;
    const e = snap.edge;
    const lengthM = graph.edgeLengthM[e];
    const targetFraction = lengthM > 0 ? snap.alongM / lengthM : 0;
    const coordinates: [number, number][] = [];

    let sourceSnap: EdgeSnap;
    if (reach.via === 'edge') {
        sourceSnap = result.edgeSources[reach.edgeSource].snap;
        coordinates.push([sourceSnap.pointLng, sourceSnap.pointLat]);
        appendSlice(graph, coordinates, e, lengthM > 0 ? sourceSnap.alongM / lengthM : 0, targetFraction);
    } else {
        const node = reach.via === 'from' ? graph.edgeFrom[e] : graph.edgeTo[e];
        const path = pathToSource(graph, result, node)!;
        const seed = findSeed(result, path.seedNode);
        if (!seed || seed.edgeSource === undefined) return null;
        sourceSnap = result.edgeSources[seed.edgeSource].snap;
        const se = sourceSnap.edge;
        const seLengthM = graph.edgeLengthM[se];
        coordinates.push([sourceSnap.pointLng, sourceSnap.pointLat]);
        // which end the seed is; on a loop both ends are one node, so tell them apart by distance
        const seedAtFrom = seed.node === graph.edgeFrom[se] &&
            (graph.edgeFrom[se] !== graph.edgeTo[se] || seed.initialDistM === sourceSnap.accessM + sourceSnap.alongM);
        appendSlice(graph, coordinates, se, seLengthM > 0 ? sourceSnap.alongM / seLengthM : 0, seedAtFrom ? 0 : 1);
        for (let i = 0; i < path.edges.length; i++) {
            appendSlice(graph, coordinates, path.edges[i], path.forward[i] ? 0 : 1, path.forward[i] ? 1 : 0);
        }
        appendSlice(graph, coordinates, e, reach.via === 'from' ? 0 : 1, targetFraction);
    }
    appendPosition(coordinates, snap.pointLng, snap.pointLat);
    return { sourceId: reach.sourceId, distM: reach.distM, coordinates };
}

/** The seed that gave `node` its label (it set dist and source exactly). */
function findSeed(result: SearchResult, node: number): Seed | undefined {
    let best: Seed | undefined;
    for (const seed of result.seeds) {
        if (seed.node === node && seed.initialDistM === result.dist[node] && seed.sourceId === result.source[node]) {
            if (!best || (best.edgeSource === undefined && seed.edgeSource !== undefined)) best = seed;
        }
    }
    return best;
}

function appendSlice(graph: WalkGraph, out: [number, number][], e: number, fromFraction: number, toFraction: number): void {
    const start = graph.edgeCoordOffset[e], end = graph.edgeCoordOffset[e + 1];
    for (const [lng, lat] of lineSliceAtFractions(graph.edgeCoords, start, end, fromFraction, toFraction)) {
        appendPosition(out, lng, lat);
    }
}

function appendPosition(out: [number, number][], lng: number, lat: number): void {
    const last = out[out.length - 1];
    if (!last || last[0] !== lng || last[1] !== lat) out.push([lng, lat]);
}

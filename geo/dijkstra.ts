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
   * O(S + V' + E' + maxDist / bucketWidthM) for S seeds and the V' nodes and E' arcs within
   * reach, plus re-expansions of nodes improved inside their own bucket (rare when most arcs are
   * longer than bucketWidthM). Copying the labels out costs O(V' + the previous run's V') when
   * both reach few nodes, else one sequential sweep of all V (~7 ms for 1M nodes).
   */
  run(sources: Sources | readonly Seed[], maxDistM?: number): SearchResult;
}

export interface SearchOptions {
  /** width of a bucket of the queue, metres; default {@link DEFAULT_BUCKET_WIDTH_M} */
  bucketWidthM?: number;
}

/**
 * Default queue bucket width. Measured, not from a standard: on a 1M-node grid with 500 sources,
 * 5 m ran fastest among 2, 5 and 10 m, for 70–90 m arcs and for arcs of 1–300 m alike; with the
 * batched expansion, on the 1M-node sample city, 2.5 to 50 m ran alike.
 */
export const DEFAULT_BUCKET_WIDTH_M = 5;

// bound on the bucket ring, so a graph with one absurdly long arc gets wider buckets instead
const MAX_RING_SIZE = 1 << 20;

// A bucket's entries are stored in chunks of 2^CHUNK_SHIFT, each expanded as one batch (see
// createSearch). Measured on the 1M-node sample city: 128 to 1024 ran alike, 64 slower.
const CHUNK_SHIFT = 8;
const CHUNK_SIZE = 1 << CHUNK_SHIFT;

// digits of the radix sort that puts seeds in canonical order
const RADIX_BITS = 11;
const RADIX_MASK = (1 << RADIX_BITS) - 1;

/**
 * Allocates the buffers for searches over `graph`: 48 bytes per node and 16 per arc (24 + 16 of
 * them a private copy of the adjacency, laid out for the search), plus a bucket ring and an entry
 * pool (12 bytes per queued label, in chunks of 256 per non-empty bucket) that grows to the largest
 * queue seen. O(V + E): ~70 ms for 1M nodes, most of it the kernel mapping in fresh memory.
 *
 * The queue is a ring of distance buckets (Dial's algorithm, widened as in Δ-stepping): a node is
 * expanded when the scan reaches the bucket of its distance, and a node improved by an arc shorter
 * than the bucket width, inside the current bucket, is simply expanded again. Labels are exact; on
 * street networks it beat a binary heap (flatqueue) by 1.5–2× because nodes of one wavefront are
 * expanded together.
 *
 * On a city-sized graph nearly every expansion still misses the cache, as a bucket's nodes lie all
 * over the city, and a dependent miss costs ~200 ns on a busy 2-core VM. So a node's label and its
 * arcs share one block, blocks are in node order (Hilbert order for networks from `loadNetwork`,
 * so an arc's head is mostly a few blocks away), a bucket's entries lie contiguously in chunks, and
 * each chunk is expanded in three passes: read the chunk's blocks, read the blocks its arcs lead
 * to, then relax. The first two passes have no branch that depends on what they read, so the CPU
 * keeps many misses in flight instead of one. On the 1M-node sample city with 53k sources the
 * layout took a search from ~450 to ~175 ms and the passes to ~130 ms.
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

  // Node v's block starts at 8-byte word 3v + 2 arcOffset[v]: distM (f64); source, predArc,
  // node, arc count (i32); then per arc lengthM (f64), the head's block and the arc id (i32)
  const blockWords = 3 * n + 2 * arcCount;
  const blocks = new ArrayBuffer(8 * blockWords);
  const blockF = new Float64Array(blocks);
  const blockI = new Int32Array(blocks);
  for (let v = 0; v < n; v++) {
    const b = 3 * v + 2 * arcOffset[v];
    blockF[b] = Infinity;
    blockI[2 * b + 2] = -1;
    blockI[2 * b + 3] = -1;
    blockI[2 * b + 4] = v;
    blockI[2 * b + 5] = arcOffset[v + 1] - arcOffset[v];
    for (let a = arcOffset[v], aEnd = arcOffset[v + 1], q = b + 3; a < aEnd; a++, q += 2) {
      const w = arcTo[a];
      blockF[q] = arcLengthM[a];
      blockI[2 * q + 2] = 3 * w + 2 * arcOffset[w];
      blockI[2 * q + 3] = a;
    }
  }

  const dist = new Float64Array(n).fill(Infinity);
  const source = new Int32Array(n).fill(-1);
  const predArc = new Int32Array(n).fill(-1);
  const reached = new Int32Array(n);
  let reachedCount = 0;
  // blocks labelled by the current run, in the order they were first labelled
  const touched = new Int32Array(n);
  // per ring slot: first chunk of its list, and the entry after its last (0: empty)
  const slotFirst = new Int32Array(ringSize).fill(-1);
  const slotEnd = new Int32Array(ringSize);
  // queued labels: a block and its distance when queued (stale once the node improves)
  let chunkCapacity = 16;
  let entryBlock = new Int32Array(chunkCapacity << CHUNK_SHIFT);
  let entryDistM = new Float64Array(chunkCapacity << CHUNK_SHIFT);
  let chunkNext = new Int32Array(chunkCapacity);
  // seeded blocks by (bucket, block), grown to the most seeds seen
  let seedBlock = new Int32Array(0),
    seedBucket = new Float64Array(0);
  let seedBlockOut = new Int32Array(0),
    seedBucketOut = new Float64Array(0);
  const radixCounts = new Int32Array(RADIX_MASK + 1);

  const result: SearchResult = {
    dist,
    source,
    predArc,
    maxDistM: Infinity,
    reached: reached.subarray(0, 0),
    expandedCount: 0,
    seeds: [],
    edgeSources: [],
    edgeSourcesByEdge: new Map(),
  };

  function grow(): void {
    chunkCapacity *= 2;
    const blocks = new Int32Array(chunkCapacity << CHUNK_SHIFT);
    blocks.set(entryBlock);
    entryBlock = blocks;
    const dists = new Float64Array(chunkCapacity << CHUNK_SHIFT);
    dists.set(entryDistM);
    entryDistM = dists;
    const next = new Int32Array(chunkCapacity);
    next.set(chunkNext);
    chunkNext = next;
  }

  /** Labels the seeds' nodes (lowest distance, then lowest sourceId); returns how many were labelled. */
  function labelSeeds(seeds: readonly Seed[], maxDistM: number): number {
    let touchedN = 0;
    for (let i = 0; i < seeds.length; i++) {
      const { node, initialDistM: d, sourceId } = seeds[i];
      if (d > maxDistM) continue;
      const b = 3 * node + 2 * arcOffset[node];
      const dv = blockF[b];
      if (d < dv || (d === dv && sourceId < blockI[2 * b + 2])) {
        if (dv === Infinity) touched[touchedN++] = b;
        blockF[b] = d;
        blockI[2 * b + 2] = sourceId;
      }
    }
    return touchedN;
  }

  /**
   * Puts the `count` seeded blocks in `touched` into seedBlock / seedBucket by bucket, then block
   * (= node order): a canonical order, so that equal-cost arcs are expanded in the same order (and
   * predArc comes out the same) whatever order the caller listed the sources in. LSD radix sort,
   * O(count) for any realistic spread of seed distances.
   */
  function sortSeeds(count: number): void {
    if (seedBlock.length < count) {
      const size = Math.max(count, 2 * seedBlock.length);
      seedBlock = new Int32Array(size);
      seedBlockOut = new Int32Array(size);
      seedBucket = new Float64Array(size);
      seedBucketOut = new Float64Array(size);
    }
    let minBucket = Infinity,
      maxBucket = -Infinity;
    for (let i = 0; i < count; i++) {
      const b = touched[i];
      const bucket = Math.floor(blockF[b] * perBucket);
      seedBlock[i] = b;
      seedBucket[i] = bucket;
      if (bucket < minBucket) minBucket = bucket;
      if (bucket > maxBucket) maxBucket = bucket;
    }
    if (count < 2) return;
    if (!(maxBucket - minBucket < 2 ** 31)) {
      // seeds spread over more than 2^31 buckets (10 million km at 5 m): sort by comparison
      const order = Array.from(seedBlock.subarray(0, count), (b, i) => i).sort(
        (i, j) => seedBucket[i] - seedBucket[j] || seedBlock[i] - seedBlock[j],
      );
      for (let i = 0; i < count; i++) {
        seedBlockOut[i] = seedBlock[order[i]];
        seedBucketOut[i] = seedBucket[order[i]];
      }
      swapSeedBuffers();
      return;
    }
    for (let shift = 0; shift < 32 - Math.clz32(blockWords); shift += RADIX_BITS) radixPass(count, false, 0, shift);
    for (let shift = 0; shift < 32 - Math.clz32(maxBucket - minBucket); shift += RADIX_BITS)
      radixPass(count, true, minBucket, shift);
  }

  /** One stable counting-sort pass on a digit of the block, or of the bucket − `base`. */
  function radixPass(count: number, byBucket: boolean, base: number, shift: number): void {
    const counts = radixCounts;
    counts.fill(0);
    for (let i = 0; i < count; i++) counts[((byBucket ? seedBucket[i] - base : seedBlock[i]) >>> shift) & RADIX_MASK]++;
    for (let d = 0, sum = 0; d <= RADIX_MASK; d++) {
      const c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < count; i++) {
      const j = counts[((byBucket ? seedBucket[i] - base : seedBlock[i]) >>> shift) & RADIX_MASK]++;
      seedBlockOut[j] = seedBlock[i];
      seedBucketOut[j] = seedBucket[i];
    }
    swapSeedBuffers();
  }

  function swapSeedBuffers(): void {
    const blocks = seedBlock;
    seedBlock = seedBlockOut;
    seedBlockOut = blocks;
    const buckets = seedBucket;
    seedBucket = seedBucketOut;
    seedBucketOut = buckets;
  }

  let lastExpandedCount = 0;
  // where the prefetch passes leave what they read, so that the compiler cannot drop the reads
  let prefetchSink = 0;

  /**
   * The bucket scan proper, from the `seedCount` sorted seeds; returns the number of touched
   * blocks. Everything the loop reads is in a local, which keeps V8 from reloading closure slots on
   * every arc.
   */
  function searchBuckets(seedCount: number, touchedN: number, maxDistM: number): number {
    const F = blockF,
      I = blockI,
      touched_ = touched,
      first = slotFirst,
      end = slotEnd;
    const seedBlock_ = seedBlock,
      seedBucket_ = seedBucket;
    let entries = entryBlock,
      dists = entryDistM,
      next = chunkNext;
    let chunksUsed = 0,
      freeChunk = -1,
      pending = 0,
      expanded = 0,
      sink = 0;
    let nextSeed = 0;

    for (let bucket = 0; ; bucket++) {
      if (pending === 0) {
        if (nextSeed === seedCount) break;
        bucket = Math.max(bucket, seedBucket_[nextSeed]);
      }
      const slot = bucket & ringMask;
      for (; nextSeed < seedCount && seedBucket_[nextSeed] <= bucket; nextSeed++) {
        const b = seedBlock_[nextSeed];
        // a seed whose label an arc has since improved was queued by that arc
        if (I[2 * b + 3] !== -1) continue;
        let k = end[slot];
        if ((k & (CHUNK_SIZE - 1)) === 0) {
          let c = freeChunk;
          if (c !== -1) freeChunk = next[c];
          else {
            if (chunksUsed === chunkCapacity) {
              grow();
              entries = entryBlock;
              dists = entryDistM;
              next = chunkNext;
            }
            c = chunksUsed++;
          }
          next[c] = -1;
          if (k === 0) first[slot] = c;
          else next[(k - 1) >> CHUNK_SHIFT] = c;
          k = c << CHUNK_SHIFT;
        }
        entries[k] = b;
        dists[k] = F[b];
        end[slot] = k + 1;
        pending++;
      }

      // entries queued into this bucket while it is expanded go to a fresh list, taken next round
      while (end[slot] !== 0) {
        let c = first[slot];
        const slotEndK = end[slot];
        first[slot] = -1;
        end[slot] = 0;
        while (c !== -1) {
          const k0 = c << CHUNK_SHIFT;
          const nextC = next[c];
          const k1 = nextC === -1 ? slotEndK : k0 + CHUNK_SIZE;
          pending -= k1 - k0;
          // prefetch: each block's header and last word, then the header of each arc's head
          for (let k = k0; k < k1; k++) {
            const i = 2 * entries[k];
            sink ^= I[i] ^ I[i + 4 * I[i + 5] + 5];
          }
          for (let k = k0; k < k1; k++) {
            const i = 2 * entries[k];
            for (let j = i + 8, jEnd = j + 4 * I[i + 5]; j < jEnd; j += 4) sink ^= I[2 * I[j]];
          }
          for (let k = k0; k < k1; k++) {
            const b = entries[k];
            const du = F[b];
            if (dists[k] !== du) continue;
            expanded++;
            const su = I[2 * b + 2];
            for (let q = b + 3, qEnd = q + 2 * I[2 * b + 5]; q < qEnd; q += 2) {
              const nd = du + F[q];
              if (nd > maxDistM) continue;
              const w = I[2 * q + 2];
              const dw = F[w];
              if (nd < dw || (nd === dw && su < I[2 * w + 2])) {
                if (dw === Infinity) touched_[touchedN++] = w;
                F[w] = nd;
                I[2 * w + 2] = su;
                I[2 * w + 3] = I[2 * q + 3];
                const s = Math.floor(nd * perBucket) & ringMask;
                let e = end[s];
                if ((e & (CHUNK_SIZE - 1)) === 0) {
                  let c2 = freeChunk;
                  if (c2 !== -1) freeChunk = next[c2];
                  else {
                    if (chunksUsed === chunkCapacity) {
                      grow();
                      entries = entryBlock;
                      dists = entryDistM;
                      next = chunkNext;
                    }
                    c2 = chunksUsed++;
                  }
                  next[c2] = -1;
                  if (e === 0) first[s] = c2;
                  else next[(e - 1) >> CHUNK_SHIFT] = c2;
                  e = c2 << CHUNK_SHIFT;
                }
                entries[e] = w;
                dists[e] = nd;
                end[s] = e + 1;
                pending++;
              }
            }
          }
          next[c] = freeChunk;
          freeChunk = c;
          c = nextC;
        }
      }
    }
    lastExpandedCount = expanded;
    prefetchSink = sink;
    return touchedN;
  }

  /**
   * Copies the labels of the `touchedN` touched blocks into dist / source / predArc / reached and
   * resets the blocks. Touching most of the graph, it sweeps all blocks in order (sequential
   * memory); touching little, it visits only those and the previous run's.
   */
  function publish(touchedN: number): void {
    if (touchedN + reachedCount > n >>> 3) {
      let r = 0;
      for (let v = 0; v < n; v++) {
        const b = 3 * v + 2 * arcOffset[v];
        const d = blockF[b];
        dist[v] = d;
        if (d === Infinity) {
          source[v] = -1;
          predArc[v] = -1;
          continue;
        }
        source[v] = blockI[2 * b + 2];
        predArc[v] = blockI[2 * b + 3];
        reached[r++] = v;
        blockF[b] = Infinity;
        blockI[2 * b + 2] = -1;
        blockI[2 * b + 3] = -1;
      }
      reachedCount = r;
      return;
    }
    for (let i = 0; i < reachedCount; i++) {
      const v = reached[i];
      dist[v] = Infinity;
      source[v] = -1;
      predArc[v] = -1;
    }
    for (let i = 0; i < touchedN; i++) {
      const b = touched[i];
      const v = blockI[2 * b + 4];
      reached[i] = v;
      dist[v] = blockF[b];
      source[v] = blockI[2 * b + 2];
      predArc[v] = blockI[2 * b + 3];
      blockF[b] = Infinity;
      blockI[2 * b + 2] = -1;
      blockI[2 * b + 3] = -1;
    }
    reachedCount = touchedN;
  }

  function run(sources: Sources | readonly Seed[], maxDistM = Infinity): SearchResult {
    if (!(maxDistM >= 0)) throw new RangeError(`maxDistM ${maxDistM} must be ≥ 0`);
    const seeds = isSeedList(sources) ? sources : sources.seeds;
    const edgeSources = isSeedList(sources) ? [] : sources.edgeSources;
    for (const { node, initialDistM } of seeds) {
      if (!(node >= 0 && node < n)) throw new RangeError(`seed node ${node} outside 0..${n - 1}`);
      if (!(initialDistM >= 0 && initialDistM < Infinity))
        throw new RangeError(`seed distance ${initialDistM} must be finite and ≥ 0`);
    }

    const seedCount = labelSeeds(seeds, maxDistM);
    sortSeeds(seedCount);
    publish(searchBuckets(seedCount, seedCount, maxDistM));

    const byEdge = new Map<number, number[]>();
    edgeSources.forEach((s, i) => {
      const list = byEdge.get(s.snap.edge);
      if (list) list.push(i);
      else byEdge.set(s.snap.edge, [i]);
    });
    result.maxDistM = maxDistM;
    result.reached = reached.subarray(0, reachedCount);
    result.expandedCount = lastExpandedCount;
    result.seeds = seeds;
    result.edgeSources = edgeSources;
    result.edgeSourcesByEdge = byEdge;
    return result;
  }

  return { graph, bucketWidthM, run };
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
        node: graph.edgeTo[e],
        initialDistM: snap.accessM + (graph.edgeLengthM[e] - snap.alongM),
        sourceId,
        edgeSource: k,
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
  out.distM = Infinity;
  out.sourceId = -1;
  out.via = 'from';
  out.edgeSource = -1;
  const from = graph.edgeFrom[e],
    to = graph.edgeTo[e];
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
  if (out.distM > result.maxDistM) {
    out.distM = Infinity;
    out.sourceId = -1;
  }
  return out;
}

function offer(out: PointReach, distM: number, sourceId: number, via: PointReach['via'], edgeSource: number): void {
  if (distM < out.distM || (distM === out.distM && sourceId < out.sourceId)) {
    out.distM = distM;
    out.sourceId = sourceId;
    out.via = via;
    out.edgeSource = edgeSource;
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
 * the snap points in proportion to their geodesic length. Null if out of reach, or if the
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
    const seedAtFrom =
      seed.node === graph.edgeFrom[se] &&
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

/** Seeds by node, built once per search result on the first walk asked of it. */
const seedsByNode = new WeakMap<readonly Seed[], Map<number, Seed[]>>();

/** The seed that gave `node` its label (it set dist and source exactly). */
function findSeed(result: SearchResult, node: number): Seed | undefined {
  let index = seedsByNode.get(result.seeds);
  if (!index) {
    index = new Map();
    for (const seed of result.seeds) {
      const list = index.get(seed.node);
      if (list) list.push(seed);
      else index.set(seed.node, [seed]);
    }
    seedsByNode.set(result.seeds, index);
  }
  let best: Seed | undefined;
  for (const seed of index.get(node) ?? []) {
    if (seed.initialDistM === result.dist[node] && seed.sourceId === result.source[node]) {
      if (!best || (best.edgeSource === undefined && seed.edgeSource !== undefined)) best = seed;
    }
  }
  return best;
}

function appendSlice(
  graph: WalkGraph,
  out: [number, number][],
  e: number,
  fromFraction: number,
  toFraction: number,
): void {
  const start = graph.edgeCoordOffset[e],
    end = graph.edgeCoordOffset[e + 1];
  const c = graph.edgeCoords;
  // whole edges (every edge between the two ends of a walk) are copied as they are
  if (fromFraction === 0 && toFraction === 1) {
    for (let i = start; i < end; i++) appendPosition(out, c[2 * i], c[2 * i + 1]);
  } else if (fromFraction === 1 && toFraction === 0) {
    for (let i = end - 1; i >= start; i--) appendPosition(out, c[2 * i], c[2 * i + 1]);
  } else {
    for (const [lng, lat] of lineSliceAtFractions(c, start, end, fromFraction, toFraction))
      appendPosition(out, lng, lat);
  }
}

function appendPosition(out: [number, number][], lng: number, lat: number): void {
  const last = out[out.length - 1];
  if (!last || last[0] !== lng || last[1] !== lat) out.push([lng, lat]);
}

/**
 * Walking distance to the point `alongM` metres along edge e from its `from` node, through
 * whichever end may be walked towards it (as the map shows edge distances); Infinity when neither
 * end is within the result's bound. O(1).
 */
export function distanceAlong(graph: WalkGraph, result: SearchResult, e: number, alongM: number): number {
  const dir = graph.edgeDir[e];
  let best = Infinity;
  if (dir !== DIR_BACKWARD) best = Math.min(best, result.dist[graph.edgeFrom[e]] + alongM);
  if (dir !== DIR_FORWARD) best = Math.min(best, result.dist[graph.edgeTo[e]] + (graph.edgeLengthM[e] - alongM));
  return best <= result.maxDistM ? best : Infinity;
}

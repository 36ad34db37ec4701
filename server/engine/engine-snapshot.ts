import v8 from 'node:v8';
import Flatbush from 'flatbush';
import type { EngineCompound, EngineNetwork, EngineOrigin } from '../../geo/coverage.ts';
import { buildPolygonIndex, type DistanceField, type EngineFacility, type SourceFilter } from '../../geo/distance-field.ts';
import { makeLocalProjection } from '../../geo/geodesy.ts';
import type { WalkGraph } from '../../geo/graph.ts';
import type { SearchResult } from '../../geo/dijkstra.ts';
import { buildBarrierIndex, buildSnapIndex } from '../../geo/snap.ts';

/**
 * Typed arrays at least this large go into SharedArrayBuffers; smaller ones (a facility's access
 * points) travel inside the serialised skeleton, where a copy costs less than a buffer each.
 */
const SHARE_MIN_BYTES = 4096;

/** Where a shared typed array sits in {@link EngineSnapshot.arrays}. */
interface SharedRef { $shared: number }
type Shared<T> = T | SharedRef;

interface FieldSkeleton {
  key: string;
  filter: SourceFilter;
  facilities: readonly EngineFacility[];
  result: Omit<SearchResult, 'dist' | 'source' | 'predArc' | 'reached'> & Record<'dist' | 'source' | 'predArc' | 'reached', Shared<ArrayBufferView>>;
  unsnappedAccessPoints: number;
  shapeTree: Shared<ArrayBufferView> | null;
  shapeFacility: Shared<Int32Array>;
  shapeLng: Shared<Float64Array>;
  shapeLat: Shared<Float64Array>;
}

interface Skeleton {
  key: string;
  datasetId: number;
  runId: number;
  graph: Record<string, number | Shared<ArrayBufferView>>;
  projectionCenter: [number, number];
  edgeDbId: Shared<Float64Array>;
  edgeIsPrivate: Shared<Uint8Array>;
  barriers: { coords: Shared<Float64Array>; segmentStart: Shared<Uint32Array> } | null;
  compounds: readonly EngineCompound[];
  facilities: readonly EngineFacility[];
  fields: FieldSkeleton[];
  origins: readonly EngineOrigin[];
}

/**
 * One dataset/run's engine in a form worker threads can take without copying it: every large typed
 * array (the CSR graph, the edge geometry, each distance field's labels, the facility shape trees)
 * lives once in a SharedArrayBuffer, and the rest (facilities, compounds, origins: small objects) is
 * a v8-serialised skeleton, also in a SharedArrayBuffer. Posting a snapshot with a task copies only
 * buffer handles; a worker decodes it once per `key` ({@link engineFromSnapshot}).
 */
export interface EngineSnapshot {
  /** Changes whenever the dataset, the run or the loaded engine does. */
  key: string;
  skeleton: SharedArrayBuffer;
  arrays: ArrayBufferView[];
  /** Bytes in shared memory, arrays and skeleton. */
  sharedBytes: number;
}

/** The engine as a worker rebuilds it: the same shape {@link LoadedEngine} gives the routes. */
export interface WorkerEngine {
  key: string;
  datasetId: number;
  runId: number;
  net: EngineNetwork;
  fields: Map<string, DistanceField>;
  origins: EngineOrigin[];
}

type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | Int16Array | Int8Array;

function sharedCopy<T extends TypedArray>(a: T): T {
  const C = a.constructor as new (b: SharedArrayBuffer) => T;
  const copy = new C(new SharedArrayBuffer(a.byteLength));
  (copy as TypedArray).set(a as never);
  return copy;
}

/**
 * Build the snapshot of an engine (main thread, once per engine): O(size of the engine) to copy
 * the arrays into shared memory and serialise the skeleton.
 */
export function snapshotEngine(
  engine: { datasetId: number; runId: number; loadedAt: number; net: EngineNetwork; fields: ReadonlyMap<string, DistanceField> },
  origins: readonly EngineOrigin[],
): EngineSnapshot {
  const arrays: ArrayBufferView[] = [];
  const seen = new Map<ArrayBufferView, number>();
  let sharedBytes = 0;
  const share = <T extends ArrayBufferView>(a: T): Shared<T> => {
    if (a.byteLength < SHARE_MIN_BYTES) return a;
    let i = seen.get(a);
    if (i === undefined) {
      arrays.push(sharedCopy(a as unknown as TypedArray));
      sharedBytes += a.byteLength;
      seen.set(a, (i = arrays.length - 1));
    }
    return { $shared: i };
  };
  const shareTree = (tree: Flatbush | null): SharedRef | null => {
    if (!tree) return null;
    const bytes = new Uint8Array(new SharedArrayBuffer(tree.data.byteLength));
    bytes.set(new Uint8Array(tree.data));
    arrays.push(bytes);
    sharedBytes += bytes.byteLength;
    return { $shared: arrays.length - 1 };
  };
  const { net } = engine;
  const g = net.graph;
  const graph: Skeleton['graph'] = { nodeCount: g.nodeCount, edgeCount: g.edgeCount, arcCount: g.arcCount };
  for (const name of GRAPH_ARRAYS) graph[name] = share(g[name]);
  const key = `${engine.datasetId}:${engine.runId}:${engine.loadedAt}`;
  const skeleton: Skeleton = {
    key,
    datasetId: engine.datasetId,
    runId: engine.runId,
    graph,
    projectionCenter: [net.snapIndex.projection.centerLng, net.snapIndex.projection.centerLat],
    edgeDbId: share(net.edgeDbId),
    edgeIsPrivate: share(net.edgeIsPrivate),
    barriers: net.barriers ? { coords: share(net.barriers.coords), segmentStart: share(net.barriers.segmentStart) } : null,
    compounds: net.compounds,
    facilities: net.facilities,
    fields: [...engine.fields.values()].map((f) => ({
      key: f.key,
      filter: f.filter,
      facilities: f.facilities,
      result: { ...f.result, dist: share(f.result.dist), source: share(f.result.source), predArc: share(f.result.predArc), reached: share(f.result.reached) },
      unsnappedAccessPoints: f.unsnappedAccessPoints,
      shapeTree: shareTree(f.shapeTree),
      shapeFacility: share(f.shapeFacility),
      shapeLng: share(f.shapeLng),
      shapeLat: share(f.shapeLat),
    })),
    origins,
  };
  const serialised = v8.serialize(skeleton);
  const skeletonBuffer = new SharedArrayBuffer(serialised.byteLength);
  new Uint8Array(skeletonBuffer).set(serialised);
  return { key, skeleton: skeletonBuffer, arrays, sharedBytes: sharedBytes + serialised.byteLength };
}

const GRAPH_ARRAYS = [
  'nodeLng', 'nodeLat', 'edgeFrom', 'edgeTo', 'edgeLengthM', 'edgeDir', 'edgeCoords', 'edgeCoordOffset', 'arcOffset', 'arcTo', 'arcEdge', 'arcLengthM',
] as const satisfies readonly (keyof WalkGraph)[];

/**
 * Rebuild an engine from a snapshot (worker thread, once per snapshot key): views on the shared
 * arrays, the shape trees opened in place (Flatbush.from), and only the snap and wall indexes built
 * again, from the shared geometry with the same projection, so every answer equals the main
 * thread's. O(P log P) for P edge points.
 */
export function engineFromSnapshot(snapshot: EngineSnapshot): WorkerEngine {
  const s = v8.deserialize(Buffer.from(snapshot.skeleton)) as Skeleton;
  const at = <T>(x: Shared<T>): T => (x !== null && typeof x === 'object' && '$shared' in (x as object) ? (snapshot.arrays[(x as SharedRef).$shared] as T) : (x as T));
  const graph = Object.fromEntries(Object.entries(s.graph).map(([k, v]) => [k, at(v)])) as unknown as WalkGraph;
  const projection = makeLocalProjection(s.projectionCenter[0], s.projectionCenter[1]);
  let barriers: EngineNetwork['barriers'];
  if (s.barriers) {
    // one two-point line per barrier segment, in segment order: the same segments and ids as the
    // main thread's index, so the same crossings
    const coords = at(s.barriers.coords);
    const starts = at(s.barriers.segmentStart);
    const segCoords = new Float64Array(starts.length * 4);
    const offsets = new Uint32Array(starts.length + 1);
    for (let k = 0; k < starts.length; k++) {
      const i = starts[k];
      segCoords.set(coords.subarray(2 * i, 2 * i + 4), 4 * k);
      offsets[k + 1] = 2 * (k + 1);
    }
    barriers = buildBarrierIndex(segCoords, offsets);
  }
  const net: EngineNetwork = {
    graph,
    snapIndex: buildSnapIndex(graph, projection),
    barriers,
    edgeDbId: at(s.edgeDbId),
    edgeIsPrivate: at(s.edgeIsPrivate),
    compounds: s.compounds,
    facilities: s.facilities,
  };
  const fields = new Map<string, DistanceField>();
  for (const f of s.fields) {
    const tree = f.shapeTree && at(f.shapeTree);
    fields.set(f.key, {
      key: f.key,
      filter: f.filter,
      facilities: f.facilities,
      result: {
        ...f.result,
        dist: at(f.result.dist) as Float64Array,
        source: at(f.result.source) as Int32Array,
        predArc: at(f.result.predArc) as Int32Array,
        reached: at(f.result.reached) as Int32Array,
      },
      unsnappedAccessPoints: f.unsnappedAccessPoints,
      shapeTree: tree ? Flatbush.from(tree.buffer as SharedArrayBuffer, tree.byteOffset) : null,
      shapeFacility: at(f.shapeFacility),
      shapeLng: at(f.shapeLng),
      shapeLat: at(f.shapeLat),
      // small (parks and green spaces only): rebuilt in the worker rather than shared
      ...buildPolygonIndex(f.facilities),
    });
  }
  return { key: s.key, datasetId: s.datasetId, runId: s.runId, net, fields, origins: [...s.origins] };
}

import v8 from 'node:v8';
import Flatbush from 'flatbush';
import type { EngineCompound, EngineNetwork, EngineOrigin } from '../../geo/coverage.ts';
import {
  buildPolygonIndex,
  type DistanceField,
  type EngineFacility,
  type SourceFilter,
} from '../../geo/distance-field.ts';
import { makeLocalProjection } from '../../geo/geodesy.ts';
import type { WalkGraph } from '../../geo/graph.ts';
import type { SearchResult } from '../../geo/dijkstra.ts';
import { barrierIndexFromParts, snapIndexFromParts } from '../../geo/snap.ts';

/**
 * Typed arrays at least this large go into SharedArrayBuffers; smaller ones (a facility's access
 * points) travel inside the serialised skeleton, where a copy costs less than a buffer each.
 */
const SHARE_MIN_BYTES = 4096;

/** Where a shared typed array sits in {@link EngineSnapshot.arrays}. */
interface SharedRef {
  $shared: number;
}
type Shared<T> = T | SharedRef;

interface FieldSkeleton {
  key: string;
  filter: SourceFilter;
  facilities: readonly EngineFacility[];
  result: Omit<SearchResult, 'dist' | 'source' | 'predArc' | 'reached'> &
    Record<'dist' | 'source' | 'predArc' | 'reached', Shared<ArrayBufferView>>;
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
  barriers: { coords: Shared<Float64Array>; segmentStart: Shared<Uint32Array>; tree: SharedRef | null } | null;
  /** The main thread's snap index, opened in place by the worker rather than built again. */
  snap: {
    segmentEdge: Shared<Int32Array>;
    segmentStart: Shared<Uint32Array>;
    pointCumM: Shared<Float64Array>;
    tree: SharedRef | null;
  };
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

type TypedArray =
  Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | Int16Array | Int8Array;

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
  engine: {
    datasetId: number;
    runId: number;
    loadedAt: number;
    net: EngineNetwork;
    fields: ReadonlyMap<string, DistanceField>;
  },
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
    barriers: net.barriers
      ? {
          coords: share(net.barriers.coords),
          segmentStart: share(net.barriers.segmentStart),
          tree: shareTree(net.barriers.tree),
        }
      : null,
    snap: {
      segmentEdge: share(net.snapIndex.segmentEdge),
      segmentStart: share(net.snapIndex.segmentStart),
      pointCumM: share(net.snapIndex.pointCumM),
      tree: shareTree(net.snapIndex.tree),
    },
    compounds: net.compounds,
    facilities: net.facilities,
    fields: [...engine.fields.values()].map((f) => ({
      key: f.key,
      filter: f.filter,
      facilities: f.facilities,
      result: {
        ...f.result,
        dist: share(f.result.dist),
        source: share(f.result.source),
        predArc: share(f.result.predArc),
        reached: share(f.result.reached),
      },
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
  'nodeLng',
  'nodeLat',
  'edgeFrom',
  'edgeTo',
  'edgeLengthM',
  'edgeDir',
  'edgeCoords',
  'edgeCoordOffset',
  'arcOffset',
  'arcTo',
  'arcEdge',
  'arcLengthM',
] as const satisfies readonly (keyof WalkGraph)[];

/**
 * Rebuild an engine from a snapshot (worker thread, once per snapshot key): views on the shared
 * arrays, and every tree (snap, walls, facility shapes) opened in place (Flatbush.from), so every
 * answer equals the main thread's. O(skeleton) beyond the views.
 */
export function engineFromSnapshot(snapshot: EngineSnapshot): WorkerEngine {
  const s = v8.deserialize(Buffer.from(snapshot.skeleton)) as Skeleton;
  const at = <T>(x: Shared<T>): T =>
    x !== null && typeof x === 'object' && '$shared' in (x as object)
      ? (snapshot.arrays[(x as SharedRef).$shared] as T)
      : (x as T);
  const graph = Object.fromEntries(Object.entries(s.graph).map(([k, v]) => [k, at(v)])) as unknown as WalkGraph;
  const projection = makeLocalProjection(s.projectionCenter[0], s.projectionCenter[1]);
  // the main thread's indexes opened in place (Flatbush.from on the shared bytes): the same
  // segments, ids and trees, so every answer equals the main thread's, without an O(P log P) build
  const tree = (t: SharedRef | null) => {
    const bytes = t && (at(t) as unknown as Uint8Array);
    return bytes ? Flatbush.from(bytes.buffer as SharedArrayBuffer, bytes.byteOffset) : null;
  };
  const barriers: EngineNetwork['barriers'] = s.barriers
    ? barrierIndexFromParts(at(s.barriers.coords), tree(s.barriers.tree), at(s.barriers.segmentStart))
    : undefined;
  const net: EngineNetwork = {
    graph,
    snapIndex: snapIndexFromParts(
      graph,
      projection,
      tree(s.snap.tree),
      at(s.snap.segmentEdge),
      at(s.snap.segmentStart),
      at(s.snap.pointCumM),
    ),
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

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import Flatbush from 'flatbush';
import type pg from 'pg';
import type { EngineCompound, EngineNetwork } from '../../geo/coverage.ts';
import type { EngineFacility } from '../../geo/distance-field.ts';
import { makeLocalProjection } from '../../geo/geodesy.ts';
import type { WalkGraph } from '../../geo/graph.ts';
import { barrierIndexFromParts, snapIndexFromParts } from '../../geo/snap.ts';
import { loadFacilities, loadStreetNetwork, type StreetNetwork } from './load-network.ts';

/**
 * The engine's network of a dataset as two binary files under `.data/engine/`, so a server start or
 * a compute reads typed arrays straight from disk instead of querying PostGIS and rebuilding indexes
 * (README "Performance"):
 * - `<sha256>-v2.engine`, the streets: CSR graph, snap index, wall index, gated compounds — what
 *   depends on the network dataset alone;
 * - `<sha256>-v2.facilities`, the facilities of the dataset and every register (access points,
 *   shapes, open-space polygons), which a register import changes. Small: a register import
 *   rewrites only this file, and the streets are read as they were.
 *
 * Layout of every such file (also the origins file, origins-file.ts): 8 bytes magic `LCENGINE`, u32
 * format version, u32 header length, the header (JSON: key, array table, metadata), padding to 8
 * bytes, then every array at an 8-byte-aligned offset, then a v8-serialised skeleton (small
 * objects). All little-endian (the machine's order, checked).
 *
 * Each header holds its file's full key: dataset id and sha256, a hash of the loader's own source,
 * and a fingerprint of the rows the part is built from (streets: gated compounds and gates, walls,
 * edges; facilities: every facility with its access points). A file whose key differs is stale and
 * is rebuilt; so is a file that cannot be read (truncated, other version).
 */
export const NETWORK_FILE_FORMAT = 2;
/** The extensions of a dataset's engine files: `<sha256>-v<format>.<part>` (origins: origins-file.ts). */
export const ENGINE_FILE_PARTS = ['engine', 'facilities', 'origins'] as const;
const MAGIC = Buffer.from('LCENGINE', 'latin1');

export type TypedArray = Float64Array | Int32Array | Uint32Array | Uint8Array;
const ARRAY_TYPES = { Float64Array, Int32Array, Uint32Array, Uint8Array } as const;
type ArrayTypeName = keyof typeof ARRAY_TYPES;

interface ArrayEntry {
  name: string;
  type: ArrayTypeName;
  offset: number;
  length: number;
}
interface Header {
  key: string;
  meta: Record<string, unknown>;
  arrays: ArrayEntry[];
  skeleton: { offset: number; length: number };
}
interface StreetMeta {
  datasetId: number;
  nodeCount: number;
  edgeCount: number;
  arcCount: number;
  projectionCenter: [number, number];
}

export type LoadedNetwork = EngineNetwork & { nodeDbId: Float64Array };

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

/** Source files whose change changes what loadNetwork builds: their hash is part of the key. */
const LOADER_SOURCES = [
  'load-network.ts',
  'network-file.ts',
  '../../geo/graph.ts',
  '../../geo/snap.ts',
  '../../geo/components.ts',
  '../import/derive-layers.ts',
];
let loaderHash: string | undefined;
function loaderSourceHash(): string {
  if (loaderHash) return loaderHash;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const h = crypto.createHash('sha256');
  for (const f of LOADER_SOURCES) h.update(fs.readFileSync(path.join(here, f)));
  return (loaderHash = h.digest('hex').slice(0, 16));
}

/**
 * Everything besides the dataset's own immutable rows that the loaders read: facilities (of this
 * dataset and the registers that belong to it, migration 0310) with their replacement, geometry and
 * access points (the facilities file's key); gated compounds with their gates, walls, edges (the
 * streets file's key). One query, O(facilities + access points + compounds).
 */
const FINGERPRINT_SQL = `
  SELECT d.sha256,
    (SELECT md5(coalesce(string_agg(concat_ws(':', f.id, f.dataset_id, f.replaced_by, f.category, md5(ST_AsEWKB(f.geom)),
                  (SELECT md5(coalesce(string_agg(concat_ws(':', a.id, a.kind, ST_AsEWKB(a.geom)::text), ',' ORDER BY a.id), '')) FROM facility_access_points a WHERE a.facility_id = f.id)), ',' ORDER BY f.id), ''))
     FROM facilities f JOIN datasets fd ON fd.id = f.dataset_id WHERE fd.id = d.id OR fd.kind = 'facility_register' AND ST_Intersects(f.geom, dataset_facility_extent(d.id))) AS facilities,
    (SELECT md5(coalesce(string_agg(concat_ws(':', ra.id, (SELECT string_agg(coalesce(g.osm_node_id::text, ''), ',' ORDER BY g.id) FROM compound_gates g WHERE g.residential_area_id = ra.id)), ',' ORDER BY ra.id), ''))
     FROM residential_areas ra WHERE ra.dataset_id = d.id AND ra.is_gated) AS compounds,
    (SELECT count(*) || ':' || coalesce(max(id), 0) FROM barriers WHERE dataset_id = d.id) AS barriers,
    (SELECT count(*) || ':' || coalesce(max(id), 0) FROM walk_edges WHERE dataset_id = d.id) AS edges
  FROM datasets d WHERE d.id = $1`;

/** Keys and files of the two parts of a dataset's network. */
export interface NetworkFileKeys {
  /** The streets part: depends on the network dataset's rows only. */
  key: string;
  file: string;
  /** The facilities part: every facility of the dataset and of every register. */
  facilitiesKey: string;
  facilitiesFile: string;
}

/** The keys the network files of `datasetId` must carry to be current, and the files they live in. */
export async function networkFileKey(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
  dir: string,
): Promise<NetworkFileKeys> {
  const { rows } = await db.query<{
    sha256: string;
    facilities: string;
    compounds: string;
    barriers: string;
    edges: string;
  }>(FINGERPRINT_SQL, [datasetId]);
  if (!rows[0]) throw new Error(`dataset ${datasetId} does not exist`);
  const r = rows[0];
  const base = [`v${NETWORK_FILE_FORMAT}`, r.sha256, `dataset ${datasetId}`, `code ${loaderSourceHash()}`];
  const name = path.join(dir, `${r.sha256}-v${NETWORK_FILE_FORMAT}`);
  return {
    key: ['streets', ...base, `compounds ${r.compounds}`, `barriers ${r.barriers}`, `edges ${r.edges}`].join('|'),
    file: `${name}.engine`,
    facilitiesKey: ['facilities', ...base, `facilities ${r.facilities}`].join('|'),
    facilitiesFile: `${name}.facilities`,
  };
}

function typeName(a: TypedArray): ArrayTypeName {
  const n = a.constructor.name as ArrayTypeName;
  if (!(n in ARRAY_TYPES)) throw new Error(`engine file: unsupported array type ${n}`);
  return n;
}

/**
 * Write named typed arrays, small metadata and a skeleton (any v8-serialisable value) to `file`
 * under `key`: into a temporary file first, renamed into place, so a reader never sees half a
 * file. O(size of the arrays).
 */
export function writeArrayFile(
  file: string,
  key: string,
  meta: Record<string, unknown>,
  arrays: readonly (readonly [string, TypedArray])[],
  skeletonValue: unknown,
): void {
  const skeleton = v8.serialize(skeletonValue);
  const entries: ArrayEntry[] = [];
  let offset = 0;
  const align = (n: number) => Math.ceil(n / 8) * 8;
  for (const [name, a] of arrays) {
    entries.push({ name, type: typeName(a), offset, length: a.length });
    offset = align(offset + a.byteLength);
  }
  const header: Header = { key, meta, arrays: entries, skeleton: { offset, length: skeleton.byteLength } };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(align(16 + headerBytes.byteLength));
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(NETWORK_FILE_FORMAT, 8);
  prefix.writeUInt32LE(headerBytes.byteLength, 12);
  headerBytes.copy(prefix, 16);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    let pos = 0;
    const put = (bytes: Uint8Array) => {
      for (let done = 0; done < bytes.byteLength;) {
        const n = fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), pos + done);
        done += n;
      }
      pos += bytes.byteLength;
    };
    put(prefix);
    const base = prefix.byteLength;
    for (let k = 0; k < arrays.length; k++) {
      const a = arrays[k][1];
      pos = base + entries[k].offset;
      put(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    pos = base + offset;
    put(skeleton);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** What {@link readArrayFile} gives back. */
export interface ArrayFile {
  meta: Record<string, unknown>;
  arrays: Map<string, TypedArray>;
  skeleton: unknown;
  /** The array named `name`; throws when the file has none. */
  need<T extends TypedArray>(name: string): T;
}

/**
 * Read a file written by {@link writeArrayFile} if it carries `key`; null when it is missing,
 * stale (another key) or unreadable. Each array is read straight into its own buffer (no
 * whole-file copy, files past 2 GiB are fine).
 */
export function readArrayFile(file: string, key: string): ArrayFile | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(16);
    if (size < 16 || fs.readSync(fd, head, 0, 16, 0) !== 16 || !head.subarray(0, 8).equals(MAGIC)) return null;
    if (head.readUInt32LE(8) !== NETWORK_FILE_FORMAT) return null;
    const headerLength = head.readUInt32LE(12);
    if (16 + headerLength > size) return null;
    const headerBytes = Buffer.alloc(headerLength);
    fs.readSync(fd, headerBytes, 0, headerLength, 16);
    const header = JSON.parse(headerBytes.toString('utf8')) as Header;
    if (header.key !== key) return null;
    const base = Math.ceil((16 + headerLength) / 8) * 8;
    if (base + header.skeleton.offset + header.skeleton.length > size) return null;
    const readInto = (bytes: Uint8Array, position: number) => {
      for (let done = 0; done < bytes.byteLength;) {
        const n = fs.readSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), position + done);
        if (n === 0) throw new Error(`engine file ${file} is truncated`);
        done += n;
      }
    };
    const arrays = new Map<string, TypedArray>();
    for (const e of header.arrays) {
      const C = ARRAY_TYPES[e.type];
      const a = new C(e.length);
      readInto(new Uint8Array(a.buffer), base + e.offset);
      arrays.set(e.name, a);
    }
    const skeletonBytes = Buffer.alloc(header.skeleton.length);
    readInto(skeletonBytes, base + header.skeleton.offset);
    return {
      meta: header.meta,
      arrays,
      skeleton: v8.deserialize(skeletonBytes),
      need<T extends TypedArray>(name: string): T {
        const a = arrays.get(name);
        if (!a) throw new Error(`engine file ${file} has no ${name}`);
        return a as T;
      },
    };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Write the streets part of `net` (everything but its facilities) to `file` under `key`. */
export function writeStreetFile(file: string, key: string, datasetId: number, net: StreetNetwork): void {
  const g = net.graph;
  const arrays: [string, TypedArray][] = GRAPH_ARRAYS.map((n) => [`graph.${n}`, g[n] as TypedArray]);
  arrays.push(['nodeDbId', net.nodeDbId], ['edgeDbId', net.edgeDbId], ['edgeIsPrivate', net.edgeIsPrivate]);
  const snap = net.snapIndex;
  arrays.push(
    ['snap.segmentEdge', snap.segmentEdge],
    ['snap.segmentStart', snap.segmentStart],
    ['snap.pointCumM', snap.pointCumM],
  );
  if (snap.tree) arrays.push(['snap.tree', new Uint8Array(snap.tree.data)]);
  if (net.barriers) {
    arrays.push(['barriers.coords', net.barriers.coords], ['barriers.segmentStart', net.barriers.segmentStart]);
    if (net.barriers.tree) arrays.push(['barriers.tree', new Uint8Array(net.barriers.tree.data)]);
  }
  const meta: StreetMeta = {
    datasetId,
    nodeCount: g.nodeCount,
    edgeCount: g.edgeCount,
    arcCount: g.arcCount,
    projectionCenter: [snap.projection.centerLng, snap.projection.centerLat],
  };
  writeArrayFile(file, key, { ...meta }, arrays, { compounds: net.compounds });
}

/**
 * Read the streets part of a network if `file` carries `key`; null when it is missing, stale or
 * unreadable. The indexes are opened in place (Flatbush.from), not rebuilt.
 */
export function readStreetFile(file: string, key: string): StreetNetwork | null {
  const f = readArrayFile(file, key);
  if (!f) return null;
  try {
    const meta = f.meta as unknown as StreetMeta;
    const graph = { nodeCount: meta.nodeCount, edgeCount: meta.edgeCount, arcCount: meta.arcCount } as Record<
      string,
      unknown
    >;
    for (const n of GRAPH_ARRAYS) graph[n] = f.need(`graph.${n}`);
    const walkGraph = graph as unknown as WalkGraph;
    const tree = (name: string) => {
      const t = f.arrays.get(name);
      return t ? Flatbush.from(t.buffer as ArrayBuffer) : null;
    };
    const projection = makeLocalProjection(meta.projectionCenter[0], meta.projectionCenter[1]);
    const snapIndex = snapIndexFromParts(
      walkGraph,
      projection,
      tree('snap.tree'),
      f.need('snap.segmentEdge'),
      f.need('snap.segmentStart'),
      f.need('snap.pointCumM'),
    );
    const barriers = f.arrays.has('barriers.coords')
      ? barrierIndexFromParts(f.need('barriers.coords'), tree('barriers.tree'), f.need('barriers.segmentStart'))
      : undefined;
    return {
      graph: walkGraph,
      snapIndex,
      barriers,
      edgeDbId: f.need('edgeDbId'),
      edgeIsPrivate: f.need('edgeIsPrivate'),
      compounds: (f.skeleton as { compounds: EngineCompound[] }).compounds,
      nodeDbId: f.need('nodeDbId'),
    };
  } catch {
    return null;
  }
}

/** Write the facilities part of a network (small objects with typed arrays: the skeleton alone). */
export function writeFacilitiesFile(file: string, key: string, facilities: readonly EngineFacility[]): void {
  writeArrayFile(file, key, {}, [], { facilities });
}

/** Read the facilities part if `file` carries `key`; null when it is missing, stale or unreadable. */
export function readFacilitiesFile(file: string, key: string): EngineFacility[] | null {
  const f = readArrayFile(file, key);
  return f ? (f.skeleton as { facilities: EngineFacility[] }).facilities : null;
}

/** Where a part of a network came from: read from its file, or built from the database (and then written). */
export type NetworkSource = 'file' | 'built';

/**
 * The engine's network of `datasetId`: each part (streets, facilities) from its file under `dir`
 * when that is current, else built from the database ({@link loadStreetNetwork},
 * {@link loadFacilities}) and written for next time (a failed write is reported through
 * `onWriteError` and does not fail the load). After a register import only the facilities are
 * built again. `source` is the streets' source.
 */
export async function loadNetworkCached(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
  dir: string,
  onWriteError: (err: Error) => void = () => {},
): Promise<{
  net: LoadedNetwork;
  source: NetworkSource;
  facilitiesSource: NetworkSource;
  file: string;
  /** The streets' key (the origins file's key includes it). */
  key: string;
  seconds: number;
}> {
  const t0 = performance.now();
  const keys = await networkFileKey(db, datasetId, dir);
  const write = (f: () => void) => {
    try {
      f();
    } catch (err) {
      onWriteError(err as Error);
    }
  };
  let streets = readStreetFile(keys.file, keys.key);
  const source: NetworkSource = streets ? 'file' : 'built';
  if (!streets) {
    const built = await loadStreetNetwork(db, datasetId);
    write(() => writeStreetFile(keys.file, keys.key, datasetId, built));
    streets = built;
  }
  let facilities = readFacilitiesFile(keys.facilitiesFile, keys.facilitiesKey);
  const facilitiesSource: NetworkSource = facilities ? 'file' : 'built';
  if (!facilities) {
    const built = await loadFacilities(db, datasetId);
    write(() => writeFacilitiesFile(keys.facilitiesFile, keys.facilitiesKey, built));
    facilities = built;
  }
  return {
    net: { ...streets, facilities },
    source,
    facilitiesSource,
    file: keys.file,
    key: keys.key,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** SHA-256 of each array and of the skeleton of a network, by name: equal maps, equal engines. */
export function networkPartHashes(net: LoadedNetwork): Record<string, string> {
  const parts: Record<string, string> = {};
  const add = (name: string, a: Uint8Array | TypedArray | null | undefined) => {
    const h = crypto.createHash('sha256');
    if (a) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    parts[name] = a ? h.digest('hex') : 'none';
  };
  const g = net.graph;
  parts.counts = `${g.nodeCount}/${g.edgeCount}/${g.arcCount}`;
  for (const n of GRAPH_ARRAYS) add(`graph.${n}`, g[n] as TypedArray);
  add('nodeDbId', net.nodeDbId);
  add('edgeDbId', net.edgeDbId);
  add('edgeIsPrivate', net.edgeIsPrivate);
  add('snap.segmentEdge', net.snapIndex.segmentEdge);
  add('snap.segmentStart', net.snapIndex.segmentStart);
  add('snap.pointCumM', net.snapIndex.pointCumM);
  add('snap.tree', net.snapIndex.tree ? new Uint8Array(net.snapIndex.tree.data) : null);
  parts.projection = `${net.snapIndex.projection.centerLng},${net.snapIndex.projection.centerLat}`;
  add('barriers.coords', net.barriers?.coords);
  add('barriers.segmentStart', net.barriers?.segmentStart);
  add('barriers.tree', net.barriers?.tree ? new Uint8Array(net.barriers.tree.data) : null);
  // content, not v8's encoding (which differs for views into a deserialised buffer)
  const canonical = (_k: string, v: unknown) =>
    ArrayBuffer.isView(v)
      ? { [v.constructor.name]: Array.from(v as Float64Array) }
      : v instanceof Set
        ? { Set: [...v] }
        : v;
  add('compounds', Buffer.from(JSON.stringify(net.compounds, canonical)));
  add('facilities', Buffer.from(JSON.stringify(net.facilities, canonical)));
  return parts;
}

/** One SHA-256 over {@link networkPartHashes}. */
export function networkHash(net: LoadedNetwork): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(networkPartHashes(net)))
    .digest('hex');
}

/** Tags of one OSM element, key → value; may be shared between elements and frozen: copy before changing. */
export type OsmTags = Readonly<Record<string, string>>;

/** One OSM way: node ids in order; a closed way repeats its first id at the end. */
export interface OsmWay {
  id: number;
  /** Int32Array where ids are known to be small (a generated city), numbers where they come from a file */
  refs: Int32Array | readonly number[];
  tags: OsmTags;
}

/** OSM nodes as parallel typed arrays; `lng`/`lat` in degrees WGS 84. */
export interface OsmNodes {
  id: Float64Array;
  lng: Float64Array;
  lat: Float64Array;
  /** Tags by node id, only for tagged nodes (way vertices carry none). */
  tags: Map<number, OsmTags>;
}

/** What cutting ways needs of an id → index table; a Map<number, number> is one. */
export interface OsmIdLookup extends Iterable<[number, number]> {
  get(id: number): number | undefined;
  has(id: number): boolean;
  readonly size: number;
}

/**
 * Where each node of {@link OsmNodes} sits, by OSM id: what cutting ways into edges needs. A reader
 * that streams a file builds it as it goes; a model in memory builds it from `id`.
 */
export interface OsmNodePositions extends Pick<OsmNodes, 'lng' | 'lat'> {
  /** OSM id → index into lng/lat: a Map, or an IdIndex (geo/id-index.ts) past Map's 16.7 M entries. */
  index: OsmIdLookup;
}

/** An OSM-like in-memory model: what the OSM importer reads, without versions or metadata. */
export interface OsmModel {
  nodes: OsmNodes;
  /** Ways, ids ascending. */
  ways: OsmWay[];
  /** [minLng, minLat, maxLng, maxLat] of all nodes, degrees WGS 84. */
  bbox: [number, number, number, number];
}

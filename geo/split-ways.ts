import { DIR_BACKWARD, DIR_BOTH, DIR_FORWARD, DIR_NONE, type EdgeDir } from './graph.ts';
import type { OsmNodePositions, OsmWay } from './osm-model.ts';
import { walkability } from './walkability.ts';

/** The walking network cut from OSM ways, as parallel arrays (one entry per edge). */
export interface SplitNetwork {
  /** OSM ids of graph nodes (way ends and nodes shared by two or more walkable ways). */
  nodeOsmId: Float64Array;
  nodeIsPrivate: Uint8Array;
  edgeFrom: Int32Array;
  edgeTo: Int32Array;
  /** Index into the `ways` array given to {@link splitWays}. */
  edgeWay: Int32Array;
  edgeIsPrivate: Uint8Array;
  /** Polyline of edge e: coords[edgeCoordOffset[e] .. edgeCoordOffset[e+1]) as lng,lat pairs. */
  edgeCoords: Float64Array;
  edgeCoordOffset: Uint32Array;
  /** Walkable ways that referenced nodes absent from the file (their missing nodes are skipped). */
  waysWithMissingNodes: number;
  walkableWays: number;
}

/**
 * Split walkable ways into graph edges at every node shared by two or more walkable ways (or used
 * twice by one way), so edges meet only at shared nodes. Bridges and tunnels without a shared node
 * stay unconnected, as in OSM. Cost O(total way nodes).
 */
export function splitWays(nodes: OsmNodePositions, ways: readonly OsmWay[]): SplitNetwork {
  const walkIdx: number[] = [];
  const wayPrivate: boolean[] = [];
  for (let i = 0; i < ways.length; i++) {
    const w = walkability(ways[i].tags);
    if (w.walkable) {
      walkIdx.push(i);
      wayPrivate.push(w.isPrivate);
    }
  }
  // Count uses of every node among walkable ways (by node index), ends count twice so they split.
  const uses = new Uint8Array(nodes.lng.length);
  let waysWithMissingNodes = 0;
  const resolved: Int32Array[] = [];
  for (const wi of walkIdx) {
    const refs = ways[wi].refs;
    const idx = new Int32Array(refs.length);
    let n = 0;
    for (let k = 0; k < refs.length; k++) {
      const j = nodes.index.get(refs[k]);
      if (j === undefined || (n > 0 && idx[n - 1] === j)) continue;
      idx[n++] = j;
    }
    if (refs.length > 0 && !allRefsPresent(nodes, refs)) waysWithMissingNodes++;
    const kept = idx.subarray(0, n);
    resolved.push(kept);
    for (let k = 0; k < n; k++) {
      const inc = k === 0 || k === n - 1 ? 2 : 1;
      uses[kept[k]] = Math.min(255, uses[kept[k]] + inc);
    }
  }

  const graphNodeOf = new Int32Array(nodes.lng.length).fill(-1);
  const nodeOsm: number[] = [];
  const nodePublic: boolean[] = [];
  const nodeOsmIds = new Float64Array(nodes.lng.length);
  for (const [osmId, j] of nodes.index) nodeOsmIds[j] = osmId;

  const from: number[] = [];
  const to: number[] = [];
  const way: number[] = [];
  const priv: number[] = [];
  const coords: number[] = [];
  const offsets: number[] = [0];
  const graphNode = (j: number, isPrivate: boolean) => {
    let g = graphNodeOf[j];
    if (g < 0) {
      g = graphNodeOf[j] = nodeOsm.length;
      nodeOsm.push(nodeOsmIds[j]);
      nodePublic.push(false);
    }
    if (!isPrivate) nodePublic[g] = true;
    return g;
  };
  for (let r = 0; r < resolved.length; r++) {
    const idx = resolved[r];
    if (idx.length < 2) continue;
    const isPrivate = wayPrivate[r];
    let start = 0;
    for (let k = 1; k < idx.length; k++) {
      if (uses[idx[k]] < 2 && k !== idx.length - 1) continue;
      from.push(graphNode(idx[start], isPrivate));
      to.push(graphNode(idx[k], isPrivate));
      way.push(walkIdx[r]);
      priv.push(isPrivate ? 1 : 0);
      for (let m = start; m <= k; m++) coords.push(nodes.lng[idx[m]], nodes.lat[idx[m]]);
      offsets.push(coords.length);
      start = k;
    }
  }
  return {
    nodeOsmId: Float64Array.from(nodeOsm),
    nodeIsPrivate: Uint8Array.from(nodePublic, (p) => (p ? 0 : 1)),
    edgeFrom: Int32Array.from(from),
    edgeTo: Int32Array.from(to),
    edgeWay: Int32Array.from(way),
    edgeIsPrivate: Uint8Array.from(priv),
    edgeCoords: Float64Array.from(coords),
    edgeCoordOffset: Uint32Array.from(offsets),
    waysWithMissingNodes,
    walkableWays: walkIdx.length,
  };
}

/**
 * Direction code of an edge for the search outward from facilities (see README): {@link DIR_BOTH},
 * {@link DIR_FORWARD} (only from→to), {@link DIR_BACKWARD} (only to→from) or {@link DIR_NONE}
 * (neither as a through-route). A walk may enter a private compound way from a public node but
 * may not leave a private node into the public network.
 */
export function edgeDirection(edgeIsPrivate: boolean, fromIsPrivate: boolean, toIsPrivate: boolean): EdgeDir {
  if (!edgeIsPrivate) return DIR_BOTH;
  if (fromIsPrivate && toIsPrivate) return DIR_BOTH;
  if (fromIsPrivate) return DIR_BACKWARD; // to (public) → from (private) only
  if (toIsPrivate) return DIR_FORWARD;
  return DIR_NONE;
}

function allRefsPresent(nodes: OsmNodePositions, refs: ArrayLike<number>): boolean {
  for (let k = 0; k < refs.length; k++) if (!nodes.index.has(refs[k])) return false;
  return true;
}

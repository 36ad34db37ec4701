/**
 * Fewest nodes a connected piece of the walking network needs to be kept. Chosen, not from a
 * standard: OSM has many short footways and service stubs that touch no other way (a path drawn
 * inside a campus, a bridge whose ends were never joined). A resident snapped onto such a fragment
 * would reach nothing, and their area would look unserved because of a mapping gap. 50 nodes keeps
 * any real neighbourhood network (a gated compound's ways join the streets at its gates, so they
 * belong to the main piece).
 */
export const MIN_COMPONENT_NODES = 50;

/**
 * Which nodes lie in a connected component (ignoring edge direction) of at least `minNodes` nodes;
 * the largest component (ties: the one holding the lowest node index) is always kept. Union-find with path halving, O((V + E) α(V)).
 */
export function nodesInLargeComponents(
  nodeCount: number,
  edgeFrom: ArrayLike<number>,
  edgeTo: ArrayLike<number>,
  minNodes = MIN_COMPONENT_NODES,
): Uint8Array {
  const label = componentLabels(nodeCount, edgeFrom, edgeTo);
  const size = new Int32Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) size[label[i]]++;
  // Among equally large pieces, the one holding the lowest node index (its label) is "the largest".
  let largest = -1;
  for (let i = 0; i < nodeCount; i++) {
    const r = label[i];
    if (largest < 0 || size[r] > size[largest]) largest = r;
  }
  const keep = new Uint8Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) {
    const r = label[i];
    keep[i] = size[r] >= minNodes || r === largest ? 1 : 0;
  }
  return keep;
}

/**
 * Connected-component label of every node, ignoring edge direction: two nodes share a label when
 * some chain of edges joins them. Labels are the lowest node index of the component. Union-find
 * with path halving, O((V + E) α(V)).
 */
export function componentLabels(nodeCount: number, edgeFrom: ArrayLike<number>, edgeTo: ArrayLike<number>): Int32Array {
  const parent = new Int32Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) parent[i] = i;
  const find = (x: number) => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  for (let e = 0; e < edgeFrom.length; e++) {
    const a = find(edgeFrom[e]);
    const b = find(edgeTo[e]);
    if (a !== b) parent[a < b ? b : a] = a < b ? a : b;
  }
  for (let i = 0; i < nodeCount; i++) parent[i] = find(i);
  return parent;
}

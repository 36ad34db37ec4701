/** Edge walkable in both directions. */
export const DIR_BOTH = 0;
/** Edge walkable only from its `from` node to its `to` node. */
export const DIR_FORWARD = 1;
/** Edge walkable only from its `to` node to its `from` node. */
export const DIR_BACKWARD = 2;
/**
 * Edge that is no through route in either direction (a private compound way between two public
 * nodes): it has no arcs, but points on it are still reached from either end.
 */
export const DIR_NONE = 3;

/**
 * A street network as parallel typed arrays, as it comes out of the database.
 * Node `i` is at `(nodeLng[i], nodeLat[i])`; edge `e` joins `edgeFrom[e]` to `edgeTo[e]`.
 */
export interface WalkGraphInput {
    nodeCount: number;
    nodeLng: Float64Array;
    nodeLat: Float64Array;
    edgeFrom: Int32Array;
    edgeTo: Int32Array;
    /**
     * Walking length of each edge in metres, taken as given (PostGIS `ST_Length(geom::geography)`,
     * WGS 84 ellipsoid) and never recomputed; partial edges are proportional to it.
     */
    edgeLengthM: Float64Array;
    /**
     * {@link DIR_BOTH}, {@link DIR_FORWARD}, {@link DIR_BACKWARD} or {@link DIR_NONE}; one-direction edges model
     * private compound ways that may be entered but not used as shortcuts.
     */
    edgeDir: Uint8Array;
    /** All edge polylines, flat `[lng, lat, lng, lat, …]`. */
    edgeCoords: Float64Array;
    /**
     * `edgeCount + 1` point offsets (points, not array slots): edge `e` is points
     * `edgeCoordOffset[e]` to `edgeCoordOffset[e + 1]` (exclusive), at least two, first at its
     * `from` node and last at its `to` node.
     */
    edgeCoordOffset: Uint32Array;
}

/**
 * {@link WalkGraphInput} plus a CSR adjacency of directed arcs: the arcs leaving node `u` are
 * `arcOffset[u]` to `arcOffset[u + 1]` (exclusive), ordered by edge id. A two-way edge gives two
 * arcs, a one-way edge one.
 */
export interface WalkGraph extends WalkGraphInput {
    edgeCount: number;
    arcCount: number;
    arcOffset: Uint32Array;
    arcTo: Int32Array;
    arcEdge: Int32Array;
    arcLengthM: Float64Array;
}

/**
 * Validates the input and builds the arc adjacency by counting sort. The input arrays are kept by
 * reference, not copied. Throws a `RangeError` on malformed input. O(V + E) time, 16 bytes per arc
 * plus 4 per node of new memory.
 */
export function buildGraph(input: WalkGraphInput): WalkGraph {
    const { nodeCount, edgeFrom, edgeTo, edgeLengthM, edgeDir, edgeCoords, edgeCoordOffset } = input;
    const edgeCount = edgeFrom.length;
    if (!Number.isInteger(nodeCount) || nodeCount < 0) throw new RangeError(`nodeCount ${nodeCount} is not a count`);
    if (input.nodeLng.length !== nodeCount || input.nodeLat.length !== nodeCount) {
        throw new RangeError('nodeLng and nodeLat must have nodeCount entries');
    }
    if (edgeTo.length !== edgeCount || edgeLengthM.length !== edgeCount || edgeDir.length !== edgeCount) {
        throw new RangeError('edgeFrom, edgeTo, edgeLengthM and edgeDir must have the same length');
    }
    if (edgeCoordOffset.length !== edgeCount + 1 || edgeCoordOffset[0] !== 0 ||
        edgeCoordOffset[edgeCount] * 2 !== edgeCoords.length) {
        throw new RangeError('edgeCoordOffset must hold edgeCount + 1 point offsets from 0 to edgeCoords.length / 2');
    }

    const arcOffset = new Uint32Array(nodeCount + 1);
    let arcCount = 0;
    for (let e = 0; e < edgeCount; e++) {
        const from = edgeFrom[e];
        const to = edgeTo[e];
        const dir = edgeDir[e];
        const lengthM = edgeLengthM[e];
        if (!(from >= 0 && from < nodeCount && to >= 0 && to < nodeCount)) {
            throw new RangeError(`edge ${e} joins nodes ${from} and ${to}, outside 0..${nodeCount - 1}`);
        }
        if (!(lengthM >= 0 && lengthM < Infinity)) throw new RangeError(`edge ${e} has length ${lengthM} m`);
        if (dir > DIR_NONE) throw new RangeError(`edge ${e} has direction ${dir}`);
        if (edgeCoordOffset[e + 1] < edgeCoordOffset[e] + 2) throw new RangeError(`edge ${e} has fewer than two points`);
        if (dir === DIR_BOTH || dir === DIR_FORWARD) { arcOffset[from + 1]++; arcCount++; }
        if (dir === DIR_BOTH || dir === DIR_BACKWARD) { arcOffset[to + 1]++; arcCount++; }
    }
    for (let u = 0; u < nodeCount; u++) arcOffset[u + 1] += arcOffset[u];

    const arcTo = new Int32Array(arcCount);
    const arcEdge = new Int32Array(arcCount);
    const arcLengthM = new Float64Array(arcCount);
    // next free slot per node, borrowed from arcOffset and shifted back afterwards
    for (let e = 0; e < edgeCount; e++) {
        const from = edgeFrom[e];
        const to = edgeTo[e];
        const dir = edgeDir[e];
        if (dir === DIR_BOTH || dir === DIR_FORWARD) {
            const a = arcOffset[from]++;
            arcTo[a] = to; arcEdge[a] = e; arcLengthM[a] = edgeLengthM[e];
        }
        if (dir === DIR_BOTH || dir === DIR_BACKWARD) {
            const a = arcOffset[to]++;
            arcTo[a] = from; arcEdge[a] = e; arcLengthM[a] = edgeLengthM[e];
        }
    }
    for (let u = nodeCount; u > 0; u--) arcOffset[u] = arcOffset[u - 1];
    arcOffset[0] = 0;

    return { ...input, edgeCount, arcCount, arcOffset, arcTo, arcEdge, arcLengthM };
}

/**
 * The same network with every one-direction edge turned round (arcs reversed), sharing the node,
 * length and coordinate arrays. A search from sources on the reverse graph gives the distance from
 * each node *to* its nearest source, e.g. home → facility where compound ways are one-way.
 * Returns `graph` itself when no edge is one-way. O(V + E).
 */
export function reverseGraph(graph: WalkGraph): WalkGraph {
    const { edgeDir, edgeCount } = graph;
    let oneWay = false;
    for (let e = 0; e < edgeCount && !oneWay; e++) oneWay = edgeDir[e] !== DIR_BOTH;
    if (!oneWay) return graph;
    const reversedDir = new Uint8Array(edgeCount);
    for (let e = 0; e < edgeCount; e++) {
        const dir = edgeDir[e];
        reversedDir[e] = dir === DIR_FORWARD ? DIR_BACKWARD : dir === DIR_BACKWARD ? DIR_FORWARD : dir;
    }
    return buildGraph({
        nodeCount: graph.nodeCount,
        nodeLng: graph.nodeLng,
        nodeLat: graph.nodeLat,
        edgeFrom: graph.edgeFrom,
        edgeTo: graph.edgeTo,
        edgeLengthM: graph.edgeLengthM,
        edgeDir: reversedDir,
        edgeCoords: graph.edgeCoords,
        edgeCoordOffset: graph.edgeCoordOffset
    });
}

/** Bytes held by the graph's typed arrays, input and adjacency alike. O(1). */
export function graphMemoryBytes(g: WalkGraph): number {
    return g.nodeLng.byteLength + g.nodeLat.byteLength + g.edgeFrom.byteLength + g.edgeTo.byteLength +
        g.edgeLengthM.byteLength + g.edgeDir.byteLength + g.edgeCoords.byteLength + g.edgeCoordOffset.byteLength +
        g.arcOffset.byteLength + g.arcTo.byteLength + g.arcEdge.byteLength + g.arcLengthM.byteLength;
}

import Flatbush from 'flatbush';
import type { CategoryId } from './categories.ts';
import { componentLabels } from './components.ts';
import {
  createSearch,
  reachPoint,
  seedsFromSnaps,
  walkToPoint,
  type PointReach,
  type PointWalk,
  type Search,
  type SearchResult,
} from './dijkstra.ts';
import { geodesicM, type LocalProjection } from './geodesy.ts';
import type { WalkGraph } from './graph.ts';
import { snapPoint, type EdgeSnap, type SnapIndex, type SnapResult } from './snap.ts';

/** A facility as the engine sees it: where it is entered, and where it is for straight-line measures. */
export interface EngineFacility {
  id: number;
  category: CategoryId;
  name: string | null;
  areaM2: number | null;
  isSample: boolean;
  /** Representative point (for API answers). */
  lng: number;
  lat: number;
  /** Access points (entrances, boundary crossings, sampled boundary points, or the point itself). */
  accessLng: Float64Array;
  accessLat: Float64Array;
  /**
   * Longest access leg per access point in metres (default: the snap limit, 200 m): sampled
   * edge points are joined to the network only within {@link SAMPLED_ACCESS_MAX_LEG_M}.
   */
  accessMaxLegM?: Float64Array;
  /**
   * Parks and green spaces: the polygon, every ring's `[lng, lat]` pairs flat in `ringCoords`,
   * ring k spanning pairs `ringOffsets[k]` to `ringOffsets[k + 1]`. A point inside is 0 m from it.
   */
  polygon?: { ringCoords: Float64Array; ringOffsets: Uint32Array };
  /** Points of the facility's own geometry (densified boundary, or the point) for straight-line distance. */
  shapeLng: Float64Array;
  shapeLat: Float64Array;
}

/**
 * Longest straight leg joining a sampled edge point of a park or green space to the network: 30 m,
 * a local choice (about a street's width plus its verge). `derive_facility_access_points`
 * (migration 0020) keeps only samples this close to a public walkable edge; the engine holds the
 * same limit, so a sample whose nearest edge was left out as a fragment is not joined to a street
 * farther away.
 */
export const SAMPLED_ACCESS_MAX_LEG_M = 30;

/** Which facilities a distance field is computed from. */
export interface SourceFilter {
  categories: readonly CategoryId[];
  minAreaM2?: number;
  /** Exclusive upper bound of the facility's area, m² (a size band); absent = none. */
  maxAreaM2?: number;
}

export function sourceFilterKey(f: SourceFilter): string {
  return `${[...f.categories].sort().join('+')}${f.minAreaM2 ? `>=${f.minAreaM2}` : ''}${f.maxAreaM2 ? `<${f.maxAreaM2}` : ''}`;
}

export function matchesFilter(f: SourceFilter, fac: EngineFacility): boolean {
  return (
    f.categories.includes(fac.category) &&
    (!f.minAreaM2 || (fac.areaM2 ?? 0) >= f.minAreaM2) &&
    (!f.maxAreaM2 || (fac.areaM2 ?? 0) < f.maxAreaM2)
  );
}

/**
 * The walking distance from every node to the nearest facility of a filter, with which facility
 * and the predecessor arcs to rebuild the walk: an owned copy of one multi-source search.
 * sourceId = index into `facilities`.
 */
export interface DistanceField {
  key: string;
  filter: SourceFilter;
  facilities: readonly EngineFacility[];
  result: SearchResult;
  /** Access points that could not be placed on the network (beyond the snap limit). */
  unsnappedAccessPoints: number;
  /** Straight-line index over facility shape points, in the snap index's local metres. */
  shapeTree: Flatbush | null;
  shapeFacility: Int32Array;
  shapeLng: Float64Array;
  shapeLat: Float64Array;
  /** Bounding boxes (lng/lat) of the chosen facilities that have a polygon; `polygonFacility` maps them back. */
  polygonTree: Flatbush | null;
  polygonFacility: Int32Array;
}

function copyResult(r: SearchResult): SearchResult {
  return {
    ...r,
    dist: r.dist.slice(),
    source: r.source.slice(),
    predArc: r.predArc.slice(),
    maxDistM: r.maxDistM,
    reached: r.reached.slice(),
    seeds: r.seeds,
    edgeSources: r.edgeSources,
    edgeSourcesByEdge: r.edgeSourcesByEdge,
  };
}

/**
 * Snaps every access point of the facilities to the public network and runs one multi-source
 * Dijkstra (super-source method) bounded by `maxDistM`. `publicEdge` keeps facilities from being
 * entered through private compound ways. O((V + E) log V) within the bound.
 */
export function computeDistanceField(
  graph: WalkGraph,
  snapIndex: SnapIndex,
  search: Search,
  facilities: readonly EngineFacility[],
  filter: SourceFilter,
  maxDistM: number,
  publicEdge: (edge: number) => boolean,
): DistanceField {
  const chosen = facilities.filter((f) => matchesFilter(filter, f));
  const snaps: SnapResult[] = [];
  const ids: number[] = [];
  let unsnapped = 0;
  for (let i = 0; i < chosen.length; i++) {
    const f = chosen[i];
    for (let k = 0; k < f.accessLng.length; k++) {
      const s = snapPoint(snapIndex, f.accessLng[k], f.accessLat[k], {
        edgeFilter: publicEdge,
        maxSnapM: f.accessMaxLegM?.[k],
      });
      if (s.unreachable) unsnapped++;
      else {
        snaps.push(copySnap(s));
        ids.push(i);
      }
    }
  }
  const result = copyResult(search.run(seedsFromSnaps(graph, snaps, ids), maxDistM));
  const shapes = buildShapeIndex(chosen, snapIndex.projection);
  return {
    key: sourceFilterKey(filter),
    filter,
    facilities: chosen,
    result,
    unsnappedAccessPoints: unsnapped,
    ...shapes,
    ...buildPolygonIndex(chosen),
  };
}

/** The polygon index of {@link DistanceField} over `facilities` (those with a `polygon`). O(F log F). */
export function buildPolygonIndex(
  facilities: readonly EngineFacility[],
): Pick<DistanceField, 'polygonTree' | 'polygonFacility'> {
  const withPolygon: number[] = [];
  facilities.forEach((f, i) => {
    if (f.polygon && f.polygon.ringCoords.length >= 6) withPolygon.push(i);
  });
  if (withPolygon.length === 0) return { polygonTree: null, polygonFacility: new Int32Array(0) };
  const tree = new Flatbush(withPolygon.length);
  for (const i of withPolygon) {
    const c = facilities[i].polygon!.ringCoords;
    let minX = Infinity,
      minY = Infinity,
      maxX = -Infinity,
      maxY = -Infinity;
    for (let k = 0; k < c.length; k += 2) {
      minX = Math.min(minX, c[k]);
      maxX = Math.max(maxX, c[k]);
      minY = Math.min(minY, c[k + 1]);
      maxY = Math.max(maxY, c[k + 1]);
    }
    tree.add(minX, minY, maxX, maxY);
  }
  tree.finish();
  return { polygonTree: tree, polygonFacility: Int32Array.from(withPolygon) };
}

/** Even-odd test over every ring, so holes and the parts of a multipolygon both come out right. */
function insidePolygon(polygon: NonNullable<EngineFacility['polygon']>, lng: number, lat: number): boolean {
  const { ringCoords: c, ringOffsets: off } = polygon;
  let inside = false;
  for (let r = 0; r + 1 < off.length; r++) {
    for (let i = off[r], j = off[r + 1] - 1; i < off[r + 1]; j = i++) {
      const xi = c[2 * i],
        yi = c[2 * i + 1],
        xj = c[2 * j],
        yj = c[2 * j + 1];
      if (yi > lat !== yj > lat && lng < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/**
 * The field's facility (index into `field.facilities`) whose polygon holds the point, the lowest
 * index when several do; -1 when none. A point inside a park or green space is 0 m from it.
 * O(log F + k) for the k polygons whose box holds the point.
 */
export function containingFacility(field: DistanceField, lng: number, lat: number): number {
  if (!field.polygonTree) return -1;
  let best = -1;
  for (const k of field.polygonTree.search(lng, lat, lng, lat)) {
    const i = field.polygonFacility[k];
    if ((best < 0 || i < best) && insidePolygon(field.facilities[i].polygon!, lng, lat)) best = i;
  }
  return best;
}

function copySnap(s: EdgeSnap): EdgeSnap {
  return { ...s };
}

/** Shape points of `facilities` in one flatbush over local metres, for straight-line distances. O(n log n). */
export function buildShapeIndex(facilities: readonly EngineFacility[], projection: LocalProjection) {
  let n = 0;
  for (const f of facilities) n += f.shapeLng.length;
  const shapeFacility = new Int32Array(n);
  const shapeLng = new Float64Array(n);
  const shapeLat = new Float64Array(n);
  if (n === 0) return { shapeTree: null, shapeFacility, shapeLng, shapeLat };
  const tree = new Flatbush(n);
  let k = 0;
  for (let i = 0; i < facilities.length; i++) {
    const f = facilities[i];
    for (let j = 0; j < f.shapeLng.length; j++, k++) {
      shapeFacility[k] = i;
      shapeLng[k] = f.shapeLng[j];
      shapeLat[k] = f.shapeLat[j];
      const x = projection.toX(f.shapeLng[j]);
      const y = projection.toY(f.shapeLat[j]);
      tree.add(x, y, x, y);
    }
  }
  tree.finish();
  return { shapeTree: tree, shapeFacility, shapeLng, shapeLat };
}

/** Straight-line (great-circle) distance in metres to the nearest facility shape point, and which facility. */
export function straightDistance(
  field: DistanceField,
  projection: LocalProjection,
  lng: number,
  lat: number,
): { distM: number; facility: number } {
  if (!field.shapeTree) return { distM: Infinity, facility: -1 };
  const x = projection.toX(lng);
  const y = projection.toY(lat);
  // The planar nearest few are re-ranked by geodesic distance, which is what we report.
  const near = field.shapeTree.neighbors(x, y, 4);
  let best = Infinity;
  let facility = -1;
  for (const k of near) {
    const d = geodesicM(lng, lat, field.shapeLng[k], field.shapeLat[k]);
    if (d < best || (d === best && field.shapeFacility[k] < facility)) {
      best = d;
      facility = field.shapeFacility[k];
    }
  }
  return { distM: best, facility };
}

/** Walking distance from a snapped point to the field's nearest facility (Infinity beyond the bound). */
export function reachFromField(graph: WalkGraph, field: DistanceField, snap: SnapResult): PointReach | null {
  return reachPoint(graph, field.result, snap);
}

export function walkFromField(graph: WalkGraph, field: DistanceField, snap: SnapResult): PointWalk | null {
  return walkToPoint(graph, field.result, snap);
}

/**
 * What a search can say about a point, in the words every answer uses:
 * - `distance`: the nearest facility is within the field's bound (the distance cap);
 * - `beyond_cap`: a facility lies in the point's connected piece of the network, so a path may
 *   exist, but it is longer than the cap;
 * - `no_path`: no facility of the field lies in the point's connected piece of the network (or the
 *   point could not be placed on the network at all);
 * - `no_data`: the dataset holds no facility of the field's categories at all.
 */
export type ReachOutcome = 'distance' | 'beyond_cap' | 'no_path' | 'no_data';

const labelsByGraph = new WeakMap<WalkGraph, Int32Array>();
const seedPiecesByResult = new WeakMap<SearchResult, Set<number>>();

/** Component label of every node of `graph` (cached per graph). O(V + E) the first time. */
export function graphComponents(graph: WalkGraph): Int32Array {
  let labels = labelsByGraph.get(graph);
  if (!labels) labelsByGraph.set(graph, (labels = componentLabels(graph.nodeCount, graph.edgeFrom, graph.edgeTo)));
  return labels;
}

function seedPieces(graph: WalkGraph, result: SearchResult): Set<number> {
  let pieces = seedPiecesByResult.get(result);
  if (!pieces) {
    const labels = graphComponents(graph);
    pieces = new Set();
    for (const s of result.seeds) pieces.add(labels[s.node]);
    seedPiecesByResult.set(result, pieces);
  }
  return pieces;
}

/**
 * The outcome for a snapped point whose reach in `field` is `distM` (Infinity when not within the
 * bound). O(1) after the first call per field (O(seeds)).
 */
export function reachOutcome(graph: WalkGraph, field: DistanceField, snap: SnapResult, distM: number): ReachOutcome {
  if (field.facilities.length === 0) return 'no_data';
  if (distM < Infinity) return 'distance';
  if (snap.unreachable) return 'no_path';
  return seedPieces(graph, field.result).has(graphComponents(graph)[graph.edgeFrom[snap.edge]])
    ? 'beyond_cap'
    : 'no_path';
}

export { createSearch };

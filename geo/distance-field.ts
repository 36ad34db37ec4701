import Flatbush from 'flatbush';
import type { CategoryId } from './categories.ts';
import { createSearch, reachPoint, seedsFromSnaps, walkToPoint, type PointReach, type PointWalk, type Search, type SearchResult } from './dijkstra.ts';
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
  /** Points of the facility's own geometry (densified boundary, or the point) for straight-line distance. */
  shapeLng: Float64Array;
  shapeLat: Float64Array;
}

/** Which facilities a distance field is computed from. */
export interface SourceFilter {
  categories: readonly CategoryId[];
  minAreaM2?: number;
}

export function sourceFilterKey(f: SourceFilter): string {
  return `${[...f.categories].sort().join('+')}${f.minAreaM2 ? `>=${f.minAreaM2}` : ''}`;
}

export function matchesFilter(f: SourceFilter, fac: EngineFacility): boolean {
  return f.categories.includes(fac.category) && (!f.minAreaM2 || (fac.areaM2 ?? 0) >= f.minAreaM2);
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
      const s = snapPoint(snapIndex, f.accessLng[k], f.accessLat[k], { edgeFilter: publicEdge });
      if (s.unreachable) unsnapped++;
      else {
        snaps.push(copySnap(s));
        ids.push(i);
      }
    }
  }
  const result = copyResult(search.run(seedsFromSnaps(graph, snaps, ids), maxDistM));
  const shapes = buildShapeIndex(chosen, snapIndex.projection);
  return { key: sourceFilterKey(filter), filter, facilities: chosen, result, unsnappedAccessPoints: unsnapped, ...shapes };
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
export function straightDistance(field: DistanceField, projection: LocalProjection, lng: number, lat: number): { distM: number; facility: number } {
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

export { createSearch };

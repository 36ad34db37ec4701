import { fieldFilters, snapOrigin, type EngineNetwork, type EngineOrigin } from '../coverage.ts';
import { createSearch, reachPoint, type EdgeSource, type Search, type SearchResult, type Seed } from '../dijkstra.ts';
import {
  buildPolygonIndex,
  buildShapeIndex,
  computeDistanceField,
  containingFacility,
  matchesFilter,
  sourceFilterKey,
  type DistanceField,
  type SourceFilter,
} from '../distance-field.ts';
import type { LocalProjection } from '../geodesy.ts';
import type { WalkGraph } from '../graph.ts';
import type { Rule, RuleSet } from '../rules/index.ts';
import { tierFilter } from '../rules/types.ts';
import { DEFAULT_MAX_SNAP_M, type SnapResult } from '../snap.ts';
import type { ScenarioNetwork } from './apply-plans.ts';

/** The fields coverage of `ruleSets` needs, with the bound the baseline used for the same filter. */
export function neededFilters(
  ruleSets: readonly RuleSet[],
  baselineFields: ReadonlyMap<string, DistanceField>,
  withCategories: boolean,
) {
  const tierKeys = new Set<string>();
  for (const rs of ruleSets)
    for (const r of rs.rules) for (const t of r.tiers) tierKeys.add(sourceFilterKey(tierFilter(t)));
  return fieldFilters(ruleSets)
    .map(({ filter, maxDistM }) => {
      const key = sourceFilterKey(filter);
      return { key, filter, maxDistM: baselineFields.get(key)?.result.maxDistM ?? maxDistM };
    })
    .filter(({ key }) => tierKeys.has(key) || withCategories);
}

/** The baseline fields for `filters`: the given ones, plus any missing computed on the baseline network. */
export function completeBaseline(
  baselineNet: EngineNetwork,
  baselineFields: ReadonlyMap<string, DistanceField>,
  filters: readonly { key: string; filter: SourceFilter; maxDistM: number }[],
  baseSearch: () => Search,
): Map<string, DistanceField> {
  const out = new Map(baselineFields);
  const basePublic = (e: number) => baselineNet.edgeIsPrivate[e] === 0;
  for (const f of filters) {
    if (!out.has(f.key)) {
      out.set(
        f.key,
        computeDistanceField(
          baselineNet.graph,
          baselineNet.snapIndex,
          baseSearch(),
          baselineNet.facilities,
          f.filter,
          f.maxDistM,
          basePublic,
        ),
      );
    }
  }
  return out;
}

/**
 * Fields of a scenario. When the graph changed every field is recomputed on it. Otherwise a field
 * whose filter no new facility matches is the baseline's own (shared, read-only), and one that a
 * new facility matches is the baseline field merged with a search from the new facilities only:
 * adding sources can only lower distances, and a multi-source distance is the minimum over its
 * sources, so min(baseline, new) within the same bound is exact (ties keep the baseline facility,
 * as a full search would: its sourceIds come first).
 */
export function scenarioFields(
  baselineNet: EngineNetwork,
  baselineFields: ReadonlyMap<string, DistanceField>,
  scenario: ScenarioNetwork,
  filters: readonly { key: string; filter: SourceFilter; maxDistM: number }[],
  baseSearch: () => Search,
): Map<string, DistanceField> {
  const out = new Map<string, DistanceField>();
  const net = scenario.net;
  const publicEdge = (e: number) => net.edgeIsPrivate[e] === 0;
  if (scenario.graphChanged) {
    const search = createSearch(net.graph);
    for (const f of filters)
      out.set(
        f.key,
        computeDistanceField(net.graph, net.snapIndex, search, net.facilities, f.filter, f.maxDistM, publicEdge),
      );
    return out;
  }
  const basePublic = (e: number) => baselineNet.edgeIsPrivate[e] === 0;
  for (const f of filters) {
    const base = baselineFields.get(f.key);
    if (!base) throw new RangeError(`no baseline field ${f.key}`);
    const added = scenario.addedFacilities.filter((fac) => matchesFilter(f.filter, fac));
    if (!added.length) {
      out.set(f.key, base);
      continue;
    }
    const extra = computeDistanceField(
      baselineNet.graph,
      baselineNet.snapIndex,
      baseSearch(),
      added,
      f.filter,
      f.maxDistM,
      basePublic,
    );
    out.set(f.key, mergeFields(base, extra, baselineNet.snapIndex.projection));
  }
  return out;
}

/** min(base, extra) of two fields over the same graph and bound; extra's sourceIds follow base's. O(V + sources). */
export function mergeFields(base: DistanceField, extra: DistanceField, projection: LocalProjection): DistanceField {
  const b = base.result,
    x = extra.result;
  const offset = base.facilities.length;
  const dist = b.dist.slice(),
    source = b.source.slice(),
    predArc = b.predArc.slice();
  const reachedList: number[] = Array.from(b.reached);
  for (const v of x.reached) {
    const d = x.dist[v];
    if (d < dist[v]) {
      if (dist[v] === Infinity) reachedList.push(v);
      dist[v] = d;
      source[v] = x.source[v] + offset;
      predArc[v] = x.predArc[v];
    }
  }
  const edgeOffset = b.edgeSources.length;
  const edgeSources: EdgeSource[] = [
    ...b.edgeSources,
    ...x.edgeSources.map((s) => ({ snap: s.snap, sourceId: s.sourceId + offset })),
  ];
  const seeds: Seed[] = [
    ...b.seeds,
    ...x.seeds.map((s) => ({
      ...s,
      sourceId: s.sourceId + offset,
      edgeSource: s.edgeSource === undefined ? undefined : s.edgeSource + edgeOffset,
    })),
  ];
  const byEdge = new Map<number, number[]>();
  edgeSources.forEach((s, i) => {
    const list = byEdge.get(s.snap.edge);
    if (list) list.push(i);
    else byEdge.set(s.snap.edge, [i]);
  });
  // spread first, so that whatever else a search result records is carried from the baseline's
  const result: SearchResult = {
    ...b,
    dist,
    source,
    predArc,
    maxDistM: b.maxDistM,
    reached: Int32Array.from(reachedList),
    seeds,
    edgeSources,
    edgeSourcesByEdge: byEdge,
  };
  const facilities = [...base.facilities, ...extra.facilities];
  return {
    key: base.key,
    filter: base.filter,
    facilities,
    result,
    unsnappedAccessPoints: base.unsnappedAccessPoints + extra.unsnappedAccessPoints,
    ...buildShapeIndex(facilities, projection),
    ...buildPolygonIndex(facilities),
  };
}

/**
 * Origin snaps in a scenario: the baseline snap where nothing near it changed, else snapped again
 * with {@link snapOrigin}. Snapped again: residents of touched compounds, origins whose snapped
 * edge was split, and origins within the snap limit of a split edge or removed barrier piece
 * (their nearest unblocked edge may differ). Links are never snapped onto, so elsewhere the
 * snap is what a fresh snap would give. O(origins × changed boxes).
 */
export function scenarioSnaps(
  scenario: ScenarioNetwork,
  origins: readonly EngineOrigin[],
  originSnaps: readonly SnapResult[],
): SnapResult[] {
  const net = scenario.net;
  if (!scenario.graphChanged && !scenario.barriersChanged) return originSnaps as SnapResult[];
  const projection = net.snapIndex.projection;
  const padLat = (DEFAULT_MAX_SNAP_M + 1) / projection.metresPerDegLat;
  const padLng = (DEFAULT_MAX_SNAP_M + 1) / projection.metresPerDegLng;
  return origins.map((o, i) => {
    const s = originSnaps[i];
    let again =
      (o.compound >= 0 && scenario.touchedCompounds.has(o.compound)) ||
      (!s.unreachable && scenario.splitEdges.has(s.edge));
    for (const [minLng, minLat, maxLng, maxLat] of scenario.changedBoxes) {
      if (again) break;
      again =
        o.lng >= minLng - padLng && o.lng <= maxLng + padLng && o.lat >= minLat - padLat && o.lat <= maxLat + padLat;
    }
    if (!again) return s;
    const r = snapOrigin(net, o.lng, o.lat, o.compound);
    return r.unreachable ? r : { ...r };
  });
}

/**
 * Covered population per rule (city total), counted as evaluateCoverage counts it (a resident is
 * covered when some tier's field reaches them within its distance), summed in origin order.
 * Skips straight-line distances, so it is the cheap count behind marginal gains and suggestions.
 * O(origins × tiers).
 */
export function coveredTotals(
  graph: WalkGraph,
  fields: ReadonlyMap<string, DistanceField>,
  rules: readonly Rule[],
  origins: readonly EngineOrigin[],
  snaps: readonly SnapResult[],
): number[] {
  return rules.map((rule) => {
    const tierFields = rule.tiers.map((t) => fields.get(sourceFilterKey(tierFilter(t)))!);
    let covered = 0;
    for (let i = 0; i < origins.length; i++) {
      if (originCovered(graph, rule, tierFields, snaps[i], origins[i])) covered += origins[i].population;
    }
    return covered;
  });
}

/** Whether some tier's field reaches the snapped origin within that tier's distance. O(tiers). */
export function originCovered(
  graph: WalkGraph,
  rule: Rule,
  tierFields: readonly DistanceField[],
  snap: SnapResult,
  origin: EngineOrigin,
): boolean {
  // Inside a park or green space: 0 m, as evaluateCoverage counts it.
  for (const f of tierFields) if (containingFacility(f, origin.lng, origin.lat) >= 0) return true;
  if (snap.unreachable) return false;
  for (let t = 0; t < rule.tiers.length; t++) {
    const r = reachPoint(graph, tierFields[t].result, snap);
    if (r && r.distM <= rule.tiers[t].maxDistanceM) return true;
  }
  return false;
}

import { CATEGORIES, type CategoryId } from './categories.ts';
import { createSearch } from './dijkstra.ts';
import {
  computeDistanceField,
  containingFacility,
  reachFromField,
  reachOutcome,
  sourceFilterKey,
  straightDistance,
  type DistanceField,
  type EngineFacility,
  type ReachOutcome,
  type SourceFilter,
} from './distance-field.ts';
import { geodesicM } from './geodesy.ts';
import type { WalkGraph } from './graph.ts';
import {
  ruleMeasure,
  rulePopulationGroup,
  tierFilter,
  type PopulationGroup,
  type RuleMeasure,
  type RuleSet,
  type Rule,
} from './rules/types.ts';
import { snapPoint, type BarrierIndex, type EdgeSnap, type SnapIndex, type SnapResult } from './snap.ts';

export const AREA_LEVELS = ['residential_area', 'community', 'street', 'district'] as const;
export type AreaLevel = (typeof AREA_LEVELS)[number];

/** A place where residents live, carrying its share of its residential area's population. */
export interface EngineOrigin {
  id: number;
  lng: number;
  lat: number;
  population: number;
  /** Index into {@link EngineNetwork.compounds} when inside a gated compound, else -1. */
  compound: number;
  /** Area keys and names per level (null where the origin lies in no area of that level). */
  areas: Record<AreaLevel, { key: string; name: string | null } | null>;
  /**
   * Lies within the edge margin of the data's edge (see `EDGE_MARGIN_M` in the server's study
   * area): a facility just outside the extract could serve it, so when it is not covered its area
   * carries an `edge_of_data` caveat. Absent = false.
   */
  nearDataEdge?: boolean;
  /**
   * Residential land this origin stands for, m²: its residential area's `area_m2` shared equally
   * among the area's origins. Weighs rules with the `residential_land_area` measure; absent = 0.
   */
  landAreaM2?: number;
  /** Residents aged 60+ / children among `population`, from a population import; null or absent = not imported (estimated). */
  elderly?: number | null;
  children?: number | null;
}

/**
 * Share of residents in each group where an origin carries no imported count (the population
 * import gave none): China's 7th national population census (2020), 60 and over 18.70 %, aged
 * 0–14 17.95 %. National, not a city's, so no city is tuned for; such figures are marked estimated.
 */
export const GROUP_SHARE_ESTIMATE: Readonly<Record<'elderly' | 'children', number>> = {
  elderly: 0.187,
  children: 0.1795,
};

/**
 * What an origin weighs in a rule's shares: residents (of the rule's group) or residential land
 * area, and whether the figure is estimated (a group count the population import did not give).
 */
export function originWeight(
  o: EngineOrigin,
  measure: RuleMeasure,
  group: PopulationGroup,
): { weight: number; estimated: boolean } {
  if (measure === 'residential_land_area') return { weight: o.landAreaM2 ?? 0, estimated: false };
  if (group === 'all') return { weight: o.population, estimated: false };
  const count = o[group];
  if (count === null || count === undefined)
    return { weight: o.population * GROUP_SHARE_ESTIMATE[group], estimated: true };
  return { weight: count, estimated: false };
}

/** A gated compound: residents inside reach the street only through its gates. */
export interface EngineCompound {
  id: number;
  /** Graph nodes of its gates. */
  gateNodes: readonly number[];
  /** Edges inside the compound (their midpoint lies in it). */
  internalEdges: ReadonlySet<number>;
}

/** Everything the engine needs about one dataset, loaded once and kept in memory. */
export interface EngineNetwork {
  graph: WalkGraph;
  snapIndex: SnapIndex;
  barriers: BarrierIndex | undefined;
  /** Edge ids of the graph → database ids. */
  edgeDbId: Float64Array;
  /** Private compound ways: facilities are never entered through them. */
  edgeIsPrivate: Uint8Array;
  compounds: readonly EngineCompound[];
  facilities: readonly EngineFacility[];
}

/**
 * Place a resident's origin on the network. Outside compounds: the nearest edge whose access leg
 * crosses no wall. Inside a gated compound: the nearest internal edge (not crossing walls), else a
 * straight walk to the nearest gate. O(log E) per origin.
 */
export function snapOrigin(
  net: EngineNetwork,
  lng: number,
  lat: number,
  compound: number,
  maxSnapM?: number,
): SnapResult {
  const c = compound >= 0 ? net.compounds[compound] : undefined;
  if (!c) return snapPoint(net.snapIndex, lng, lat, { barriers: net.barriers, maxSnapM });
  if (c.internalEdges.size > 0) {
    const inside = snapPoint(net.snapIndex, lng, lat, {
      barriers: net.barriers,
      maxSnapM,
      edgeFilter: (e) => c.internalEdges.has(e),
    });
    if (!inside.unreachable) return inside;
  }
  return snapToGate(net.graph, c, lng, lat, maxSnapM ?? 200);
}

function snapToGate(graph: WalkGraph, c: EngineCompound, lng: number, lat: number, maxSnapM: number): SnapResult {
  let best: EdgeSnap | null = null;
  for (const node of c.gateNodes) {
    const d = geodesicM(lng, lat, graph.nodeLng[node], graph.nodeLat[node]);
    if (best && d >= best.accessM) continue;
    // Any edge leaving the gate node will do: the snap sits exactly on the node.
    if (graph.arcOffset[node] === graph.arcOffset[node + 1]) continue;
    const edge = graph.arcEdge[graph.arcOffset[node]];
    const atFrom = graph.edgeFrom[edge] === node;
    best = {
      unreachable: false,
      edge,
      alongM: atFrom ? 0 : graph.edgeLengthM[edge],
      accessM: d,
      lng: graph.nodeLng[node],
      lat: graph.nodeLat[node],
      pointLng: lng,
      pointLat: lat,
    };
  }
  if (!best) return { unreachable: true, reason: 'blocked_by_barrier' };
  if (best.accessM > maxSnapM * 3) return { unreachable: true, reason: 'beyond_snap_limit', nearestM: best.accessM };
  return best;
}

/**
 * The filters of every rule tier plus one per category (for maps and proximity). Every field
 * searches to the same {@link DISTANCE_CAP_M}, whatever its rule's limit, so a distance is
 * reported up to the cap for every rule and "beyond the cap" means the same everywhere.
 */
export function fieldFilters(
  ruleSets: readonly RuleSet[],
  categories?: ReadonlySet<string>,
): { filter: SourceFilter; maxDistM: number }[] {
  const byKey = new Map<string, { filter: SourceFilter; maxDistM: number }>();
  const add = (filter: SourceFilter) => {
    const key = sourceFilterKey(filter);
    if (!byKey.has(key)) byKey.set(key, { filter, maxDistM: DISTANCE_CAP_M });
  };
  for (const c of CATEGORIES) if (!categories || categories.has(c.id)) add({ categories: [c.id as CategoryId] });
  for (const rs of ruleSets) for (const r of rs.rules) for (const t of r.tiers) add(tierFilter(t));
  return [...byKey.values()].sort((a, b) => (sourceFilterKey(a.filter) < sourceFilterKey(b.filter) ? -1 : 1));
}

/**
 * How far every distance field searches, metres: walking distances are reported up to here, and a
 * facility farther away is `beyond_cap`. 3000 m is three times the largest rule distance
 * (GB 50180-2018 §3.0.4, 15-minute life circle, 800–1000 m) and 45 minutes at 4 km/h, so maps and
 * audits show how far beyond its limit a street or a resident is, for every rule. A local choice.
 */
export const DISTANCE_CAP_M = 3000;

/** Whether the facilities hold anything a rule could count: false = the rule is `no_data`. */
export function ruleHasData(rule: RuleSet['rules'][number], facilities: readonly EngineFacility[]): boolean {
  const cats = new Set(rule.tiers.flatMap((t) => t.categories));
  return facilities.some((f) => cats.has(f.category));
}

/**
 * Compute every distance field the rule sets and maps need (the per-category fields for maps only
 * for `categories` when given: an incremental recompute needs only the changed ones).
 */
export function computeFields(
  net: EngineNetwork,
  ruleSets: readonly RuleSet[],
  categories?: ReadonlySet<string>,
): Map<string, DistanceField> {
  const search = createSearch(net.graph);
  const publicEdge = (e: number) => net.edgeIsPrivate[e] === 0;
  const fields = new Map<string, DistanceField>();
  for (const { filter, maxDistM } of fieldFilters(ruleSets, categories)) {
    fields.set(
      sourceFilterKey(filter),
      computeDistanceField(net.graph, net.snapIndex, search, net.facilities, filter, maxDistM, publicEdge),
    );
  }
  return fields;
}

export interface OriginRuleResult {
  /** Walking distance to the nearest qualifying facility (null: none within {@link DISTANCE_CAP_M}; see `outcome`). */
  networkM: number | null;
  /** `distance` when networkM is set, else why not: `beyond_cap`, `no_path`, or the rule's `no_data`. */
  outcome: ReachOutcome;
  straightM: number | null;
  facilityId: number | null;
  covered: boolean;
  straightCovered: boolean;
}

export interface AreaRuleResult {
  level: AreaLevel | 'city';
  key: string;
  name: string | null;
  /** What `population` and the other weights count: residents, or residential land area in m² (the rule's measure). */
  measure: RuleMeasure;
  /** Whose residents are counted (population measure). */
  populationGroup: PopulationGroup;
  /** The part of `population` that is estimated (group counts the population import did not give); 0 = none. */
  estimatedPopulation: number;
  /** Residents of the rule's group, or residential land m² (see `measure`); covered figures likewise. */
  population: number;
  coveredPopulation: number;
  straightCoveredPopulation: number;
  share: number | null;
  straightShare: number | null;
  targetShare: number;
  passes: boolean;
  decidingFacilityId: number | null;
  /** Mean walking distance over the uncovered residents that have one (outcome `distance`). */
  uncoveredMeanM: number | null;
  /** Uncovered residents with outcome `no_path` (the only ones called unreachable). */
  uncoveredUnreachablePopulation: number;
  /** Uncovered residents with outcome `beyond_cap`. */
  uncoveredBeyondCapPopulation: number;
  /** Uncovered residents within the edge margin of the data's edge (`EngineOrigin.nearDataEdge`). */
  uncoveredNearEdgePopulation: number;
  /** The rule is not assessable: no facility of its categories in the data. Then passes is false and means nothing. */
  noData: boolean;
}

export interface RuleCoverage {
  ruleSetId: string;
  ruleId: string;
  /** No facility of the rule's categories in the data: not assessable. */
  noData: boolean;
  origins: OriginRuleResult[];
  areas: AreaRuleResult[];
}

/**
 * Coverage of every rule for every origin, and population-weighted aggregates per residential
 * area, community, street, district and the whole city. Network and straight-line (buffer) shares
 * side by side. Deterministic: same input, same numbers. O(origins × rules).
 */
export function evaluateCoverage(
  net: EngineNetwork,
  fields: ReadonlyMap<string, DistanceField>,
  ruleSets: readonly RuleSet[],
  origins: readonly EngineOrigin[],
  originSnaps: readonly SnapResult[],
): RuleCoverage[] {
  const out: RuleCoverage[] = [];
  const projection = net.snapIndex.projection;
  for (const rs of ruleSets) {
    for (const rule of rs.rules) {
      const noData = !ruleHasData(rule, net.facilities);
      const results: OriginRuleResult[] = new Array(origins.length);
      for (let i = 0; i < origins.length; i++) {
        const o = origins[i];
        let bestRatio = Infinity;
        let res: OriginRuleResult = {
          networkM: null,
          outcome: noData ? 'no_data' : 'no_path',
          straightM: null,
          facilityId: null,
          covered: false,
          straightCovered: false,
        };
        let bestStraightRatio = Infinity;
        for (const tier of rule.tiers) {
          const field = fields.get(sourceFilterKey(tierFilter(tier)))!;
          // An origin inside a park or green space is 0 m from it, by both measures.
          const holder = containingFacility(field, o.lng, o.lat);
          const reach = holder >= 0 ? { distM: 0, sourceId: holder } : reachFromField(net.graph, field, originSnaps[i]);
          const straight =
            holder >= 0 ? { distM: 0, facility: holder } : straightDistance(field, projection, o.lng, o.lat);
          if (straight.distM / tier.maxDistanceM < bestStraightRatio) {
            bestStraightRatio = straight.distM / tier.maxDistanceM;
            res.straightM = Number.isFinite(straight.distM) ? straight.distM : null;
          }
          if (straight.distM <= tier.maxDistanceM) res.straightCovered = true;
          if (reach && reach.distM / tier.maxDistanceM < bestRatio) {
            bestRatio = reach.distM / tier.maxDistanceM;
            res = {
              ...res,
              networkM: reach.distM,
              outcome: 'distance',
              facilityId: field.facilities[reach.sourceId].id,
              covered: reach.distM <= tier.maxDistanceM || res.covered,
            };
          } else if (
            !reach &&
            res.outcome === 'no_path' &&
            reachOutcome(net.graph, field, originSnaps[i], Infinity) === 'beyond_cap'
          )
            res.outcome = 'beyond_cap';
        }
        results[i] = res;
      }
      out.push({
        ruleSetId: rs.id,
        ruleId: rule.id,
        noData,
        origins: results,
        areas: aggregate(origins, results, rule, noData),
      });
    }
  }
  return out;
}

function aggregate(
  origins: readonly EngineOrigin[],
  results: readonly OriginRuleResult[],
  rule: Rule,
  noData: boolean,
): AreaRuleResult[] {
  const targetShare = rule.targetShare;
  const measure = ruleMeasure(rule);
  const populationGroup = rulePopulationGroup(rule);
  interface Acc {
    level: AreaLevel | 'city';
    key: string;
    name: string | null;
    pop: number;
    estimated: number;
    covered: number;
    straight: number;
    uncoveredDistSum: number;
    uncoveredReachPop: number;
    unreachable: number;
    beyondCap: number;
    nearEdge: number;
    byFacility: Map<number, number>;
  }
  const accs = new Map<string, Acc>();
  const get = (level: Acc['level'], key: string, name: string | null) => {
    const id = `${level}\u0000${key}`;
    let a = accs.get(id);
    if (!a)
      accs.set(
        id,
        (a = {
          level,
          key,
          name,
          pop: 0,
          estimated: 0,
          covered: 0,
          straight: 0,
          uncoveredDistSum: 0,
          uncoveredReachPop: 0,
          unreachable: 0,
          beyondCap: 0,
          nearEdge: 0,
          byFacility: new Map(),
        }),
      );
    return a;
  };
  for (let i = 0; i < origins.length; i++) {
    const o = origins[i];
    const r = results[i];
    const { weight: w, estimated } = originWeight(o, measure, populationGroup);
    const targets: Acc[] = [get('city', 'all', null)];
    for (const level of AREA_LEVELS) {
      const area = o.areas[level];
      if (area) targets.push(get(level, area.key, area.name));
    }
    for (const a of targets) {
      a.pop += w;
      if (estimated) a.estimated += w;
      if (r.covered) {
        a.covered += w;
        if (r.facilityId !== null) a.byFacility.set(r.facilityId, (a.byFacility.get(r.facilityId) ?? 0) + w);
      } else {
        if (r.networkM !== null) {
          a.uncoveredDistSum += r.networkM * w;
          a.uncoveredReachPop += w;
        } else if (r.outcome === 'beyond_cap') a.beyondCap += w;
        else if (r.outcome === 'no_path') a.unreachable += w;
        if (o.nearDataEdge) a.nearEdge += w;
      }
      if (r.straightCovered) a.straight += w;
    }
  }
  const areas: AreaRuleResult[] = [];
  for (const a of accs.values()) {
    let deciding: number | null = null;
    let decidingPop = -1;
    for (const [f, p] of a.byFacility)
      if (p > decidingPop || (p === decidingPop && f < (deciding ?? Infinity))) [deciding, decidingPop] = [f, p];
    const share = a.pop > 0 ? a.covered / a.pop : null;
    areas.push({
      level: a.level,
      key: a.key,
      name: a.name,
      measure,
      populationGroup,
      estimatedPopulation: a.estimated,
      population: a.pop,
      coveredPopulation: a.covered,
      straightCoveredPopulation: a.straight,
      share,
      straightShare: a.pop > 0 ? a.straight / a.pop : null,
      targetShare,
      passes: !noData && share !== null && share >= targetShare - 1e-12,
      decidingFacilityId: deciding,
      uncoveredMeanM: a.uncoveredReachPop > 0 ? a.uncoveredDistSum / a.uncoveredReachPop : null,
      uncoveredUnreachablePopulation: a.unreachable,
      uncoveredBeyondCapPopulation: a.beyondCap,
      uncoveredNearEdgePopulation: a.nearEdge,
      noData,
    });
  }
  areas.sort((x, y) => (x.level < y.level ? -1 : x.level > y.level ? 1 : x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return areas;
}

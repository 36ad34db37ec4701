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

/** Bits of {@link CompactRuleResults.flags}: the outcome (bits 0–1, {@link OUTCOME_CODES} order), covered, straight-covered. */
export const OUTCOME_CODES: readonly ReachOutcome[] = ['distance', 'beyond_cap', 'no_path', 'no_data'];
export const FLAG_COVERED = 4;
export const FLAG_STRAIGHT_COVERED = 8;

/**
 * One rule's per-origin results as columns aligned with the origins (25 bytes per origin instead
 * of an object): NaN where {@link OriginRuleResult} holds null.
 */
export interface CompactRuleResults {
  networkM: Float64Array;
  straightM: Float64Array;
  facilityId: Float64Array;
  /** outcome code (index into {@link OUTCOME_CODES}) | FLAG_COVERED | FLAG_STRAIGHT_COVERED */
  flags: Uint8Array;
}

export interface CompactRuleCoverage {
  ruleSetId: string;
  ruleId: string;
  noData: boolean;
  results: CompactRuleResults;
  areas: AreaRuleResult[];
}

/** Origin i of compact results as the object {@link evaluateCoverage} returns. */
export function originResult(r: CompactRuleResults, i: number): OriginRuleResult {
  const nullable = (x: number) => (Number.isNaN(x) ? null : x);
  const f = r.flags[i];
  return {
    networkM: nullable(r.networkM[i]),
    outcome: OUTCOME_CODES[f & 3],
    straightM: nullable(r.straightM[i]),
    facilityId: nullable(r.facilityId[i]),
    covered: (f & FLAG_COVERED) !== 0,
    straightCovered: (f & FLAG_STRAIGHT_COVERED) !== 0,
  };
}

/**
 * Coverage of every rule for every origin, and population-weighted aggregates per residential
 * area, community, street, district and the whole city. Network and straight-line (buffer) shares
 * side by side. Deterministic: same input, same numbers. O(origins × rules). The per-origin
 * results as objects: for scenarios and small towns; a whole city uses {@link evaluateCoverageCompact}.
 */
export function evaluateCoverage(
  net: EngineNetwork,
  fields: ReadonlyMap<string, DistanceField>,
  ruleSets: readonly RuleSet[],
  origins: readonly EngineOrigin[],
  originSnaps: readonly SnapResult[],
): RuleCoverage[] {
  return evaluateCoverageCompact(net, fields, ruleSets, origins, originSnaps).map((c) => ({
    ruleSetId: c.ruleSetId,
    ruleId: c.ruleId,
    noData: c.noData,
    origins: Array.from({ length: origins.length }, (_, i) => originResult(c.results, i)),
    areas: c.areas,
  }));
}

/** Origins evaluated per block: the per-field answers of one block are kept, not the whole city's. */
const BLOCK = 16_384;

/**
 * {@link evaluateCoverage} with the per-origin results as columns. Each distance field a tier
 * uses is read once per origin (reach, straight-line distance, containing polygon), however many
 * rules' tiers share it, in blocks of origins; then every rule combines its tiers from those
 * answers in the same order and with the same comparisons as the per-object form (the oracle
 * geo/fixtures/coverage-reference.ts, test geo/coverage-compact.test.ts).
 */
export function evaluateCoverageCompact(
  net: EngineNetwork,
  fields: ReadonlyMap<string, DistanceField>,
  ruleSets: readonly RuleSet[],
  origins: readonly EngineOrigin[],
  originSnaps: readonly SnapResult[],
): CompactRuleCoverage[] {
  const n = origins.length;
  const projection = net.snapIndex.projection;
  // The distinct fields the tiers read, and for every rule its tiers as (field slot, limit).
  const slotOf = new Map<string, number>();
  const slotFields: DistanceField[] = [];
  const rules = ruleSets.flatMap((rs) =>
    rs.rules.map((rule) => ({
      rs,
      rule,
      noData: !ruleHasData(rule, net.facilities),
      tiers: rule.tiers.map((tier) => {
        const key = sourceFilterKey(tierFilter(tier));
        let slot = slotOf.get(key);
        if (slot === undefined) {
          const field = fields.get(key);
          if (!field) throw new Error(`no distance field for ${key}`);
          slotOf.set(key, (slot = slotFields.length));
          slotFields.push(field);
        }
        return { slot, maxM: tier.maxDistanceM };
      }),
      results: {
        networkM: new Float64Array(n),
        straightM: new Float64Array(n),
        facilityId: new Float64Array(n),
        flags: new Uint8Array(n),
      } satisfies CompactRuleResults,
    })),
  );
  const nf = slotFields.length;
  const block = Math.min(BLOCK, n);
  // Per field and origin of the block: walking metres (NaN: no reach), the facility reached,
  // straight-line metres, and whether a facility lies beyond the cap in the origin's piece.
  const reachM = new Float64Array(nf * block);
  const reachSource = new Int32Array(nf * block);
  const straightM = new Float64Array(nf * block);
  const beyondCap = new Uint8Array(nf * block);
  for (let b0 = 0; b0 < n; b0 += block) {
    const b1 = Math.min(n, b0 + block);
    for (let s = 0; s < nf; s++) {
      const field = slotFields[s];
      for (let i = b0; i < b1; i++) {
        const o = origins[i];
        const k = s * block + (i - b0);
        // An origin inside a park or green space is 0 m from it, by both measures.
        const holder = containingFacility(field, o.lng, o.lat);
        if (holder >= 0) {
          reachM[k] = 0;
          reachSource[k] = holder;
          straightM[k] = 0;
          beyondCap[k] = 0;
          continue;
        }
        const reach = reachFromField(net.graph, field, originSnaps[i]);
        straightM[k] = straightDistance(field, projection, o.lng, o.lat).distM;
        if (reach) {
          reachM[k] = reach.distM;
          reachSource[k] = reach.sourceId;
          beyondCap[k] = 0;
        } else {
          reachM[k] = NaN;
          reachSource[k] = -1;
          beyondCap[k] = reachOutcome(net.graph, field, originSnaps[i], Infinity) === 'beyond_cap' ? 1 : 0;
        }
      }
    }
    for (const { tiers, noData, results } of rules) {
      for (let i = b0; i < b1; i++) {
        let bestRatio = Infinity;
        let bestStraightRatio = Infinity;
        let network = NaN;
        let straight = NaN;
        let facility = NaN;
        let outcome = noData ? 3 : 2;
        let covered = false;
        let straightCovered = false;
        for (const { slot, maxM } of tiers) {
          const k = slot * block + (i - b0);
          const sd = straightM[k];
          if (sd / maxM < bestStraightRatio) {
            bestStraightRatio = sd / maxM;
            straight = Number.isFinite(sd) ? sd : NaN;
          }
          if (sd <= maxM) straightCovered = true;
          const rd = reachM[k];
          if (!Number.isNaN(rd)) {
            if (rd / maxM < bestRatio) {
              bestRatio = rd / maxM;
              network = rd;
              outcome = 0;
              facility = slotFields[slot].facilities[reachSource[k]].id;
              covered = rd <= maxM || covered;
            }
          } else if (outcome === 2 && beyondCap[k]) outcome = 1;
        }
        results.networkM[i] = network;
        results.straightM[i] = straight;
        results.facilityId[i] = facility;
        results.flags[i] = outcome | (covered ? FLAG_COVERED : 0) | (straightCovered ? FLAG_STRAIGHT_COVERED : 0);
      }
    }
  }
  const areas = areaSlots(origins);
  return rules.map(({ rs, rule, noData, results }) => ({
    ruleSetId: rs.id,
    ruleId: rule.id,
    noData,
    results,
    areas: aggregate(origins, areas, results, rule, noData),
  }));
}

/** Every area the origins lie in (the city first), and per origin its areas' slots (-1: none). */
interface AreaSlots {
  level: (AreaLevel | 'city')[];
  key: string[];
  name: (string | null)[];
  /** (1 + AREA_LEVELS.length) slots per origin: the city, then one per level. */
  ofOrigin: Int32Array;
}

const SLOTS_PER_ORIGIN = 1 + AREA_LEVELS.length;

function areaSlots(origins: readonly EngineOrigin[]): AreaSlots {
  // No origins, no areas (not even the city).
  const some = origins.length > 0;
  const out: AreaSlots = {
    level: some ? ['city'] : [],
    key: some ? ['all'] : [],
    name: some ? [null] : [],
    ofOrigin: new Int32Array(origins.length * SLOTS_PER_ORIGIN),
  };
  const byId = new Map<string, number>();
  for (let i = 0; i < origins.length; i++) {
    const o = origins[i];
    out.ofOrigin[i * SLOTS_PER_ORIGIN] = 0;
    AREA_LEVELS.forEach((level, l) => {
      const area = o.areas[level];
      let slot = -1;
      if (area) {
        const id = `${level}\u0000${area.key}`;
        const known = byId.get(id);
        if (known !== undefined) slot = known;
        else {
          byId.set(id, (slot = out.level.length));
          out.level.push(level);
          out.key.push(area.key);
          out.name.push(area.name);
        }
      }
      out.ofOrigin[i * SLOTS_PER_ORIGIN + 1 + l] = slot;
    });
  }
  return out;
}

function aggregate(
  origins: readonly EngineOrigin[],
  slots: AreaSlots,
  r: CompactRuleResults,
  rule: Rule,
  noData: boolean,
): AreaRuleResult[] {
  const targetShare = rule.targetShare;
  const measure = ruleMeasure(rule);
  const populationGroup = rulePopulationGroup(rule);
  const s = slots.level.length;
  const pop = new Float64Array(s);
  const estimatedPop = new Float64Array(s);
  const coveredPop = new Float64Array(s);
  const straightPop = new Float64Array(s);
  const uncoveredDistSum = new Float64Array(s);
  const uncoveredReachPop = new Float64Array(s);
  const unreachable = new Float64Array(s);
  const beyondCap = new Float64Array(s);
  const nearEdge = new Float64Array(s);
  const byFacility: (Map<number, number> | undefined)[] = new Array(s);
  for (let i = 0; i < origins.length; i++) {
    const o = origins[i];
    const { weight: w, estimated } = originWeight(o, measure, populationGroup);
    const f = r.flags[i];
    const covered = (f & FLAG_COVERED) !== 0;
    const straightCovered = (f & FLAG_STRAIGHT_COVERED) !== 0;
    const outcome = f & 3;
    const networkM = r.networkM[i];
    const facilityId = r.facilityId[i];
    for (let t = 0; t < SLOTS_PER_ORIGIN; t++) {
      const a = slots.ofOrigin[i * SLOTS_PER_ORIGIN + t];
      if (a < 0) continue;
      pop[a] += w;
      if (estimated) estimatedPop[a] += w;
      if (covered) {
        coveredPop[a] += w;
        if (!Number.isNaN(facilityId)) {
          const m = (byFacility[a] ??= new Map());
          m.set(facilityId, (m.get(facilityId) ?? 0) + w);
        }
      } else {
        if (!Number.isNaN(networkM)) {
          uncoveredDistSum[a] += networkM * w;
          uncoveredReachPop[a] += w;
        } else if (outcome === 1) beyondCap[a] += w;
        else if (outcome === 2) unreachable[a] += w;
        if (o.nearDataEdge) nearEdge[a] += w;
      }
      if (straightCovered) straightPop[a] += w;
    }
  }
  const areas: AreaRuleResult[] = [];
  for (let a = 0; a < s; a++) {
    let deciding: number | null = null;
    let decidingPop = -1;
    for (const [fid, p] of byFacility[a] ?? [])
      if (p > decidingPop || (p === decidingPop && fid < (deciding ?? Infinity))) [deciding, decidingPop] = [fid, p];
    const share = pop[a] > 0 ? coveredPop[a] / pop[a] : null;
    areas.push({
      level: slots.level[a],
      key: slots.key[a],
      name: slots.name[a],
      measure,
      populationGroup,
      estimatedPopulation: estimatedPop[a],
      population: pop[a],
      coveredPopulation: coveredPop[a],
      straightCoveredPopulation: straightPop[a],
      share,
      straightShare: pop[a] > 0 ? straightPop[a] / pop[a] : null,
      targetShare,
      passes: !noData && share !== null && share >= targetShare - 1e-12,
      decidingFacilityId: deciding,
      uncoveredMeanM: uncoveredReachPop[a] > 0 ? uncoveredDistSum[a] / uncoveredReachPop[a] : null,
      uncoveredUnreachablePopulation: unreachable[a],
      uncoveredBeyondCapPopulation: beyondCap[a],
      uncoveredNearEdgePopulation: nearEdge[a],
      noData,
    });
  }
  areas.sort((x, y) => (x.level < y.level ? -1 : x.level > y.level ? 1 : x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return areas;
}

import Flatbush from 'flatbush';
import type { EngineNetwork, EngineOrigin } from '../coverage.ts';
import { createSearch, reachPoint, seedsFromSnaps, type Search } from '../dijkstra.ts';
import { matchesFilter, sourceFilterKey, type DistanceField } from '../distance-field.ts';
import type { Rule, RuleSet } from '../rules/index.ts';
import { tierFilter } from '../rules/types.ts';
import { snapPoint, type SnapResult } from '../snap.ts';
import { applyPrepared } from './apply-plans.ts';
import {
  completeBaseline,
  coveredTotals,
  neededFilters,
  originCovered,
  scenarioFields,
  scenarioSnaps,
} from './fields.ts';
import { openSpaceFacility } from './open-space.ts';
import { preparePlan, type ScenarioPlan } from './plan.ts';

/** Above this many subsets the exact optimum is not enumerated (open-space candidates, set unions). */
export const MAX_ENUMERATED_SUBSETS = 200_000;
/** Above this many subsets with network changes (each a scenario) the optimum is not enumerated. */
export const MAX_ENUMERATED_SCENARIOS = 64;

export interface SuggestPick {
  ref: string;
  /** population newly covered when picked (marginal over the earlier picks) */
  gain: number;
  /** newly covered by this candidate alone */
  standaloneGain: number;
  cumulative: number;
}

export interface Suggestion {
  picks: SuggestPick[];
  greedyTotal: number;
  /** exact optimum over all subsets of size k; null when skipped */
  optimum: { total: number; refs: string[] } | null;
  optimalityGap: number | null;
  enumeration: 'done' | 'skipped';
  subsetsEnumerated: number;
  baselineCovered: number;
}

/**
 * Greedy maximal covering for one rule: up to `k` candidates, each round taking the one with the
 * largest marginal gain recomputed against the picks so far (ties: lower index); stops when no
 * candidate adds anyone. When every candidate is an open space the covered set of a selection is
 * the union of each candidate's own newly covered residents (adding sources only lowers
 * distances), so gains come from set unions; otherwise each selection is evaluated as a scenario.
 * When the number of subsets is small ({@link MAX_ENUMERATED_SUBSETS} /
 * {@link MAX_ENUMERATED_SCENARIOS}) the exact optimum is enumerated and the gap reported.
 */
export function suggestPlans(
  baselineNet: EngineNetwork,
  baselineFields: ReadonlyMap<string, DistanceField>,
  ruleSet: RuleSet,
  rule: Rule,
  origins: readonly EngineOrigin[],
  originSnaps: readonly SnapResult[],
  candidates: readonly ScenarioPlan[],
  k: number,
  options: { baselineSearch?: Search } = {},
): Suggestion {
  const g = baselineNet.graph;
  let search = options.baselineSearch;
  const baseSearch = () => (search ??= createSearch(g));
  const rs: RuleSet = { ...ruleSet, rules: [rule] };
  const filters = neededFilters([rs], baselineFields, false);
  const baseFields = completeBaseline(baselineNet, baselineFields, filters, baseSearch);
  const basePublic = (e: number) => baselineNet.edgeIsPrivate[e] === 0;
  const tierFields = rule.tiers.map((t) => baseFields.get(sourceFilterKey(tierFilter(t)))!);
  const baseCovered = origins.map((o, i) => originCovered(g, rule, tierFields, originSnaps[i], o));
  let baselineCovered = 0;
  for (let i = 0; i < origins.length; i++) if (baseCovered[i]) baselineCovered += origins[i].population;
  const n = candidates.length;
  const kk = Math.min(k, n);
  const prepared = candidates.map((p) => preparePlan(baselineNet.snapIndex.projection, p));

  if (candidates.every((c) => c.kind === 'add_open_space')) {
    // Only origins within a tier's distance in a straight line of the site can be reached
    // within it: a walk is at least `stretch` times the great-circle length of its polylines,
    // which is at least the straight line. `stretch` is the smallest ratio of an edge's length
    // to the geodesic length of its polyline (1 for PostGIS lengths, up to rounding);
    // where it is implausible (< 0.5, e.g. zero-length test edges) every origin is checked.
    const { projection, pointCumM } = baselineNet.snapIndex;
    let stretch = Infinity;
    for (let e = 0; e < g.edgeCount; e++) {
      const havM = pointCumM[g.edgeCoordOffset[e + 1] - 1];
      if (havM > 0) stretch = Math.min(stretch, g.edgeLengthM[e] / havM);
    }
    const radiusOf = (maxM: number) => (stretch >= 0.5 ? (maxM / Math.min(1, stretch)) * 1.01 + 1 : Infinity);
    const originTree = new Flatbush(Math.max(1, origins.length));
    for (const o of origins)
      originTree.add(projection.toX(o.lng), projection.toY(o.lat), projection.toX(o.lng), projection.toY(o.lat));
    if (!origins.length) originTree.add(0, 0, 0, 0);
    originTree.finish();
    // each candidate's newly covered origins, from one bounded search per tier it qualifies for
    const sets: Int32Array[] = prepared.map((p, ci) => {
      const fac = openSpaceFacility(p.plan, -(ci + 1));
      const hit = new Uint8Array(origins.length);
      rule.tiers.forEach((t) => {
        if (!matchesFilter(tierFilter(t), fac)) return;
        const snaps: SnapResult[] = [];
        for (let a = 0; a < fac.accessLng.length; a++) {
          const s = snapPoint(baselineNet.snapIndex, fac.accessLng[a], fac.accessLat[a], { edgeFilter: basePublic });
          if (!s.unreachable) snaps.push({ ...s });
        }
        const r = baseSearch().run(
          seedsFromSnaps(
            g,
            snaps,
            snaps.map(() => 0),
          ),
          t.maxDistanceM,
        );
        const padM = radiusOf(t.maxDistanceM);
        const [minX, minY, maxX, maxY] = p.bbox;
        for (const i of originTree.search(minX - padM, minY - padM, maxX + padM, maxY + padM)) {
          if (i >= origins.length || baseCovered[i] || hit[i] || originSnaps[i].unreachable) continue;
          const reach = reachPoint(g, r, originSnaps[i]);
          if (reach && reach.distM <= t.maxDistanceM) hit[i] = 1;
        }
      });
      const list: number[] = [];
      hit.forEach((h, i) => {
        if (h) list.push(i);
      });
      return Int32Array.from(list);
    });
    const stamp = new Int32Array(origins.length);
    let round = 0;
    const unionPop = (chosen: readonly number[]) => {
      round++;
      let pop = 0;
      for (const c of chosen)
        for (const i of sets[c])
          if (stamp[i] !== round) {
            stamp[i] = round;
            pop += origins[i].population;
          }
      return pop;
    };
    const standalone = sets.map((_, c) => unionPop([c]));
    const evalTotal = (chosen: readonly number[]) => baselineCovered + unionPop(chosen);
    return greedyAndEnumerate(candidates, kk, evalTotal, standalone, baselineCovered, MAX_ENUMERATED_SUBSETS, true);
  }

  const memo = new Map<string, number>();
  const evalTotal = (chosen: readonly number[]) => {
    const key = [...chosen].sort((a, b) => a - b).join(',');
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const mask = prepared.map((_, i) => chosen.includes(i));
    const sc = applyPrepared(baselineNet, prepared, mask);
    const f = scenarioFields(baselineNet, baseFields, sc, filters, baseSearch);
    const total = coveredTotals(sc.net.graph, f, [rule], origins, scenarioSnaps(sc, origins, originSnaps))[0];
    memo.set(key, total);
    return total;
  };
  const standalone = candidates.map((_, c) => evalTotal([c]) - baselineCovered);
  return greedyAndEnumerate(candidates, kk, evalTotal, standalone, baselineCovered, MAX_ENUMERATED_SCENARIOS, false);
}

function greedyAndEnumerate(
  candidates: readonly ScenarioPlan[],
  k: number,
  evalTotal: (chosen: readonly number[]) => number,
  standalone: readonly number[],
  baselineCovered: number,
  maxSubsets: number,
  submodular: boolean,
): Suggestion {
  // a candidate that covers no one alone can help a selection only when gains interact (links)
  const usable = (c: number) => !submodular || standalone[c] > 0;
  const chosen: number[] = [];
  const picks: SuggestPick[] = [];
  let current = baselineCovered;
  while (chosen.length < k) {
    let best = -1,
      bestTotal = current;
    for (let c = 0; c < candidates.length; c++) {
      if (chosen.includes(c) || !usable(c)) continue;
      const total = evalTotal([...chosen, c]);
      if (total > bestTotal) {
        best = c;
        bestTotal = total;
      }
    }
    if (best < 0) break;
    chosen.push(best);
    picks.push({
      ref: candidates[best].ref,
      gain: bestTotal - current,
      standaloneGain: standalone[best],
      cumulative: bestTotal - baselineCovered,
    });
    current = bestTotal;
  }
  const greedyTotal = current - baselineCovered;

  // subsets of exactly k among the usable candidates
  const useful = candidates.map((_, c) => c).filter(usable);
  const size = Math.min(k, useful.length);
  const count = binomial(useful.length, size);
  if (count > maxSubsets) {
    return {
      picks,
      greedyTotal,
      optimum: null,
      optimalityGap: null,
      enumeration: 'skipped',
      subsetsEnumerated: 0,
      baselineCovered,
    };
  }
  let bestTotal = baselineCovered;
  let bestSet: number[] = [];
  const combo: number[] = [];
  const visit = (start: number) => {
    if (combo.length === size) {
      const t = evalTotal(combo);
      if (t > bestTotal) {
        bestTotal = t;
        bestSet = [...combo];
      }
      return;
    }
    for (let i = start; i <= useful.length - (size - combo.length); i++) {
      combo.push(useful[i]);
      visit(i + 1);
      combo.pop();
    }
  };
  visit(0);
  const optimum = { total: bestTotal - baselineCovered, refs: bestSet.map((c) => candidates[c].ref) };
  return {
    picks,
    greedyTotal,
    optimum,
    optimalityGap: optimum.total - greedyTotal,
    enumeration: 'done',
    subsetsEnumerated: count,
    baselineCovered,
  };
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

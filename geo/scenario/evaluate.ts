import { CATEGORIES, type CategoryId } from '../categories.ts';
import {
  evaluateCoverage,
  type AreaRuleResult,
  type EngineNetwork,
  type EngineOrigin,
  type RuleCoverage,
} from '../coverage.ts';
import { createSearch, distanceAlong, type Search } from '../dijkstra.ts';
import { matchesFilter, type DistanceField } from '../distance-field.ts';
import type { Rule, RuleSet } from '../rules/index.ts';
import { tierFilter } from '../rules/types.ts';
import type { SnapResult } from '../snap.ts';
import { applyPrepared, type ScenarioNetwork } from './apply-plans.ts';
import { completeBaseline, coveredTotals, neededFilters, scenarioFields, scenarioSnaps } from './fields.ts';
import { preparePlan, type ScenarioPlan } from './plan.ts';

export interface AreaImpact {
  level: 'community' | 'residential_area';
  key: string;
  name: string | null;
  population: number;
  coveredBefore: number;
  coveredAfter: number;
  shareBefore: number | null;
  shareAfter: number | null;
  passesBefore: boolean;
  passesAfter: boolean;
  flip: 'fail_to_pass' | 'pass_to_fail' | null;
}

export interface RuleImpact {
  ruleSetId: string;
  ruleId: string;
  targetShare: number;
  population: number;
  coveredBefore: number;
  coveredAfter: number;
  /** population covered after and not before */
  newlyCovered: number;
  /** population covered before and not after (a re-snapped origin whose nearest street changed) */
  newlyUncovered: number;
  /** areas whose covered population or pass/fail changed */
  areas: AreaImpact[];
  flips: Record<'community' | 'residential_area', { failToPass: number; passToFail: number }>;
  /** per plan: covered(all plans) − covered(all but this one); null when not computed */
  marginal: { ref: string; gain: number }[] | null;
}

export interface ChangedEdge {
  /** scenario edge id */
  edge: number;
  /** database id of the street it is (part of), −1 for links */
  dbId: number;
  isLink: boolean;
  /** per category whose midpoint distance fell: before (null: new edge or beyond the bound) and after, metres */
  distances: Partial<Record<CategoryId, { before: number | null; after: number }>>;
}

export interface ScenarioEvaluation {
  scenario: ScenarioNetwork;
  fields: Map<string, DistanceField>;
  originSnaps: SnapResult[];
  before: RuleCoverage[];
  after: RuleCoverage[];
  rules: RuleImpact[];
  /** null unless asked for */
  changedEdges: ChangedEdge[] | null;
}

export interface EvaluateOptions {
  /** evaluateCoverage of the baseline for the same rule sets (cached by the caller) */
  baselineCoverage?: RuleCoverage[];
  /** also per-category fields and the edges whose distance fell (default false) */
  includeChangedEdges?: boolean;
  /** per-plan marginal gains (default true; one extra scenario per plan when there are two or more) */
  marginal?: boolean;
  /** a search over the baseline graph to reuse (used synchronously) */
  baselineSearch?: Search;
}

/** Edges whose distance fell by less than this are not reported as changed (float noise). */
const CHANGED_EDGE_MIN_M = 0.01;

/**
 * The effect of a set of 两拆一增 plans on coverage: applies them ({@link applyPlans}), recomputes
 * only the fields that can change (all of them when the network changed; else only those whose
 * filter a new open space matches, by merging a search from the new facilities into the baseline
 * field — exact, see {@link scenarioFields}), snaps again only the origins near a change, and
 * compares evaluateCoverage before and after per rule, community and residential area. Marginal
 * gain of a plan = covered(all) − covered(all but that plan), from {@link coveredTotals}. The
 * baseline network and fields are only read. Cost: one scenario (plus one per plan for marginal
 * gains), each O(changed fields × (V + E) log V + origins × tiers).
 */
export function evaluateScenario(
  baselineNet: EngineNetwork,
  baselineFields: ReadonlyMap<string, DistanceField>,
  ruleSets: readonly RuleSet[],
  origins: readonly EngineOrigin[],
  originSnaps: readonly SnapResult[],
  plans: readonly ScenarioPlan[],
  options: EvaluateOptions = {},
): ScenarioEvaluation {
  const withEdges = options.includeChangedEdges ?? false;
  let search = options.baselineSearch;
  const baseSearch = () => (search ??= createSearch(baselineNet.graph));
  const prepared = plans.map((p) => preparePlan(baselineNet.snapIndex.projection, p));
  const all = prepared.map(() => true);
  const scenario = applyPrepared(baselineNet, prepared, all);
  const filters = neededFilters(ruleSets, baselineFields, withEdges);
  const baseFields = completeBaseline(baselineNet, baselineFields, filters, baseSearch);
  const fields = scenarioFields(baselineNet, baseFields, scenario, filters, baseSearch);
  const snaps = scenarioSnaps(scenario, origins, originSnaps);

  const before = options.baselineCoverage ?? evaluateCoverage(baselineNet, baseFields, ruleSets, origins, originSnaps);
  const after = evaluateAfter(scenario, fields, ruleSets, origins, snaps, before);

  const rules: RuleImpact[] = [];
  for (const rs of ruleSets) {
    for (const rule of rs.rules) {
      const b = before.find((c) => c.ruleSetId === rs.id && c.ruleId === rule.id)!;
      const a = after.find((c) => c.ruleSetId === rs.id && c.ruleId === rule.id)!;
      rules.push(ruleImpact(rule, rs.id, b, a, origins));
    }
  }

  if ((options.marginal ?? true) && plans.length > 0) {
    const flatRules = ruleSets.flatMap((rs) => rs.rules);
    const totalAll = rules.map((r) => r.coveredAfter);
    rules.forEach((r) => {
      r.marginal = [];
    });
    for (let i = 0; i < plans.length; i++) {
      let without: number[];
      if (plans.length === 1) without = rules.map((r) => r.coveredBefore);
      else {
        const mask = all.map((_, k) => k !== i);
        const sub = applyPrepared(baselineNet, prepared, mask);
        const subFields = scenarioFields(
          baselineNet,
          baseFields,
          sub,
          neededFilters(ruleSets, baseFields, false),
          baseSearch,
        );
        without = coveredTotals(sub.net.graph, subFields, flatRules, origins, scenarioSnaps(sub, origins, originSnaps));
      }
      rules.forEach((r, k) => r.marginal!.push({ ref: plans[i].ref, gain: totalAll[k] - without[k] }));
    }
  }

  const changedEdges = withEdges ? changedEdgeList(baselineNet, baseFields, scenario, fields) : null;
  return { scenario, fields, originSnaps: snaps, before, after, rules, changedEdges };
}

/**
 * Coverage after: when only open spaces were added, rules none of whose tiers a new open space
 * matches keep the baseline result (nothing they read changed); the rest go through evaluateCoverage.
 */
function evaluateAfter(
  scenario: ScenarioNetwork,
  fields: ReadonlyMap<string, DistanceField>,
  ruleSets: readonly RuleSet[],
  origins: readonly EngineOrigin[],
  snaps: readonly SnapResult[],
  before: readonly RuleCoverage[],
): RuleCoverage[] {
  const out: RuleCoverage[] = [];
  const networkSame = !scenario.graphChanged && !scenario.barriersChanged;
  for (const rs of ruleSets) {
    const affected = rs.rules.filter(
      (rule) =>
        !networkSame || rule.tiers.some((t) => scenario.addedFacilities.some((f) => matchesFilter(tierFilter(t), f))),
    );
    const fresh = affected.length
      ? evaluateCoverage(scenario.net, fields, [{ ...rs, rules: affected }], origins, snaps)
      : [];
    for (const rule of rs.rules) {
      out.push(
        fresh.find((c) => c.ruleId === rule.id) ?? before.find((c) => c.ruleSetId === rs.id && c.ruleId === rule.id)!,
      );
    }
  }
  return out;
}

function ruleImpact(
  rule: Rule,
  ruleSetId: string,
  b: RuleCoverage,
  a: RuleCoverage,
  origins: readonly EngineOrigin[],
): RuleImpact {
  let newly = 0,
    lost = 0;
  for (let i = 0; i < origins.length; i++) {
    if (a.origins[i].covered && !b.origins[i].covered) newly += origins[i].population;
    if (!a.origins[i].covered && b.origins[i].covered) lost += origins[i].population;
  }
  const city = (c: RuleCoverage) => c.areas.find((x) => x.level === 'city')!;
  const areas: AreaImpact[] = [];
  const flips = { community: { failToPass: 0, passToFail: 0 }, residential_area: { failToPass: 0, passToFail: 0 } };
  const beforeByKey = new Map<string, AreaRuleResult>();
  for (const x of b.areas)
    if (x.level === 'community' || x.level === 'residential_area') beforeByKey.set(`${x.level}\u0000${x.key}`, x);
  for (const x of a.areas) {
    if (x.level !== 'community' && x.level !== 'residential_area') continue;
    const y = beforeByKey.get(`${x.level}\u0000${x.key}`)!;
    if (x.coveredPopulation === y.coveredPopulation && x.passes === y.passes) continue;
    const flip = !y.passes && x.passes ? 'fail_to_pass' : y.passes && !x.passes ? 'pass_to_fail' : null;
    if (flip === 'fail_to_pass') flips[x.level].failToPass++;
    if (flip === 'pass_to_fail') flips[x.level].passToFail++;
    areas.push({
      level: x.level,
      key: x.key,
      name: x.name,
      population: x.population,
      coveredBefore: y.coveredPopulation,
      coveredAfter: x.coveredPopulation,
      shareBefore: y.share,
      shareAfter: x.share,
      passesBefore: y.passes,
      passesAfter: x.passes,
      flip,
    });
  }
  return {
    ruleSetId,
    ruleId: rule.id,
    targetShare: rule.targetShare,
    population: city(a).population,
    coveredBefore: city(b).coveredPopulation,
    coveredAfter: city(a).coveredPopulation,
    newlyCovered: newly,
    newlyUncovered: lost,
    areas,
    flips,
    marginal: null,
  };
}

/**
 * Edges (scenario ids) whose per-category midpoint distance fell, with before and after: the
 * midpoint of a piece of a split edge is compared with the same point of the baseline edge; links
 * have no before. Distances as the map shows them (through the edge's ends, as edge_distances).
 */
function changedEdgeList(
  baselineNet: EngineNetwork,
  baselineFields: ReadonlyMap<string, DistanceField>,
  scenario: ScenarioNetwork,
  fields: ReadonlyMap<string, DistanceField>,
): ChangedEdge[] {
  const g = scenario.net.graph;
  const bg = baselineNet.graph;
  const out: ChangedEdge[] = [];
  const cats = CATEGORIES.map((c) => c.id).filter(
    (id) => fields.has(id) && baselineFields.has(id) && fields.get(id) !== baselineFields.get(id),
  );
  for (let e = 0; e < g.edgeCount; e++) {
    let distances: ChangedEdge['distances'] | null = null;
    for (const c of cats) {
      const after = distanceAlong(g, fields.get(c)!.result, e, g.edgeLengthM[e] / 2);
      if (after === Infinity) continue;
      const be = scenario.edgeBase[e];
      const before =
        be < 0
          ? Infinity
          : distanceAlong(
              bg,
              baselineFields.get(c)!.result,
              be,
              (scenario.edgeBaseFromM[e] + scenario.edgeBaseToM[e]) / 2,
            );
      if (!(after < before - CHANGED_EDGE_MIN_M)) continue;
      (distances ??= {})[c] = { before: before === Infinity ? null : before, after };
    }
    if (distances) out.push({ edge: e, dbId: scenario.net.edgeDbId[e], isLink: e >= scenario.linkStart, distances });
  }
  return out;
}

import type { CategoryId } from '../categories.ts';
import type { SourceFilter } from '../distance-field.ts';

/** Which facilities serve a rule, and how far residents may walk to them. */
export interface RuleTier {
  categories: readonly CategoryId[];
  /** Minimum facility area in m² (parks and green spaces); absent = any size. */
  minAreaM2?: number;
  /** Maximum facility area in m² (exclusive), for a size band such as 2000–5000 m²; absent = no upper bound. */
  maxAreaM2?: number;
  /** Maximum walking distance along the network, metres. */
  maxDistanceM: number;
  /** Where this tier's numbers (distance, area) come from. Absent only in rule sets written before per-tier citations. */
  citation?: string;
}

/**
 * What a rule's share counts: `population` (residents, today's measure) or
 * `residential_land_area` (m² of residential land, as 城市体检 measures 服务半径覆盖率).
 */
export type RuleMeasure = 'population' | 'residential_land_area';
/** Whose residents a population rule counts: everyone, residents aged 60+, or children. */
export type PopulationGroup = 'all' | 'elderly' | 'children';

/** One requirement of a standard: a resident is covered when ANY tier is met. */
export interface Rule {
  id: string;
  zh: string;
  en: string;
  tiers: readonly RuleTier[];
  /** Share (0–1) of the measure that must be covered for an area to pass. */
  targetShare: number;
  /** Absent = `population`. */
  measure?: RuleMeasure;
  /** Absent = `all`. Only with the `population` measure. */
  populationGroup?: PopulationGroup;
  /** Where every number comes from. */
  citation: string;
  /** Which numbers are local choices rather than cited figures, and why. */
  note?: string;
  /**
   * The category this rule is about, where its tiers name several (GB 50180's residential-park
   * rules name park and green space; its fitness rule names sports and park but is not a park
   * rule): the map and /api/proximity judge that category by this rule unless another is chosen.
   */
  judges?: CategoryId;
}

export interface RuleSet {
  id: string;
  version: string;
  zh: string;
  en: string;
  citation: string;
  /** Notes on the set as a whole (which numbers the source fixes, which are local choices). */
  note?: string;
  rules: readonly Rule[];
}

/** The largest distance any tier of the rule set needs (the Dijkstra bound). */
export function maxRuleDistanceM(ruleSet: RuleSet): number {
  let max = 0;
  for (const r of ruleSet.rules) for (const t of r.tiers) max = Math.max(max, t.maxDistanceM);
  return max;
}

/** The facility filter of a tier (its distance field's key). */
export function tierFilter(t: RuleTier): SourceFilter {
  return { categories: t.categories, minAreaM2: t.minAreaM2, maxAreaM2: t.maxAreaM2 };
}

export const ruleMeasure = (r: Rule): RuleMeasure => r.measure ?? 'population';
export const rulePopulationGroup = (r: Rule): PopulationGroup => r.populationGroup ?? 'all';

import type { CategoryId } from '../categories.ts';

/** Which facilities serve a rule, and how far residents may walk to them. */
export interface RuleTier {
  categories: readonly CategoryId[];
  /** Minimum facility area in m² (parks and green spaces); absent = any size. */
  minAreaM2?: number;
  /** Maximum walking distance along the network, metres. */
  maxDistanceM: number;
}

/** One requirement of a standard: a resident is covered when ANY tier is met. */
export interface Rule {
  id: string;
  zh: string;
  en: string;
  tiers: readonly RuleTier[];
  /** Population share (0–1) that must be covered for an area to pass. */
  targetShare: number;
  /** Where every number comes from. */
  citation: string;
  /** Which numbers are local choices rather than cited figures, and why. */
  note?: string;
}

export interface RuleSet {
  id: string;
  version: string;
  zh: string;
  en: string;
  citation: string;
  rules: readonly Rule[];
}

/** The largest distance any tier of the rule set needs (the Dijkstra bound). */
export function maxRuleDistanceM(ruleSet: RuleSet): number {
  let max = 0;
  for (const r of ruleSet.rules) for (const t of r.tiers) max = Math.max(max, t.maxDistanceM);
  return max;
}

import type { Rule, RuleSet } from './api/types.ts';

// One choice of rule per category for server and client alike: the contract holds it.
export { ruleForCategory, rulesNaming } from '../api/rules.ts';

/** How far the engine reports walking distances (geo/coverage.ts DISTANCE_CAP_M; answers also carry it as distance_cap_m). */
export const DISTANCE_CAP_M = 3000;
/** GB 50180-2018 §3.0.4: the 15-minute life circle reaches 800–1000 m; the reference limit where a standard sets none. */
export const FIFTEEN_MINUTE_WALK_M = 1000;

/** The walking limit (m) for a category under a rule: the largest tier distance naming it. */
export function limitForCategory(rule: Rule | null, category: string): number | null {
  if (!rule) return null;
  let max: number | null = null;
  for (const tier of rule.tiers) if (tier.categories.includes(category)) max = Math.max(max ?? 0, tier.max_distance_m);
  return max;
}

/** Categories a rule set measures, in first-mentioned order. */
export function ruleSetCategories(ruleSet: RuleSet): string[] {
  const out: string[] = [];
  for (const r of ruleSet.rules)
    for (const t of r.tiers) for (const c of t.categories) if (!out.includes(c)) out.push(c);
  return out;
}

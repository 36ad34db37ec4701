import type { Rule, RuleSet } from './api/types.ts';

/** How far the engine reports walking distances (geo/coverage.ts DISTANCE_CAP_M; answers also carry it as distance_cap_m). */
export const DISTANCE_CAP_M = 3000;
/** GB 50180-2018 §3.0.4: the 15-minute life circle reaches 800–1000 m; the reference limit where a standard sets none. */
export const FIFTEEN_MINUTE_WALK_M = 1000;

/**
 * The rule of a rule set that judges a category: `chosen` (a rule id) when it names the category,
 * else a rule declaring it (`judges`), a single-category tier, any tier naming it (the same choice
 * as the server's geo/rules ruleForCategory), or null.
 */
export function ruleForCategory(ruleSet: RuleSet, category: string, chosen?: string | null): Rule | null {
  if (chosen) {
    const r = ruleSet.rules.find((x) => x.id === chosen);
    if (r && r.tiers.some((t) => t.categories.includes(category))) return r;
  }
  let single: Rule | null = null;
  let fallback: Rule | null = null;
  for (const rule of ruleSet.rules) {
    if (rule.judges === category) return rule;
    for (const tier of rule.tiers) {
      if (!tier.categories.includes(category)) continue;
      if (tier.categories.length === 1) single ??= rule;
      fallback ??= rule;
    }
  }
  return single ?? fallback;
}

/** Rules with a tier naming a category, the default one first: the choices the header offers. */
export function rulesNaming(ruleSet: RuleSet, category: string): Rule[] {
  const first = ruleForCategory(ruleSet, category);
  const rest = ruleSet.rules.filter((r) => r !== first && r.tiers.some((t) => t.categories.includes(category)));
  return first ? [first, ...rest] : rest;
}

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
  for (const r of ruleSet.rules) for (const t of r.tiers) for (const c of t.categories) if (!out.includes(c)) out.push(c);
  return out;
}

/** Rule look-ups both the server (geo/rules RuleSet) and the web client (the /api/rules answer) make. */

/** The least of a rule both shapes share: tiers naming categories. */
interface RuleLike {
  tiers: readonly { categories: readonly string[] }[];
}

/**
 * The rule of a rule set that judges a category: a single-category tier first, else the first
 * rule with any tier naming it, or null.
 */
export function ruleForCategory<R extends RuleLike>(ruleSet: { rules: readonly R[] }, category: string): R | null {
  let fallback: R | null = null;
  for (const rule of ruleSet.rules) {
    for (const tier of rule.tiers) {
      if (!tier.categories.includes(category)) continue;
      if (tier.categories.length === 1) return rule;
      fallback ??= rule;
    }
  }
  return fallback;
}

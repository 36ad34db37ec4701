/** Rule look-ups both the server (geo/rules RuleSet) and the web client (the /api/rules answer) make. */

/** The least of a rule both shapes share: an id, tiers naming categories, and the category it judges. */
interface RuleLike {
  id: string;
  judges?: string | null;
  tiers: readonly { categories: readonly string[] }[];
}

/**
 * The rule of a rule set that judges a category: `chosen` (a rule id) when its tiers name the
 * category, else a rule declaring it (`judges`), else the first rule with a single-category tier
 * naming it, else the first rule with any tier naming it; null when no rule names it.
 */
export function ruleForCategory<R extends RuleLike>(
  ruleSet: { rules: readonly R[] },
  category: string,
  chosen?: string | null,
): R | null {
  if (chosen) {
    const r = ruleSet.rules.find((x) => x.id === chosen);
    if (r && r.tiers.some((t) => t.categories.includes(category))) return r;
  }
  let single: R | null = null;
  let fallback: R | null = null;
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

/** The rules with a tier naming a category, the one judging it by default first: the choices a map offers. */
export function rulesNaming<R extends RuleLike>(ruleSet: { rules: readonly R[] }, category: string): R[] {
  const first = ruleForCategory(ruleSet, category);
  const rest = ruleSet.rules.filter((r) => r !== first && r.tiers.some((t) => t.categories.includes(category)));
  return first ? [first, ...rest] : rest;
}

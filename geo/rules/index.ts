import { CHENGDU_PARK_CITY } from './chengdu-park-city.ts';
import { GARDEN_CITY } from './garden-city.ts';
import { GB50180_2018 } from './gb50180-2018.ts';
import type { RuleSet } from './types.ts';

export type { Rule, RuleSet, RuleTier } from './types.ts';
export { maxRuleDistanceM, ruleForCategory, rulesNaming } from './types.ts';

/** Every rule set the service evaluates, in display order. */
export const RULE_SETS: readonly RuleSet[] = [CHENGDU_PARK_CITY, GB50180_2018, GARDEN_CITY];

export function ruleSetById(id: string): RuleSet | undefined {
  return RULE_SETS.find((r) => r.id === id);
}

import chengduParkCity from './chengdu-park-city.json' with { type: 'json' };
import chengjianPark from './chengjian-park-greenway.json' with { type: 'json' };
import gardenCity from './garden-city.json' with { type: 'json' };
import gb50180 from './gb50180-2018.json' with { type: 'json' };
import tdt1062 from './tdt1062-2021.json' with { type: 'json' };
import type { RuleSet } from './types.ts';
import { validateRuleSet } from './validate.ts';

export type { PopulationGroup, Rule, RuleMeasure, RuleSet, RuleTier } from './types.ts';
export { maxRuleDistanceM, ruleMeasure, rulePopulationGroup, tierFilter } from './types.ts';
export { RULE_SET_SCHEMA, RuleSetValidationError, validateRuleSet } from './validate.ts';

/**
 * The rule sets shipped as files (geo/rules/*.json), each validated against the published schema
 * when loaded: a broken file stops the service at start, not at the first request.
 */
export const BUILT_IN_RULE_SETS: readonly RuleSet[] = [
  chengduParkCity,
  gb50180,
  gardenCity,
  chengjianPark,
  tdt1062,
].map(validateRuleSet);

const BUILT_IN_IDS = new Set(BUILT_IN_RULE_SETS.map((r) => r.id));
export const isBuiltInRuleSet = (id: string) => BUILT_IN_IDS.has(id);

/**
 * Every rule set the service evaluates, in display order: the built-in files, then the newest
 * version of each rule set stored in the database ({@link useStoredRuleSets}). One list, so built-in
 * and stored rule sets flow through the same compute, audit and tile paths.
 */
export const RULE_SETS: RuleSet[] = [...BUILT_IN_RULE_SETS];

/** Replace the stored part of {@link RULE_SETS} (in place, so every importer sees it). */
export function useStoredRuleSets(stored: readonly RuleSet[]): void {
  RULE_SETS.splice(0, RULE_SETS.length, ...BUILT_IN_RULE_SETS, ...stored.filter((r) => !BUILT_IN_IDS.has(r.id)));
}

export function ruleSetById(id: string): RuleSet | undefined {
  return RULE_SETS.find((r) => r.id === id);
}

const builtIn = (id: string): RuleSet => BUILT_IN_RULE_SETS.find((r) => r.id === id)!;
export const CHENGDU_PARK_CITY = builtIn('chengdu-park-city');
export const GB50180_2018 = builtIn('gb50180-2018');
export const GARDEN_CITY = builtIn('garden-city');

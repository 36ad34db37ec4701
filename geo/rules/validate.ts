import { Ajv, type ErrorObject } from 'ajv';
import schema from './rule-set.schema.json' with { type: 'json' };
import type { RuleSet } from './types.ts';

/** The published JSON Schema of a rule set file (served at GET /api/rule-sets/schema). */
export const RULE_SET_SCHEMA: Readonly<Record<string, unknown>> = schema;

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
const check = ajv.compile(schema);

/** A rule set that failed validation: every problem as "<JSON path>: <message>". */
export class RuleSetValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid rule set: ${problems.join('; ')}`);
    this.name = 'RuleSetValidationError';
  }
}

function describe(e: ErrorObject): string {
  const path = e.instancePath || '/';
  if (e.keyword === 'additionalProperties')
    return `${path}: must NOT have additional property "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'enum')
    return `${path}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${path}: ${e.message ?? e.keyword}`;
}

/**
 * Validate a parsed rule set file against the schema, then what a schema cannot say (unique rule
 * ids, area bands the right way round, the land-area measure with no population group). Throws
 * {@link RuleSetValidationError} naming each problem by JSON path; returns the rule set unchanged.
 */
export function validateRuleSet(value: unknown): RuleSet {
  if (!check(value)) throw new RuleSetValidationError((check.errors ?? []).map(describe));
  const rs = value as unknown as RuleSet;
  const problems: string[] = [];
  const seen = new Set<string>();
  rs.rules.forEach((r, i) => {
    if (seen.has(r.id)) problems.push(`/rules/${i}/id: duplicate rule id "${r.id}"`);
    seen.add(r.id);
    if (r.measure === 'residential_land_area' && r.populationGroup !== undefined && r.populationGroup !== 'all') {
      problems.push(
        `/rules/${i}/populationGroup: must be "all" with the residential_land_area measure (land is not weighed by age group)`,
      );
    }
    r.tiers.forEach((t, j) => {
      if (t.maxAreaM2 !== undefined && t.minAreaM2 !== undefined && t.maxAreaM2 <= t.minAreaM2) {
        problems.push(`/rules/${i}/tiers/${j}/maxAreaM2: must be > minAreaM2 (${t.minAreaM2})`);
      }
    });
  });
  if (problems.length) throw new RuleSetValidationError(problems);
  return rs;
}

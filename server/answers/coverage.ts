/** The coverage and audit answers shaped from the stored per-area rows (no I/O). */

import { CATEGORIES } from '../../geo/categories.ts';
import type { RuleSet } from '../../geo/rules/index.ts';
import type { AreaCoverageRow, EmptyZoneRow } from '../queries/coverage.ts';

export interface NotAssessableRule {
  rule_id: string;
  outcome: 'no_data';
  categories: string[];
  message: string;
}

/**
 * The rules of a rule set with no facility of their categories in the data (as the run stored it),
 * with what to do about it.
 */
export function notAssessableRules(rs: RuleSet, rows: readonly AreaCoverageRow[]): NotAssessableRule[] {
  return rs.rules.filter((r) => rows.some((a) => a.rules[r.id]?.no_data)).map((r) => {
    const categories = [...new Set(r.tiers.flatMap((t) => t.categories))];
    const names = categories.map((c) => (CATEGORIES.find((x) => x.id === c)?.en ?? c).toLowerCase()).join(' or ');
    return { rule_id: r.id, outcome: 'no_data' as const, categories, message: `not assessable — no ${names} in the data; import a register` };
  });
}

export interface AuditArea {
  area_key: string;
  area_name: string | null;
  street: string | null;
  district: string | null;
  population: number;
  /** Sources of the figures: 'osm', 'census', 'grid', 'estimate' (README "Population"). */
  population_sources: string[];
  worst_shortfall: number;
  residents_not_covered: number;
  caveats: string[];
  failed_rules: {
    rule_id: string;
    share: number | null;
    straight_share: number | null;
    target_share: number;
    residents_not_covered: number;
    uncovered_mean_m: number | null;
    uncovered_unreachable_population: number;
    uncovered_beyond_cap_population: number;
    depends_on_sample_facilities: boolean;
    edge_of_data: boolean;
  }[];
}

export const round = (x: number | null, digits = 4) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/**
 * Areas that miss any assessable target, worst first (largest shortfall below target, then most
 * residents not covered). Rules with no_data are not assessable and never listed as failed.
 */
export function auditAreas(rows: readonly AreaCoverageRow[], sampleRules: ReadonlySet<string>): AuditArea[] {
  const out: AuditArea[] = [];
  for (const row of rows) {
    const failed = Object.entries(row.rules)
      .filter(([, r]) => !r.passes && !r.no_data && r.population > 0)
      .map(([rule_id, r]) => ({
        rule_id,
        share: round(r.share),
        straight_share: round(r.straight_share),
        target_share: r.target_share,
        residents_not_covered: Math.round(r.population - r.covered_population),
        uncovered_mean_m: round(r.uncovered_mean_m, 1),
        uncovered_unreachable_population: Math.round(r.uncovered_unreachable_population),
        uncovered_beyond_cap_population: Math.round(r.uncovered_beyond_cap_population ?? 0),
        depends_on_sample_facilities: sampleRules.has(rule_id),
        edge_of_data: (r.uncovered_near_edge_population ?? 0) > 0,
      }))
      .sort((a, b) => (b.target_share - (b.share ?? 0)) - (a.target_share - (a.share ?? 0)) || (a.rule_id < b.rule_id ? -1 : 1));
    if (!failed.length) continue;
    const caveats: string[] = [];
    if (row.population_estimated) caveats.push('estimated_population');
    if (failed.some((f) => f.depends_on_sample_facilities)) caveats.push('sample_facilities');
    if (row.is_approximate) caveats.push('approximate_zone');
    if (failed.some((f) => f.edge_of_data)) caveats.push('edge_of_data');
    out.push({
      area_key: row.area_key,
      area_name: row.area_name,
      street: row.street,
      district: row.district,
      population: Math.round(row.population),
      population_sources: row.population_sources ?? [],
      worst_shortfall: round(failed[0].target_share - (failed[0].share ?? 0))!,
      residents_not_covered: Math.max(...failed.map((f) => f.residents_not_covered)),
      caveats,
      failed_rules: failed,
    });
  }
  return out.sort((a, b) => b.worst_shortfall - a.worst_shortfall || b.residents_not_covered - a.residents_not_covered || (a.area_key < b.area_key ? -1 : 1));
}

export function emptyZoneArea(z: EmptyZoneRow): AuditArea {
  return {
    area_key: z.area_key, area_name: z.area_name, street: z.street, district: z.district, population: 0,
    population_sources: [], worst_shortfall: 0, residents_not_covered: 0,
    caveats: ['no_residents', ...(z.is_approximate ? ['approximate_zone'] : [])], failed_rules: [],
  };
}

/** The coverage and audit answers shaped from the stored per-area rows, and the exports' provenance columns (no I/O). */

import { CATEGORIES } from '../../geo/categories.ts';
import type { RuleSet } from '../../geo/rules/index.ts';
import type { AreaCoverageRow, EmptyZoneRow, ExportProvenance } from '../queries/coverage.ts';

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
  return rs.rules
    .filter((r) => rows.some((a) => a.rules[r.id]?.no_data))
    .map((r) => {
      const categories = [...new Set(r.tiers.flatMap((t) => t.categories))];
      const names = categories.map((c) => (CATEGORIES.find((x) => x.id === c)?.en ?? c).toLowerCase()).join(' or ');
      return {
        rule_id: r.id,
        outcome: 'no_data' as const,
        categories,
        message: `not assessable — no ${names} in the data; import a register`,
      };
    });
}

/** The columns every CSV row ends with: the rule in words, its limit and unit, and the provenance. */
export const RULE_PROVENANCE_HEADER = [
  'rule_zh',
  'rule_en',
  'limit_m',
  'distance_unit',
  'rule_set_version',
  'dataset_id',
  'dataset_source',
  'dataset_imported_at',
  'run_id',
  'run_finished_at',
  'generated_at',
  'filters',
];
export function ruleProvenanceCells(rs: RuleSet, ruleId: string, p: ExportProvenance): (string | number | null)[] {
  const rule = rs.rules.find((r) => r.id === ruleId);
  const limit = rule ? Math.max(...rule.tiers.map((t) => t.maxDistanceM)) : null;
  return [
    rule?.zh ?? '',
    rule?.en ?? '',
    limit,
    'm',
    rs.version,
    p.dataset_id,
    p.dataset_source,
    p.dataset_imported_at,
    p.run_id,
    p.run_finished_at,
    p.generated_at,
    p.filters,
  ];
}

/** GeoJSON attributes QGIS can style by: one flat share/result pair per rule and the failing rules. */
export function flatRuleAttributes(
  rs: RuleSet,
  rules: AreaCoverageRow['rules'],
): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  const failing: string[] = [];
  for (const r of rs.rules) {
    const x = rules[r.id];
    if (!x) continue;
    const result = x.no_data ? 'no_data' : x.passes ? 'pass' : 'fail';
    out[`${r.id}_share`] = round(x.share);
    out[`${r.id}_target`] = x.target_share;
    out[`${r.id}_result`] = result;
    if (result === 'fail' && x.population > 0) failing.push(r.id);
  }
  out.failing_rules = failing.join(',');
  out.failing_count = failing.length;
  return out;
}

/** The rules of a set with their labels, limits and units, for export headers. */
export function ruleLabels(rs: RuleSet) {
  return rs.rules.map((r) => ({
    id: r.id,
    zh: r.zh,
    en: r.en,
    limit_m: Math.max(...r.tiers.map((t) => t.maxDistanceM)),
    unit: 'm',
    target_share: r.targetShare,
    citation: r.citation,
  }));
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
    land_not_covered_m2: number | null;
    uncovered_mean_m: number | null;
    uncovered_unreachable_population: number;
    uncovered_beyond_cap_population: number;
    measure: 'population' | 'residential_land_area';
    population_group: 'all' | 'elderly' | 'children';
    estimated_population: number;
    group_estimated: boolean;
    depends_on_sample_facilities: boolean;
    edge_of_data: boolean;
  }[];
}

export const round = (x: number | null, digits = 4) =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

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
        residents_not_covered:
          (r.measure ?? 'population') === 'population' ? Math.round(r.population - r.covered_population) : 0,
        land_not_covered_m2:
          r.measure === 'residential_land_area' ? Math.round(r.population - r.covered_population) : null,
        uncovered_mean_m: round(r.uncovered_mean_m, 1),
        uncovered_unreachable_population: Math.round(r.uncovered_unreachable_population),
        uncovered_beyond_cap_population: Math.round(r.uncovered_beyond_cap_population ?? 0),
        measure: r.measure ?? 'population',
        population_group: r.population_group ?? 'all',
        estimated_population: Math.round(r.estimated_population ?? 0),
        group_estimated: (r.estimated_population ?? 0) > 0,
        depends_on_sample_facilities: sampleRules.has(rule_id),
        edge_of_data: (r.uncovered_near_edge_population ?? 0) > 0,
      }))
      .sort(
        (a, b) =>
          b.target_share - (b.share ?? 0) - (a.target_share - (a.share ?? 0)) || (a.rule_id < b.rule_id ? -1 : 1),
      );
    if (!failed.length) continue;
    const caveats: string[] = [];
    if (row.population_estimated) caveats.push('estimated_population');
    // a group's residents estimated from national shares (README "Rule sets"): says which group
    for (const g of new Set(failed.filter((f) => f.group_estimated).map((f) => f.population_group)))
      caveats.push(`estimated_${g}`);
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
  return out.sort(
    (a, b) =>
      b.worst_shortfall - a.worst_shortfall ||
      b.residents_not_covered - a.residents_not_covered ||
      (a.area_key < b.area_key ? -1 : 1),
  );
}

export function emptyZoneArea(z: EmptyZoneRow): AuditArea {
  return {
    area_key: z.area_key,
    area_name: z.area_name,
    street: z.street,
    district: z.district,
    population: 0,
    population_sources: [],
    worst_shortfall: 0,
    residents_not_covered: 0,
    caveats: ['no_residents', ...(z.is_approximate ? ['approximate_zone'] : [])],
    failed_rules: [],
  };
}

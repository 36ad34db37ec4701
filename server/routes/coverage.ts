import type { FastifyInstance, FastifyReply } from 'fastify';
import { toCsv } from '../csv.ts';
import { errorSchema } from '../errors.ts';
import { areaCoverage, areaGeometries, emptyZones, type AreaCoverageRow, type CoverageLevel, type EmptyZoneRow } from '../queries/coverage.ts';
import { DISTANCE_CAP_M } from '../../geo/coverage.ts';
import { CATEGORIES } from '../../geo/categories.ts';
import type { RuleSet } from '../../geo/rules/index.ts';
import { requireRuleSet } from './proximity.ts';

const LEVELS = ['residential_area', 'community', 'street', 'district'] as const;
const FORMATS = ['json', 'geojson', 'csv'] as const;

const coverageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rule_set: { type: 'string', maxLength: 64, default: 'chengdu-park-city' },
    level: { type: 'string', enum: LEVELS, default: 'community' },
    format: { type: 'string', enum: FORMATS, default: 'json' },
  },
} as const;

/** A rule's shares and the residents it leaves out, as both routes report them. */
const shareProperties = {
  share: { type: ['number', 'null'] },
  straight_share: { type: ['number', 'null'] },
  target_share: { type: 'number' },
} as const;
const uncoveredProperties = {
  uncovered_mean_m: { type: ['number', 'null'], description: 'mean walking distance of the uncovered residents that have one (outcome distance, up to the cap)' },
  uncovered_unreachable_population: { type: 'number', description: 'uncovered residents with outcome no_path: no facility in their piece of the network' },
  uncovered_beyond_cap_population: { type: 'number', description: 'uncovered residents with outcome beyond_cap: a facility lies in their piece of the network, farther than the cap' },
} as const;

/** What a rule's figures count (issue 11: the rule set's measure and population group). */
const measureProperties = {
  measure: { type: 'string', enum: ['population', 'residential_land_area'], description: 'residents, or residential land area in m² (城市体检 服务半径覆盖率)' },
  population_group: { type: 'string', enum: ['all', 'elderly', 'children'], description: 'whose residents count (population measure)' },
  estimated_population: { type: 'number', description: 'part of the figure estimated from national group shares: the population import gave no count for this group' },
} as const;

/** A rule that cannot be judged: no facility of its categories in the data. */
const notAssessable = {
  type: 'array',
  description: 'rules not assessable (outcome no_data): left out of pass/fail, "failing only" and the worst-of-all colours',
  items: {
    type: 'object',
    required: ['rule_id', 'outcome', 'categories', 'message'],
    properties: {
      rule_id: { type: 'string' },
      outcome: { type: 'string', enum: ['no_data'] },
      categories: { type: 'array', items: { type: 'string' } },
      message: { type: 'string' },
    },
  },
} as const;

const rootProperties = {
  distance_cap_m: { type: 'number', description: 'walking distances are reported up to here; farther is beyond_cap' },
  not_assessable: notAssessable,
} as const;

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

const ruleResult = {
  type: 'object',
  properties: {
    ...shareProperties,
    passes: { type: 'boolean', description: 'false and meaningless where no_data is true' },
    no_data: { type: 'boolean', description: 'not assessable: no facility of the rule\'s categories in the data' },
    uncovered_near_edge_population: { type: 'number', description: 'uncovered residents within the edge margin of the data (edge_of_data caveat)' },
    population: { type: 'number', description: 'the rule\'s measure over the area: residents of population_group, or residential land m²' },
    covered_population: { type: 'number' },
    straight_covered_population: { type: 'number' },
    deciding_facility_id: { type: ['integer', 'null'] },
    ...measureProperties,
    ...uncoveredProperties,
  },
} as const;

/** The response both routes share: the run it comes from and one entry per area with `area` properties. */
function areasJson<R extends object, A extends object>(root: R, area: A) {
  return {
    type: 'object',
    required: ['rule_set', 'level', 'run_id', 'areas'],
    properties: {
      rule_set: { type: 'string' },
      level: { type: 'string' },
      run_id: { type: 'integer' },
      dataset_id: { type: 'integer' },
      ...root,
      areas: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            area_key: { type: 'string' },
            area_name: { type: ['string', 'null'] },
            street: { type: ['string', 'null'], description: '街道 of the area, from the community boundaries (null where they name none)' },
            district: { type: ['string', 'null'], description: '区 of the area, from the community boundaries, else the imported district boundary holding it' },
            population: { type: 'number' },
            ...area,
          },
        },
      },
    },
  } as const;
}

const coverageJson = areasJson(
  { caveats: { type: 'array', items: { type: 'string' } }, ...rootProperties },
  {
    population_estimated: { type: 'boolean' },
    population_sources: { type: 'array', items: { type: 'string', enum: ['osm', 'census', 'grid', 'estimate'] }, description: 'where the population figures come from' },
    is_approximate: { type: 'boolean' },
    rules: { type: 'object', additionalProperties: ruleResult },
  },
);

const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rule_set: { type: 'string', maxLength: 64, default: 'chengdu-park-city' },
    level: { type: 'string', enum: ['community', 'residential_area'], default: 'community' },
    format: { type: 'string', enum: FORMATS, default: 'json' },
  },
} as const;

const auditJson = areasJson(
  rootProperties,
  {
    worst_shortfall: { type: 'number' },
    population_sources: { type: 'array', items: { type: 'string', enum: ['osm', 'census', 'grid', 'estimate'] }, description: 'where the population figures come from' },
    residents_not_covered: { type: 'number' },
    caveats: { type: 'array', items: { type: 'string' } },
    failed_rules: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          rule_id: { type: 'string' },
          ...shareProperties,
          residents_not_covered: { type: 'number', description: 'residents of population_group not covered (0 for the residential_land_area measure)' },
          land_not_covered_m2: { type: ['number', 'null'], description: 'residential land not covered, m² (residential_land_area measure; null otherwise)' },
          ...uncoveredProperties,
          ...measureProperties,
          group_estimated: { type: 'boolean', description: 'the population_group figures are (partly) estimated, not imported' },
          depends_on_sample_facilities: { type: 'boolean' },
          edge_of_data: { type: 'boolean', description: 'uncovered residents lie within the edge margin of the data: a facility outside the extract may serve them' },
        },
      },
    },
  },
);

function sendCsv(reply: FastifyReply, filename: string, csv: string) {
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(csv);
}

/** Where an export comes from and what it was asked for: carried by every CSV row and GeoJSON file. */
export interface ExportProvenance {
  dataset_id: number;
  dataset_source: string | null;
  dataset_imported_at: string | null;
  run_id: number;
  run_finished_at: string | null;
  generated_at: string;
  filters: string;
}

async function exportProvenance(app: FastifyInstance, datasetId: number, runId: number, filters: Record<string, string>): Promise<ExportProvenance> {
  const { rows } = await app.pg.query<{ source: string | null; imported_at: string | null; finished_at: string | null }>(
    `SELECT d.source, to_json(d.imported_at) #>> '{}' AS imported_at, to_json(r.finished_at) #>> '{}' AS finished_at
     FROM coverage_runs r LEFT JOIN datasets d ON d.id = $1 WHERE r.id = $2`,
    [datasetId, runId],
  );
  return {
    dataset_id: datasetId, dataset_source: rows[0]?.source ?? null, dataset_imported_at: rows[0]?.imported_at ?? null,
    run_id: runId, run_finished_at: rows[0]?.finished_at ?? null, generated_at: new Date().toISOString(),
    filters: Object.entries(filters).map(([k, v]) => `${k}=${v}`).join('&'),
  };
}

/** The columns every CSV row ends with: the rule in words, its limit and unit, and the provenance. */
const RULE_PROVENANCE_HEADER = ['rule_zh', 'rule_en', 'limit_m', 'distance_unit', 'rule_set_version', 'dataset_id', 'dataset_source', 'dataset_imported_at', 'run_id', 'run_finished_at', 'generated_at', 'filters'];
function ruleProvenanceCells(rs: RuleSet, ruleId: string, p: ExportProvenance): (string | number | null)[] {
  const rule = rs.rules.find((r) => r.id === ruleId);
  const limit = rule ? Math.max(...rule.tiers.map((t) => t.maxDistanceM)) : null;
  return [rule?.zh ?? '', rule?.en ?? '', limit, 'm', rs.version, p.dataset_id, p.dataset_source, p.dataset_imported_at, p.run_id, p.run_finished_at, p.generated_at, p.filters];
}

/** GeoJSON attributes QGIS can style by: one flat share/result pair per rule and the failing rules. */
function flatRuleAttributes(rs: RuleSet, rules: AreaCoverageRow['rules']): Record<string, string | number | null> {
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
function ruleLabels(rs: RuleSet) {
  return rs.rules.map((r) => ({ id: r.id, zh: r.zh, en: r.en, limit_m: Math.max(...r.tiers.map((t) => t.maxDistanceM)), unit: 'm', target_share: r.targetShare, citation: r.citation }));
}

function sendGeoJson(reply: FastifyReply, filename: string, body: unknown) {
  return reply
    .header('content-type', 'application/geo+json; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(JSON.stringify(body));
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

const round = (x: number | null, digits = 4) => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

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
        residents_not_covered: (r.measure ?? 'population') === 'population' ? Math.round(r.population - r.covered_population) : 0,
        land_not_covered_m2: r.measure === 'residential_land_area' ? Math.round(r.population - r.covered_population) : null,
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
      .sort((a, b) => (b.target_share - (b.share ?? 0)) - (a.target_share - (a.share ?? 0)) || (a.rule_id < b.rule_id ? -1 : 1));
    if (!failed.length) continue;
    const caveats: string[] = [];
    if (row.population_estimated) caveats.push('estimated_population');
    // a group's residents estimated from national shares (README "Rule sets"): says which group
    for (const g of new Set(failed.filter((f) => f.group_estimated).map((f) => f.population_group))) caveats.push(`estimated_${g}`);
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

function emptyZoneArea(z: EmptyZoneRow): AuditArea {
  return {
    area_key: z.area_key, area_name: z.area_name, street: z.street, district: z.district, population: 0,
    population_sources: [], worst_shortfall: 0, residents_not_covered: 0,
    caveats: ['no_residents', ...(z.is_approximate ? ['approximate_zone'] : [])], failed_rules: [],
  };
}

/** GET /api/coverage and GET /api/audit, in JSON, GeoJSON or CSV. */
export async function coverageRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { rule_set: string; level: CoverageLevel; format: (typeof FORMATS)[number] } }>(
    '/api/coverage',
    {
      schema: {
        tags: ['coverage'],
        summary: 'Population-weighted network and straight-line coverage per area and rule',
        querystring: coverageQuery,
        response: { 200: { anyOf: [coverageJson, { type: 'object', additionalProperties: true }, { type: 'string' }] }, 400: errorSchema, 503: errorSchema },
      },
    },
    async (req, reply) => {
      const rs = requireRuleSet(req.query.rule_set);
      const { level, format } = req.query;
      const { datasetId, runId } = await app.engine.currentRun();
      const rows = await areaCoverage(app.pg, runId, rs.id, level);
      const notAssessable = notAssessableRules(rs, rows);
      const provenance = format === 'json' ? null : await exportProvenance(app, datasetId, runId, { rule_set: rs.id, level });
      if (format === 'csv') {
        const body = rows.flatMap((a) =>
          rs.rules.filter((r) => a.rules[r.id]).map((r) => {
            const x = a.rules[r.id];
            return [level, a.area_key, a.area_name, a.street, a.district, Math.round(a.population), r.id, round(x.share), round(x.straight_share), x.target_share, x.no_data ? 'no_data' : x.passes ? 'pass' : 'fail', Math.round(x.covered_population),
              round(x.uncovered_mean_m, 1), Math.round(x.uncovered_beyond_cap_population), Math.round(x.uncovered_unreachable_population), (a.population_sources ?? []).join(' ') || (a.population_estimated ? 'estimate' : ''), a.is_approximate ? 'approximate' : '', ...ruleProvenanceCells(rs, r.id, provenance!)];
          }),
        );
        return sendCsv(reply, `coverage-${rs.id}-${level}.csv`, toCsv(['level', 'area_key', 'area_name', 'street', 'district', 'population', 'rule_id', 'network_share', 'straight_share', 'target_share', 'result', 'covered_population', 'uncovered_mean_distance_m', 'uncovered_beyond_cap', 'uncovered_no_path', 'population_source', 'zone', ...RULE_PROVENANCE_HEADER], body));
      }
      if (format === 'geojson') {
        const geoms = await areaGeometries(app.pg, level, rows.map((r) => r.area_key));
        return sendGeoJson(reply, `coverage-${rs.id}-${level}.geojson`, {
          type: 'FeatureCollection',
          properties: { rule_set: rs.id, level, run_id: runId, dataset_id: datasetId, distance_cap_m: DISTANCE_CAP_M, not_assessable: notAssessable, attribution: '© OpenStreetMap contributors', provenance, rules: ruleLabels(rs) },
          features: rows.map((a) => ({ type: 'Feature', id: a.area_key, geometry: geoms.get(a.area_key) ?? null, properties: { ...a, ...flatRuleAttributes(rs, a.rules) } })),
        });
      }
      return { rule_set: rs.id, level, run_id: runId, dataset_id: datasetId, distance_cap_m: DISTANCE_CAP_M, not_assessable: notAssessable, areas: rows };
    },
  );

  app.get<{ Querystring: { rule_set: string; level: 'community' | 'residential_area'; format: (typeof FORMATS)[number] } }>(
    '/api/audit',
    {
      schema: {
        tags: ['coverage'],
        summary: 'Areas that miss any target, worst first, with the evidence and data caveats',
        querystring: auditQuery,
        response: { 200: { anyOf: [auditJson, { type: 'object', additionalProperties: true }, { type: 'string' }] }, 400: errorSchema, 503: errorSchema },
      },
    },
    async (req, reply) => {
      const rs = requireRuleSet(req.query.rule_set);
      const { level, format } = req.query;
      const engine = await app.engine.current();
      const rows = await areaCoverage(app.pg, engine.runId, rs.id, level);
      const sampleCategories = new Set(engine.net.facilities.filter((f) => f.isSample).map((f) => f.category));
      const sampleRules = new Set(rs.rules.filter((r) => r.tiers.some((t) => t.categories.some((c) => sampleCategories.has(c)))).map((r) => r.id));
      const areas = auditAreas(rows, sampleRules);
      // every named zone is listed: those no resident lives in with 0 and a caveat
      if (level === 'community') areas.push(...(await emptyZones(app.pg, engine.runId)).map(emptyZoneArea));
      const notAssessable = notAssessableRules(rs, rows);
      const provenance = format === 'json' ? null : await exportProvenance(app, engine.datasetId, engine.runId, { rule_set: rs.id, level });
      if (format === 'csv') {
        const body = areas.flatMap((a) =>
          !a.failed_rules.length
            ? [[a.area_key, a.area_name, a.street, a.district, a.population, '', '', null, null, null, 0, null, '', '', a.caveats.join(' '), ...ruleProvenanceCells(rs, '', provenance!)]]
            : a.failed_rules.map((f) => [a.area_key, a.area_name, a.street, a.district, a.population, f.rule_id, 'fail', f.share, f.straight_share, f.target_share, f.residents_not_covered, f.uncovered_mean_m, f.uncovered_beyond_cap_population, f.uncovered_unreachable_population, [...a.caveats.filter((c) => c !== 'edge_of_data'), ...(f.edge_of_data ? ['edge_of_data'] : [])].join(' '), ...ruleProvenanceCells(rs, f.rule_id, provenance!)]),
        );
        // not assessable rules: one row each, with no area
        for (const n of notAssessable) body.push(['', '', '', '', '', n.rule_id, 'no_data', null, null, null, '', null, '', '', n.message, ...ruleProvenanceCells(rs, n.rule_id, provenance!)]);
        return sendCsv(reply, `audit-${rs.id}-${level}.csv`, toCsv(['area_key', 'area_name', 'street', 'district', 'population', 'rule_id', 'result', 'network_share', 'straight_share', 'target_share', 'residents_not_covered', 'uncovered_mean_distance_m', 'uncovered_beyond_cap', 'uncovered_no_path', 'caveats', ...RULE_PROVENANCE_HEADER], body));
      }
      if (format === 'geojson') {
        const geoms = await areaGeometries(app.pg, level, areas.map((a) => a.area_key));
        return sendGeoJson(reply, `audit-${rs.id}-${level}.geojson`, {
          type: 'FeatureCollection',
          properties: { rule_set: rs.id, level, run_id: engine.runId, distance_cap_m: DISTANCE_CAP_M, not_assessable: notAssessable, attribution: '© OpenStreetMap contributors', provenance, rules: ruleLabels(rs) },
          features: areas.map((a) => ({ type: 'Feature', id: a.area_key, geometry: geoms.get(a.area_key) ?? null, properties: { ...a, failing_rules: a.failed_rules.map((f) => f.rule_id).join(','), failing_count: a.failed_rules.length, ...Object.fromEntries(a.failed_rules.flatMap((f) => [[`${f.rule_id}_share`, f.share], [`${f.rule_id}_target`, f.target_share], [`${f.rule_id}_result`, 'fail']])) } })),
        });
      }
      return { rule_set: rs.id, level, run_id: engine.runId, dataset_id: engine.datasetId, distance_cap_m: DISTANCE_CAP_M, not_assessable: notAssessable, areas };
    },
  );
}


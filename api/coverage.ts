/** GET /api/coverage and GET /api/audit: coverage per area and rule, and the areas that miss a target. */

import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import type { FromSchema } from 'json-schema-to-ts';
import { AUDIT_CAVEATS, AUDIT_LEVELS, COVERAGE_LEVELS, EXPORT_FORMATS, POPULATION_SOURCES } from './enums.ts';
import { DEFAULT_RULE_SET, MAX_NAME_CHARS, MAX_RULE_SET_ID_CHARS } from './limits.ts';

/**
 * Optional filters by 区 and 街道, exact names as the areas' `district` and `street` carry them:
 * only the areas that match are answered and exported, and exports state the filters in their
 * provenance (`filters`). Not-assessable rules stay city-wide (a category absent from the data).
 */
export const placeFilterProperties = {
  district: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_NAME_CHARS,
    description: "only areas of this 区 (the areas' `district`)",
  },
  street: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_NAME_CHARS,
    description: "only areas of this 街道 (the areas' `street`)",
  },
} as const;

export const coverageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rule_set: { type: 'string', maxLength: MAX_RULE_SET_ID_CHARS, default: DEFAULT_RULE_SET },
    level: { type: 'string', enum: COVERAGE_LEVELS, default: 'community' },
    format: { type: 'string', enum: EXPORT_FORMATS, default: 'json' },
    ...placeFilterProperties,
  },
} as const;

/** A rule's shares and the residents it leaves out, as both routes report them. */
const shareProperties = {
  share: { type: ['number', 'null'] },
  straight_share: { type: ['number', 'null'] },
  target_share: { type: 'number' },
} as const;
const uncoveredProperties = {
  uncovered_mean_m: {
    type: ['number', 'null'],
    description: 'mean walking distance of the uncovered residents that have one (outcome distance, up to the cap)',
  },
  uncovered_unreachable_population: {
    type: 'number',
    description: 'uncovered residents with outcome no_path: no facility in their piece of the network',
  },
  uncovered_beyond_cap_population: {
    type: 'number',
    description:
      'uncovered residents with outcome beyond_cap: a facility lies in their piece of the network, farther than the cap',
  },
} as const;

/** A rule that cannot be judged: no facility of its categories in the data. */
export const notAssessable = {
  type: 'array',
  description:
    'rules not assessable (outcome no_data): left out of pass/fail, "failing only" and the worst-of-all colours',
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

/** What a rule's figures count (issue 11: the rule set's measure and population group). */
const measureProperties = {
  measure: {
    type: 'string',
    enum: ['population', 'residential_land_area'],
    description: 'residents, or residential land area in m² (城市体检 服务半径覆盖率)',
  },
  population_group: {
    type: 'string',
    enum: ['all', 'elderly', 'children'],
    description: 'whose residents count (population measure)',
  },
  estimated_population: {
    type: 'number',
    description:
      'part of the figure estimated from national group shares: the population import gave no count for this group',
  },
} as const;

const rootProperties = {
  filters: {
    type: 'object',
    additionalProperties: false,
    description: 'the place filters the answer honours (absent: none)',
    properties: { district: { type: 'string' }, street: { type: 'string' } },
  },
  distance_cap_m: { type: 'number', description: 'walking distances are reported up to here; farther is beyond_cap' },
  not_assessable: notAssessable,
} as const;

const ruleResult = {
  type: 'object',
  required: [
    'share',
    'straight_share',
    'target_share',
    'passes',
    'population',
    'covered_population',
    'straight_covered_population',
    'uncovered_mean_m',
    'uncovered_unreachable_population',
    'uncovered_beyond_cap_population',
    'uncovered_near_edge_population',
    'no_data',
  ],
  properties: {
    ...shareProperties,
    passes: { type: 'boolean', description: 'false and meaningless where no_data is true' },
    no_data: { type: 'boolean', description: "not assessable: no facility of the rule's categories in the data" },
    uncovered_near_edge_population: {
      type: 'number',
      description: 'uncovered residents within the edge margin of the data (edge_of_data caveat)',
    },
    population: {
      type: 'number',
      description: "the rule's measure over the area: residents of population_group, or residential land m²",
    },
    covered_population: { type: 'number' },
    straight_covered_population: { type: 'number' },
    deciding_facility_id: { type: ['integer', 'null'] },
    ...measureProperties,
    ...uncoveredProperties,
  },
} as const;

/**
 * The response both routes share: the run it comes from and one entry per area at one of `levels`,
 * with `area` properties, the `areaRequired` ones always present.
 */
function areasJson<L extends readonly string[], R extends object, A extends object, Q extends readonly string[]>(
  levels: L,
  root: R,
  area: A,
  areaRequired: Q,
) {
  return {
    type: 'object',
    required: ['rule_set', 'level', 'run_id', 'areas'],
    properties: {
      rule_set: { type: 'string' },
      level: { type: 'string', enum: levels },
      run_id: { type: 'integer' },
      dataset_id: { type: 'integer' },
      ...root,
      areas: {
        type: 'array',
        items: {
          type: 'object',
          required: ['area_key', 'area_name', 'street', 'district', 'population', ...areaRequired],
          properties: {
            area_key: { type: 'string' },
            area_name: { type: ['string', 'null'] },
            street: {
              type: ['string', 'null'],
              description: '街道 of the area, from the community boundaries (null where they name none)',
            },
            district: {
              type: ['string', 'null'],
              description:
                '区 of the area, from the community boundaries, else the imported district boundary holding it',
            },
            population: { type: 'number' },
            ...area,
          },
        },
      },
    },
  } as const;
}

export const coverageJson = areasJson(
  COVERAGE_LEVELS,
  { caveats: { type: 'array', items: { type: 'string' } }, ...rootProperties } as const,
  {
    population_estimated: { type: 'boolean' },
    population_sources: {
      type: 'array',
      items: { type: 'string', enum: POPULATION_SOURCES },
      description: 'where the population figures come from',
    },
    is_approximate: { type: 'boolean' },
    rules: { type: 'object', additionalProperties: ruleResult },
  } as const,
  ['population_estimated', 'is_approximate', 'rules'] as const,
);

export const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rule_set: { type: 'string', maxLength: MAX_RULE_SET_ID_CHARS, default: DEFAULT_RULE_SET },
    level: { type: 'string', enum: AUDIT_LEVELS, default: 'community' },
    format: { type: 'string', enum: EXPORT_FORMATS, default: 'json' },
    ...placeFilterProperties,
  },
} as const;

export const auditJson = areasJson(
  AUDIT_LEVELS,
  rootProperties,
  {
    worst_shortfall: { type: 'number' },
    population_sources: {
      type: 'array',
      items: { type: 'string', enum: POPULATION_SOURCES },
      description: 'where the population figures come from',
    },
    residents_not_covered: { type: 'number' },
    caveats: { type: 'array', items: { type: 'string', enum: AUDIT_CAVEATS } },
    failed_rules: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'rule_id',
          'share',
          'straight_share',
          'target_share',
          'residents_not_covered',
          'uncovered_mean_m',
          'uncovered_unreachable_population',
          'uncovered_beyond_cap_population',
          'land_not_covered_m2',
          'measure',
          'population_group',
          'estimated_population',
          'group_estimated',
          'depends_on_sample_facilities',
          'edge_of_data',
        ],
        properties: {
          rule_id: { type: 'string' },
          ...shareProperties,
          residents_not_covered: {
            type: 'number',
            description: 'residents of population_group not covered (0 for the residential_land_area measure)',
          },
          land_not_covered_m2: {
            type: ['number', 'null'],
            description: 'residential land not covered, m² (residential_land_area measure; null otherwise)',
          },
          ...uncoveredProperties,
          ...measureProperties,
          group_estimated: {
            type: 'boolean',
            description: 'the population_group figures are (partly) estimated, not imported',
          },
          depends_on_sample_facilities: { type: 'boolean' },
          edge_of_data: {
            type: 'boolean',
            description:
              'uncovered residents lie within the edge margin of the data: a facility outside the extract may serve them',
          },
        },
      },
    },
  } as const,
  ['worst_shortfall', 'residents_not_covered', 'caveats', 'failed_rules'] as const,
);

export type CoverageQuery = FromSchema<typeof coverageQuery>;
export type AuditQuery = FromSchema<typeof auditQuery>;
export type Coverage = FromSchema<typeof coverageJson>;
export type AreaCoverage = Coverage['areas'][number];
export type RuleCoverage = AreaCoverage['rules'][string];
export type Audit = FromSchema<typeof auditJson>;
export type AuditArea = Audit['areas'][number];
export type NotAssessableRule = FromSchema<typeof notAssessable>[number];
/** format=geojson: the areas as features, with the JSON answer's area entries as properties. */
export type CoverageGeoJson = FeatureCollection<Polygon | MultiPolygon | null, AreaCoverage>;

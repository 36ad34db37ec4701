/** Enumerations the API speaks in, shared by schemas, handlers and the web client. */

/** 两拆一增 plan kinds: clear an illegal building, take down a compound wall, add an open space. */
export const PLAN_KINDS = ['demolish_illegal', 'demolish_wall', 'add_open_space'] as const;
export type PlanKind = (typeof PLAN_KINDS)[number];

export const PLAN_STATUSES = ['proposed', 'approved', 'done'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** Levels coverage is aggregated at, finest first. */
export const COVERAGE_LEVELS = ['residential_area', 'community', 'street', 'district'] as const;
export type CoverageLevel = (typeof COVERAGE_LEVELS)[number];

/** Levels the audit lists areas at. */
export const AUDIT_LEVELS = ['community', 'residential_area'] as const;
export type AuditLevel = (typeof AUDIT_LEVELS)[number];

/** Answer formats of /api/coverage and /api/audit. */
export const EXPORT_FORMATS = ['json', 'geojson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** How a walk search ended, the same words in every answer. */
export const REACH_OUTCOMES = ['distance', 'beyond_cap', 'no_path', 'no_data'] as const;
export type ReachOutcome = (typeof REACH_OUTCOMES)[number];

/** Where an area's population figures come from (README "Population"). */
export const POPULATION_SOURCES = ['osm', 'census', 'grid', 'estimate'] as const;

/** Data caveats an audit area may carry. */
export const AUDIT_CAVEATS = [
  'estimated_population',
  'sample_facilities',
  'approximate_zone',
  'edge_of_data',
  'no_residents',
  'estimated_elderly',
  'estimated_children',
  'estimated_all',
] as const;
export type AuditCaveat = (typeof AUDIT_CAVEATS)[number];

/** Candidate sources of /api/suggest. */
export const SUGGEST_CANDIDATES = ['plans', 'grid'] as const;

/** Vector tile layers of /tiles/:layer/:z/:x/:y.pbf. */
export const TILE_LAYER_NAMES = [
  'basemap',
  'network',
  'facilities',
  'areas',
  'plans',
  'area_labels',
  'barriers',
  'population',
] as const;

/** A rule set id or rule id: lower-case letters, digits, `.`, `_`, `-`. */
export const RULE_ID_PATTERN = '^[a-z0-9._-]+$';
/** `<rule_set>/<rule_id>`, as /api/suggest names a rule. */
export const RULE_REF_PATTERN = '^[a-z0-9._-]+/[a-z0-9._-]+$';

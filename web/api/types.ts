import type { Feature, FeatureCollection, Geometry, LineString, Polygon, MultiPolygon } from 'geojson';

/** A label in both languages, as every API catalogue entry carries. */
export interface Bilingual {
  zh: string;
  en: string;
}

export interface Health {
  status: 'ok' | 'degraded';
  database: 'reachable' | 'unreachable';
  dataset: {
    id: number;
    kind: string;
    source: string;
    is_sample: boolean;
    imported_at: string;
    counts: { facilities: Record<string, number>; residential_areas: number; communities: number; [k: string]: unknown };
  } | null;
  attribution: string;
}

export interface Category extends Bilingual {
  id: string;
  areal?: boolean;
  count: number;
}

export interface RuleTier {
  categories: string[];
  min_area_m2: number | null;
  max_distance_m: number;
}

export interface Rule extends Bilingual {
  id: string;
  tiers: RuleTier[];
  target_share: number;
  citation: string;
  note: string | null;
  /** The category this rule judges by default where its tiers name several (null: none declared). */
  judges?: string | null;
}

export interface RuleSet extends Bilingual {
  id: string;
  version: string;
  citation: string;
  rules: Rule[];
}

/** How a walk search ended, the same words in every answer (see the API's proximity schema). */
export type ReachOutcome = 'distance' | 'beyond_cap' | 'no_path' | 'no_data';

/** A rule with no facility of its categories in the data: not assessable. */
export interface NotAssessableRule {
  rule_id: string;
  outcome: 'no_data';
  categories: string[];
  message: string;
}

export interface ProximityResult {
  category: string;
  outcome: ReachOutcome;
  label: Bilingual;
  facility: { id: number; name: string | null; lng: number; lat: number; is_sample: boolean } | null;
  /** The point lies inside the facility (a park or green space): 0 m, no path. */
  inside: boolean;
  network_distance_m: number | null;
  straight_distance_m: number | null;
  walk_minutes: number | null;
  rule_id: string | null;
  max_distance_m: number | null;
  meets_target: boolean | null;
  path: LineString | null;
}

export interface Proximity {
  point: { lng: number; lat: number };
  snap: { lng: number; lat: number; distance_m: number };
  rule_set: string;
  walk_speed_m_per_min?: number;
  distance_cap_m?: number;
  results: ProximityResult[];
}

export type Isochrone = FeatureCollection<Geometry, { kind: 'polygon' | 'lines'; distance_m: number; [k: string]: unknown }>;

export type CoverageLevel = 'residential_area' | 'community' | 'street' | 'district';
export type AuditLevel = 'community' | 'residential_area';

export interface RuleCoverage {
  share: number | null;
  straight_share: number | null;
  target_share: number;
  passes: boolean;
  population: number;
  covered_population: number;
  straight_covered_population: number;
  uncovered_mean_m: number | null;
  uncovered_unreachable_population: number;
  uncovered_beyond_cap_population: number;
  uncovered_near_edge_population: number;
  no_data: boolean;
}

export interface AreaCoverage {
  area_key: string;
  area_name: string | null;
  street: string | null;
  district: string | null;
  population: number;
  population_estimated: boolean;
  /** where the figures come from: 'osm', 'census', 'grid', 'estimate' */
  population_sources?: string[];
  is_approximate: boolean;
  rules: Record<string, RuleCoverage>;
}

export interface Coverage {
  rule_set: string;
  level: CoverageLevel;
  run_id: number;
  distance_cap_m?: number;
  not_assessable?: NotAssessableRule[];
  areas: AreaCoverage[];
}

export type CoverageGeoJson = FeatureCollection<Polygon | MultiPolygon | null, AreaCoverage>;

export type AuditCaveat = 'estimated_population' | 'sample_facilities' | 'approximate_zone' | 'edge_of_data' | 'no_residents';

export interface AuditArea {
  area_key: string;
  area_name: string | null;
  street: string | null;
  district: string | null;
  population: number;
  worst_shortfall: number;
  residents_not_covered: number;
  caveats: AuditCaveat[];
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

export interface Audit {
  rule_set: string;
  level: AuditLevel;
  run_id: number;
  distance_cap_m?: number;
  not_assessable?: NotAssessableRule[];
  areas: AuditArea[];
}

export const PLAN_KINDS = ['demolish_illegal', 'demolish_wall', 'add_open_space'] as const;
export const PLAN_STATUSES = ['proposed', 'approved', 'done'] as const;
export type PlanKind = (typeof PLAN_KINDS)[number];
export type PlanStatus = (typeof PLAN_STATUSES)[number];
export type PlanGeometry = Polygon | MultiPolygon | LineString;

export interface Plan {
  id: number;
  /** Starts at 1, +1 on every change; sent back as If-Match. */
  version: number;
  kind: PlanKind;
  name: string;
  status: PlanStatus;
  geometry: PlanGeometry;
  notes: string | null;
  area_m2: number | null;
  length_m: number | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** One page of GET /api/plans; next_cursor is null on the last page. */
export interface PlanPage {
  plans: Plan[];
  next_cursor: number | null;
}

export interface PlanInput {
  kind: PlanKind;
  name: string;
  status?: PlanStatus;
  geometry: PlanGeometry;
  notes?: string | null;
}

/** A plan sent inline to a scenario: drawn in the browser, evaluated, never stored. */
export interface InlinePlan {
  kind: PlanKind;
  name?: string;
  geometry: PlanGeometry;
  /** demolish_illegal only: the cleared land also becomes an open space */
  becomes_open_space?: boolean;
}

/** Body of POST /api/scenarios/evaluate; at least one of plan_ids and plans. */
export interface ScenarioRequest {
  plan_ids?: number[];
  plans?: InlinePlan[];
  /** a rule set id, or 'all' */
  rule_set?: string;
  include_changed_edges?: boolean;
  marginal?: boolean;
}

export interface ScenarioFlips {
  fail_to_pass: number;
  pass_to_fail: number;
}

/** One area whose covered population or pass/fail a scenario changes. */
export interface ScenarioAreaImpact {
  key: string;
  name: string | null;
  population: number;
  covered_before: number;
  covered_after: number;
  share_before: number | null;
  share_after: number | null;
  delta_share: number | null;
  passes_before: boolean;
  passes_after: boolean;
  flip: 'fail_to_pass' | 'pass_to_fail' | null;
}

export interface ScenarioRuleImpact {
  rule_set: string;
  rule_id: string;
  target_share: number;
  population: number;
  covered_before: number;
  covered_after: number;
  share_before: number | null;
  share_after: number | null;
  newly_covered: number;
  newly_uncovered: number;
  flips: { community: ScenarioFlips; residential_area: ScenarioFlips };
  communities: ScenarioAreaImpact[];
  residential_areas: ScenarioAreaImpact[];
  /** per plan ref ('plan:<id>' or 'inline:<i>'): covered with all plans − covered without it */
  marginal: { plan: string; gain: number }[] | null;
  marginal_sum: number | null;
}

export interface ScenarioPlanEffect {
  ref: string;
  id: number | null;
  kind: PlanKind;
  name: string;
  becomes_open_space: boolean;
  links_added: number;
  link_length_m: number;
  barrier_removed_m: number;
  edges_opened: number;
  compounds_opened: number;
  open_space: { facility_id: number; area_m2: number; category: string; access_points: number } | null;
}

/** Per category whose walking distance fell on a street: before (null: new link or beyond the search bound) and after, metres. */
export interface ChangedEdgeProperties {
  edge: number;
  street_id: number | null;
  is_link: boolean;
  before: Record<string, number | null>;
  after: Record<string, number>;
}

export type ChangedEdges = FeatureCollection<LineString, ChangedEdgeProperties>;

export interface ScenarioEvaluation {
  dataset_id: number;
  run_id: number;
  rule_set: string;
  network_changed: boolean;
  origins?: number;
  origins_resnapped?: number;
  plans: ScenarioPlanEffect[];
  rules: ScenarioRuleImpact[];
  changed_edges?: ChangedEdges;
}

/** One site of GET /api/suggest, in greedy order. */
export interface SuggestPick {
  rank: number;
  ref: string;
  plan_id: number | null;
  kind: PlanKind;
  name: string;
  lng: number;
  lat: number;
  /** residents newly covered when added after the earlier picks */
  gain: number;
  /** residents newly covered by this site alone */
  standalone_gain: number;
  cumulative: number;
  geometry: PlanGeometry;
}

/** GET /api/suggest: greedy maximal covering for one rule. */
export interface Suggestion {
  rule_set: string;
  rule_id: string;
  k: number;
  candidates: 'grid' | 'plans';
  candidate_count: number;
  candidates_truncated: boolean;
  site_area_m2: number | null;
  population: number;
  baseline_covered: number;
  picks: SuggestPick[];
  greedy_total: number;
  optimum: { total: number; refs: string[] } | null;
  optimality_gap: number | null;
  enumeration: 'done' | 'skipped';
  subsets_enumerated: number;
}

export type { Feature };

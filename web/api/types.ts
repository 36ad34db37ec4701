/**
 * The types of the API's answers and requests, derived from the contract's JSON Schemas (api/):
 * nothing is retyped here, so a schema change shows up as a type error in the client.
 */
export type {
  Audit, AuditArea, AuditCaveat, AuditLevel, AreaCoverage, Bilingual, Category, ChangedEdgeProperties, ChangedEdges, Coverage, CoverageGeoJson, CoverageLevel,
  Drilldown, DrilldownHistogram, Health, InlinePlan, Isochrone, IsochroneBands, NotAssessableRule, Plan, PlanGeometry, PlanInput, PlanKind, PlanPage, PlanStatus, Proximity, ProximityResult, ReachOutcome,
  Rule, RuleCoverage, RuleSet, RuleTier, ScenarioAreaImpact, ScenarioEvaluation, ScenarioFlips, ScenarioPlanEffect, ScenarioRequest, ScenarioRuleImpact,
  SavedScenario, ScenarioComparison, SearchHit, SuggestPick, Suggestion,
} from '../../api/index.ts';
export { PLAN_KINDS, PLAN_STATUSES } from '../../api/index.ts';
export type { Feature } from 'geojson';

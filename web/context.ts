import type { Map as MapLibreMap } from 'maplibre-gl';
import type { Category, DatasetsResponse, Health, RuleSet } from './api/types.ts';
import type { PlanDraw } from './map/plan-draw.ts';
import type { Store } from './state.ts';

export type LayerToggle = 'network' | 'areas' | 'facilities' | 'plans' | 'population';

/** What every panel shares: the state store, the map and the catalogues fetched at start. */
export interface AppContext {
  store: Store;
  map: MapLibreMap;
  health: Health;
  /** The datasets the server serves (GET /api/datasets); empty when it could not say. */
  datasets: DatasetsResponse['datasets'];
  categories: Category[];
  ruleSets: RuleSet[];
  /** The rule set in force (falls back to the first one when the hash names an unknown one). */
  ruleSet(): RuleSet;
  category(id: string): Category | undefined;
  layers: Record<LayerToggle, boolean>;
  /** Rules of the rule set in force that cover nobody anywhere (no facility data); WORST leaves them out. */
  /** Rules not assessable (no_data): left out of WORST and of pass/fail. */
  emptyRules: Set<string>;
  /** True while a plan is being drawn: map clicks then belong to the drawing. */
  drawing: boolean;
  /** Re-apply the map layers after a state or layer-toggle change. */
  refreshMap(): void;
  /** The map's one drawing tool, shared by the panels that draw plans. */
  draw: PlanDraw;
  /**
   * What the scenario panel shows on the map, for the legend: the category its changed streets
   * are coloured for (null: none shown) and whether temporary sites are drawn; null when nothing.
   */
  scenario: { streetsCategory: string | null; drawnSites: boolean } | null;
  /**
   * What the compare tab shows on the map, for the legend: the rule's measure (residents or
   * residential land, the unit), and whether a side is sample data or counts estimated residents;
   * null when no comparison is shown.
   */
  compare: { measure: 'population' | 'residential_land_area'; sample: boolean; estimated: boolean } | null;
  /** Redraw the legend (after a panel changed what the map shows). */
  refreshLegend(): void;
}

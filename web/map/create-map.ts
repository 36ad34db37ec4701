import {
  AttributionControl,
  Map as MapLibreMap,
  NavigationControl,
  ScaleControl,
  setWorkerUrl,
  type StyleSpecification,
} from 'maplibre-gl';
import { withLabelFont } from './label-font.ts';
import { COMPARE_SOURCE, compareLabelLayers, compareLayers, compareSource } from '../layers/compare.ts';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';
import type { CoverageLevel, RuleSet } from '../api/types.ts';
import { CHANGED_STREETS_SOURCE, changedStreetsLayers, changedStreetsSource } from '../layers/changed-streets.ts';
import {
  AREA_LABELS_SOURCE,
  AREAS_SOURCE,
  areaColouring,
  areaLabelsSource,
  areasLabelLayers,
  areasLayers,
  areasSource,
} from '../layers/areas.ts';
import { BARRIERS_SOURCE, barriersLayers, barriersSource } from '../layers/barriers.ts';
import {
  ATTRIBUTION,
  BASEMAP_SOURCE,
  basemapGroundLayers,
  basemapLabelLayers,
  basemapRoadLayers,
  basemapSource,
} from '../layers/basemap.ts';
import {
  FACILITIES_SOURCE,
  facilitiesLabelLayers,
  facilitiesLayers,
  facilitiesSource,
  shownCategories,
} from '../layers/facilities.ts';
import { DRILLDOWN_SOURCE, drilldownLayers, drilldownSource } from '../layers/drilldown.ts';
import { POPULATION_SOURCE, populationLayers, populationSource } from '../layers/population.ts';
import { HIGHLIGHT_SOURCE, highlightLayers, highlightSource } from '../layers/highlight.ts';
import { ISOCHRONE_SOURCE, isochroneLayers, isochroneSource } from '../layers/isochrone.ts';
import { NETWORK_SOURCE, networkColouring, networkLayers, networkSource } from '../layers/network.ts';
import {
  PLAN_LABELS_SOURCE,
  PLANS_SOURCE,
  planLabelsSource,
  plansLabelLayers,
  plansLayers,
  plansSource,
} from '../layers/plans.ts';
import { ROUTES_SOURCE, routesLayers, routesSource } from '../layers/routes.ts';
import { SCENARIO_SITES_SOURCE, scenarioSitesLayers, scenarioSitesSource } from '../layers/scenario-sites.ts';
import type { MapView } from '../state.ts';

// Vite bundles maplibre-gl into our own chunk; its worker file is shipped beside it as an asset.
setWorkerUrl(workerUrl);

/**
 * CJK fonts tried for Chinese labels, drawn locally by MapLibre (no glyph server): the common
 * system fonts of macOS, Windows, Android/Linux, then the generic family.
 */
export const CJK_FONT_FAMILY =
  "'Noto Sans SC', 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', 'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif";

export interface StyleOptions {
  ruleSet: RuleSet;
  category: string;
  level: CoverageLevel;
  sampleWord: string;
}

/**
 * The whole style, built in code: basemap ground, coverage of areas, roads, the walking network,
 * isochrone, plans, a scenario's drawn sites and changed streets, where people live, facilities,
 * routes, a drill-down's uncovered homes, then labels
 * and the audit highlight on top. No `glyphs` and no `sprite`: every request goes to this server;
 * labels are drawn with the shipped Noto Sans SC (`font-faces`, see label-font.ts).
 */
export function buildStyle(o: StyleOptions): StyleSpecification {
  const categories = shownCategories(o.ruleSet, o.category);
  return withLabelFont({
    version: 8,
    name: 'life-circle',
    sources: {
      [BASEMAP_SOURCE]: basemapSource(),
      [AREAS_SOURCE]: areasSource(o.ruleSet.id),
      [AREA_LABELS_SOURCE]: areaLabelsSource(),
      [BARRIERS_SOURCE]: barriersSource(),
      [NETWORK_SOURCE]: networkSource(),
      [FACILITIES_SOURCE]: facilitiesSource(),
      [PLANS_SOURCE]: plansSource(),
      [PLAN_LABELS_SOURCE]: planLabelsSource(),
      [ISOCHRONE_SOURCE]: isochroneSource(),
      [ROUTES_SOURCE]: routesSource(),
      [HIGHLIGHT_SOURCE]: highlightSource(),
      [CHANGED_STREETS_SOURCE]: changedStreetsSource(),
      [SCENARIO_SITES_SOURCE]: scenarioSitesSource(),
      [POPULATION_SOURCE]: populationSource(),
      [DRILLDOWN_SOURCE]: drilldownSource(),
      [COMPARE_SOURCE]: compareSource(),
    },
    layers: [
      ...basemapGroundLayers(),
      ...areasLayers(areaColouring(o.ruleSet, o.category), o.level),
      ...compareLayers(),
      ...basemapRoadLayers(),
      ...networkLayers(networkColouring(o.ruleSet, o.category)),
      ...barriersLayers(),
      ...isochroneLayers(),
      ...plansLayers(),
      ...scenarioSitesLayers(),
      ...changedStreetsLayers(),
      ...populationLayers(),
      ...facilitiesLayers(categories),
      ...routesLayers(),
      ...drilldownLayers(),
      ...basemapLabelLayers(),
      ...areasLabelLayers(o.level),
      ...compareLabelLayers(),
      ...plansLabelLayers(),
      ...facilitiesLabelLayers(categories, o.sampleWord),
      ...highlightLayers(),
    ],
  });
}

export function createMap(container: HTMLElement, view: MapView, style: StyleSpecification): MapLibreMap {
  const map = new MapLibreMap({
    container,
    style,
    center: [view.lng, view.lat],
    zoom: view.zoom,
    minZoom: 9,
    maxZoom: 19,
    localIdeographFontFamily: CJK_FONT_FAMILY,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
  });
  map.touchZoomRotate.disableRotation();
  // Not compact: the OpenStreetMap credit stays visible at every width.
  map.addControl(new AttributionControl({ compact: false, customAttribution: ATTRIBUTION }), 'bottom-right');
  map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');
  return map;
}

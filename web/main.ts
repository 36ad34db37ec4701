import type { Map as MapLibreMap } from 'maplibre-gl';
import { api, showDataset } from './api/client.ts';
import type { CoverageLevel } from './api/types.ts';
import type { AppContext } from './context.ts';
import { setLang, t } from './i18n.ts';
import { updateAreas, areaColouring, setAreaFocus } from './layers/areas.ts';
import { shownCategories, updateFacilities } from './layers/facilities.ts';
import { showHighlight } from './layers/highlight.ts';
import { NETWORK_LAYER, networkColouring, updateNetwork } from './layers/network.ts';
import { setPlansVisible } from './layers/plans.ts';
import { setPopulationVisible } from './layers/population.ts';
import { buildStyle, createMap } from './map/create-map.ts';
import { PlanDraw } from './map/plan-draw.ts';
import { DEFAULT_STATE, hashHasView, parseHash, Store, WORST, type AppState } from './state.ts';
import { AuditPanel, bboxOf } from './ui/audit-panel.ts';
import { h, mount } from './ui/dom.ts';
import { describeError } from './ui/errors.ts';
import { renderHeader } from './ui/header.ts';
import { ScenarioPanel } from './ui/scenario-panel.ts';
import { renderLegend } from './ui/legend.ts';
import { PlansPanel } from './ui/plans-panel.ts';
import { ProximityPanel, setBandsOpener } from './ui/proximity-panel.ts';
import { renderSidebar, type Panel } from './ui/sidebar.ts';
import { citySummaryWithFlags } from './ui/summary-strip.ts';
import './style.css';
import { registerUiFont } from './map/label-font.ts';
import { installBands } from './layers/bands.ts';
import { installCompare } from './layers/compare.ts';
import { ComparePanel } from './ui/compare-panel.ts';
import { Finding, keepClearOfLegend } from './ui/finding.ts';
import { warnIfFontMissing } from './ui/font-warning.ts';
import { MeasureTool } from './map/measure.ts';

declare global {
  interface Window {
    /** The MapLibre map, for debugging in the console and for the browser tests. */
    __map?: MapLibreMap;
    /** Set once the map has loaded its style and the panels are wired. */
    __appReady?: boolean;
  }
}

const $ = (id: string) => document.getElementById(id)!;

/** State parts only a panel reads (it keeps them in the hash for shared links): no chrome to redraw. */
const SHARED_PARTS = [
  'point',
  'iso',
  'bands',
  'district',
  'street',
  'row',
  'plans',
  'scenarioRule',
  'compareFrom',
  'compareTo',
  'compareRule',
] as const satisfies readonly (keyof AppState)[];

/** A short message over the map for failures that have no panel of their own. */
function showToast(text: string): void {
  const toast = h('div', { class: 'toast', role: 'alert' }, text);
  $('map-wrap').append(toast);
  setTimeout(() => toast.remove(), 6000);
}

async function start(): Promise<void> {
  registerUiFont();
  const initial = parseHash(window.location.hash);
  const fitToData = !hashHasView(window.location.hash);
  setLang(initial.lang);
  // The first text on screen waits, briefly, for its font slices: Chromium left text laid out
  // before its slice arrived as boxes, even once the slice had loaded.
  await Promise.race([
    document.fonts.load(`650 17px "Noto Sans SC"`, t('title') + t('loadingMap')).catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, 3000)),
  ]);
  void warnIfFontMissing(t('title') + t('loadingMap'));
  const loading = $('map-loading');
  mount(loading, t('loadingMap'));
  mount($('header'), h('div', { class: 'brand' }, h('h1', {}, t('title'))));

  // ds= names the dataset every request and tile asks for; the list (for the switcher) is fetched
  // beside the rest, so the first paint waits for no extra round trip.
  showDataset(initial.dataset ?? undefined);
  const [health, categories, ruleSets, datasets] = await Promise.all([
    api.health(),
    api.categories(),
    api.ruleSets(),
    api.datasets().catch(() => []),
  ]);
  if (!ruleSets.some((r) => r.id === initial.ruleSetId)) initial.ruleSetId = ruleSets[0]?.id ?? DEFAULT_STATE.ruleSetId;
  if (initial.category !== WORST && !categories.some((c) => c.id === initial.category))
    initial.category = DEFAULT_STATE.category;

  const store = new Store(initial);
  store.set({});
  const ruleSet = () => ruleSets.find((r) => r.id === store.get().ruleSetId) ?? ruleSets[0];
  const map = createMap(
    $('map'),
    initial.view,
    buildStyle({ ruleSet: ruleSet(), category: initial.category, level: initial.level, sampleWord: t('sample') }),
  );
  window.__map = map;

  const ctx: AppContext = {
    store,
    map,
    health,
    datasets,
    categories,
    ruleSets,
    ruleSet,
    category: (id) => categories.find((c) => c.id === id),
    layers: { network: true, areas: true, facilities: true, plans: true, population: false },
    emptyRules: new Set(),
    drawing: false,
    refreshMap: () => applyMap(),
    draw: new PlanDraw(map),
    scenario: null,
    compare: null,
    refreshLegend: () => renderLegend($('legend'), ctx),
  };

  // Which levels have rows (streets and districts need imported communities with those fields).
  const levelsWithData = new Set<CoverageLevel>(['community', 'residential_area']);
  const probes = (['street', 'district'] as const).map(async (level) => {
    try {
      if ((await api.coverage(ruleSet().id, level)).areas.length) levelsWithData.add(level);
    } catch {
      // unavailable level: left disabled
    }
  });

  const panels = {
    point: new ProximityPanel(ctx),
    audit: new AuditPanel(ctx),
    plans: new PlansPanel(ctx),
    scenario: new ScenarioPanel(ctx),
    compare: new ComparePanel(ctx),
  } satisfies Record<AppState['tab'], Panel>;

  let styleReady = false;
  function applyMap(): void {
    if (!styleReady) return;
    const s = store.get();
    const rs = ruleSet();
    updateNetwork(map, networkColouring(rs, s.category, ctx.emptyRules, s.rule));
    map.setLayoutProperty(NETWORK_LAYER, 'visibility', ctx.layers.network ? 'visible' : 'none');
    // the compare tab draws its own areas (coloured by the change between two runs)
    updateAreas(
      map,
      areaColouring(rs, s.category, ctx.emptyRules, s.rule),
      s.level,
      rs.id,
      ctx.layers.areas && s.tab !== 'compare',
    );
    // the audit's 区 / 街道 filter sets off its areas while the audit is open
    setAreaFocus(map, s.tab === 'audit' ? panels.audit.mapFocus() : null);
    updateFacilities(map, shownCategories(rs, s.category), t('sample'), ctx.layers.facilities);
    setPlansVisible(map, ctx.layers.plans);
    setPopulationVisible(map, ctx.layers.population);
    renderLegend($('legend'), ctx);
  }

  function renderChrome(): void {
    $('main').dataset.tab = store.get().tab;
    renderHeader($('header'), ctx, levelsWithData);
    renderLegend($('legend'), ctx);
    renderSidebar($('sidebar'), ctx, panels);
  }

  /** Find the rules that are not assessable (no_data), then recolour (WORST leaves them out). */
  async function loadEmptyRules(): Promise<void> {
    const rs = ruleSet();
    try {
      const summary = await citySummaryWithFlags(rs);
      if (rs.id !== ruleSet().id) return;
      ctx.emptyRules = new Set(summary.notAssessable.map((n) => n.rule_id));
    } catch {
      ctx.emptyRules = new Set();
    }
    applyMap();
  }

  store.subscribe((s, prev) => {
    if (s.lang !== prev.lang) setLang(s.lang);
    const ruleSetChanged = s.ruleSetId !== prev.ruleSetId;
    const chromeChanged =
      s.lang !== prev.lang ||
      ruleSetChanged ||
      s.category !== prev.category ||
      s.level !== prev.level ||
      s.tab !== prev.tab ||
      s.rule !== prev.rule;
    if (s.view !== prev.view && !chromeChanged) return;
    // the parts a panel keeps for shared links (point, isochrone, filters, row, scenario selection):
    // the panel that set them has redrawn itself
    const sharedOnly = SHARED_PARTS.some((k) => s[k] !== prev[k]);
    if (sharedOnly && !chromeChanged) return;
    applyMap();
    renderChrome();
    if (s.level !== prev.level || ruleSetChanged) showHighlight(map, null);
    if (ruleSetChanged || s.rule !== prev.rule || s.category !== prev.category) panels.point.refresh();
    if (ruleSetChanged) {
      ctx.emptyRules = new Set();
      void loadEmptyRules();
    }
    if (s.lang !== prev.lang) for (const p of Object.values(panels)) p.render();
    if (s.tab !== prev.tab) (panels[prev.tab] as Panel).close?.();
    const panel: Panel = panels[s.tab];
    if (s.tab !== prev.tab || ruleSetChanged || s.level !== prev.level) void panel.load?.();
  });

  map.on('moveend', () => {
    const c = map.getCenter();
    store.set({ view: { lng: c.lng, lat: c.lat, zoom: map.getZoom() } });
  });
  // Finding your way: search, zoom to data, life-circle bands; fits stay clear of the legend.
  const finding = new Finding(ctx);
  $('map-wrap').append(finding.element, finding.card);
  const measure = new MeasureTool(ctx);
  map.addControl(measure, 'top-right');
  $('map-wrap').append(measure.readout);
  keepClearOfLegend(map, $('legend'), [finding.element, finding.card, measure.readout]);
  setBandsOpener((lng, lat) => void finding.showBands({ lng, lat }));
  store.subscribe((s, prev) => {
    if (s.lang !== prev.lang) {
      finding.render();
      measure.render();
    }
  });
  // bands from the clicked point follow it to a new point (so the link's bands are the point's)
  store.subscribe((s, prev) => {
    if (s.bands && s.point && (s.point.lng !== prev.point?.lng || s.point.lat !== prev.point?.lat))
      void finding.showBands(s.point);
  });
  map.once('load', () => {
    installBands(map);
    installCompare(map);
    styleReady = true;
    applyMap();
    void loadEmptyRules();
    // Plan names on the map come from the list (one label per plan).
    void panels.plans.load();
    // a shared link's clicked point: its walks, proximity answer and isochrone
    const { point } = store.get();
    if (point) void panels.point.query(point.lng, point.lat);
    if (point && store.get().bands) void finding.showBands(point);
  });
  map.once('idle', () => loading.remove());
  // the legend sums the residents drawn in view: recount once the map settles
  map.on('idle', () => {
    if (ctx.layers.population) renderLegend($('legend'), ctx);
  });
  map.on('error', (e) => {
    // Shown to the reader and still logged (MapLibre logs nothing itself once a listener exists).
    console.error(e.error);
    showToast(`${t('error')}: ${e.error?.message ?? 'map'}`);
  });

  if (fitToData) {
    // No view in the link: show the whole loaded data set (its communities), wherever it is.
    api
      .coverageGeoJson(ruleSet().id, 'community')
      .then((fc) => {
        const box = bboxOf(fc.features.map((f) => f.geometry?.coordinates ?? []));
        if (box) map.fitBounds(box, { padding: 20, duration: 0 });
      })
      .catch(() => {});
  }

  renderChrome();
  const first: Panel = panels[initial.tab];
  void first.load?.();
  await Promise.all(probes);
  renderHeader($('header'), ctx, levelsWithData);
  window.__appReady = true;
}

start().catch((err: unknown) => {
  mount($('map-loading'), h('p', { class: 'error', role: 'alert' }, describeError(err)));
});

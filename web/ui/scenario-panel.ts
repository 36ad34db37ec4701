import { Popup, type LngLatBoundsLike, type MapLayerMouseEvent } from 'maplibre-gl';
import type { Feature } from 'geojson';
import { MAX_SCENARIO_PLANS } from '../../api/limits.ts';
import { ApiRequestError, api } from '../api/client.ts';
import type {
  ChangedEdgeProperties,
  CoverageGeoJson,
  InlinePlan,
  Plan,
  PlanGeometry,
  PlanKind,
  ScenarioAreaImpact,
  ScenarioEvaluation,
  ScenarioPlanEffect,
  ScenarioRequest,
  ScenarioRuleImpact,
} from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { formatInt, formatMetres, formatShare, label, t, type StringKey } from '../i18n.ts';
import { CHANGED_STREETS_LINE, CHANGED_STREETS_LINK, showChangedStreets } from '../layers/changed-streets.ts';
import { showHighlight } from '../layers/highlight.ts';
import { showScenarioSites } from '../layers/scenario-sites.ts';
import { PLAN_COLORS } from '../palette.ts';
import type { DrawKind, DrawSession } from '../map/plan-draw.ts';
import { ruleForCategory } from '../rules.ts';
import { WORST } from '../state.ts';
import { bboxOf } from './audit-panel.ts';
import { badge, h, mount } from './dom.ts';
import { describeError } from './errors.ts';
import { SavedScenariosBlock } from './saved-scenarios.ts';
import { SuggestBlock } from './suggest-block.ts';

const SCENARIO_PATH = '/api/scenarios/evaluate';
/** Quiet time after the last change of the selection before it is evaluated, ms: a few ticks in a row cost one request. */
export const EVALUATE_DEBOUNCE_MS = 300;
/** Areas whose covered population moved by less than this many residents are rounding noise. */
const MIN_CHANGE_RESIDENTS = 0.5;

/** A plan drawn in this panel: sent inline with each evaluation, never stored. */
interface DrawnPlan {
  /** local number, for the name and the list */
  n: number;
  kind: PlanKind;
  geometry: PlanGeometry;
  becomesOpenSpace: boolean;
  /** a suggested site's name (see SuggestBlock); drawn ones are numbered */
  name?: string;
}

interface Answer {
  body: ScenarioEvaluation;
  /** the selection it answers (see selectionKey) */
  key: string;
  serverMs: number | null;
  totalMs: number;
  /** changed-edge properties by edge id, for the map popup */
  edges: Map<number, ChangedEdgeProperties>;
}

const kindLabel = (k: PlanKind) => t(`plan_kind_${k}` as StringKey);
const gainOf = (a: ScenarioAreaImpact) => a.covered_after - a.covered_before;

/**
 * The planner's scenario tool (两拆一增): tick stored plans or draw temporary sites and walls,
 * evaluate them with POST /api/scenarios/evaluate (debounced on every change of the selection),
 * and read per rule the network share before → after, residents newly covered, each plan's
 * marginal gain, the communities that gain (with fail → pass flips), and on the map the streets
 * that get closer. Whether the endpoint exists is read from the OpenAPI document.
 */
export class ScenarioPanel {
  readonly element = h('section', { class: 'panel', id: 'panel-scenario' });
  private available: boolean | null = null;
  private open = false;
  private plans: Plan[] | null = null;
  private plansError: string | null = null;
  private readonly selected = new Set<number>();
  private drawn: DrawnPlan[] = [];
  private drawnCount = 0;
  private drawing: DrawKind | null = null;

  private answer: Answer | null = null;
  private stale = false;
  private busy = false;
  private error: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private controller: AbortController | null = null;
  private seq = 0;
  /** Rule whose communities and marginal gains are listed (null: chosen from the answer). */
  private ruleId: string | null = null;
  /** Category the changed streets are coloured for, when the reader picked one. */
  private edgeCategory: string | null = null;
  private selectedCommunity: string | null = null;
  private highlighted = false;
  private readonly geometries = new Map<string, Promise<CoverageGeoJson>>();
  private popup: Popup | null = null;
  private readonly suggest: SuggestBlock;
  private readonly saved: SavedScenariosBlock;

  private readonly session: DrawSession = {
    onFinish: (geometry) => {
      this.drawing = null;
      this.ctx.drawing = false;
      this.ctx.draw.stop(this.session);
      this.drawn.push({
        n: ++this.drawnCount,
        kind: geometry.type === 'LineString' ? 'demolish_wall' : 'add_open_space',
        geometry,
        becomesOpenSpace: true,
      });
      this.selectionChanged();
    },
    onTakenOver: () => {
      this.drawing = null;
      this.render();
    },
  };

  constructor(private readonly ctx: AppContext) {
    // a shared link's selection: the plans ticked and the rule listed
    for (const id of ctx.store.get().plans ?? []) this.selected.add(id);
    this.ruleId = ctx.store.get().scenarioRule ?? null;
    this.suggest = new SuggestBlock(ctx, (pick, name, ruleId) => {
      // every block of the answer (rules table, per-plan gains, communities) shows the suggestion's rule
      this.setRule(ruleId, false);
      // a proposed plan is ticked; a grid site joins the drawn sites, to be evaluated with them
      if (pick.plan_id !== null) this.selected.add(pick.plan_id);
      else
        this.drawn.push({
          n: ++this.drawnCount,
          kind: pick.kind,
          geometry: pick.geometry,
          becomesOpenSpace: true,
          name,
        });
      this.selectionChanged();
    });
    this.saved = new SavedScenariosBlock(ctx, () => {
      if (!this.selectionSize()) return null;
      const r = this.request();
      return { ruleSet: r.rule_set ?? ctx.ruleSet().id, planIds: r.plan_ids ?? [], sites: r.plans ?? [] };
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.drawing) this.stopDrawing();
    });
    ctx.store.subscribe((s, prev) => {
      if (!this.open) return;
      if (s.category !== prev.category && this.answer && !this.stale) {
        this.showEdges();
        this.render();
      }
    });
    for (const layer of [CHANGED_STREETS_LINE, CHANGED_STREETS_LINK]) {
      ctx.map.on('click', layer, (e: MapLayerMouseEvent) => this.streetPopup(e));
      ctx.map.on('mouseenter', layer, () => {
        if (!ctx.drawing) ctx.map.getCanvas().style.cursor = 'pointer';
      });
      ctx.map.on('mouseleave', layer, () => {
        if (!ctx.drawing) ctx.map.getCanvas().style.removeProperty('cursor');
      });
    }
  }

  /** The rule whose gains and communities are listed; kept in the URL hash. */
  private setRule(ruleId: string | null, render = true): void {
    this.ruleId = ruleId;
    this.ctx.store.set({ scenarioRule: ruleId });
    if (render) this.render();
  }

  /** The stored plans ticked go into the URL hash (drawn sites do not: they are not stored). */
  private keepSelection(): void {
    this.ctx.store.set({ plans: [...this.selected].sort((a, b) => a - b) });
  }

  /** The tab is shown (or the rule set changed under it): list the plans, show the drawn sites, evaluate if needed. */
  async load(): Promise<void> {
    this.open = true;
    if (this.available === null) {
      try {
        this.available = (await api.documentedPaths()).includes(SCENARIO_PATH);
      } catch {
        this.available = false;
      }
    }
    this.render();
    if (!this.available || !this.open) return;
    this.showSites();
    this.suggest.restore();
    void this.saved.load();
    try {
      const plans = await api.plans();
      if (!this.open) return;
      this.plans = plans;
      this.plansError = null;
      const ids = new Set(plans.map((p) => p.id));
      for (const id of this.selected) if (!ids.has(id)) this.selected.delete(id);
      this.keepSelection();
    } catch (err) {
      this.plansError = describeError(err);
    }
    if (!this.open) return;
    if (this.answer && this.answer.key === this.selectionKey()) {
      this.stale = false;
      this.showEdges();
      this.render();
    } else if (this.selectionSize()) {
      // e.g. another rule set: what the map shows no longer answers the selection
      if (this.answer) this.stale = true;
      this.clearEdges();
      void this.evaluate();
    } else {
      this.render();
    }
  }

  /** The tab is left: stop drawing and take the scenario off the map (the selection is kept for the next visit). */
  close(): void {
    this.open = false;
    if (this.drawing) this.stopDrawing();
    clearTimeout(this.timer);
    this.controller?.abort();
    this.busy = false;
    this.popup?.remove();
    showChangedStreets(this.ctx.map, null, []);
    showScenarioSites(this.ctx.map, []);
    this.suggest.clear();
    if (this.highlighted) showHighlight(this.ctx.map, null);
    this.highlighted = false;
    this.ctx.scenario = null;
    this.ctx.refreshLegend();
  }

  private selectionSize(): number {
    return this.selected.size + this.drawn.length;
  }

  private drawnName(d: DrawnPlan): string {
    if (d.name) return d.name;
    return `${t(d.kind === 'demolish_wall' ? 'scenarioDrawnWall' : 'scenarioDrawnSite')} ${d.n}`;
  }

  private request(): ScenarioRequest {
    const ids = [...this.selected].sort((a, b) => a - b);
    const plans: InlinePlan[] = this.drawn.map((d) => ({
      kind: d.kind,
      name: this.drawnName(d),
      geometry: d.geometry,
      ...(d.kind === 'demolish_illegal' ? { becomes_open_space: d.becomesOpenSpace } : {}),
    }));
    return {
      rule_set: this.ctx.ruleSet().id,
      ...(ids.length ? { plan_ids: ids } : {}),
      ...(plans.length ? { plans } : {}),
      include_changed_edges: true,
      marginal: true,
    };
  }

  /** What an answer depends on: the rule set, the stored plans ticked and the drawn ones (names aside). */
  private selectionKey(): string {
    return JSON.stringify([
      this.ctx.ruleSet().id,
      [...this.selected].sort((a, b) => a - b),
      this.drawn.map((d) => [d.kind, d.becomesOpenSpace, d.geometry]),
    ]);
  }

  /** The selection changed: the old streets leave the map at once, a new evaluation follows after a pause. */
  private selectionChanged(): void {
    this.keepSelection();
    clearTimeout(this.timer);
    this.showSites();
    if (this.answer) this.stale = true;
    this.clearEdges();
    if (!this.selectionSize()) {
      this.controller?.abort();
      this.busy = false;
      this.answer = null;
      this.stale = false;
      this.error = null;
    } else {
      this.timer = setTimeout(() => void this.evaluate(), EVALUATE_DEBOUNCE_MS);
    }
    this.render();
  }

  private async evaluate(): Promise<void> {
    clearTimeout(this.timer);
    if (!this.selectionSize()) {
      this.error = t('scenarioNothingSelected');
      return this.render();
    }
    if (this.selectionSize() > MAX_SCENARIO_PLANS) {
      this.error = t('scenarioTooMany');
      return this.render();
    }
    const body = this.request();
    const key = this.selectionKey();
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const seq = ++this.seq;
    this.busy = true;
    this.error = null;
    this.render();
    try {
      const r = await api.evaluateScenario(body, controller.signal);
      if (seq !== this.seq || !this.open) return;
      const edges = new Map((r.body.changed_edges?.features ?? []).map((f) => [f.properties.edge, f.properties]));
      this.answer = { body: r.body, key, serverMs: r.serverMs, totalMs: r.totalMs, edges };
      this.stale = false;
      if (!r.body.rules.some((x) => x.rule_id === this.ruleId)) this.ruleId = this.defaultRule(r.body.rules);
      this.showEdges();
    } catch (err) {
      if (controller.signal.aborted || seq !== this.seq) return;
      // A missing route answers 404 "no route …"; a missing plan is a 404 too, and is an error.
      if (err instanceof ApiRequestError && err.status === 404 && /^no route/i.test(err.message))
        this.available = false;
      else this.error = describeError(err);
    }
    if (seq !== this.seq) return;
    this.busy = false;
    this.render();
  }

  /** The rule of the category on the map when the scenario moves it, else the rule that gains most. */
  private defaultRule(rules: readonly ScenarioRuleImpact[]): string | null {
    const { category } = this.ctx.store.get();
    const own = category === WORST ? null : ruleForCategory(this.ctx.ruleSet(), category);
    const ownImpact = own && rules.find((r) => r.rule_id === own.id);
    if (ownImpact && ownImpact.newly_covered > 0) return ownImpact.rule_id;
    let best: ScenarioRuleImpact | null = null;
    for (const r of rules) if (!best || r.newly_covered > best.newly_covered) best = r;
    return best?.rule_id ?? null;
  }

  /** Categories some changed street got closer for, with how many streets each. */
  private edgeCategories(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const p of this.answer?.edges.values() ?? [])
      for (const c of Object.keys(p.after)) counts.set(c, (counts.get(c) ?? 0) + 1);
    return counts;
  }

  /** The reader's pick, else the category on the map, else the one with the most changed streets. */
  private streetsCategory(): string | null {
    const counts = this.edgeCategories();
    if (this.edgeCategory && counts.has(this.edgeCategory)) return this.edgeCategory;
    const { category } = this.ctx.store.get();
    if (counts.has(category)) return category;
    let best: string | null = null;
    for (const [c, n] of counts) if (best === null || n > counts.get(best)!) best = c;
    return best;
  }

  private showSites(): void {
    showScenarioSites(
      this.ctx.map,
      this.drawn.map((d) => ({ kind: d.kind, geometry: d.geometry })),
    );
    this.ctx.scenario = {
      streetsCategory: this.ctx.scenario?.streetsCategory ?? null,
      drawnSites: this.drawn.length > 0,
    };
    this.ctx.refreshLegend();
  }

  private showEdges(): void {
    if (!this.open || !this.answer) return this.clearEdges();
    const category = this.streetsCategory();
    const shown = showChangedStreets(this.ctx.map, this.answer.body.changed_edges ?? null, category ? [category] : []);
    this.ctx.scenario = { streetsCategory: shown ? category : null, drawnSites: this.drawn.length > 0 };
    this.ctx.refreshLegend();
  }

  private clearEdges(): void {
    this.popup?.remove();
    showChangedStreets(this.ctx.map, null, []);
    this.ctx.scenario = this.open && this.drawn.length ? { streetsCategory: null, drawnSites: true } : null;
    this.ctx.refreshLegend();
  }

  private startDrawing(kind: DrawKind): void {
    this.drawing = kind;
    this.ctx.drawing = true;
    this.ctx.draw.start(kind, this.session);
    this.render();
  }

  private stopDrawing(): void {
    this.ctx.draw.stop(this.session);
    this.drawing = null;
    this.ctx.drawing = false;
    this.render();
  }

  /** Before → after for each category a clicked changed street got closer to. */
  private streetPopup(e: MapLayerMouseEvent): void {
    if (this.ctx.drawing || !this.answer || this.stale) return;
    const edge = Number(e.features?.[0]?.properties?.edge);
    const p = this.answer.edges.get(edge);
    if (!p) return;
    const rows = Object.entries(p.after).map(([c, after]) => {
      const cat = this.ctx.category(c);
      const before = p.before[c];
      // The saving from the rounded figures, so the three numbers shown add up.
      return h(
        'li',
        {},
        h('strong', {}, cat ? label(cat) : c),
        ' ',
        before === null || before === undefined
          ? `${t('scenarioNewlyReached')} → ${formatMetres(after)}`
          : `${formatMetres(before)} → ${formatMetres(after)} (−${formatMetres(Math.round(before) - Math.round(after))})`,
      );
    });
    const content = h(
      'div',
      { class: 'street-popup' },
      h('div', { class: 'popup-title' }, p.is_link ? t('scenarioNewLinks') : t('scenarioStreets')),
      h('ul', {}, rows),
    );
    this.popup?.remove();
    this.popup = new Popup({ closeButton: true, maxWidth: '280px' })
      .setLngLat(e.lngLat)
      .setDOMContent(content)
      .addTo(this.ctx.map);
  }

  private async zoomToCommunity(key: string): Promise<void> {
    this.selectedCommunity = key;
    this.render();
    const rs = this.ctx.ruleSet().id;
    let pending = this.geometries.get(rs);
    if (!pending) {
      pending = api.coverageGeoJson(rs, 'community');
      this.geometries.set(rs, pending);
      pending.catch(() => this.geometries.delete(rs));
    }
    try {
      const fc = await pending;
      const f = fc.features.find((x) => String(x.id ?? x.properties.area_key) === key);
      if (!f?.geometry || this.selectedCommunity !== key || !this.open) return;
      const box = bboxOf(f.geometry.coordinates);
      if (box) this.ctx.map.fitBounds(box as LngLatBoundsLike, { padding: 48, maxZoom: 16.5, duration: 600 });
      showHighlight(this.ctx.map, { type: 'Feature', geometry: f.geometry, properties: { key } } as Feature);
      this.highlighted = true;
    } catch (err) {
      this.error = describeError(err);
      this.render();
    }
  }

  // ------------------------------------------------------------------------------------------
  // rendering

  render(): void {
    const title = h('h3', {}, t('scenarioTitle'));
    if (this.available === null) return mount(this.element, title, h('p', { class: 'loading' }, t('loading')));
    if (!this.available)
      return mount(
        this.element,
        title,
        h('p', { class: 'note unavailable', id: 'scenario-unavailable' }, t('scenarioUnavailable')),
      );
    mount(
      this.element,
      title,
      h('p', { class: 'note' }, t('scenarioIntro')),
      this.storedBlock(),
      this.drawnBlock(),
      this.evaluateBlock(),
      this.answer ? this.resultBlock(this.answer) : null,
      this.savedBlock(),
      this.suggestBlock(),
    );
  }

  private savedBlock(): HTMLElement {
    this.saved.render();
    return this.saved.element;
  }

  /**
   * What each wall plan did to the network, in words: links added, wall removed, compounds and
   * private ways opened; when it added no walking link, why no resident can be newly covered.
   */
  private wallBlock(a: Answer): HTMLElement | null {
    const walls = a.body.plans.filter((p) => p.kind === 'demolish_wall');
    if (!walls.length) return null;
    const fill = (text: string, p: ScenarioPlanEffect) =>
      text
        .replace('{name}', p.name)
        .replace('{links}', formatInt(p.links_added))
        .replace('{link_m}', formatInt(p.link_length_m))
        .replace('{wall_m}', formatInt(p.barrier_removed_m))
        .replace('{compounds}', formatInt(p.compounds_opened))
        .replace('{edges}', formatInt(p.edges_opened));
    return h(
      'ul',
      { class: 'scenario-walls', id: 'scenario-walls' },
      walls.map((p) => {
        const opened = p.links_added > 0 || p.compounds_opened > 0 || p.edges_opened > 0;
        const why = opened ? null : p.barrier_removed_m > 0 ? t('wallWhyNoLinkStreets') : t('wallWhyNoLinkNoWall');
        return h(
          'li',
          {
            'data-plan-ref': p.ref,
            'data-links': p.links_added,
            'data-wall-m': Math.round(p.barrier_removed_m),
            'data-compounds': p.compounds_opened,
            class: opened ? undefined : 'no-effect',
          },
          fill(t('wallEffect'), p),
          why ? h('div', { class: 'wall-why', 'data-field': 'why' }, why) : null,
        );
      }),
    );
  }

  private suggestBlock(): HTMLElement {
    this.suggest.render();
    return this.suggest.element;
  }

  private storedBlock(): HTMLElement {
    const head = h(
      'div',
      { class: 'scenario-head' },
      h('h4', {}, t('scenarioStoredPlans')),
      h(
        'button',
        {
          type: 'button',
          id: 'scenario-all-proposed',
          disabled: !this.plans?.some((p) => p.status === 'proposed'),
          onclick: () => {
            for (const p of this.plans ?? [])
              if (p.status === 'proposed' && this.selectionSize() < MAX_SCENARIO_PLANS) this.selected.add(p.id);
            this.selectionChanged();
          },
        },
        t('scenarioAllProposed'),
      ),
      h(
        'button',
        {
          type: 'button',
          id: 'scenario-clear',
          disabled: !this.selected.size,
          onclick: () => {
            this.selected.clear();
            this.selectionChanged();
          },
        },
        t('scenarioClear'),
      ),
    );
    let list: HTMLElement;
    if (this.plansError) list = h('p', { class: 'error', role: 'alert' }, this.plansError);
    else if (!this.plans) list = h('p', { class: 'loading' }, t('loading'));
    else if (!this.plans.length) list = h('p', { class: 'note' }, t('noPlans'));
    else {
      list = h(
        'ul',
        { class: 'scenario-plans', id: 'scenario-plan-list' },
        this.plans.map((p) =>
          h(
            'li',
            {},
            h(
              'label',
              { class: 'toggle' },
              h('input', {
                type: 'checkbox',
                'data-plan-id': p.id,
                checked: this.selected.has(p.id),
                onchange: (e: Event) => {
                  if ((e.target as HTMLInputElement).checked) this.selected.add(p.id);
                  else this.selected.delete(p.id);
                  this.selectionChanged();
                },
              }),
              h('span', { class: 'plan-swatch', style: `--c:${PLAN_COLORS[p.kind]}` }),
              `#${p.id} ${p.name}`,
            ),
            h('span', { class: 'plan-meta' }, `${kindLabel(p.kind)} · ${t(`plan_status_${p.status}` as StringKey)}`),
          ),
        ),
      );
    }
    return h('div', { class: 'scenario-block' }, head, list);
  }

  private drawnBlock(): HTMLElement {
    const buttons = h(
      'div',
      { class: 'scenario-head' },
      h('h4', {}, t('scenarioDrawn')),
      h(
        'button',
        {
          type: 'button',
          id: 'scenario-draw-polygon',
          class: this.drawing === 'polygon' ? 'on' : undefined,
          onclick: () => this.startDrawing('polygon'),
        },
        `▱ ${t('drawPolygon')}`,
      ),
      h(
        'button',
        {
          type: 'button',
          id: 'scenario-draw-line',
          class: this.drawing === 'linestring' ? 'on' : undefined,
          onclick: () => this.startDrawing('linestring'),
        },
        `╱ ${t('drawLine')}`,
      ),
    );
    const hint = this.drawing
      ? h(
          'div',
          { class: 'draw-hint', role: 'status' },
          this.drawing === 'polygon' ? t('drawHintPolygon') : t('drawHintLine'),
          h('button', { type: 'button', id: 'scenario-draw-cancel', onclick: () => this.stopDrawing() }, t('cancel')),
        )
      : null;
    const list = this.drawn.length
      ? h(
          'ul',
          { class: 'scenario-plans', id: 'scenario-drawn-list' },
          this.drawn.map((d) =>
            h(
              'li',
              { 'data-drawn': d.n },
              h('span', {}, h('span', { class: 'plan-swatch temp' }), this.drawnName(d)),
              h(
                'span',
                { class: 'drawn-controls' },
                d.kind === 'demolish_wall'
                  ? h('span', { class: 'plan-meta' }, kindLabel(d.kind))
                  : h(
                      'select',
                      {
                        'aria-label': t('planKind'),
                        onchange: (e: Event) => {
                          d.kind = (e.target as HTMLSelectElement).value as PlanKind;
                          this.selectionChanged();
                        },
                      },
                      (['add_open_space', 'demolish_illegal'] as const).map((k) =>
                        h('option', { value: k, selected: k === d.kind }, kindLabel(k)),
                      ),
                    ),
                d.kind === 'demolish_illegal'
                  ? h(
                      'label',
                      { class: 'toggle' },
                      h('input', {
                        type: 'checkbox',
                        checked: d.becomesOpenSpace,
                        onchange: (e: Event) => {
                          d.becomesOpenSpace = (e.target as HTMLInputElement).checked;
                          this.selectionChanged();
                        },
                      }),
                      t('scenarioBecomesOpenSpace'),
                    )
                  : null,
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'link',
                    onclick: () => {
                      this.drawn = this.drawn.filter((x) => x !== d);
                      this.selectionChanged();
                    },
                  },
                  t('remove'),
                ),
              ),
            ),
          ),
        )
      : null;
    return h('div', { class: 'scenario-block' }, buttons, hint, list);
  }

  private evaluateBlock(): HTMLElement {
    let status: HTMLElement | null = null;
    if (this.busy)
      status = h('p', { class: 'loading', id: 'scenario-status', role: 'status' }, t('scenarioEvaluating'));
    else if (this.error) status = h('p', { class: 'error', id: 'scenario-status', role: 'alert' }, this.error);
    else if (!this.selectionSize())
      status = h('p', { class: 'hint', id: 'scenario-status' }, t('scenarioNothingSelected'));
    else if (this.stale) status = h('p', { class: 'hint', id: 'scenario-status' }, t('scenarioStale'));
    const a = this.answer;
    const timing =
      a && !this.stale
        ? h(
            'small',
            {
              class: 'timing',
              id: 'scenario-timing',
              'data-total-ms': Math.round(a.totalMs),
              'data-server-ms': a.serverMs === null ? '' : Math.round(a.serverMs),
            },
            `${t('scenarioAnswered')} ${Math.round(a.totalMs)} ms${a.serverMs === null ? '' : ` (${t('scenarioServer')} ${Math.round(a.serverMs)} ms)`}`,
          )
        : null;
    return h(
      'div',
      { class: 'scenario-evaluate' },
      h(
        'div',
        { class: 'buttons' },
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            id: 'scenario-evaluate',
            disabled: this.busy || !this.selectionSize(),
            onclick: () => void this.evaluate(),
          },
          t('scenarioEvaluate'),
        ),
        h('small', { class: 'note' }, t('scenarioAuto')),
      ),
      status,
      timing,
    );
  }

  private resultBlock(a: Answer): HTMLElement {
    const rs = this.ctx.ruleSet();
    const ruleLabel = (id: string) => {
      const rule = rs.rules.find((r) => r.id === id);
      return rule ? label(rule) : id;
    };
    const rules = h(
      'table',
      { class: 'scenario', id: 'scenario-rules' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, t('scenarioRule')),
          h(
            'th',
            { class: 'num' },
            t('scenarioNetworkShare'),
            h('br', {}),
            h('span', { class: 'nowrap' }, `${t('scenarioBefore')} → ${t('scenarioAfter')}`),
          ),
          h('th', { class: 'num' }, t('scenarioNewlyCovered')),
          h('th', { class: 'num' }, t('scenarioFlips')),
        ),
      ),
      h(
        'tbody',
        {},
        a.body.rules.map((r) => {
          const passAfter = r.share_after !== null && r.share_after >= r.target_share;
          return h(
            'tr',
            {
              'data-rule': r.rule_id,
              class: r.rule_id === this.ruleId ? 'selected' : undefined,
              tabindex: 0,
              title: `${t('target')} ${formatShare(r.target_share)}`,
              onclick: () => this.setRule(r.rule_id),
              onkeydown: (e: Event) => {
                if ((e as KeyboardEvent).key === 'Enter') this.setRule(r.rule_id);
              },
            },
            h('td', {}, ruleLabel(r.rule_id)),
            h(
              'td',
              { class: 'num', 'data-field': 'share' },
              `${formatShare(r.share_before)} → `,
              h('strong', { class: passAfter ? 'yes' : undefined }, formatShare(r.share_after)),
            ),
            h(
              'td',
              { class: 'num', 'data-field': 'newly-covered' },
              r.newly_covered > 0 ? `+${formatInt(r.newly_covered)}` : '0',
            ),
            h(
              'td',
              { class: 'num', 'data-field': 'flips' },
              String(r.flips.community.fail_to_pass),
              r.flips.community.pass_to_fail ? h('span', { class: 'no' }, ` −${r.flips.community.pass_to_fail}`) : null,
            ),
          );
        }),
      ),
    );
    const rule = a.body.rules.find((r) => r.rule_id === this.ruleId) ?? null;
    const rulePick = h(
      'label',
      { class: 'rule-pick' },
      `${t('scenarioRule')}: `,
      h(
        'select',
        { id: 'scenario-rule', onchange: (e: Event) => this.setRule((e.target as HTMLSelectElement).value) },
        a.body.rules.map((r) =>
          h('option', { value: r.rule_id, selected: r.rule_id === this.ruleId }, ruleLabel(r.rule_id)),
        ),
      ),
    );
    return h(
      'div',
      {
        class: this.stale ? 'scenario-result stale' : 'scenario-result',
        id: 'scenario-result',
        'aria-busy': String(this.busy),
      },
      rules,
      this.wallBlock(a),
      this.streetsBlock(),
      h('div', { class: 'scenario-detail-head' }, rulePick),
      rule ? this.marginalBlock(a, rule) : null,
      rule ? this.communitiesBlock(rule) : null,
    );
  }

  private streetsBlock(): HTMLElement {
    const counts = this.edgeCategories();
    const category = this.streetsCategory();
    const links = [...(this.answer?.edges.values() ?? [])].filter((p) => p.is_link).length;
    if (!counts.size && !links) return h('div', { class: 'note', id: 'scenario-streets' }, t('scenarioStreetsNone'));
    const catLabel = (c: string) => {
      const cat = this.ctx.category(c);
      return cat ? label(cat) : c;
    };
    return h(
      'div',
      { class: 'scenario-streets', id: 'scenario-streets' },
      h(
        'span',
        {},
        `${t('scenarioStreets')}: `,
        h('strong', {}, formatInt(category ? (counts.get(category) ?? 0) : 0)),
        ` ${t('scenarioStreetsCount')}`,
        links ? ` · ${t('scenarioNewLinks')} ${links}` : '',
      ),
      counts.size
        ? h(
            'label',
            {},
            `${t('scenarioColouredFor')} `,
            h(
              'select',
              {
                id: 'scenario-street-category',
                onchange: (e: Event) => {
                  this.edgeCategory = (e.target as HTMLSelectElement).value;
                  this.showEdges();
                  this.render();
                },
              },
              [...counts.keys()].map((c) =>
                h('option', { value: c, selected: c === category }, `${catLabel(c)} (${counts.get(c)})`),
              ),
            ),
          )
        : null,
    );
  }

  private marginalBlock(a: Answer, rule: ScenarioRuleImpact): HTMLElement | null {
    if (!rule.marginal?.length) return null;
    const names = new Map(a.body.plans.map((p) => [p.ref, p.name]));
    const max = Math.max(1, ...rule.marginal.map((m) => m.gain));
    return h(
      'div',
      { class: 'scenario-marginal', id: 'scenario-marginal', 'data-rule': rule.rule_id },
      h('h4', {}, t('scenarioMarginal'), h('small', { class: 'note' }, ` · ${t('scenarioMarginalNote')}`)),
      h(
        'ul',
        {},
        [...rule.marginal]
          .sort((x, y) => y.gain - x.gain)
          .map((m) =>
            h(
              'li',
              { 'data-plan-ref': m.plan },
              h('span', { class: 'marginal-name' }, names.get(m.plan) ?? m.plan),
              h('span', { class: 'bar', style: `--w:${Math.max(0, (m.gain / max) * 100).toFixed(1)}%` }),
              h(
                'span',
                { class: 'num', 'data-field': 'gain' },
                m.gain > 0 ? `+${formatInt(m.gain)}` : formatInt(m.gain),
              ),
            ),
          ),
      ),
    );
  }

  private communitiesBlock(rule: ScenarioRuleImpact): HTMLElement {
    const rows = rule.communities
      .filter((c) => Math.abs(gainOf(c)) >= MIN_CHANGE_RESIDENTS || c.flip)
      .sort((x, y) => gainOf(y) - gainOf(x) || x.key.localeCompare(y.key));
    const head = h('h4', {}, t('scenarioCommunities'));
    if (!rows.length)
      return h(
        'div',
        { class: 'scenario-communities', 'data-rule': rule.rule_id },
        head,
        h('p', { class: 'note', id: 'scenario-no-community' }, t('scenarioNoCommunity')),
      );
    return h(
      'div',
      { class: 'scenario-communities', 'data-rule': rule.rule_id },
      head,
      h(
        'table',
        { class: 'scenario', id: 'scenario-communities' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, t('level_community')),
            h('th', { class: 'num' }, t('scenarioNewlyCovered')),
            h('th', { class: 'num' }, `${t('scenarioBefore')} → ${t('scenarioAfter')}`),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((c) =>
            h(
              'tr',
              {
                'data-area-key': c.key,
                class: c.key === this.selectedCommunity ? 'selected' : undefined,
                tabindex: 0,
                onclick: () => void this.zoomToCommunity(c.key),
                onkeydown: (e: Event) => {
                  if ((e as KeyboardEvent).key === 'Enter') void this.zoomToCommunity(c.key);
                },
              },
              h(
                'td',
                { class: 'name' },
                c.name ?? c.key,
                c.flip === 'fail_to_pass'
                  ? badge(t('flipFailToPass'), 'pass')
                  : c.flip === 'pass_to_fail'
                    ? badge(t('flipPassToFail'), 'fail')
                    : null,
                h('div', { class: 'plan-meta' }, `${t('population')} ${formatInt(c.population)}`),
              ),
              h(
                'td',
                { class: 'num', 'data-field': 'gain' },
                gainOf(c) > 0 ? `+${formatInt(gainOf(c))}` : formatInt(gainOf(c)),
              ),
              h(
                'td',
                { class: 'num', 'data-field': 'share' },
                `${formatShare(c.share_before)} → `,
                h('strong', { class: c.passes_after ? 'yes' : 'no' }, formatShare(c.share_after)),
              ),
            ),
          ),
        ),
      ),
      h('div', { class: 'note' }, t('scenarioZoomHint')),
    );
  }
}

import { Marker } from 'maplibre-gl';
import { MAX_SUGGEST_K } from '../../api/limits.ts';
import { api, type Timed } from '../api/client.ts';
import type { Rule, SuggestPick, Suggestion } from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { formatInt, label, t } from '../i18n.ts';
import { badge, h, mount } from './dom.ts';
import { describeError } from './errors.ts';
import { citySummaryWithFlags } from './summary-strip.ts';

/** The server's limit on k. */
const MAX_K = MAX_SUGGEST_K;

/** Rules a new open space can serve: some tier counts parks or green spaces (the only grid candidates). */
export function openSpaceRules(rules: readonly Rule[]): Rule[] {
  return rules.filter((r) =>
    r.tiers.some((tier) => tier.categories.includes('park') || tier.categories.includes('green_space')),
  );
}

/**
 * Site suggestion in the scenario panel: GET /api/suggest for one rule of the rule set in force,
 * the picks listed in greedy order with the residents each adds, numbered markers on the map, and
 * "Try it", which hands a pick's site to the scenario panel to evaluate like a drawn one.
 */
export class SuggestBlock {
  readonly element = h('div', { class: 'scenario-block suggest', id: 'suggest' });
  private ruleId: string | null = null;
  private k = 3;
  private candidates: 'grid' | 'plans' = 'grid';
  private answer: Timed<Suggestion> | null = null;
  private estimated = false;
  private busy = false;
  private error: string | null = null;
  private controller: AbortController | null = null;
  private markers: Marker[] = [];

  constructor(
    private readonly ctx: AppContext,
    /** `ruleId`: the rule the pick was suggested for, which the evaluation then shows. */
    private readonly onTry: (pick: SuggestPick, name: string, ruleId: string) => void,
  ) {}

  /** Take the markers off the map and drop an answer that no longer fits the rule set in force. */
  clear(): void {
    this.controller?.abort();
    this.busy = false;
    this.removeMarkers();
    if (this.answer && this.answer.body.rule_set !== this.ctx.ruleSet().id) this.answer = null;
  }

  /** The panel was shown again, or the rule set changed under it: markers for the answer that still fits, if any. */
  restore(): void {
    if (this.answer && this.answer.body.rule_set === this.ctx.ruleSet().id) this.showMarkers(this.answer.body.picks);
    else this.clear();
  }

  private rule(): Rule | null {
    const rules = openSpaceRules(this.ctx.ruleSet().rules);
    return rules.find((r) => r.id === this.ruleId) ?? rules[0] ?? null;
  }

  private pickName(p: SuggestPick): string {
    return p.ref.startsWith('grid:') ? `${t('suggestGridSite')} ${p.ref.slice(5)}` : p.name;
  }

  private async run(): Promise<void> {
    const rule = this.rule();
    if (!rule) return;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.busy = true;
    this.error = null;
    this.removeMarkers();
    this.render();
    try {
      const ruleSet = this.ctx.ruleSet();
      const [answer, summary] = await Promise.all([
        api.suggest(`${ruleSet.id}/${rule.id}`, this.k, this.candidates, controller.signal),
        citySummaryWithFlags(ruleSet).catch(() => ({ estimated: false })),
      ]);
      if (controller.signal.aborted) return;
      this.answer = answer;
      this.estimated = summary.estimated;
      this.showMarkers(answer.body.picks);
    } catch (err) {
      if (controller.signal.aborted) return;
      this.error = describeError(err);
    }
    this.busy = false;
    this.render();
  }

  private removeMarkers(): void {
    for (const m of this.markers) m.remove();
    this.markers = [];
  }

  private showMarkers(picks: readonly SuggestPick[]): void {
    this.removeMarkers();
    this.markers = picks.map((p) => {
      const el = h('div', { class: 'suggest-marker', 'data-rank': p.rank, title: this.pickName(p) }, String(p.rank));
      return new Marker({ element: el }).setLngLat([p.lng, p.lat]).addTo(this.ctx.map);
    });
  }

  render(): void {
    const rules = openSpaceRules(this.ctx.ruleSet().rules);
    const rule = this.rule();
    const head = h('div', { class: 'scenario-head' }, h('h4', {}, t('suggestTitle')));
    if (!rule) return mount(this.element, head, h('p', { class: 'note' }, t('suggestNoRule')));
    const controls = h(
      'div',
      { class: 'suggest-controls' },
      h(
        'select',
        {
          id: 'suggest-rule',
          'aria-label': t('scenarioRule'),
          onchange: (e: Event) => {
            this.ruleId = (e.target as HTMLSelectElement).value;
          },
        },
        rules.map((r) => h('option', { value: r.id, selected: r.id === rule.id }, label(r))),
      ),
      h(
        'label',
        {},
        `${t('suggestCount')} `,
        h(
          'select',
          {
            id: 'suggest-k',
            onchange: (e: Event) => {
              this.k = Number((e.target as HTMLSelectElement).value);
            },
          },
          Array.from({ length: MAX_K }, (_, i) => i + 1).map((n) =>
            h('option', { value: n, selected: n === this.k }, String(n)),
          ),
        ),
      ),
      h(
        'label',
        {},
        `${t('suggestCandidates')} `,
        h(
          'select',
          {
            id: 'suggest-candidates',
            onchange: (e: Event) => {
              this.candidates = (e.target as HTMLSelectElement).value as 'grid' | 'plans';
            },
          },
          h('option', { value: 'grid', selected: this.candidates === 'grid' }, t('suggestGrid')),
          h('option', { value: 'plans', selected: this.candidates === 'plans' }, t('suggestPlans')),
        ),
      ),
      h(
        'button',
        { type: 'button', id: 'suggest-run', disabled: this.busy, onclick: () => void this.run() },
        this.busy ? t('suggestRunning') : t('suggestRun'),
      ),
    );
    let status: HTMLElement | null = null;
    if (this.busy) status = h('p', { class: 'loading', id: 'suggest-status', role: 'status' }, t('suggestRunning'));
    else if (this.error) status = h('p', { class: 'error', id: 'suggest-status', role: 'alert' }, this.error);
    const a = this.answer?.body.rule_set === this.ctx.ruleSet().id ? this.answer : null;
    mount(
      this.element,
      head,
      h('p', { class: 'note' }, t('suggestIntro')),
      controls,
      status,
      a && !this.busy ? this.resultBlock(a) : null,
    );
  }

  private resultBlock(a: Timed<Suggestion>): HTMLElement {
    const s = a.body;
    const rule = this.ctx.ruleSet().rules.find((r) => r.id === s.rule_id);
    const estimate = this.estimated ? badge(t('estimate'), 'estimate', t('suggestEstimate')) : null;
    if (!s.picks.length) return h('p', { class: 'note', id: 'suggest-result' }, t('suggestNone'));
    const gap =
      s.optimality_gap === null ? t('suggestGapSkipped') : `${t('suggestGap')} ${formatInt(s.optimality_gap)}`;
    return h(
      'div',
      { id: 'suggest-result', 'data-server-ms': a.serverMs === null ? '' : Math.round(a.serverMs) },
      h(
        'ol',
        { class: 'suggest-picks', id: 'suggest-picks' },
        s.picks.map((p) =>
          h(
            'li',
            { 'data-ref': p.ref, 'data-gain': p.gain },
            h(
              'button',
              {
                type: 'button',
                class: 'link suggest-name',
                onclick: () =>
                  this.ctx.map.flyTo({
                    center: [p.lng, p.lat],
                    zoom: Math.max(this.ctx.map.getZoom(), 16),
                    duration: 600,
                  }),
              },
              `${p.rank}. ${this.pickName(p)}`,
            ),
            h(
              'span',
              { class: 'num', 'data-field': 'gain' },
              `+${formatInt(p.gain)}`,
              estimate?.cloneNode(true) ?? null,
            ),
            h('small', { class: 'plan-meta' }, `${t('suggestAlone')} +${formatInt(p.standalone_gain)}`),
            h(
              'button',
              { type: 'button', class: 'suggest-try', onclick: () => this.onTry(p, this.pickName(p), s.rule_id) },
              t('suggestTry'),
            ),
          ),
        ),
      ),
      h(
        'p',
        { class: 'note', id: 'suggest-summary' },
        `${t('suggestTotal')} ${formatInt(s.greedy_total)}`,
        estimate,
        ` · ${rule ? label(rule) : s.rule_id} · ${formatInt(s.candidate_count)} ${t('suggestOf')}`,
        s.site_area_m2 ? ` · ${t('suggestSite')} ${formatInt(s.site_area_m2)} m²` : '',
        ` · ${gap}`,
        ` · ${Math.round(a.totalMs)} ms`,
      ),
    );
  }
}

import { api } from '../api/client.ts';
import type { AppContext } from '../context.ts';
import { formatInt, formatShare, label, t } from '../i18n.ts';
import { h, mount } from './dom.ts';
import { describeError } from './errors.ts';

const SCENARIO_PATH = '/api/scenarios/evaluate';

/** The parts of the evaluation answer this panel shows. */
interface ScenarioResult {
  rules: {
    rule_id: string;
    share_before: number | null;
    share_after: number | null;
    newly_covered: number;
    flips?: { community?: { fail_to_pass: number; pass_to_fail: number } };
    marginal: { plan: string; gain: number }[] | null;
  }[];
  plans: { ref: string; name: string; kind: string }[];
}

/**
 * Slot for scenario impact (POST /api/scenarios/evaluate), which another part of the server
 * provides. Whether it exists is read from the OpenAPI document, so an absent endpoint costs
 * no failed request; a 404 on use still shows it as unavailable.
 */
export class ImpactPanel {
  readonly element = h('section', { class: 'panel', id: 'panel-impact' });
  private available: boolean | null = null;
  private result: ScenarioResult | null = null;
  private error: string | null = null;
  private busy = false;

  constructor(private readonly ctx: AppContext) {}

  async load(): Promise<void> {
    if (this.available === null) {
      try {
        this.available = (await api.documentedPaths()).includes(SCENARIO_PATH);
      } catch {
        this.available = false;
      }
    }
    this.render();
  }

  private async evaluate(): Promise<void> {
    this.busy = true;
    this.error = null;
    this.render();
    try {
      const plans = await api.plans();
      if (!plans.length) throw new Error(t('noPlans'));
      this.result = (await api.evaluateScenario({ rule_set: this.ctx.ruleSet().id, plan_ids: plans.slice(0, 50).map((p) => p.id) })) as ScenarioResult;
    } catch (err) {
      const e = err as { status?: number; message?: string };
      // A missing route answers 404 "no route …"; a missing plan is a 404 too, and is an error.
      if (e.status === 404 && /^no route/.test(e.message ?? '')) this.available = false;
      else this.error = describeError(err);
    }
    this.busy = false;
    this.render();
  }

  render(): void {
    const title = h('h3', {}, t('impactTitle'));
    if (this.available === null) return mount(this.element, title, h('p', { class: 'loading' }, t('loading')));
    if (!this.available) return mount(this.element, title, h('p', { class: 'note unavailable', id: 'impact-unavailable' }, t('impactUnavailable')));
    mount(this.element, title,
      h('p', {}, t('impactIntro')),
      h('button', { type: 'button', class: 'primary', disabled: this.busy, onclick: () => void this.evaluate() }, this.busy ? t('loading') : t('impactEvaluate')),
      this.error ? h('p', { class: 'error', role: 'alert' }, this.error) : null,
      this.result ? this.resultTable(this.result) : null);
  }

  private resultTable(r: ScenarioResult): HTMLElement {
    const rs = this.ctx.ruleSet();
    return h('div', {},
      h('table', { class: 'impact', id: 'impact-table' },
        h('thead', {}, h('tr', {}, h('th', {}, t('ruleInForce')), h('th', { class: 'num' }, t('impactBefore')), h('th', { class: 'num' }, t('impactAfter')), h('th', { class: 'num' }, t('impactNewlyCovered')), h('th', { class: 'num' }, t('impactFlips')))),
        h('tbody', {}, r.rules.map((x) => {
          const rule = rs.rules.find((y) => y.id === x.rule_id);
          return h('tr', {},
            h('td', {}, rule ? label(rule) : x.rule_id),
            h('td', { class: 'num' }, formatShare(x.share_before)),
            h('td', { class: 'num' }, formatShare(x.share_after)),
            h('td', { class: 'num' }, formatInt(x.newly_covered)),
            h('td', { class: 'num' }, String(x.flips?.community?.fail_to_pass ?? 0)));
        }))),
      h('div', { class: 'note' }, `${r.plans.length} · ${r.plans.map((p) => p.name).join('、')}`),
      h('details', {}, h('summary', {}, 'JSON'), h('pre', { class: 'impact-result' }, JSON.stringify(r, null, 2))));
  }
}

import { api } from '../api/client.ts';
import type { AreaCoverage, RuleSet } from '../api/types.ts';
import { formatShare, label, t } from '../i18n.ts';
import { badge, h, mount } from './dom.ts';
import { describeError } from './errors.ts';

export interface CitySummaryRow {
  ruleId: string;
  population: number;
  share: number | null;
  straightShare: number | null;
  target: number;
}

/**
 * City-wide, population-weighted coverage per rule from residential-area rows:
 * Σ covered population ÷ Σ population, on the network and in a straight line. O(areas × rules).
 */
export function citySummary(ruleSet: RuleSet, areas: readonly AreaCoverage[]): CitySummaryRow[] {
  return ruleSet.rules.map((rule) => {
    let pop = 0, covered = 0, straight = 0;
    for (const a of areas) {
      const r = a.rules[rule.id];
      if (!r) continue;
      pop += r.population;
      covered += r.covered_population;
      straight += r.straight_covered_population;
    }
    return { ruleId: rule.id, population: pop, share: pop > 0 ? covered / pop : null, straightShare: pop > 0 ? straight / pop : null, target: rule.target_share };
  });
}

const summaries = new Map<string, Promise<{ rows: CitySummaryRow[]; estimated: boolean }>>();

/** City summary of a rule set, fetched once per page (the coverage run does not change under it). */
export function citySummaryWithFlags(ruleSet: RuleSet): Promise<{ rows: CitySummaryRow[]; estimated: boolean }> {
  let p = summaries.get(ruleSet.id);
  if (!p) {
    p = api.coverage(ruleSet.id, 'residential_area').then((cov) => ({ rows: citySummary(ruleSet, cov.areas), estimated: cov.areas.some((a) => a.population_estimated) }));
    p.catch(() => summaries.delete(ruleSet.id));
    summaries.set(ruleSet.id, p);
  }
  return p;
}

export const citySummaryOf = (ruleSet: RuleSet) => citySummaryWithFlags(ruleSet).then((s) => s.rows);

/** The strip over the audit table: one chip per rule, network vs straight line, against the target. */
export class SummaryStrip {
  readonly element = h('div', { class: 'summary-strip', id: 'summary-strip' });
  private key = '';
  private rows: CitySummaryRow[] | null = null;
  private estimated = false;
  private error: string | null = null;

  constructor(private readonly ruleSet: () => RuleSet, private readonly sampleRules: () => ReadonlySet<string>) {}

  async load(): Promise<void> {
    const rs = this.ruleSet();
    if (this.key === rs.id && (this.rows || this.error)) return this.render();
    this.key = rs.id;
    this.rows = null;
    this.error = null;
    this.render();
    try {
      const summary = await citySummaryWithFlags(rs);
      if (this.key !== rs.id) return;
      this.rows = summary.rows;
      this.estimated = summary.estimated;
    } catch (err) {
      this.error = describeError(err);
    }
    this.render();
  }

  render(): void {
    const rs = this.ruleSet();
    const title = h('div', { class: 'strip-title' }, t('citySummary'), this.estimated ? badge(t('estimate'), 'estimate', t('estimate')) : null, h('small', {}, ` · ${t('networkVsStraight')}`));
    if (this.error) return mount(this.element, title, h('p', { class: 'error', role: 'alert' }, this.error));
    if (!this.rows) return mount(this.element, title, h('p', { class: 'loading' }, t('loading')));
    const chips = this.rows.map((row) => {
      const rule = rs.rules.find((r) => r.id === row.ruleId)!;
      const pass = row.share !== null && row.share >= row.target;
      return h('div', { class: `chip ${pass ? 'pass' : 'fail'}`, 'data-rule': row.ruleId },
        h('div', { class: 'chip-name' }, label(rule), this.sampleRules().has(row.ruleId) ? badge(t('sample'), 'sample', t('sampleFacilitiesNote')) : null),
        h('div', { class: 'chip-figures' },
          h('strong', { 'data-field': 'network' }, formatShare(row.share)),
          ' / ',
          h('span', { 'data-field': 'straight' }, formatShare(row.straightShare)),
          h('span', { class: pass ? 'yes' : 'no' }, pass ? ' ✓' : ' ✗')),
        h('div', { class: 'chip-target' }, `${t('target')} ${formatShare(row.target)}`));
    });
    mount(this.element, title, h('div', { class: 'chips' }, chips));
  }
}

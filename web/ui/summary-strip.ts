import { api } from '../api/client.ts';
import type { AreaCoverage, CoverageLevel, NotAssessableRule, RuleSet } from '../api/types.ts';
import { formatShare, label, t, type StringKey } from '../i18n.ts';
import { cityRuleFigures } from '../../geo/city-summary.ts';
import { badge, h, mount } from './dom.ts';
import { describeError } from './errors.ts';

export interface CitySummaryRow {
  ruleId: string;
  population: number;
  share: number | null;
  straightShare: number | null;
  target: number;
  /** Not assessable: no facility of the rule's categories in the data. */
  noData: boolean;
}

type Summary = { rows: CitySummaryRow[]; estimated: boolean; notAssessable: NotAssessableRule[] };

/** "not assessable — no greenway in the data; import a register", in the current language. */
export function notAssessableText(n: NotAssessableRule, categoryLabel: (id: string) => string): string {
  return t('notAssessableMessage').replace('{what}', n.categories.map(categoryLabel).join(' / '));
}

/** City-wide, population-weighted coverage per rule from residential-area rows (`cityRuleFigures`). */
export function citySummary(ruleSet: RuleSet, areas: readonly Pick<AreaCoverage, 'rules'>[]): CitySummaryRow[] {
  return ruleSet.rules.map((rule) => ({
    ruleId: rule.id,
    ...cityRuleFigures(areas, rule.id),
    target: rule.target_share,
  }));
}

const summaries = new Map<string, Promise<Summary>>();

/** City summary of a rule set, fetched once per page (the coverage run does not change under it). */
export function citySummaryWithFlags(ruleSet: RuleSet): Promise<Summary> {
  let p = summaries.get(ruleSet.id);
  if (!p) {
    p = api.coverage(ruleSet.id, 'residential_area').then((cov) => ({
      rows: citySummary(ruleSet, cov.areas),
      estimated: cov.areas.some((a) => a.population_estimated),
      notAssessable: cov.not_assessable ?? [],
    }));
    p.catch(() => summaries.delete(ruleSet.id));
    summaries.set(ruleSet.id, p);
  }
  return p;
}

export const citySummaryOf = (ruleSet: RuleSet) => citySummaryWithFlags(ruleSet).then((s) => s.rows);

/** The areas a place filter keeps, for a summary over them alone. */
export interface SummaryScope {
  /** 区 · 街道 as the reader chose them. */
  label: string;
  /** The level the areas are of (the audit's). */
  level: CoverageLevel;
  areas: readonly (Pick<AreaCoverage, 'rules'> & { populationEstimated: boolean })[];
}

/**
 * The strip over the audit table: one chip per rule, network vs straight line, against the target;
 * city-wide, or over the areas of the 区 / 街道 filter in force (setScope).
 */
export class SummaryStrip {
  readonly element = h('div', { class: 'summary-strip', id: 'summary-strip' });
  private key = '';
  private rows: CitySummaryRow[] | null = null;
  private estimated = false;
  private notAssessable: NotAssessableRule[] = [];
  private error: string | null = null;
  private scope: SummaryScope | null = null;

  constructor(
    private readonly ruleSet: () => RuleSet,
    private readonly sampleRules: () => ReadonlySet<string>,
    private readonly categoryLabel: (id: string) => string = (id) => id,
  ) {}

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
      this.notAssessable = summary.notAssessable;
    } catch (err) {
      this.error = describeError(err);
    }
    this.render();
  }

  /** Summarise only these areas (a place filter), or the whole city again (null). Renders. */
  setScope(scope: SummaryScope | null): void {
    this.scope = scope;
    this.render();
  }

  render(): void {
    const rs = this.ruleSet();
    const scope = this.scope;
    this.element.dataset.scope = scope ? scope.label : '';
    const estimated = scope ? scope.areas.some((a) => a.populationEstimated) : this.estimated;
    const title = h(
      'div',
      { class: 'strip-title' },
      scope
        ? h(
            'span',
            { id: 'summary-scope' },
            t('filteredSummary')
              .replace('{place}', scope.label)
              .replace('{n}', String(scope.areas.length))
              .replace('{level}', t(`level_${scope.level}` as StringKey)),
          )
        : t('citySummary'),
      estimated ? badge(t('estimate'), 'estimate', t('estimate')) : null,
      h('small', {}, ` · ${t('networkVsStraight')}`),
    );
    if (this.error) return mount(this.element, title, h('p', { class: 'error', role: 'alert' }, this.error));
    if (!this.rows) return mount(this.element, title, h('p', { class: 'loading' }, t('loading')));
    const shown = scope ? citySummary(rs, scope.areas) : this.rows;
    const chips = shown.map((row) => {
      const rule = rs.rules.find((r) => r.id === row.ruleId)!;
      const na = this.notAssessable.find((n) => n.rule_id === row.ruleId);
      if (row.noData || na) {
        return h(
          'div',
          { class: 'chip na', 'data-rule': row.ruleId, 'data-outcome': 'no_data' },
          h('div', { class: 'chip-name' }, label(rule)),
          h('div', { class: 'chip-figures' }, h('strong', {}, t('notAssessable'))),
          h('div', { class: 'chip-target' }, na ? notAssessableText(na, this.categoryLabel) : t('outcome_no_data')),
        );
      }
      const pass = row.share !== null && row.share >= row.target;
      return h(
        'div',
        { class: `chip ${pass ? 'pass' : 'fail'}`, 'data-rule': row.ruleId },
        h(
          'div',
          { class: 'chip-name' },
          label(rule),
          this.sampleRules().has(row.ruleId) ? badge(t('sample'), 'sample', t('sampleFacilitiesNote')) : null,
        ),
        h(
          'div',
          { class: 'chip-figures' },
          h('strong', { 'data-field': 'network' }, formatShare(row.share)),
          ' / ',
          h('span', { 'data-field': 'straight' }, formatShare(row.straightShare)),
          h('span', { class: pass ? 'yes' : 'no' }, pass ? ' ✓' : ' ✗'),
        ),
        h('div', { class: 'chip-target' }, `${t('target')} ${formatShare(row.target)}`),
      );
    });
    mount(this.element, title, h('div', { class: 'chips' }, chips));
  }
}

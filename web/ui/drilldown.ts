import type { FeatureCollection, Point } from 'geojson';
import { api, reportUrl } from '../api/client.ts';
import type { Drilldown, DrilldownHistogram, Rule } from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { formatInt, formatShare, hasString, label, t } from '../i18n.ts';
import { showUncovered, type UncoveredProps } from '../layers/drilldown.ts';
import { distanceColor, HIGHLIGHT_COLOR } from '../palette.ts';
import { DISTANCE_CAP_M, ruleForCategory } from '../rules.ts';
import { WORST } from '../state.ts';
import { h, mount } from './dom.ts';
import { describeError } from './errors.ts';

export type DrilldownLevel = 'community' | 'residential_area';

/** What the drill-down is opened on: an area of a level, and the rules it fails (worst first). */
export interface DrilldownTarget {
  level: DrilldownLevel;
  key: string;
  name: string;
  failingRules: string[];
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  ...children: (Node | string)[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

const fill = (template: string, values: Record<string, string | number>) =>
  template.replace(/\{(\w+)\}/g, (_, k: string) => String(values[k] ?? `{${k}}`));

/**
 * The walking-distance histogram as a small SVG: one bar per bin, its height the residents in it,
 * coloured as the streets are at that distance; a line marks the rule's limit. Each bar carries
 * its bin and counts as data attributes (the browser test reads them).
 */
export function histogramSvg(hist: DrilldownHistogram): SVGSVGElement {
  const W = 300,
    H = 120,
    left = 4,
    bottom = 18,
    top = 14;
  const bins = hist.bins ?? [];
  const maxM = bins.length ? (bins[bins.length - 1].to_m ?? 0) : (hist.limit_m ?? 0);
  const maxPop = Math.max(1, ...bins.map((b) => b.population ?? 0));
  const x = (m: number) => left + ((W - 2 * left) * m) / Math.max(1, maxM);
  const y = (p: number) => H - bottom - ((H - bottom - top) * p) / maxPop;
  const limit = hist.limit_m ?? 0;
  const out = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: '100%',
    role: 'img',
    class: 'histogram',
    id: 'drilldown-histogram',
    'aria-label': t('drilldownHistogram'),
  });
  for (const b of bins) {
    const from = b.from_m ?? 0,
      to = b.to_m ?? 0,
      pop = b.population ?? 0;
    const rect = svg(
      'rect',
      {
        x: x(from) + 0.5,
        y: y(pop),
        width: Math.max(0.5, x(to) - x(from) - 1),
        height: Math.max(0, H - bottom - y(pop)),
        fill: distanceColor('distance', (from + to) / 2, limit),
        class: 'bar',
        'data-from-m': from,
        'data-to-m': to,
        'data-origins': b.origins ?? 0,
        'data-population': pop,
      },
      svg('title', {}, `${from}–${to} m: ${formatInt(pop)} (${b.origins ?? 0})`),
    );
    out.append(rect);
  }
  out.append(
    svg('line', { x1: left, x2: W - left, y1: H - bottom, y2: H - bottom, stroke: '#888', 'stroke-width': 1 }),
    svg('line', {
      x1: x(limit),
      x2: x(limit),
      y1: top - 4,
      y2: H - bottom + 3,
      stroke: HIGHLIGHT_COLOR,
      'stroke-width': 2,
      'stroke-dasharray': '3 2',
      class: 'limit',
      'data-limit-m': limit,
    }),
    svg(
      'text',
      { x: Math.min(W - 60, x(limit) + 3), y: top - 3, 'font-size': 10, fill: '#333' },
      `${t('limit')} ${limit} m`,
    ),
    svg('text', { x: left, y: H - 4, 'font-size': 10, fill: '#555' }, '0'),
    svg('text', { x: W - left, y: H - 4, 'font-size': 10, fill: '#555', 'text-anchor': 'end' }, `${maxM} m`),
  );
  return out;
}

/** The plain sentence in the reader's language, from the answer's figures (the API's own is English). */
function sentence(d: Drilldown, rule: Rule): string {
  const name = label(rule);
  if (d.passes === null && d.caveats?.some((c) => c.code === 'no_data')) return t('drilldownNotAssessable');
  const population = d.population ?? 0,
    uncovered = d.uncovered_population ?? 0;
  if (population <= 0) return t('drilldownNoResidents');
  if (!uncovered) return fill(t('drilldownAllCovered'), { population: formatInt(population), rule: name });
  const head = fill(t('drilldownSentence'), {
    uncovered: formatInt(uncovered),
    population: formatInt(population),
    rule: name,
  });
  const nearest = d.nearest_for_uncovered?.[0];
  const tail = nearest
    ? fill(t('drilldownNearest'), { name: nearest.name ?? t('unnamed'), m: formatInt(nearest.median_m ?? 0) })
    : fill(t('drilldownNoneInReach'), { cap: DISTANCE_CAP_M });
  return `${head}${tail}`;
}

function caveatText(code: string, d: Drilldown, fallback: string): string {
  const key = `caveat_${code}`;
  if (!hasString(key)) return fallback;
  const by = d.uncovered_by_outcome ?? {};
  const n = code === 'beyond_cap' ? by.beyond_cap : code === 'no_path' ? by.no_path : undefined;
  return fill(t(key), { n: formatInt(n ?? 0), cap: DISTANCE_CAP_M });
}

/**
 * Why an area fails a rule, in one place: the sentence, the histogram with the limit marked, the
 * network vs straight-line shares, the nearest facility for the uncovered, the caveats, the
 * uncovered homes on the map, and the printable reports.
 */
export class DrilldownCard {
  readonly element = h('section', { class: 'drilldown', id: 'drilldown' });
  private target: DrilldownTarget | null = null;
  private ruleId: string | null = null;
  private answer: Drilldown | null = null;
  private error: string | null = null;
  private seq = 0;

  constructor(
    private readonly ctx: AppContext,
    private readonly onClose: () => void,
  ) {}

  get open(): boolean {
    return this.target !== null;
  }

  /** The rule in force for an area: the one chosen in the header, else the category's, else the area's worst failing rule. */
  private ruleFor(target: DrilldownTarget): string {
    const s = this.ctx.store.get();
    const rs = this.ctx.ruleSet();
    if (s.rule && rs.rules.some((r) => r.id === s.rule)) return s.rule;
    if (s.category !== WORST) {
      const r = ruleForCategory(rs, s.category, s.rule);
      if (r) return r.id;
    }
    return target.failingRules[0] ?? rs.rules[0].id;
  }

  async show(target: DrilldownTarget, ruleId?: string): Promise<void> {
    this.target = target;
    this.ruleId = ruleId ?? this.ruleFor(target);
    this.answer = null;
    this.error = null;
    const seq = ++this.seq;
    this.render();
    try {
      const d = await api.drilldown(target.level, target.key, this.ctx.ruleSet().id, this.ruleId);
      if (seq !== this.seq) return;
      this.answer = d;
      showUncovered(
        this.ctx.map,
        d.uncovered_points as unknown as FeatureCollection<Point, UncoveredProps>,
        d.rule?.limit_m ?? 0,
      );
    } catch (err) {
      if (seq !== this.seq) return;
      this.error = describeError(err);
      showUncovered(this.ctx.map, null, 0);
    }
    this.render();
  }

  close(): void {
    this.seq++;
    this.target = null;
    this.answer = null;
    showUncovered(this.ctx.map, null, 0);
    this.render();
  }

  render(): void {
    const target = this.target;
    if (!target) {
      mount(this.element);
      this.element.hidden = true;
      return;
    }
    this.element.hidden = false;
    const rs = this.ctx.ruleSet();
    const rule = rs.rules.find((r) => r.id === this.ruleId) ?? rs.rules[0];
    const d = this.answer;
    const ruleSelect = h(
      'select',
      {
        id: 'drilldown-rule',
        'aria-label': t('drilldownRule'),
        onchange: (e: Event) => void this.show(target, (e.target as HTMLSelectElement).value),
      },
      rs.rules.map((r) =>
        h(
          'option',
          { value: r.id, selected: r.id === rule.id },
          `${label(r)}${target.failingRules.includes(r.id) ? ' ✗' : ''}`,
        ),
      ),
    );
    const reports = h(
      'div',
      { class: 'reports', id: 'drilldown-reports' },
      h('span', {}, `${t('printReport')}: `),
      target.level === 'community'
        ? [
            h(
              'a',
              {
                href: reportUrl('community', target.key, rs.id, 'html'),
                target: '_blank',
                rel: 'noopener',
                'data-report': 'community-html',
              },
              `${t('reportCommunity')} (HTML)`,
            ),
            h(
              'a',
              { href: reportUrl('community', target.key, rs.id, 'pdf'), download: '', 'data-report': 'community-pdf' },
              'PDF',
            ),
          ]
        : null,
      h(
        'a',
        {
          href: reportUrl('city', 'all', rs.id, 'html'),
          target: '_blank',
          rel: 'noopener',
          'data-report': 'city-html',
        },
        `${t('reportCity')} (HTML)`,
      ),
      h('a', { href: reportUrl('city', 'all', rs.id, 'pdf'), download: '', 'data-report': 'city-pdf' }, 'PDF'),
    );

    let body: Node[];
    if (this.error) body = [h('p', { class: 'error', role: 'alert' }, this.error)];
    else if (!d) body = [h('p', { class: 'loading' }, t('loading'))];
    else {
      const hist = d.histogram;
      const by = d.uncovered_by_outcome ?? {};
      const points = (d.uncovered_points as unknown as FeatureCollection | undefined)?.features.length ?? 0;
      body = [
        h('p', { class: 'sentence', id: 'drilldown-sentence', 'data-sentence-en': d.sentence }, sentence(d, rule)),
        h(
          'div',
          { class: 'shares', id: 'drilldown-shares' },
          fill(t('drilldownShares'), {
            net: formatShare(d.share ?? null),
            straight: formatShare(d.straight_share ?? null),
            target: formatShare(rule.target_share),
          }),
        ),
        (d.straight_share ?? 0) > (d.share ?? 0) + 0.005
          ? h('div', { class: 'note' }, t('drilldownStraightGap'))
          : null,
        h('h4', {}, t('drilldownHistogram')),
        histogramSvg(hist),
        h('div', { class: 'note' }, t('drilldownHistogramNote')),
        (by.beyond_cap ?? 0) + (by.no_path ?? 0) > 0
          ? h(
              'div',
              { class: 'note' },
              fill(t('drilldownOutcomes'), {
                beyond: formatInt(by.beyond_cap ?? 0),
                nopath: formatInt(by.no_path ?? 0),
              }),
            )
          : null,
        d.nearest_for_uncovered?.length
          ? [
              h('h4', {}, t('drilldownNearestTitle')),
              h(
                'ol',
                { class: 'nearest', id: 'drilldown-nearest' },
                d.nearest_for_uncovered.map((f) =>
                  h(
                    'li',
                    { 'data-facility': f.facility_id ?? '' },
                    h('strong', {}, f.name ?? t('unnamed')),
                    f.is_sample ? ` (${t('sample')})` : '',
                    ' · ',
                    fill(t('drilldownNearestRow'), {
                      pop: formatInt(f.population ?? 0),
                      m: formatInt(f.median_m ?? 0),
                    }),
                  ),
                ),
              ),
            ]
          : null,
        d.caveats?.length
          ? [
              h('h4', {}, t('drilldownCaveats')),
              h(
                'ul',
                { class: 'caveats', id: 'drilldown-caveats' },
                d.caveats.map((c) =>
                  h('li', { 'data-code': c.code ?? '' }, caveatText(c.code ?? '', d, c.message ?? '')),
                ),
              ),
            ]
          : null,
        h(
          'div',
          { class: 'note', id: 'drilldown-dots', 'data-points': String(points) },
          t('drilldownDots'),
          d.points_truncated ? ` ${fill(t('drilldownDotsTruncated'), { n: formatInt(points) })}` : '',
        ),
      ]
        .flat()
        .filter((x): x is NonNullable<typeof x> => x !== null);
    }
    mount(
      this.element,
      h(
        'div',
        { class: 'drilldown-head' },
        h('h3', {}, `${t('drilldownTitle')} · ${target.name}`),
        h(
          'button',
          {
            type: 'button',
            class: 'close',
            id: 'drilldown-close',
            'aria-label': t('drilldownClose'),
            onclick: () => {
              this.close();
              this.onClose();
            },
          },
          '×',
        ),
      ),
      h('label', {}, `${t('drilldownRule')} `, ruleSelect),
      body,
      reports,
    );
  }
}

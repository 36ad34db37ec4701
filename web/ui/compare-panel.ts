import { Popup, type MapLayerMouseEvent } from 'maplibre-gl';
import { api } from '../api/client.ts';
import type { CompareGeoJson } from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { formatInt, getLang, label, t } from '../i18n.ts';
import { COMPARE_FILL, showCompare } from '../layers/compare.ts';
import { NO_CHANGE_BELOW } from '../palette.ts';
import { ruleForCategory } from '../rules.ts';
import { RUN_OR_DATASET, WORST } from '../state.ts';
import { describeError } from './errors.ts';
import { badge, h, mount } from './dom.ts';
import type { Panel } from './sidebar.ts';

type CompareRow = CompareGeoJson['features'][number]['properties']['rules'][string];

/** A 0–1 share as a percentage with one decimal ('—' for none). */
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
/** A share change in percentage points, signed. */
const pp = (x: number | null) =>
  x === null
    ? '—'
    : `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x * 100).toFixed(1)} ${getLang() === 'zh' ? '个百分点' : 'pp'}`;
const signedInt = (x: number | null) =>
  x === null ? '—' : `${x > 0 ? '+' : x < 0 ? '−' : '±'}${formatInt(Math.abs(x))}`;

/**
 * The compare tab: two coverage runs (two datasets, two vintages, or before/after an import) side by
 * side. The map colours each area by the change of its share for one rule (GET /api/compare with
 * the areas' geometry); a click on an area shows its figures before and after. Before, after and the
 * rule are kept in the URL hash (cfrom, cto, crule).
 */
export class ComparePanel implements Panel {
  readonly element = h('div', { class: 'compare-panel', id: 'compare-panel' });
  private answer: CompareGeoJson | null = null;
  private error: string | null = null;
  private loading = false;
  private open = false;
  private seq = 0;
  private popup: Popup | null = null;

  constructor(private readonly ctx: AppContext) {
    ctx.map.on('click', COMPARE_FILL, (e: MapLayerMouseEvent) => {
      if (ctx.drawing || ctx.store.get().tab !== 'compare') return;
      const key = e.features?.[0]?.properties?.area_key;
      if (key !== undefined) this.areaPopup(String(key), e.lngLat);
    });
    ctx.map.on('mouseenter', COMPARE_FILL, () => {
      if (!ctx.drawing) ctx.map.getCanvas().style.cursor = 'pointer';
    });
    ctx.map.on('mouseleave', COMPARE_FILL, () => {
      if (!ctx.drawing) ctx.map.getCanvas().style.removeProperty('cursor');
    });
    ctx.store.subscribe((s, prev) => {
      if (!this.open) return;
      const ruleChanged = s.compareRule !== prev.compareRule || s.category !== prev.category || s.rule !== prev.rule;
      if (ruleChanged || s.lang !== prev.lang) {
        this.popup?.remove();
        this.draw();
        this.render();
      }
    });
    this.render();
  }

  /** The rule whose change is shown: the one chosen here, else the rule judging the header's category. */
  ruleId(): string | null {
    const s = this.ctx.store.get();
    const rs = this.ctx.ruleSet();
    if (s.compareRule && rs.rules.some((r) => r.id === s.compareRule)) return s.compareRule;
    const byCategory = s.category === WORST ? null : ruleForCategory(rs, s.category, s.rule);
    return byCategory?.id ?? rs.rules[0]?.id ?? null;
  }

  /** The tab is shown, or the rule set or level changed under it: ask for the comparison. */
  async load(): Promise<void> {
    this.open = true;
    const s = this.ctx.store.get();
    if (!s.compareFrom || !s.compareTo) {
      this.answer = null;
      this.draw();
      this.render();
      return;
    }
    const seq = ++this.seq;
    this.loading = true;
    this.error = null;
    this.render();
    try {
      const answer = await api.compareGeoJson(s.compareFrom, s.compareTo, this.ctx.ruleSet().id, s.level);
      if (seq !== this.seq) return;
      this.answer = answer;
    } catch (err) {
      if (seq !== this.seq) return;
      this.answer = null;
      this.error = describeError(err);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
    if (!this.open) return;
    this.draw();
    this.render();
  }

  close(): void {
    this.open = false;
    this.seq++;
    this.popup?.remove();
    showCompare(this.ctx.map, null, null, () => '');
    this.ctx.compare = null;
    this.ctx.refreshLegend();
  }

  /** What the legend needs: the unit (residents or residential land) and the caveats of the inputs. */
  private draw(): void {
    const ruleId = this.ruleId();
    showCompare(this.ctx.map, this.open ? this.answer : null, ruleId, (side) =>
      t(side === 'from_only' ? 'compareFromOnly' : 'compareToOnly'),
    );
    const a = this.answer;
    if (!this.open || !a || !ruleId) this.ctx.compare = null;
    else {
      const rows = a.features.map((f) => f.properties.rules[ruleId]).filter(Boolean);
      this.ctx.compare = {
        measure: rows[0]?.measure ?? 'population',
        sample: this.isSample(a.properties.from.dataset) || this.isSample(a.properties.to.dataset),
        estimated: a.features.some(
          (f) => f.properties.population_estimated_before || f.properties.population_estimated_after,
        ),
      };
    }
    this.ctx.refreshLegend();
  }

  private isSample(dataset: string): boolean {
    return this.ctx.datasets.find((d) => d.name === dataset)?.provenance.is_sample ?? false;
  }

  private submit(form: HTMLFormElement): void {
    const from = (form.elements.namedItem('compare-from') as HTMLInputElement).value.trim();
    const to = (form.elements.namedItem('compare-to') as HTMLInputElement).value.trim();
    if (!RUN_OR_DATASET.test(from) || !RUN_OR_DATASET.test(to)) {
      this.error = t('compareNeedBoth');
      this.render();
      return;
    }
    this.ctx.store.set({ compareFrom: from, compareTo: to });
    void this.load();
  }

  render(): void {
    const s = this.ctx.store.get();
    const rs = this.ctx.ruleSet();
    const ruleId = this.ruleId();
    const shown = s.dataset ?? this.ctx.datasets.find((d) => d.is_default)?.name ?? '';
    const names = h(
      'datalist',
      { id: 'compare-datasets' },
      this.ctx.datasets.map((d) =>
        h('option', { value: d.name }, d.provenance.is_sample ? `${d.name} (${t('sample')})` : d.name),
      ),
    );
    const input = (name: 'compare-from' | 'compare-to', value: string) =>
      h('input', {
        id: name,
        name,
        type: 'text',
        list: 'compare-datasets',
        value,
        required: true,
        placeholder: t('compareHint'),
        autocomplete: 'off',
      });
    const form = h(
      'form',
      {
        class: 'compare-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          this.submit(e.target as HTMLFormElement);
        },
      },
      names,
      h('label', {}, h('span', {}, t('compareFrom')), input('compare-from', s.compareFrom ?? '')),
      h('label', {}, h('span', {}, t('compareTo')), input('compare-to', s.compareTo ?? shown)),
      h(
        'label',
        {},
        h('span', {}, t('rule')),
        h(
          'select',
          {
            id: 'compare-rule',
            onchange: (e: Event) => this.ctx.store.set({ compareRule: (e.target as HTMLSelectElement).value }),
          },
          rs.rules.map((r) => h('option', { value: r.id, selected: r.id === ruleId }, label(r))),
        ),
      ),
      h('button', { type: 'submit', id: 'compare-go' }, t('compareGo')),
      h('div', { class: 'note' }, t('compareHint')),
    );
    mount(
      this.element,
      form,
      this.loading ? h('p', { class: 'loading' }, t('loading')) : null,
      this.error ? h('p', { class: 'error', role: 'alert' }, this.error) : null,
      this.answer && ruleId ? this.summary(this.answer, ruleId) : null,
    );
  }

  /** Which runs, how many areas gained and lost, and the net change in residents within reach. */
  private summary(a: CompareGeoJson, ruleId: string): HTMLElement {
    const rows = a.features.map((f) => ({ side: f.properties.side, row: f.properties.rules[ruleId] }));
    let gain = 0,
      loss = 0,
      same = 0,
      side = 0,
      net = 0;
    for (const { side: sd, row } of rows) {
      if (sd !== 'both') side++;
      else if (!row || row.share_change === null || Math.abs(row.share_change) < NO_CHANGE_BELOW) same++;
      else if (row.share_change > 0) gain++;
      else loss++;
      if (row?.covered_change !== null && row?.covered_change !== undefined) net += row.covered_change;
    }
    const land = rows.find((r) => r.row)?.row?.measure === 'residential_land_area';
    const sideText = (x: CompareGeoJson['properties']['from']) =>
      h(
        'span',
        {},
        `${x.dataset} · ${t('compareRun')} ${x.run_id}`,
        this.isSample(x.dataset) ? badge(t('sample'), 'sample') : null,
      );
    return h(
      'div',
      { class: 'compare-summary', id: 'compare-summary' },
      h('div', {}, h('strong', {}, `${t('compareFrom')}: `), sideText(a.properties.from)),
      h('div', {}, h('strong', {}, `${t('compareTo')}: `), sideText(a.properties.to)),
      h(
        'p',
        { id: 'compare-counts', 'data-gain': gain, 'data-loss': loss, 'data-same': same, 'data-side': side },
        t('compareCounts')
          .replace('{gain}', String(gain))
          .replace('{loss}', String(loss))
          .replace('{same}', String(same))
          .replace('{side}', String(side)),
      ),
      h(
        'p',
        { id: 'compare-net', 'data-value': String(net) },
        `${t('compareNet')} · ${land ? t('compareCoveredLand') : t('compareCoveredPopulation')}: ${signedInt(net)}${land ? ' m²' : ''}`,
      ),
      h('div', { class: 'note' }, t('compareClickHint')),
      h('div', { class: 'note' }, t('compareKeyNote')),
    );
  }

  /** Before → after of one area for the rule shown: share, residents (or land) within reach, residents. */
  private areaPopup(key: string, at: { lng: number; lat: number }): void {
    const ruleId = this.ruleId();
    const area = this.answer?.features.find((f) => f.properties.area_key === key)?.properties;
    if (!area || !ruleId) return;
    const row: CompareRow | undefined = area.rules[ruleId];
    const rule = this.ctx.ruleSet().rules.find((r) => r.id === ruleId);
    const land = row?.measure === 'residential_land_area';
    const unit = land ? ' m²' : '';
    const num = (x: number | null) => (x === null ? '—' : `${formatInt(x)}${unit}`);
    const cell = (field: keyof CompareRow, text: string) =>
      h('td', { class: 'num', 'data-field': field, 'data-value': String(row?.[field] ?? null) }, text);
    const estimated = area.population_estimated_before || area.population_estimated_after;
    const content = h(
      'div',
      { class: 'compare-popup', id: 'compare-popup', 'data-area-key': key, 'data-rule': ruleId },
      h(
        'div',
        { class: 'popup-title' },
        area.area_name ?? `${t('unnamed')} ${key}`,
        area.is_approximate ? badge(t('approximate'), 'approx') : null,
        estimated ? badge(t('estimate'), 'estimate', t('compareEstimated')) : null,
      ),
      h('div', { class: 'note' }, rule ? label(rule) : ruleId),
      area.side !== 'both'
        ? h(
            'div',
            { class: 'note', 'data-side': area.side },
            t(area.side === 'from_only' ? 'compareFromOnly' : 'compareToOnly'),
          )
        : null,
      row
        ? h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, ''),
                h('th', {}, t('compareFrom')),
                h('th', {}, t('compareTo')),
                h('th', {}, 'Δ'),
              ),
            ),
            h(
              'tbody',
              {},
              h(
                'tr',
                {},
                h('th', {}, t('compareShare')),
                cell('share_before', pct(row.share_before)),
                cell('share_after', pct(row.share_after)),
                cell('share_change', pp(row.share_change)),
              ),
              h(
                'tr',
                {},
                h('th', {}, land ? t('compareCoveredLand') : t('compareCoveredPopulation')),
                cell('covered_before', num(row.covered_before)),
                cell('covered_after', num(row.covered_after)),
                cell(
                  'covered_change',
                  row.covered_change === null
                    ? '—'
                    : `${signedInt(row.covered_change)}${unit} ${row.covered_change > 0 ? t('compareGained') : row.covered_change < 0 ? t('compareLost') : ''}`.trim(),
                ),
              ),
              h(
                'tr',
                {},
                h('th', {}, land ? t('compareLand') : t('comparePopulation')),
                cell('population_before', num(row.population_before)),
                cell('population_after', num(row.population_after)),
                h('td', {}, ''),
              ),
            ),
          )
        : null,
    );
    this.popup?.remove();
    this.popup = new Popup({ closeButton: true, maxWidth: '340px' })
      .setLngLat(at)
      .setDOMContent(content)
      .addTo(this.ctx.map);
  }
}

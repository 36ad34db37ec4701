import type { LngLatBoundsLike, MapMouseEvent, PointLike } from 'maplibre-gl';
import type { Feature, Position } from 'geojson';
import { api, exportUrl } from '../api/client.ts';
import type {
  AuditArea,
  AuditLevel,
  AreaCoverage,
  CoverageGeoJson,
  CoverageLevel,
  NotAssessableRule,
  Rule,
} from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { formatInt, formatShare, label, t, type StringKey } from '../i18n.ts';
import { showHighlight } from '../layers/highlight.ts';
import { badge, h, mount } from './dom.ts';
import { describeError } from './errors.ts';
import { notAssessableText, SummaryStrip } from './summary-strip.ts';
import { DrilldownCard } from './drilldown.ts';
import { areaFillLayer } from '../layers/areas.ts';

/** The key of the area of the level in force drawn under a map point (null: none). */
export function auditAreaAt(ctx: AppContext, point: PointLike): string | null {
  const { level } = ctx.store.get();
  if (level !== 'community' && level !== 'residential_area') return null;
  const layer = areaFillLayer(level);
  if (!ctx.map.getLayer(layer)) return null;
  const f = ctx.map.queryRenderedFeatures(point, { layers: [layer] })[0];
  return f ? String(f.properties.id ?? f.id) : null;
}

type SortKey = 'name' | 'population' | 'notCovered' | `rule:${string}`;

interface Row {
  key: string;
  name: string;
  population: number;
  populationEstimated: boolean;
  approximate: boolean;
  sampleDependent: boolean;
  edgeOfData: boolean;
  failing: boolean;
  notCovered: number;
  street: string | null;
  district: string | null;
  rules: AreaCoverage['rules'];
}

/** The distinct non-empty values of a field over the rows, sorted as Chinese readers expect. */
function choices(rows: readonly Row[], field: 'street' | 'district'): string[] {
  return [...new Set(rows.map((r) => r[field]).filter((v): v is string => Boolean(v)))].sort((a, b) =>
    a.localeCompare(b, 'zh-CN'),
  );
}

const AUDIT_LEVELS: readonly CoverageLevel[] = ['community', 'residential_area'];

/** Residents not covered as the audit counts them: the largest gap over the failed, assessable rules. */
function notCoveredOf(a: AreaCoverage): { failing: boolean; notCovered: number } {
  let failing = false,
    notCovered = 0;
  for (const r of Object.values(a.rules)) {
    if (r.passes || r.no_data || r.population <= 0) continue;
    failing = true;
    notCovered = Math.max(notCovered, Math.round(r.population - r.covered_population));
  }
  return { failing, notCovered };
}

/** Bounding box of any GeoJSON geometry's positions, [[w, s], [e, n]]. */
export function bboxOf(coords: unknown): [[number, number], [number, number]] | null {
  let w = Infinity,
    s = Infinity,
    e = -Infinity,
    n = -Infinity;
  const walk = (c: unknown): void => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') {
      const [x, y] = c as Position;
      w = Math.min(w, x);
      e = Math.max(e, x);
      s = Math.min(s, y);
      n = Math.max(n, y);
    } else for (const x of c) walk(x);
  };
  walk(coords);
  return Number.isFinite(w)
    ? [
        [w, s],
        [e, n],
      ]
    : null;
}

/**
 * The audit view: every area of a level with population, covered share per rule (network and
 * straight line), pass/fail and residents not covered; sortable, filterable to failing areas;
 * a row click zooms to the area and outlines it.
 */
export class AuditPanel {
  readonly element = h('section', { class: 'panel', id: 'panel-audit' });
  private readonly strip: SummaryStrip;
  private key = '';
  private rows: Row[] | null = null;
  private error: string | null = null;
  private failingOnly = false;
  private sort: { key: SortKey; desc: boolean } = { key: 'notCovered', desc: true };
  /** The selected row's key restored from a shared link, zoomed to once the rows are in. */
  private pendingRow: string | null;
  private readonly geometries = new Map<string, Promise<CoverageGeoJson>>();
  private sampleRules = new Set<string>();
  private notAssessable: NotAssessableRule[] = [];

  /** Why the selected area fails (community and residential-area levels). */
  private readonly drilldown: DrilldownCard;

  constructor(private readonly ctx: AppContext) {
    this.drilldown = new DrilldownCard(ctx, () => {
      this.ctx.store.set({ row: null });
      showHighlight(ctx.map, null);
      this.render();
    });
    // In the audit tab a click on an area opens its row and drill-down (elsewhere: a point query).
    ctx.map.on('click', (e: MapMouseEvent) => {
      if (ctx.drawing || ctx.store.get().tab !== 'audit' || !this.rows) return;
      const key = auditAreaAt(ctx, e.point);
      const row = key === null ? undefined : this.rows.find((r) => r.key === key);
      if (row) void this.zoomTo(row);
    });
    this.pendingRow = ctx.store.get().row ?? null;
    this.strip = new SummaryStrip(
      () => ctx.ruleSet(),
      () => this.sampleRules,
      (id) => {
        const c = ctx.category(id);
        return c ? label(c) : id;
      },
    );
  }

  /** Filters by 区 and 街道 ('' = all), offered where community or district boundaries name them; kept in the URL hash. */
  private get district(): string {
    return this.ctx.store.get().district ?? '';
  }

  private get street(): string {
    return this.ctx.store.get().street ?? '';
  }

  /** The selected row (area key), kept in the URL hash. */
  private get selected(): string | null {
    return this.ctx.store.get().row ?? null;
  }

  /** The rows the filters let through (all, before the rows are in). */
  private inPlace(rows: readonly Row[]): Row[] {
    const { district, street } = this;
    return rows.filter((r) => (!district || r.district === district) && (!street || r.street === street));
  }

  /**
   * What the map should set off for the filters in force: the keys of the areas they keep (at the
   * community and residential-area levels), or the district/street names communities must carry
   * (at the street and district levels); null when no filter is in force or the rows are not in.
   */
  mapFocus(): { keys: string[] } | { district: string; street: string } | null {
    if (!this.rows || (!this.district && !this.street)) return null;
    const { level } = this.ctx.store.get();
    if (level === 'community' || level === 'residential_area')
      return { keys: this.inPlace(this.rows).map((r) => r.key) };
    return { district: this.district, street: this.street };
  }

  /** Fetch coverage (and the audit, for its caveats) of the current rule set and level when they changed. */
  async load(): Promise<void> {
    const { level } = this.ctx.store.get();
    const rs = this.ctx.ruleSet();
    const key = `${rs.id}|${level}`;
    if (key === this.key && (this.rows || this.error)) {
      this.render();
      return;
    }
    this.key = key;
    this.rows = null;
    this.drilldown.close();
    this.error = null;
    this.render();
    try {
      const [cov, audit] = await Promise.all([
        api.coverage(rs.id, level),
        AUDIT_LEVELS.includes(level) ? api.audit(rs.id, level as AuditLevel) : Promise.resolve(null),
      ]);
      if (key !== this.key) return;
      const audited = new Map<string, AuditArea>((audit?.areas ?? []).map((a) => [a.area_key, a]));
      this.notAssessable = cov.not_assessable ?? [];
      this.sampleRules = new Set(
        (audit?.areas ?? []).flatMap((a) =>
          a.failed_rules.filter((f) => f.depends_on_sample_facilities).map((f) => f.rule_id),
        ),
      );
      this.rows = cov.areas.map((a) => {
        const au = audited.get(a.area_key);
        const own = notCoveredOf(a);
        return {
          key: a.area_key,
          name: a.area_name ?? a.area_key,
          population: a.population,
          populationEstimated: a.population_estimated,
          approximate: a.is_approximate,
          sampleDependent: au ? au.caveats.includes('sample_facilities') : false,
          edgeOfData: au ? au.caveats.includes('edge_of_data') : false,
          // The audit endpoint is the authority on failing areas where it exists (it also lists
          // zones no resident lives in, which fail no rule).
          failing: audit ? Boolean(au?.failed_rules.length) : own.failing,
          notCovered: au ? au.residents_not_covered : own.failing ? own.notCovered : 0,
          street: a.street,
          district: a.district,
          rules: a.rules,
        };
      });
      // every named zone is listed: those no resident lives in come from the audit alone, with 0
      const covered = new Set(cov.areas.map((a) => a.area_key));
      for (const au of audit?.areas ?? []) {
        if (covered.has(au.area_key)) continue;
        this.rows.push({
          key: au.area_key,
          name: au.area_name ?? au.area_key,
          population: au.population,
          populationEstimated: false,
          approximate: au.caveats.includes('approximate_zone'),
          sampleDependent: au.caveats.includes('sample_facilities'),
          edgeOfData: au.caveats.includes('edge_of_data'),
          failing: au.failed_rules.length > 0,
          notCovered: au.residents_not_covered,
          street: au.street,
          district: au.district,
          rules: {},
        });
      }
    } catch (err) {
      if (key !== this.key) return;
      this.error = describeError(err);
    }
    this.render();
    void this.strip.load();
    this.ctx.refreshMap();
    // a row named by a shared link: zoom to it and outline it, once
    const pending = this.pendingRow;
    this.pendingRow = null;
    const row = pending ? this.rows?.find((r) => r.key === pending) : undefined;
    if (row) void this.zoomTo(row);
  }

  /** The rows a street may be chosen among: those of the chosen district. */
  private streetRows(): Row[] {
    const rows = this.rows ?? [];
    return this.district ? rows.filter((r) => r.district === this.district) : rows;
  }

  /**
   * A select of the districts (or streets of the chosen district) the rows lie in. Disabled, with
   * the reason, when no boundary names any.
   */
  private placeFilter(field: 'district' | 'street'): HTMLElement {
    const values = choices(field === 'street' ? this.streetRows() : (this.rows ?? []), field);
    const current = field === 'district' ? this.district : this.street;
    return h(
      'label',
      { class: 'place-filter', title: values.length ? undefined : t('placeFilterNone') },
      `${t(field === 'district' ? 'filterDistrict' : 'filterStreet')} `,
      h(
        'select',
        {
          id: `audit-${field}`,
          disabled: !values.length,
          onchange: (e: Event) => {
            const value = (e.target as HTMLSelectElement).value;
            // a new district resets the street (it lies in one district); the map and strip follow
            this.ctx.store.set(field === 'district' ? { district: value, street: '' } : { street: value });
            this.render();
            this.ctx.refreshMap();
          },
        },
        h('option', { value: '', selected: !current }, t('all')),
        values.map((v) => h('option', { value: v, selected: v === current }, v)),
      ),
    );
  }

  private sorted(rows: Row[]): Row[] {
    const { key, desc } = this.sort;
    const value = (r: Row): number | string => {
      if (key === 'name') return r.name;
      if (key === 'population') return r.population;
      if (key === 'notCovered') return r.notCovered;
      return r.rules[key.slice(5)]?.share ?? -1;
    };
    const sign = desc ? -1 : 1;
    return [...rows].sort((a, b) => {
      const va = value(a),
        vb = value(b);
      const cmp = typeof va === 'string' ? va.localeCompare(vb as string, 'zh-CN') : va - (vb as number);
      return sign * cmp || a.key.localeCompare(b.key);
    });
  }

  private header(text: string | Node, key: SortKey, cls?: string): HTMLTableCellElement {
    const active = this.sort.key === key;
    return h(
      'th',
      {
        class: [cls, 'sortable', active ? 'sorted' : ''].filter(Boolean).join(' '),
        'data-sort': key,
        'aria-sort': active ? (this.sort.desc ? 'descending' : 'ascending') : 'none',
        onclick: () => {
          this.sort = { key, desc: active ? !this.sort.desc : key !== 'name' };
          this.render();
        },
      },
      text,
      active ? (this.sort.desc ? ' ▼' : ' ▲') : '',
    );
  }

  /** Leaving the tab takes the drill-down's dots off the map. */
  close(): void {
    this.drilldown.close();
    showHighlight(this.ctx.map, null);
  }

  private async zoomTo(row: Row): Promise<void> {
    this.ctx.store.set({ row: row.key });
    this.render();
    const { level } = this.ctx.store.get();
    if (level === 'community' || level === 'residential_area') {
      // the rules it fails, the largest gap first
      const failing = Object.entries(row.rules)
        .filter(([, r]) => !r.passes && !r.no_data && r.population > 0)
        .sort((a, b) => b[1].population - b[1].covered_population - (a[1].population - a[1].covered_population))
        .map(([id]) => id);
      void this.drilldown.show({ level, key: row.key, name: row.name, failingRules: failing });
    }
    this.render();
    let pending = this.geometries.get(level);
    if (!pending) {
      pending = api.coverageGeoJson(this.ctx.ruleSet().id, level);
      this.geometries.set(level, pending);
      pending.catch(() => this.geometries.delete(level));
    }
    try {
      const fc = await pending;
      const f = fc.features.find((x) => String(x.id ?? x.properties.area_key) === row.key);
      if (!f?.geometry || this.selected !== row.key) return;
      const box = bboxOf(f.geometry.coordinates);
      if (box) this.ctx.map.fitBounds(box as LngLatBoundsLike, { padding: 48, maxZoom: 16.5, duration: 600 });
      showHighlight(this.ctx.map, { type: 'Feature', geometry: f.geometry, properties: { key: row.key } } as Feature);
    } catch (err) {
      this.error = describeError(err);
      this.render();
    }
  }

  private ruleCell(row: Row, rule: Rule): HTMLTableCellElement {
    const r = row.rules[rule.id];
    if (!r) return h('td', { class: 'num' }, '—');
    if (r.no_data)
      return h(
        'td',
        { class: 'num na', 'data-rule': rule.id, 'data-outcome': 'no_data', title: t('outcome_no_data') },
        t('notAssessable'),
      );
    return h(
      'td',
      { class: `num ${r.passes ? 'pass' : 'fail'}`, 'data-rule': rule.id },
      h('span', { class: r.passes ? 'yes' : 'no' }, r.passes ? '✓ ' : '✗ '),
      h('strong', {}, formatShare(r.share)),
      h('small', { class: 'straight', title: t('straight') }, ` / ${formatShare(r.straight_share)}`),
    );
  }

  render(): void {
    const s = this.ctx.store.get();
    const rs = this.ctx.ruleSet();
    // a filter the rows (of this level, rule set or district) cannot meet is dropped
    if (this.rows && this.district && !choices(this.rows, 'district').includes(this.district))
      this.ctx.store.set({ district: '', street: '' });
    if (this.rows && this.street && !choices(this.streetRows(), 'street').includes(this.street))
      this.ctx.store.set({ street: '' });
    const filters = { district: this.district, street: this.street };
    this.strip.setScope(
      this.rows && (filters.district || filters.street)
        ? {
            label: [filters.district, filters.street].filter(Boolean).join(' · '),
            areas: this.inPlace(this.rows),
            level: s.level,
          }
        : null,
    );
    const controls = h(
      'div',
      { class: 'audit-controls' },
      h(
        'label',
        { class: 'toggle' },
        h('input', {
          type: 'checkbox',
          id: 'failing-only',
          checked: this.failingOnly,
          onchange: (e: Event) => {
            this.failingOnly = (e.target as HTMLInputElement).checked;
            this.render();
          },
        }),
        t('failingOnly'),
      ),
      this.placeFilter('district'),
      this.placeFilter('street'),
      h('span', { class: 'level-name' }, t(`level_${s.level}` as StringKey)),
    );
    const exports = h(
      'div',
      { class: 'exports' },
      h('span', {}, `${t('export')}: `),
      AUDIT_LEVELS.includes(s.level)
        ? [
            h(
              'a',
              { id: 'export-audit-csv', href: exportUrl('audit', rs.id, s.level, 'csv', filters), download: '' },
              t('auditCsv'),
            ),
            h(
              'a',
              {
                id: 'export-audit-geojson',
                href: exportUrl('audit', rs.id, s.level, 'geojson', filters),
                download: '',
              },
              t('auditGeoJson'),
            ),
          ]
        : null,
      h(
        'a',
        { id: 'export-coverage-csv', href: exportUrl('coverage', rs.id, s.level, 'csv', filters), download: '' },
        t('coverageCsv'),
      ),
      h(
        'a',
        {
          id: 'export-coverage-geojson',
          href: exportUrl('coverage', rs.id, s.level, 'geojson', filters),
          download: '',
        },
        t('coverageGeoJson'),
      ),
      filters.district || filters.street
        ? h(
            'small',
            { class: 'export-filters', id: 'export-filters' },
            ` · ${t('exportFiltered')}: ${[filters.district, filters.street].filter(Boolean).join(' · ')}`,
          )
        : null,
    );

    let body: Node;
    if (this.error) body = h('p', { class: 'error', role: 'alert' }, this.error);
    else if (!this.rows) body = h('p', { class: 'loading' }, t('loading'));
    else {
      const rows = this.sorted(this.inPlace(this.rows).filter((r) => !this.failingOnly || r.failing));
      body = h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'audit', id: 'audit-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              this.header(t('name'), 'name'),
              this.header(t('population'), 'population', 'num'),
              this.header(t('notCovered'), 'notCovered', 'num'),
              rs.rules.map((rule) =>
                this.header(
                  h(
                    'span',
                    { title: `${label(rule)} · ${t('target')} ${formatShare(rule.target_share)}` },
                    label(rule),
                    this.sampleRules.has(rule.id) ? badge(t('sample'), 'sample', t('sampleFacilitiesNote')) : null,
                  ),
                  `rule:${rule.id}`,
                  'num',
                ),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            rows.length
              ? rows.map((row) =>
                  h(
                    'tr',
                    {
                      'data-area-key': row.key,
                      'data-failing': String(row.failing),
                      class: row.key === this.selected ? 'selected' : undefined,
                      tabindex: 0,
                      onclick: () => void this.zoomTo(row),
                      onkeydown: (e: Event) => {
                        if ((e as KeyboardEvent).key === 'Enter') void this.zoomTo(row);
                      },
                    },
                    h(
                      'td',
                      { class: 'name' },
                      row.name,
                      row.approximate ? badge(t('approximate'), 'approx') : null,
                      row.sampleDependent ? badge(t('sample'), 'sample', t('sampleFacilitiesNote')) : null,
                      row.edgeOfData ? badge(t('edgeOfData'), 'edge', t('edgeOfDataNote')) : null,
                    ),
                    h(
                      'td',
                      { class: 'num' },
                      formatInt(row.population),
                      row.populationEstimated ? badge(t('estimate'), 'estimate') : null,
                    ),
                    h(
                      'td',
                      { class: 'num', 'data-field': 'not-covered' },
                      row.failing ? formatInt(row.notCovered) : '0',
                    ),
                    rs.rules.map((rule) => this.ruleCell(row, rule)),
                  ),
                )
              : h('tr', {}, h('td', { colspan: rs.rules.length + 3 }, t('noRows'))),
          ),
        ),
        h('div', { class: 'note' }, `${rows.length} ${t('rows')} · ${t('sortHint')} · ${t('straightGap')}`),
      );
    }
    const categoryLabel = (id: string) => {
      const c = this.ctx.category(id);
      return c ? label(c) : id;
    };
    const notAssessable = this.notAssessable.length
      ? h(
          'ul',
          { class: 'not-assessable', id: 'not-assessable' },
          this.notAssessable.map((n) => {
            const rule = rs.rules.find((r) => r.id === n.rule_id);
            return h(
              'li',
              { 'data-rule': n.rule_id },
              h('strong', {}, rule ? label(rule) : n.rule_id),
              `: ${notAssessableText(n, categoryLabel)}`,
            );
          }),
        )
      : null;
    this.drilldown.render();
    mount(this.element, this.strip.element, notAssessable, controls, this.drilldown.element, body, exports);
  }
}

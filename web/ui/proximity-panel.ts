import type { LngLatBoundsLike, MapMouseEvent } from 'maplibre-gl';
import { api } from '../api/client.ts';
import type { Isochrone, Proximity, ProximityResult } from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { formatMetres, label, t } from '../i18n.ts';
import { showIsochrone } from '../layers/isochrone.ts';
import { showRoutes } from '../layers/routes.ts';
import { categoryColor } from '../palette.ts';
import { DISTANCE_CAP_M, ruleSetCategories } from '../rules.ts';
import { auditAreaAt, bboxOf } from './audit-panel.ts';
import { badge, h, mount } from './dom.ts';
import { describeError } from './errors.ts';

/** Isochrone distances offered: the 5-minute (300 m), 10-minute (500 m) and 15-minute (1000 m) life circles of GB 50180-2018 §3.0.4. */
export const ISOCHRONE_OPTIONS_M = [300, 500, 1000] as const;

let openBands: ((lng: number, lat: number) => void) | null = null;
/** Who draws the 300 / 500 / 1000 m life-circle bands for the clicked point (web/ui/finding.ts). */
export function setBandsOpener(open: (lng: number, lat: number) => void): void {
  openBands = open;
}

interface PointState {
  lng: number;
  lat: number;
  proximity: Proximity | null;
  error: string | null;
  loading: boolean;
  isochrone: Isochrone | null;
  isochroneError: string | null;
}

/**
 * Click anywhere: the nearest facility of each category by walking, network vs straight-line
 * distance, minutes and whether the rule's limit is met; the walks drawn on the map; optional isochrone.
 */
export class ProximityPanel {
  readonly element = h('section', { class: 'panel', id: 'panel-point' });
  private point: PointState | null = null;
  private isochroneM: number | null = null;
  private seq = 0;
  private focus: string | null = null;
  /** The facility the isochrone walks out from (its access points), instead of the clicked point. */
  private isoFacility: { id: number; name: string } | null = null;

  constructor(private readonly ctx: AppContext) {
    ctx.map.on('click', (e: MapMouseEvent) => {
      // In the scenario tab the map shows the scenario (and its streets answer clicks).
      // In the compare tab an area answers with its figures before and after (ComparePanel).
      if (ctx.drawing || ctx.store.get().tab === 'scenario' || ctx.store.get().tab === 'compare') return;
      // In the audit tab an area answers with its drill-down (AuditPanel); elsewhere, a point query.
      if (ctx.store.get().tab === 'audit' && auditAreaAt(ctx, e.point) !== null) return;
      if (ctx.store.get().tab !== 'point') ctx.store.set({ tab: 'point' });
      void this.query(e.lngLat.lng, e.lngLat.lat);
    });
    this.isochroneM = ctx.store.get().iso ?? null;
    this.render();
  }

  /** Ask the API about a point (also used by tests and shared links). */
  async query(lng: number, lat: number): Promise<void> {
    // to the 6 decimals the API and a shared link keep (about 0.1 m): the link then asks the same question
    lng = Number(lng.toFixed(6));
    lat = Number(lat.toFixed(6));
    this.ctx.store.set({ point: { lng, lat } });
    const seq = ++this.seq;
    this.point = { lng, lat, proximity: null, error: null, loading: true, isochrone: null, isochroneError: null };
    this.focus = null;
    this.isoFacility = null;
    this.render();
    const { ruleSetId: rs, rule } = this.ctx.store.get();
    try {
      // the rule chosen in the header judges the rows of its categories
      const p = await api.proximity(
        lng,
        lat,
        rs,
        rule && this.ctx.ruleSet().rules.some((r) => r.id === rule) ? rule : null,
      );
      if (seq !== this.seq) return;
      this.point = { ...this.point, proximity: p, loading: false };
    } catch (err) {
      if (seq !== this.seq) return;
      this.point = { ...this.point, error: describeError(err), loading: false };
    }
    this.drawRoutes();
    this.render();
    await this.loadIsochrone();
  }

  /** The rule set changed: targets change with it. */
  refresh(): void {
    if (this.point) void this.query(this.point.lng, this.point.lat);
    else this.render();
  }

  private async loadIsochrone(): Promise<void> {
    const p = this.point;
    if (!p || !this.isochroneM || p.error) {
      showIsochrone(this.ctx.map, null);
      return;
    }
    const seq = this.seq;
    const distance = this.isochroneM;
    const from = this.isoFacility;
    try {
      const iso = from ? await api.facilityIsochrone(from.id, distance) : await api.isochrone(p.lng, p.lat, distance);
      if (seq !== this.seq || distance !== this.isochroneM || from !== this.isoFacility) return;
      p.isochrone = iso;
      p.isochroneError = null;
      showIsochrone(this.ctx.map, iso);
    } catch (err) {
      if (seq !== this.seq) return;
      p.isochroneError = describeError(err);
      showIsochrone(this.ctx.map, null);
    }
    this.render();
  }

  /** The isochrone from a facility's access points (GET /api/isochrone?facility_id=), at the chosen distance (500 m when off). */
  isochroneFromFacility(id: number, name: string): void {
    this.isoFacility = { id, name };
    if (!this.isochroneM) this.isochroneM = 500;
    this.render();
    void this.loadIsochrone();
  }

  /** Fits the view to the walks shown and the isochrone, clear of the legend and panels. */
  fitToShown(): void {
    const p = this.point;
    if (!p) return;
    const coords: unknown[] = [[p.lng, p.lat]];
    for (const r of p.proximity?.results ?? []) {
      if (r.path) coords.push(r.path.coordinates);
      if (r.facility) coords.push([r.facility.lng, r.facility.lat]);
    }
    for (const f of p.isochrone?.features ?? [])
      if (f.geometry && 'coordinates' in f.geometry) coords.push(f.geometry.coordinates);
    const box = bboxOf(coords);
    if (box) this.ctx.map.fitBounds(box as LngLatBoundsLike, { padding: 40, maxZoom: 17, duration: 400 });
  }

  private drawRoutes(): void {
    showRoutes(this.ctx.map, this.point?.proximity ?? null, this.focus);
  }

  private ordered(results: ProximityResult[]): ProximityResult[] {
    const measured = ruleSetCategories(this.ctx.ruleSet());
    const rank = (c: string) => (measured.includes(c) ? measured.indexOf(c) : 100);
    return [...results].sort((a, b) => rank(a.category) - rank(b.category));
  }

  render(): void {
    const p = this.point;
    const isoButtons = h(
      'div',
      { class: 'segmented', role: 'group', 'aria-label': t('isochrone') },
      h('span', { class: 'seg-label' }, t('isochrone')),
      [null, ...ISOCHRONE_OPTIONS_M].map((m) =>
        h(
          'button',
          {
            type: 'button',
            class: m === this.isochroneM ? 'on' : undefined,
            'data-isochrone': m ?? 0,
            'aria-pressed': String(m === this.isochroneM),
            onclick: () => {
              this.isochroneM = m;
              this.ctx.store.set({ iso: m });
              if (m === null) this.isoFacility = null;
              this.render();
              void this.loadIsochrone();
            },
          },
          m === null ? t('off') : `${m} m`,
        ),
      ),
      h(
        'button',
        {
          type: 'button',
          id: 'bands-button',
          disabled: !this.point,
          onclick: () => {
            if (this.point && openBands) openBands(this.point.lng, this.point.lat);
          },
        },
        t('bandsButton'),
      ),
      h(
        'button',
        {
          type: 'button',
          id: 'fit-route',
          disabled: !this.point?.proximity && !this.point?.isochrone,
          onclick: () => this.fitToShown(),
        },
        t('fitToRoute'),
      ),
    );

    if (!p) {
      mount(this.element, h('p', { class: 'hint' }, t('clickHint')), isoButtons);
      return;
    }
    const coords = h('div', { class: 'coords' }, `${p.lng.toFixed(5)}, ${p.lat.toFixed(5)}`);
    if (p.loading) {
      mount(this.element, coords, isoButtons, h('p', { class: 'loading' }, t('loading')));
      return;
    }
    if (p.error || !p.proximity) {
      mount(this.element, coords, isoButtons, h('p', { class: 'error', role: 'alert' }, p.error ?? t('error')));
      return;
    }
    const prox = p.proximity;
    const rows = this.ordered(prox.results).map((r) => this.row(r));
    const isoLines = p.isochrone?.features.find((f) => f.properties.kind === 'lines');
    mount(
      this.element,
      coords,
      h('div', { class: 'snap' }, `${t('snapped')} ${formatMetres(prox.snap.distance_m)}`),
      isoButtons,
      p.isochroneError ? h('p', { class: 'error', role: 'alert' }, p.isochroneError) : null,
      this.isoFacility
        ? h('div', { class: 'note', id: 'iso-from' }, `${t('facilityIsochroneFrom')}: ${this.isoFacility.name}`)
        : null,
      isoLines
        ? h(
            'div',
            {
              class: 'note',
              id: 'iso-reached',
              'data-features': p.isochrone!.features.length,
              'data-reached-m': Number(isoLines.properties.reached_length_m ?? 0).toFixed(2),
              'data-facility-id': this.isoFacility?.id ?? '',
            },
            `${t('reachedLength')}: ${Math.round(Number(isoLines.properties.reached_length_m ?? 0))} m`,
          )
        : null,
      h(
        'table',
        { class: 'proximity', id: 'proximity-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, t('facility')),
            h('th', { class: 'num' }, t('network')),
            h('th', { class: 'num' }, t('straight')),
            h('th', { class: 'num' }, t('minutes')),
            h('th', { class: 'ok' }, t('meets')),
          ),
        ),
        h('tbody', {}, rows),
      ),
      h('div', { class: 'note' }, t('walkSpeedNote')),
    );
  }

  private row(r: ProximityResult): HTMLTableRowElement {
    const cat = this.ctx.category(r.category);
    const cap = this.point?.proximity?.distance_cap_m ?? DISTANCE_CAP_M;
    const rule = r.rule_id ? this.ctx.ruleSet().rules.find((x) => x.id === r.rule_id) : undefined;
    const name = r.facility
      ? (r.facility.name ?? t('unnamed'))
      : r.outcome === 'beyond_cap'
        ? t('outcome_beyond_cap').replace('{cap}', String(cap))
        : r.outcome === 'no_data'
          ? t('outcome_no_data')
          : r.outcome === 'no_path'
            ? t('outcome_no_path')
            : t('noFacility');
    const ok =
      r.meets_target === null
        ? h('span', { class: 'na', title: r.rule_id ? t('notAssessable') : t('noRule') }, '—')
        : r.meets_target
          ? h('span', { class: 'yes', title: t('passes') }, '✓')
          : h('span', { class: 'no', title: t('fails') }, '✗');
    const tr = h(
      'tr',
      {
        'data-category': r.category,
        'data-outcome': r.outcome,
        'data-rule': r.rule_id ?? '',
        class: r.facility ? undefined : 'none',
        onmouseenter: () => {
          this.focus = r.category;
          this.drawRoutes();
        },
        onmouseleave: () => {
          this.focus = null;
          this.drawRoutes();
        },
      },
      h(
        'td',
        {},
        h(
          'div',
          { class: 'cat' },
          h('span', { class: 'sw sw-dot', style: `--c:${categoryColor(r.category)}` }),
          cat ? label(cat) : label(r.label),
          r.max_distance_m !== null ? h('small', {}, ` ≤ ${r.max_distance_m} m`) : null,
        ),
        // the rule judging the row, named: a park may be judged by a park-size rule, not by fitness grounds
        rule ? h('div', { class: 'rule-name', 'data-field': 'rule' }, label(rule)) : null,
        h(
          'div',
          { class: 'fac' },
          name,
          r.facility?.is_sample ? badge(t('sample'), 'sample') : null,
          r.inside ? badge(t('insideFacility'), 'info') : null,
          r.facility
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'link iso-from-facility',
                  'data-facility-id': r.facility.id,
                  title: t('facilityIsochrone'),
                  'aria-label': `${t('facilityIsochrone')}: ${name}`,
                  onclick: (e: Event) => {
                    e.stopPropagation();
                    this.isochroneFromFacility(r.facility!.id, name);
                  },
                },
                '◎',
              )
            : null,
        ),
      ),
      h(
        'td',
        { class: 'num', 'data-field': 'network' },
        r.outcome === 'beyond_cap' ? `> ${cap} m` : formatMetres(r.network_distance_m),
      ),
      h('td', { class: 'num', 'data-field': 'straight' }, formatMetres(r.straight_distance_m)),
      h('td', { class: 'num', 'data-field': 'minutes' }, r.walk_minutes === null ? '—' : r.walk_minutes.toFixed(1)),
      h('td', { class: 'ok', 'data-field': 'meets' }, ok),
    );
    return tr;
  }
}

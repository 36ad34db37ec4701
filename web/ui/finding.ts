import type { LngLatBoundsLike, Map as MapLibreMap, MapMouseEvent } from 'maplibre-gl';
import { api } from '../api/client.ts';
import type { SearchHit } from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { t, type StringKey } from '../i18n.ts';
import { BAND_COLORS, showBands, type BandsAnswer } from '../layers/bands.ts';
import { FACILITY_POINTS } from '../layers/facilities.ts';
import { bboxOf } from './audit-panel.ts';
import { h, mount } from './dom.ts';
import { describeError } from './errors.ts';

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path);
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error?.message ?? res.statusText);
  return body as T;
}

/** Bounds of any GeoJSON geometry's coordinates, or null. */
function boundsOf(geoms: (GeoJSON.Geometry | null)[]): LngLatBoundsLike | null {
  const coords: unknown[] = [];
  for (const g of geoms) if (g && 'coordinates' in g) coords.push(g.coordinates);
  return bboxOf(coords as never) as LngLatBoundsLike | null;
}

/**
 * Finding your way: a search box over the map (communities, residential areas, facilities, roads;
 * a hit zooms to it, a facility also shows its life-circle bands), "zoom to data", and the
 * life-circle bands card (300 / 500 / 1000 m with the residents inside each, "fit to bands").
 */
export class Finding {
  readonly element = h('div', { class: 'finder', id: 'finder' });
  private readonly input = h('input', {
    type: 'search',
    id: 'search-input',
    'aria-label': t('searchPlaceholder'),
    placeholder: t('searchPlaceholder'),
    autocomplete: 'off',
  });
  private readonly list = h('ul', { class: 'search-results', id: 'search-results', role: 'listbox' });
  readonly card = h('div', { class: 'bands-card', id: 'bands-card', hidden: true });
  private bands: BandsAnswer | null = null;
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly ctx: AppContext) {
    this.input.addEventListener('input', () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.search(this.input.value), 200);
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        if (this.timer) clearTimeout(this.timer);
        void this.search(this.input.value, true);
      }
      if (e.key === 'Escape') mount(this.list);
    });
    ctx.map.on(
      'click',
      FACILITY_POINTS,
      (e: MapMouseEvent & { features?: { properties: Record<string, unknown> }[] }) => {
        if (ctx.drawing || ctx.store.get().tab === 'scenario' || ctx.store.get().tab === 'compare') return;
        const f = e.features?.[0];
        const id = Number(f?.properties.id);
        if (Number.isInteger(id) && id > 0)
          void this.showBands({ facilityId: id, name: String(f?.properties.name ?? '') });
      },
    );
    this.render();
  }

  render(): void {
    this.input.placeholder = t('searchPlaceholder');
    mount(
      this.element,
      h(
        'div',
        { class: 'finder-row' },
        this.input,
        h(
          'button',
          { type: 'button', id: 'zoom-to-data', title: t('zoomToData'), onclick: () => void this.zoomToData() },
          t('zoomToData'),
        ),
      ),
      this.list,
    );
    this.renderCard();
  }

  /** Fits the view to the loaded data (its communities or residential areas). */
  async zoomToData(): Promise<void> {
    const fc = await api.coverageGeoJson(this.ctx.ruleSet().id, 'community');
    const box = boundsOf(fc.features.map((f) => f.geometry as GeoJSON.Geometry | null));
    if (box) this.ctx.map.fitBounds(box, { padding: 20, duration: 400 });
  }

  async search(q: string, jump = false): Promise<void> {
    const seq = ++this.seq;
    q = q.trim();
    if (!q) {
      mount(this.list);
      return;
    }
    try {
      const { results } = await getJson<{ results: SearchHit[] }>(`/api/search?q=${encodeURIComponent(q)}&limit=12`);
      if (seq !== this.seq) return;
      if (!results.length) {
        mount(this.list, h('li', { class: 'none' }, t('searchNone')));
        return;
      }
      mount(
        this.list,
        results.map((r) =>
          h(
            'li',
            { role: 'option', 'data-kind': r.kind, 'data-id': r.id, onclick: () => this.go(r) },
            h('span', { class: 'kind' }, t(`kind_${r.kind}` as StringKey)),
            r.name,
          ),
        ),
      );
      if (jump) this.go(results[0]);
    } catch (err) {
      if (seq === this.seq) mount(this.list, h('li', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  private go(r: SearchHit): void {
    mount(this.list);
    this.input.value = r.name;
    const [w, s, e, n] = r.bbox;
    if (w === e && s === n) this.ctx.map.flyTo({ center: [r.lng, r.lat], zoom: 17, duration: 500 });
    else
      this.ctx.map.fitBounds(
        [
          [w, s],
          [e, n],
        ],
        { padding: 60, maxZoom: 17, duration: 500 },
      );
    if (r.kind === 'facility') void this.showBands({ facilityId: r.id, name: r.name });
  }

  /** Life-circle bands from a point or a facility; shown on the map and in the card. */
  async showBands(from: { lng: number; lat: number } | { facilityId: number; name: string }): Promise<void> {
    const seq = ++this.seq;
    // bands from the clicked point are part of a shared link (the point is); a facility's are not
    this.ctx.store.set({ bands: !('facilityId' in from) });
    const q =
      'facilityId' in from ? `facility_id=${from.facilityId}` : `lng=${from.lng.toFixed(6)}&lat=${from.lat.toFixed(6)}`;
    this.card.hidden = false;
    mount(this.card, h('p', { class: 'loading' }, t('loading')));
    try {
      const b = await getJson<BandsAnswer>(`/api/isochrone/bands?${q}`);
      if (seq !== this.seq) return;
      this.bands = {
        ...b,
        properties: {
          ...b.properties,
          from_label: 'facilityId' in from ? `${t('bandsFromFacility')}: ${from.name}` : t('bandsFromPoint'),
        },
      };
      showBands(this.ctx.map, this.bands);
      this.renderCard();
    } catch (err) {
      if (seq === this.seq) mount(this.card, h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  fitToBands(): void {
    const box = this.bands && boundsOf(this.bands.features.map((f) => f.geometry));
    if (box) this.ctx.map.fitBounds(box, { padding: 30, duration: 400 });
  }

  close(): void {
    this.ctx.store.set({ bands: false });
    this.bands = null;
    showBands(this.ctx.map, null);
    this.card.hidden = true;
  }

  private renderCard(): void {
    const b = this.bands;
    if (!b) return;
    const rows = [...b.features]
      .sort((x, y) => x.properties.limit_m - y.properties.limit_m)
      .map((f) =>
        h(
          'tr',
          { 'data-limit': f.properties.limit_m },
          h(
            'td',
            {},
            h('span', { class: 'sw sw-fill', style: `--c:${BAND_COLORS[f.properties.limit_m] ?? '#80cbc4'}` }),
            ` ${f.properties.limit_m} m`,
          ),
          h('td', { class: 'num' }, `${f.properties.walk_minutes} min`),
          h('td', { class: 'num', 'data-field': 'residents' }, Math.round(f.properties.residents).toLocaleString()),
        ),
      );
    mount(
      this.card,
      h(
        'div',
        { class: 'bands-head' },
        h('strong', {}, t('bandsTitle')),
        h('button', { type: 'button', id: 'bands-fit', onclick: () => this.fitToBands() }, t('bandsFit')),
        h(
          'button',
          { type: 'button', id: 'bands-close', 'aria-label': t('bandsClose'), onclick: () => this.close() },
          '×',
        ),
      ),
      h('div', { class: 'note' }, String(b.properties.from_label ?? '')),
      h(
        'table',
        { class: 'bands-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, ''),
            h('th', { class: 'num' }, t('minutes')),
            h('th', { class: 'num' }, t('bandsResidents')),
          ),
        ),
        h('tbody', {}, rows),
      ),
      h('div', { class: 'note' }, t('bandsMethod')),
      h('div', { class: 'note' }, t('walkSpeedNote')),
    );
  }
}

/** Padding on each side of the map, px. */
type Pad = { top: number; right: number; bottom: number; left: number };

/**
 * Keeps every fitBounds (a row zoom, a search hit, "fit to bands", "fit to route") clear of the
 * open legend and of the other panels over the map (search box, bands card, measure readout):
 * each one's footprint is added to the call's padding on the side that costs the view least (left
 * of a tall panel, below a wide one at the bottom, above one at the top). The map's own padding is
 * left alone, so the view never shifts. When the paddings would leave the map too little room,
 * the legend alone is kept clear, and failing that the call is made as it was asked.
 */
export function keepClearOfLegend(map: MapLibreMap, legend: HTMLElement, overlays: HTMLElement[] = []): void {
  const fit = map.fitBounds.bind(map);
  map.fitBounds = ((bounds, options, eventData) => {
    const m = map.getContainer().getBoundingClientRect();
    const p = options?.padding ?? 0;
    const asked: Pad =
      typeof p === 'number' ? { top: p, right: p, bottom: p, left: p } : { top: 0, right: 0, bottom: 0, left: 0, ...p };
    const clearOf = (els: HTMLElement[]): Pad => {
      const pad = { ...asked };
      for (const el of els) {
        if (el.hidden) continue;
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height || r.right <= m.left || r.left >= m.right || r.bottom <= m.top || r.top >= m.bottom)
          continue;
        // the cheapest side: the strip it takes from the map, as a share of the map's width or height
        const sides: [keyof Pad, number, number][] = [
          ['left', r.right - m.left + 8, m.width],
          ['right', m.right - r.left + 8, m.width],
          ['top', r.bottom - m.top + 8, m.height],
          ['bottom', m.bottom - r.top + 8, m.height],
        ];
        const [side, px] = sides.reduce((best, s) => (s[1] / s[2] < best[1] / best[2] ? s : best));
        pad[side] = Math.max(pad[side], px);
      }
      return pad;
    };
    const fits = (pad: Pad) => pad.left + pad.right < m.width - 40 && pad.top + pad.bottom < m.height - 40;
    for (const els of [[legend, ...overlays], [legend]]) {
      const pad = clearOf(els);
      if (fits(pad)) return fit(bounds, { ...options, padding: pad }, eventData);
    }
    // a padding larger than the map would leave no room: then the legend is simply overlapped
    return fit(bounds, options, eventData);
  }) as MapLibreMap['fitBounds'];
}

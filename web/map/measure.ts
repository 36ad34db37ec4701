import type { GeoJSONSource, IControl, Map as MapLibreMap, MapMouseEvent } from 'maplibre-gl';
import type { Feature } from 'geojson';
import { geodesicM, makeLocalProjection } from '../../geo/geodesy.ts';
import type { AppContext } from '../context.ts';
import { formatInt, t } from '../i18n.ts';
import { h, mount } from '../ui/dom.ts';

const SOURCE = 'measure';
const COLOR = '#d81b60';
/** Segments longer than this are summed in pieces: geodesicM is exact to 1 cm up to ~20 km. */
const PIECE_M = 10_000;

/** Geodesic length of a polyline of [lng, lat] points (WGS84 ellipsoid, geo/geodesy.ts), metres. */
export function pathLengthM(points: readonly [number, number][]): number {
  let sum = 0;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    const whole = geodesicM(a[0], a[1], b[0], b[1]);
    const n = Math.max(1, Math.ceil(whole / PIECE_M));
    if (n === 1) {
      sum += whole;
      continue;
    }
    for (let k = 0; k < n; k++) {
      const f0 = k / n,
        f1 = (k + 1) / n;
      sum += geodesicM(
        a[0] + (b[0] - a[0]) * f0,
        a[1] + (b[1] - a[1]) * f0,
        a[0] + (b[0] - a[0]) * f1,
        a[1] + (b[1] - a[1]) * f1,
      );
    }
  }
  return sum;
}

/**
 * Area of the polygon the points close, m²: the shoelace formula in a local tangent projection of
 * the WGS84 ellipsoid centred on the points (geo/geodesy.ts makeLocalProjection), the projection
 * the engine measures sites with; within 0.1 % of the ellipsoidal area for a polygon of a few km.
 */
export function polygonAreaM2(points: readonly [number, number][]): number {
  if (points.length < 3) return 0;
  const lng0 = points.reduce((s, p) => s + p[0], 0) / points.length,
    lat0 = points.reduce((s, p) => s + p[1], 0) / points.length;
  const pr = makeLocalProjection(lng0, lat0);
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i],
      b = points[(i + 1) % points.length];
    twice += pr.toX(a[0]) * pr.toY(b[1]) - pr.toX(b[0]) * pr.toY(a[1]);
  }
  return Math.abs(twice) / 2;
}

/** A ruler, drawn (an emoji would need a colour-emoji font the machine may lack). */
function rulerIcon(): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 20 20');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M2.5 13.5 13.5 2.5l4 4-11 11zM6 10l1.5 1.5M8.5 7.5l2 2M11 5l1.5 1.5');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', '#333');
  path.setAttribute('stroke-width', '1.4');
  svg.append(path);
  return svg;
}

const formatLength = (m: number) => (m >= 1000 ? `${(m / 1000).toFixed(2)} km` : `${m.toFixed(1)} m`);
const formatArea = (m2: number) =>
  m2 >= 10_000 ? `${formatInt(m2)} m² (${(m2 / 10_000).toFixed(2)} hm²)` : `${formatInt(m2)} m²`;

/**
 * A distance and area measure tool on the map: a button under the zoom buttons; while on, each
 * click adds a point, the path's geodesic length and (three points or more) the enclosed area
 * are shown in metres and m²; a double click or "done" ends it, Escape or the button again
 * clears it. Clicks go to the tool only, not to the point panel (the app's drawing flag).
 */
export class MeasureTool implements IControl {
  private readonly button = h(
    'button',
    {
      type: 'button',
      id: 'measure-toggle',
      class: 'maplibregl-ctrl-measure',
      title: t('measure'),
      'aria-label': t('measure'),
      'aria-pressed': 'false',
    },
    rulerIcon(),
  );
  private readonly container = h('div', { class: 'maplibregl-ctrl maplibregl-ctrl-group' }, this.button);
  readonly readout = h('div', { class: 'measure-readout', id: 'measure-readout', hidden: true, role: 'status' });
  private points: [number, number][] = [];
  private active = false;
  private done = false;
  private map: MapLibreMap | null = null;

  constructor(private readonly ctx: AppContext) {
    this.button.addEventListener('click', () => (this.active ? this.clear() : this.start()));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && (this.active || this.points.length)) this.clear();
    });
  }

  onAdd(map: MapLibreMap): HTMLElement {
    this.map = map;
    map.on('click', this.onClick);
    map.on('dblclick', this.onDblClick);
    return this.container;
  }

  onRemove(): void {
    this.map?.off('click', this.onClick);
    this.map?.off('dblclick', this.onDblClick);
    this.container.remove();
    this.map = null;
  }

  /** The measured path's points, [lng, lat]. */
  get path(): readonly [number, number][] {
    return this.points;
  }

  start(): void {
    // a plan being drawn owns the clicks
    if (this.ctx.drawing || !this.map) return;
    this.clearShape();
    this.active = true;
    this.done = false;
    this.ctx.drawing = true;
    this.map.doubleClickZoom.disable();
    this.map.getCanvas().style.cursor = 'crosshair';
    this.button.classList.add('on');
    this.button.setAttribute('aria-pressed', 'true');
    this.render();
  }

  /** Ends adding points; the shape and its figures stay until cleared. */
  finish(): void {
    if (!this.active || !this.map) return;
    this.active = false;
    this.done = true;
    this.ctx.drawing = false;
    this.map.getCanvas().style.removeProperty('cursor');
    // a double click's second click must not zoom; re-enabled after it has passed
    setTimeout(() => this.map?.doubleClickZoom.enable(), 300);
    this.button.classList.remove('on');
    this.button.setAttribute('aria-pressed', 'false');
    this.render();
  }

  clear(): void {
    if (this.active) this.finish();
    this.clearShape();
    this.done = false;
    this.render();
  }

  private clearShape(): void {
    this.points = [];
    this.draw();
  }

  private readonly onClick = (e: MapMouseEvent): void => {
    if (!this.active) return;
    const p: [number, number] = [e.lngLat.lng, e.lngLat.lat];
    // the two clicks of a double click land on the same spot: one point
    const last = this.points[this.points.length - 1];
    if (last && last[0] === p[0] && last[1] === p[1]) return;
    this.points.push(p);
    this.draw();
    this.render();
  };

  private readonly onDblClick = (e: MapMouseEvent): void => {
    if (!this.active) return;
    e.preventDefault();
    this.finish();
  };

  private draw(): void {
    const map = this.map;
    if (!map || !map.isStyleLoaded()) return;
    const features: Feature[] = this.points.map((c) => ({
      type: 'Feature',
      properties: { kind: 'vertex' },
      geometry: { type: 'Point', coordinates: c },
    }));
    if (this.points.length >= 2)
      features.push({
        type: 'Feature',
        properties: { kind: 'line' },
        geometry: { type: 'LineString', coordinates: this.points },
      });
    if (this.points.length >= 3)
      features.push({
        type: 'Feature',
        properties: { kind: 'area' },
        geometry: { type: 'Polygon', coordinates: [[...this.points, this.points[0]]] },
      });
    const data = { type: 'FeatureCollection' as const, features };
    const source = map.getSource<GeoJSONSource>(SOURCE);
    if (source) return void source.setData(data);
    map.addSource(SOURCE, { type: 'geojson', data });
    map.addLayer({
      id: 'measure-fill',
      type: 'fill',
      source: SOURCE,
      filter: ['==', ['get', 'kind'], 'area'],
      paint: { 'fill-color': COLOR, 'fill-opacity': 0.08 },
    });
    map.addLayer({
      id: 'measure-line',
      type: 'line',
      source: SOURCE,
      filter: ['==', ['get', 'kind'], 'line'],
      paint: { 'line-color': COLOR, 'line-width': 2.5, 'line-dasharray': [2, 1] },
    });
    map.addLayer({
      id: 'measure-vertex',
      type: 'circle',
      source: SOURCE,
      filter: ['==', ['get', 'kind'], 'vertex'],
      paint: { 'circle-radius': 4, 'circle-color': '#fff', 'circle-stroke-color': COLOR, 'circle-stroke-width': 2 },
    });
  }

  render(): void {
    this.button.title = t('measure');
    if (!this.active && !this.points.length) {
      this.readout.hidden = true;
      return;
    }
    this.readout.hidden = false;
    const distance = pathLengthM(this.points);
    const area = polygonAreaM2(this.points);
    this.readout.dataset.distanceM = distance.toFixed(3);
    this.readout.dataset.areaM2 = area.toFixed(1);
    this.readout.dataset.points = String(this.points.length);
    mount(
      this.readout,
      h('strong', {}, t('measure')),
      this.active ? h('div', { class: 'note' }, t('measureHint')) : null,
      h('div', { 'data-field': 'distance' }, `${t('measureDistance')}: ${formatLength(distance)}`),
      this.points.length >= 3 ? h('div', { 'data-field': 'area' }, `${t('measureArea')}: ${formatArea(area)}`) : null,
      h(
        'div',
        { class: 'buttons' },
        this.active
          ? h('button', { type: 'button', id: 'measure-done', onclick: () => this.finish() }, t('measureDone'))
          : null,
        h('button', { type: 'button', id: 'measure-clear', onclick: () => this.clear() }, t('measureClear')),
      ),
      h('div', { class: 'note' }, t('measureMethod')),
    );
  }
}

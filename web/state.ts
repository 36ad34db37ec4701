import type { CoverageLevel } from './api/types.ts';
import { LANGS, type Lang } from './i18n.ts';
import { DATASET_NAME } from '../api/datasets.ts';

export type Tab = 'point' | 'audit' | 'plans' | 'scenario' | 'compare';
export const TABS: readonly Tab[] = ['point', 'audit', 'plans', 'scenario', 'compare'];
/** Tab names of older shared links: `tab=impact` was the scenario tab's name before it had one name everywhere. */
const TAB_ALIASES: Readonly<Record<string, Tab>> = { impact: 'scenario' };
/** The category selector's value for "colour by the worst rule". */
export const WORST = 'worst';

export interface MapView {
  lng: number;
  lat: number;
  zoom: number;
}

/** Everything the URL hash keeps, so a view can be shared. */
export interface AppState {
  view: MapView;
  ruleSetId: string;
  /** A category id, or WORST. */
  category: string;
  level: CoverageLevel;
  lang: Lang;
  tab: Tab;
  /** The rule judging the category, where several rules name it (null: its default rule). */
  rule?: string | null;
  /** The point clicked in the point tab (its proximity panel is restored from it). */
  point?: { lng: number; lat: number } | null;
  /** The isochrone shown around the point, metres (null: none). */
  iso?: number | null;
  /** The 300 / 500 / 1000 m life-circle bands from the point are shown. */
  bands?: boolean;
  /** Audit filters by 区 and 街道 (absent or '': all). */
  district?: string;
  street?: string;
  /** The audit row selected (its area key). */
  row?: string | null;
  /** Scenario tab: the stored plans ticked, by id, ascending. */
  plans?: number[];
  /** Scenario tab: the rule whose gains and communities are listed. */
  scenarioRule?: string | null;
  /** The dataset shown, by name (`ds=`; absent: the server's default dataset). */
  dataset?: string | null;
  /** Compare tab: the run compared from and to, each a dataset name (its current run) or a run id (`cfrom=`, `cto=`). */
  compareFrom?: string | null;
  compareTo?: string | null;
  /** Compare tab: the rule whose share change colours the areas (`crule=`; absent: the category's rule). */
  compareRule?: string | null;
}

/** A dataset name or a coverage run id, as GET /api/compare takes `from` and `to`. */
export const RUN_OR_DATASET = new RegExp(`^([0-9]{1,9}|${DATASET_NAME.source.slice(1, -1)})$`);

/** Isochrone distances a link may name (the panel's 300 / 500 / 1000 m). */
const ISO_DISTANCES: readonly number[] = [300, 500, 1000];
/** A place name (区 / 街道) or an area key as a link may carry them: printable, at most 200 characters. */
const NAME_RE = /^[^\u0000-\u001f\u007f]{1,200}$/u;
/** At most this many plan ids in a link (the scenario endpoint's MAX_SCENARIO_PLANS). */
const MAX_LINK_PLANS = 50;

/** Central Chengdu, where the default data set is; a link without a view fits the data instead. */
export const DEFAULT_STATE: AppState = {
  view: { lng: 104.068, lat: 30.7, zoom: 12.5 },
  ruleSetId: 'chengdu-park-city',
  category: 'park',
  level: 'community',
  lang: 'zh',
  tab: 'point',
};

const LEVELS: readonly CoverageLevel[] = ['community', 'residential_area', 'street', 'district'];

/** Whether a hash names a map view (otherwise the app fits the map to the data). */
export function hashHasView(hash: string): boolean {
  return new URLSearchParams(hash.replace(/^#/, '')).has('map');
}

/**
 * Parse `#map=zoom/lat/lng&rs=…&cat=…&lvl=…&lang=…&tab=…[&rule=…][&pt=lng/lat][&iso=m][&bands=1][&district=…]
 * [&street=…][&row=…][&plans=1,2][&srule=…][&ds=…][&cfrom=…&cto=…][&crule=…]`; unknown or broken parts keep their defaults, each on its own.
 */
export function parseHash(hash: string, base: AppState = DEFAULT_STATE): AppState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const state: AppState = { ...base, view: { ...base.view } };
  const m = p.get('map')?.split('/').map(Number);
  if (m && m.length === 3 && m.every(Number.isFinite) && Math.abs(m[1]) <= 85 && Math.abs(m[2]) <= 180) {
    state.view = { zoom: m[0], lat: m[1], lng: m[2] };
  }
  const rs = p.get('rs');
  if (rs && /^[a-z0-9][a-z0-9.-]{0,63}$/.test(rs)) state.ruleSetId = rs;
  const cat = p.get('cat');
  if (cat && /^[a-z_]{1,40}$/.test(cat)) state.category = cat;
  const lvl = p.get('lvl') as CoverageLevel | null;
  if (lvl && LEVELS.includes(lvl)) state.level = lvl;
  const lang = p.get('lang') as Lang | null;
  if (lang && LANGS.includes(lang)) state.lang = lang;
  const tabName = p.get('tab');
  const tab = tabName !== null && Object.hasOwn(TAB_ALIASES, tabName) ? TAB_ALIASES[tabName] : (tabName as Tab | null);
  if (tab && TABS.includes(tab)) state.tab = tab;
  const rule = p.get('rule');
  if (rule && /^[a-z0-9_]{1,64}$/.test(rule)) state.rule = rule;
  const pt = p.get('pt')?.split('/');
  if (pt?.length === 2 && pt.every((x) => /^-?\d+(\.\d+)?$/.test(x))) {
    const [lng, lat] = pt.map(Number);
    if (Math.abs(lng) <= 180 && Math.abs(lat) <= 85) state.point = { lng, lat };
  }
  const iso = Number(p.get('iso'));
  if (ISO_DISTANCES.includes(iso)) state.iso = iso;
  if (p.get('bands') === '1') state.bands = true;
  for (const key of ['district', 'street', 'row'] as const) {
    const v = p.get(key);
    if (v !== null && NAME_RE.test(v)) state[key] = v;
  }
  const plans = p.get('plans');
  if (plans && /^\d{1,12}(,\d{1,12})*$/.test(plans)) {
    const ids = [...new Set(plans.split(',').map(Number))]
      .filter((n) => Number.isSafeInteger(n) && n > 0)
      .sort((a, b) => a - b);
    if (ids.length && ids.length <= MAX_LINK_PLANS) state.plans = ids;
  }
  const srule = p.get('srule');
  if (srule && /^[a-z0-9_]{1,64}$/.test(srule)) state.scenarioRule = srule;
  const ds = p.get('ds');
  if (ds && DATASET_NAME.test(ds)) state.dataset = ds;
  for (const [param, key] of [
    ['cfrom', 'compareFrom'],
    ['cto', 'compareTo'],
  ] as const) {
    const v = p.get(param);
    if (v && RUN_OR_DATASET.test(v)) state[key] = v;
  }
  const crule = p.get('crule');
  if (crule && /^[a-z0-9_]{1,64}$/.test(crule)) state.compareRule = crule;
  return state;
}

/** The hash of a state; the view is rounded to what a screen can show (about 1 m at zoom 17). */
export function formatHash(s: AppState): string {
  const p = new URLSearchParams();
  p.set('map', `${s.view.zoom.toFixed(2)}/${s.view.lat.toFixed(5)}/${s.view.lng.toFixed(5)}`);
  p.set('rs', s.ruleSetId);
  p.set('cat', s.category);
  p.set('lvl', s.level);
  p.set('lang', s.lang);
  p.set('tab', s.tab);
  if (s.rule) p.set('rule', s.rule);
  if (s.point) p.set('pt', `${s.point.lng.toFixed(6)}/${s.point.lat.toFixed(6)}`);
  if (s.iso) p.set('iso', String(s.iso));
  if (s.bands) p.set('bands', '1');
  if (s.district) p.set('district', s.district);
  if (s.street) p.set('street', s.street);
  if (s.row) p.set('row', s.row);
  if (s.plans?.length) p.set('plans', s.plans.join(','));
  if (s.scenarioRule) p.set('srule', s.scenarioRule);
  if (s.dataset) p.set('ds', s.dataset);
  if (s.compareFrom) p.set('cfrom', s.compareFrom);
  if (s.compareTo) p.set('cto', s.compareTo);
  if (s.compareRule) p.set('crule', s.compareRule);
  // URLSearchParams escapes '/' and ',', which are safe but unreadable in a shared link.
  return `#${p.toString().replace(/%2F/g, '/').replace(/%2C/g, ',')}`;
}

type Listener = (state: AppState, previous: AppState) => void;

/** A minimal observable store of AppState; the URL hash follows every change. */
export class Store {
  private state: AppState;
  private listeners: Listener[] = [];

  constructor(initial: AppState) {
    this.state = initial;
  }

  get(): AppState {
    return this.state;
  }

  set(patch: Partial<AppState>): void {
    const previous = this.state;
    this.state = { ...previous, ...patch };
    history.replaceState(null, '', formatHash(this.state));
    for (const l of this.listeners) l(this.state, previous);
  }

  subscribe(listener: Listener): void {
    this.listeners.push(listener);
  }
}

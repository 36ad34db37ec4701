import type { CoverageLevel } from './api/types.ts';
import { LANGS, type Lang } from './i18n.ts';

export type Tab = 'point' | 'audit' | 'plans' | 'scenario';
export const TABS: readonly Tab[] = ['point', 'audit', 'plans', 'scenario'];
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
}

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

/** Parse `#map=zoom/lat/lng&rs=…&cat=…&lvl=…&lang=…&tab=…`; unknown or broken parts keep their defaults. */
/** Whether a hash names a map view (otherwise the app fits the map to the data). */
export function hashHasView(hash: string): boolean {
  return new URLSearchParams(hash.replace(/^#/, '')).has('map');
}

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
  // URLSearchParams escapes '/', which is safe but unreadable in a shared link.
  return `#${p.toString().replace(/%2F/g, '/')}`;
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

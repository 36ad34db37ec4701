import { describe, expect, it } from 'vitest';
import { testRandom } from '../geo/fixtures/random-walk-graph.ts';
import { DEFAULT_STATE, formatHash, hashHasView, parseHash, TABS, type AppState } from './state.ts';

describe('URL hash', () => {
  it('a state survives formatHash → parseHash, the view rounded to what the hash keeps', () => {
    const random = testRandom(10);
    const levels = ['community', 'residential_area', 'street', 'district'] as const;
    for (let k = 0; k < 200; k++) {
      const state: AppState = {
        view: { lng: -180 + 360 * random.float(), lat: -85 + 170 * random.float(), zoom: 22 * random.float() },
        ruleSetId: ['chengdu-park-city', 'gb50180-2018', 'garden-city'][random.int(0, 2)],
        category: ['park', 'green', 'elderly_care', 'worst'][random.int(0, 3)],
        level: levels[random.int(0, 3)],
        lang: random.int(0, 1) ? 'zh' : 'en',
        tab: TABS[random.int(0, TABS.length - 1)],
      };
      const back = parseHash(formatHash(state));
      expect({ ...back, view: undefined }).toEqual({ ...state, view: undefined });
      expect(back.view.lng).toBeCloseTo(state.view.lng, 5);
      expect(back.view.lat).toBeCloseTo(state.view.lat, 5);
      expect(back.view.zoom).toBeCloseTo(state.view.zoom, 2);
    }
  });

  it('keeps the slashes of the map view readable', () => {
    expect(formatHash(DEFAULT_STATE)).toBe(
      '#map=12.50/30.70000/104.06800&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point',
    );
  });

  it('unknown or broken parts keep their defaults, each on its own', () => {
    const base: AppState = { ...DEFAULT_STATE, tab: 'plans' };
    expect(parseHash('', base)).toEqual(base);
    expect(parseHash('#map=abc/1/2&rs=Bad Set&cat=1x&lvl=planet&lang=fr&tab=nope', base)).toEqual(base);
    expect(parseHash('#map=14/95/104', base).view).toEqual(base.view); // latitude beyond ±85
    expect(parseHash('#map=14/30/190', base).view).toEqual(base.view); // longitude beyond ±180
    expect(parseHash('#map=14/30', base).view).toEqual(base.view);
    expect(parseHash(`#rs=${'a'.repeat(65)}`, base).ruleSetId).toBe(base.ruleSetId);
    expect(parseHash('#map=14/30.5/104.1&lvl=street', base)).toEqual({
      ...base,
      view: { zoom: 14, lat: 30.5, lng: 104.1 },
      level: 'street',
    });
  });

  it('tab=impact, the scenario tab of older links, opens the scenario tab', () => {
    expect(parseHash('#tab=impact').tab).toBe('scenario');
    expect(parseHash('#tab=scenario').tab).toBe('scenario');
    expect(formatHash(parseHash('#tab=impact'))).toMatch(/&tab=scenario$/);
  });

  it('a hash names a view only with map=', () => {
    expect(hashHasView('#map=1/2/3')).toBe(true);
    expect(hashHasView('#rs=chengdu-park-city&tab=audit')).toBe(false);
    expect(hashHasView('')).toBe(false);
  });
});

describe('URL hash: the shared view (point, isochrone, audit filters and row, scenario selection)', () => {
  const names = ['锦江区', '春熙路街道', 'Chenghua District', 'a&b=c#d', '50/50 街道', '+ plus %'];

  it('every new part survives formatHash → parseHash, names with &, =, #, / and % included', () => {
    const random = testRandom(12);
    for (let k = 0; k < 200; k++) {
      const state: AppState = {
        ...DEFAULT_STATE,
        tab: TABS[random.int(0, TABS.length - 1)],
        point: {
          lng: Number((-180 + 360 * random.float()).toFixed(6)),
          lat: Number((-85 + 170 * random.float()).toFixed(6)),
        },
        iso: [300, 500, 1000][random.int(0, 2)],
        bands: true,
        district: names[random.int(0, names.length - 1)],
        street: names[random.int(0, names.length - 1)],
        row: String(random.int(1, 1e6)),
        plans: [...new Set(Array.from({ length: random.int(1, 6) }, () => random.int(1, 500)))].sort((a, b) => a - b),
        scenarioRule: ['park_500', 'green_300', 'elderly_care'][random.int(0, 2)],
      };
      const back = parseHash(formatHash(state));
      expect({ ...back, view: undefined }).toEqual({ ...state, view: undefined });
    }
  });

  it('the clicked point keeps 6 decimals (about 0.1 m) and the plan list stays readable', () => {
    const hash = formatHash({ ...DEFAULT_STATE, point: { lng: 104.0712345678, lat: 30.6612345678 }, plans: [3, 12] });
    expect(hash).toContain('&pt=104.071235/30.661235');
    expect(hash).toContain('&plans=3,12');
    expect(parseHash(hash).point).toEqual({ lng: 104.071235, lat: 30.661235 });
  });

  it('a state without the new parts formats the hash old links had', () => {
    expect(
      formatHash({
        ...DEFAULT_STATE,
        point: null,
        iso: null,
        bands: false,
        district: '',
        street: '',
        row: null,
        plans: [],
        scenarioRule: null,
      }),
    ).toBe(formatHash(DEFAULT_STATE));
  });

  it('broken new parts are ignored, each on its own, and the rest of the link still applies', () => {
    const base: AppState = { ...DEFAULT_STATE, tab: 'audit' };
    const broken = [
      'pt=abc/30',
      'pt=104.1',
      'pt=104.1/30.6/1',
      'pt=190/30',
      'pt=104/86',
      'pt=1e2/30',
      'pt=/',
      'iso=250',
      'iso=-300',
      'iso=abc',
      'iso=',
      'bands=0',
      'bands=yes',
      'district=',
      `district=${'区'.repeat(201)}`,
      'street=%0A',
      'row=a%00b',
      'plans=',
      'plans=a,b',
      'plans=1,,2',
      'plans=-1',
      'plans=0',
      `plans=${Array.from({ length: 51 }, (_, i) => i + 1).join(',')}`,
      'srule=Bad Rule',
      `srule=${'a'.repeat(65)}`,
    ];
    for (const part of broken)
      expect(parseHash(`#${part}&lvl=street`, base), part).toEqual({ ...base, level: 'street' });
  });

  it('old links (no new parts, tab=impact) still open as before', () => {
    const old = '#map=14.00/30.66000/104.07000&rs=gb50180-2018&cat=park&lvl=community&lang=en&tab=impact';
    const s = parseHash(old);
    expect(s).toEqual({
      ...DEFAULT_STATE,
      view: { zoom: 14, lat: 30.66, lng: 104.07 },
      ruleSetId: 'gb50180-2018',
      lang: 'en',
      tab: 'scenario',
    });
    expect(s.point).toBeUndefined();
    expect(s.plans).toBeUndefined();
  });

  it('plan ids are deduplicated and sorted', () => {
    expect(parseHash('#plans=9,2,9,4').plans).toEqual([2, 4, 9]);
  });

  it('a comparison (cfrom, cto, crule) survives the link; malformed parts are dropped one by one', () => {
    const state: AppState = {
      ...DEFAULT_STATE,
      tab: 'compare',
      compareFrom: '41',
      compareTo: 'chengdu-central-2018',
      compareRule: 'elderly_care_500',
    };
    const hash = formatHash(state);
    expect(hash).toContain('tab=compare&cfrom=41&cto=chengdu-central-2018&crule=elderly_care_500');
    expect(parseHash(hash)).toEqual(state);
    const bad = parseHash('#tab=compare&cfrom=Not%20A%20Name&cto=1234567890&crule=DROP%20TABLE');
    expect([bad.tab, bad.compareFrom, bad.compareTo, bad.compareRule]).toEqual([
      'compare',
      undefined,
      undefined,
      undefined,
    ]);
  });
});

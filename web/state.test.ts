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
    expect(formatHash(DEFAULT_STATE)).toBe('#map=12.50/30.70000/104.06800&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point');
  });

  it('unknown or broken parts keep their defaults, each on its own', () => {
    const base: AppState = { ...DEFAULT_STATE, tab: 'plans' };
    expect(parseHash('', base)).toEqual(base);
    expect(parseHash('#map=abc/1/2&rs=Bad Set&cat=1x&lvl=planet&lang=fr&tab=nope', base)).toEqual(base);
    expect(parseHash('#map=14/95/104', base).view).toEqual(base.view); // latitude beyond ±85
    expect(parseHash('#map=14/30/190', base).view).toEqual(base.view); // longitude beyond ±180
    expect(parseHash('#map=14/30', base).view).toEqual(base.view);
    expect(parseHash(`#rs=${'a'.repeat(65)}`, base).ruleSetId).toBe(base.ruleSetId);
    expect(parseHash('#map=14/30.5/104.1&lvl=street', base)).toEqual({ ...base, view: { zoom: 14, lat: 30.5, lng: 104.1 }, level: 'street' });
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

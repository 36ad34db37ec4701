import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { matchesFilter, sourceFilterKey } from '../distance-field.ts';
import { fixtureEngine, PARK_CITY, readFixture, ruleDistances } from '../fixtures/scenario-fixture.ts';
import { makeLocalProjection } from '../geodesy.ts';
import { CHENGDU_PARK_CITY } from '../rules/index.ts';
import { GARDEN_CITY } from '../rules/index.ts';
import { evaluateScenario } from './evaluate.ts';
import { openSpaceFacility, PARK_MIN_AREA_M2 } from './open-space.ts';
import type { ScenarioPlan } from './plan.ts';

describe('scenario: add_open_space', () => {
  const pr = makeLocalProjection(104.06, 30.66);
  const square = (cx: number, cy: number, sideM: number): Polygon => {
    const h = sideM / 2;
    const ring = [
      [cx - h, cy - h],
      [cx + h, cy - h],
      [cx + h, cy + h],
      [cx - h, cy + h],
      [cx - h, cy - h],
    ];
    return { type: 'Polygon', coordinates: [ring.map(([x, y]) => [pr.toLng(x), pr.toLat(y)])] };
  };

  it('green-space-600m2-counts-for-green_300-not-park_500', () => {
    const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
    // east of the east street, next to the outside resident (origin 4 at x = 440, y = 150)
    const plan: ScenarioPlan = {
      ref: 'g',
      kind: 'add_open_space',
      name: 'pocket green',
      geometry: square(430, 110, Math.sqrt(600)),
    };
    const fac = openSpaceFacility(plan, -1);
    expect(fac.areaM2).toBeGreaterThan(595);
    expect(fac.areaM2).toBeLessThan(605);
    expect(fac.category).toBe('green_space');
    const [green, park] = ['green_300', 'park_500'].map((id) => CHENGDU_PARK_CITY.rules.find((r) => r.id === id)!);
    const tierMatches = (rule: typeof green) =>
      rule.tiers.some((t) => matchesFilter({ categories: t.categories, minAreaM2: t.minAreaM2 }, fac));
    expect(tierMatches(green)).toBe(true);
    expect(tierMatches(park)).toBe(false);
    // nor for the garden-city 2000 m² tier
    expect(
      GARDEN_CITY.rules[0].tiers.some((t) => matchesFilter({ categories: t.categories, minAreaM2: t.minAreaM2 }, fac)),
    ).toBe(false);

    const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, [plan]);
    const g = ruleDistances(ev, 'green_300');
    expect(g[3].coveredBefore).toBe(false);
    expect(g[3].coveredAfter).toBe(true);
    expect(ev.after.find((c) => c.ruleId === 'green_300')!.origins[3].facilityId).toBe(-1);
    const parkImpact = ev.rules.find((r) => r.ruleId === 'park_500')!;
    expect(parkImpact.coveredAfter).toBe(parkImpact.coveredBefore);
    expect(ev.fields.get(sourceFilterKey({ categories: ['park'] }))).toBe(fx.fields.get('park'));
    expect(ev.rules.find((r) => r.ruleId === 'green_300')!.newlyCovered).toBe(50);
  });

  it(`an open space of ${PARK_MIN_AREA_M2} m² or more is a park`, () => {
    const big = openSpaceFacility({ ref: 'p', kind: 'add_open_space', name: 'p', geometry: square(0, 0, 64) }, -1);
    const small = openSpaceFacility({ ref: 'p', kind: 'add_open_space', name: 'p', geometry: square(0, 0, 62) }, -1);
    expect(big.category).toBe('park');
    expect(small.category).toBe('green_space');
    // access every 50 m of a 256 m outline: 6 points
    expect(big.accessLng.length).toBe(6);
  });
});

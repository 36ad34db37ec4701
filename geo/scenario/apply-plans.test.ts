import { describe, expect, it } from 'vitest';
import { fixtureEngine, PARK_CITY, randomEngine, readFixture, ruleDistances } from '../fixtures/scenario-fixture.ts';
import { DIR_BOTH } from '../graph.ts';
import { applyPlans } from './apply-plans.ts';
import { evaluateScenario } from './evaluate.ts';
import type { ScenarioPlan } from './plan.ts';

describe('scenario: demolish_wall', () => {
  it('gated-compound-single-gate: opening the north wall brings the residents inside within 500 m of the park', () => {
    const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
    const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, fx.plans, {
      includeChangedEdges: true,
    });
    const park = ruleDistances(ev, 'park_500');
    // origins 1–3 live inside the compound; their only way out was the south gate
    for (const i of [0, 1, 2]) {
      expect(park[i].before).toBeGreaterThan(500);
      expect(park[i].coveredBefore).toBe(false);
      expect(park[i].after).toBeLessThan(500);
      expect(park[i].coveredAfter).toBe(true);
    }
    // the resident outside walks the same street as before (now in split pieces: equal to rounding)
    expect(Math.abs(park[3].after! - park[3].before!)).toBeLessThan(1e-9);
    const effect = ev.scenario.effects[0];
    expect(effect.linksAdded).toBe(3);
    expect(effect.compoundsOpened).toBe(1);
    expect(effect.barrierRemovedM).toBeGreaterThan(160);
    expect(effect.barrierRemovedM).toBeLessThan(180);
    const rule = ev.rules.find((r) => r.ruleId === 'park_500')!;
    expect(rule.newlyCovered).toBe(320);
    expect(rule.marginal).toEqual([{ ref: 'fixture:0', gain: 320 }]);
    expect(rule.areas.find((a) => a.level === 'residential_area' && a.key === 'ra0')?.flip).toBe('fail_to_pass');
    expect(ev.changedEdges!.some((c) => c.isLink && c.distances.park !== undefined)).toBe(true);
  });

  it('split pieces add up to the street they replace and meet at their nodes', () => {
    const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
    const sc = applyPlans(fx.net, fx.plans);
    const g = sc.net.graph;
    const total = new Map<number, number>();
    for (let e = 0; e < sc.linkStart; e++) {
      total.set(sc.edgeBase[e], (total.get(sc.edgeBase[e]) ?? 0) + g.edgeLengthM[e]);
      const first = g.edgeCoordOffset[e],
        last = g.edgeCoordOffset[e + 1] - 1;
      expect([g.edgeCoords[2 * first], g.edgeCoords[2 * first + 1]]).toEqual([
        g.nodeLng[g.edgeFrom[e]],
        g.nodeLat[g.edgeFrom[e]],
      ]);
      expect([g.edgeCoords[2 * last], g.edgeCoords[2 * last + 1]]).toEqual([
        g.nodeLng[g.edgeTo[e]],
        g.nodeLat[g.edgeTo[e]],
      ]);
    }
    expect(sc.splitEdges.size).toBe(1);
    for (const [base, sum] of total) expect(sum).toBeCloseTo(fx.net.graph.edgeLengthM[base], 9);
    for (let e = sc.linkStart; e < g.edgeCount; e++) {
      expect(g.edgeLengthM[e]).toBeCloseTo(50, 0);
      expect(g.edgeDir[e]).toBe(DIR_BOTH);
    }
  });

  it('a wall line far from any way removes nothing and changes nobody', () => {
    const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
    const far: ScenarioPlan = {
      ref: 'far',
      kind: 'demolish_wall',
      name: 'far',
      geometry: {
        type: 'LineString',
        coordinates: [
          [104.09, 30.7],
          [104.091, 30.7],
        ],
      },
    };
    const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, [far]);
    expect(ev.scenario.graphChanged).toBe(false);
    expect(ev.scenario.barriersChanged).toBe(false);
    for (const r of ev.rules) expect(r.coveredAfter).toBe(r.coveredBefore);
  });
});

describe('scenario: demolish_illegal', () => {
  it('cleared-site-joins-parallel-streets: a link across the cleared block replaces the 600 m detour', () => {
    const fx = fixtureEngine(readFixture('cleared-site-joins-parallel-streets'));
    const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, fx.plans);
    const [d] = ruleDistances(ev, 'park_500');
    expect(d.before).toBeGreaterThan(600);
    expect(d.after).toBeLessThan(150);
    expect(ev.scenario.effects[0].linksAdded).toBeGreaterThan(0);
    // the links stay within the site: none is longer than the diagonal of the site plus its reach
    const g = ev.scenario.net.graph;
    for (let e = ev.scenario.linkStart; e < g.edgeCount; e++) expect(g.edgeLengthM[e]).toBeLessThanOrEqual(150);
    expect(ev.scenario.addedFacilities).toHaveLength(0);
  });

  it('cleared-site-becomes-open-space: with becomes_open_space the site is also a facility', () => {
    const fx = fixtureEngine(readFixture('cleared-site-becomes-open-space'));
    const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, fx.plans);
    expect(ev.scenario.addedFacilities).toHaveLength(1);
    // 60 m × 44 m = 2640 m²: a green space, not a park
    expect(ev.scenario.addedFacilities[0].category).toBe('green_space');
    // the nearest outline access point, (320, 8), snaps 8 m onto the south street: 8 + 20 + 15 m
    expect(ruleDistances(ev, 'green_300')[0].after).toBeCloseTo(43, 0);
  });
});

describe('scenario: applying plans', () => {
  it('the plan order does not matter', () => {
    const r = randomEngine(41);
    const c = r.net.graph.edgeCoords;
    const d = 0.0006;
    const cleared: ScenarioPlan = {
      ref: 'x',
      kind: 'demolish_illegal',
      name: 'x',
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [c[0] - d, c[1] - d],
            [c[0] + d, c[1] - d],
            [c[0] + d, c[1] + d],
            [c[0] - d, c[1] + d],
            [c[0] - d, c[1] - d],
          ],
        ],
      },
    };
    const plans = [cleared, ...r.squares.slice(0, 2)];
    const a = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, plans, { marginal: false });
    const b = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, [...plans].reverse(), {
      marginal: false,
    });
    expect(b.rules.map((x) => x.coveredAfter)).toEqual(a.rules.map((x) => x.coveredAfter));
  });
});

import { describe, expect, it } from 'vitest';
import { fixtureEngine, hashOf, PARK_CITY, randomEngine, readFixture } from '../fixtures/scenario-fixture.ts';
import { makeLocalProjection } from '../geodesy.ts';
import { CHENGDU_PARK_CITY } from '../rules/index.ts';
import { evaluateScenario } from './evaluate.ts';
import type { ScenarioPlan } from './plan.ts';
import { suggestPlans } from './suggest.ts';

describe('scenario: the baseline is only read', () => {
  it('graph arrays, indexes, barriers, compounds, facilities, fields and snaps hash the same after evaluation', () => {
    const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
    const pr = makeLocalProjection(104.06, 30.66);
    const P = (x: number, y: number) => [pr.toLng(x), pr.toLat(y)];
    const plans: ScenarioPlan[] = [
      ...fx.plans,
      {
        ref: 'i',
        kind: 'demolish_illegal',
        name: 'i',
        becomesOpenSpace: true,
        geometry: { type: 'Polygon', coordinates: [[P(360, 100), P(390, 100), P(390, 200), P(360, 200), P(360, 100)]] },
      },
      {
        ref: 'o',
        kind: 'add_open_space',
        name: 'o',
        geometry: { type: 'Polygon', coordinates: [[P(410, 40), P(480, 40), P(480, 110), P(410, 110), P(410, 40)]] },
      },
    ];
    const state = () =>
      hashOf(
        fx.net.graph,
        fx.net.snapIndex,
        fx.net.barriers,
        fx.net.edgeDbId,
        fx.net.edgeIsPrivate,
        fx.net.compounds,
        fx.net.facilities,
        [...fx.fields.values()].map((f) => [
          f.result.dist,
          f.result.source,
          f.result.predArc,
          f.result.reached,
          f.facilities.length,
          f.shapeLng,
        ]),
        fx.snaps,
      );
    const before = state();
    const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, plans, {
      includeChangedEdges: true,
    });
    expect(ev.scenario.graphChanged).toBe(true);
    expect(ev.scenario.net.graph).not.toBe(fx.net.graph);
    suggestPlans(fx.net, fx.fields, CHENGDU_PARK_CITY, CHENGDU_PARK_CITY.rules[1], fx.origins, fx.snaps, plans, 2);
    expect(state()).toBe(before);
  });
});

describe('scenario: marginal gains', () => {
  it('marginal gains of open spaces: each is the population only it covers, so they sum to at most the total', () => {
    for (let seed = 21; seed <= 26; seed++) {
      const r = randomEngine(seed);
      const ev = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, r.squares);
      for (const rule of ev.rules) {
        const sum = rule.marginal!.reduce((s, m) => s + m.gain, 0);
        expect(sum).toBeLessThanOrEqual(rule.coveredAfter - rule.coveredBefore + 1e-9);
        for (const m of rule.marginal!) expect(m.gain).toBeGreaterThanOrEqual(0);
      }
    }
  });
});

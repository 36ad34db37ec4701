import { describe, expect, it } from 'vitest';
import { PARK_CITY, randomEngine } from '../fixtures/scenario-fixture.ts';
import { CHENGDU_PARK_CITY } from '../rules/index.ts';
import { evaluateScenario } from './evaluate.ts';
import { suggestPlans } from './suggest.ts';

describe('suggestions: oracles', () => {
  it('greedy suggestion agrees with enumeration on open spaces, and the optimum is never below greedy', () => {
    for (let seed = 51; seed <= 56; seed++) {
      const r = randomEngine(seed);
      const rule = CHENGDU_PARK_CITY.rules[0];
      const s = suggestPlans(r.net, r.fields, CHENGDU_PARK_CITY, rule, r.origins, r.snaps, r.squares, 2);
      expect(s.enumeration).toBe('done');
      expect(s.optimalityGap).toBeGreaterThanOrEqual(0);
      // brute force through full scenario evaluations
      let best = 0;
      for (let i = 0; i < r.squares.length; i++) {
        for (let j = i + 1; j < r.squares.length; j++) {
          const ev = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, [r.squares[i], r.squares[j]], {
            marginal: false,
          });
          const rr = ev.rules.find((x) => x.ruleId === rule.id)!;
          best = Math.max(best, rr.coveredAfter - rr.coveredBefore);
        }
      }
      expect(s.optimum!.total).toBeCloseTo(best, 6);
      const picked = r.squares.filter((q) => s.picks.some((p) => p.ref === q.ref));
      const ev = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, picked, { marginal: false });
      const rr = ev.rules.find((x) => x.ruleId === rule.id)!;
      expect(s.greedyTotal).toBeCloseTo(rr.coveredAfter - rr.coveredBefore, 6);
    }
  });
});

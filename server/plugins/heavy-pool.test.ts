import { describe, expect, it } from 'vitest';
import { testRandom } from '../../geo/fixtures/random-walk-graph.ts';
import { maxCandidatesWithin, suggestCost } from './heavy-pool.ts';

describe('maxCandidatesWithin', () => {
  it('is the largest candidate count within the budget, as a naive count upwards finds it', () => {
    const r = testRandom(2014);
    for (let trial = 0; trial < 300; trial++) {
      const budget = trial % 10 === 0 ? r.int(0, 5) : r.int(1, 30_000);
      const k = r.int(1, 10);
      const reach = trial % 7 === 0 ? 4 + r.int(0, 8) * 0.25 : 0.05 + r.float() * 12;
      let naive = 0;
      while (suggestCost(naive + 1, k, reach) <= budget) naive++;
      expect(maxCandidatesWithin(budget, k, reach), `budget ${budget}, k ${k}, reach ${reach}`).toBe(naive);
    }
  });

  it("allows none of issue 14's 200,000 m² sites at a budget below one, and the budget over one's cost at the default 20,000", () => {
    // reach of a 447 m square grown by 1 km each side: 2.894² km²; k = 10 doubles it
    const reach = ((Math.sqrt(200_000) + 2000) / 1000) ** 2;
    expect(maxCandidatesWithin(11, 10, reach)).toBe(0);
    expect(maxCandidatesWithin(20_000, 10, reach)).toBe(Math.floor(20_000.5 / (2 * reach)));
  });
});

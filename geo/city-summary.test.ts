import { describe, expect, it } from 'vitest';
import { cityRuleFigures, type AreaRuleFigures } from './city-summary.ts';
import { testRandom } from './fixtures/random-walk-graph.ts';

/** Oracle: every resident as one record, the share counted person by person. */
function residentCount(areas: { rules: Record<string, AreaRuleFigures | undefined> }[], ruleId: string) {
  const residents: { covered: boolean; straight: boolean }[] = [];
  let noData = false;
  for (const a of areas) {
    const r = a.rules[ruleId];
    if (!r) continue;
    noData ||= r.no_data;
    for (let i = 0; i < r.population; i++)
      residents.push({ covered: i < r.covered_population, straight: i < r.straight_covered_population });
  }
  const n = residents.length;
  return {
    population: n,
    share: n ? residents.filter((p) => p.covered).length / n : null,
    straightShare: n ? residents.filter((p) => p.straight).length / n : null,
    noData,
  };
}

describe('cityRuleFigures', () => {
  it('equals counting residents one by one, on random area rows', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rnd = testRandom(seed);
      const areas = Array.from({ length: rnd.int(0, 40) }, () => {
        const rules: Record<string, AreaRuleFigures | undefined> = {};
        for (const id of ['park', 'green']) {
          if (rnd.float() < 0.15) continue; // the rule is missing from this row
          const population = rnd.int(0, 500);
          rules[id] = {
            population,
            covered_population: rnd.int(0, population),
            straight_covered_population: rnd.int(0, population),
            no_data: rnd.float() < 0.05,
          };
        }
        return { rules };
      });
      for (const id of ['park', 'green', 'absent']) {
        const got = cityRuleFigures(areas, id);
        const want = residentCount(areas, id);
        expect(got.population).toBe(want.population);
        expect(got.noData).toBe(want.noData);
        if (want.share === null) expect(got.share).toBeNull();
        else expect(got.share).toBeCloseTo(want.share, 12);
        if (want.straightShare === null) expect(got.straightShare).toBeNull();
        else expect(got.straightShare).toBeCloseTo(want.straightShare, 12);
      }
    }
  });

  it('weights by residents, not by area: a mean of area shares would say 50 %', () => {
    const areas = [
      {
        rules: { park: { population: 900, covered_population: 900, straight_covered_population: 900, no_data: false } },
      },
      { rules: { park: { population: 100, covered_population: 0, straight_covered_population: 0, no_data: false } } },
    ];
    expect(cityRuleFigures(areas, 'park').share).toBe(0.9);
  });
});

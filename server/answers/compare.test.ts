import { describe, expect, it } from 'vitest';
import { compareAreaFigures, compareAreas, type AreaRuleFigures } from './compare.ts';

/** mulberry32: a seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function figures(rnd: () => number, areas: number, rules: string[], keep: number): AreaRuleFigures[] {
  const out: AreaRuleFigures[] = [];
  for (let a = 1; a <= areas; a++) {
    if (rnd() > keep) continue;
    for (const rule_id of rules) {
      const population = Math.round(rnd() * 5000);
      const covered = Math.round(rnd() * population);
      out.push({
        area_key: String(a),
        area_name: `area ${a}`,
        rule_id,
        measure: 'population',
        share: population === 0 ? null : covered / population,
        population,
        covered_population: covered,
      });
    }
  }
  return out;
}

describe('compareAreaFigures', () => {
  it('a run against itself: every change is zero, every row kept', () => {
    const rnd = random(15);
    const run = figures(rnd, 40, ['park', 'elderly_care', 'school'], 1);
    const rows = compareAreaFigures(run, run);
    expect(rows).toHaveLength(run.length);
    for (const r of rows) {
      expect(r.covered_change).toBe(0);
      expect(r.share_change).toBe(r.share_before === null ? null : 0);
      expect(r.share_before).toBe(r.share_after);
    }
  });

  it('agrees with a naive lookup on seeded random runs with areas missing on either side', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = random(seed);
      const before = figures(rnd, 30, ['park', 'school'], 0.8);
      const after = figures(rnd, 30, ['park', 'school'], 0.8);
      const rows = compareAreaFigures(before, after);
      const keys = new Set([...before, ...after].map((r) => `${r.area_key}/${r.rule_id}`));
      expect(rows).toHaveLength(keys.size);
      for (const row of rows) {
        const b = before.find((r) => r.area_key === row.area_key && r.rule_id === row.rule_id);
        const a = after.find((r) => r.area_key === row.area_key && r.rule_id === row.rule_id);
        expect(row.share_before).toBe(b ? b.share : null);
        expect(row.share_after).toBe(a ? a.share : null);
        expect(row.covered_change).toBe(a && b ? a.covered_population - b.covered_population : null);
        expect(row.share_change).toBe(a && b && a.share !== null && b.share !== null ? a.share - b.share : null);
      }
      // swapping the runs negates every change
      const swapped = compareAreaFigures(after, before);
      expect(swapped.map((r) => r.covered_change)).toEqual(
        rows.map((r) => (r.covered_change === null ? null : -r.covered_change || 0)),
      );
    }
  });

  it('orders rows by numeric area key, then rule', () => {
    const one = (area_key: string, rule_id: string): AreaRuleFigures => ({
      area_key,
      area_name: null,
      rule_id,
      measure: 'population',
      share: 1,
      population: 1,
      covered_population: 1,
    });
    const rows = compareAreaFigures([one('10', 'b'), one('9', 'a')], [one('10', 'a')]);
    expect(rows.map((r) => `${r.area_key}/${r.rule_id}`)).toEqual(['9/a', '10/a', '10/b']);
  });
});

describe('compareAreas', () => {
  it("groups the rows by area; the side is where the area has figures, the caveats are each side's (seeded oracle)", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = random(seed);
      const rules = ['park', 'elderly_care'];
      const before = figures(rnd, 30, rules, 0.7);
      const after = figures(rnd, 30, rules, 0.7);
      const caveats = (rows: AreaRuleFigures[]) =>
        [...new Set(rows.map((r) => r.area_key))].map((k) => ({
          area_key: k,
          population_estimated: rnd() < 0.5,
          is_approximate: rnd() < 0.3,
        }));
      const [cb, ca] = [caveats(before), caveats(after)];
      const areas = compareAreas(compareAreaFigures(before, after), cb, ca);
      const keys = new Set([...before, ...after].map((r) => r.area_key));
      expect(areas.map((a) => a.area_key).sort()).toEqual([...keys].sort());
      for (const a of areas) {
        // naive: look the area up in each run directly
        const inBefore = before.some((r) => r.area_key === a.area_key);
        const inAfter = after.some((r) => r.area_key === a.area_key);
        expect(a.side).toBe(inBefore && inAfter ? 'both' : inBefore ? 'from_only' : 'to_only');
        expect(Object.keys(a.rules).sort()).toEqual([...rules].sort());
        for (const [rule, row] of Object.entries(a.rules)) {
          expect(row.area_key).toBe(a.area_key);
          expect(row.rule_id).toBe(rule);
        }
        const b = cb.find((c) => c.area_key === a.area_key);
        const f = ca.find((c) => c.area_key === a.area_key);
        expect(a.population_estimated_before).toBe(b ? b.population_estimated : null);
        expect(a.population_estimated_after).toBe(f ? f.population_estimated : null);
        expect(a.is_approximate).toBe(Boolean(b?.is_approximate || f?.is_approximate));
      }
    }
  });
});

import { createExpression } from '@maplibre/maplibre-gl-style-spec';
import type { ExpressionSpecification } from 'maplibre-gl';
import { describe, expect, it } from 'vitest';
import { testRandom } from '../../geo/fixtures/random-walk-graph.ts';
import type { Rule, RuleSet } from '../api/types.ts';
import { BEYOND_CAP_COLOR, DISTANCE_CLASSES, UNREACHABLE_COLOR } from '../palette.ts';
import { FIFTEEN_MINUTE_WALK_M } from '../rules.ts';
import { WORST } from '../state.ts';
import { networkColouring, networkLayers, type NetworkColouring } from './network.ts';

const rule = (id: string, tiers: [string[], number][]): Rule => ({
  id,
  zh: id,
  en: id,
  target_share: 0.9,
  citation: 'test',
  note: null,
  measure: 'population',
  population_group: 'all',
  judges: null,
  tiers: tiers.map(([categories, max]) => ({
    categories,
    min_area_m2: null,
    max_area_m2: null,
    max_distance_m: max,
    citation: null,
  })),
});
// Two tiers for one rule (either meets it), a category shared by two rules, one rule of one category.
const RULE_SET: RuleSet = {
  id: 'test',
  zh: 'test',
  en: 'test',
  version: '1',
  citation: 'test',
  note: null,
  built_in: true,
  rules: [
    rule('green_300', [[['green', 'park'], 300]]),
    rule('park_tiers', [
      [['park'], 500],
      [['big_park'], 1000],
    ]),
    rule('elderly_care_500', [[['elderly_care'], 500]]),
  ],
};
const CATEGORIES = ['green', 'park', 'big_park', 'elderly_care', 'school'];

/** A street's tile attributes: metres, -1 beyond the cap, absent when no facility is in its piece of network. */
type Street = Record<string, number>;

function evaluate(expression: unknown, street: Street): unknown {
  const parsed = createExpression(expression, 'layers[0].paint.line-color');
  if (parsed.result !== 'success') throw new Error(JSON.stringify(parsed.value));
  return parsed.value.evaluate({ zoom: 14 }, { type: 'LineString', properties: street } as never);
}

// The oracle: the same meaning written plainly (no_path counts as 1e9 m, beyond_cap as 1e6 m).
const metres = (street: Street, category: string) =>
  street[category] === undefined ? 1e9 : street[category] === -1 ? 1e6 : street[category];
function naiveRatio(street: Street, category: string, skip: ReadonlySet<string>): number {
  if (category !== WORST) {
    // the rule that judges a category: a single-category tier first (park_tiers for park), then its largest tier naming it
    const single = RULE_SET.rules.find((r) =>
      r.tiers.some((t) => t.categories.length === 1 && t.categories.includes(category)),
    );
    const judging = single ?? RULE_SET.rules.find((r) => r.tiers.some((t) => t.categories.includes(category)));
    const limit = judging
      ? Math.max(...judging.tiers.filter((t) => t.categories.includes(category)).map((t) => t.max_distance_m))
      : null;
    return metres(street, category) / (limit ?? FIFTEEN_MINUTE_WALK_M);
  }
  const kept = RULE_SET.rules.filter((r) => !skip.has(r.id));
  let worst = -Infinity;
  for (const r of kept.length ? kept : RULE_SET.rules) {
    let best = Infinity;
    for (const t of r.tiers)
      best = Math.min(best, Math.min(...t.categories.map((c) => metres(street, c))) / t.max_distance_m);
    worst = Math.max(worst, best);
  }
  return worst;
}
function naiveColour(ratio: number): string {
  if (ratio >= 1e9 / 100_000) return UNREACHABLE_COLOR;
  if (ratio >= 1e6 / 100_000) return BEYOND_CAP_COLOR;
  return DISTANCE_CLASSES.find((c) => ratio <= c.upTo)!.color;
}

function randomStreet(random: ReturnType<typeof testRandom>): Street {
  const street: Street = {};
  for (const c of CATEGORIES) {
    const roll = random.int(0, 9);
    if (roll === 0) continue; // no path
    street[c] =
      roll === 1
        ? -1
        : roll === 2
          ? [150, 300, 500, 1000][random.int(0, 3)]
          : Math.round(random.float() * 300_000) / 100;
  }
  return street;
}

describe('network colouring (MapLibre expressions evaluated by the style spec, against a plain oracle)', () => {
  const cases: [string, ReadonlySet<string>][] = [
    ...CATEGORIES.map((c): [string, ReadonlySet<string>] => [c, new Set()]),
    [WORST, new Set()],
    [WORST, new Set(['elderly_care_500'])],
    [WORST, new Set(RULE_SET.rules.map((r) => r.id))],
  ];
  for (const [category, skip] of cases) {
    it(`${category}${skip.size ? ` without ${[...skip].join(', ')}` : ''}: ratio and colour per street`, () => {
      const c: NetworkColouring = networkColouring(RULE_SET, category, skip);
      const colour = networkLayers(c)[0].paint as { 'line-color': ExpressionSpecification };
      const random = testRandom(category.length * 31 + skip.size);
      for (let k = 0; k < 300; k++) {
        const street = randomStreet(random);
        const want = naiveRatio(street, category, skip);
        expect(evaluate(c.ratio, street), JSON.stringify(street)).toBeCloseTo(want, 9);
        expect(evaluate(colour['line-color'], street), `${JSON.stringify(street)} ratio ${want}`).toBe(
          naiveColour(want),
        );
      }
    });
  }

  it('a street exactly at the limit is in the class that ends at the limit', () => {
    const c = networkColouring(RULE_SET, 'elderly_care');
    expect(c).toMatchObject({ limitM: 500, fromRule: true });
    const colour = (networkLayers(c)[0].paint as { 'line-color': ExpressionSpecification })['line-color'];
    expect(evaluate(colour, { elderly_care: 500 })).toBe(DISTANCE_CLASSES.find((k) => k.upTo === 1)!.color);
    expect(evaluate(colour, { elderly_care: 500.01 })).toBe(DISTANCE_CLASSES.find((k) => k.upTo === 1.5)!.color);
  });

  it('a category no rule names takes the 15-minute reference limit', () => {
    expect(networkColouring(RULE_SET, 'school')).toMatchObject({ limitM: FIFTEEN_MINUTE_WALK_M, fromRule: false });
  });
});

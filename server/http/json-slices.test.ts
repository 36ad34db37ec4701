import { describe, expect, it } from 'vitest';
import { jsonSlices } from './json-slices.ts';

const collect = async (g: AsyncGenerator<string>) => {
  let s = '';
  for await (const piece of g) s += piece;
  return s;
};

describe('jsonSlices', () => {
  // oracle: JSON.stringify of the same object, byte for byte
  const area = (i: number) => ({
    area_key: String(i),
    name: `区 ${i} "q"\n`,
    share: i / 7,
    ok: i % 2 === 0,
    gone: undefined,
  });
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'array last',
      { rule_set: 'x', level: 'community', skip: undefined, areas: Array.from({ length: 1000 }, (_, i) => area(i)) },
      'areas',
    ],
    ['array first', { features: Array.from({ length: 3 }, (_, i) => area(i)), type: 'FeatureCollection' }, 'features'],
    ['array in the middle, empty', { a: 1, areas: [], b: [null, 2] }, 'areas'],
    ['undefined and function elements', { areas: [undefined, () => 1, 3], z: null }, 'areas'],
    ['only the array', { areas: [1, 2, 3] }, 'areas'],
  ];
  it.each(cases)('%s: equals JSON.stringify', async (_, body, key) => {
    for (const perSlice of [1, 2, 128])
      expect(await collect(jsonSlices(body, key, perSlice))).toBe(JSON.stringify(body));
  });

  it('gives the event loop a turn between slices', async () => {
    const body = { areas: Array.from({ length: 10 }, (_, i) => i) };
    const order: string[] = [];
    const reading = (async () => {
      for await (const piece of jsonSlices(body, 'areas', 2)) order.push(piece.length ? 'slice' : 'empty');
    })();
    setImmediate(() => order.push('other'));
    await reading;
    // another callback ran before the last slice, not after the whole answer
    expect(order.indexOf('other')).toBeGreaterThan(0);
    expect(order.indexOf('other')).toBeLessThan(order.length - 1);
  });
});

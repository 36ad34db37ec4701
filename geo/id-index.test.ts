import { describe, expect, it } from 'vitest';
import { IdIndex } from './id-index.ts';

describe('IdIndex', () => {
  it('answers as a Map does, across growth, for small, large and colliding ids', () => {
    const index = new IdIndex(4);
    const map = new Map<number, number>();
    let x = 12345;
    const ids: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      // dense small ids, ids past 2^32, ids that differ only above bit 32, and near 2^53
      const id = [i, 2 ** 32 + x, x * 2 ** 20, 2 ** 53 - 1 - i][i % 4];
      ids.push(id);
      index.set(id, i);
      map.set(id, i);
    }
    expect(index.size).toBe(map.size);
    expect(ids.map((id) => index.get(id))).toEqual(ids.map((id) => map.get(id)));
    for (const id of [7.5e15, 123456789, -1 + 2 ** 40]) expect(index.get(id)).toBe(map.get(id));
    expect(new Map(index)).toEqual(map);
    expect(() => index.set(-3, 1)).toThrow(/non-negative integer/);
  });
});

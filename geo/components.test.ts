import { describe, expect, it } from 'vitest';
import { nodesInLargeComponents } from './components.ts';

/** Naive oracle: breadth-first search from every node. */
function naive(n: number, from: number[], to: number[], minNodes: number): number[] {
  const adj: number[][] = Array.from({ length: n }, () => []);
  from.forEach((f, e) => {
    adj[f].push(to[e]);
    adj[to[e]].push(f);
  });
  const comp = new Array(n).fill(-1);
  const sizes: number[] = [];
  for (let s = 0; s < n; s++) {
    if (comp[s] >= 0) continue;
    const c = sizes.length;
    let count = 0;
    const queue = [s];
    comp[s] = c;
    while (queue.length) {
      const u = queue.pop()!;
      count++;
      for (const v of adj[u]) if (comp[v] < 0) ((comp[v] = c), queue.push(v));
    }
    sizes.push(count);
  }
  const largest = sizes.indexOf(Math.max(...sizes));
  return comp.map((c) => (sizes[c] >= minNodes || c === largest ? 1 : 0));
}

describe('nodesInLargeComponents', () => {
  it('agrees with breadth-first search on seeded random graphs', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let t = 0; t < 50; t++) {
      const n = 1 + Math.floor(rand() * 200);
      const m = Math.floor(rand() * n * 1.2);
      const from: number[] = [];
      const to: number[] = [];
      for (let e = 0; e < m; e++) {
        from.push(Math.floor(rand() * n));
        to.push(Math.floor(rand() * n));
      }
      const minNodes = 1 + Math.floor(rand() * 30);
      expect(Array.from(nodesInLargeComponents(n, from, to, minNodes))).toEqual(naive(n, from, to, minNodes));
    }
  });

  it('always keeps the largest piece, even when it is small', () => {
    expect(Array.from(nodesInLargeComponents(5, [0, 1, 3], [1, 2, 4], 50))).toEqual([1, 1, 1, 0, 0]);
  });
});

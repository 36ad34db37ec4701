import { describe, expect, it } from 'vitest';
import { gridOver, gridPointsInside } from './candidate-sites.ts';
import { testRandom } from './fixtures/random-walk-graph.ts';

describe('gridPointsInside', () => {
  it('counts exactly the points a naive walk over the generated grid finds inside the box (seeded grids and boxes)', () => {
    const r = testRandom(1414);
    let inside = 0,
      outside = 0;
    for (let trial = 0; trial < 400; trial++) {
      const lng0 = -170 + r.float() * 340,
        lat0 = -70 + r.float() * 140;
      const w = 0.001 + r.float() * 0.2,
        h = 0.001 + r.float() * 0.2;
      const grid = gridOver([lng0, lat0, lng0 + w, lat0 + h], 50 + r.float() * 950);
      // boxes around, across, inside and beyond the grid, some with a corner on a grid point
      const bx = lng0 - w * 0.5 + r.float() * w * 1.5,
        by = lat0 - h * 0.5 + r.float() * h * 1.5;
      const onPoint = trial % 5 === 0;
      const box: [number, number, number, number] = onPoint
        ? [grid.originLng + grid.stepLng * r.int(0, 3), grid.originLat + grid.stepLat * r.int(0, 3), bx + w, by + h]
        : [bx, by, bx + r.float() * w, by + r.float() * h];
      // the points exactly as the grid query makes them: origin + index × step
      let naive = 0;
      for (let i = 0; i < grid.nx; i++) {
        for (let j = 0; j < grid.ny; j++) {
          const x = grid.originLng + i * grid.stepLng,
            y = grid.originLat + j * grid.stepLat;
          if (x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3]) naive++;
        }
      }
      expect(gridPointsInside(grid, box), `trial ${trial}`).toBe(naive);
      if (naive > 0) inside++;
      else outside++;
    }
    // the trials covered both kinds of box
    expect(inside).toBeGreaterThan(50);
    expect(outside).toBeGreaterThan(20);
  });

  it('counts the whole grid for a box around it and none for a box beside it', () => {
    const grid = gridOver([104, 30.6, 104.1, 30.7], 150);
    expect(gridPointsInside(grid, [103, 30, 105, 31])).toBe(grid.nx * grid.ny);
    expect(gridPointsInside(grid, [104.2, 30.6, 104.3, 30.7])).toBe(0);
    expect(gridPointsInside(grid, [Infinity, Infinity, -Infinity, -Infinity])).toBe(0);
  });
});

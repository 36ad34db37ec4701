import { booleanPointInPolygon, point } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import { createSearch, seedsFromSnaps } from './dijkstra.ts';
import { randomEdgeSnap, randomWalkGraph, testRandom } from './fixtures/random-walk-graph.ts';
import { linePointAtFraction } from './geodesy.ts';
import { buildGraph } from './graph.ts';
import { BAND_FRONTAGE_M, distanceOnEdge, isochroneBands } from './isochrone-bands.ts';
import { isochrone } from './isochrone.ts';
import type { EdgeSnap } from './snap.ts';

describe('isochroneBands', () => {
  it("puts every point of a street reached within a limit inside that limit's polygon (random graphs, one-way and mid-edge sources)", () => {
    let checked = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const random = testRandom(seed);
      const g = buildGraph(
        randomWalkGraph(random, {
          nodeCount: random.int(10, 60),
          edgeCount: random.int(20, 120),
          components: 1,
          oneWayShare: 0.3,
          noThroughShare: 0.1,
        }),
      );
      const sources: EdgeSnap[] = [];
      for (let i = random.int(1, 3); i > 0; i--)
        sources.push(randomEdgeSnap(random, g, random.int(0, g.edgeCount - 1)));
      const limits = [300, 500, 1000];
      const result = createSearch(g).run(
        seedsFromSnaps(
          g,
          sources,
          sources.map((_, i) => i),
        ),
        1000,
      );
      const bands = isochroneBands(g, result, limits);
      expect(bands.cellM).toBeLessThanOrEqual(BAND_FRONTAGE_M / 2);
      for (const band of bands.bands) {
        const iso = isochrone(g, result, band.limitM);
        if (!iso.pieceEdge.length) {
          expect(band.polygon).toBeNull();
          continue;
        }
        expect(band.polygon, `seed ${seed} limit ${band.limitM}`).not.toBeNull();
        iso.lines.geometry.coordinates.forEach((line, p) => {
          for (let f = 0; f <= 1; f += 0.125) {
            const at = linePointAtFraction(line.flat(), 0, line.length, f);
            const alongM = iso.pieceFromM[p] + f * (iso.pieceToM[p] - iso.pieceFromM[p]);
            expect(distanceOnEdge(g, result, iso.pieceEdge[p], alongM)).toBeLessThanOrEqual(band.limitM + 1e-6);
            expect(
              booleanPointInPolygon(point(at), band.polygon!),
              `seed ${seed} limit ${band.limitM} piece ${p} at ${f}`,
            ).toBe(true);
            checked++;
          }
        });
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("nests: a smaller limit's polygon lies inside a larger one's", () => {
    const random = testRandom(5);
    const g = buildGraph(
      randomWalkGraph(random, { nodeCount: 50, edgeCount: 100, components: 1, oneWayShare: 0, noThroughShare: 0 }),
    );
    const s = randomEdgeSnap(random, g, 3);
    const result = createSearch(g).run(seedsFromSnaps(g, [s], [0]), 1000);
    const { bands } = isochroneBands(g, result, [300, 1000]);
    expect(bands[0].polygon).not.toBeNull();
    for (const poly of bands[0].polygon!.geometry.coordinates) {
      for (const [lng, lat] of poly[0]) expect(booleanPointInPolygon(point([lng, lat]), bands[1].polygon!)).toBe(true);
    }
    expect(() => isochroneBands(g, result, [])).toThrow(RangeError);
  });
});

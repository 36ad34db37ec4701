import { describe, expect, it } from 'vitest';
import { CATEGORIES, type CategoryId } from './categories.ts';
import {
  computeFields,
  evaluateCoverage,
  evaluateCoverageCompact,
  originResult,
  snapOrigin,
  type EngineNetwork,
  type EngineOrigin,
} from './coverage.ts';
import type { EngineFacility } from './distance-field.ts';
import { referenceEvaluateCoverage } from './fixtures/coverage-reference.ts';
import { randomWalkGraph, testRandom } from './fixtures/random-walk-graph.ts';
import { buildGraph } from './graph.ts';
import { RULE_SETS } from './rules/index.ts';
import { buildSnapIndex } from './snap.ts';

/**
 * A random town for every built-in rule set: several street pieces (some with no facility: no
 * path), facilities of every category (parks and green spaces with square polygons of random
 * sizes, so size bands and "inside the park" both occur; some categories empty: no data), and
 * origins with imported or estimated group counts, land areas, edge-of-data flags, areas at some
 * levels only, and a few far off the network (unsnapped).
 */
function randomTown(seed: number) {
  const random = testRandom(seed);
  const graph = buildGraph(
    randomWalkGraph(random, { nodeCount: 400, edgeCount: 900, components: 3, oneWayShare: 0.2, maxBends: 2 }),
  );
  let lng0 = Infinity,
    lat0 = Infinity,
    lng1 = -Infinity,
    lat1 = -Infinity;
  for (let v = 0; v < graph.nodeCount; v++) {
    lng0 = Math.min(lng0, graph.nodeLng[v]);
    lng1 = Math.max(lng1, graph.nodeLng[v]);
    lat0 = Math.min(lat0, graph.nodeLat[v]);
    lat1 = Math.max(lat1, graph.nodeLat[v]);
  }
  const pick = () => [lng0 + (lng1 - lng0) * random.float(), lat0 + (lat1 - lat0) * random.float()];
  // a couple of categories left without any facility (their rules are no_data)
  const empty = new Set([CATEGORIES[3 + random.int(0, 4)].id, CATEGORIES[8 + random.int(0, 3)].id]);
  const facilities: EngineFacility[] = [];
  for (const c of CATEGORIES) {
    if (empty.has(c.id)) continue;
    for (let k = random.int(1, 4); k > 0; k--) {
      const [lng, lat] = pick();
      const f: EngineFacility = {
        id: facilities.length + 1,
        category: c.id as CategoryId,
        name: null,
        areaM2: null,
        isSample: false,
        lng,
        lat,
        accessLng: Float64Array.of(lng),
        accessLat: Float64Array.of(lat),
        shapeLng: Float64Array.of(lng),
        shapeLat: Float64Array.of(lat),
      };
      if (c.areal) {
        const d = 0.0003 + 0.004 * random.float(); // ~30 m to ~450 m across
        const ring = [lng, lat, lng + d, lat, lng + d, lat + d, lng, lat + d, lng, lat];
        f.areaM2 = (d * 111_000) ** 2 * 0.86;
        f.polygon = { ringCoords: Float64Array.from(ring), ringOffsets: Uint32Array.of(0, 5) };
        f.shapeLng = Float64Array.from(ring.filter((_, i) => i % 2 === 0));
        f.shapeLat = Float64Array.from(ring.filter((_, i) => i % 2 === 1));
        f.accessLng = Float64Array.of(lng, lng + d);
        f.accessLat = Float64Array.of(lat, lat + d);
      }
      facilities.push(f);
    }
  }
  const net: EngineNetwork = {
    graph,
    snapIndex: buildSnapIndex(graph),
    barriers: undefined,
    edgeDbId: Float64Array.from({ length: graph.edgeCount }, (_, e) => e + 1),
    edgeIsPrivate: new Uint8Array(graph.edgeCount),
    compounds: [],
    facilities,
  };
  const origins: EngineOrigin[] = Array.from({ length: 700 }, (_, i) => {
    const far = random.int(0, 40) === 0;
    const [lng, lat] = far ? [lng1 + 0.05, lat1 + 0.05] : pick();
    const population = random.int(0, 60);
    const imported = random.int(0, 2) === 0;
    return {
      id: 1000 + i,
      lng,
      lat,
      population,
      compound: -1,
      areas: {
        residential_area: random.int(0, 9) === 0 ? null : { key: `ra${random.int(0, 30)}`, name: `RA` },
        community: { key: `c${random.int(0, 6)}`, name: null },
        street: random.int(0, 1) ? { key: `s${random.int(0, 2)}`, name: 'S' } : null,
        district: { key: 'd', name: 'D' },
      },
      nearDataEdge: random.int(0, 5) === 0,
      landAreaM2: random.int(0, 3) === 0 ? undefined : 50 * random.float() * 100,
      elderly: imported ? random.int(0, population) : null,
      children: imported ? random.int(0, population) : undefined,
    };
  });
  const snaps = origins.map((o) => snapOrigin(net, o.lng, o.lat, o.compound));
  return { net, origins, snaps, fields: computeFields(net, RULE_SETS) };
}

describe('evaluateCoverageCompact', () => {
  it('equals the per-object oracle on random towns, every origin, rule and area', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const t = randomTown(seed);
      const reference = referenceEvaluateCoverage(t.net, t.fields, RULE_SETS, t.origins, t.snaps);
      const compact = evaluateCoverageCompact(t.net, t.fields, RULE_SETS, t.origins, t.snaps);
      expect(compact.map((c) => [c.ruleSetId, c.ruleId, c.noData])).toEqual(
        reference.map((c) => [c.ruleSetId, c.ruleId, c.noData]),
      );
      compact.forEach((c, r) => {
        expect(t.origins.map((_, i) => originResult(c.results, i))).toStrictEqual(reference[r].origins);
        expect(c.areas).toStrictEqual(reference[r].areas);
      });
      // the object form is the compact one materialised
      expect(evaluateCoverage(t.net, t.fields, RULE_SETS, t.origins, t.snaps)).toStrictEqual(reference);
      // the towns exercise every branch the combination has
      const outcomes = new Set(compact.flatMap((c) => t.origins.map((_, i) => originResult(c.results, i).outcome)));
      expect([...outcomes].sort()).toEqual(['beyond_cap', 'distance', 'no_data', 'no_path']);
      expect(compact.some((c) => t.origins.some((_, i) => c.results.networkM[i] === 0))).toBe(true);
    }
  });

  it('gives no areas for no origins, as the oracle does', () => {
    const t = randomTown(7);
    expect(evaluateCoverageCompact(t.net, t.fields, RULE_SETS, [], []).map((c) => c.areas)).toEqual(
      referenceEvaluateCoverage(t.net, t.fields, RULE_SETS, [], []).map((c) => c.areas),
    );
  });
});

import type { Feature, FeatureCollection, Point } from 'geojson';
import { describe, expect, it } from 'vitest';
import { evaluateCoverage } from './coverage.ts';
import { createSearch, seedsFromSnaps } from './dijkstra.ts';
import { expectGolden, goldenCases, readGoldenInput, type GoldenInput } from './fixtures/golden.ts';
import { fixtureEngine, PARK_CITY, scenarioGeojson, type Fixture } from './fixtures/scenario-fixture.ts';
import { isochrone, isochronePolygon } from './isochrone.ts';
import { isochroneBands } from './isochrone-bands.ts';
import { ruleSetById, type RuleSet } from './rules/index.ts';
import { evaluateScenario } from './scenario/evaluate.ts';
import { snapPoint, type EdgeSnap } from './snap.ts';

// Turf-style golden files: every test/golden/in/<case>.geojson names in `properties.compute` what
// to run on its fixture town (geo/fixtures/scenario-fixture.ts reads the roles), and the answer is
// compared with test/golden/out/<case>.geojson. REGEN=1 rewrites the outputs; review the diff.

const points = (fc: GoldenInput, role: string) =>
  fc.features.filter((f): f is Feature<Point> => f.properties?.role === role && f.geometry?.type === 'Point');

/** Each `source` point placed on the network as a request's point is (walls block the access leg). */
function sourceSnaps(fx: Fixture, fc: GoldenInput): EdgeSnap[] {
  return points(fc, 'source').map((p) => {
    const s = snapPoint(fx.net.snapIndex, p.geometry.coordinates[0], p.geometry.coordinates[1], {
      barriers: fx.net.barriers,
    });
    if (s.unreachable) throw new Error(`source ${JSON.stringify(p.properties)} is not on the network: ${s.reason}`);
    return s;
  });
}

function ruleSetOf(fc: GoldenInput): RuleSet {
  const id = String(fc.properties?.rule_set ?? 'chengdu-park-city');
  const rs = ruleSetById(id);
  if (!rs) throw new Error(`unknown rule_set ${id}`);
  return rs;
}

/** What each `compute` runs; the API-backed ones are run by the test named in `run_by`. */
const COMPUTE: Record<string, (fc: GoldenInput) => FeatureCollection & { properties?: unknown }> = {
  /** Plans evaluated against the town: per-origin distances before and after, and the changed network. */
  scenario(fc) {
    const fx = fixtureEngine(fc);
    expect(fx.plans.length, 'a scenario case needs a plan feature').toBeGreaterThan(0);
    const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, fx.plans, {
      includeChangedEdges: true,
    });
    return scenarioGeojson(fx, ev, fc.properties!.rules as string[]);
  },

  /** Every rule of a rule set for each origin: walking and straight-line distance, outcome, cover. */
  coverage(fc) {
    const rs = ruleSetOf(fc);
    const fx = fixtureEngine(fc, [rs]);
    const cov = evaluateCoverage(fx.net, fx.fields, [rs], fx.origins, fx.snaps);
    const features: Feature[] = fx.origins.map((o, i) => {
      const props: Record<string, unknown> = { role: 'origin', id: o.id, population: o.population };
      for (const r of cov) {
        const x = r.origins[i];
        Object.assign(props, {
          [`${r.ruleId}_network_m`]: x.networkM,
          [`${r.ruleId}_outcome`]: x.outcome,
          [`${r.ruleId}_straight_m`]: x.straightM,
          [`${r.ruleId}_facility`]: x.facilityId,
          [`${r.ruleId}_covered`]: x.covered,
        });
      }
      return { type: 'Feature', properties: props, geometry: { type: 'Point', coordinates: [o.lng, o.lat] } };
    });
    const city = cov.map((r) => {
      const a = r.areas.find((x) => x.level === 'city')!;
      return {
        rule: r.ruleId,
        no_data: r.noData,
        population: a.population,
        covered: a.coveredPopulation,
        straight_covered: a.straightCoveredPopulation,
        share: a.share,
        passes: a.passes,
      };
    });
    features.push({ type: 'Feature', properties: { role: 'summary', city }, geometry: null as unknown as Point });
    return { type: 'FeatureCollection', features };
  },

  /** The streets reached within `distance_m` of the sources, and the polygon drawn round them. */
  isochrone(fc) {
    const fx = fixtureEngine(fc);
    const maxM = Number(fc.properties!.distance_m);
    const snaps = sourceSnaps(fx, fc);
    const result = createSearch(fx.net.graph).run(
      seedsFromSnaps(
        fx.net.graph,
        snaps,
        snaps.map(() => 0),
      ),
      maxM,
    );
    const iso = isochrone(fx.net.graph, result, maxM);
    const polygon = isochronePolygon(iso);
    return {
      type: 'FeatureCollection',
      features: [
        { ...iso.lines, properties: { role: 'lines', ...iso.lines.properties } },
        ...(polygon ? [{ ...polygon, properties: { role: 'polygon', ...polygon.properties } }] : []),
      ],
    };
  },

  /** Life-circle bands (one polygon per limit) from the sources. */
  bands(fc) {
    const fx = fixtureEngine(fc);
    const limits = fc.properties!.limits_m as number[];
    const snaps = sourceSnaps(fx, fc);
    const result = createSearch(fx.net.graph).run(
      seedsFromSnaps(
        fx.net.graph,
        snaps,
        snaps.map(() => 0),
      ),
      Math.max(...limits),
    );
    const b = isochroneBands(fx.net.graph, result, limits);
    return {
      type: 'FeatureCollection',
      properties: {
        cell_m: b.cellM,
        frontage_m: b.frontageM,
        off_street_max_m: b.offStreetMaxM,
        samples: b.samples,
        reached_length_m: b.reachedLengthM,
      },
      features: b.bands.map(
        (band) =>
          band.polygon ?? { type: 'Feature', properties: { limitM: band.limitM }, geometry: null as unknown as Point },
      ),
    };
  },

  /** Each `probe` point placed on the network: the snapped point and its edge, or why it cannot be. */
  snap(fc) {
    const fx = fixtureEngine(fc);
    return {
      type: 'FeatureCollection',
      features: points(fc, 'probe').map((p) => {
        const [lng, lat] = p.geometry.coordinates;
        const s = snapPoint(fx.net.snapIndex, lng, lat, { barriers: fx.net.barriers });
        return s.unreachable
          ? {
              type: 'Feature',
              properties: {
                role: 'probe',
                note: p.properties!.note,
                unreachable: true,
                reason: s.reason,
                nearest_m: s.nearestM ?? null,
              },
              geometry: p.geometry,
            }
          : {
              type: 'Feature',
              properties: {
                role: 'probe',
                note: p.properties!.note,
                unreachable: false,
                street_id: fx.net.edgeDbId[s.edge],
                along_m: s.alongM,
                access_m: s.accessM,
              },
              geometry: {
                type: 'LineString',
                coordinates: [
                  [lng, lat],
                  [s.lng, s.lat],
                ],
              },
            };
      }),
    };
  },
};

const cases = goldenCases().map((name) => ({ name, input: readGoldenInput(name) }));

describe('golden files: test/golden/in → test/golden/out', () => {
  it('every input names a computation this loop or a named test runs, and has its output', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
    for (const { name, input } of cases) {
      const compute = input.properties?.compute;
      expect(
        typeof compute === 'string' && (compute in COMPUTE || typeof input.properties?.run_by === 'string'),
        `${name}: properties.compute ${String(compute)}`,
      ).toBe(true);
    }
  });
  for (const { name, input } of cases.filter((c) => String(c.input.properties?.compute) in COMPUTE)) {
    it(`${input.properties!.compute}: ${name}`, () => {
      expectGolden(name, COMPUTE[input.properties!.compute!](input));
    });
  }
});

import { describe, expect, it } from 'vitest';
import { computeFields, evaluateCoverage, snapOrigin } from '../coverage.ts';
import { fixtureEngine, PARK_CITY, randomEngine, readFixture } from '../fixtures/scenario-fixture.ts';
import { CHENGDU_PARK_CITY } from '../rules/index.ts';
import { evaluateScenario } from './evaluate.ts';
import { coveredTotals } from './fields.ts';
import type { ScenarioPlan } from './plan.ts';

describe('scenario fields: oracles', () => {
  it('merged open-space fields equal a full recomputation with the new facilities (10 seeds)', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = randomEngine(seed);
      const ev = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, r.squares, {
        includeChangedEdges: true,
        marginal: false,
      });
      const full = computeFields({ ...r.net, facilities: ev.scenario.net.facilities }, PARK_CITY);
      for (const [key, field] of ev.fields) {
        const want = full.get(key)!;
        expect(Array.from(field.result.dist), `seed ${seed} field ${key}`).toEqual(Array.from(want.result.dist));
        expect(Array.from(field.result.source), `seed ${seed} field ${key}`).toEqual(Array.from(want.result.source));
      }
      // and so coverage equals evaluateCoverage over the fully recomputed fields
      const direct = evaluateCoverage(ev.scenario.net, full, PARK_CITY, r.origins, r.snaps);
      expect(ev.after.map((c) => c.areas)).toEqual(direct.map((c) => c.areas));
    }
  });

  it('coveredTotals counts what evaluateCoverage counts', () => {
    for (let seed = 11; seed <= 15; seed++) {
      const r = randomEngine(seed);
      const totals = coveredTotals(r.net.graph, r.fields, CHENGDU_PARK_CITY.rules, r.origins, r.snaps);
      const cov = evaluateCoverage(r.net, r.fields, PARK_CITY, r.origins, r.snaps);
      expect(totals).toEqual(cov.map((c) => c.areas.find((a) => a.level === 'city')!.coveredPopulation));
    }
  });

  it('origin snaps kept from the baseline equal snapping every origin afresh on the scenario network', () => {
    const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
    const cases = [fx];
    for (let seed = 31; seed <= 34; seed++) {
      const r = randomEngine(seed);
      const c = r.net.graph.edgeCoords;
      // a cleared site around a random edge's first point
      const [lng, lat] = [c[0], c[1]];
      const d = 0.0008;
      const plan: ScenarioPlan = {
        ref: 'x',
        kind: 'demolish_illegal',
        name: 'x',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [lng - d, lat - d],
              [lng + d, lat - d],
              [lng + d, lat + d],
              [lng - d, lat + d],
              [lng - d, lat - d],
            ],
          ],
        },
      };
      cases.push({ net: r.net, origins: r.origins, snaps: r.snaps, fields: r.fields, plans: [plan] });
    }
    for (const fx2 of cases) {
      const ev = evaluateScenario(fx2.net, fx2.fields, PARK_CITY, fx2.origins, fx2.snaps, fx2.plans, {
        marginal: false,
      });
      const fresh = fx2.origins.map((o) => {
        const s = snapOrigin(ev.scenario.net, o.lng, o.lat, o.compound);
        return s.unreachable ? s : { ...s };
      });
      expect(ev.originSnaps).toEqual(fresh);
    }
  });
});

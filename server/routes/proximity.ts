import type { FastifyInstance } from 'fastify';
import { proximityQuery, proximityResponse, type ProximityQuery } from '../../api/proximity.ts';
import { errorSchema } from '../../api/errors.ts';
import { WALK_SPEED_M_PER_MIN } from '../../api/limits.ts';
import { ruleForCategory } from '../../api/rules.ts';
import { CATEGORIES } from '../../geo/categories.ts';
import { DISTANCE_CAP_M, ruleHasData } from '../../geo/coverage.ts';
import {
  containingFacility,
  reachFromField,
  reachOutcome,
  sourceFilterKey,
  walkFromField,
} from '../../geo/distance-field.ts';
import { geodesicM } from '../../geo/geodesy.ts';
import { tierFilter } from '../../geo/rules/index.ts';
import { ApiError } from '../errors.ts';
import { parseCategories, requireRuleSet, snapRequestPoint, requestedDataset } from '../http/request.ts';

const round2 = (x: number) => Math.round(x * 100) / 100;

/** GET /api/proximity: the walk from a point to the nearest facility of each category. */
export async function proximityRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: ProximityQuery }>(
    '/api/proximity',
    {
      schema: {
        tags: ['analysis'],
        summary: 'Walking distance from a point to the nearest facility of each category',
        description: `Answered from the precomputed distance fields plus the snap. Minutes at ${WALK_SPEED_M_PER_MIN.toFixed(1)} m/min (4 km/h).`,
        querystring: proximityQuery,
        response: { 200: proximityResponse, 400: errorSchema, 422: errorSchema, 503: errorSchema },
      },
      config: { rateLimit: { max: 6000, timeWindow: '1 minute' } },
    },
    async (req) => {
      const { lng, lat } = req.query;
      const ruleSet = requireRuleSet(req.query.rule_set);
      const categories = parseCategories(req.query.categories);
      const chosen = req.query.rule === undefined ? null : ruleSet.rules.find((r) => r.id === req.query.rule);
      if (chosen === undefined)
        throw new ApiError(
          'unknown_rule',
          `unknown rule "${req.query.rule}" in rule set ${ruleSet.id}; see /api/rules`,
        );
      const engine = await app.engine.current(requestedDataset(req));
      const snap = snapRequestPoint(engine, lng, lat);
      const g = engine.net.graph;
      const results = categories.map((category) => {
        const field = engine.fields.get(sourceFilterKey({ categories: [category] }))!;
        // Inside a park or green space: 0 m from it, by both measures, and no walk to draw.
        const holder = containingFacility(field, lng, lat);
        const inside = holder >= 0;
        const walk = inside ? null : walkFromField(g, field, snap);
        const reach = inside ? { distM: 0, sourceId: holder } : (walk ?? reachFromField(g, field, snap));
        const fac = reach ? field.facilities[reach.sourceId] : null;
        let straight: number | null = inside ? 0 : null;
        if (fac && !inside) {
          straight = Infinity;
          for (let k = 0; k < fac.shapeLng.length; k++)
            straight = Math.min(straight, geodesicM(lng, lat, fac.shapeLng[k], fac.shapeLat[k]));
        }
        const rule = ruleForCategory(ruleSet, category, chosen?.id);
        let meets: boolean | null = null;
        let maxM: number | null = null;
        if (rule) {
          meets = ruleHasData(rule, engine.net.facilities) ? false : null;
          for (const tier of rule.tiers) {
            if (!tier.categories.includes(category)) continue;
            maxM = maxM === null ? tier.maxDistanceM : Math.max(maxM, tier.maxDistanceM);
            const tf = engine.fields.get(sourceFilterKey(tierFilter(tier)));
            // a rule set stored after the engine loaded: its fields come with the next compute
            if (!tf)
              throw new ApiError(
                'no_results',
                `rule set "${ruleSet.id}" has not been computed yet (its compute starts when it is stored)`,
              );
            const r = containingFacility(tf, lng, lat) >= 0 ? { distM: 0 } : reachFromField(g, tf, snap);
            if (r && r.distM <= tier.maxDistanceM && meets !== null) meets = true;
          }
        }
        const label = CATEGORIES.find((c) => c.id === category)!;
        return {
          category,
          outcome: reachOutcome(g, field, snap, reach ? reach.distM : Infinity),
          label: { zh: label.zh, en: label.en },
          facility: fac ? { id: fac.id, name: fac.name, lng: fac.lng, lat: fac.lat, is_sample: fac.isSample } : null,
          inside,
          network_distance_m: reach ? round2(reach.distM) : null,
          straight_distance_m: straight === null ? null : round2(straight),
          walk_minutes: reach ? Math.round((reach.distM / WALK_SPEED_M_PER_MIN) * 10) / 10 : null,
          rule_id: rule?.id ?? null,
          max_distance_m: maxM,
          meets_target: meets,
          // The walk is drawn from the point to the facility (the search runs outward from facilities).
          path: walk ? { type: 'LineString' as const, coordinates: walk.coordinates.slice().reverse() } : null,
        };
      });
      return {
        point: { lng, lat },
        snap: { lng: snap.lng, lat: snap.lat, distance_m: round2(snap.accessM) },
        rule_set: ruleSet.id,
        walk_speed_m_per_min: round2(WALK_SPEED_M_PER_MIN),
        distance_cap_m: DISTANCE_CAP_M,
        dataset_id: engine.datasetId,
        run_id: engine.runId,
        results,
      };
    },
  );
}

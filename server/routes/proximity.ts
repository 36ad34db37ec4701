import type { FastifyInstance } from 'fastify';
import { CATEGORIES, CATEGORY_IDS, type CategoryId } from '../../geo/categories.ts';
import { DISTANCE_CAP_M, ruleHasData } from '../../geo/coverage.ts';
import { containingFacility, reachFromField, reachOutcome, sourceFilterKey, walkFromField } from '../../geo/distance-field.ts';
import { geodesicM } from '../../geo/geodesy.ts';
import { ruleForCategory, ruleSetById, tierFilter, type RuleSet } from '../../geo/rules/index.ts';
import { snapPoint, type EdgeSnap } from '../../geo/snap.ts';
import { ApiError, errorSchema } from '../errors.ts';
import type { LoadedEngine } from '../plugins/engine.ts';

/**
 * Walking speed used for minutes: 4 km/h (66.7 m/min), the pace behind GB 50180-2018's
 * 15-minute ≈ 1000 m life circle (§3.0.4), slow enough to include older residents.
 */
export const WALK_SPEED_M_PER_MIN = 4000 / 60;
/** Points farther than this outside the network's extent are "outside the dataset". */
export const OUTSIDE_MARGIN_M = 1000;

const lngLat = {
  lng: { type: 'number', minimum: -180, maximum: 180 },
  lat: { type: 'number', minimum: -90, maximum: 90 },
} as const;

const proximityQuery = {
  type: 'object',
  required: ['lng', 'lat'],
  additionalProperties: false,
  properties: {
    ...lngLat,
    categories: { type: 'string', maxLength: 400, description: 'comma-separated category ids (default: all)' },
    rule_set: { type: 'string', maxLength: 64, default: 'chengdu-park-city' },
    rule: {
      type: 'string', maxLength: 64,
      description: 'a rule of rule_set that judges the categories its tiers name, instead of each category\'s default rule (e.g. gb50180-2018\'s min10_park_1ha for park)',
    },
  },
} as const;

// Nullable by a type list, not anyOf: fast-json-stringify picks an anyOf branch by running the
// validator on each value, a tenth of an all-categories answer's time.
const lineStringOrNull = {
  type: ['object', 'null'],
  required: ['type', 'coordinates'],
  properties: {
    type: { type: 'string', enum: ['LineString'] },
    coordinates: { type: 'array', items: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } },
  },
} as const;

const proximityResponse = {
  type: 'object',
  required: ['point', 'snap', 'rule_set', 'results'],
  properties: {
    point: { type: 'object', properties: { lng: { type: 'number' }, lat: { type: 'number' } } },
    snap: { type: 'object', required: ['lng', 'lat', 'distance_m'], properties: { lng: { type: 'number' }, lat: { type: 'number' }, distance_m: { type: 'number' } } },
    rule_set: { type: 'string' },
    walk_speed_m_per_min: { type: 'number' },
    distance_cap_m: { type: 'number', description: 'walking distances are reported up to here; farther is beyond_cap' },
    dataset_id: { type: 'integer' },
    run_id: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['category', 'outcome', 'facility', 'inside', 'network_distance_m', 'straight_distance_m', 'walk_minutes', 'max_distance_m', 'meets_target', 'path'],
        properties: {
          category: { type: 'string' },
          outcome: {
            type: 'string',
            enum: ['distance', 'beyond_cap', 'no_path', 'no_data'],
            description: 'distance: network_distance_m is set (up to distance_cap_m); beyond_cap: a facility lies in this piece of the network, farther than the cap; no_path: none in this piece of the network; no_data: no facility of the category in the data',
          },
          label: { type: 'object', properties: { zh: { type: 'string' }, en: { type: 'string' } } },
          facility: {
            type: ['object', 'null'],
            properties: { id: { type: 'integer' }, name: { type: ['string', 'null'] }, lng: { type: 'number' }, lat: { type: 'number' }, is_sample: { type: 'boolean' } },
          },
          inside: { type: 'boolean', description: 'the point lies inside the facility (a park or green space polygon): 0 m, no path' },
          network_distance_m: { type: ['number', 'null'] },
          straight_distance_m: { type: ['number', 'null'] },
          walk_minutes: { type: ['number', 'null'] },
          rule_id: { type: ['string', 'null'] },
          max_distance_m: { type: ['number', 'null'] },
          meets_target: { type: ['boolean', 'null'], description: 'null where the category has no rule, or its rule is not assessable (no_data)' },
          path: lineStringOrNull,
        },
      },
    },
  },
} as const;

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Parse and check a `lng`/`lat` pair against the engine's network: 422 outside or unsnappable. */
export function snapRequestPoint(engine: LoadedEngine, lng: number, lat: number): EdgeSnap {
  const [minLng, minLat, maxLng, maxLat] = engine.bbox;
  const marginLat = OUTSIDE_MARGIN_M / 111_320;
  const marginLng = marginLat / Math.cos((lat * Math.PI) / 180);
  if (lng < minLng - marginLng || lng > maxLng + marginLng || lat < minLat - marginLat || lat > maxLat + marginLat) {
    throw new ApiError('outside_dataset', `point ${lng}, ${lat} is outside the loaded dataset (${engine.bbox.map((v) => v.toFixed(4)).join(', ')})`);
  }
  const snap = snapPoint(engine.net.snapIndex, lng, lat, { barriers: engine.net.barriers });
  if (snap.unreachable) {
    const why = snap.reason === 'blocked_by_barrier' ? 'every nearby street lies behind a mapped wall or fence' : `no walkable street within 200 m${snap.nearestM ? ` (nearest ${Math.round(snap.nearestM)} m)` : ''}`;
    throw new ApiError('not_snappable', `point ${lng}, ${lat} cannot be placed on the walking network: ${why}`, { reason: snap.reason });
  }
  return { ...snap };
}

export function parseCategories(raw: string | undefined): CategoryId[] {
  if (!raw) return CATEGORIES.map((c) => c.id);
  const ids = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !CATEGORY_IDS.has(id));
  if (unknown.length) throw new ApiError('unknown_category', `unknown categor${unknown.length > 1 ? 'ies' : 'y'}: ${unknown.join(', ')}; see /api/categories`);
  return [...new Set(ids)] as CategoryId[];
}

export function requireRuleSet(id: string): RuleSet {
  const rs = ruleSetById(id);
  if (!rs) throw new ApiError('unknown_rule_set', `unknown rule set "${id}"; see /api/rules`);
  return rs;
}

/** GET /api/proximity: the walk from a point to the nearest facility of each category. */
export async function proximityRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { lng: number; lat: number; categories?: string; rule_set: string; rule?: string } }>(
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
      if (chosen === undefined) throw new ApiError('unknown_rule', `unknown rule "${req.query.rule}" in rule set ${ruleSet.id}; see /api/rules`);
      const engine = await app.engine.current();
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
          for (let k = 0; k < fac.shapeLng.length; k++) straight = Math.min(straight, geodesicM(lng, lat, fac.shapeLng[k], fac.shapeLat[k]));
        }
        const rule = chosen && chosen.tiers.some((t) => t.categories.includes(category)) ? chosen : ruleForCategory(ruleSet, category);
        let meets: boolean | null = null;
        let maxM: number | null = null;
        if (rule) {
          meets = ruleHasData(rule, engine.net.facilities) ? false : null;
          for (const tier of rule.tiers) {
            if (!tier.categories.includes(category)) continue;
            maxM = maxM === null ? tier.maxDistanceM : Math.max(maxM, tier.maxDistanceM);
            const tf = engine.fields.get(sourceFilterKey(tierFilter(tier)));
            // a rule set stored after the engine loaded: its fields come with the next compute
            if (!tf) throw new ApiError('no_results', `rule set "${ruleSet.id}" has not been computed yet (its compute starts when it is stored)`);
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

/**
 * Request parsing every route shares: a point placed on the walking network, category lists, rule
 * sets and bounding boxes, each answering a 4xx ApiError that names the parameter and value.
 */

import { CATEGORIES, CATEGORY_IDS, type CategoryId } from '../../geo/categories.ts';
import { RULE_SETS, ruleSetById, type RuleSet } from '../../geo/rules/index.ts';
import { snapPoint, type EdgeSnap } from '../../geo/snap.ts';
import { ApiError } from '../errors.ts';
import type { FastifyRequest } from 'fastify';
import type { LoadedEngine } from '../plugins/engine.ts';

/** Points farther than this outside the network's extent are "outside the dataset". */
export const OUTSIDE_MARGIN_M = 1000;

/** Parse and check a `lng`/`lat` pair against the engine's network: 422 outside or unsnappable. */
export function snapRequestPoint(engine: LoadedEngine, lng: number, lat: number): EdgeSnap {
  const [minLng, minLat, maxLng, maxLat] = engine.bbox;
  const marginLat = OUTSIDE_MARGIN_M / 111_320;
  const marginLng = marginLat / Math.cos((lat * Math.PI) / 180);
  if (lng < minLng - marginLng || lng > maxLng + marginLng || lat < minLat - marginLat || lat > maxLat + marginLat) {
    throw new ApiError(
      'outside_dataset',
      `point ${lng}, ${lat} is outside the loaded dataset (${engine.bbox.map((v) => v.toFixed(4)).join(', ')})`,
    );
  }
  const snap = snapPoint(engine.net.snapIndex, lng, lat, { barriers: engine.net.barriers });
  if (snap.unreachable) {
    const why =
      snap.reason === 'blocked_by_barrier'
        ? 'every nearby street lies behind a mapped wall or fence'
        : `no walkable street within 200 m${snap.nearestM ? ` (nearest ${Math.round(snap.nearestM)} m)` : ''}`;
    throw new ApiError('not_snappable', `point ${lng}, ${lat} cannot be placed on the walking network: ${why}`, {
      reason: snap.reason,
    });
  }
  return { ...snap };
}

/** Where a walk starts: the snapped point, or every access point of the facility on a public street. */
export function sourceSnaps(engine: LoadedEngine, q: { lng?: number; lat?: number; facility_id?: number }): EdgeSnap[] {
  const { lng, lat, facility_id } = q;
  if ((facility_id === undefined) === (lng === undefined || lat === undefined)) {
    throw new ApiError('invalid_parameter', 'give either lng and lat, or facility_id');
  }
  if (facility_id === undefined) return [snapRequestPoint(engine, lng!, lat!)];
  const f = engine.net.facilities.find((x) => x.id === facility_id);
  if (!f) throw new ApiError('not_found', `no facility ${facility_id} in the loaded dataset`);
  const snaps: EdgeSnap[] = [];
  for (let k = 0; k < f.accessLng.length; k++) {
    const s = snapPoint(engine.net.snapIndex, f.accessLng[k], f.accessLat[k], {
      edgeFilter: (e) => engine.net.edgeIsPrivate[e] === 0,
    });
    if (!s.unreachable) snaps.push({ ...s });
  }
  if (!snaps.length)
    throw new ApiError(
      'not_snappable',
      `facility ${facility_id} has no access point within 200 m of a walkable street`,
    );
  return snaps;
}

/** A comma-separated list of category ids (all when absent): 400 naming the unknown ones. */
export function parseCategories(raw: string | undefined): CategoryId[] {
  if (!raw) return CATEGORIES.map((c) => c.id);
  const ids = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = ids.filter((id) => !CATEGORY_IDS.has(id));
  if (unknown.length)
    throw new ApiError(
      'unknown_category',
      `unknown categor${unknown.length > 1 ? 'ies' : 'y'}: ${unknown.join(', ')}; see /api/categories`,
    );
  return [...new Set(ids)] as CategoryId[];
}

/** The rule set of an id: 400 when unknown. */
export function requireRuleSet(id: string): RuleSet {
  const rs = ruleSetById(id);
  if (!rs) throw new ApiError('unknown_rule_set', `unknown rule set "${id}"; see /api/rules`);
  return rs;
}

/** One rule set by id, or every rule set for 'all'. */
export function ruleSetsOf(id: string): RuleSet[] {
  return id === 'all' ? [...RULE_SETS] : [requireRuleSet(id)];
}

/** A rule named `<rule_set>/<rule_id>` (the schema checked the form): 400 when either is unknown. */
export function requireRule(ref: string): { ruleSet: RuleSet; rule: RuleSet['rules'][number] } {
  const [ruleSetId, ruleId] = ref.split('/');
  const ruleSet = requireRuleSet(ruleSetId);
  const rule = ruleSet.rules.find((r) => r.id === ruleId);
  if (!rule) throw new ApiError('invalid_parameter', `rule set ${ruleSetId} has no rule "${ruleId}"; see /api/rules`);
  return { ruleSet, rule };
}

/** A `minLng,minLat,maxLng,maxLat` string (the schema checked the form), or `fallback` when absent: 400 unless min < max. */
export function parseBbox(
  raw: string | undefined,
  fallback: readonly [number, number, number, number],
): [number, number, number, number] {
  const [minLng, minLat, maxLng, maxLat] = raw ? raw.split(',').map(Number) : fallback;
  if (!(minLng < maxLng && minLat < maxLat))
    throw new ApiError('invalid_parameter', 'bbox must be minLng,minLat,maxLng,maxLat with min < max');
  return [minLng, minLat, maxLng, maxLat];
}

/**
 * The dataset a request names (`dataset=`, added to every data route's query schema by
 * server/app.ts and checked there), or undefined for the default dataset.
 */
export function requestedDataset(req: FastifyRequest): string | undefined {
  const dataset = (req.query as { dataset?: unknown } | undefined)?.dataset;
  return typeof dataset === 'string' ? dataset : undefined;
}

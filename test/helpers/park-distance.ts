import type pg from 'pg';
import { computeFields, snapOrigin } from '../../geo/coverage.ts';
import * as distanceField from '../../geo/distance-field.ts';
import { RULE_SETS } from '../../geo/rules/index.ts';
import { loadNetwork } from '../../server/network/load-network.ts';

/**
 * The product's answer to "walking metres to the nearest park" for each `[lng, lat]`, as the
 * coverage run computes it: the engine loaded from the database, the origin snapped as a
 * resident's, 0 m inside a park (where the engine knows parks' polygons), Infinity beyond the
 * park field's bound. Written against engine functions that also exist before the park-entry rule,
 * so test/bench/park-entry.ts can measure the code on main too.
 */
export async function productParkDistances(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
  points: readonly [number, number][],
): Promise<number[]> {
  const net = await loadNetwork(db, datasetId);
  const field = computeFields(net, RULE_SETS).get(distanceField.sourceFilterKey({ categories: ['park'] }))!;
  const inside = (distanceField as { containingFacility?: (f: typeof field, lng: number, lat: number) => number })
    .containingFacility;
  return points.map(([lng, lat]) => {
    if (inside && inside(field, lng, lat) >= 0) return 0;
    const snap = snapOrigin(net, lng, lat, -1);
    const reach = snap.unreachable ? null : distanceField.reachFromField(net.graph, field, snap);
    return reach ? reach.distM : Infinity;
  });
}

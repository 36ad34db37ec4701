/** Stored and inline 两拆一增 plans as the scenario engine takes them, checked against the scenario limits. */

import type { LineString, MultiPolygon, Polygon } from 'geojson';
import type { ScenarioPlan } from '../geo/scenario/plan.ts';
import { checkPlanGeometry } from './check-plan-geometry.ts';
import { ApiError } from './errors.ts';
import type { StoredPlanRow } from './queries/plans.ts';

/**
 * A stored demolish_illegal plan becomes an open space when its notes say so: the token
 * `becomes_open_space`, or the usual phrasing 拆违增绿 / 拆违建绿 / 增绿 / 建绿 / 还绿 (green after clearing).
 */
export const BECOMES_OPEN_SPACE_NOTE = /becomes_open_space|增绿|建绿|还绿/i;

type Geometry = LineString | Polygon | MultiPolygon;

/** A stored or inline plan as the scenario engine takes it; 400 for a geometry that does not fit the kind. */
export function toScenarioPlan(
  ref: string,
  kind: ScenarioPlan['kind'],
  name: string,
  g: Geometry,
  becomesOpenSpace: boolean,
): ScenarioPlan {
  try {
    checkPlanGeometry(kind, g);
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.code, `plan ${ref}: ${err.message}`, err.details);
    throw err;
  }
  return { ref, kind, name, geometry: g, becomesOpenSpace: kind === 'demolish_illegal' ? becomesOpenSpace : undefined };
}

/** A stored plan as `plan:<id>`, open space per its notes. */
export function storedScenarioPlan(r: StoredPlanRow): ScenarioPlan {
  return toScenarioPlan(
    `plan:${r.id}`,
    r.kind,
    r.name,
    r.geometry as Geometry,
    BECOMES_OPEN_SPACE_NOTE.test(r.notes ?? ''),
  );
}

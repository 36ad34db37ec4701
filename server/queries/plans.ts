import type pg from 'pg';
import type { PlanKind, PlanStatus } from '../../api/enums.ts';
import type { Principal } from '../auth.ts';
import type { PlanGeometry } from '../check-plan-geometry.ts';

/** A stored plan as the scenario engine reads it (geometry as GeoJSON). */
export interface StoredPlanRow {
  id: string;
  kind: PlanKind;
  name: string;
  notes: string | null;
  geometry: PlanGeometry;
}

/** A plan as the API answers it. */
export type PlanRow = {
  id: number;
  version: number;
  kind: PlanKind;
  name: string;
  status: PlanStatus;
  geometry: PlanGeometry;
} & Record<string, unknown>;
/** A plan in the list: `geometry` only where asked for. */
export type PlanSummaryRow = Omit<PlanRow, 'geometry'> & { geometry?: PlanGeometry };

const SUMMARY_COLUMNS = `id, version, kind, name, status, notes, created_by,
  CASE WHEN ST_Dimension(geom) = 2 THEN round(ST_Area(geom::geography)::numeric, 1)::float8 END AS area_m2,
  CASE WHEN ST_Dimension(geom) = 1 THEN round(ST_Length(geom::geography)::numeric, 1)::float8 END AS length_m,
  to_json(created_at) #>> '{}' AS created_at, to_json(updated_at) #>> '{}' AS updated_at`;
const PLAN_COLUMNS = `${SUMMARY_COLUMNS}, ST_AsGeoJSON(geom, 7)::json AS geometry`;

/** Up to `limit` plans with an id above `cursor`, by id; with their geometry when asked. */
export async function listPlans(
  db: pg.Pool,
  cursor: number,
  limit: number,
  withGeometry: boolean,
): Promise<PlanSummaryRow[]> {
  const { rows } = await db.query<PlanSummaryRow>(
    `SELECT ${withGeometry ? PLAN_COLUMNS : SUMMARY_COLUMNS} FROM plans WHERE id > $1 ORDER BY id LIMIT $2`,
    [cursor, limit],
  );
  return rows;
}

/** One plan, or null; `forUpdate` locks its row for the rest of the transaction. */
export async function getPlan(db: pg.Pool | pg.ClientBase, id: number, forUpdate = false): Promise<PlanRow | null> {
  const { rows } = await db.query<PlanRow>(
    `SELECT ${PLAN_COLUMNS} FROM plans WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ?? null;
}

export async function insertPlan(
  c: pg.ClientBase,
  p: {
    kind: PlanKind;
    name: string;
    status: PlanStatus;
    geometry: PlanGeometry;
    notes: string | null;
    createdBy: string;
  },
): Promise<PlanRow> {
  const { rows } = await c.query<PlanRow>(
    `INSERT INTO plans (kind, name, status, geom, notes, created_by) VALUES ($1, $2, $3, ST_SetSRID(ST_GeomFromGeoJSON($4), 4326), $5, $6)
     RETURNING ${PLAN_COLUMNS}`,
    [p.kind, p.name, p.status, JSON.stringify(p.geometry), p.notes, p.createdBy],
  );
  return rows[0];
}

/** Apply a change: null fields keep the stored value; notes change only when `setNotes`. Bumps the version. */
export async function updatePlan(
  c: pg.ClientBase,
  id: number,
  p: {
    kind: PlanKind;
    name: string | null;
    status: PlanStatus | null;
    geometry: PlanGeometry | null;
    setNotes: boolean;
    notes: string | null;
  },
): Promise<PlanRow> {
  const { rows } = await c.query<PlanRow>(
    `UPDATE plans SET kind = $2, name = coalesce($3, name), status = coalesce($4, status),
       geom = CASE WHEN $5::text IS NULL THEN geom ELSE ST_SetSRID(ST_GeomFromGeoJSON($5), 4326) END,
       notes = CASE WHEN $6 THEN $7 ELSE notes END, updated_at = now(), version = version + 1
     WHERE id = $1 RETURNING ${PLAN_COLUMNS}`,
    [id, p.kind, p.name, p.status, p.geometry ? JSON.stringify(p.geometry) : null, p.setNotes, p.notes],
  );
  return rows[0];
}

export async function deletePlan(c: pg.ClientBase, id: number): Promise<void> {
  await c.query(`DELETE FROM plans WHERE id = $1`, [id]);
}

/** One row of the audit log for a plan write, in the write's transaction. */
export async function auditPlanWrite(
  c: pg.ClientBase,
  who: Principal,
  action: string,
  id: unknown,
  before: unknown,
  after: unknown,
  requestId: string,
): Promise<void> {
  await c.query(
    `INSERT INTO audit_log (actor, token_id, action, entity, entity_id, before, after, request_id) VALUES ($1, $2, $3, 'plan', $4, $5, $6, $7)`,
    [
      who.name,
      who.tokenId,
      action,
      String(id),
      before === null ? null : JSON.stringify(before),
      after === null ? null : JSON.stringify(after),
      requestId,
    ],
  );
}

/** Stored plans by id, for a scenario (ids not found are simply absent). */
export async function plansByIds(db: pg.Pool, ids: readonly number[]): Promise<StoredPlanRow[]> {
  return (
    await db.query<StoredPlanRow>(
      `SELECT id, kind, name, notes, ST_AsGeoJSON(geom)::json AS geometry FROM plans WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    )
  ).rows;
}

/** The first `limit` proposed plans by id: the candidates of /api/suggest?candidates=plans. */
export async function proposedPlans(db: pg.Pool, limit: number): Promise<StoredPlanRow[]> {
  return (
    await db.query<StoredPlanRow>(
      `SELECT id, kind, name, notes, ST_AsGeoJSON(geom)::json AS geometry FROM plans WHERE status = 'proposed' ORDER BY id LIMIT $1`,
      [limit],
    )
  ).rows;
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { makeAuthorizer, type Principal } from '../auth.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { MAX_PLAN_VERTICES, planGeometrySchema } from '../schemas.ts';

export const PLAN_KINDS = ['demolish_illegal', 'demolish_wall', 'add_open_space'] as const;
export const PLAN_STATUSES = ['proposed', 'approved', 'done'] as const;

const planBody = {
  type: 'object',
  required: ['kind', 'name', 'geometry'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: PLAN_KINDS },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    status: { type: 'string', enum: PLAN_STATUSES, default: 'proposed' },
    geometry: planGeometrySchema,
    notes: { type: ['string', 'null'], maxLength: 5000 },
  },
} as const;

const planPatch = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    kind: { type: 'string', enum: PLAN_KINDS },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    status: { type: 'string', enum: PLAN_STATUSES },
    geometry: planGeometrySchema,
    notes: { type: ['string', 'null'], maxLength: 5000 },
  },
} as const;

const plan = {
  type: 'object',
  required: ['id', 'kind', 'name', 'status', 'geometry'],
  properties: {
    id: { type: 'integer' },
    kind: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string' },
    geometry: { type: 'object', additionalProperties: true },
    notes: { type: ['string', 'null'] },
    area_m2: { type: ['number', 'null'] },
    length_m: { type: ['number', 'null'] },
    created_by: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } } } as const;

type Geometry = { type: 'Polygon' | 'MultiPolygon' | 'LineString'; coordinates: unknown };
interface PlanInput { kind: (typeof PLAN_KINDS)[number]; name: string; status?: (typeof PLAN_STATUSES)[number]; geometry: Geometry; notes?: string | null }

function countPositions(c: unknown, depth: number): number {
  if (!Array.isArray(c)) throw new ApiError('invalid_parameter', 'geometry.coordinates must be nested arrays of [lng, lat]');
  if (depth === 0) {
    if (c.length < 2 || c.length > 3 || !c.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new ApiError('invalid_parameter', `geometry position ${JSON.stringify(c).slice(0, 60)} is not [lng, lat]`);
    }
    const [lng, lat] = c as number[];
    if (lng < -180 || lng > 180 || lat < -90 || lat > 90) throw new ApiError('invalid_parameter', `geometry position ${lng}, ${lat} is out of range`);
    return 1;
  }
  let n = 0;
  for (const x of c) n += countPositions(x, depth - 1);
  return n;
}

/** Check shape, kind/type agreement and size before PostGIS sees it. */
export function checkPlanGeometry(kind: PlanInput['kind'], g: Geometry): void {
  const wantLine = kind === 'demolish_wall';
  if (wantLine !== (g.type === 'LineString')) {
    throw new ApiError('invalid_parameter', `a ${kind} plan needs a ${wantLine ? 'LineString (the wall)' : 'Polygon or MultiPolygon (the site)'}, got ${g.type}`);
  }
  const depth = g.type === 'LineString' ? 1 : g.type === 'Polygon' ? 2 : 3;
  const n = countPositions(g.coordinates, depth);
  if (n > MAX_PLAN_VERTICES) throw new ApiError('payload_too_large', `geometry has ${n} vertices; at most ${MAX_PLAN_VERTICES}`);
  if (g.type === 'LineString' && (g.coordinates as unknown[]).length < 2) throw new ApiError('invalid_parameter', 'a LineString needs at least 2 positions');
  if (g.type !== 'LineString') {
    const polys = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as number[][][][];
    if (polys.length === 0) throw new ApiError('invalid_parameter', 'the geometry is empty');
    for (const rings of polys) {
      if (!rings.length) throw new ApiError('invalid_parameter', 'a polygon needs an outer ring');
      for (const ring of rings) {
        const first = ring[0], last = ring[ring.length - 1];
        if (ring.length < 4 || first[0] !== last[0] || first[1] !== last[1]) {
          throw new ApiError('invalid_parameter', 'each polygon ring needs at least 4 positions and must end where it starts');
        }
      }
    }
  }
}

const PLAN_COLUMNS = `id, kind, name, status, ST_AsGeoJSON(geom, 7)::json AS geometry, notes, created_by,
  CASE WHEN ST_Dimension(geom) = 2 THEN round(ST_Area(geom::geography)::numeric, 1)::float8 END AS area_m2,
  CASE WHEN ST_Dimension(geom) = 1 THEN round(ST_Length(geom::geography)::numeric, 1)::float8 END AS length_m,
  to_json(created_at) #>> '{}' AS created_at, to_json(updated_at) #>> '{}' AS updated_at`;

/** Why PostGIS finds a geometry invalid, or null when it is valid. */
const INVALID_REASON_SQL = `SELECT CASE WHEN ST_IsValid(g) THEN NULL ELSE ST_IsValidReason(g) END AS reason, ST_IsEmpty(g) AS empty
  FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g) x`;

/** 两拆一增 plans: read by anyone, written by planners and admins with every write in the audit log. */
export async function planRoutes(app: FastifyInstance): Promise<void> {
  const authorize = makeAuthorizer(app);
  const writers = ['planner', 'admin'] as const;
  // Writes authenticate in onRequest, before the body is parsed or validated: a stranger learns
  // nothing about the schema, and a bad token with a bad body answers 401, not 400.
  const principals = new WeakMap<FastifyRequest, Principal>();
  const authenticate = async (req: FastifyRequest) => void principals.set(req, await authorize(req, writers));
  const principal = (req: FastifyRequest): Principal => {
    const who = principals.get(req);
    if (!who) throw new Error('a write route ran without its onRequest authentication');
    return who;
  };

  const validateGeometry = async (g: Geometry) => {
    const { rows } = await app.pg.query<{ reason: string | null; empty: boolean }>(INVALID_REASON_SQL, [JSON.stringify(g)]);
    if (rows[0].empty) throw new ApiError('invalid_parameter', 'the geometry is empty');
    if (rows[0].reason) throw new ApiError('invalid_parameter', `the geometry is invalid: ${rows[0].reason}`);
  };

  app.get('/api/plans', { schema: { tags: ['plans'], summary: 'List 两拆一增 plans', response: { 200: { type: 'object', properties: { plans: { type: 'array', items: plan } } } } } }, async () => {
    const { rows } = await app.pg.query(`SELECT ${PLAN_COLUMNS} FROM plans ORDER BY id`);
    return { plans: rows };
  });

  app.get<{ Params: { id: number } }>('/api/plans/:id', { schema: { tags: ['plans'], params: idParams, response: { 200: plan, 400: errorSchema, 404: errorSchema } } }, async (req) => {
    const { rows } = await app.pg.query(`SELECT ${PLAN_COLUMNS} FROM plans WHERE id = $1`, [req.params.id]);
    if (!rows[0]) throw new ApiError('not_found', `no plan ${req.params.id}`);
    return rows[0];
  });

  app.post<{ Body: PlanInput }>(
    '/api/plans',
    { onRequest: authenticate, schema: { tags: ['plans'], summary: 'Create a plan (planner or admin token)', body: planBody, response: { 201: plan, 400: errorSchema, 401: errorSchema, 403: errorSchema, 413: errorSchema } } },
    async (req, reply) => {
      const who = principal(req);
      const b = req.body;
      checkPlanGeometry(b.kind, b.geometry);
      await validateGeometry(b.geometry);
      const created = await inTransaction(app, async (c) => {
        const { rows } = await c.query(
          `INSERT INTO plans (kind, name, status, geom, notes, created_by) VALUES ($1, $2, $3, ST_SetSRID(ST_GeomFromGeoJSON($4), 4326), $5, $6)
           RETURNING ${PLAN_COLUMNS}`,
          [b.kind, b.name, b.status ?? 'proposed', JSON.stringify(b.geometry), b.notes ?? null, who.name],
        );
        await audit(c, who, 'plan.create', rows[0].id, null, rows[0], req.id);
        return rows[0];
      });
      return reply.status(201).send(created);
    },
  );

  app.patch<{ Params: { id: number }; Body: Partial<PlanInput> }>(
    '/api/plans/:id',
    { onRequest: authenticate, schema: { tags: ['plans'], summary: 'Change a plan (planner or admin token)', params: idParams, body: planPatch, response: { 200: plan, 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema } } },
    async (req) => {
      const who = principal(req);
      return inTransaction(app, async (c) => {
        const before = (await c.query(`SELECT ${PLAN_COLUMNS} FROM plans WHERE id = $1 FOR UPDATE`, [req.params.id])).rows[0];
        if (!before) throw new ApiError('not_found', `no plan ${req.params.id}`);
        const b = req.body;
        const kind = b.kind ?? before.kind;
        const geom = b.geometry ?? before.geometry;
        checkPlanGeometry(kind, geom);
        if (b.geometry) await validateGeometry(b.geometry);
        const { rows } = await c.query(
          `UPDATE plans SET kind = $2, name = coalesce($3, name), status = coalesce($4, status),
             geom = CASE WHEN $5::text IS NULL THEN geom ELSE ST_SetSRID(ST_GeomFromGeoJSON($5), 4326) END,
             notes = CASE WHEN $6 THEN $7 ELSE notes END, updated_at = now()
           WHERE id = $1 RETURNING ${PLAN_COLUMNS}`,
          [req.params.id, kind, b.name ?? null, b.status ?? null, b.geometry ? JSON.stringify(b.geometry) : null, 'notes' in b, b.notes ?? null],
        );
        await audit(c, who, 'plan.update', req.params.id, before, rows[0], req.id);
        return rows[0];
      });
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/plans/:id',
    { onRequest: authenticate, schema: { tags: ['plans'], summary: 'Delete a plan (planner or admin token)', params: idParams, response: { 204: { type: 'null' }, 401: errorSchema, 403: errorSchema, 404: errorSchema } } },
    async (req, reply) => {
      const who = principal(req);
      await inTransaction(app, async (c) => {
        const before = (await c.query(`SELECT ${PLAN_COLUMNS} FROM plans WHERE id = $1 FOR UPDATE`, [req.params.id])).rows[0];
        if (!before) throw new ApiError('not_found', `no plan ${req.params.id}`);
        await c.query(`DELETE FROM plans WHERE id = $1`, [req.params.id]);
        await audit(c, who, 'plan.delete', req.params.id, before, null, req.id);
      });
      return reply.status(204).send();
    },
  );
}

async function audit(c: import('pg').ClientBase, who: Principal, action: string, id: unknown, before: unknown, after: unknown, requestId: string) {
  await c.query(`INSERT INTO audit_log (actor, token_id, action, entity, entity_id, before, after, request_id) VALUES ($1, $2, $3, 'plan', $4, $5, $6, $7)`, [
    who.name, who.tokenId, action, String(id), before === null ? null : JSON.stringify(before), after === null ? null : JSON.stringify(after), requestId,
  ]);
}

/** Run `f` in one transaction: the plan and its audit row are written together or not at all. */
async function inTransaction<T>(app: FastifyInstance, f: (c: import('pg').PoolClient) => Promise<T>): Promise<T> {
  const c = await app.pg.connect();
  try {
    await c.query('BEGIN');
    const r = await f(c);
    await c.query('COMMIT');
    return r;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { makeAuthorizer, type Principal } from '../auth.ts';
import { checkPlanGeometriesValid, checkPlanGeometry, type PlanGeometry } from '../check-plan-geometry.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { MAX_NAME_CHARS, MAX_NOTES_CHARS, textSchema } from '../limits.ts';
import { planGeometrySchema } from '../schemas.ts';

export const PLAN_KINDS = ['demolish_illegal', 'demolish_wall', 'add_open_space'] as const;
export const PLAN_STATUSES = ['proposed', 'approved', 'done'] as const;
/** Plans in one page of GET /api/plans, by default and at most. */
export const PLANS_PAGE_DEFAULT = 100;
export const PLANS_PAGE_MAX = 500;

const nameSchema = textSchema(1, MAX_NAME_CHARS);
const notesSchema = { ...textSchema(0, MAX_NOTES_CHARS), type: ['string', 'null'] } as const;

const planBody = {
  type: 'object',
  required: ['kind', 'name', 'geometry'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: PLAN_KINDS },
    name: nameSchema,
    status: { type: 'string', enum: PLAN_STATUSES, default: 'proposed' },
    geometry: planGeometrySchema,
    notes: notesSchema,
  },
} as const;

const planPatch = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    kind: { type: 'string', enum: PLAN_KINDS },
    name: nameSchema,
    status: { type: 'string', enum: PLAN_STATUSES },
    geometry: planGeometrySchema,
    notes: notesSchema,
  },
} as const;

const plan = {
  type: 'object',
  required: ['id', 'kind', 'name', 'status', 'version'],
  properties: {
    id: { type: 'integer' },
    version: { type: 'integer', description: 'starts at 1, +1 on every change; the ETag is "<version>"' },
    kind: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string' },
    geometry: { type: 'object', additionalProperties: true, description: 'in the list only with include=geometry' },
    notes: { type: ['string', 'null'] },
    area_m2: { type: ['number', 'null'] },
    length_m: { type: ['number', 'null'] },
    created_by: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: PLANS_PAGE_MAX, default: PLANS_PAGE_DEFAULT },
    cursor: { type: 'integer', minimum: 0, maximum: 2147483647, default: 0, description: 'next_cursor of the previous page; plans with a larger id follow' },
    include: { type: 'string', enum: ['geometry'], description: 'geometry: add each plan\'s GeoJSON geometry (left out by default to keep the list light)' },
  },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } } } as const;
const ifMatchHeaders = {
  type: 'object',
  properties: { 'if-match': { type: 'string', maxLength: 200, description: 'the ETag of the version this change is based on; optional, * matches any' } },
} as const;

type Geometry = PlanGeometry;
interface PlanInput { kind: (typeof PLAN_KINDS)[number]; name: string; status?: (typeof PLAN_STATUSES)[number]; geometry: Geometry; notes?: string | null }

const SUMMARY_COLUMNS = `id, version, kind, name, status, notes, created_by,
  CASE WHEN ST_Dimension(geom) = 2 THEN round(ST_Area(geom::geography)::numeric, 1)::float8 END AS area_m2,
  CASE WHEN ST_Dimension(geom) = 1 THEN round(ST_Length(geom::geography)::numeric, 1)::float8 END AS length_m,
  to_json(created_at) #>> '{}' AS created_at, to_json(updated_at) #>> '{}' AS updated_at`;
const PLAN_COLUMNS = `${SUMMARY_COLUMNS}, ST_AsGeoJSON(geom, 7)::json AS geometry`;

/** A plan's ETag: its version, quoted (RFC 9110 §8.8.3). */
const etagOf = (p: { version: number }) => `"${p.version}"`;

/**
 * Refuse a change based on another version than the stored one: If-Match (strong comparison,
 * RFC 9110 §13.1.1) must list the plan's ETag or be *. Without If-Match the change applies.
 */
function checkIfMatch(req: FastifyRequest, current: { id: number; version: number }): void {
  const header = req.headers['if-match'];
  if (header === undefined) return;
  const tags = header.split(',').map((t) => t.trim());
  if (tags.includes('*') || tags.includes(etagOf(current))) return;
  throw new ApiError('precondition_failed', `plan ${current.id} was changed by someone else (now version ${current.version}, If-Match ${header.slice(0, 40)}): reload it and apply your change again`, {
    version: current.version,
  });
}

/** 两拆一增 plans: read by anyone, written by planners and admins with every write in the audit log. */
export async function planRoutes(app: FastifyInstance): Promise<void> {
  const authorize = makeAuthorizer(app);
  const writers = ['planner', 'admin'] as const;
  const sendPlan = (reply: FastifyReply, p: { version: number }, status = 200) => reply.status(status).header('etag', etagOf(p)).send(p);
  // Writes authenticate in onRequest, before the body is parsed or validated: a stranger learns
  // nothing about the schema, and a bad token with a bad body answers 401, not 400.
  const principals = new WeakMap<FastifyRequest, Principal>();
  const authenticate = async (req: FastifyRequest) => void principals.set(req, await authorize(req, writers));
  const principal = (req: FastifyRequest): Principal => {
    const who = principals.get(req);
    if (!who) throw new Error('a write route ran without its onRequest authentication');
    return who;
  };

  app.get<{ Querystring: { limit: number; cursor: number; include?: 'geometry' } }>(
    '/api/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'List 两拆一增 plans, by id, a page at a time',
        description: `At most limit plans (default ${PLANS_PAGE_DEFAULT}, at most ${PLANS_PAGE_MAX}) with an id above cursor; next_cursor is null on the last page. Geometry only with include=geometry.`,
        querystring: listQuery,
        response: { 200: { type: 'object', required: ['plans', 'next_cursor'], properties: { plans: { type: 'array', items: plan }, next_cursor: { type: ['integer', 'null'] } } }, 400: errorSchema },
      },
    },
    async (req) => {
      const q = req.query;
      const { rows } = await app.pg.query<{ id: number }>(
        `SELECT ${q.include === 'geometry' ? PLAN_COLUMNS : SUMMARY_COLUMNS} FROM plans WHERE id > $1 ORDER BY id LIMIT $2`,
        [q.cursor, q.limit + 1],
      );
      const more = rows.length > q.limit;
      const plans = more ? rows.slice(0, q.limit) : rows;
      return { plans, next_cursor: more ? Number(plans[plans.length - 1].id) : null };
    },
  );

  // The plans tab checks a token when it is entered, not after a plan has been drawn and filled in.
  app.get('/api/token', {
    schema: {
      tags: ['plans'],
      summary: 'The bearer token presented: its name, role and whether it may write plans (401 when unknown or revoked)',
      response: {
        200: { type: 'object', required: ['name', 'role', 'can_write_plans'], properties: { name: { type: 'string' }, role: { type: 'string' }, can_write_plans: { type: 'boolean' } } },
        401: errorSchema, 429: errorSchema,
      },
    },
  }, async (req) => {
    const who = await authorize(req, ['viewer', 'planner', 'admin']);
    return { name: who.name, role: who.role, can_write_plans: (writers as readonly string[]).includes(who.role) };
  });
  app.get<{ Params: { id: number } }>('/api/plans/:id', { schema: { tags: ['plans'], params: idParams, response: { 200: plan, 400: errorSchema, 404: errorSchema } } }, async (req, reply) => {
    const { rows } = await app.pg.query(`SELECT ${PLAN_COLUMNS} FROM plans WHERE id = $1`, [req.params.id]);
    if (!rows[0]) throw new ApiError('not_found', `no plan ${req.params.id}`);
    return sendPlan(reply, rows[0]);
  });

  app.post<{ Body: PlanInput }>(
    '/api/plans',
    { onRequest: authenticate, schema: { tags: ['plans'], summary: 'Create a plan (planner or admin token)', body: planBody, response: { 201: plan, 400: errorSchema, 401: errorSchema, 403: errorSchema, 413: errorSchema } } },
    async (req, reply) => {
      const who = principal(req);
      const b = req.body;
      checkPlanGeometry(b.kind, b.geometry);
      const created = await inTransaction(app, async (c) => {
        await checkPlanGeometriesValid(c, [b.geometry]);
        const { rows } = await c.query(
          `INSERT INTO plans (kind, name, status, geom, notes, created_by) VALUES ($1, $2, $3, ST_SetSRID(ST_GeomFromGeoJSON($4), 4326), $5, $6)
           RETURNING ${PLAN_COLUMNS}`,
          [b.kind, b.name, b.status ?? 'proposed', JSON.stringify(b.geometry), b.notes ?? null, who.name],
        );
        await audit(c, who, 'plan.create', rows[0].id, null, rows[0], req.id);
        return rows[0];
      });
      return sendPlan(reply, created, 201);
    },
  );

  app.patch<{ Params: { id: number }; Body: Partial<PlanInput> }>(
    '/api/plans/:id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['plans'],
        summary: 'Change a plan (planner or admin token)',
        description: 'With If-Match: applied only when the plan is still at that version, else 412 precondition_failed. Answers the new ETag.',
        params: idParams, headers: ifMatchHeaders, body: planPatch,
        response: { 200: plan, 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 412: errorSchema },
      },
    },
    async (req, reply) => {
      const who = principal(req);
      const updated = await inTransaction(app, async (c) => {
        const before = (await c.query(`SELECT ${PLAN_COLUMNS} FROM plans WHERE id = $1 FOR UPDATE`, [req.params.id])).rows[0];
        if (!before) throw new ApiError('not_found', `no plan ${req.params.id}`);
        checkIfMatch(req, before);
        const b = req.body;
        const kind = b.kind ?? before.kind;
        const geom = b.geometry ?? before.geometry;
        checkPlanGeometry(kind, geom);
        // on this transaction's client: asking the pool for a second one while holding this one
        // exhausts it under concurrent edits
        if (b.geometry) await checkPlanGeometriesValid(c, [b.geometry]);
        const { rows } = await c.query(
          `UPDATE plans SET kind = $2, name = coalesce($3, name), status = coalesce($4, status),
             geom = CASE WHEN $5::text IS NULL THEN geom ELSE ST_SetSRID(ST_GeomFromGeoJSON($5), 4326) END,
             notes = CASE WHEN $6 THEN $7 ELSE notes END, updated_at = now(), version = version + 1
           WHERE id = $1 RETURNING ${PLAN_COLUMNS}`,
          [req.params.id, kind, b.name ?? null, b.status ?? null, b.geometry ? JSON.stringify(b.geometry) : null, 'notes' in b, b.notes ?? null],
        );
        await audit(c, who, 'plan.update', req.params.id, before, rows[0], req.id);
        return rows[0];
      });
      return sendPlan(reply, updated);
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/plans/:id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['plans'],
        summary: 'Delete a plan (planner or admin token)',
        description: 'With If-Match: deleted only when the plan is still at that version, else 412 precondition_failed.',
        params: idParams, headers: ifMatchHeaders,
        response: { 204: { type: 'null' }, 401: errorSchema, 403: errorSchema, 404: errorSchema, 412: errorSchema },
      },
    },
    async (req, reply) => {
      const who = principal(req);
      await inTransaction(app, async (c) => {
        const before = (await c.query(`SELECT ${PLAN_COLUMNS} FROM plans WHERE id = $1 FOR UPDATE`, [req.params.id])).rows[0];
        if (!before) throw new ApiError('not_found', `no plan ${req.params.id}`);
        checkIfMatch(req, before);
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

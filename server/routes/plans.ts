import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { makeAuthorizer, type Principal } from '../auth.ts';
import { errorSchema } from '../../api/errors.ts';
import { PLANS_PAGE_DEFAULT, PLANS_PAGE_MAX } from '../../api/limits.ts';
import {
  idParams,
  ifMatchHeaders,
  listQuery,
  planBody,
  planPageSchema,
  planPatch,
  planSchema,
  tokenResponse,
  type PlanIdParams,
  type PlanInput,
  type PlanListQuery,
  type PlanPatch,
} from '../../api/plans.ts';
import { checkPlanGeometriesValid, checkPlanGeometry } from '../check-plan-geometry.ts';
import { inTransaction } from '../db/transaction.ts';
import { ApiError } from '../errors.ts';
import { auditPlanWrite, deletePlan, getPlan, insertPlan, listPlans, updatePlan } from '../queries/plans.ts';

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
  throw new ApiError(
    'precondition_failed',
    `plan ${current.id} was changed by someone else (now version ${current.version}, If-Match ${header.slice(0, 40)}): reload it and apply your change again`,
    {
      version: current.version,
    },
  );
}

/** 两拆一增 plans: read by anyone, written by planners and admins with every write in the audit log. */
export async function planRoutes(app: FastifyInstance): Promise<void> {
  const authorize = makeAuthorizer(app);
  const writers = ['planner', 'admin'] as const;
  const sendPlan = (reply: FastifyReply, p: { version: number }, status = 200) =>
    reply.status(status).header('etag', etagOf(p)).send(p);
  // Writes authenticate in onRequest, before the body is parsed or validated: a stranger learns
  // nothing about the schema, and a bad token with a bad body answers 401, not 400.
  const principals = new WeakMap<FastifyRequest, Principal>();
  const authenticate = async (req: FastifyRequest) => void principals.set(req, await authorize(req, writers));
  const principal = (req: FastifyRequest): Principal => {
    const who = principals.get(req);
    if (!who) throw new Error('a write route ran without its onRequest authentication');
    return who;
  };

  app.get<{ Querystring: PlanListQuery }>(
    '/api/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'List 两拆一增 plans, by id, a page at a time',
        description: `At most limit plans (default ${PLANS_PAGE_DEFAULT}, at most ${PLANS_PAGE_MAX}) with an id above cursor; next_cursor is null on the last page. Geometry only with include=geometry.`,
        querystring: listQuery,
        response: { 200: planPageSchema, 400: errorSchema },
      },
    },
    async (req) => {
      const q = req.query;
      const rows = await listPlans(app.pg, q.cursor, q.limit + 1, q.include === 'geometry');
      const more = rows.length > q.limit;
      const plans = more ? rows.slice(0, q.limit) : rows;
      return { plans, next_cursor: more ? Number(plans[plans.length - 1].id) : null };
    },
  );

  // The plans tab checks a token when it is entered, not after a plan has been drawn and filled in.
  app.get(
    '/api/token',
    {
      schema: {
        tags: ['plans'],
        summary:
          'The bearer token presented: its name, role and whether it may write plans (401 when unknown or revoked)',
        response: { 200: tokenResponse, 401: errorSchema, 429: errorSchema },
      },
    },
    async (req) => {
      const who = await authorize(req, ['viewer', 'planner', 'admin']);
      return { name: who.name, role: who.role, can_write_plans: (writers as readonly string[]).includes(who.role) };
    },
  );
  app.get<{ Params: PlanIdParams }>(
    '/api/plans/:id',
    {
      schema: { tags: ['plans'], params: idParams, response: { 200: planSchema, 400: errorSchema, 404: errorSchema } },
    },
    async (req, reply) => {
      const found = await getPlan(app.pg, req.params.id);
      if (!found) throw new ApiError('not_found', `no plan ${req.params.id}`);
      return sendPlan(reply, found);
    },
  );

  app.post<{ Body: PlanInput }>(
    '/api/plans',
    {
      onRequest: authenticate,
      schema: {
        tags: ['plans'],
        summary: 'Create a plan (planner or admin token)',
        body: planBody,
        response: { 201: planSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 413: errorSchema },
      },
    },
    async (req, reply) => {
      const who = principal(req);
      const b = req.body;
      checkPlanGeometry(b.kind, b.geometry);
      const created = await inTransaction(app.pg, async (c) => {
        await checkPlanGeometriesValid(c, [b.geometry]);
        const row = await insertPlan(c, {
          kind: b.kind,
          name: b.name,
          status: b.status ?? 'proposed',
          geometry: b.geometry,
          notes: b.notes ?? null,
          createdBy: who.name,
        });
        await auditPlanWrite(c, who, 'plan.create', row.id, null, row, req.id);
        return row;
      });
      return sendPlan(reply, created, 201);
    },
  );

  app.patch<{ Params: PlanIdParams; Body: PlanPatch }>(
    '/api/plans/:id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['plans'],
        summary: 'Change a plan (planner or admin token)',
        description:
          'With If-Match: applied only when the plan is still at that version, else 412 precondition_failed. Answers the new ETag.',
        params: idParams,
        headers: ifMatchHeaders,
        body: planPatch,
        response: {
          200: planSchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          412: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const who = principal(req);
      const updated = await inTransaction(app.pg, async (c) => {
        const before = await getPlan(c, req.params.id, true);
        if (!before) throw new ApiError('not_found', `no plan ${req.params.id}`);
        checkIfMatch(req, before);
        const b = req.body;
        const kind = b.kind ?? before.kind;
        const geom = b.geometry ?? before.geometry;
        checkPlanGeometry(kind, geom);
        // on this transaction's client: asking the pool for a second one while holding this one
        // exhausts it under concurrent edits
        if (b.geometry) await checkPlanGeometriesValid(c, [b.geometry]);
        const after = await updatePlan(c, req.params.id, {
          kind,
          name: b.name ?? null,
          status: b.status ?? null,
          geometry: b.geometry ?? null,
          setNotes: 'notes' in b,
          notes: b.notes ?? null,
        });
        await auditPlanWrite(c, who, 'plan.update', req.params.id, before, after, req.id);
        return after;
      });
      return sendPlan(reply, updated);
    },
  );

  app.delete<{ Params: PlanIdParams }>(
    '/api/plans/:id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['plans'],
        summary: 'Delete a plan (planner or admin token)',
        description:
          'With If-Match: deleted only when the plan is still at that version, else 412 precondition_failed.',
        params: idParams,
        headers: ifMatchHeaders,
        response: { 204: { type: 'null' }, 401: errorSchema, 403: errorSchema, 404: errorSchema, 412: errorSchema },
      },
    },
    async (req, reply) => {
      const who = principal(req);
      await inTransaction(app.pg, async (c) => {
        const before = await getPlan(c, req.params.id, true);
        if (!before) throw new ApiError('not_found', `no plan ${req.params.id}`);
        checkIfMatch(req, before);
        await deletePlan(c, req.params.id);
        await auditPlanWrite(c, who, 'plan.delete', req.params.id, before, null, req.id);
      });
      return reply.status(204).send();
    },
  );
}

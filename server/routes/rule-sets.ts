import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RULE_SET_SCHEMA, RuleSetValidationError } from '../../geo/rules/index.ts';
import { makeAuthorizer, type Principal } from '../auth.ts';
import { ruleSetStoreQuery, ruleSetStoreResponse } from '../../api/rule-sets.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { auditRuleSetStore, refreshRuleSets, storeRuleSet } from '../queries/rule-sets.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * GET /api/rule-sets/schema (the published JSON Schema) and POST /api/rule-sets (admin only: store
 * a rule set file's content, versioned, and start a coverage compute for it).
 */
export async function ruleSetRoutes(app: FastifyInstance): Promise<void> {
  const authorize = makeAuthorizer(app);
  const principals = new WeakMap<FastifyRequest, Principal>();
  // The compute runs in its own process (npm run compute): a request never waits on it, and the
  // server's event loop never carries it. One at a time; computes also serialise in the database.
  let computing = false;
  const startCompute = (): 'started' | 'already_running' => {
    if (computing) return 'already_running';
    computing = true;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'server/cli/compute.ts')], {
      cwd: projectRoot,
      env: process.env,
      stdio: 'ignore',
    });
    const done = (err?: Error) => {
      computing = false;
      if (err) app.log.error({ err }, 'rule-set compute failed to start');
    };
    child.on('error', done);
    child.on('exit', (code) => {
      done();
      if (code !== 0) app.log.error({ code }, 'rule-set compute failed: run npm run compute to see why');
    });
    return 'started';
  };

  app.get(
    '/api/rule-sets/schema',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'The JSON Schema of a rule set file',
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async (_req, reply) =>
      reply.header('content-type', 'application/schema+json; charset=utf-8').send(JSON.stringify(RULE_SET_SCHEMA)),
  );

  app.post<{ Querystring: { compute: boolean }; Body: unknown }>(
    '/api/rule-sets',
    {
      // Authenticate before the body is read (as the plan writes do).
      onRequest: async (req) => void principals.set(req, await authorize(req, ['admin'])),
      schema: {
        tags: ['catalogue'],
        summary: 'Store a rule set (admin): validated against /api/rule-sets/schema, versioned',
        description:
          'Errors name each problem by JSON path (details.problems). A new version of the same id supersedes the previous one for the next compute; earlier runs keep the versions they were computed with.',
        querystring: ruleSetStoreQuery,
        body: { type: 'object' },
        response: {
          201: ruleSetStoreResponse,
          200: ruleSetStoreResponse,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          409: errorSchema,
          422: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const who = principals.get(req)!;
      const c = await app.pg.connect();
      try {
        await c.query('BEGIN');
        const stored = await storeRuleSet(c, req.body, who.name).catch((err: unknown) => {
          if (err instanceof RuleSetValidationError)
            throw new ApiError('invalid_rule_set', err.message, { problems: err.problems });
          throw err;
        });
        if (stored.created) await auditRuleSetStore(c, who, stored, req.body, req.id);
        await c.query('COMMIT');
        await refreshRuleSets(app.pg);
        const compute = stored.created && req.query.compute ? startCompute() : 'skipped';
        return reply.status(stored.created ? 201 : 200).send({ ...stored, compute });
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
  );
}

import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import cors from '@fastify/cors';
import { projectRoot } from './config.ts';
import { ApiError } from './errors.ts';
import { dbPlugin } from './plugins/db.ts';
import rateLimit from '@fastify/rate-limit';
import { enginePlugin } from './plugins/engine.ts';
import { heavyPoolPlugin, type HeavyLimits } from './plugins/heavy-pool.ts';
import { HELMET_OPTIONS, securityHeadersPlugin } from './plugins/security-headers.ts';
import { catalogueRoutes } from './routes/catalogue.ts';
import { coverageRoutes } from './routes/coverage.ts';
import { healthRoutes } from './routes/health.ts';
import { tileRoutes } from './routes/tiles.ts';
import { isochroneRoutes } from './routes/isochrone.ts';
import { planRoutes } from './routes/plans.ts';
import { proximityRoutes } from './routes/proximity.ts';
import { scenarioRoutes } from './routes/scenarios.ts';

export interface AppOptions {
  databaseUrl: string;
  /** pino logger options, or false (tests). */
  logger?: FastifyServerOptions['logger'];
  /** Serve the built web app from this folder (default web/dist when it exists). */
  webDist?: string | false;
  /** Allowed CORS origins; none by default. */
  corsOrigins?: string[];
  /** Max request body in bytes. */
  bodyLimit?: number;
  /** Override @fastify/rate-limit options (benchmarks raise or lift the limits). */
  rateLimit?: Record<string, unknown>;
  /** Override the heavy-work pool's limits (threads, budgets, time limit, per-client concurrency). */
  heavy?: Partial<HeavyLimits>;
}

/** Build the Fastify app (routes, plugins, error handling); `main.ts` only listens. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1_000_000,
    genReqId: (() => {
      let n = 0;
      return () => `req-${(++n).toString(36)}`;
    })(),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    // The router answers a bad percent-escape or an over-long path parameter itself, bypassing the
    // error handler; keep the {"error": {"code", "message"}} form there too.
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 400;
      return reply.status(status).send({ error: { code: 'bad_request', message: err.message } });
    },
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    const e = err as { validation?: unknown; statusCode?: number; code?: string; message: string };
    if (e.validation) return reply.status(400).send({ error: { code: 'invalid_parameter', message: e.message } });
    if (e.statusCode === 413 || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: { code: 'payload_too_large', message: 'request body is too large' } });
    }
    if (e.statusCode === 429) return reply.status(429).send({ error: { code: 'rate_limited', message: e.message } });
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ error: { code: 'bad_request', message: e.message } });
    }
    if (isDatabaseDown(err)) {
      request.log.warn({ err }, 'database unavailable');
      return reply.status(503).header('retry-after', '2').send({ error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
  // Ajv coerces the strings "Infinity" and "1e999" to Infinity and then skips minimum/maximum,
  // which only test finite numbers (ajv-validator/ajv#2212), so query and path numbers are checked
  // again here: a distance_m=1e999 isochrone would otherwise walk the whole network.
  app.addHook('preHandler', (request, _reply, done) => {
    for (const part of [request.query, request.params]) {
      if (!part || typeof part !== 'object') continue;
      for (const [key, value] of Object.entries(part)) {
        if ((Array.isArray(value) ? value : [value]).some((v) => typeof v === 'number' && !Number.isFinite(v))) {
          return done(new ApiError('invalid_parameter', `${key} must be a finite number`));
        }
      }
    }
    done();
  });

  await app.register(securityHeadersPlugin, HELMET_OPTIONS);
  await app.register(cors, { origin: options.corsOrigins?.length ? options.corsOrigins : false });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Life-circle API',
        description: '15-minute community life circles: walking distance over the street network. Data © OpenStreetMap contributors (ODbL).',
        version: '0.1.0',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(dbPlugin, { databaseUrl: options.databaseUrl });
  // Only expensive routes opt in (config.rateLimit); limits are per client address.
  if (options.rateLimit) {
    // @fastify/rate-limit lets a route's own config win over the plugin options, so the override
    // is merged into each route's limit too (registered before the plugin's own onRoute hook).
    const override = options.rateLimit;
    app.addHook('onRoute', (route) => {
      const own = route.config?.rateLimit;
      if (own && typeof own === 'object') route.config = { ...route.config, rateLimit: { ...own, ...override } };
    });
  }
  await app.register(rateLimit, { global: false, ...(options.rateLimit ?? {}) });
  await app.register(enginePlugin);
  await app.register(heavyPoolPlugin, { limits: options.heavy });
  await app.register(healthRoutes);
  await app.register(tileRoutes);
  await app.register(catalogueRoutes);
  await app.register(proximityRoutes);
  await app.register(isochroneRoutes);
  await app.register(coverageRoutes);
  await app.register(planRoutes);
  await app.register(scenarioRoutes);

  const webDist = options.webDist ?? path.join(projectRoot, 'web', 'dist');
  if (webDist && fs.existsSync(path.join(webDist, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: false });
  }
  return app;
}

const DB_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', '57P01', '57P02', '57P03', '08006', '08001', '08003']);
function isDatabaseDown(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (e.code !== undefined && DB_DOWN_CODES.has(e.code)) || /Connection terminated|timeout exceeded when trying to connect/i.test(e.message ?? '');
}

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import cors from '@fastify/cors';
import { projectRoot } from './config.ts';
import { BEARER_SCHEME, documentRoutes } from './api-docs.ts';
import type { Socket } from 'node:net';
import { ApiError, ERRORS, type ErrorCode } from './errors.ts';
import { MAX_JSON_DEPTH } from './limits.ts';
import { dbPlugin } from './plugins/db.ts';
import rateLimit from '@fastify/rate-limit';
import { enginePlugin } from './plugins/engine.ts';
import { heavyPoolPlugin, type HeavyLimits } from './plugins/heavy-pool.ts';
import { helmetOptions, securityHeadersPlugin } from './plugins/security-headers.ts';
import { catalogueRoutes } from './routes/catalogue.ts';
import { coverageRoutes } from './routes/coverage.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { datasetParam } from '../api/datasets.ts';
import { errorSchema } from '../api/errors.ts';
import { drilldownRoutes } from './routes/drilldown.ts';
import { reportRoutes } from './routes/report.ts';
import { healthRoutes } from './routes/health.ts';
import { tileRoutes } from './routes/tiles.ts';
import { isochroneBandRoutes, isochroneRoutes } from './routes/isochrone.ts';
import { planRoutes } from './routes/plans.ts';
import { proximityRoutes } from './routes/proximity.ts';
import { ruleSetRoutes } from './routes/rule-sets.ts';
import { ruleSetRefresher } from './queries/rule-sets.ts';
import { scenarioRoutes } from './routes/scenarios.ts';
import { searchRoutes } from './routes/search.ts';
import { savedScenarioRoutes } from './routes/saved-scenarios.ts';

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
  /** Fastify's `trustProxy` (see Config.trustProxy); false by default. */
  trustProxy?: boolean | number | string[];
  /** Send HSTS and CSP upgrade-insecure-requests (only when reached over HTTPS); false by default. */
  servedOverHttps?: boolean;
  /** Override the heavy-work pool's limits (threads, budgets, time limit, per-client concurrency). */
  heavy?: Partial<HeavyLimits>;
  /** Memory budget of the dataset engines together, MB (default Config.engineBudgetMb). */
  engineBudgetMb?: number;
}

/**
 * Routes that read no dataset, so take no `dataset=`: the dataset list and comparison (they name
 * datasets themselves), rule sets, plans, saved scenarios, the token check, report fonts.
 */
const DATASET_FREE_ROUTES = new Set([
  '/api/datasets',
  '/api/compare',
  '/api/rules',
  '/api/rule-sets',
  '/api/rule-sets/schema',
  '/api/plans',
  '/api/plans/:id',
  '/api/token',
  '/api/saved-scenarios',
  '/api/saved-scenarios/:id',
  '/api/saved-scenarios/:id/results',
  '/api/saved-scenarios/compare',
  '/report/fonts/:file',
]);

/** Build the Fastify app (routes, plugins, error handling); `main.ts` only listens. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1_000_000,
    // Fastify takes a hop count too (its types omit it).
    trustProxy: (options.trustProxy ?? false) as boolean | string[],
    // Audit rows carry the request id: a random prefix per process keeps ids unique across restarts.
    genReqId: (() => {
      const processId = crypto.randomBytes(6).toString('hex');
      let n = 0;
      return () => `${processId}-${(++n).toString(36)}`;
    })(),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    // The router answers a bad percent-escape or an over-long path parameter itself, bypassing the
    // error handler; keep the {"error": {"code", "message"}} form there too.
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 400;
      return reply.status(status).send({ error: { code: 'bad_request', message: err.message } });
    },
    clientErrorHandler: answerClientError,
  });

  // Nesting is bounded before anything walks the parsed body: JSON.parse copes with 10,000 levels,
  // but JSON.stringify and every recursive check after it overflow the stack.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const depth = jsonDepth(body as string);
    if (depth > MAX_JSON_DEPTH)
      return done(
        new ApiError('invalid_parameter', `the JSON body is nested ${depth} levels deep; at most ${MAX_JSON_DEPTH}`),
        undefined,
      );
    return parseJson(request, body as string, done);
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ApiError) {
      return reply
        .status(err.statusCode)
        .send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
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
      return reply
        .status(503)
        .header('retry-after', '2')
        .send({ error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
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

  await app.register(securityHeadersPlugin, helmetOptions({ servedOverHttps: options.servedOverHttps ?? false }));
  await app.register(cors, { origin: options.corsOrigins?.length ? options.corsOrigins : false });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Life-circle API',
        description:
          '15-minute community life circles: walking distance over the street network. Data © OpenStreetMap contributors (ODbL).',
        version: '0.1.0',
      },
      components: { securitySchemes: BEARER_SCHEME },
    },
  });
  documentRoutes(app);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(dbPlugin, { databaseUrl: options.databaseUrl });
  // Rule sets stored by another process (npm run import -- rules) are seen within a second.
  const refreshRuleSets = ruleSetRefresher(app.pg);
  app.addHook('preHandler', async (req) => {
    if (req.url.startsWith('/api/')) await refreshRuleSets();
  });
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
  // Every route that answers from a dataset takes dataset= (one hook, so the OpenAPI document lists
  // it on each); a name nothing is stored under is 404 unknown_dataset before the handler runs.
  app.addHook('onRoute', (route) => {
    const isDataRoute = /^\/(api|tiles|report)\//.test(route.url) && !DATASET_FREE_ROUTES.has(route.url);
    if (!isDataRoute || route.schema?.hide) return;
    const query = (route.schema?.querystring ?? { type: 'object', properties: {} }) as {
      properties?: Record<string, unknown>;
    };
    const response = route.schema?.response as Record<string, unknown> | undefined;
    route.schema = {
      ...route.schema,
      querystring: { ...query, properties: { ...query.properties, dataset: datasetParam } },
      // the unknown_dataset answer is documented on every route that can give it
      ...(response && !response['404'] ? { response: { ...response, 404: errorSchema } } : {}),
    };
  });
  app.addHook('preHandler', async (req) => {
    const dataset = (req.query as { dataset?: unknown } | undefined)?.dataset;
    if (typeof dataset === 'string') await app.engine.resolve(dataset);
  });
  await app.register(enginePlugin, { budgetMb: options.engineBudgetMb });
  await app.register(heavyPoolPlugin, { limits: options.heavy });
  await app.register(healthRoutes);
  await app.register(datasetRoutes);
  await app.register(tileRoutes);
  await app.register(catalogueRoutes);
  await app.register(ruleSetRoutes);
  await app.register(proximityRoutes);
  await app.register(isochroneRoutes);
  await app.register(isochroneBandRoutes);
  await app.register(searchRoutes);
  await app.register(coverageRoutes);
  await app.register(drilldownRoutes);
  await app.register(reportRoutes);
  await app.register(planRoutes);
  await app.register(scenarioRoutes);
  await app.register(savedScenarioRoutes);

  const webDist = options.webDist ?? path.join(projectRoot, 'web', 'dist');
  if (webDist && fs.existsSync(path.join(webDist, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: false });
  }
  return app;
}

const DB_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08001',
  '08003',
]);
function isDatabaseDown(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    (e.code !== undefined && DB_DOWN_CODES.has(e.code)) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(e.message ?? '')
  );
}

/** Deepest nesting of arrays and objects in a JSON text (strings skipped); O(length). */
export function jsonDepth(text: string): number {
  let depth = 0,
    max = 0,
    inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) max = Math.max(max, ++depth);
    else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** What Node's HTTP parser refused, as our status, code and message. */
function clientErrorOf(err: NodeJS.ErrnoException): { status: number; code: ErrorCode; message: string } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request_timeout', message: 'the request was not received in time' };
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'headers_too_large',
        message: 'the request line and headers are larger than the server accepts (16 kB): shorten the query string',
      };
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH': {
      const reason = (err as { reason?: string }).reason ?? err.message;
      if (/Transfer-Encoding/i.test(reason) && /Content-Length/i.test(reason)) {
        return {
          status: 400,
          code: 'bad_request',
          message: 'Transfer-Encoding and Content-Length together are refused (request smuggling): send one of them',
        };
      }
      return {
        status: 400,
        code: 'bad_request',
        message: `the request's framing is not valid HTTP: ${reason.replace(/^Parse Error: /, '')}`,
      };
    }
    case 'HPE_INVALID_HEADER_TOKEN':
      return {
        status: 400,
        code: 'bad_request',
        message: 'a header name or value holds a character HTTP does not allow (e.g. NUL)',
      };
    default:
      return {
        status: 400,
        code: 'bad_request',
        message: `the request is not valid HTTP (${String(err.code ?? 'parse error')})`,
      };
  }
}

/**
 * Fastify's clientErrorHandler: requests Node's HTTP parser refuses before any route sees them
 * (oversized headers, NUL in a header, Transfer-Encoding with Content-Length) get the same
 * `{"error": {"code", "message"}}` body as every other error, then the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, message } = clientErrorOf(err);
  if (ERRORS[code] !== status && code !== 'bad_request')
    throw new Error(`client error ${code} is not ${status} in the catalogue`);
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

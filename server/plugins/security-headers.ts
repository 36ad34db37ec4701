import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * Our policy. The map needs blob: workers and inline styles from MapLibre; everything else stays
 * same-origin. HSTS and `upgrade-insecure-requests` only when the server is reached over HTTPS: on
 * a plain-HTTP LAN deployment they make browsers ask for https:// URLs nobody answers.
 */
export function helmetOptions({ servedOverHttps }: { servedOverHttps: boolean }): HelmetOptions {
  return {
    strictTransportSecurity: servedOverHttps,
    contentSecurityPolicy: {
      directives: {
        upgradeInsecureRequests: servedOverHttps ? [] : null,
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        workerSrc: ["'self'", 'blob:'],
        childSrc: ["'self'", 'blob:'],
        imgSrc: ["'self'", 'data:', 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        connectSrc: ["'self'"],
      },
    },
  };
}

/**
 * helmet's headers, worked out once at start-up and set on every reply.
 *
 * Our policy has no per-request parts (no CSP nonces), so the headers never change. @fastify/helmet
 * builds a fresh helmet middleware, parsing the CSP directives again, on every request: a tenth of
 * a proximity request's time, and the garbage it made (helmetjs/helmet#430 asks for this too).
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => void (headers[name] = String(value)),
    removeHeader: (name: string) => void delete headers[name],
    getHeader: (name: string) => headers[name],
  } as unknown as ServerResponse;
  let failure: unknown;
  helmet(options)({} as IncomingMessage, res, (err?: unknown) => void (failure = err));
  if (failure) throw failure;
  return headers;
}

export const securityHeadersPlugin = fp(
  async (app: FastifyInstance, opts: HelmetOptions) => {
    const headers = helmetHeaders(opts);
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
  },
  { name: 'security-headers' },
);

import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { ApiError } from './errors.ts';

export type Role = 'viewer' | 'planner' | 'admin';
export interface Principal {
  tokenId: number;
  name: string;
  role: Role;
}

const TOKEN_PREFIX = 'lc_';
export const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** A new random token (256 bits) — shown once; only its SHA-256 is stored. */
export async function createToken(
  db: pg.Pool | pg.ClientBase,
  name: string,
  role: Role,
): Promise<{ id: number; token: string }> {
  const token = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO api_tokens (name, role, token_sha256) VALUES ($1, $2, $3) RETURNING id`,
    [name, role, sha256(token)],
  );
  return { id: rows[0].id, token };
}

export async function revokeToken(db: pg.Pool | pg.ClientBase, id: number): Promise<boolean> {
  const r = await db.query(`UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id]);
  return (r.rowCount ?? 0) > 0;
}

/** Failed authentications allowed per (token prefix, client address) per minute before 429. */
export const AUTH_FAILURES_PER_MINUTE = 10;
/** Characters of a presented token that key the failure count: `lc_` and five of the random part. */
export const AUTH_FAILURE_PREFIX_CHARS = 8;

/**
 * Resolve the bearer token of a request to a principal with one of `roles`, or throw 401/403.
 * The token's hash is looked up, then compared again in constant time. Failures are counted per
 * (token prefix, client address): behind a proxy many people share one address, and a stranger
 * guessing tokens must not lock them out. A valid token is never refused, whatever the count.
 */
export function makeAuthorizer(app: FastifyInstance) {
  const failures = new Map<string, { count: number; windowStart: number }>();
  const keyOf = (req: FastifyRequest, token: string) => `${req.ip}\u0000${token.slice(0, AUTH_FAILURE_PREFIX_CHARS)}`;
  const fail = (key: string, err: ApiError): never => {
    const now = Date.now();
    const f = failures.get(key);
    if (!f || now - f.windowStart > 60_000) {
      if (failures.size >= 10_000) failures.clear();
      failures.set(key, { count: 1, windowStart: now });
    } else f.count++;
    throw err;
  };
  const lockedOut = (key: string) => {
    const f = failures.get(key);
    return f !== undefined && Date.now() - f.windowStart <= 60_000 && f.count >= AUTH_FAILURES_PER_MINUTE;
  };
  return async function authorize(req: FastifyRequest, roles: readonly Role[]): Promise<Principal> {
    const header = req.headers.authorization;
    const m = header?.match(/^Bearer\s+(\S{1,200})$/i);
    const presented = m?.[1] ?? '';
    const key = keyOf(req, presented);
    if (!m) {
      if (lockedOut(key)) throw new ApiError('rate_limited', 'too many failed authentications; try again in a minute');
      return fail(key, new ApiError('unauthorized', 'this write needs an "Authorization: Bearer <token>" header'));
    }
    const hash = sha256(presented);
    const { rows } = await app.pg.query<{
      id: number;
      name: string;
      role: Role;
      token_sha256: string;
      revoked_at: Date | null;
    }>(`SELECT id, name, role, token_sha256, revoked_at FROM api_tokens WHERE token_sha256 = $1`, [hash]);
    const row = rows[0];
    if (
      !row ||
      !crypto.timingSafeEqual(Buffer.from(row.token_sha256, 'hex'), Buffer.from(hash, 'hex')) ||
      row.revoked_at
    ) {
      if (lockedOut(key))
        throw new ApiError(
          'rate_limited',
          'too many failed authentications with this token prefix from this address; try again in a minute',
        );
      return fail(key, new ApiError('unauthorized', 'the token is unknown or revoked'));
    }
    if (!roles.includes(row.role))
      throw new ApiError('forbidden', `the ${row.role} role cannot do this; it needs ${roles.join(' or ')}`);
    return { tokenId: row.id, name: row.name, role: row.role };
  };
}

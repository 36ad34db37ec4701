import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import helmet from 'helmet';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILURES_PER_MINUTE, createToken, revokeToken, sha256 } from '../../server/auth.ts';
import { buildApp } from '../../server/app.ts';
import { readConfig } from '../../server/config.ts';
import { listen } from '../../server/main.ts';
import { helmetOptions } from '../../server/plugins/security-headers.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { dbSnapshot } from './db-snapshot.ts';
import { createPool } from '../../server/db/pool.ts';
import { grantAppRole, grantAppRoleIfSeparate, roleOf } from '../../server/db/app-role.ts';
import { APP_ROLE, resolveAppDatabaseUrl, startLocalCluster, stopLocalCluster } from '../../server/db/local-cluster.ts';
import { migrate } from '../../server/db/migrate.ts';
import { freePortBelowEphemeral } from './throwaway-cluster.ts';

const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump';
const square = (lng: number, lat: number, d = 0.0005) => ({
  type: 'Polygon',
  coordinates: [
    [
      [lng, lat],
      [lng + d, lat],
      [lng + d, lat + d],
      [lng, lat + d],
      [lng, lat],
    ],
  ],
});
const plan = (name = '口袋公园') => ({ kind: 'add_open_space', name, geometry: square(104.06, 30.66) });

let db: TestDatabase;
let app: FastifyInstance;
let pool: pg.Pool;
let tokens: Record<'viewer' | 'planner' | 'admin', string>;
let addressCounter = 0;
/** Each check gets its own client address, so the auth-failure limiter of one never leaks into another. */
const freshAddress = () => `198.51.100.${++addressCounter}`;

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 2 });
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.ready();
  tokens = {
    viewer: (await createToken(pool, 'access-viewer', 'viewer')).token,
    planner: (await createToken(pool, 'access-planner', 'planner')).token,
    admin: (await createToken(pool, 'access-admin', 'admin')).token,
  };
});
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.drop();
});

describe('writes need a planner or admin token', () => {
  it('no token → 401, viewer → 403, planner and admin → 201, for POST, PATCH and DELETE', async () => {
    const post = (headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/api/plans', payload: plan(), headers, remoteAddress: freshAddress() });
    expect((await post({})).statusCode).toBe(401);
    const asViewer = await post({ authorization: `Bearer ${tokens.viewer}` });
    expect(asViewer.statusCode).toBe(403);
    expect(asViewer.json().error.code).toBe('forbidden');
    const byPlanner = await post({ authorization: `Bearer ${tokens.planner}` });
    const byAdmin = await post({ authorization: `Bearer ${tokens.admin}` });
    expect([byPlanner.statusCode, byAdmin.statusCode]).toEqual([201, 201]);
    const id = byPlanner.json().id;
    for (const method of ['PATCH', 'DELETE'] as const) {
      const payload = method === 'PATCH' ? { status: 'approved' } : undefined;
      expect(
        (await app.inject({ method, url: `/api/plans/${id}`, payload, remoteAddress: freshAddress() })).statusCode,
      ).toBe(401);
      expect(
        (
          await app.inject({
            method,
            url: `/api/plans/${id}`,
            payload,
            headers: { authorization: `Bearer ${tokens.viewer}` },
            remoteAddress: freshAddress(),
          })
        ).statusCode,
      ).toBe(403);
    }
    expect((await app.inject({ method: 'GET', url: `/api/plans/${id}` })).json().status).toBe('proposed');
    const del = await app.inject({
      method: 'DELETE',
      url: `/api/plans/${id}`,
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    expect(del.statusCode).toBe(204);
  });

  it('a revoked token → 401', async () => {
    const { id, token } = await createToken(pool, 'access-revoked', 'planner');
    const headers = { authorization: `Bearer ${token}` };
    expect(
      (await app.inject({ method: 'POST', url: '/api/plans', payload: plan(), headers, remoteAddress: freshAddress() }))
        .statusCode,
    ).toBe(201);
    expect(await revokeToken(pool, id)).toBe(true);
    const r = await app.inject({
      method: 'POST',
      url: '/api/plans',
      payload: plan(),
      headers,
      remoteAddress: freshAddress(),
    });
    expect(r.statusCode).toBe(401);
    expect(r.json().error.code).toBe('unauthorized');
  });

  it('tokens are stored only as SHA-256 hashes: no token appears in a dump of the table', async () => {
    const dump = execFileSync(PG_DUMP, ['--data-only', '--table=api_tokens', '--inserts', db.url], {
      encoding: 'utf8',
    });
    expect(dump).toContain('access-planner');
    for (const token of Object.values(tokens)) {
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(token.slice(3, 23)); // nor a recognisable part of one
      expect(dump).toContain(sha256(token));
    }
    const { rows } = await pool.query(`SELECT row_to_json(t)::text AS j FROM api_tokens t`);
    for (const r of rows) for (const token of Object.values(tokens)) expect(r.j).not.toContain(token);
  });

  it(`more than ${AUTH_FAILURES_PER_MINUTE} failed authentications in a minute with one token prefix from one address → 429; a valid token is never refused`, async () => {
    const address = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE + 1; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/plans',
        payload: plan(),
        headers: { authorization: `Bearer lc_guess_${i}` },
        remoteAddress: address,
      });
      statuses.push(r.statusCode);
    }
    expect(statuses.slice(0, AUTH_FAILURES_PER_MINUTE)).toEqual(Array(AUTH_FAILURES_PER_MINUTE).fill(401));
    expect(statuses[AUTH_FAILURES_PER_MINUTE]).toBe(429);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/plans',
          payload: plan(),
          headers: { authorization: 'Bearer lc_guess_again' },
          remoteAddress: address,
        })
      ).json().error.code,
    ).toBe('rate_limited');
    // the planner behind the same address (a shared proxy, an office NAT) still writes
    const good = await app.inject({
      method: 'POST',
      url: '/api/plans',
      payload: plan(),
      headers: { authorization: `Bearer ${tokens.planner}` },
      remoteAddress: address,
    });
    expect(good.statusCode).toBe(201);
    // a mistyped token with another prefix from that address is counted apart: 401, not 429
    const typo = await app.inject({
      method: 'POST',
      url: '/api/plans',
      payload: plan(),
      headers: { authorization: `Bearer ${tokens.planner.slice(0, 10)}x` },
      remoteAddress: address,
    });
    expect(typo.statusCode).toBe(401);
  });

  it('behind a proxy (trustProxy) each forwarded client has its own failure count; without it X-Forwarded-For is ignored', async () => {
    const proxied = await buildApp({ databaseUrl: db.url, webDist: false, trustProxy: ['127.0.0.1'] });
    try {
      const send = (a: FastifyInstance, forwardedFor: string) =>
        a.inject({
          method: 'POST',
          url: '/api/plans',
          payload: plan(),
          headers: { authorization: 'Bearer lc_proxy_guess', 'x-forwarded-for': forwardedFor },
          remoteAddress: '127.0.0.1',
        });
      for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++)
        expect((await send(proxied, '203.0.113.50')).statusCode).toBe(401);
      expect((await send(proxied, '203.0.113.50')).statusCode).toBe(429);
      expect((await send(proxied, '203.0.113.51')).statusCode).toBe(401);
      // the default app takes the socket's address, whatever a client writes in X-Forwarded-For
      for (let i = 0; i < AUTH_FAILURES_PER_MINUTE; i++) await send(app, `203.0.113.${60 + i}`);
      expect((await send(app, '203.0.113.99')).statusCode).toBe(429);
    } finally {
      await proxied.close();
    }
    expect(readConfig({ TRUST_PROXY: '10.0.0.1, 10.0.0.2' }).trustProxy).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(readConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(readConfig({}).trustProxy).toBe(false);
  });

  it('authentication comes before validation: a bad token with an invalid body → 401, not 400', async () => {
    const bad = { kind: 'no such kind', geometry: 42 };
    for (const headers of [{}, { authorization: 'Bearer lc_not_a_token' }]) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/plans',
        payload: bad,
        headers,
        remoteAddress: freshAddress(),
      });
      expect(r.statusCode, r.body).toBe(401);
      expect(r.json().error.code).toBe('unauthorized');
      const broken = await app.inject({
        method: 'POST',
        url: '/api/plans',
        payload: '{"name": ',
        headers: { ...headers, 'content-type': 'application/json' },
        remoteAddress: freshAddress(),
      });
      expect(broken.statusCode, broken.body).toBe(401);
      const patch = await app.inject({
        method: 'PATCH',
        url: '/api/plans/not-a-number',
        payload: bad,
        headers,
        remoteAddress: freshAddress(),
      });
      expect(patch.statusCode, patch.body).toBe(401);
    }
    // with a good token the same body is a 400
    const valid = await app.inject({
      method: 'POST',
      url: '/api/plans',
      payload: bad,
      headers: { authorization: `Bearer ${tokens.planner}` },
      remoteAddress: freshAddress(),
    });
    expect(valid.statusCode).toBe(400);
  });
});

describe('the audit log says who did what', () => {
  it('rows record the token id (names may repeat) and request ids unique across restarts', async () => {
    const first = await createToken(pool, 'same-name', 'planner');
    const second = await createToken(pool, 'same-name', 'planner');
    const ids: number[] = [];
    const requestIds: string[] = [];
    for (const token of [first.token, second.token]) {
      // a fresh app each time: a restarted process
      const restarted = await buildApp({ databaseUrl: db.url, webDist: false });
      try {
        const r = await restarted.inject({
          method: 'POST',
          url: '/api/plans',
          payload: plan('who'),
          headers: { authorization: `Bearer ${token}` },
        });
        expect(r.statusCode).toBe(201);
        ids.push(r.json().id);
      } finally {
        await restarted.close();
      }
    }
    const { rows } = await pool.query<{ entity_id: string; actor: string; token_id: number; request_id: string }>(
      `SELECT entity_id, actor, token_id, request_id FROM audit_log WHERE entity = 'plan' AND entity_id = ANY($1::text[]) ORDER BY id`,
      [ids.map(String)],
    );
    expect(rows.map((r) => [r.entity_id, r.actor, r.token_id])).toEqual([
      [String(ids[0]), 'same-name', first.id],
      [String(ids[1]), 'same-name', second.id],
    ]);
    requestIds.push(...rows.map((r) => r.request_id));
    expect(new Set(requestIds).size).toBe(2);
  });
});

describe('HSTS and upgrade-insecure-requests only behind TLS', () => {
  it('plain HTTP by default: neither is sent; SERVED_OVER_HTTPS=1 sends both', async () => {
    const plain = await app.inject('/api/categories');
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    expect(String(plain.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
    expect(String(plain.headers['content-security-policy'])).toContain("default-src 'self'");
    const tls = await buildApp({
      databaseUrl: db.url,
      webDist: false,
      servedOverHttps: readConfig({ SERVED_OVER_HTTPS: '1' }).servedOverHttps,
    });
    try {
      const r = await tls.inject('/api/categories');
      expect(r.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(String(r.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
    } finally {
      await tls.close();
    }
    expect(readConfig({}).servedOverHttps).toBe(false);
    expect(() => readConfig({ SERVED_OVER_HTTPS: 'yes please' })).toThrow(/SERVED_OVER_HTTPS/);
  });
});

describe('SQL injection strings in every parameter are harmless', () => {
  const INJECTIONS = [
    "' OR '1'='1",
    '1; DROP TABLE walk_edges; --',
    "'); DELETE FROM plans; --",
    "x' UNION SELECT token_sha256 FROM api_tokens --",
    "'; TRUNCATE audit_log; --",
    '1; SELECT pg_sleep(60); --',
    "' || (SELECT pg_sleep(60)) || '",
    '$1',
  ];
  const valid: Record<string, Record<string, string>> = {
    '/api/proximity': { lng: '104.0585', lat: '30.6605', categories: 'park', rule_set: 'chengdu-park-city' },
    '/api/isochrone': { lng: '104.0585', lat: '30.6605', distance_m: '500' },
    '/api/coverage': { rule_set: 'chengdu-park-city', level: 'community', format: 'json' },
    '/api/audit': { rule_set: 'chengdu-park-city', level: 'community', format: 'csv' },
    '/tiles/areas/{z}/{x}/{y}.pbf': { rule_set: 'chengdu-park-city' },
  };

  it('query, path, body and header parameters', async () => {
    const before = await dbSnapshot(pool);
    let created = 0;
    let requests = 0;
    const check = async (what: string, opts: InjectOptions) => {
      const t = performance.now();
      const r = await app.inject(opts);
      const ms = performance.now() - t;
      requests++;
      expect(r.statusCode, `${what} → ${r.body.slice(0, 200)}`).toBeLessThan(500);
      // pg_sleep(60) would take a minute; a loaded machine takes seconds at worst
      expect(ms, `${what} took ${ms} ms (pg_sleep ran?)`).toBeLessThan(30_000);
      // input may be echoed in a message; a database error or a leaked hash may not
      expect(r.body).not.toMatch(/syntax error|unterminated|relation .* does not exist|"internal"|[0-9a-f]{64}/);
      return r;
    };
    for (const inj of INJECTIONS) {
      for (const [route, params] of Object.entries(valid)) {
        for (const key of Object.keys(params)) {
          const q = new URLSearchParams({ ...params, [key]: inj });
          await check(`${route} ${key}=${inj}`, { url: `${route.replace('{z}/{x}/{y}', '15/25855/13449')}?${q}` });
        }
      }
      const seg = encodeURIComponent(inj);
      for (const url of [
        `/tiles/${seg}/15/25855/13449.pbf`,
        `/tiles/network/${seg}/25855/13449.pbf`,
        `/tiles/network/15/${seg}/13449.pbf`,
        `/tiles/network/15/25855/${seg}.pbf`,
        `/api/plans/${seg}`,
      ]) {
        await check(url, { url });
      }
      for (const method of ['PATCH', 'DELETE'] as const) {
        await check(`${method} id`, {
          method,
          url: `/api/plans/${seg}`,
          payload: method === 'PATCH' ? { name: 'x' } : undefined,
          headers: { authorization: `Bearer ${tokens.planner}` },
        });
      }
      await check('Authorization', {
        method: 'POST',
        url: '/api/plans',
        payload: plan(),
        headers: { authorization: `Bearer ${inj}` },
        remoteAddress: freshAddress(),
      });
      for (const field of ['kind', 'status', 'name', 'notes'] as const) {
        const r = await check(`body ${field}`, {
          method: 'POST',
          url: '/api/plans',
          payload: { ...plan(), [field]: inj },
          headers: { authorization: `Bearer ${tokens.planner}` },
        });
        if (r.statusCode === 201) {
          created++;
          // stored verbatim, as text
          expect(r.json()[field]).toBe(inj);
        } else expect(['kind', 'status']).toContain(field);
      }
      await check('geometry type', {
        method: 'POST',
        url: '/api/plans',
        payload: { ...plan(), geometry: { type: inj, coordinates: [] } },
        headers: { authorization: `Bearer ${tokens.planner}` },
      });
    }
    expect(created).toBe(INJECTIONS.length * 2);
    const after = await dbSnapshot(pool);
    expect(after.datasets).toEqual(before.datasets);
    expect({ ...after.counts, plans: 0, audit_log: 0 }).toEqual({ ...before.counts, plans: 0, audit_log: 0 });
    expect(after.counts.plans - before.counts.plans).toBe(created);
    expect(after.counts.audit_log - before.counts.audit_log).toBe(created);
    console.log(
      `sql injection: ${requests} requests, ${INJECTIONS.length} strings, ${created} plans stored with them as names/notes`,
    );
  });
});

/** Send a request line exactly as written (no client-side normalisation of `..`). */
function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`timeout on ${target}`)));
    socket.on('connect', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () =>
      resolve({ status: Number(data.split(' ')[1]), body: data.slice(data.indexOf('\r\n\r\n') + 4) }),
    );
  });
}

describe('tile and static paths cannot reach the file system', () => {
  const TARGETS = [
    '/tiles/../../etc/passwd',
    '/tiles/../../../../../../etc/passwd',
    '/tiles/%2e%2e/%2e%2e/etc/passwd',
    '/tiles/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
    '/tiles/..%2f..%2f..%2fetc%2fpasswd/1/1/1.pbf',
    '/tiles/network/..%2f..%2f..%2fetc%2fpasswd/1/1.pbf',
    '/tiles/network/1/1/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/tiles/%252e%252e/%252e%252e/etc/passwd',
    '/tiles/network/15/1/1.pbf/../../../../etc/passwd',
    '/tiles//etc/passwd',
    '/tiles/%00/1/1/1.pbf',
    '/../../etc/passwd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/index.html/../../../../etc/passwd',
    '/assets/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '//etc/passwd',
    '/etc/passwd',
  ];
  let served: FastifyInstance;
  let port: number;
  let webDist: string;

  beforeAll(async () => {
    // A web app folder, so @fastify/static (the part that reads files) is registered too.
    webDist = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-webdist-'));
    fs.writeFileSync(path.join(webDist, 'index.html'), '<!doctype html><title>map</title>');
    fs.mkdirSync(path.join(webDist, 'assets'));
    fs.writeFileSync(path.join(webDist, 'assets', 'app.js'), 'console.log(1)');
    served = await buildApp({ databaseUrl: db.url, webDist });
    await served.listen({ host: '127.0.0.1', port: 0 });
    port = (served.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await served?.close();
    fs.rmSync(webDist, { recursive: true, force: true });
  });

  it('through inject and on the wire: 400 or 404, never a file', async () => {
    expect((await rawGet(port, '/assets/app.js')).status).toBe(200); // the static server does serve files
    for (const target of TARGETS) {
      for (const r of [
        await rawGet(port, target),
        await served.inject(target).then((x) => ({ status: x.statusCode, body: x.body })),
      ]) {
        expect([400, 404], `${target} → ${r.status} ${r.body.slice(0, 120)}`).toContain(r.status);
        expect(r.body).not.toContain('root:');
        expect(r.body).not.toContain('console.log');
      }
    }
  });
});

describe('security headers', () => {
  it("every answer (JSON, error, 404, tile, docs) carries exactly the headers helmet's own middleware sets", async () => {
    // the oracle: helmet run as middleware on a real ServerResponse, as @fastify/helmet would per request
    const res = new http.ServerResponse(new http.IncomingMessage(new net.Socket()));
    helmet(helmetOptions({ servedOverHttps: false }))(new http.IncomingMessage(new net.Socket()), res, () => {});
    const expected = Object.entries(res.getHeaders()).map(([k, v]) => [k.toLowerCase(), String(v)]);
    expect(expected.length).toBeGreaterThan(8);
    expect(Object.fromEntries(expected)['content-security-policy']).toContain("worker-src 'self' blob:");
    for (const url of [
      '/api/categories',
      '/api/proximity?lng=abc&lat=1',
      '/api/nowhere',
      '/tiles/network/15/26001/13624.pbf',
      '/docs/json',
    ]) {
      const r = await app.inject(url);
      for (const [name, value] of expected) expect(r.headers[name], `${url}: ${name}`).toBe(value);
    }
  });
});

describe('network exposure', () => {
  it('readConfig binds 127.0.0.1 unless HOST is set', () => {
    expect(readConfig({}).host).toBe('127.0.0.1');
    expect(readConfig({ HOST: '' }).host).toBe('127.0.0.1');
    expect(readConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it("listen() with the default config accepts on loopback and refuses on the machine's other addresses", async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const level = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'silent';
    const { close } = await listen(readConfig({ PORT: String(free) }), db.url);
    process.env.LOG_LEVEL = level;
    const tryConnect = (host: string) =>
      new Promise<string>((resolve) => {
        const s = net.connect(free, host);
        s.setTimeout(2000, () => {
          s.destroy();
          resolve('timeout');
        });
        s.on('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
    try {
      expect(await tryConnect('127.0.0.1')).toBe('connected');
      const external = Object.values(os.networkInterfaces())
        .flat()
        .filter((i) => i && i.family === 'IPv4' && !i.internal)
        .map((i) => i!.address);
      for (const address of external) expect(await tryConnect(address), address).not.toBe('connected');
      console.log(
        `listen(): loopback connects; refused on ${external.join(', ') || '(no other IPv4 address on this machine)'}`,
      );
    } finally {
      await close();
    }
  });
});

describe('the audit log is append-only', () => {
  it('UPDATE, DELETE and TRUNCATE are refused, also for the role the API connects as', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/plans',
      payload: plan('audit'),
      headers: { authorization: `Bearer ${tokens.planner}` },
      remoteAddress: freshAddress(),
    });
    expect(r.statusCode).toBe(201);
    const before = (await pool.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n;
    expect(before).toBeGreaterThan(0);
    await expect(pool.query(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(pool.query(`DELETE FROM audit_log WHERE entity_id = $1`, [String(r.json().id)])).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only/);
    expect((await pool.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n).toBe(before);
  });
});

describe('the server connects as a role that cannot bypass the audit log', () => {
  it('as the granted app role: plans are written, but session_replication_role, DELETE, TRUNCATE and ALTER TABLE on audit_log are refused', async () => {
    const role = `lc_app_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
    const password = crypto.randomBytes(12).toString('hex');
    await pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    const appUrl = new URL(db.url);
    appUrl.username = role;
    appUrl.password = password;
    const asApp = new pg.Client({ connectionString: appUrl.toString() });
    let served: FastifyInstance | undefined;
    try {
      await grantAppRole(db.url, role);
      await asApp.connect();
      served = await buildApp({ databaseUrl: appUrl.toString(), webDist: false });
      const r = await served.inject({
        method: 'POST',
        url: '/api/plans',
        payload: plan('as app role'),
        headers: { authorization: `Bearer ${tokens.planner}` },
      });
      expect(r.statusCode, r.body).toBe(201);
      const before = (await asApp.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n;
      expect(before).toBeGreaterThan(0);
      await expect(asApp.query(`SET session_replication_role = replica`)).rejects.toThrow(/permission denied/);
      await expect(asApp.query(`DELETE FROM audit_log`)).rejects.toThrow(/permission denied|append-only/);
      await expect(asApp.query(`TRUNCATE audit_log`)).rejects.toThrow(/permission denied|append-only/);
      await expect(asApp.query(`ALTER TABLE audit_log DISABLE TRIGGER USER`)).rejects.toThrow(/must be owner/);
      await expect(asApp.query(`DROP TRIGGER audit_log_no_update ON audit_log`)).rejects.toThrow(/must be owner/);
      await expect(asApp.query(`UPDATE api_tokens SET role = 'admin'`)).rejects.toThrow(/permission denied/);
      expect((await asApp.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n).toBe(before);
      const { rows } = await asApp.query(
        `SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user`,
      );
      expect(rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
    } finally {
      await served?.close();
      await asApp.end().catch(() => {});
      await pool.query(`DROP OWNED BY ${role}`);
      await pool.query(`DROP ROLE ${role}`);
    }
  });

  it('grantAppRole refuses a superuser as the app role', async () => {
    const superuser = (
      await pool.query(`SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS s`)
    ).rows[0];
    expect(superuser.s).toBe(true);
    await expect(grantAppRole(db.url, superuser.u)).rejects.toThrow(/superuser/);
  });

  it('the project-local cluster asks every connection for a password, and the server role is no superuser', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-cluster-'));
    const config = readConfig({
      LIFE_CIRCLE_DATA_DIR: dir,
      LIFE_CIRCLE_DB_PORT: String(await freePortBelowEphemeral()),
    });
    try {
      const ownerUrl = startLocalCluster(config, () => {});
      const appUrl = resolveAppDatabaseUrl(config);
      expect(roleOf(appUrl)).toBe(APP_ROLE);
      expect(fs.statSync(path.join(dir, 'passwords.json')).mode & 0o077).toBe(0);
      for (const url of [ownerUrl, appUrl]) {
        const u = new URL(url);
        u.password = '';
        const noPassword = new pg.Client({ connectionString: u.toString() });
        await expect(noPassword.connect()).rejects.toThrow(/password/);
        u.password = 'wrong';
        const wrong = new pg.Client({ connectionString: u.toString() });
        await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
      }
      await migrate(ownerUrl);
      await grantAppRoleIfSeparate(ownerUrl, appUrl);
      const asApp = new pg.Client({ connectionString: appUrl });
      await asApp.connect();
      try {
        await asApp.query(`INSERT INTO audit_log (actor, action, entity) VALUES ('test', 'test', 'test')`);
        await expect(asApp.query(`SET session_replication_role = replica`)).rejects.toThrow(/permission denied/);
        await expect(asApp.query(`DELETE FROM audit_log`)).rejects.toThrow(/permission denied/);
      } finally {
        await asApp.end();
      }
    } finally {
      stopLocalCluster(config);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rate limits', () => {
  // An isochrone outside the dataset is refused in microseconds, yet still counts against the limit.
  const OUTSIDE = '/api/isochrone?lng=2.35&lat=48.85&distance_m=100';

  it('the isochrone route limits one address to 600 a minute', async () => {
    const address = freshAddress();
    let limited = 0;
    for (let i = 0; i < 601; i++)
      if ((await app.inject({ url: OUTSIDE, remoteAddress: address })).statusCode === 429) limited++;
    expect(limited).toBe(1);
  });

  it('buildApp({ rateLimit: { max } }) lifts the per-route limits too (for benchmarks)', async () => {
    // Regression: @fastify/rate-limit lets a route's own config.rateLimit win over the plugin options,
    // so { max: 1e9 } left the 600/min isochrone and 6000/min proximity limits in place.
    const lifted = await buildApp({ databaseUrl: db.url, webDist: false, rateLimit: { max: 1e9 } });
    try {
      let limited = 0;
      for (let i = 0; i < 650; i++)
        if ((await lifted.inject({ url: OUTSIDE, remoteAddress: '203.0.113.9' })).statusCode === 429) limited++;
      expect(limited).toBe(0);
    } finally {
      await lifted.close();
    }
  });
});

import fp from 'fastify-plugin';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    pg: pg.Pool;
  }
}

/** Owns the pg.Pool for the app's lifetime and ends it on close. */
export const dbPlugin = fp(
  async (app: FastifyInstance, opts: { databaseUrl: string; max?: number }) => {
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.max ?? 10,
      // Fail fast while the database is down instead of queueing requests behind it.
      connectionTimeoutMillis: 2000,
      idleTimeoutMillis: 30_000,
    });
    pool.on('error', (err) => app.log.warn({ err }, 'idle database client failed'));
    // A checked-out client (a transaction in progress) also emits 'error' when the server goes away.
    // Its pending query rejects with the same error, so the request still answers 503, but an
    // 'error' event without a listener would crash the process.
    pool.on('connect', (client) => client.on('error', (err) => app.log.debug({ err }, 'database connection lost')));
    app.decorate('pg', pool);
    app.addHook('onClose', async () => {
      await pool.end();
    });
  },
  { name: 'db' },
);

import fp from 'fastify-plugin';
import type pg from 'pg';
import { createPool } from '../db/pool.ts';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    pg: pg.Pool;
  }
}

/** Owns the pg.Pool for the app's lifetime and ends it on close. */
export const dbPlugin = fp(
  async (app: FastifyInstance, opts: { databaseUrl: string; max?: number }) => {
    const pool = createPool(opts.databaseUrl, {
      max: opts.max ?? 10,
      // No JIT compilation for the API's queries: they are short, and the planner's inflated costs
      // for set-returning functions made PostgreSQL compile the grid search for 1.9 s of a 4.1 s run
      // (issue 14's probe). A connection string's own `options` still win.
      options: '-c jit=off',
      // Fail fast while the database is down instead of queueing requests behind it.
      connectionTimeoutMillis: 2000,
      idleTimeoutMillis: 30_000,
      // A transaction in progress also loses its client; its query rejects, so it answers 503.
      onError: (err) => app.log.warn({ err }, 'database connection lost'),
    });
    app.decorate('pg', pool);
    app.addHook('onClose', async () => {
      await pool.end();
    });
  },
  { name: 'db' },
);

import fp from 'fastify-plugin';
import type pg from 'pg';
import { createPool } from '../db/pool.ts';
import { lowerBackendPriority } from '../db/backend-priority.ts';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    pg: pg.Pool;
    /**
     * Connections for heavy requests' SQL (the suggestion grid, the isochrone polygon): their
     * backends run at a lower priority ({@link BACKEND_NICE_INCREMENT}) where the server is local.
     */
    pgHeavy: pg.Pool;
  }
}

/**
 * Nice added to the backends of {@link FastifyInstance.pgHeavy}: the same as the worker threads'
 * (server/plugins/heavy-pool.ts), so heavy SQL, like heavy JavaScript, takes the cores the event
 * loop that answers proximity and tiles leaves. At nice 0 on a 2-core machine, the soak's heavy
 * burst had a grid search or polygon running beside the worker thread at the event loop's priority.
 */
export const BACKEND_NICE_INCREMENT = 10;

/** Owns the pg.Pools for the app's lifetime and ends them on close. */
export const dbPlugin = fp(
  async (app: FastifyInstance, opts: { databaseUrl: string; max?: number }) => {
    const common = {
      // No JIT compilation for the API's queries: they are short, and the planner's inflated costs
      // for set-returning functions made PostgreSQL compile the grid search for 1.9 s of a 4.1 s run
      // (issue 14's probe). A connection string's own `options` still win.
      options: '-c jit=off',
      idleTimeoutMillis: 30_000,
      // A transaction in progress also loses its client; its query rejects, so it answers 503.
      onError: (err: Error) => app.log.warn({ err }, 'database connection lost'),
    };
    // Fail fast while the database is down instead of queueing requests behind it.
    const pool = createPool(opts.databaseUrl, { ...common, max: opts.max ?? 10, connectionTimeoutMillis: 2000 });
    // heavy requests wait for one of these behind other heavy requests, within their own limits
    const heavy = createPool(opts.databaseUrl, { ...common, max: 4, connectionTimeoutMillis: 10_000 });
    heavy.on('connect', (client) => {
      const nice = lowerBackendPriority(client, opts.databaseUrl, BACKEND_NICE_INCREMENT);
      app.log.debug({ pid: (client as { processID?: number }).processID, nice }, 'heavy SQL connection');
    });
    app.decorate('pg', pool);
    app.decorate('pgHeavy', heavy);
    app.addHook('onClose', async () => {
      await Promise.all([pool.end(), heavy.end()]);
    });
  },
  { name: 'db' },
);

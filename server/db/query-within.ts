import type pg from 'pg';
import { ApiError } from '../errors.ts';

/**
 * Run one read-only query with a PostgreSQL `statement_timeout` of `timeoutMs`: when it runs out
 * the server cancels the statement (SQLSTATE 57014) and this throws 503 `work_timed_out` naming
 * `what`, so a heavy request never keeps a database core busy past its limit. The timeout is set
 * with SET LOCAL in a transaction of its own, so it ends with the query and never reaches another
 * request's use of the pooled connection.
 */
export async function queryWithin<R extends pg.QueryResultRow>(
  db: pg.Pool,
  timeoutMs: number,
  what: string,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  const c = await db.connect();
  try {
    await c.query('BEGIN READ ONLY');
    await c.query(`SELECT set_config('statement_timeout', $1, true)`, [`${Math.max(1, Math.round(timeoutMs))}ms`]);
    return await c.query<R>(text, values);
  } catch (err) {
    if ((err as { code?: string }).code === '57014') {
      throw new ApiError(
        'work_timed_out',
        `${what} took longer than its ${timeoutMs / 1000} s database time limit and was stopped: ask for less`,
      );
    }
    throw err;
  } finally {
    // read-only: nothing to commit; a failed rollback means a broken connection, which is dropped
    await c.query('ROLLBACK').then(
      () => c.release(),
      (e: Error) => c.release(e),
    );
  }
}

import pg from 'pg';

/**
 * A pg.Pool that survives the database going away: idle and checked-out clients both get an
 * 'error' listener (their pending queries still reject, so the caller's transaction fails and
 * rolls back), instead of an unhandled 'error' event ending the process.
 */
export function createPool(
  connectionString: string,
  options: pg.PoolConfig & { onError?: (err: Error) => void } = {},
): pg.Pool {
  const { onError = () => {}, ...config } = options;
  const pool = new pg.Pool({ connectionString, ...config });
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

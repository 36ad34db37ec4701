import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from '../config.ts';

export const MIGRATIONS_DIR = path.join(projectRoot, 'migrations');
const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;
// Any constant will do; it only has to be the same for every process that migrates.
const MIGRATION_LOCK_KEY = 71_500_15;

/** Fail with a clear message when the server lacks PostGIS or pgRouting. */
export async function checkExtensionsAvailable(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT name FROM pg_available_extensions WHERE name = ANY($1::text[])`,
    [['postgis', 'pgrouting']],
  );
  const have = new Set(rows.map((r) => r.name));
  const missing = ['postgis', 'pgrouting'].filter((n) => !have.has(n));
  if (missing.length) {
    throw new Error(
      `the database server has no ${missing.join(' and ')} extension available; install PostGIS 3 and pgRouting 3 there ` +
        `(Debian: postgresql-15-postgis-3 postgresql-15-pgrouting), or unset DATABASE_URL to use the project-local cluster`,
    );
  }
}

/**
 * Apply every migration in `migrations/` not yet recorded in `schema_migrations`, in order, each
 * in its own transaction. Forward-only: applied files are never re-run. Returns the versions applied.
 */
export async function migrate(databaseUrl: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await checkExtensionsAvailable(client);
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    const files = fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((f) => MIGRATION_FILE.test(f))
      .sort();
    const applied: string[] = [];
    for (const file of files) {
      const version = file.slice(0, 4);
      if (done.has(version)) continue;
      const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8');
      log(`migrating ${file}`);
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock_all()').catch(() => {});
    await client.end();
  }
}

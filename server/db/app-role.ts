import pg from 'pg';

/** Tables the server may read but never change; every other table it may read and write. */
const READ_ONLY_TABLES = ['schema_migrations', 'api_tokens', 'spatial_ref_sys'];

/** The user name in a connection string (libpq's default, the OS user, when it has none). */
export function roleOf(databaseUrl: string): string {
  const user = decodeURIComponent(new URL(databaseUrl).username);
  return user || process.env.PGUSER || process.env.USER || 'postgres';
}

/**
 * Grant the server's role what it needs on a migrated database, run as the owner after every
 * migration (new tables need grants too): read everything; insert, update and delete rows of the
 * data tables; only insert into the append-only `audit_log`; no TRUNCATE, no DDL, nothing owned.
 * A role that is neither owner nor superuser cannot disable the audit log's triggers (ALTER TABLE)
 * nor skip them (`session_replication_role` is superuser-only).
 */
export async function grantAppRole(ownerUrl: string, appRole: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ rolsuper: boolean; owns: boolean }>(
      `SELECT r.rolsuper, EXISTS (SELECT FROM pg_class c WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace) AS owns
         FROM pg_roles r WHERE r.rolname = $1`,
      [appRole],
    );
    if (!rows[0])
      throw new Error(
        `the role "${appRole}" does not exist; create it (CREATE ROLE ${appRole} LOGIN PASSWORD '…') first`,
      );
    if (rows[0].rolsuper)
      throw new Error(
        `the server's role "${appRole}" is a superuser; it must be an ordinary role (see README "Database roles")`,
      );
    if (rows[0].owns)
      throw new Error(
        `the server's role "${appRole}" owns tables; the schema must be owned by the migration role (see README "Database roles")`,
      );
    const role = client.escapeIdentifier(appRole);
    const { rows: tables } = await client.query<{ name: string; kind: string }>(
      `SELECT c.relname AS name, c.relkind AS kind FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')`,
    );
    await client.query('BEGIN');
    await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    for (const { name, kind } of tables) {
      const table = client.escapeIdentifier(name);
      await client.query(`REVOKE ALL ON ${table} FROM ${role}`);
      const privileges =
        READ_ONLY_TABLES.includes(name) || kind === 'v' || kind === 'm'
          ? 'SELECT'
          : name === 'audit_log'
            ? 'SELECT, INSERT'
            : 'SELECT, INSERT, UPDATE, DELETE';
      await client.query(`GRANT ${privileges} ON ${table} TO ${role}`);
    }
    await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

/** After migrating with `ownerUrl`, grant the server's role of `appUrl` when it is another role. */
export async function grantAppRoleIfSeparate(ownerUrl: string, appUrl: string): Promise<void> {
  if (roleOf(ownerUrl) !== roleOf(appUrl)) await grantAppRole(ownerUrl, roleOf(appUrl));
}

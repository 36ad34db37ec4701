import { readConfig } from '../config.ts';
import { resolveAppDatabaseUrl, resolveDatabaseUrl } from '../db/local-cluster.ts';
import { grantAppRoleIfSeparate } from '../db/app-role.ts';
import { migrate } from '../db/migrate.ts';

try {
  const config = readConfig();
  const ownerUrl = resolveDatabaseUrl(config);
  const applied = await migrate(ownerUrl, (line) => console.error(line));
  await grantAppRoleIfSeparate(ownerUrl, resolveAppDatabaseUrl(config));
  console.error(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
}

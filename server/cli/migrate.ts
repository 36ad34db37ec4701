import { readConfig } from '../config.ts';
import { resolveDatabaseUrl } from '../db/local-cluster.ts';
import { migrate } from '../db/migrate.ts';

try {
  const applied = await migrate(resolveDatabaseUrl(readConfig()), (line) => console.error(line));
  console.error(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
}

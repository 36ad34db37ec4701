import { createPool } from '../db/pool.ts';
import { readConfig } from '../config.ts';
import { resolveAppDatabaseUrl, resolveDatabaseUrl } from '../db/local-cluster.ts';
import { grantAppRoleIfSeparate } from '../db/app-role.ts';
import { migrate } from '../db/migrate.ts';
import { listen } from '../main.ts';
import { loadDefaultData } from '../import/default-data.ts';
import { terminalProgress } from '../progress.ts';
import { buildWebIfStale } from '../web-build.ts';

const config = readConfig();
try {
  const started = performance.now();
  const databaseUrl = resolveDatabaseUrl(config, (line) => console.error(line));
  await migrate(databaseUrl, (line) => console.error(line));
  const appDatabaseUrl = resolveAppDatabaseUrl(config);
  await grantAppRoleIfSeparate(databaseUrl, appDatabaseUrl);
  const pool = createPool(databaseUrl, { max: 2 });
  try {
    await loadDefaultData(pool, config, terminalProgress());
  } finally {
    await pool.end();
  }
  await buildWebIfStale((line) => console.error(line));
  await listen(config, appDatabaseUrl);
  console.error(`life-circle is serving http://${config.host}:${config.port}/ (ready in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
}

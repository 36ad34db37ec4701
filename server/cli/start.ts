import { createPool } from '../db/pool.ts';
import { readConfig } from '../config.ts';
import { resolveAppDatabaseUrl, resolveDatabaseUrl } from '../db/local-cluster.ts';
import { grantAppRoleIfSeparate } from '../db/app-role.ts';
import { migrate } from '../db/migrate.ts';
import { listen } from '../main.ts';
import { loadDefaultData } from '../import/default-data.ts';
import { terminalProgress } from '../progress.ts';
import { buildWebIfStale } from '../web-build.ts';
import { closeOnSignal, rollBackOnSignal } from './signals.ts';

const config = readConfig();
try {
  const started = performance.now();
  const databaseUrl = resolveDatabaseUrl(config, (line) => console.error(line));
  await migrate(databaseUrl, (line) => console.error(line));
  const appDatabaseUrl = resolveAppDatabaseUrl(config);
  await grantAppRoleIfSeparate(databaseUrl, appDatabaseUrl);
  // The first start imports the default data: a signal then rolls that import back, as
  // `npm run import` does; once serving, a signal closes the server gracefully.
  const applicationName = `life-circle-start-${process.pid}`;
  const pool = createPool(databaseUrl, { max: 2, application_name: applicationName });
  const stopImportOnSignal = rollBackOnSignal(databaseUrl, applicationName, 'the import of the default data');
  try {
    await loadDefaultData(pool, config, terminalProgress());
  } finally {
    await pool.end();
    stopImportOnSignal();
  }
  await buildWebIfStale((line) => console.error(line));
  const { address, close } = await listen(config, appDatabaseUrl);
  closeOnSignal(close);
  console.error(
    `life-circle is serving ${address}/ (pid ${process.pid}, ready in ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
}

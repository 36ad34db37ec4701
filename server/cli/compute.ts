import path from 'node:path';
import { createPool } from '../db/pool.ts';
import { readConfig } from '../config.ts';
import { resolveDatabaseUrl } from '../db/local-cluster.ts';
import { migrate } from '../db/migrate.ts';
import { parseArgs } from 'node:util';
import { computeCoverage } from '../coverage-run/compute-coverage.ts';
import { terminalProgress } from '../progress.ts';

// --dataset <name>: compute that dataset's newest vintage (default: the newest network dataset)
const { values } = parseArgs({ options: { dataset: { type: 'string' } } });
const config = readConfig();
const url = resolveDatabaseUrl(config);
const pool = createPool(url, { max: 2 });
try {
  await migrate(url);
  const r = await computeCoverage(pool, {
    progress: terminalProgress(),
    engineDir: path.join(config.dataDir, 'engine'),
    dataset: values.dataset,
  });
  console.log(JSON.stringify(r, null, 2));
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}

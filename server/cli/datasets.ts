import path from 'node:path';
import { parseArgs } from 'node:util';
import { DATASET_NAME } from '../../api/datasets.ts';
import { createPool } from '../db/pool.ts';
import { readConfig } from '../config.ts';
import { resolveDatabaseUrl } from '../db/local-cluster.ts';
import { migrate } from '../db/migrate.ts';
import { listDatasets } from '../queries/datasets.ts';
import { DatasetCommandError, deleteDataset, setDefaultDataset } from '../queries/manage-datasets.ts';

const USAGE = `usage:
  npm run datasets -- list [--json]
  npm run datasets -- default <name>          (answers without dataset= come from it)
  npm run datasets -- delete <name> [--force] (every vintage, run, result and engine file of the name;
                                               --force: even the default dataset)`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { json: { type: 'boolean', default: false }, force: { type: 'boolean', default: false } },
});
const [command, name] = positionals;
const config = readConfig();
const url = resolveDatabaseUrl(config);
const pool = createPool(url, { max: 1 });

/** The name argument, checked as the API checks dataset= (api/datasets.ts DATASET_NAME). */
function nameArgument(): string {
  if (!name) throw new DatasetCommandError(`${command} needs a dataset name\n${USAGE}`);
  if (!DATASET_NAME.test(name))
    throw new DatasetCommandError(
      `${JSON.stringify(name)} is not a dataset name (lower-case letters, digits, '.', '_', '-'; at most 64; not all digits)`,
    );
  return name;
}

try {
  await migrate(url);
  switch (command) {
    case 'list': {
      const datasets = await listDatasets(pool);
      if (values.json) {
        console.log(JSON.stringify(datasets, null, 2));
        break;
      }
      if (!datasets.length) {
        console.error('no datasets: import one (npm run import -- osm <file> --name <name>)');
        break;
      }
      console.table(
        datasets.map((d) => ({
          name: d.name,
          default: d.is_default ? 'yes' : '',
          dataset_id: d.dataset_id,
          run_id: d.run_id ?? '(not computed)',
          other_vintages: d.other_vintages,
          kind: d.is_sample ? `${d.kind} (sample)` : d.kind,
          source: d.source,
          sha256: d.sha256.slice(0, 12),
          osm_timestamp: d.osm_timestamp ?? '',
          imported_at: d.imported_at,
        })),
      );
      break;
    }
    case 'default': {
      const n = nameArgument();
      await setDefaultDataset(pool, n);
      console.error(`${n} is the default dataset`);
      break;
    }
    case 'delete': {
      const n = nameArgument();
      const r = await deleteDataset(pool, n, { force: values.force, engineDir: path.join(config.dataDir, 'engine') });
      console.error(
        `deleted dataset ${n}: rows ${r.datasetIds.join(', ')}, ${r.runIds.length} coverage run(s), ` +
          `${r.engineFiles.length} engine file(s)` +
          (r.wasDefault ? `; it was the default, now ${r.defaultAfter ?? '(no dataset left)'}` : ''),
      );
      console.log(JSON.stringify(r, null, 2));
      break;
    }
    default:
      throw new DatasetCommandError(USAGE);
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}

import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { inTransaction } from '../db/transaction.ts';
import { NETWORK_FILE_FORMAT } from '../network/network-file.ts';

/** A dataset command refused: unknown name, or the default without --force. The CLI prints it and exits non-zero. */
export class DatasetCommandError extends Error {}

const NETWORK_KINDS = `kind IN ('osm', 'sample_city')`;

async function knownNames(db: pg.Pool | pg.ClientBase): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT DISTINCT name FROM datasets WHERE ${NETWORK_KINDS} ORDER BY name`,
  );
  return rows.map((r) => r.name);
}

function unknownName(name: string, names: readonly string[]): DatasetCommandError {
  return new DatasetCommandError(
    `no dataset named ${JSON.stringify(name)}; the datasets are: ${names.length ? names.join(', ') : '(none)'}`,
  );
}

/**
 * Mark `name` the default dataset (what every route and tile answers from without `dataset=`):
 * every row of the name gets is_default, every other row loses it, so a later vintage imported under
 * the name stays default (the importer inherits the mark, server/import/import-osm.ts).
 * DatasetCommandError for a name nothing is stored under.
 */
export async function setDefaultDataset(pool: pg.Pool, name: string): Promise<void> {
  await inTransaction(pool, async (c) => {
    // one writer of the mark at a time (an import with --default does the same update)
    await c.query(`LOCK TABLE datasets IN SHARE ROW EXCLUSIVE MODE`);
    const names = await knownNames(c);
    if (!names.includes(name)) throw unknownName(name, names);
    await c.query(`UPDATE datasets SET is_default = (name = $1) WHERE ${NETWORK_KINDS} AND (is_default OR name = $1)`, [
      name,
    ]);
  });
}

/** What `deleteDataset` removed. */
export interface DeletedDataset {
  name: string;
  /** The rows (vintages) stored under the name. */
  datasetIds: number[];
  /** Their coverage runs, complete or not. */
  runIds: number[];
  wasDefault: boolean;
  /** The default dataset afterwards (null: no dataset left). */
  defaultAfter: string | null;
  /** Engine files removed from `engineDir`. */
  engineFiles: string[];
}

/**
 * Delete dataset `name`: every vintage stored under it, and with them (foreign keys cascade) their
 * network, layers, origins, coverage runs, per-area and per-origin results, generalised tiles and
 * saved scenarios, in one transaction; then its engine files under `engineDir` (named by the file's
 * sha256, so one still used by another dataset row with the same sha256 is kept). Registers,
 * communities, districts and population tables are not per dataset and stay.
 *
 * Refuses (DatasetCommandError) a name nothing is stored under, and the default dataset
 * (default_dataset_name(), migration 0260) unless `force`: the default then falls to the rule
 * without a mark (newest with a complete run).
 */
export async function deleteDataset(
  pool: pg.Pool,
  name: string,
  options: { force?: boolean; engineDir?: string } = {},
): Promise<DeletedDataset> {
  const r = await inTransaction(pool, async (c) => {
    // an import or compute of the name must not add a run or a vintage while its rows go
    await c.query(`LOCK TABLE datasets IN SHARE ROW EXCLUSIVE MODE`);
    const names = await knownNames(c);
    if (!names.includes(name)) throw unknownName(name, names);
    const { rows: d } = await c.query<{ default_name: string }>(`SELECT default_dataset_name() AS default_name`);
    const wasDefault = d[0].default_name === name;
    if (wasDefault && !options.force)
      throw new DatasetCommandError(
        `${JSON.stringify(name)} is the default dataset: mark another one default first ` +
          `(npm run datasets -- default <name>), or pass --force`,
      );
    const { rows: runs } = await c.query<{ id: number }>(
      `SELECT r.id FROM coverage_runs r JOIN datasets d ON d.id = r.dataset_id
       WHERE d.${NETWORK_KINDS} AND d.name = $1 ORDER BY r.id`,
      [name],
    );
    const { rows: deleted } = await c.query<{ id: number; sha256: string }>(
      `DELETE FROM datasets WHERE ${NETWORK_KINDS} AND name = $1 RETURNING id, sha256`,
      [name],
    );
    const { rows: kept } = await c.query<{ sha256: string }>(
      `SELECT DISTINCT sha256 FROM datasets WHERE sha256 = ANY($1::text[])`,
      [deleted.map((x) => x.sha256)],
    );
    const keptSha = new Set(kept.map((x) => x.sha256));
    const { rows: after } = await c.query<{ default_name: string | null }>(
      `SELECT default_dataset_name() AS default_name`,
    );
    return {
      name,
      datasetIds: deleted.map((x) => x.id).sort((a, b) => a - b),
      runIds: runs.map((x) => x.id),
      wasDefault,
      defaultAfter: after[0].default_name,
      shas: [...new Set(deleted.map((x) => x.sha256))].filter((s) => !keptSha.has(s)),
    };
  });
  // Files only once the rows are gone for good: a rolled-back delete leaves its engine file usable.
  const engineFiles: string[] = [];
  if (options.engineDir)
    for (const sha of r.shas) {
      const file = path.join(options.engineDir, `${sha}-v${NETWORK_FILE_FORMAT}.engine`);
      if (fs.existsSync(file)) {
        fs.rmSync(file, { force: true });
        engineFiles.push(file);
      }
    }
  const { shas: _shas, ...result } = r;
  return { ...result, engineFiles };
}

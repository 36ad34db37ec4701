import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readConfig, type Config } from '../config.ts';
import { resolveDatabaseUrl } from '../db/local-cluster.ts';

const USAGE = `usage:
  npm run db:backup [-- <file>]     pg_dump -Fc of the configured database (default .data/backups/life-circle-<timestamp>.dump)
  npm run db:restore -- <file>      pg_restore --clean --if-exists, in a single transaction, into the configured database`;

/**
 * The newest installed PostgreSQL client tool (`/usr/lib/postgresql/<version>/bin`), else the one
 * on PATH. A newer pg_dump reads older servers; an older one refuses newer servers.
 */
export function pgTool(name: 'pg_dump' | 'pg_restore'): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin', name);
    if (fs.existsSync(bin)) return bin;
  }
  return name;
}

/** `.data/backups/life-circle-2024-05-01T08-30-00Z.dump` (no colons, so it is a valid name everywhere). */
export function defaultBackupFile(config: Config, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
  return path.join(config.dataDir, 'backups', `life-circle-${stamp}.dump`);
}

function runTool(bin: string, args: string[]): void {
  const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error)
    throw new Error(
      `${path.basename(bin)} could not run: ${r.error.message} (install the PostgreSQL client, Debian: postgresql-client-15)`,
    );
  if (r.status !== 0)
    throw new Error(`${path.basename(bin)} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
}

/**
 * Dump the database at `databaseUrl` to `file` in pg_dump's custom format (compressed, restorable
 * table by table). Written to `<file>.partial` and renamed when complete, so a failed backup never
 * leaves a truncated file under the real name.
 */
export function backupDatabase(databaseUrl: string, file: string): { file: string; bytes: number; seconds: number } {
  const started = performance.now();
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const partial = `${file}.partial`;
  try {
    runTool(pgTool('pg_dump'), ['--format=custom', '--file', partial, '--dbname', databaseUrl]);
    fs.renameSync(partial, file);
  } finally {
    fs.rmSync(partial, { force: true });
  }
  return { file, bytes: fs.statSync(file).size, seconds: (performance.now() - started) / 1000 };
}

/**
 * Restore a custom-format dump into the database at `databaseUrl`: existing objects of the dump are
 * dropped first (`--clean --if-exists`), all in one transaction (`--single-transaction`), so a
 * failed restore leaves the database as it was. Ownership is not restored (`--no-owner`): the
 * connecting role owns what it creates.
 */
export function restoreDatabase(databaseUrl: string, file: string): { seconds: number } {
  if (!fs.existsSync(file)) throw new Error(`backup file not found: ${file}`);
  const started = performance.now();
  runTool(pgTool('pg_restore'), [
    '--clean',
    '--if-exists',
    '--single-transaction',
    '--no-owner',
    '--dbname',
    databaseUrl,
    file,
  ]);
  return { seconds: (performance.now() - started) / 1000 };
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function main(): Promise<void> {
  const { positionals } = parseArgs({ allowPositionals: true, options: {} });
  const [command, file] = positionals;
  const config = readConfig();
  if (command === 'backup') {
    const url = resolveDatabaseUrl(config);
    const r = backupDatabase(url, file ?? defaultBackupFile(config));
    console.error(`backed up ${redact(url)} in ${r.seconds.toFixed(1)} s (${(r.bytes / 1e6).toFixed(1)} MB):`);
    console.log(r.file);
  } else if (command === 'restore' && file) {
    const url = resolveDatabaseUrl(config);
    const r = restoreDatabase(url, file);
    console.error(`restored ${file} into ${redact(url)} in ${r.seconds.toFixed(1)} s`);
  } else {
    throw new Error(USAGE);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  });
}

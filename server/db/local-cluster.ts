import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.ts';
import { ensureDebianPackages } from '../ensure-debian-packages.ts';

/** Debian packages the project-local cluster needs. */
export const REQUIRED_PACKAGES = ['postgresql-15', 'postgresql-15-postgis-3', 'postgresql-15-pgrouting'] as const;

const PG_BIN = '/usr/lib/postgresql/15/bin';
const PG_SHARE = '/usr/share/postgresql/15/extension';
const SUPERUSER = 'life_circle';
export const LOCAL_DB_NAME = 'life_circle';

const isRoot = () => process.getuid?.() === 0;

const PG_LIB = '/usr/lib/postgresql/15/lib';

/** An extension is there when both its control file and its shared library are. */
function hasExtension(control: string, libraryPrefix: string): boolean {
  if (!fs.existsSync(path.join(PG_SHARE, control))) return false;
  return fs.existsSync(PG_LIB) && fs.readdirSync(PG_LIB).some((f) => f.startsWith(libraryPrefix) && f.endsWith('.so'));
}

/**
 * Make sure PostgreSQL 15 with PostGIS 3 and pgRouting 3 is installed, installing the Debian
 * packages when running as root; otherwise fail with a message naming the packages.
 */
export function ensurePackages(log: (line: string) => void = console.error): void {
  ensureDebianPackages(
    [
      { name: 'postgresql-15', isInstalled: () => fs.existsSync(path.join(PG_BIN, 'postgres')) },
      { name: 'postgresql-15-postgis-3', isInstalled: () => hasExtension('postgis.control', 'postgis-3') },
      { name: 'postgresql-15-pgrouting', isInstalled: () => hasExtension('pgrouting.control', 'libpgrouting') },
    ],
    'the project-local PostgreSQL cluster',
    { hint: 'or set DATABASE_URL to a server with PostGIS and pgRouting.', log },
  );
}

interface Paths {
  pgdata: string;
  socketDir: string;
  logFile: string;
}

function clusterPaths(config: Config): Paths {
  return {
    pgdata: path.join(config.dataDir, 'pg'),
    socketDir: path.join(config.dataDir, 'run'),
    logFile: path.join(config.dataDir, 'postgres.log'),
  };
}

/** Run a PostgreSQL binary as the cluster owner: the `postgres` system user when we are root. */
function runAsOwner(bin: string, args: string[], opts: { allowFail?: boolean } = {}): { status: number; output: string } {
  const cmd = isRoot() ? 'runuser' : path.join(PG_BIN, bin);
  const fullArgs = isRoot() ? ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args] : args;
  const result = spawnSync(cmd, fullArgs, { encoding: 'utf8', cwd: os.tmpdir() });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  const status = result.status ?? 1;
  if (status !== 0 && !opts.allowFail) {
    throw new Error(`${bin} ${args.join(' ')} failed (exit ${status}): ${output || result.error?.message}`);
  }
  return { status, output };
}

function chownToOwner(p: string): void {
  if (isRoot()) execFileSync('chown', ['-R', 'postgres:postgres', p]);
}

/**
 * The port the cluster listens on: its postmaster.pid's while it runs (it may have been started
 * with another LIFE_CIRCLE_DB_PORT, or under an older default), else the configured one.
 */
export function localClusterPort(config: Config): number {
  try {
    const port = Number(fs.readFileSync(path.join(clusterPaths(config).pgdata, 'postmaster.pid'), 'utf8').split('\n')[3]);
    if (Number.isInteger(port) && port > 0) return port;
  } catch {
    // not running
  }
  return config.localDbPort;
}

/** The connection string of the project-local cluster (TCP on 127.0.0.1, trust auth for local users only). */
export function localDatabaseUrl(config: Config, dbName = LOCAL_DB_NAME): string {
  return `postgres://${SUPERUSER}@127.0.0.1:${localClusterPort(config)}/${dbName}`;
}

export function isLocalClusterRunning(config: Config): boolean {
  const { pgdata } = clusterPaths(config);
  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) return false;
  return runAsOwner('pg_ctl', ['status', '-D', pgdata], { allowFail: true }).status === 0;
}

/**
 * Create (once) and start (unless running) the project-local cluster under `.data/`, listening
 * on 127.0.0.1 and a socket in `.data/run` only. Returns its connection string.
 */
export function startLocalCluster(config: Config, log: (line: string) => void = console.error): string {
  ensurePackages(log);
  const { pgdata, socketDir, logFile } = clusterPaths(config);
  fs.mkdirSync(config.dataDir, { recursive: true });
  fs.mkdirSync(socketDir, { recursive: true });
  if (isRoot()) {
    // The cluster owner must be able to reach .data/ through every parent folder.
    for (let dir = config.dataDir; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const mode = fs.statSync(dir).mode;
      if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
    }
  }
  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    log(`creating the project-local PostgreSQL cluster in ${pgdata}…`);
    fs.mkdirSync(pgdata, { recursive: true });
    chownToOwner(config.dataDir);
    runAsOwner('initdb', ['-D', pgdata, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8']);
    fs.appendFileSync(
      path.join(pgdata, 'postgresql.conf'),
      [
        '',
        '# life-circle: project-local cluster, localhost only',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${socketDir}'`,
        'max_connections = 100',
        'shared_buffers = 256MB',
        'work_mem = 32MB',
        'maintenance_work_mem = 256MB',
        'fsync = on',
        '',
      ].join('\n'),
    );
    chownToOwner(config.dataDir);
  }
  const running = isLocalClusterRunning(config);
  if (running && localClusterPort(config) !== config.localDbPort) {
    log(`the project-local cluster is already running on port ${localClusterPort(config)}; using it (npm run db:stop, then start again, to move it to ${config.localDbPort})`);
  }
  if (!running) {
    chownToOwner(socketDir);
    if (!fs.existsSync(logFile)) fs.writeFileSync(logFile, '');
    chownToOwner(logFile);
    log(`starting PostgreSQL on 127.0.0.1:${config.localDbPort}…`);
    try {
      runAsOwner('pg_ctl', ['start', '-w', '-t', '60', '-D', pgdata, '-l', logFile, '-o', `-p ${config.localDbPort}`]);
    } catch (err) {
      const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new Error(`PostgreSQL did not start on 127.0.0.1:${config.localDbPort} (is the port taken? set LIFE_CIRCLE_DB_PORT): ${(err as Error).message}\n${tail}`);
    }
  }
  ensureDatabase(config, LOCAL_DB_NAME);
  return localDatabaseUrl(config);
}

/** Create a database in the local cluster if it does not exist. */
export function ensureDatabase(config: Config, dbName: string): void {
  const exists = runAsOwner('psql', psqlArgs(config, 'postgres', `SELECT 1 FROM pg_database WHERE datname = '${dbName}'`));
  if (exists.output.trim() !== '1') {
    runAsOwner('psql', psqlArgs(config, 'postgres', `CREATE DATABASE "${dbName}"`));
  }
}

function psqlArgs(config: Config, db: string, sql: string): string[] {
  return ['-h', '127.0.0.1', '-p', String(localClusterPort(config)), '-U', SUPERUSER, '-d', db, '-tA', '-v', 'ON_ERROR_STOP=1', '-c', sql];
}

export function stopLocalCluster(config: Config): boolean {
  if (!isLocalClusterRunning(config)) return false;
  runAsOwner('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', clusterPaths(config).pgdata]);
  return true;
}

/**
 * The database to use: DATABASE_URL when set, otherwise the project-local cluster (started on
 * demand).
 */
export function resolveDatabaseUrl(config: Config, log?: (line: string) => void): string {
  return config.databaseUrl ?? startLocalCluster(config, log);
}

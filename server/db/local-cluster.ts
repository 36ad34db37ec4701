import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
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
/** The role the server connects as on the project-local cluster: no superuser, owns nothing. */
export const APP_ROLE = 'life_circle_app';
export const LOCAL_DB_NAME = 'life_circle';
/** Marks a pg_hba.conf written by us (password auth); older clusters trusted every local user. */
const HBA_MARKER = '# life-circle: scram-sha-256 for every connection';

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
function runAsOwner(
  bin: string,
  args: string[],
  opts: { allowFail?: boolean; password?: string } = {},
): { status: number; output: string } {
  const cmd = isRoot() ? 'runuser' : path.join(PG_BIN, bin);
  const fullArgs = isRoot() ? ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args] : args;
  const env = opts.password === undefined ? process.env : { ...process.env, PGPASSWORD: opts.password };
  const result = spawnSync(cmd, fullArgs, { encoding: 'utf8', cwd: os.tmpdir(), env });
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
    const port = Number(
      fs.readFileSync(path.join(clusterPaths(config).pgdata, 'postmaster.pid'), 'utf8').split('\n')[3],
    );
    if (Number.isInteger(port) && port > 0) return port;
  } catch {
    // not running
  }
  return config.localDbPort;
}

interface Passwords {
  owner: string;
  app: string;
}

/**
 * The roles' passwords, made once and kept in `.data/passwords.json` (mode 0600): only the user
 * who runs the project can read them, and the cluster asks every connection for one.
 */
function clusterPasswords(config: Config): Passwords {
  const file = path.join(config.dataDir, 'passwords.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Passwords;
  } catch {
    const made: Passwords = {
      owner: crypto.randomBytes(24).toString('hex'),
      app: crypto.randomBytes(24).toString('hex'),
    };
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(made), { mode: 0o600 });
    return made;
  }
}

/**
 * The connection string of the project-local cluster (TCP on 127.0.0.1, scram-sha-256): as the
 * owner role (migrations, imports, backups) or as the server's {@link APP_ROLE}.
 */
export function localDatabaseUrl(config: Config, dbName = LOCAL_DB_NAME, role: 'owner' | 'app' = 'owner'): string {
  const pw = clusterPasswords(config);
  const [user, password] = role === 'owner' ? [SUPERUSER, pw.owner] : [APP_ROLE, pw.app];
  return `postgres://${user}:${password}@127.0.0.1:${localClusterPort(config)}/${dbName}`;
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
    log(
      `the project-local cluster is already running on port ${localClusterPort(config)}; using it (npm run db:stop, then start again, to move it to ${config.localDbPort})`,
    );
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
      throw new Error(
        `PostgreSQL did not start on 127.0.0.1:${config.localDbPort} (is the port taken? set LIFE_CIRCLE_DB_PORT): ${(err as Error).message}\n${tail}`,
      );
    }
  }
  requirePasswords(config, log);
  ensureDatabase(config, LOCAL_DB_NAME);
  return localDatabaseUrl(config);
}

/**
 * Give the owner and {@link APP_ROLE} their passwords and make pg_hba.conf ask every connection
 * for one (scram-sha-256). Clusters made before this trusted every local user, so any OS user
 * could connect as the superuser and, with `session_replication_role = replica`, rewrite the
 * audit log; they are converted here, once, while trust still lets us in.
 */
function requirePasswords(config: Config, log: (line: string) => void): void {
  const hba = path.join(clusterPaths(config).pgdata, 'pg_hba.conf');
  const pw = clusterPasswords(config);
  if (readAsOwner(hba).includes(HBA_MARKER)) return;
  log('requiring passwords (scram-sha-256) on the project-local cluster…');
  const sql = [
    `SET password_encryption = 'scram-sha-256'`,
    `ALTER ROLE ${SUPERUSER} PASSWORD '${pw.owner}'`,
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN CREATE ROLE ${APP_ROLE} LOGIN; END IF; END $$`,
    `ALTER ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '${pw.app}'`,
  ];
  for (const statement of sql) runAsOwner('psql', psqlArgs(config, 'postgres', statement));
  const tmp = path.join(config.dataDir, 'pg_hba.conf.new');
  fs.writeFileSync(
    tmp,
    [HBA_MARKER, 'local all all scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  );
  chownToOwner(tmp);
  fs.renameSync(tmp, hba);
  runAsOwner('pg_ctl', ['reload', '-D', clusterPaths(config).pgdata]);
  // The reload is asynchronous: wait until a password-less connection is refused.
  for (let i = 0; i < 50; i++) {
    if (runAsOwner('psql', psqlArgs(config, 'postgres', 'SELECT 1'), { allowFail: true, password: '' }).status !== 0)
      return;
    spawnSync('sleep', ['0.1']);
  }
  throw new Error(`the project-local cluster still accepts connections without a password after reloading ${hba}`);
}

/** Read a file of the cluster's (owned by the postgres user when we are root). */
function readAsOwner(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Create a database in the local cluster if it does not exist. */
export function ensureDatabase(config: Config, dbName: string): void {
  const password = clusterPasswords(config).owner;
  const exists = runAsOwner(
    'psql',
    psqlArgs(config, 'postgres', `SELECT 1 FROM pg_database WHERE datname = '${dbName}'`),
    { password },
  );
  if (exists.output.trim() !== '1') {
    runAsOwner('psql', psqlArgs(config, 'postgres', `CREATE DATABASE "${dbName}"`), { password });
  }
}

function psqlArgs(config: Config, db: string, sql: string): string[] {
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(localClusterPort(config)),
    '-U',
    SUPERUSER,
    '-d',
    db,
    '-w',
    '-tA',
    '-v',
    'ON_ERROR_STOP=1',
    '-c',
    sql,
  ];
}

export function stopLocalCluster(config: Config): boolean {
  if (!isLocalClusterRunning(config)) return false;
  runAsOwner('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', clusterPaths(config).pgdata]);
  return true;
}

/**
 * The database to migrate, import into and back up, as its owner: MIGRATION_DATABASE_URL, else
 * DATABASE_URL, else the project-local cluster (started on demand) as its owner role.
 */
export function resolveDatabaseUrl(config: Config, log?: (line: string) => void): string {
  return config.migrationDatabaseUrl ?? config.databaseUrl ?? startLocalCluster(config, log);
}

/**
 * The database the server connects to: DATABASE_URL, else the project-local cluster as
 * {@link APP_ROLE} (a non-superuser that owns nothing).
 */
export function resolveAppDatabaseUrl(config: Config, log?: (line: string) => void): string {
  if (config.databaseUrl) return config.databaseUrl;
  startLocalCluster(config, log);
  return localDatabaseUrl(config, LOCAL_DB_NAME, 'app');
}

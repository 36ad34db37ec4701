import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'life_circle';
const isRoot = () => process.getuid?.() === 0;

/**
 * A PostgreSQL 15 cluster of one test's own, in a temporary folder, on a free 127.0.0.1 port with
 * trust auth: fault tests stop and kill it without touching anyone else's database.
 */
export interface ThrowawayCluster {
  port: number;
  dir: string;
  url(db: string): string;
  start(): void;
  /** pg_ctl stop: 'immediate' is a crash (no checkpoint; WAL replay on the next start). */
  stop(mode?: 'immediate' | 'fast'): void;
  /** Create a database (as the superuser, over TCP). */
  createDatabase(name: string): void;
  /** Stop the cluster (immediately) and delete its folder. */
  destroy(): void;
  logTail(): string;
}

function run(bin: string, args: string[], opts: { allowFail?: boolean } = {}): { status: number; output: string } {
  const exe = path.join(PG_BIN, bin);
  const [cmd, full] = isRoot() ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  const r = spawnSync(cmd, full, { encoding: 'utf8', cwd: os.tmpdir() });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if ((r.status ?? 1) !== 0 && !opts.allowFail) throw new Error(`${bin} ${args.join(' ')} failed (exit ${r.status}): ${output || r.error?.message}`);
  return { status: r.status ?? 1, output };
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** initdb + start a cluster on a free port in 55400–55899. Costs a few seconds. */
export async function createThrowawayCluster(): Promise<ThrowawayCluster> {
  let port = 0;
  for (let attempt = 0; attempt < 50 && !port; attempt++) {
    const p = 55400 + Math.floor(Math.random() * 500);
    if (await portIsFree(p)) port = p;
  }
  if (!port) throw new Error('no free port in 55400–55899 for a throwaway cluster');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-faults-pg-'));
  const pgdata = path.join(dir, 'pg');
  const socketDir = path.join(dir, 'run');
  const logFile = path.join(dir, 'postgres.log');
  fs.mkdirSync(socketDir);
  fs.writeFileSync(logFile, '');
  if (isRoot()) spawnSync('chown', ['-R', 'postgres:postgres', dir]);
  run('initdb', ['-D', pgdata, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync']);
  fs.appendFileSync(
    path.join(pgdata, 'postgresql.conf'),
    [
      '',
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${socketDir}'`,
      'max_connections = 60',
      'shared_buffers = 64MB',
      // A killed postmaster loses no OS buffers, so crash recovery is tested without fsync's cost.
      'fsync = off',
      '',
    ].join('\n'),
  );
  const cluster: ThrowawayCluster = {
    port,
    dir,
    url: (db) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${db}`,
    start: () => void run('pg_ctl', ['start', '-w', '-t', '60', '-D', pgdata, '-l', logFile]),
    stop: (mode = 'fast') => void run('pg_ctl', ['stop', '-w', '-t', '60', '-m', mode, '-D', pgdata]),
    createDatabase: (name) => {
      const r = spawnSync(path.join(PG_BIN, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', SUPERUSER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE "${name}"`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`CREATE DATABASE ${name} failed: ${r.stderr}`);
    },
    destroy: () => {
      run('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', pgdata], { allowFail: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
    logTail: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : ''),
  };
  cluster.start();
  return cluster;
}

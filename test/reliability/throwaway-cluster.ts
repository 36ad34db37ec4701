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
  if ((r.status ?? 1) !== 0 && !opts.allowFail)
    throw new Error(`${bin} ${args.join(' ')} failed (exit ${r.status}): ${output || r.error?.message}`);
  return { status: r.status ?? 1, output };
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * Ports for throwaway clusters lie below the kernel's ephemeral range (Linux: 32768–60999). A port
 * inside it can be taken, between our stop and start, as the local end of any outgoing connection
 * the test run makes; CI once lost a restart that way ("pg_ctl: could not start server").
 */
function portRange(): [number, number] {
  let low = 32768;
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: keep the IANA default's lower bound
  }
  const hi = Math.min(low, 32768) - 1;
  return [Math.max(1024, hi - 4000), hi];
}

/** A free 127.0.0.1 port below the ephemeral range, for a test's own cluster. */
export async function freePortBelowEphemeral(): Promise<number> {
  const [lo, hi] = portRange();
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (await portIsFree(p)) return p;
  }
  throw new Error(`no free port in ${lo}–${hi} for a throwaway cluster`);
}

/** initdb + start a cluster on a free 127.0.0.1 port below the ephemeral range. Costs a few seconds. */
export async function createThrowawayCluster(): Promise<ThrowawayCluster> {
  const port = await freePortBelowEphemeral();
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
    start: () => {
      // A port can still be held for a moment (a client socket's local end); retry those, and say
      // what the server logged when it gives up.
      for (let attempt = 1; ; attempt++) {
        const logSize = fs.statSync(logFile).size;
        const r = run('pg_ctl', ['start', '-w', '-t', '60', '-D', pgdata, '-l', logFile], { allowFail: true });
        if (r.status === 0) return;
        const log = fs.readFileSync(logFile, 'utf8').slice(logSize);
        if (attempt < 5 && /Address already in use|could not create any TCP\/IP sockets/.test(log)) {
          spawnSync('sleep', ['1']);
          continue;
        }
        throw new Error(
          `pg_ctl start on port ${port} failed (exit ${r.status}, attempt ${attempt}): ${r.output}\n--- postgres.log ---\n${log.trim().split('\n').slice(-15).join('\n')}`,
        );
      }
    },
    stop: (mode = 'fast') => void run('pg_ctl', ['stop', '-w', '-t', '60', '-m', mode, '-D', pgdata]),
    createDatabase: (name) => {
      const r = spawnSync(
        path.join(PG_BIN, 'psql'),
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          SUPERUSER,
          '-d',
          'postgres',
          '-v',
          'ON_ERROR_STOP=1',
          '-c',
          `CREATE DATABASE "${name}"`,
        ],
        { encoding: 'utf8' },
      );
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

import fs from 'node:fs';
import os from 'node:os';
import type pg from 'pg';

/**
 * True when `connectionString` reaches a server on this machine (a Unix socket, localhost or a
 * loopback address): only then is a backend's process id a process here.
 */
export function isLocalServer(connectionString: string): boolean {
  let host: string;
  try {
    const url = new URL(connectionString);
    host = decodeURIComponent(url.searchParams.get('host') ?? url.hostname);
  } catch {
    return false;
  }
  return host === '' || host.startsWith('/') || host === 'localhost' || /^127\./.test(host) || host === '[::1]';
}

/**
 * Lower the scheduling priority of the PostgreSQL backend serving `client` by `increment` (Linux
 * nice, per process), so the heavy SQL it runs takes what cores the event loop leaves. Only for a
 * local server, and only a process whose command line says it is a PostgreSQL backend. Answers the
 * backend's nice value, or null when it was not changed (remote server, no /proc, not permitted:
 * lowering another user's process needs root or CAP_SYS_NICE).
 */
export function lowerBackendPriority(client: pg.Client, connectionString: string, increment: number): number | null {
  const pid = (client as pg.Client & { processID?: number }).processID;
  if (!pid || !isLocalServer(connectionString)) return null;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.startsWith('postgres')) return null;
    os.setPriority(pid, Math.min(19, os.getPriority(pid) + increment));
    return os.getPriority(pid);
  } catch {
    return null;
  }
}

import pg from 'pg';

export type StopSignal = 'SIGINT' | 'SIGTERM';
const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

/** The shell's convention for "ended by this signal". */
export const exitCodeFor = (signal: StopSignal) => (signal === 'SIGINT' ? 130 : 143);

/**
 * Until the returned function is called, Ctrl-C or a kill ends this process's import and rolls
 * its transaction back: the server sessions named `applicationName` are terminated rather than
 * merely disconnected (a backend busy in a long statement notices a closed socket only when it
 * next writes to it, and would hold its locks until then), then the process exits.
 */
export function rollBackOnSignal(databaseUrl: string, applicationName: string, what: string): () => void {
  const onSignal = async (signal: StopSignal) => {
    console.error(`\n${signal}: stopping ${what}; nothing of it is kept`);
    const client = new pg.Client({ connectionString: databaseUrl, application_name: `${applicationName}-stop` });
    try {
      await client.connect();
      await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [
        applicationName,
      ]);
    } catch (err) {
      console.error(`could not end the database sessions of ${what}: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => {});
    }
    process.exit(exitCodeFor(signal));
  };
  return onStopSignal(onSignal);
}

/**
 * Ctrl-C or a kill lets a serving process finish what it answers: `close` stops accepting
 * connections and waits for requests in flight (Fastify's close), then the process exits. A second
 * signal, or `graceMs` passing, exits at once.
 */
export function closeOnSignal(close: () => Promise<void>, graceMs = 10_000): () => void {
  let closing = false;
  return onStopSignal(async (signal) => {
    if (closing) process.exit(exitCodeFor(signal));
    closing = true;
    console.error(`\n${signal}: closing the server (requests in flight finish, ${graceMs / 1000} s at most)`);
    const timer = setTimeout(() => {
      console.error(`still closing after ${graceMs / 1000} s: exiting`);
      process.exit(exitCodeFor(signal));
    }, graceMs);
    timer.unref();
    try {
      await close();
    } catch (err) {
      console.error(`error while closing: ${(err as Error).message}`);
    }
    process.exit(exitCodeFor(signal));
  });
}

function onStopSignal(handler: (signal: StopSignal) => Promise<void>): () => void {
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => void handler(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}

import { buildApp } from './app.ts';
import type { Config } from './config.ts';

/** Listen on the configured host and port (127.0.0.1 unless told otherwise; port 0 picks a free one). */
export async function listen(
  config: Config,
  databaseUrl: string,
): Promise<{ address: string; close: () => Promise<void> }> {
  const app = await buildApp({
    databaseUrl,
    logger: { level: process.env.LOG_LEVEL ?? 'info' },
    corsOrigins: config.corsOrigins,
    trustProxy: config.trustProxy,
    servedOverHttps: config.servedOverHttps,
  });
  const address = await app.listen({ host: config.host, port: config.port });
  // Load the engine now rather than on the first click; failures surface on requests instead.
  app.engine
    .current()
    .then((engine) => app.heavy.warm(engine))
    .catch((err) => app.log.warn({ err }, 'engine warm-up failed'));
  return { address, close: () => app.close() };
}

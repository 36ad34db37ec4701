import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Absolute path of the project root (the folder holding package.json). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Runtime configuration, read once from the environment. */
export interface Config {
  /** Connection string of an existing server; when absent the project-local cluster is used. */
  databaseUrl: string | undefined;
  /**
   * Connection string of the role that owns the schema (MIGRATION_DATABASE_URL): migrations,
   * imports and backups use it; DATABASE_URL when absent.
   */
  migrationDatabaseUrl: string | undefined;
  /** Port of the project-local cluster under `.data/` (localhost only). */
  localDbPort: number;
  /** Folder of the project-local cluster. */
  dataDir: string;
  host: string;
  port: number;
  /** OSM file imported by `npm start` when no dataset is loaded. */
  defaultOsmFile: string;
  /** District boundaries imported with it (when the file exists). */
  defaultDistrictsFile: string;
  /** Origins allowed by CORS (CORS_ORIGINS, comma-separated); none by default. */
  corsOrigins: string[];
  /**
   * Fastify's `trustProxy` (TRUST_PROXY): unset or "false" trusts no proxy (the client address is
   * the socket's); "true" trusts every hop; a number trusts that many hops; otherwise a
   * comma-separated list of proxy addresses or CIDR ranges. Set it behind a reverse proxy, or every
   * client shares the proxy's address for rate limits and the failed-auth lockout.
   */
  trustProxy: boolean | number | string[];
  /**
   * The server is reached over HTTPS (SERVED_OVER_HTTPS=1, e.g. behind a TLS-terminating proxy):
   * only then are HSTS and CSP `upgrade-insecure-requests` sent, which would break plain HTTP.
   */
  servedOverHttps: boolean;
  /**
   * Memory the in-memory engines of all datasets may take together (LIFE_CIRCLE_ENGINE_BUDGET_MB,
   * default 4096): past it, the least recently used dataset's engine is unloaded.
   */
  engineBudgetMb: number;
}

/**
 * Below Linux's ephemeral range (32768–60999): a port inside it can be held, when the cluster
 * starts, by the local end of any recent outgoing connection (npm ci makes hundreds), and the
 * postmaster then fails with "Address already in use".
 */
export const DEFAULT_LOCAL_DB_PORT = 25329;

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    migrationDatabaseUrl: env.MIGRATION_DATABASE_URL || undefined,
    localDbPort: intFromEnv(env, 'LIFE_CIRCLE_DB_PORT', DEFAULT_LOCAL_DB_PORT),
    dataDir: env.LIFE_CIRCLE_DATA_DIR ? path.resolve(env.LIFE_CIRCLE_DATA_DIR) : path.join(projectRoot, '.data'),
    host: env.HOST || '127.0.0.1',
    port: intFromEnv(env, 'PORT', 8080),
    defaultOsmFile: env.LIFE_CIRCLE_OSM_FILE
      ? path.resolve(env.LIFE_CIRCLE_OSM_FILE)
      : path.resolve(projectRoot, '..', 'shared', 'data', 'chengdu-central-2018.osm.pbf'),
    defaultDistrictsFile: env.LIFE_CIRCLE_DISTRICTS_FILE
      ? path.resolve(env.LIFE_CIRCLE_DISTRICTS_FILE)
      : path.resolve(projectRoot, '..', 'shared', 'data', 'chengdu-districts-chenghua-wuhou.geojson'),
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    servedOverHttps: flagFromEnv(env, 'SERVED_OVER_HTTPS'),
    engineBudgetMb: megabytesFromEnv(env, 'LIFE_CIRCLE_ENGINE_BUDGET_MB', 4096),
  };
}

function parseTrustProxy(raw: string | undefined): boolean | number | string[] {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function flagFromEnv(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new Error(`${name} must be 1 or 0, got "${env[name]}"`);
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) {
    throw new Error(`${name} must be a port number between 1 and 65535, got "${raw}"`);
  }
  return value;
}

function megabytesFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number of megabytes, got "${raw}"`);
  return value;
}

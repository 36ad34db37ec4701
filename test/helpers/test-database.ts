import crypto from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './database-url.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templates: Record<string, string>;
    runId: string;
  }
}

export type TemplateName = 'empty' | 'shuangqiaozi' | 'central';

/** A database of its own for one test file, copied from a template the global setup prepared. */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export { withDatabase } from './database-url.ts';

export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Create `lc_t_<random>` from the named template (migrated; with data for non-empty templates). */
export async function createTestDatabase(template: TemplateName): Promise<TestDatabase> {
  const templates = inject('templates');
  const source = templates[template];
  if (!source) throw new Error(`no test template ${template}`);
  const name = `lc_t_${inject('runId')}_${template}_${crypto.randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${source}"`);
  return {
    name,
    url: withDatabase(inject('adminUrl'), name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

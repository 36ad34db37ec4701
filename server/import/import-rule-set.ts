import fs from 'node:fs/promises';
import type pg from 'pg';
import { RuleSetValidationError } from '../../geo/rules/index.ts';
import { storeRuleSet, type StoredRuleSet } from '../queries/rule-sets.ts';

/**
 * `npm run import -- rules <file.json>`: read a rule set file, validate it against the published
 * schema (problems named by JSON path) and store it as a new version, with an audit_log row, in one
 * transaction. A file that is not JSON is refused with the parser's position; nothing is stored.
 */
export async function importRuleSetFile(pool: pg.Pool, file: string): Promise<StoredRuleSet> {
  const text = await fs.readFile(file, 'utf8');
  let body: unknown;
  try {
    body = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new RuleSetValidationError([`/: ${file} is not JSON (${(err as Error).message})`]);
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const stored = await storeRuleSet(client, body, 'cli');
    if (stored.created) {
      await client.query(
        `INSERT INTO audit_log (actor, action, entity, entity_id, before, after) VALUES ('cli', 'rule_set.store', 'rule_set', $1, NULL, $2)`,
        [`${stored.id}@${stored.version}`, JSON.stringify(body)],
      );
    }
    await client.query('COMMIT');
    return stored;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

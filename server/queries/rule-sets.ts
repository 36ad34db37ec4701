import type pg from 'pg';
import {
  isBuiltInRuleSet,
  RULE_SETS,
  useStoredRuleSets,
  validateRuleSet,
  type RuleSet,
} from '../../geo/rules/index.ts';
import type { Principal } from '../auth.ts';
import { ApiError } from '../errors.ts';

/** The newest stored version of every stored rule set, validated again (the schema may have grown stricter). */
export async function loadStoredRuleSets(db: pg.Pool | pg.ClientBase): Promise<RuleSet[]> {
  const { rows } = await db.query<{ body: unknown }>(
    `SELECT DISTINCT ON (id) body FROM rule_sets ORDER BY id, stored_seq DESC`,
  );
  return rows.map((r) => validateRuleSet(r.body));
}

/**
 * Make RULE_SETS the built-in files plus the newest stored version of each stored set. Called by
 * the compute, the engine load and the routes that list rule sets, so a set stored by another
 * process (the import CLI) is seen without a restart. Returns the list.
 */
export async function refreshRuleSets(db: pg.Pool | pg.ClientBase): Promise<readonly RuleSet[]> {
  useStoredRuleSets(await loadStoredRuleSets(db));
  return RULE_SETS;
}

export interface StoredRuleSet {
  id: string;
  version: string;
  /** false: this exact id and version was stored before with the same body (nothing changed). */
  created: boolean;
  /** The version it supersedes, if any. */
  supersedes: string | null;
}

/**
 * Validate and store a rule set file's content. A built-in id is refused (write a new id); the same
 * id and version with a different body is refused (bump the version); a new version supersedes the
 * previous one for the next compute, while earlier runs keep their results and recorded versions.
 */
export async function storeRuleSet(
  db: pg.Pool | pg.ClientBase,
  body: unknown,
  storedBy: string,
): Promise<StoredRuleSet> {
  const rs = validateRuleSet(body);
  if (isBuiltInRuleSet(rs.id)) {
    throw new ApiError(
      'conflict',
      `/id: "${rs.id}" is a built-in rule set (geo/rules/${rs.id}.json); store yours under another id`,
    );
  }
  const prev = await db.query<{ version: string; same: boolean }>(
    `SELECT version, body = $2::jsonb AS same FROM rule_sets WHERE id = $1 ORDER BY stored_seq DESC`,
    [rs.id, JSON.stringify(body)],
  );
  const existing = prev.rows.find((r) => r.version === rs.version);
  if (existing) {
    if (existing.same) return { id: rs.id, version: rs.version, created: false, supersedes: null };
    throw new ApiError(
      'conflict',
      `/version: rule set "${rs.id}" version "${rs.version}" is already stored with different content; give the new content a new version`,
    );
  }
  await db.query(`INSERT INTO rule_sets (id, version, body, stored_by) VALUES ($1, $2, $3, $4)`, [
    rs.id,
    rs.version,
    JSON.stringify(body),
    storedBy,
  ]);
  return { id: rs.id, version: rs.version, created: true, supersedes: prev.rows[0]?.version ?? null };
}

/**
 * A refresh of RULE_SETS at most once per `ttlMs` (concurrent callers share one query); a failed
 * refresh keeps the list it had (the database being down is reported by the routes that need it).
 */
export function ruleSetRefresher(db: pg.Pool, ttlMs = 1000): () => Promise<void> {
  let at = 0;
  let pending: Promise<void> | null = null;
  return async () => {
    if (Date.now() - at < ttlMs) return;
    pending ??= refreshRuleSets(db)
      .then(
        () => void (at = Date.now()),
        () => undefined,
      )
      .finally(() => (pending = null));
    await pending;
  };
}

/** The audit row of a stored rule set (POST /api/rule-sets), in the caller's transaction. */
export async function auditRuleSetStore(
  c: pg.ClientBase,
  who: Principal,
  stored: { id: string; version: string },
  body: unknown,
  requestId: string,
): Promise<void> {
  await c.query(
    `INSERT INTO audit_log (actor, token_id, action, entity, entity_id, before, after, request_id) VALUES ($1, $2, 'rule_set.store', 'rule_set', $3, NULL, $4, $5)`,
    [who.name, who.tokenId, `${stored.id}@${stored.version}`, JSON.stringify(body), requestId],
  );
}

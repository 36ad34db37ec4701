import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createToken } from '../../server/auth.ts';
import { backupDatabase, defaultBackupFile, restoreDatabase } from '../../server/cli/backup.ts';
import { projectRoot, readConfig } from '../../server/config.ts';
import { adminQuery, createTestDatabase, withDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { createPool } from '../../server/db/pool.ts';

let source: TestDatabase;
let target: { name: string; url: string };
let sourcePool: pg.Pool;
let dir: string;

/** Row counts of every table in the public schema (PostGIS's spatial_ref_sys included). */
async function tableCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const counts: Record<string, number> = {};
    // names come from the catalogue, quoted as identifiers
    for (const r of rows)
      counts[r.table_name] = (
        await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${r.table_name.replace(/"/g, '""')}"`)
      ).rows[0].n;
    return counts;
  } finally {
    await c.end();
  }
}

/** The newest done run's id and its per-area results, every column, in a stable order. */
async function newestRunResults(url: string): Promise<{ runId: number; rows: unknown[] }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const runId = (await c.query<{ id: number }>(`SELECT max(id) AS id FROM coverage_runs WHERE status = 'done'`))
      .rows[0].id;
    const { rows } = await c.query(
      `SELECT rule_set_id, rule_id, level, area_key, area_name, population, covered_population, straight_covered_population, share,
              straight_share, target_share, passes, deciding_facility_id, uncovered_mean_m, uncovered_unreachable_population
       FROM coverage_area_results WHERE run_id = $1 ORDER BY rule_set_id, rule_id, level, area_key`,
      [runId],
    );
    return { runId, rows };
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  source = await createTestDatabase('central');
  sourcePool = createPool(source.url, { max: 2 });
  // rows in the access-control tables too, so every table takes part
  await createToken(sourcePool, 'backup-planner', 'planner');
  await sourcePool.query(
    `INSERT INTO plans (kind, name, geom, created_by) VALUES ('add_open_space', '口袋公园', ST_GeomFromText('POLYGON((104.06 30.66,104.061 30.66,104.061 30.661,104.06 30.66))', 4326), 'backup-planner')`,
  );
  await sourcePool.query(
    `INSERT INTO audit_log (actor, action, entity, entity_id) VALUES ('backup-planner', 'plan.create', 'plan', '1')`,
  );
  const name = `lc_t_${inject('runId')}_restore_${crypto.randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  target = { name, url: withDatabase(inject('adminUrl'), name) };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-backup-'));
});
afterAll(async () => {
  await sourcePool?.end();
  await source?.drop();
  if (target) await adminQuery(`DROP DATABASE IF EXISTS "${target.name}" WITH (FORCE)`);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('backup and restore', () => {
  it('the default file is .data/backups/life-circle-<timestamp>.dump', () => {
    const f = defaultBackupFile(readConfig({}), new Date('2024-05-01T08:30:00.123Z'));
    expect(f).toBe(path.join(projectRoot, '.data', 'backups', 'life-circle-2024-05-01T08-30-00Z.dump'));
  });

  it('round-trips into a new empty database: same tables, same counts, same coverage numbers', async () => {
    const file = path.join(dir, 'central.dump');
    const b = backupDatabase(source.url, file);
    expect(b.bytes).toBeGreaterThan(100_000);
    expect(fs.existsSync(`${file}.partial`)).toBe(false);
    restoreDatabase(target.url, file);
    const [sourceCounts, targetCounts] = [await tableCounts(source.url), await tableCounts(target.url)];
    expect(Object.keys(sourceCounts).length).toBeGreaterThan(15);
    expect(sourceCounts.plans).toBe(1);
    expect(sourceCounts.api_tokens).toBe(1);
    expect(targetCounts).toEqual(sourceCounts);
    const [a, z] = [await newestRunResults(source.url), await newestRunResults(target.url)];
    expect(a.rows.length).toBeGreaterThan(1000);
    expect(z).toEqual(a);
    // the restored database keeps its guarantees: the audit log is still append-only
    const c = new pg.Client({ connectionString: target.url });
    await c.connect();
    await expect(c.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
    await c.end();
    // Size and time of the dump and the restore: npm run bench:reports.
  });

  it('a broken dump fails the restore and leaves the target as it was (single transaction)', async () => {
    const before = await tableCounts(target.url);
    const good = fs.readFileSync(path.join(dir, 'central.dump'));
    const broken = path.join(dir, 'broken.dump');
    fs.writeFileSync(broken, good.subarray(0, Math.floor(good.length * 0.7)));
    expect(() => restoreDatabase(target.url, broken)).toThrow(/pg_restore failed/);
    expect(await tableCounts(target.url)).toEqual(before);
    expect(() => restoreDatabase(target.url, path.join(dir, 'missing.dump'))).toThrow(/not found/);
  });

  it('npm run db:backup / db:restore work through DATABASE_URL, restoring over a changed database', async () => {
    const env = { ...process.env, DATABASE_URL: source.url };
    const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
    const cli = path.join(projectRoot, 'server', 'cli', 'backup.ts');
    const file = path.join(dir, 'cli.dump');
    const backup = spawnSync(tsx, [cli, 'backup', file], { env, encoding: 'utf8' });
    expect(backup.status, backup.stderr).toBe(0);
    expect(backup.stdout.trim()).toBe(file);
    const expected = await tableCounts(source.url);
    // change the source, then restore the backup over it: --clean drops and recreates
    await sourcePool.query(`DELETE FROM plans`);
    await sourcePool.query(`DELETE FROM datasets WHERE kind = 'facility_register'`);
    expect(await tableCounts(source.url)).not.toEqual(expected);
    await sourcePool.end();
    const restore = spawnSync(tsx, [cli, 'restore', file], { env, encoding: 'utf8' });
    expect(restore.status, restore.stderr).toBe(0);
    expect(await tableCounts(source.url)).toEqual(expected);
    sourcePool = createPool(source.url, { max: 2 });
    const usage = spawnSync(tsx, [cli, 'restore'], { env, encoding: 'utf8' });
    expect(usage.status).toBe(1);
    expect(usage.stderr).toMatch(/usage:/);
  });
});

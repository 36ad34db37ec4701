import type pg from 'pg';

/** What "nothing changed" is checked against: every dataset's provenance and the row counts of the data tables. */
export interface DbSnapshot {
  datasets: { id: number; kind: string; source: string; sha256: string; category: string | null }[];
  counts: Record<string, number>;
  /** Sum of facility and community ids: a replaced register or boundary set changes it even at equal counts. */
  facilityIdSum: string;
  communityIdSum: string;
}

/** Tables whose row counts are compared. */
export const SNAPSHOT_TABLES = [
  'datasets',
  'walk_nodes',
  'walk_edges',
  'facilities',
  'facility_access_points',
  'residential_areas',
  'buildings',
  'communities',
  'origins',
  'coverage_runs',
  'coverage_area_results',
  'plans',
  'audit_log',
  'api_tokens',
] as const;

export async function dbSnapshot(db: pg.Pool | pg.ClientBase): Promise<DbSnapshot> {
  const datasets = (
    await db.query<DbSnapshot['datasets'][number]>(
      `SELECT id, kind, source, sha256, category FROM datasets ORDER BY id`,
    )
  ).rows;
  const counts: Record<string, number> = {};
  // Table names come from the constant list above, never from input.
  for (const t of SNAPSHOT_TABLES)
    counts[t] = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
  const ids = (
    await db.query<{ f: string; c: string }>(
      `SELECT (SELECT coalesce(sum(id), 0)::text FROM facilities) AS f, (SELECT coalesce(sum(id), 0)::text FROM communities) AS c`,
    )
  ).rows[0];
  return { datasets, counts, facilityIdSum: ids.f, communityIdSum: ids.c };
}

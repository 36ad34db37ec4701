import type pg from 'pg';

export interface ActiveDataset {
  id: number;
  kind: string;
  source: string;
  sha256: string;
  is_sample: boolean;
  imported_at: string;
  import_seconds: number | null;
  counts: {
    walk_nodes: number;
    walk_edges: number;
    facilities: Record<string, number>;
    residential_areas: number;
    communities: number;
    [k: string]: unknown;
  };
}

const ACTIVE_DATASET_SQL = `
  SELECT d.id, d.kind, d.source, d.sha256, d.is_sample, to_json(d.imported_at) #>> '{}' AS imported_at, d.import_seconds,
    d.counts || jsonb_build_object(
      'facilities', (SELECT coalesce(jsonb_object_agg(category, n), '{}') FROM (
                       SELECT f.category, count(*)::int n FROM facilities f JOIN datasets fd ON fd.id = f.dataset_id
                       WHERE (fd.id = d.id OR (fd.kind = 'facility_register' AND (d.bbox IS NULL OR ST_Intersects(f.geom, d.bbox)))) AND f.replaced_by IS NULL
                       GROUP BY f.category) c),
      'communities', (SELECT count(*)::int FROM communities c JOIN datasets cd ON cd.id = c.dataset_id
                      WHERE (cd.kind = 'communities' AND (d.bbox IS NULL OR ST_Intersects(c.geom, d.bbox)))
                         OR (cd.id = d.id AND NOT EXISTS (SELECT 1 FROM datasets WHERE kind = 'communities'))),
      'districts', (SELECT count(*)::int FROM districts dt WHERE d.bbox IS NULL OR ST_Intersects(dt.geom, d.bbox))
    ) AS counts
  FROM datasets d
  WHERE d.kind IN ('osm', 'sample_city')
  ORDER BY d.id DESC
  LIMIT 1`;

/** The active street-network dataset with counts (register facilities, imported communities and districts included where they lie in its bbox). */
export async function activeDataset(db: pg.Pool | pg.ClientBase): Promise<ActiveDataset | null> {
  const { rows } = await db.query<ActiveDataset>(ACTIVE_DATASET_SQL);
  return rows[0] ?? null;
}

/**
 * Delete the network datasets older than the one served (served_network_dataset()): all of them,
 * except the one served just before when the served dataset's first complete run finished less
 * than `graceSeconds` ago, so a reader that looked up the previous run a moment ago still finds
 * its rows. Returns the ids deleted. Their results go with them (foreign keys cascade).
 */
export async function dropSupersededDatasets(db: pg.Pool | pg.ClientBase, graceSeconds: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `WITH s AS (SELECT served_network_dataset() AS id),
     previous AS (
       SELECT d.id FROM datasets d, s
       WHERE d.kind IN ('osm', 'sample_city') AND d.id < s.id
         AND EXISTS (SELECT 1 FROM coverage_runs r WHERE r.dataset_id = d.id AND r.status = 'done')
       ORDER BY d.id DESC LIMIT 1
     ),
     fresh AS (
       SELECT coalesce((SELECT min(finished_at) FROM coverage_runs r, s WHERE r.dataset_id = s.id AND r.status = 'done'), now())
              > now() - make_interval(secs => $1) AS yes
     )
     DELETE FROM datasets d USING s
     WHERE d.kind IN ('osm', 'sample_city') AND d.id < s.id
       AND NOT (d.id IN (SELECT id FROM previous) AND (SELECT yes FROM fresh))
     RETURNING d.id`,
    [graceSeconds],
  );
  return rows.map((r) => r.id);
}

/** The network dataset answers come from, and whether the newest network dataset still lacks a complete coverage run. */
export async function servingState(db: pg.Pool | pg.ClientBase): Promise<{
  servedDatasetId: number | null;
  servedRunId: number | null;
  newestDatasetId: number | null;
  newestHasResults: boolean;
}> {
  const { rows } = await db.query(
    `SELECT s.dataset_id AS served_dataset_id, s.run_id AS served_run_id,
       n.id AS newest_dataset_id,
       EXISTS (SELECT 1 FROM coverage_runs r WHERE r.dataset_id = n.id AND r.status = 'done') AS newest_has_results
     FROM served_run() s,
          (SELECT max(id) AS id FROM datasets WHERE kind IN ('osm', 'sample_city')) n`,
  );
  const r = rows[0];
  return {
    servedDatasetId: r.served_dataset_id,
    servedRunId: r.served_run_id,
    newestDatasetId: r.newest_dataset_id,
    newestHasResults: r.newest_has_results,
  };
}

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
                       WHERE (fd.id = d.id OR fd.kind = 'facility_register') AND f.replaced_by IS NULL GROUP BY f.category) c),
      'communities', (SELECT count(*)::int FROM communities c JOIN datasets cd ON cd.id = c.dataset_id
                      WHERE cd.kind = 'communities' OR (cd.id = d.id AND NOT EXISTS (SELECT 1 FROM datasets WHERE kind = 'communities'))),
      'districts', (SELECT count(*)::int FROM districts)
    ) AS counts
  FROM datasets d
  WHERE d.kind IN ('osm', 'sample_city')
  ORDER BY d.id DESC
  LIMIT 1`;

/** The active street-network dataset with counts (register facilities and imported communities included). */
export async function activeDataset(db: pg.Pool | pg.ClientBase): Promise<ActiveDataset | null> {
  const { rows } = await db.query<ActiveDataset>(ACTIVE_DATASET_SQL);
  return rows[0] ?? null;
}

import type pg from 'pg';

export interface ActiveDataset {
  id: number;
  /** The dataset's name (dataset= of every route). */
  name: string;
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
  SELECT d.id, d.name, d.kind, d.source, d.sha256, d.is_sample, to_json(d.imported_at) #>> '{}' AS imported_at, d.import_seconds,
    d.counts || jsonb_build_object(
      'facilities', (SELECT coalesce(jsonb_object_agg(category, n), '{}') FROM (
                       SELECT f.category, count(*)::int n FROM facilities f JOIN datasets fd ON fd.id = f.dataset_id
                       WHERE (fd.id = d.id OR (fd.kind = 'facility_register' AND ST_Intersects(f.geom, dataset_facility_extent(d.id)))) AND f.replaced_by IS NULL
                       GROUP BY f.category) c),
      'communities', CASE community_source_of(d.id)
                       WHEN 'imported' THEN (SELECT count(*)::int FROM communities c JOIN datasets cd ON cd.id = c.dataset_id
                                             WHERE cd.kind = 'communities' AND ST_Intersects(c.geom, dataset_extent(d.id)))
                       ELSE (SELECT count(*)::int FROM communities c WHERE c.dataset_id = d.id) END,
      'districts', (SELECT count(*)::int FROM districts dt WHERE ST_Intersects(dt.geom, dataset_extent(d.id)))
    ) AS counts
  FROM datasets d
  WHERE d.kind IN ('osm', 'sample_city') AND ($1::text IS NULL OR d.name = $1) AND ($2::int IS NULL OR d.id = $2)
  ORDER BY d.id DESC
  LIMIT 1`;

/**
 * The newest street-network dataset row (of any name, or of `name`; or the row `id`) with counts
 * (register facilities, imported communities and districts included where they belong to it: in its
 * extent, migration 0310).
 */
export async function activeDataset(
  db: pg.Pool | pg.ClientBase,
  name?: string,
  id?: number,
): Promise<ActiveDataset | null> {
  const { rows } = await db.query<ActiveDataset>(ACTIVE_DATASET_SQL, [name ?? null, id ?? null]);
  return rows[0] ?? null;
}

/** The name requests without `dataset=` are answered under (default_dataset_name(), migration 0260); null when none. */
export async function defaultDatasetName(db: pg.Pool | pg.ClientBase): Promise<string | null> {
  return (await db.query<{ name: string | null }>('SELECT default_dataset_name() AS name')).rows[0].name;
}

/**
 * Delete the vintages of dataset `name` older than the one served under it (dataset_run(name)):
 * all of them, except the one served just before when the served row's first complete run
 * finished less than `graceSeconds` ago, so a reader that looked up the previous run a moment ago
 * still finds its rows. Other names are left alone. Returns the ids deleted. Their results go with
 * them (foreign keys cascade).
 */
export async function dropSupersededDatasets(
  db: pg.Pool | pg.ClientBase,
  graceSeconds: number,
  name: string,
): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `WITH s AS (SELECT dataset_id AS id FROM dataset_run($2)),
     previous AS (
       SELECT d.id FROM datasets d, s
       WHERE d.kind IN ('osm', 'sample_city') AND d.name = $2 AND d.id < s.id
         AND EXISTS (SELECT 1 FROM coverage_runs r WHERE r.dataset_id = d.id AND r.status = 'done')
       ORDER BY d.id DESC LIMIT 1
     ),
     fresh AS (
       SELECT coalesce((SELECT min(finished_at) FROM coverage_runs r, s WHERE r.dataset_id = s.id AND r.status = 'done'), now())
              > now() - make_interval(secs => $1) AS yes
     )
     DELETE FROM datasets d USING s
     WHERE d.kind IN ('osm', 'sample_city') AND d.name = $2 AND d.id < s.id
       AND NOT (d.id IN (SELECT id FROM previous) AND (SELECT yes FROM fresh))
     RETURNING d.id`,
    [graceSeconds, name],
  );
  return rows.map((r) => r.id);
}

/**
 * The network dataset answers come from (for `name`, default the default name), and whether the
 * newest network dataset (of that name, when given) still lacks a complete coverage run.
 */
export async function servingState(
  db: pg.Pool | pg.ClientBase,
  name?: string,
): Promise<{
  servedDatasetId: number | null;
  servedRunId: number | null;
  newestDatasetId: number | null;
  newestHasResults: boolean;
}> {
  const { rows } = await db.query(
    `SELECT s.dataset_id AS served_dataset_id, s.run_id AS served_run_id,
       n.id AS newest_dataset_id,
       EXISTS (SELECT 1 FROM coverage_runs r WHERE r.dataset_id = n.id AND r.status = 'done') AS newest_has_results
     FROM dataset_run(coalesce($1::text, default_dataset_name())) s,
          (SELECT max(id) AS id FROM datasets WHERE kind IN ('osm', 'sample_city') AND ($1::text IS NULL OR name = $1)) n`,
    [name ?? null],
  );
  const r = rows[0];
  return {
    servedDatasetId: r.served_dataset_id,
    servedRunId: r.served_run_id,
    newestDatasetId: r.newest_dataset_id,
    newestHasResults: r.newest_has_results,
  };
}

/** A dataset name as a request gives it: resolved to the row and run that answer for it. */
export interface DatasetRun {
  name: string;
  datasetId: number | null;
  runId: number | null;
}

/**
 * The dataset row and complete run served under `name` (dataset_run(), migration 0260), or under
 * the default name when `name` is undefined. `datasetId` is null when no network dataset has that
 * name (or, for the default, when none exists at all); `runId` null before its first complete run.
 */
export async function datasetRun(db: pg.Pool | pg.ClientBase, name: string | undefined): Promise<DatasetRun> {
  const { rows } = await db.query<{ name: string | null; dataset_id: number | null; run_id: number | null }>(
    `SELECT n.name, r.dataset_id, r.run_id
     FROM (SELECT coalesce($1::text, default_dataset_name()) AS name) n, dataset_run(n.name) r`,
    [name ?? null],
  );
  const r = rows[0];
  return { name: r?.name ?? name ?? '', datasetId: r?.dataset_id ?? null, runId: r?.run_id ?? null };
}

/** One served network dataset as GET /api/datasets lists it. */
export interface DatasetListing {
  name: string;
  is_default: boolean;
  dataset_id: number;
  run_id: number | null;
  kind: string;
  source: string;
  sha256: string;
  osm_timestamp: string | null;
  imported_at: string;
  is_sample: boolean;
  bbox: [number, number, number, number] | null;
  centre: [number, number] | null;
  /** Vintages stored under this name besides the served one (a newer one being computed, or the previous one in its grace period). */
  other_vintages: number;
}

/** Every network dataset name with the row and run served under it, default first, then by name. */
export async function listDatasets(db: pg.Pool | pg.ClientBase): Promise<DatasetListing[]> {
  const { rows } = await db.query<DatasetListing>(
    `WITH names AS (SELECT DISTINCT name FROM datasets WHERE kind IN ('osm', 'sample_city')),
     served AS (SELECT n.name, r.dataset_id, r.run_id FROM names n, dataset_run(n.name) r)
     SELECT s.name, s.name = default_dataset_name() AS is_default, s.dataset_id, s.run_id,
       d.kind, d.source, d.sha256, to_json(d.osm_timestamp) #>> '{}' AS osm_timestamp,
       to_json(d.imported_at) #>> '{}' AS imported_at, d.is_sample,
       CASE WHEN d.bbox IS NULL THEN NULL
            ELSE json_build_array(ST_XMin(d.bbox), ST_YMin(d.bbox), ST_XMax(d.bbox), ST_YMax(d.bbox)) END AS bbox,
       CASE WHEN d.bbox IS NULL THEN NULL
            ELSE json_build_array(ST_X(ST_Centroid(d.bbox)), ST_Y(ST_Centroid(d.bbox))) END AS centre,
       (SELECT count(*)::int FROM datasets o WHERE o.kind IN ('osm', 'sample_city') AND o.name = s.name AND o.id <> s.dataset_id) AS other_vintages
     FROM served s JOIN datasets d ON d.id = s.dataset_id
     ORDER BY (s.name = default_dataset_name()) DESC, s.name`,
  );
  return rows;
}

/** One rule's stored figures for one area in one run (coverage_area_results). */
export interface AreaRuleFigures {
  area_key: string;
  area_name: string | null;
  rule_id: string;
  measure: 'population' | 'residential_land_area';
  share: number | null;
  population: number;
  covered_population: number;
}

/** One side of a comparison: a complete coverage run and the dataset it belongs to. */
export interface RunRef {
  dataset: string;
  dataset_id: number;
  run_id: number;
  finished_at: string | null;
}

/**
 * A complete coverage run named by id (all digits) or by dataset name (its current run,
 * dataset_run()); null when there is none.
 */
export async function runRef(db: pg.Pool | pg.ClientBase, ref: string): Promise<RunRef | null> {
  const { rows } = await db.query<RunRef>(
    `SELECT d.name AS dataset, r.dataset_id, r.id AS run_id, to_json(r.finished_at) #>> '{}' AS finished_at
     FROM coverage_runs r JOIN datasets d ON d.id = r.dataset_id
     WHERE r.status = 'done'
       AND r.id = CASE WHEN $1 ~ '^[0-9]+$' THEN $1::int ELSE (SELECT run_id FROM dataset_run($1)) END`,
    [ref],
  );
  return rows[0] ?? null;
}

/** Per area and rule: the stored share and covered population of a run, rule set and level. */
export async function areaRuleFigures(
  db: pg.Pool | pg.ClientBase,
  runId: number,
  ruleSetId: string,
  level: string,
): Promise<AreaRuleFigures[]> {
  const { rows } = await db.query<AreaRuleFigures>(
    `SELECT area_key, area_name, rule_id, measure, share, population, covered_population
     FROM coverage_area_results WHERE run_id = $1 AND rule_set_id = $2 AND level = $3`,
    [runId, ruleSetId, level],
  );
  return rows;
}

import type pg from 'pg';
import { CATEGORIES } from '../../geo/categories.ts';
import {
  computeFields,
  DISTANCE_CAP_M,
  evaluateCoverageCompact,
  originResult,
  ruleHasData,
  snapOrigin,
  type CompactRuleCoverage,
  type RuleCoverage,
} from '../../geo/coverage.ts';
import { distanceAlong } from '../../geo/dijkstra.ts';
import { reachOutcome, type DistanceField } from '../../geo/distance-field.ts';
import type { WalkGraph } from '../../geo/graph.ts';
import type { RuleSet } from '../../geo/rules/index.ts';
import { refreshRuleSets } from '../queries/rule-sets.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { copyRows } from '../db/copy-rows.ts';
import { activeDataset, dropSupersededDatasets } from '../queries/datasets.ts';
import { loadNetwork, loadOrigins, MAKE_ORIGINS_SQL } from '../network/load-network.ts';
import { loadNetworkCached, type NetworkSource } from '../network/network-file.ts';
import { loadOriginsCached } from '../network/origins-file.ts';
import { applyStudyArea, studyArea } from '../network/study-area.ts';
import { copyRuleResults, persistOriginResults } from './origin-results.ts';
import { changedCategories, rulesUsing, runInputs, type RunInputs } from './run-inputs.ts';

/** How long the previously served dataset outlives its replacement's first run: as long as old runs are kept (10 minutes). */
export const SUPERSEDED_GRACE_SECONDS = 600;

export interface ComputeOptions {
  /** The dataset name to compute (its newest vintage); default the newest network dataset of any name. */
  dataset?: string;
  ruleSets?: readonly RuleSet[];
  progress?: Progress;
  /**
   * Read the walking network from its engine file under this directory (`.data/engine/`, the
   * server's), written when missing or stale, instead of building it from PostGIS every run: the
   * file holds the same arrays (test/engine-file.db.test.ts). Absent: built from PostGIS.
   */
  engineDir?: string;
  /** Keep this many finished runs per dataset (older ones are deleted). */
  keepRuns?: number;
  /**
   * Copy the results of the newest finished run for every rule whose inputs (origins, network,
   * facilities of its categories: see run-inputs.ts) are unchanged, and compute only the rest: for
   * a register import. Off by default: a plain compute recomputes everything.
   */
  incremental?: boolean;
  /**
   * Called with the evaluated results before they are written, as objects (tests compare storage
   * with them; materialising them costs the per-origin objects a run otherwise does without).
   */
  onEvaluated?: (originIds: readonly number[], coverage: readonly RuleCoverage[]) => void;
}

export interface ComputeResult {
  runId: number;
  datasetId: number;
  timingsMs: Record<string, number>;
  counts: Record<string, number>;
  /** With `engineDir`: where the streets, facilities and origins came from (their files, or built). */
  sources?: { streets: NetworkSource; facilities: NetworkSource; origins: NetworkSource };
}

/**
 * Walking distance at the midpoint of edge e from a field: through whichever end may be walked
 * towards it. Infinity when neither end is within the field's bound (the distance cap).
 */
export function edgeMidpointDistance(graph: WalkGraph, field: DistanceField, e: number): number {
  return distanceAlong(graph, field.result, e, graph.edgeLengthM[e] / 2);
}

/**
 * Recompute every rule set for a dataset (options.dataset, else the newest) and persist the run in one transaction: a
 * failed compute leaves the previous run in place, and readers never see half a run.
 */
export async function computeCoverage(pool: pg.Pool, options: ComputeOptions = {}): Promise<ComputeResult> {
  const progress = options.progress ?? silentProgress;
  // Built-in files plus the newest stored version of each stored rule set, one compute path for all.
  const ruleSets = options.ruleSets ?? (await refreshRuleSets(pool));
  const timings: Record<string, number> = {};
  const time = async <T>(label: string, f: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    const r = await f();
    timings[label] = Math.round((performance.now() - t) * 10) / 10;
    return r;
  };
  const client = await pool.connect();
  try {
    const ds = await activeDataset(client, options.dataset);
    if (!ds)
      throw new Error(
        options.dataset === undefined
          ? 'no dataset loaded: import one first (npm run import -- osm <file>)'
          : `no dataset named ${JSON.stringify(options.dataset)}: import one (npm run import -- osm <file> --name ${options.dataset})`,
      );
    await client.query('BEGIN');
    // One compute at a time per database; a second waits rather than interleaving.
    await client.query('SELECT pg_advisory_xact_lock(15015)');
    const hasOrigins = (await client.query('SELECT 1 FROM origins WHERE dataset_id = $1 LIMIT 1', [ds.id])).rowCount;
    if (!hasOrigins) {
      progress.step('placing resident origins (buildings, or sample points inside residential areas)');
      await time('origins_sql', async () => {
        for (const sql of MAKE_ORIGINS_SQL) await client.query(sql, [ds.id]);
      });
    }
    progress.step('loading the walking network');
    const engineDir = options.engineDir;
    let sources: ComputeResult['sources'];
    const { net, streetsKey } = await time('load', async () => {
      if (!engineDir) return { net: await loadNetwork(client, ds.id), streetsKey: null };
      const r = await loadNetworkCached(client, ds.id, engineDir);
      sources = { streets: r.source, facilities: r.facilitiesSource, origins: 'built' };
      return { net: r.net, streetsKey: r.key };
    });
    // From the origins file beside the network's when there is one (origins-file.ts): the same origins.
    const { origins, outside, communitySource } = await time('load_origins', async () => {
      if (engineDir && streetsKey && sources) {
        const r = await loadOriginsCached(client, ds.id, engineDir, streetsKey, net.compounds);
        sources.origins = r.source;
        return r;
      }
      const loaded = await loadOrigins(client, ds.id, net.compounds);
      return { ...(await applyStudyArea(client, ds.id, loaded.origins)), communitySource: loaded.communitySource };
    });
    const study = await studyArea(client, ds.id);
    const inputs = await time('fingerprint', () => runInputs(net, origins));
    const versions = Object.fromEntries(ruleSets.map((r) => [r.id, r.version]));
    const base = options.incremental ? await reusableRun(client, ds.id, versions, communitySource, inputs) : null;
    // What to compute: everything, or only the rules and map categories whose facilities changed.
    const changed = base ? changedCategories(base.inputs, inputs) : null;
    const evalRuleSets = changed ? rulesUsing(ruleSets, changed) : ruleSets;
    progress.step(`distance fields over ${net.graph.nodeCount} nodes / ${net.graph.edgeCount} edges`);
    const fields = await time('fields', () => computeFields(net, evalRuleSets, changed ?? undefined));
    const snaps = await time('snap_origins', () => origins.map((o) => snapOrigin(net, o.lng, o.lat, o.compound)));
    progress.step(
      `coverage of ${origins.length} origins for ${evalRuleSets.reduce((a, rs) => a + rs.rules.length, 0)} rules`,
    );
    const coverage = await time('evaluate', () => evaluateCoverageCompact(net, fields, evalRuleSets, origins, snaps));
    const reuse =
      base && changed
        ? {
            runId: base.runId,
            rules: ruleSets.flatMap((rs) =>
              rs.rules
                .filter((r) => !coverage.some((c) => c.ruleSetId === rs.id && c.ruleId === r.id))
                .map((r) => [rs.id, r.id] as const),
            ),
            changedCategories: [...changed],
          }
        : null;

    options.onEvaluated?.(
      origins.map((o) => o.id),
      coverage.map((c) => ({
        ruleSetId: c.ruleSetId,
        ruleId: c.ruleId,
        noData: c.noData,
        origins: origins.map((_, i) => originResult(c.results, i)),
        areas: c.areas,
      })),
    );
    progress.step('writing results');
    const run = await client.query<{ id: number }>(
      `INSERT INTO coverage_runs (dataset_id, rule_set_versions, status, community_source, inputs, reused_from_run) VALUES ($1, $2, 'running', $3, $4, $5) RETURNING id`,
      [ds.id, versions, communitySource, inputs, reuse?.runId ?? null],
    );
    const runId = run.rows[0].id;
    await time('persist', () =>
      persist(
        client,
        runId,
        net,
        fields,
        coverage,
        origins.map((o) => o.id),
        timings,
        reuse,
      ),
    );
    const counts = {
      origins: origins.length,
      unsnapped_origins: snaps.filter((s) => s.unreachable).length,
      origins_outside_study_area: outside,
      origins_near_data_edge: origins.filter((o) => o.nearDataEdge).length,
      edge_margin_m: Math.round(study?.marginM ?? 0),
      distance_cap_m: DISTANCE_CAP_M,
      no_data_rules: ruleSets.flatMap((rs) => rs.rules).filter((r) => !ruleHasData(r, net.facilities)).length,
      computed_rules: coverage.length,
      reused_rules: reuse?.rules.length ?? 0,
      fields: fields.size,
      unsnapped_access_points: [...fields.values()].reduce((a, f) => a + f.unsnappedAccessPoints, 0),
    };
    await client.query(
      `UPDATE coverage_runs SET status = 'done', finished_at = now(), timings_ms = $2, counts = $3 WHERE id = $1`,
      [runId, timings, counts],
    );
    // Runs that finished in the last 10 minutes are kept too, so a reader that looked up the
    // current run a moment ago still finds its results.
    await client.query(
      `DELETE FROM coverage_runs WHERE dataset_id = $1
         AND id NOT IN (SELECT id FROM coverage_runs WHERE dataset_id = $1 AND status = 'done' ORDER BY id DESC LIMIT $2)
         AND (finished_at IS NULL OR finished_at < now() - interval '10 minutes')`,
      [ds.id, options.keepRuns ?? 2],
    );
    // In the same transaction: readers switch from the previous dataset's run to this one at once.
    await dropSupersededDatasets(client, SUPERSEDED_GRACE_SECONDS, ds.name);
    await client.query('COMMIT');
    progress.done(
      `coverage run ${runId}: ${origins.length} origins, ${fields.size} distance fields (${Object.entries(timings)
        .map(([k, v]) => `${k} ${v} ms`)
        .join(', ')})`,
    );
    return { runId, datasetId: ds.id, timingsMs: timings, counts, sources };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function persist(
  client: pg.PoolClient,
  runId: number,
  net: Awaited<ReturnType<typeof loadNetwork>>,
  fields: ReadonlyMap<string, DistanceField>,
  coverage: readonly CompactRuleCoverage[],
  originIds: readonly number[],
  timings: Record<string, number>,
  reuse: Reuse | null,
): Promise<void> {
  let t = performance.now();
  const lap = (label: string) => {
    const now = performance.now();
    timings[label] = Math.round((now - t) * 10) / 10;
    t = now;
  };
  await persistOriginResults(client, runId, originIds, coverage, reuse?.runId);
  if (reuse) await copyRuleResults(client, reuse.runId, runId, reuse.rules);
  lap('persist_origins');
  // COPY, not batches of INSERT … unnest: the same values (numbers in their shortest exact
  // decimal form, as pg sends array elements), without parsing parameter arrays per batch.
  function* areaRows() {
    for (const rc of coverage) {
      for (const a of rc.areas) {
        yield [
          runId,
          rc.ruleSetId,
          rc.ruleId,
          a.level,
          a.key,
          a.name,
          a.population,
          a.coveredPopulation,
          a.straightCoveredPopulation,
          a.share,
          a.straightShare,
          a.targetShare,
          a.passes,
          a.decidingFacilityId,
          a.uncoveredMeanM,
          a.uncoveredUnreachablePopulation,
          a.uncoveredBeyondCapPopulation,
          a.uncoveredNearEdgePopulation,
          a.noData,
          a.measure,
          a.populationGroup,
          a.estimatedPopulation,
        ];
      }
    }
  }
  await copyRows(client, 'coverage_area_results', AREA_COLUMNS, areaRows());
  if (reuse) {
    // Every column but run_id, named from the catalogue (so a column added later is copied too):
    // a plain INSERT … SELECT, where a jsonb round trip per row (jsonb_populate_record) took 4.8 s
    // for the 1M city's 300k reused rows (load 4).
    const columns = (
      await client.query<{ list: string }>(
        `SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS list FROM pg_attribute
         WHERE attrelid = 'coverage_area_results'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'run_id'`,
      )
    ).rows[0].list;
    await client.query(
      `INSERT INTO coverage_area_results (run_id, ${columns})
       SELECT $1, ${columns} FROM coverage_area_results
       WHERE run_id = $2 AND (rule_set_id, rule_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
      [runId, reuse.runId, reuse.rules.map((r) => r[0]), reuse.rules.map((r) => r[1])],
    );
  }
  lap('persist_areas');
  const g = net.graph;
  // An incremental run computed the fields of the changed categories only (reuse.changedCategories).
  const categoryFields = CATEGORIES.map((c) => [c.id, fields.get(c.id)] as const).filter(
    (x): x is [(typeof x)[0], DistanceField] => x[1] !== undefined,
  );
  function* edgeRows() {
    for (let e = 0; e < g.edgeCount; e++) {
      const d: Record<string, number> = {};
      for (const [id, field] of categoryFields) {
        const m = edgeMidpointDistance(g, field, e);
        if (m < Infinity) d[id] = Math.round(m * 10) / 10;
        // -1: beyond the cap (a facility lies in this piece of the network); absent: no path / no data
        else if (
          reachOutcome(
            g,
            field,
            { unreachable: false, edge: e, alongM: 0, accessM: 0, lng: 0, lat: 0, pointLng: 0, pointLat: 0 },
            Infinity,
          ) === 'beyond_cap'
        )
          d[id] = -1;
      }
      yield [runId, net.edgeDbId[e], JSON.stringify(d)];
    }
  }
  if (!reuse) {
    await copyRows(client, 'edge_distances', ['run_id', 'edge_id', 'd'], edgeRows());
  } else {
    // The changed categories' distances merged into the previous run's: same edges (the network
    // fingerprint is equal), the other categories' values copied as they were.
    await client.query(
      'CREATE TEMP TABLE changed_edge_distances (run_id integer, edge_id bigint PRIMARY KEY, d jsonb NOT NULL) ON COMMIT DROP',
    );
    await copyRows(client, 'changed_edge_distances', ['run_id', 'edge_id', 'd'], edgeRows());
    await client.query(
      `INSERT INTO edge_distances (run_id, edge_id, d)
       SELECT $1, b.edge_id, (b.d - $3::text[]) || coalesce(c.d, '{}')
       FROM edge_distances b LEFT JOIN changed_edge_distances c ON c.edge_id = b.edge_id
       WHERE b.run_id = $2`,
      [runId, reuse.runId, reuse.changedCategories],
    );
  }
  lap('persist_edges');
  // migrations/0250, 0251: the simplified streets and areas the map draws at zooms 9–12; an
  // incremental run recomputes the lines' distances of the changed categories only (0300)
  if (reuse)
    await client.query('SELECT build_generalised_network($1, $2, $3::text[])', [
      runId,
      reuse.runId,
      reuse.changedCategories,
    ]);
  else await client.query('SELECT build_generalised_network($1)', [runId]);
  lap('persist_generalised_network');
  await client.query('SELECT build_generalised_areas($1)', [runId]);
  lap('persist_generalised_areas');
}

const AREA_COLUMNS = [
  'run_id',
  'rule_set_id',
  'rule_id',
  'level',
  'area_key',
  'area_name',
  'population',
  'covered_population',
  'straight_covered_population',
  'share',
  'straight_share',
  'target_share',
  'passes',
  'deciding_facility_id',
  'uncovered_mean_m',
  'uncovered_unreachable_population',
  'uncovered_beyond_cap_population',
  'uncovered_near_edge_population',
  'no_data',
  'measure',
  'population_group',
  'estimated_population',
] as const;

/** What an incremental run copies from an earlier one. */
interface Reuse {
  runId: number;
  /** Rules whose results are copied (rule set id, rule id). */
  rules: readonly (readonly [string, string])[];
  changedCategories: readonly string[];
}

/**
 * The newest finished run of the dataset computed with the same rule set versions, community
 * source, origins and network: its results are valid for every rule whose categories' facilities
 * are unchanged. Null when there is none (then everything is computed).
 */
async function reusableRun(
  client: pg.PoolClient,
  datasetId: number,
  versions: Record<string, string>,
  communitySource: string | null,
  inputs: RunInputs,
): Promise<{ runId: number; inputs: RunInputs } | null> {
  const { rows } = await client.query<{ id: number; inputs: RunInputs }>(
    `SELECT id, inputs FROM coverage_runs
     WHERE dataset_id = $1 AND status = 'done' AND inputs IS NOT NULL AND rule_set_versions = $2::jsonb AND community_source IS NOT DISTINCT FROM $3
       AND inputs->>'origins' = $4 AND inputs->>'network' = $5
       AND EXISTS (SELECT 1 FROM coverage_run_origins o WHERE o.run_id = coverage_runs.id)
     ORDER BY id DESC LIMIT 1`,
    [datasetId, versions, communitySource, inputs.origins, inputs.network],
  );
  return rows[0] ? { runId: rows[0].id, inputs: rows[0].inputs } : null;
}

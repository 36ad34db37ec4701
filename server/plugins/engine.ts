import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { computeFields, type EngineNetwork } from '../../geo/coverage.ts';
import { createSearch, type Search } from '../../geo/dijkstra.ts';
import type { DistanceField } from '../../geo/distance-field.ts';
import { refreshRuleSets } from '../queries/rule-sets.ts';
import { ApiError } from '../errors.ts';
import path from 'node:path';
import { readConfig } from '../config.ts';
import { loadNetworkCached, type NetworkSource } from '../network/network-file.ts';

/** The in-memory engine of one dataset and coverage run: graph, indexes and distance fields. */
export interface LoadedEngine {
  datasetId: number;
  runId: number;
  net: EngineNetwork & { nodeDbId: Float64Array };
  fields: Map<string, DistanceField>;
  /** One reusable search for per-request work (isochrones); requests use it synchronously. */
  search: Search;
  /** Extent of the network in lng/lat, for "outside the dataset" answers. */
  bbox: [number, number, number, number];
  loadedAt: number;
  /** Whether the network came from its engine file under `.data/engine/` or was built from the database. */
  networkSource: NetworkSource;
  /** Seconds to load the network (file or database) and compute the distance fields. */
  loadSeconds: number;
}

/** What the engine is doing: none loaded yet, a load running (answers wait for it), or ready. */
export interface EngineState {
  state: 'cold' | 'warming' | 'ready';
  dataset_id: number | null;
  run_id: number | null;
  network_source: NetworkSource | null;
  load_seconds: number | null;
  /** Seconds the running load has taken so far (warming only). */
  warming_seconds: number | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    engine: {
      current(): Promise<LoadedEngine>;
      currentRun(): Promise<{ datasetId: number; runId: number }>;
      state(): EngineState;
    };
  }
}

// served_run() (migration 0110): the served dataset (the newest with a complete run, so a newer
// dataset being computed does not take over before its results are complete) and its newest
// complete run. The tile functions ask the same SQL function, so tiles and answers agree.
const CURRENT_RUN_SQL = `SELECT dataset_id, run_id FROM served_run()`;

/** The served dataset and its newest finished coverage run; throws ApiError when there is none. */
export async function currentRun(db: pg.Pool): Promise<{ datasetId: number; runId: number }> {
  const { rows } = await db.query<{ dataset_id: number | null; run_id: number | null }>(CURRENT_RUN_SQL);
  if (!rows[0] || rows[0].dataset_id === null)
    throw new ApiError('no_dataset', 'no dataset is loaded: import one (npm run import -- osm <file>)');
  if (rows[0].run_id === null)
    throw new ApiError('no_results', 'coverage has not been computed for the loaded dataset yet (npm run compute)');
  return { datasetId: rows[0].dataset_id, runId: rows[0].run_id };
}

async function load(
  db: pg.Pool,
  datasetId: number,
  runId: number,
  engineDir: string,
  log: (err: Error) => void,
): Promise<LoadedEngine> {
  const t0 = performance.now();
  const { net, source } = await loadNetworkCached(db, datasetId, engineDir, log);
  const fields = computeFields(net, await refreshRuleSets(db));
  let minLng = Infinity,
    minLat = Infinity,
    maxLng = -Infinity,
    maxLat = -Infinity;
  const { nodeLng, nodeLat } = net.graph;
  for (let i = 0; i < nodeLng.length; i++) {
    if (nodeLng[i] < minLng) minLng = nodeLng[i];
    if (nodeLng[i] > maxLng) maxLng = nodeLng[i];
    if (nodeLat[i] < minLat) minLat = nodeLat[i];
    if (nodeLat[i] > maxLat) maxLat = nodeLat[i];
  }
  return {
    datasetId,
    runId,
    net,
    fields,
    search: createSearch(net.graph),
    bbox: [minLng, minLat, maxLng, maxLat],
    loadedAt: Date.now(),
    networkSource: source,
    loadSeconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Keeps the engine of the active dataset in memory and rebuilds it when a newer dataset or
 * coverage run appears (checked at most once per `recheckMs`). Concurrent callers share one load.
 */
export const enginePlugin = fp(
  async (app: FastifyInstance, opts: { recheckMs?: number; engineDir?: string }) => {
    const recheckMs = opts.recheckMs ?? 1000;
    // The network's engine file lives beside the database cluster (README "Performance").
    const engineDir = opts.engineDir ?? path.join(readConfig().dataDir, 'engine');
    let warmingSince = 0;
    let engine: LoadedEngine | null = null;
    let loading: Promise<LoadedEngine> | null = null;
    let checkedAt = 0;
    let checking: Promise<{ datasetId: number; runId: number }> | null = null;

    const latest = async () => {
      checking ??= currentRun(app.pg).finally(() => {
        checking = null;
      });
      return checking;
    };

    async function current(): Promise<LoadedEngine> {
      if (engine && Date.now() - checkedAt < recheckMs) return engine;
      const { datasetId, runId } = await latest();
      checkedAt = Date.now();
      if (engine && engine.datasetId === datasetId && engine.runId === runId) return engine;
      if (!loading) warmingSince = performance.now();
      loading ??= load(app.pg, datasetId, runId, engineDir, (err) => app.log.warn({ err }, 'engine file not written'))
        .then((e) => {
          app.log.info(
            { datasetId, runId, nodes: e.net.graph.nodeCount, source: e.networkSource, seconds: e.loadSeconds },
            'engine loaded',
          );
          engine = e;
          return e;
        })
        .finally(() => {
          loading = null;
        });
      return loading;
    }
    const state = (): EngineState => ({
      state: loading ? 'warming' : engine ? 'ready' : 'cold',
      dataset_id: engine?.datasetId ?? null,
      run_id: engine?.runId ?? null,
      network_source: engine?.networkSource ?? null,
      load_seconds: engine?.loadSeconds ?? null,
      warming_seconds: loading ? (performance.now() - warmingSince) / 1000 : null,
    });
    app.decorate('engine', { current, currentRun: () => currentRun(app.pg), state });
  },
  { name: 'engine', dependencies: ['db'] },
);

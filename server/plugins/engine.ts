import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { computeFields, type EngineNetwork } from '../../geo/coverage.ts';
import { createSearch, type Search } from '../../geo/dijkstra.ts';
import type { DistanceField } from '../../geo/distance-field.ts';
import { refreshRuleSets } from '../queries/rule-sets.ts';
import { datasetRun, type DatasetRun } from '../queries/datasets.ts';
import { ApiError } from '../errors.ts';
import path from 'node:path';
import { readConfig } from '../config.ts';
import { loadNetworkCached, type NetworkSource } from '../network/network-file.ts';

/** The in-memory engine of one dataset and coverage run: graph, indexes and distance fields. */
export interface LoadedEngine {
  /** The dataset name it answers for (dataset=). */
  name: string;
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
  /** The engine files' directory and the streets' key: the origins file beside them (origins-file.ts) is keyed by it. */
  files: { dir: string; streetsKey: string };
  /** Seconds to load the network (file or database) and compute the distance fields. */
  loadSeconds: number;
  /** Bytes of its typed arrays (graph, indexes, fields): what the memory budget counts. */
  bytes: number;
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

/** A dataset's engine as GET /api/datasets reports it. */
export interface EngineSlotState extends EngineState {
  name: string;
  megabytes: number | null;
  last_used_at: string | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    engine: {
      /** The engine of dataset `dataset` (default: the default dataset), loaded if needed. */
      current(dataset?: string): Promise<LoadedEngine>;
      /** The dataset row and complete run answering for `dataset`; ApiError when none. */
      currentRun(dataset?: string): Promise<{ name: string; datasetId: number; runId: number }>;
      /** `dataset` resolved (cached for the recheck interval); unknown_dataset (404) for a name nothing is stored under. */
      resolve(dataset?: string): Promise<DatasetRun>;
      /** The default dataset's engine state (or that of `dataset`). */
      state(dataset?: string): EngineState;
      /** Every dataset engine loaded or loading. */
      loaded(): EngineSlotState[];
    };
  }
}

/** `dataset` resolved through dataset_run() (migration 0260); throws ApiError when it does not answer. */
export async function currentRun(
  db: pg.Pool,
  dataset?: string,
): Promise<{ name: string; datasetId: number; runId: number }> {
  return checkedRun(await datasetRun(db, dataset), dataset);
}

function checkedRun(r: DatasetRun, dataset: string | undefined): { name: string; datasetId: number; runId: number } {
  if (r.datasetId === null) {
    if (dataset !== undefined) throw unknownDataset(dataset);
    throw new ApiError('no_dataset', 'no dataset is loaded: import one (npm run import -- osm <file>)');
  }
  if (r.runId === null)
    throw new ApiError(
      'no_results',
      `coverage has not been computed for dataset "${r.name}" yet (npm run compute -- --dataset ${r.name})`,
    );
  return { name: r.name, datasetId: r.datasetId, runId: r.runId };
}

function unknownDataset(dataset: string): ApiError {
  return new ApiError(
    'unknown_dataset',
    `no dataset named ${JSON.stringify(dataset)}; GET /api/datasets lists the datasets served`,
  );
}

/**
 * Bytes of the typed arrays reachable from `root` (objects, arrays and Maps up to `depth` levels),
 * each underlying buffer counted once. O(properties visited).
 */
export function typedArrayBytes(root: unknown, depth = 5): number {
  const buffers = new Set<ArrayBufferLike>();
  const seen = new Set<object>();
  let bytes = 0;
  const visit = (v: unknown, d: number) => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!buffers.has(v.buffer)) {
        buffers.add(v.buffer);
        bytes += v.buffer.byteLength;
      }
      return;
    }
    if (d === 0) return;
    const values = v instanceof Map ? v.values() : Array.isArray(v) ? v : Object.values(v);
    for (const x of values) visit(x, d - 1);
  };
  visit(root, depth);
  return bytes;
}

async function load(
  db: pg.Pool,
  run: { name: string; datasetId: number; runId: number },
  engineDir: string,
  log: (err: Error) => void,
): Promise<LoadedEngine> {
  const t0 = performance.now();
  const { net, source, key } = await loadNetworkCached(db, run.datasetId, engineDir, log);
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
  const search = createSearch(net.graph);
  return {
    ...run,
    net,
    fields,
    search,
    bbox: [minLng, minLat, maxLng, maxLat],
    loadedAt: Date.now(),
    networkSource: source,
    files: { dir: engineDir, streetsKey: key },
    loadSeconds: (performance.now() - t0) / 1000,
    bytes: typedArrayBytes({ net, fields, search }),
  };
}

interface Slot {
  engine: LoadedEngine | null;
  loading: Promise<LoadedEngine> | null;
  warmingSince: number;
  lastUsed: number;
}

/**
 * Keeps one engine per dataset name in memory, loaded on the first request naming it, and
 * rebuilds a dataset's engine when a newer vintage or coverage run appears (names are resolved at
 * most once per `recheckMs`). Concurrent callers share one load. When the engines together pass
 * `budgetMb`, the least recently used ones are unloaded (never the one just loaded).
 */
export const enginePlugin = fp(
  async (app: FastifyInstance, opts: { recheckMs?: number; engineDir?: string; budgetMb?: number }) => {
    const recheckMs = opts.recheckMs ?? 1000;
    const config = readConfig();
    // The network's engine file lives beside the database cluster (README "Performance").
    const engineDir = opts.engineDir ?? path.join(config.dataDir, 'engine');
    const budgetBytes = (opts.budgetMb ?? config.engineBudgetMb) * 1048576;
    const slots = new Map<string, Slot>();
    const resolved = new Map<string, { at: number; run: Promise<DatasetRun> }>();
    let defaultName: string | null = null;

    function resolve(dataset?: string): Promise<DatasetRun> {
      const key = dataset ?? '';
      const hit = resolved.get(key);
      if (hit && Date.now() - hit.at < recheckMs) return hit.run;
      const run = datasetRun(app.pg, dataset).then((r) => {
        if (dataset === undefined && r.datasetId !== null) defaultName = r.name;
        if (dataset !== undefined && r.datasetId === null) throw unknownDataset(dataset);
        return r;
      });
      resolved.set(key, { at: Date.now(), run });
      run.catch(() => {
        if (resolved.get(key)?.run === run) resolved.delete(key);
      });
      return run;
    }

    function evict(keep: string): void {
      let total = 0;
      for (const s of slots.values()) total += s.engine?.bytes ?? 0;
      const idle = [...slots.entries()]
        .filter(([name, s]) => name !== keep && s.engine && !s.loading)
        .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
      for (const [name, s] of idle) {
        if (total <= budgetBytes) break;
        total -= s.engine!.bytes;
        slots.delete(name);
        app.log.info({ dataset: name, megabytes: Math.round(s.engine!.bytes / 1048576) }, 'engine unloaded (budget)');
      }
    }

    async function current(dataset?: string): Promise<LoadedEngine> {
      const run = checkedRun(await resolve(dataset), dataset);
      let slot = slots.get(run.name);
      if (!slot) {
        slot = { engine: null, loading: null, warmingSince: 0, lastUsed: 0 };
        slots.set(run.name, slot);
      }
      slot.lastUsed = Date.now();
      const { engine } = slot;
      if (engine && engine.datasetId === run.datasetId && engine.runId === run.runId) return engine;
      if (slot.loading) return slot.loading;
      const s = slot;
      s.warmingSince = performance.now();
      s.loading = load(app.pg, run, engineDir, (err) => app.log.warn({ err }, 'engine file not written'))
        .then((e) => {
          app.log.info(
            {
              dataset: run.name,
              datasetId: run.datasetId,
              runId: run.runId,
              nodes: e.net.graph.nodeCount,
              source: e.networkSource,
              seconds: e.loadSeconds,
              megabytes: Math.round(e.bytes / 1048576),
            },
            'engine loaded',
          );
          s.engine = e;
          // a slot unloaded while this load ran is put back: it was asked for
          slots.set(run.name, s);
          evict(run.name);
          return e;
        })
        .finally(() => {
          s.loading = null;
        });
      return s.loading;
    }

    const slotState = (slot: Slot | undefined): EngineState => ({
      state: slot?.loading ? 'warming' : slot?.engine ? 'ready' : 'cold',
      dataset_id: slot?.engine?.datasetId ?? null,
      run_id: slot?.engine?.runId ?? null,
      network_source: slot?.engine?.networkSource ?? null,
      load_seconds: slot?.engine?.loadSeconds ?? null,
      warming_seconds: slot?.loading ? (performance.now() - slot.warmingSince) / 1000 : null,
    });
    const state = (dataset?: string): EngineState => {
      const name = dataset ?? defaultName;
      return slotState(name === null ? undefined : slots.get(name));
    };
    const loaded = (): EngineSlotState[] =>
      [...slots.entries()].map(([name, slot]) => ({
        name,
        ...slotState(slot),
        megabytes: slot.engine ? Math.round((slot.engine.bytes / 1048576) * 10) / 10 : null,
        last_used_at: slot.lastUsed ? new Date(slot.lastUsed).toISOString() : null,
      }));
    app.decorate('engine', {
      current,
      // not cached: an answer read right after a compute comes from the new run
      currentRun: (dataset?: string) => currentRun(app.pg, dataset),
      resolve,
      state,
      loaded,
    });
  },
  { name: 'engine', dependencies: ['db'] },
);

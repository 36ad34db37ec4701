import os from 'node:os';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Piscina } from 'piscina';
import { MAX_PLAN_EXTENT_M } from '../../geo/scenario/plan.ts';
import { loadOriginsCached } from '../network/origins-file.ts';
import { snapshotEngine, type EngineSnapshot } from '../heavy-work/engine-snapshot.ts';
import { PREPARING_SLOTS, type HeavyTask, type PreparedSnapshot, type TaskRefusal } from '../heavy-work/tasks.ts';
import { DEFAULT_RULE_SET } from '../../api/limits.ts';
import { ruleSetById } from '../../geo/rules/index.ts';
import { ApiError } from '../errors.ts';
import type { LoadedEngine } from './engine.ts';

/**
 * Limits on the work one request may ask of the worker pool. Chosen, not from a standard; in the
 * manner of OSRM's `--max-table-size` and Valhalla's `service_limits`, each refuses before any work
 * is done, except the time limit, which ends work already running.
 */
export interface HeavyLimits {
  /**
   * Worker threads: every core but one, which is left to the event loop that answers proximity
   * and tiles (at least one thread).
   */
  threads: number;
  /** Tasks waiting for a thread; beyond this the pool answers 503 `server_busy`. */
  maxQueue: number;
  /**
   * Milliseconds from a heavy request's submission (queueing included) to its answer; then its
   * thread is terminated (and replaced) and the request answers 503 `work_timed_out`. 20 s: the
   * costliest requests the budgets accept took up to about 11 s alone on the reference machine
   * (2 shared cores, central Chengdu). Preparing an engine for the threads is not charged to it
   * (see {@link heavyPoolPlugin}): a request waits for that preparation for at most this long
   * first, then answers 503 `server_busy` with Retry-After.
   */
  timeLimitMs: number;
  /**
   * The most a thread's own preparation may extend a request's time limit, milliseconds: starting
   * a thread (one replacing a thread ended at the limit), decoding the snapshot, the baseline
   * coverage of a rule set other than the default (whose baseline is prepared with the engine). A
   * request whose thread prepares longer answers 503 `server_busy` with Retry-After; the thread
   * finishes preparing (later requests reuse it) and skips the request's work. 20 s: the time limit.
   */
  preparationLimitMs: number;
  /**
   * Milliseconds one heavy request's SQL (the grid search for suggestion candidates, the isochrone
   * polygon) may run before PostgreSQL cancels it (`statement_timeout`) and the request answers 503
   * `work_timed_out`. 10 s: the largest grid the limits allow (MAX_GRID_POINTS) took about 7 s on
   * the reference machine under load.
   */
  sqlTimeLimitMs: number;
  /** Heavy requests in flight per client address; the next answers 429 with Retry-After. */
  perClient: number;
  /**
   * Work units one POST /api/scenarios/evaluate may cost ({@link evaluateCost}). Measured on central
   * Chengdu: a unit takes 0.1–0.45 ms (50 parks of 70 m with marginal gains: 10,900 units, 2.0 s;
   * 50 squares of 4.9 km: 121,000 units, 55 s, refused).
   */
  evaluateBudget: number;
  /**
   * Work units one GET /api/suggest may cost ({@link suggestCost}); about 0.6 ms each. The default
   * grid over central Chengdu (2,848 candidates, k = 3) costs 15,600 (8 s); a 50 m grid of 200,000 m²
   * sites over 10 km × 10 km, k = 10, costs 204,000 (47 s) and is refused.
   */
  suggestBudget: number;
}

export const DEFAULT_HEAVY_LIMITS: HeavyLimits = {
  threads: Math.max(1, os.availableParallelism() - 1),
  maxQueue: 32,
  timeLimitMs: 20_000,
  preparationLimitMs: 20_000,
  sqlTimeLimitMs: 10_000,
  perClient: 2,
  evaluateBudget: 25_000,
  suggestBudget: 20_000,
};

/**
 * Scheduling priority given up by the pool's threads (Linux nice, per thread: each thread sets its
 * own, server/heavy-work/worker.mjs): on a machine short of cores the event loop that answers
 * proximity and tiles runs first and heavy work takes what is left, instead of both sharing it
 * equally. 10: CFS weighs a thread at nice 0 9 times one at 10 (1024 : 110). 19 (68 times) starved
 * heavy work on a machine loaded by other jobs (load 16 on 2 cores: 3000 m isochrones over 10 s,
 * evaluations past the 20 s limit).
 */
export const HEAVY_NICE_INCREMENT = 10;

/** Retry-After, seconds, of a request refused because the engine is still being prepared. */
export const PREPARING_RETRY_AFTER_S = 5;

/**
 * How far a search from a plan can change anything: its extent grown by this on every side, metres.
 * The largest rule distance (GB 50180-2018 table 3.0.4: 15-minute life circle, 1000 m).
 */
export const PLAN_REACH_M = 1000;

/**
 * The ground a plan's searches can touch, km²: its bounding box (sides capped at MAX_PLAN_EXTENT_M,
 * beyond which the engine refuses the plan with a 400 anyway) grown by {@link PLAN_REACH_M}.
 * A 70 m park counts 4.3, a 4.9 km square 47.6. O(vertices).
 */
export function planReachKm2(geometry: { type: string; coordinates: unknown }): number {
  let minLng = Infinity,
    minLat = Infinity,
    maxLng = -Infinity,
    maxLat = -Infinity;
  const walk = (c: unknown): void => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') {
      const [lng, lat] = c as number[];
      if (lng < minLng) minLng = lng;
      if (lng > maxLng) maxLng = lng;
      if (lat < minLat) minLat = lat;
      if (lat > maxLat) maxLat = lat;
      return;
    }
    for (const x of c) walk(x);
  };
  walk(geometry.coordinates);
  if (!(minLng <= maxLng && minLat <= maxLat)) return 0;
  // spherical metres per degree: a budget needs no ellipsoid
  const mLat = 111_195;
  const mLng = mLat * Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const w = Math.min(MAX_PLAN_EXTENT_M, (maxLng - minLng) * mLng) + 2 * PLAN_REACH_M;
  const h = Math.min(MAX_PLAN_EXTENT_M, (maxLat - minLat) * mLat) + 2 * PLAN_REACH_M;
  return (w * h) / 1e6;
}

/**
 * Work units of a scenario evaluation: scenarios × Σ plan reach (km²) × rule sets, doubled with
 * changed edges (every category's field is then recomputed too). Scenarios = 1, plus one per plan
 * for marginal gains when there are two or more plans (each holds all plans but one).
 */
export function evaluateCost(
  planReachesKm2: readonly number[],
  ruleSetCount: number,
  marginal: boolean,
  includeChangedEdges: boolean,
): number {
  const scenarios = 1 + (marginal && planReachesKm2.length >= 2 ? planReachesKm2.length : 0);
  const reach = planReachesKm2.reduce((a, b) => a + b, 0);
  return Math.round(scenarios * reach * ruleSetCount * (includeChangedEdges ? 2 : 1));
}

/**
 * Work units of a suggestion: candidates × one candidate's reach (km²) × (1 + k / 10). Each
 * candidate is searched once; the k greedy rounds then pass over all candidates again.
 */
export function suggestCost(candidates: number, k: number, candidateReachKm2: number): number {
  return Math.round(candidates * candidateReachKm2 * (1 + k / 10));
}

/**
 * The most candidates a suggestion with this k and candidate reach may have within `budget`: the
 * largest n with suggestCost(n, k, reach) <= budget (0 when even one is over). Lets the grid query
 * stop as soon as it has found one candidate too many, instead of counting the whole grid first.
 */
export function maxCandidatesWithin(budget: number, k: number, candidateReachKm2: number): number {
  const perCandidate = candidateReachKm2 * (1 + k / 10);
  if (!(perCandidate > 0)) return Number.MAX_SAFE_INTEGER;
  let n = Math.max(0, Math.floor((budget + 0.5) / perCandidate));
  while (n > 0 && suggestCost(n, k, candidateReachKm2) > budget) n--;
  while (suggestCost(n + 1, k, candidateReachKm2) <= budget) n++;
  return n;
}

/** 422 `work_budget_exceeded` when `cost` is over `budget`, naming both. */
export function checkBudget(what: string, cost: number, budget: number, hint: string): void {
  if (cost > budget) {
    throw new ApiError(
      'work_budget_exceeded',
      `${what} would cost ${cost} work units; the budget is ${budget} per request: ${hint}`,
      { cost, budget },
    );
  }
}

type TaskInput = HeavyTask extends infer T
  ? T extends HeavyTask
    ? Omit<T, 'snapshot' | 'preparing' | 'submittedAt'>
    : never
  : never;

declare module 'fastify' {
  interface FastifyInstance {
    heavy: {
      limits: HeavyLimits;
      /**
       * Run a task on the pool against `engine`: refuses with 429 past the client's concurrency,
       * 503 when the queue is full, 503 when the time limit passes (the thread is terminated).
       */
      run<T>(req: FastifyRequest, reply: FastifyReply, engine: LoadedEngine, task: TaskInput): Promise<T>;
      /** The shared snapshot of an engine (built once per engine). */
      snapshot(engine: LoadedEngine): Promise<EngineSnapshot>;
      /**
       * The snapshot with its origins snapped, once per engine by one thread, outside any request's
       * time limit; concurrent requests share the one preparation.
       */
      prepared(engine: LoadedEngine): Promise<PreparedSnapshot>;
      /**
       * Start the threads and have them decode `engine`'s snapshot, so the first request is not
       * slowed. Answers each thread that took a warm-up task: its Linux thread id and nice value
       * (null where there is no /proc).
       */
      warm(engine: LoadedEngine): Promise<{ threadId: number | null; nice: number | null }[]>;
    };
  }
}

/**
 * The worker pool for work that must not run on the event loop (scenarios, suggestions, isochrone
 * searches). Workers get the engine as an {@link EngineSnapshot} in shared memory: built once per
 * loaded engine, so a new dataset or run gives a new snapshot and workers drop the old one.
 *
 * Preparation is never charged to a request's time limit. Once per engine, one thread snaps every
 * origin (on a 1,000,000-node city this alone takes longer than the limit, and when it was charged
 * to the first request every request timed out, its thread was killed, and the next one started
 * over), and every thread then takes those snaps from shared memory. A request that arrives while
 * that runs waits for it, at most the time limit, then answers 503 `server_busy` with Retry-After
 * and a message saying the engine is being prepared; the preparation goes on. What each thread
 * still prepares itself (decoding the snapshot, a rule set's baseline coverage) it signals through
 * shared memory, and the time limit is extended by that time.
 */
export const heavyPoolPlugin = fp(
  async (app: FastifyInstance, opts: { limits?: Partial<HeavyLimits> }) => {
    const limits: HeavyLimits = { ...DEFAULT_HEAVY_LIMITS, ...opts.limits };
    const pool = new Piscina({
      filename: new URL('../heavy-work/worker.mjs', import.meta.url).href,
      // Threads start on the first task (or warm()) and then stay: a new thread spends seconds
      // compiling the engine and decoding the snapshot. Apps built for tests that never ask for
      // heavy work start none.
      minThreads: 0,
      maxThreads: limits.threads,
      maxQueue: limits.maxQueue,
      // each thread lowers its own priority (piscina's niceIncrement needs an optional package and
      // says nothing when it is missing)
      workerData: { niceIncrement: HEAVY_NICE_INCREMENT },
      idleTimeout: 24 * 3600_000,
    });
    const snapshots = new WeakMap<LoadedEngine, Promise<EngineSnapshot>>();
    const preparations = new WeakMap<
      LoadedEngine,
      { promise: Promise<PreparedSnapshot>; startedAt: number; done: boolean }
    >();
    const inFlight = new Map<string, number>();
    const defaultRuleSet = ruleSetById(DEFAULT_RULE_SET);
    const prepareTask = (snapshot: PreparedSnapshot): HeavyTask => ({
      kind: 'prepare',
      snapshot,
      ...(defaultRuleSet ? { ruleSets: [defaultRuleSet] } : {}),
    });

    const snapshot = (engine: LoadedEngine): Promise<EngineSnapshot> => {
      let s = snapshots.get(engine);
      if (!s) {
        // the residents the stored run evaluated (those of the study area), from their file when current
        s = loadOriginsCached(
          app.pg,
          engine.datasetId,
          engine.files.dir,
          engine.files.streetsKey,
          engine.net.compounds,
          (err) => app.log.warn({ err }, 'origins file not written'),
        ).then(({ origins }) => {
          const snap = snapshotEngine(engine, origins);
          app.log.info(
            { key: snap.key, sharedMB: Math.round(snap.sharedBytes / 1048576) },
            'engine snapshot shared with workers',
          );
          return snap;
        });
        s.catch(() => snapshots.delete(engine));
        snapshots.set(engine, s);
      }
      return s;
    };

    const preparation = (engine: LoadedEngine) => {
      let p = preparations.get(engine);
      if (!p) {
        const startedAt = performance.now();
        const promise = snapshot(engine).then(async (snap): Promise<PreparedSnapshot> => {
          // no signal: preparation has no time limit, and no request's limit can end it
          const originSnaps = (await pool.run({ kind: 'snap-origins', snapshot: snap })) as SharedArrayBuffer;
          const prepared: PreparedSnapshot = { ...snap, originSnaps };
          // every thread started, decoded and holding the default rule set's baseline coverage
          // before the first request runs (a thread that starts later, replacing one ended at the
          // time limit, signals its preparation instead)
          await Promise.all(Array.from({ length: limits.threads }, () => pool.run(prepareTask(prepared))));
          app.log.info(
            { key: snap.key, seconds: Math.round(performance.now() - startedAt) / 1000 },
            'engine prepared for the worker threads (origins snapped once, every thread decoded)',
          );
          return prepared;
        });
        const entry = { promise, startedAt, done: false };
        promise.then(
          () => (entry.done = true),
          () => preparations.delete(engine),
        );
        preparations.set(engine, (p = entry));
      }
      return p;
    };

    /** The prepared snapshot, waited for at most the time limit; then 503 server_busy. */
    async function preparedWithin(reply: FastifyReply, engine: LoadedEngine): Promise<PreparedSnapshot> {
      const p = preparation(engine);
      if (p.done) return p.promise;
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        p.promise,
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), limits.timeLimitMs))),
      ]).finally(() => clearTimeout(timer));
      if (waited) return waited;
      reply.header('retry-after', String(PREPARING_RETRY_AFTER_S));
      throw new ApiError(
        'server_busy',
        `the worker threads are still preparing this dataset's engine (snapping its residents to the network, started ${Math.round((performance.now() - p.startedAt) / 1000)} s ago); this request waited ${limits.timeLimitMs / 1000} s and was not run: retry in a few seconds`,
      );
    }

    async function run<T>(req: FastifyRequest, reply: FastifyReply, engine: LoadedEngine, task: TaskInput): Promise<T> {
      const client = req.ip;
      const n = inFlight.get(client) ?? 0;
      if (n >= limits.perClient) {
        reply.header('retry-after', '1');
        throw new ApiError(
          'too_many_heavy_requests',
          `at most ${limits.perClient} heavy requests (scenarios, suggestions, isochrones) at a time per client; this one was refused, retry when one has answered`,
        );
      }
      inFlight.set(client, n + 1);
      try {
        const snap = await preparedWithin(reply, engine);
        // the time limit, plus what the thread spent preparing, up to preparationLimitMs
        // (slots: preparing now, ms prepared, cancelled: HeavyTask.preparing)
        const preparing = new Int32Array(new SharedArrayBuffer(4 * PREPARING_SLOTS));
        const controller = new AbortController();
        const submitted = performance.now();
        let timer: NodeJS.Timeout | undefined;
        let refuse: ((err: ApiError) => void) | undefined;
        const refused = new Promise<never>((_, reject) => (refuse = reject));
        const check = () => {
          const prepared = Math.min(Atomics.load(preparing, 1), limits.preparationLimitMs);
          const left = submitted + limits.timeLimitMs + prepared - performance.now();
          if (Atomics.load(preparing, 0) === 1) {
            if (performance.now() - submitted < limits.timeLimitMs + limits.preparationLimitMs) {
              timer = setTimeout(check, 50);
              return;
            }
            // the thread prepares for longer than a request may wait: answer now, and let it
            // finish preparing (not terminated: that would throw the preparation away) and then
            // skip this request's work
            Atomics.store(preparing, 2, 1);
            reply.header('retry-after', String(PREPARING_RETRY_AFTER_S));
            refuse!(
              new ApiError(
                'server_busy',
                `the worker thread is still preparing this dataset (its baseline coverage or its start) after ${Math.round((performance.now() - submitted) / 1000)} s; the preparation goes on and this request was not run: retry in a few seconds`,
              ),
            );
          } else if (left <= 0) controller.abort();
          else timer = setTimeout(check, left);
        };
        timer = setTimeout(check, limits.timeLimitMs);
        let answer: unknown;
        const running = pool.run(
          { ...task, snapshot: snap, preparing, submittedAt: performance.timeOrigin + submitted },
          { signal: controller.signal },
        );
        running.catch(() => {}); // answered without it (refused above): its end is nobody's business
        try {
          answer = await Promise.race([running, refused]);
        } catch (err) {
          if (err instanceof ApiError) throw err;
          if ((err as Error).name === 'AbortError') {
            throw new ApiError(
              'work_timed_out',
              `the request ran out of its ${limits.timeLimitMs / 1000} s time limit and was stopped: ask for less (fewer plans or candidates, smaller sites, no marginal gains)`,
            );
          }
          if ((err as Error).message === 'Task queue is at limit') {
            reply.header('retry-after', '2');
            throw new ApiError(
              'server_busy',
              `the server is busy with ${limits.maxQueue} waiting heavy requests; try again shortly`,
            );
          }
          throw err;
        } finally {
          clearTimeout(timer);
        }
        if (answer && typeof answer === 'object' && 'refused' in answer)
          throw new ApiError('invalid_parameter', (answer as TaskRefusal).refused);
        return answer as T;
      } finally {
        const left = (inFlight.get(client) ?? 1) - 1;
        if (left > 0) inFlight.set(client, left);
        else inFlight.delete(client);
      }
    }

    const warm = async (engine: LoadedEngine): Promise<{ threadId: number | null; nice: number | null }[]> => {
      const snap = await preparation(engine).promise;
      return Promise.all(Array.from({ length: limits.threads }, () => pool.run(prepareTask(snap))));
    };

    app.decorate('heavy', { limits, run, snapshot, prepared: (e) => preparation(e).promise, warm });
    app.addHook('onClose', async () => {
      await pool.destroy();
    });
  },
  { name: 'heavy-pool', dependencies: ['db'] },
);

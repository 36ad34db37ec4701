import v8 from 'node:v8';
import { pointOnFeature } from '@turf/turf';
import fastJson from 'fast-json-stringify';
import { evaluateResponse } from '../../api/scenarios.ts';
import { evaluateCoverage, snapOrigin, type RuleCoverage } from '../../geo/coverage.ts';
import { createSearch, distanceToPoint, seedsFromSnaps, type Search } from '../../geo/dijkstra.ts';
import { isochrone } from '../../geo/isochrone.ts';
import { isochroneBands } from '../../geo/isochrone-bands.ts';
import type { RuleSet } from '../../geo/rules/index.ts';
import { evaluateScenario, type RuleImpact, type ScenarioEvaluation } from '../../geo/scenario/evaluate.ts';
import { PlanError, type ScenarioPlan } from '../../geo/scenario/plan.ts';
import { suggestPlans } from '../../geo/scenario/suggest.ts';
import type { EdgeSnap, SnapResult } from '../../geo/snap.ts';
import { engineFromSnapshot, type EngineSnapshot, type WorkerEngine } from './engine-snapshot.ts';

/**
 * The work the API hands to its worker pool (server/plugins/heavy-pool.ts): scenario evaluation,
 * suggestion and isochrone search. Runs in a worker thread; each function is also callable directly.
 * Answers are the JSON the routes send, so a worker returns plain data.
 */

export interface EvaluateTask {
  kind: 'evaluate';
  snapshot: PreparedSnapshot;
  /** The rule sets themselves (stored ones exist only in the main thread's list). */
  ruleSets: RuleSet[];
  plans: ScenarioPlan[];
  planIds: (number | null)[];
  includeChangedEdges: boolean;
  marginal: boolean;
  /**
   * The fields the route puts first (dataset, run, rule set): given, the answer is the route's whole
   * body serialised here ({@link SerialisedAnswer}), so the event loop only writes bytes.
   */
  envelope?: { dataset_id: number; run_id: number; rule_set: string };
}

export interface SuggestTask {
  kind: 'suggest';
  snapshot: PreparedSnapshot;
  ruleSetId: string;
  ruleSet: RuleSet;
  ruleId: string;
  candidates: ScenarioPlan[];
  planIds: (number | null)[];
  k: number;
}

export interface IsochroneTask {
  kind: 'isochrone';
  snapshot: PreparedSnapshot;
  snaps: EdgeSnap[];
  distanceM: number;
  /** Answer the lines as the route's Feature, serialised here, instead of as data. */
  serialise?: boolean;
}

/**
 * An answer serialised in the worker: UTF-8 JSON in a buffer of its own, which the pool's thread
 * transfers (heavy-worker.mjs) rather than copies, and the route sends as it is.
 */
export type SerialisedAnswer = Uint8Array;

/** Nested band polygons (e.g. 300 / 500 / 1000 m) and the residents within each, by walking distance. */
export interface IsochroneBandsTask {
  kind: 'isochrone-bands';
  snapshot: PreparedSnapshot;
  snaps: EdgeSnap[];
  limitsM: number[];
  includeOrigins: boolean;
}

/**
 * Decode the snapshot ahead of the first real task (warm-up), and compute the baseline coverage of
 * `ruleSets` (the default rule set), so no request of theirs pays for it.
 */
export interface PrepareTask {
  kind: 'prepare';
  snapshot: PreparedSnapshot;
  ruleSets?: RuleSet[];
}

/**
 * Snap every origin of the snapshot once, for all threads (the pool runs this once per snapshot,
 * outside any request's time limit): the answer is the snaps, v8-serialised into shared memory,
 * which the pool then hands to every thread with the snapshot ({@link PreparedSnapshot}).
 */
export interface SnapOriginsTask {
  kind: 'snap-origins';
  snapshot: PreparedSnapshot;
}

/** A snapshot with its origins already snapped ({@link SnapOriginsTask}). */
export type PreparedSnapshot = EngineSnapshot & { originSnaps?: SharedArrayBuffer };

export type HeavyTask = (
  EvaluateTask | SuggestTask | IsochroneTask | IsochroneBandsTask | PrepareTask | SnapOriginsTask
) & {
  /**
   * The thread's preparation, shared with the pool ({@link PREPARING_SLOTS}): slot 0 is 1 while it
   * prepares, slot 1 the milliseconds its preparations for this task took (starting the thread
   * while the task waited, decoding the snapshot, a rule set's baseline coverage: per-thread work
   * the pool does not charge to the request's time limit, up to a cap), and slot 2 is set by the
   * pool when the request has been answered without this task (it waited out the cap): the thread
   * then finishes its preparation, which later requests reuse, and skips the work itself.
   */
  preparing?: Int32Array;
  /** When the pool submitted the task (ms since the epoch, performance.timeOrigin + now()). */
  submittedAt?: number;
};

/** Int32 slots of {@link HeavyTask.preparing}: preparing now, milliseconds prepared, cancelled. */
export const PREPARING_SLOTS = 3;

/** The answer of a task the pool cancelled after its preparation ({@link HeavyTask.preparing}). */
export interface TaskCancelled {
  cancelled: true;
}

// When this thread had loaded the engine's code (ms since the epoch): a thread started for a task
// (the first, or one replacing a thread ended at the time limit) spent that long before running it.
const READY_AT = performance.timeOrigin + performance.now();
let startupCharged = false;

/** A domain error the route answers as 400 invalid_parameter (e.g. a plan the engine refuses). */
export interface TaskRefusal {
  refused: string;
}

interface Prepared {
  engine: WorkerEngine;
  search: Search;
  originSnaps: SnapResult[];
  coverage: Map<string, RuleCoverage[]>;
}

// One engine per thread, the newest snapshot's; an older one is dropped when a newer arrives.
let prepared: Prepared | null = null;
// The current task's preparation signal (HeavyTask.preparing), if the pool gave one.
let preparingSignal: Int32Array | undefined;

/** Run `f` as preparation: the pool sees this thread preparing, and adds the time to slot 1. */
function preparing<T>(f: () => T): T {
  const signal = preparingSignal;
  if (!signal) return f();
  const t0 = performance.now();
  Atomics.store(signal, 0, 1);
  try {
    return f();
  } finally {
    Atomics.add(signal, 1, Math.ceil(performance.now() - t0));
    Atomics.store(signal, 0, 0);
  }
}

function snapAll(engine: WorkerEngine): SnapResult[] {
  return engine.origins.map((o) => {
    const s = snapOrigin(engine.net, o.lng, o.lat, o.compound);
    return s.unreachable ? s : { ...s };
  });
}

function prepare(snapshot: PreparedSnapshot): Prepared {
  if (prepared?.engine.key === snapshot.key) return prepared;
  prepared = null;
  return preparing(() => {
    const engine = engineFromSnapshot(snapshot);
    // snapped once for every thread when the pool has done so (SnapOriginsTask), else here
    const originSnaps = snapshot.originSnaps
      ? (v8.deserialize(Buffer.from(snapshot.originSnaps)) as SnapResult[])
      : snapAll(engine);
    prepared = { engine, search: createSearch(engine.net.graph), originSnaps, coverage: new Map() };
    return prepared;
  });
}

/** The snaps of every origin, serialised into shared memory ({@link SnapOriginsTask}). */
export function snapOriginsShared(snapshot: EngineSnapshot): SharedArrayBuffer {
  const p = prepare(snapshot);
  const bytes = v8.serialize(p.originSnaps);
  const shared = new SharedArrayBuffer(bytes.byteLength);
  new Uint8Array(shared).set(bytes);
  return shared;
}

/** True when the pool has answered this task's request without it ({@link HeavyTask.preparing}). */
function cancelled(): boolean {
  return preparingSignal !== undefined && Atomics.load(preparingSignal, 2) === 1;
}

const CANCELLED: TaskCancelled = { cancelled: true };

function baselineCoverage(p: Prepared, ruleSets: readonly RuleSet[]): RuleCoverage[] {
  return ruleSets.flatMap((rs) => {
    let c = p.coverage.get(rs.id);
    if (!c)
      p.coverage.set(
        rs.id,
        (c = preparing(() => evaluateCoverage(p.engine.net, p.engine.fields, [rs], p.engine.origins, p.originSnaps))),
      );
    return c;
  });
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const round4 = (x: number | null) => (x === null ? null : Math.round(x * 1e4) / 1e4);

function areaRows(r: RuleImpact, level: 'community' | 'residential_area') {
  return r.areas
    .filter((a) => a.level === level)
    .map((a) => ({
      key: a.key,
      name: a.name,
      population: round2(a.population),
      covered_before: round2(a.coveredBefore),
      covered_after: round2(a.coveredAfter),
      share_before: round4(a.shareBefore),
      share_after: round4(a.shareAfter),
      delta_share: a.shareBefore === null || a.shareAfter === null ? null : round4(a.shareAfter - a.shareBefore),
      passes_before: a.passesBefore,
      passes_after: a.passesAfter,
      flip: a.flip,
    }));
}

function impactJson(
  ev: ScenarioEvaluation,
  plans: readonly ScenarioPlan[],
  ids: readonly (number | null)[],
  withEdges: boolean,
) {
  const body: Record<string, unknown> = {
    network_changed: ev.scenario.graphChanged || ev.scenario.barriersChanged,
    origins: ev.originSnaps.length,
    plans: ev.scenario.effects.map((e, i) => ({
      ref: e.ref,
      id: ids[i],
      kind: e.kind,
      name: e.name,
      becomes_open_space: plans[i].becomesOpenSpace === true,
      links_added: e.linksAdded,
      link_length_m: round2(e.linkLengthM),
      barrier_removed_m: round2(e.barrierRemovedM),
      edges_opened: e.edgesOpened,
      compounds_opened: e.compoundsOpened,
      open_space: e.openSpace && {
        facility_id: e.openSpace.facilityId,
        area_m2: round2(e.openSpace.areaM2),
        category: e.openSpace.category,
        access_points: e.openSpace.accessPoints,
      },
    })),
    rules: ev.rules.map((r) => ({
      rule_set: r.ruleSetId,
      rule_id: r.ruleId,
      target_share: r.targetShare,
      population: round2(r.population),
      covered_before: round2(r.coveredBefore),
      covered_after: round2(r.coveredAfter),
      share_before: r.population > 0 ? round4(r.coveredBefore / r.population) : null,
      share_after: r.population > 0 ? round4(r.coveredAfter / r.population) : null,
      newly_covered: round2(r.newlyCovered),
      newly_uncovered: round2(r.newlyUncovered),
      flips: {
        community: { fail_to_pass: r.flips.community.failToPass, pass_to_fail: r.flips.community.passToFail },
        residential_area: {
          fail_to_pass: r.flips.residential_area.failToPass,
          pass_to_fail: r.flips.residential_area.passToFail,
        },
      },
      communities: areaRows(r, 'community'),
      residential_areas: areaRows(r, 'residential_area'),
      marginal: r.marginal && r.marginal.map((m) => ({ plan: m.ref, gain: round2(m.gain) })),
      marginal_sum: r.marginal && round2(r.marginal.reduce((s, m) => s + m.gain, 0)),
    })),
  };
  if (withEdges) {
    const g = ev.scenario.net.graph;
    body.changed_edges = {
      type: 'FeatureCollection',
      features: (ev.changedEdges ?? []).map((c) => {
        const coordinates: number[][] = [];
        for (let i = g.edgeCoordOffset[c.edge]; i < g.edgeCoordOffset[c.edge + 1]; i++) {
          coordinates.push([
            Math.round(g.edgeCoords[2 * i] * 1e7) / 1e7,
            Math.round(g.edgeCoords[2 * i + 1] * 1e7) / 1e7,
          ]);
        }
        const before: Record<string, number | null> = {};
        const after: Record<string, number> = {};
        for (const [cat, d] of Object.entries(c.distances)) {
          before[cat] = d.before === null ? null : round2(d.before);
          after[cat] = round2(d.after);
        }
        return {
          type: 'Feature',
          geometry: { type: 'LineString', coordinates },
          properties: { edge: c.edge, street_id: c.dbId >= 0 ? c.dbId : null, is_link: c.isLink, before, after },
        };
      }),
    };
  }
  return body;
}

/** The body of POST /api/scenarios/evaluate, less what the route adds (dataset and run ids). */
export function runEvaluate(t: EvaluateTask): Record<string, unknown> | TaskRefusal | TaskCancelled {
  const p = prepare(t.snapshot);
  const ruleSets = t.ruleSets;
  const before = baselineCoverage(p, ruleSets);
  if (cancelled()) return CANCELLED;
  let ev: ScenarioEvaluation;
  try {
    ev = evaluateScenario(p.engine.net, p.engine.fields, ruleSets, p.engine.origins, p.originSnaps, t.plans, {
      baselineCoverage: before,
      includeChangedEdges: t.includeChangedEdges,
      marginal: t.marginal,
      baselineSearch: p.search,
    });
  } catch (err) {
    if (err instanceof PlanError) return { refused: err.message };
    throw err;
  }
  let resnapped = 0;
  ev.originSnaps.forEach((s, i) => {
    if (s !== p.originSnaps[i]) resnapped++;
  });
  return { origins_resnapped: resnapped, ...impactJson(ev, t.plans, t.planIds, t.includeChangedEdges) };
}

// The route's own response schema, compiled as fastify compiles it (fast-json-stringify): the bytes
// are those the route would send for the same answer.
let stringifyEvaluate: ((body: unknown) => string) | null = null;

/** The whole body of POST /api/scenarios/evaluate, serialised ({@link SerialisedAnswer}). */
export function runEvaluateSerialised(
  t: EvaluateTask & { envelope: NonNullable<EvaluateTask['envelope']> },
): SerialisedAnswer | TaskRefusal | TaskCancelled {
  const answer = runEvaluate(t);
  if ('refused' in answer || 'cancelled' in answer) return answer as TaskRefusal | TaskCancelled;
  // readonly `as const` arrays are what fast-json-stringify's types reject, not the schema
  stringifyEvaluate ??= fastJson(evaluateResponse as unknown as Parameters<typeof fastJson>[0]);
  return new TextEncoder().encode(stringifyEvaluate({ ...t.envelope, ...answer }));
}

/** The picks and totals of GET /api/suggest. */
export function runSuggest(t: SuggestTask): Record<string, unknown> | TaskRefusal | TaskCancelled {
  const p = prepare(t.snapshot);
  if (cancelled()) return CANCELLED;
  const ruleSet = t.ruleSet;
  const rule = ruleSet.rules.find((r) => r.id === t.ruleId);
  if (!rule) return { refused: `rule set ${t.ruleSetId} has no rule "${t.ruleId}"` };
  const s = suggestPlans(
    p.engine.net,
    p.engine.fields,
    ruleSet,
    rule,
    p.engine.origins,
    p.originSnaps,
    t.candidates,
    t.k,
    { baselineSearch: p.search },
  );
  const index = new Map(t.candidates.map((c, i) => [c.ref, i]));
  const population = p.engine.origins.reduce((sum, x) => sum + x.population, 0);
  return {
    population: round2(population),
    baseline_covered: round2(s.baselineCovered),
    picks: s.picks.map((pick, rank) => {
      const i = index.get(pick.ref)!;
      const c = t.candidates[i];
      const [lng, lat] = pointOnFeature(c.geometry).geometry.coordinates;
      return {
        rank: rank + 1,
        ref: pick.ref,
        plan_id: t.planIds[i],
        kind: c.kind,
        name: c.name,
        lng: Math.round(lng * 1e7) / 1e7,
        lat: Math.round(lat * 1e7) / 1e7,
        gain: round2(pick.gain),
        standalone_gain: round2(pick.standaloneGain),
        cumulative: round2(pick.cumulative),
        geometry: c.geometry,
      };
    }),
    greedy_total: round2(s.greedyTotal),
    optimum: s.optimum && { total: round2(s.optimum.total), refs: s.optimum.refs },
    optimality_gap: s.optimalityGap === null ? null : round2(s.optimalityGap),
    enumeration: s.enumeration,
    subsets_enumerated: s.subsetsEnumerated,
  };
}

/** The reached lines of an isochrone (the polygon is PostGIS's work, done by the route). */
export function runIsochrone(t: IsochroneTask) {
  const p = prepare(t.snapshot);
  if (cancelled()) return CANCELLED;
  const g = p.engine.net.graph;
  const result = p.search.run(
    seedsFromSnaps(
      g,
      t.snaps,
      t.snaps.map(() => 0),
    ),
    t.distanceM,
  );
  const iso = isochrone(g, result, t.distanceM);
  if (t.serialise) {
    // the Feature as the route sends it (properties in the route's order), and the geometry alone
    // for the polygon query, each serialised once here
    const reachedLengthM = Math.round(iso.reachedLengthM * 100) / 100;
    const geometry = JSON.stringify(iso.lines.geometry);
    const properties = JSON.stringify({ kind: 'lines', distance_m: t.distanceM, reached_length_m: reachedLengthM });
    return {
      geometryJson: geometry,
      featureJson: `{"type":"Feature","geometry":${geometry},"properties":${properties}}`,
      pieces: iso.pieceEdge.length,
    };
  }
  return { lines: iso.lines, reachedLengthM: iso.reachedLengthM, pieces: iso.pieceEdge.length };
}

/**
 * The bands of GET /api/isochrone/bands: each limit's polygon ({@link isochroneBands}) and the
 * residents whose walk from the source, their origin's access leg included, is within it (the
 * study area's origins, as the stored run evaluates them).
 */
export function runIsochroneBands(t: IsochroneBandsTask) {
  const p = prepare(t.snapshot);
  if (cancelled()) return CANCELLED;
  const g = p.engine.net.graph;
  const maxL = Math.max(...t.limitsM);
  const result = p.search.run(
    seedsFromSnaps(
      g,
      t.snaps,
      t.snaps.map(() => 0),
    ),
    maxL,
  );
  const built = isochroneBands(g, result, t.limitsM);
  const residents = built.bands.map(() => 0),
    originCounts = built.bands.map(() => 0);
  const within: [number, number][] = [];
  p.engine.origins.forEach((o, i) => {
    const d = distanceToPoint(g, result, p.originSnaps[i]);
    if (!(d <= maxL)) return;
    built.bands.forEach((b, k) => {
      if (d <= b.limitM) {
        residents[k] += o.population;
        originCounts[k]++;
      }
    });
    if (t.includeOrigins) within.push([o.id, round2(d)]);
  });
  return {
    cell_m: round2(built.cellM),
    frontage_m: round2(built.frontageM),
    off_street_max_m: built.offStreetMaxM,
    reached_length_m: round2(built.reachedLengthM),
    bands: built.bands.map((b, k) => ({
      limit_m: b.limitM,
      residents: round2(residents[k]),
      origins: originCounts[k],
      polygon: b.polygon,
    })),
    ...(t.includeOrigins ? { origins: within } : {}),
  };
}

/** The worker's entry: one task in, its plain-data answer out. */
export function runHeavyTask(task: HeavyTask): unknown {
  preparingSignal = task.preparing;
  if (!startupCharged) {
    startupCharged = true;
    // the part of this thread's start that the task waited through is preparation too
    const waited = READY_AT - Math.max(performance.timeOrigin, task.submittedAt ?? Infinity);
    if (preparingSignal && waited > 0) Atomics.add(preparingSignal, 1, Math.ceil(waited));
  }
  try {
    return runTask(task);
  } finally {
    preparingSignal = undefined;
  }
}

function runTask(task: HeavyTask): unknown {
  switch (task.kind) {
    case 'evaluate':
      return task.envelope ? runEvaluateSerialised({ ...task, envelope: task.envelope }) : runEvaluate(task);
    case 'suggest':
      return runSuggest(task);
    case 'isochrone':
      return runIsochrone(task);
    case 'isochrone-bands':
      return runIsochroneBands(task);
    case 'prepare': {
      const p = prepare(task.snapshot);
      if (task.ruleSets) baselineCoverage(p, task.ruleSets);
      return;
    }
    case 'snap-origins':
      return snapOriginsShared(task.snapshot);
  }
}

import { createRequire } from 'node:module';
import { testRandom } from '../../geo/fixtures/random-walk-graph.ts';

// autocannon ships no type declarations; this is the part of its API the benchmarks use.

interface Histogram {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface AutocannonResult {
  /** `total`: responses received. */
  requests: Histogram & { total: number; sent: number };
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

export interface AutocannonOptions {
  url: string;
  connections?: number;
  /** Seconds. */
  duration?: number;
  /** Requests per second over all connections (fixed-rate load). */
  overallRate?: number;
  /** Seconds before a request counts as timed out. */
  timeout?: number;
  /** Headers of every request. */
  headers?: Record<string, string>;
  requests?: { method?: string; path?: string; setupRequest?: (req: { path: string }) => { path: string } }[];
}

const autocannon = createRequire(import.meta.url)('autocannon') as (
  opts: AutocannonOptions,
) => Promise<AutocannonResult>;

/** Run autocannon against a local URL; resolves with its results when the duration is over. */
export function runAutocannon(opts: AutocannonOptions): Promise<AutocannonResult> {
  return autocannon(opts);
}

/** Seeded: the same points and tiles on every run. */
export function seededRandom(seed: number): () => number {
  return testRandom(seed).float;
}

/** Cycle through `paths`: a setupRequest that asks a different question each request. */
export function cycling(paths: readonly string[]): (req: { path: string }) => { path: string } {
  let i = 0;
  return (req) => {
    req.path = paths[i++ % paths.length];
    return req;
  };
}

/** The z/x/y of the Web Mercator tile holding a point. */
export function tileOf(lng: number, lat: number, z: number): [number, number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [
    z,
    Math.floor(((lng + 180) / 360) * n),
    Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n),
  ];
}

/**
 * One row of a served-route table, honest about what was not a success: latency (autocannon
 * records 2xx only) is null when nothing answered 2xx, and every other answer and every request
 * left unanswered (connection error or timeout) is counted.
 */
export interface ServedRow {
  /** Requests written. */
  sent: number;
  /** 2xx answers per second over the run. */
  okPerS: number;
  ok: number;
  /** Answers other than 2xx, by status code. */
  other: Record<string, number>;
  otherTotal: number;
  /** Sent but never answered: connection errors and timeouts (autocannon counts timeouts as errors). */
  unanswered: number;
  /** Of 2xx answers only; null when there were none. */
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export function servedRow(r: AutocannonResult): ServedRow {
  const other: Record<string, number> = {};
  let ok = 0;
  let answered = 0;
  for (const [code, { count }] of Object.entries(r.statusCodeStats ?? {})) {
    answered += count;
    if (code.startsWith('2')) ok += count;
    else other[code] = count;
  }
  // autocannon's own count of requests sent is not that (with a fixed rate it runs ahead of what
  // was written): sent here is what was answered plus what failed (connection errors and timeouts)
  const sent = answered + r.errors;
  return {
    sent,
    okPerS: Math.round(ok / Math.max(1e-9, r.duration)),
    ok,
    other,
    otherTotal: answered - ok,
    unanswered: r.errors,
    p50: ok ? r.latency.p50 : null,
    p99: ok ? r.latency.p99 : null,
    max: ok ? r.latency.max : null,
  };
}

/** Column heads and one line of a {@link ServedRow}, for the benches' tables. */
export const SERVED_HEAD = ['2xx/s', 'p50 ms', 'p99 ms', 'sent', '2xx', 'non-2xx', 'unanswered'] as const;
export function servedCells(r: ServedRow): string[] {
  const ms = (x: number | null) => (x === null ? '–' : String(x));
  const other = Object.entries(r.other)
    .map(([code, n]) => `${n}×${code}`)
    .join(' ');
  return [
    String(r.okPerS),
    ms(r.p50),
    ms(r.p99),
    String(r.sent),
    String(r.ok),
    r.otherTotal ? `${r.otherTotal} (${other})` : '0',
    String(r.unanswered),
  ];
}

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
  requests: Histogram & { total: number };
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

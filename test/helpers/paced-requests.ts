import http from 'node:http';

/**
 * An open-loop load generator paced like wrk2: request i of a run is scheduled at
 * start + i / rate, evenly over each second, and sent at that time whether or not earlier requests
 * have answered (no connection waits for another). Each latency is measured from the request's
 * *scheduled* time, so a server that stalls is charged for every request that should have gone out
 * meanwhile (coordinated omission corrected), and a generator that falls behind shows it as latency
 * rather than hiding it. autocannon's fixed-rate mode instead sends each second's requests in a
 * bunch at the start of the second and corrects with a 1 ms expected interval, so its p99 measures
 * the bunch queueing behind itself.
 */
export interface PacedOptions {
  /** http://host:port */
  base: string;
  /** Cycled through, one per request. */
  paths: readonly string[];
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** A request unanswered this long after it was sent is abandoned and counted as a timeout. */
  timeoutMs: number;
}

export interface PacedResult {
  /** Requests scheduled (all are sent). */
  sent: number;
  /** Answers by status code. */
  status: Map<number, number>;
  /** Connection errors and timeouts: requests never answered. */
  errors: number;
  timeouts: number;
  /** Latency of 2xx answers from their scheduled time, ms; null when none. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  /** How late the generator itself sent, worst case, ms (its own event loop's delay). */
  worstSendLagMs: number;
  seconds: number;
}

const percentile = (sorted: number[], q: number): number | null =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : null;

/** Run one paced stream of GET requests; resolves when every request has answered or timed out. */
export async function pacedRequests(opts: PacedOptions): Promise<PacedResult> {
  const { base, paths, rate, seconds, timeoutMs } = opts;
  if (!(rate > 0) || !(seconds > 0) || paths.length === 0) throw new Error('paced: rate, seconds and paths needed');
  const url = new URL(base);
  // keep-alive sockets, as many as there are requests in flight (open loop: no cap)
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const status = new Map<number, number>();
  const okMs: number[] = [];
  let errors = 0;
  let timeouts = 0;
  let worstSendLagMs = 0;
  let next = 0;
  let pending = 0;
  const start = performance.now();

  return new Promise<PacedResult>((resolve) => {
    const finish = () => {
      agent.destroy();
      okMs.sort((a, b) => a - b);
      resolve({
        sent: total,
        status,
        errors,
        timeouts,
        p50: percentile(okMs, 0.5),
        p90: percentile(okMs, 0.9),
        p99: percentile(okMs, 0.99),
        max: okMs.length ? okMs[okMs.length - 1] : null,
        worstSendLagMs: Math.round(worstSendLagMs),
        seconds: (performance.now() - start) / 1000,
      });
    };
    const send = (i: number, scheduled: number) => {
      pending++;
      let done = false;
      const end = (fn: () => void) => {
        if (done) return;
        done = true;
        fn();
        if (--pending === 0 && next >= total) finish();
      };
      const req = http.get(
        { host: url.hostname, port: url.port, path: paths[i % paths.length], agent, timeout: timeoutMs },
        (res) => {
          res.resume();
          res.on('end', () =>
            end(() => {
              const code = res.statusCode ?? 0;
              status.set(code, (status.get(code) ?? 0) + 1);
              if (code >= 200 && code < 300) okMs.push(performance.now() - scheduled);
            }),
          );
          res.on('error', () => end(() => errors++));
        },
      );
      req.on('timeout', () => {
        end(() => timeouts++);
        req.destroy();
      });
      req.on('error', () => end(() => errors++));
    };
    const tick = () => {
      const now = performance.now();
      while (next < total) {
        const scheduled = start + next * interval;
        if (scheduled > now) break;
        worstSendLagMs = Math.max(worstSendLagMs, now - scheduled);
        send(next++, scheduled);
      }
      if (next < total) setTimeout(tick, Math.max(0, Math.min(interval, start + next * interval - performance.now())));
      else if (pending === 0) finish();
    };
    tick();
  });
}

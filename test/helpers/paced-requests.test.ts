import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacedRequests } from './paced-requests.ts';

// The soak's paced generator charges a stall to every request scheduled during it (latency from
// the scheduled send time), sends every request it scheduled, and counts answers by status. Only
// lower bounds on latency are asserted: a busy machine can make them larger, never smaller.

describe('pacedRequests', () => {
  let server: http.Server;
  let base: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url!);
      res.statusCode = req.url!.startsWith('/missing') ? 404 : 200;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends every scheduled request, cycling the paths, and counts answers by status', async () => {
    seen.length = 0;
    const r = await pacedRequests({ base, paths: ['/a', '/b', '/missing'], rate: 60, seconds: 1, timeoutMs: 10_000 });
    expect(r.sent).toBe(60);
    expect(r.status.get(200)).toBe(40);
    expect(r.status.get(404)).toBe(20);
    expect(r.errors + r.timeouts).toBe(0);
    expect(seen.filter((u) => u === '/a')).toHaveLength(20);
  });

  it('charges a 400 ms stall to every request scheduled during it (coordinated omission corrected)', async () => {
    // the stall blocks this process, server and generator alike: a closed-loop generator would
    // simply not send meanwhile and see fast answers; this one must count from the schedule
    const stall = setTimeout(() => {
      const until = performance.now() + 400;
      while (performance.now() < until);
    }, 200);
    const r = await pacedRequests({ base, paths: ['/a'], rate: 100, seconds: 1, timeoutMs: 10_000 });
    clearTimeout(stall);
    expect(r.sent).toBe(100);
    expect(r.status.get(200)).toBe(100);
    // about 40 requests are scheduled in the stall and answered after it; the ~20 scheduled in its
    // first half waited 200 ms or more from their schedule (from their actual send, only the one
    // or two in flight when it began would have), so the 90th percentile is well over 150 ms
    expect(r.p90!).toBeGreaterThanOrEqual(150);
    expect(r.max!).toBeGreaterThanOrEqual(300);
    expect(r.worstSendLagMs).toBeGreaterThanOrEqual(300);
    expect(r.p50!).toBeLessThanOrEqual(r.p99!);
  });
});

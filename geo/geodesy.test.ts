import { describe, expect, it } from 'vitest';
import {
  WGS84_A_M,
  geodesicM,
  lineLengthM,
  linePointAtFraction,
  lineSliceAtFractions,
  makeLocalProjection,
  meridionalRadiusM,
  primeVerticalRadiusM,
} from './geodesy.ts';

describe('geodesicM', () => {
  it('gives the WGS 84 meridian arc for 0.01° of latitude, and is symmetric', () => {
    // meridian arc length from 30.66° to 30.67° N, by Simpson's rule on M(φ) (independent of the mid-latitude formula)
    let arc = 0;
    const n = 100,
      a = 30.66,
      b = 30.67,
      h = (b - a) / n;
    for (let k = 0; k <= n; k++) arc += (k === 0 || k === n ? 1 : k % 2 ? 4 : 2) * meridionalRadiusM(a + k * h);
    arc *= (h / 3) * (Math.PI / 180);
    expect(Math.abs(geodesicM(104.06, a, 104.06, b) - arc)).toBeLessThan(1e-6);
    expect(geodesicM(104.06, 30.66, 104.07, 30.67)).toBe(geodesicM(104.07, 30.67, 104.06, 30.66));
    expect(geodesicM(104.06, 30.66, 104.06, 30.66)).toBe(0);
  });
  it('measures east-west along the parallel: N(φ)·cos φ per radian', () => {
    const d = geodesicM(104, 30.6, 104.001, 30.6);
    expect(d).toBeCloseTo((primeVerticalRadiusM(30.6) * Math.cos((30.6 * Math.PI) / 180) * (0.001 * Math.PI)) / 180, 9);
    // and a metre east is 0.5 % longer in degrees' terms than a metre north at Chengdu: not a sphere
    expect(primeVerticalRadiusM(30.6) / meridionalRadiusM(30.6)).toBeCloseTo(1.005, 3);
    expect(WGS84_A_M).toBe(6378137);
  });
  it('wraps across the antimeridian', () => {
    expect(geodesicM(179.9995, 0, -179.9995, 0)).toBeCloseTo(geodesicM(0, 0, 0.001, 0), 6);
  });
});

describe('lineLengthM and slicing', () => {
  // three points: 0 → 1 is twice as long as 1 → 2
  const coords = [104, 30.6, 104, 30.602, 104, 30.603, 105, 31];
  it('sums segment lengths between point indices', () => {
    expect(lineLengthM(coords, 0, 3)).toBeCloseTo(geodesicM(104, 30.6, 104, 30.603), 6);
    expect(lineLengthM(coords, 1, 2)).toBe(0);
  });
  it('places fractions by geodesic length', () => {
    expect(linePointAtFraction(coords, 0, 3, 0)).toEqual([104, 30.6]);
    expect(linePointAtFraction(coords, 0, 3, 1)).toEqual([104, 30.603]);
    const [lng, lat] = linePointAtFraction(coords, 0, 3, 0.5);
    expect(lng).toBe(104);
    expect(lat).toBeCloseTo(30.6015, 9);
  });
  it('cuts pieces with interior vertices kept, and reversed when asked', () => {
    const piece = lineSliceAtFractions(coords, 0, 3, 0.5, 0.9);
    expect(piece.length).toBe(3);
    expect(piece[1]).toEqual([104, 30.602]);
    expect(piece[2][1]).toBeCloseTo(30.6027, 9);
    expect(lineSliceAtFractions(coords, 0, 3, 0.9, 0.5)).toEqual([...piece].reverse());
    expect(lineSliceAtFractions(coords, 0, 3, 0.2, 0.2)).toHaveLength(2);
  });
});

describe('makeLocalProjection', () => {
  it('round-trips and matches geodesicM over a few hundred metres', () => {
    const p = makeLocalProjection(104.06, 30.66);
    expect(p.toLng(p.toX(104.07))).toBeCloseTo(104.07, 12);
    expect(p.toLat(p.toY(30.65))).toBeCloseTo(30.65, 12);
    const planar = Math.hypot(p.toX(104.063) - p.toX(104.06), p.toY(30.662) - p.toY(30.66));
    expect(Math.abs(planar - geodesicM(104.06, 30.66, 104.063, 30.662)) / planar).toBeLessThan(1e-4);
  });
});

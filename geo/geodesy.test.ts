import { describe, expect, it } from 'vitest';
import { EARTH_RADIUS_M, haversineM, lineLengthM, linePointAtFraction, lineSliceAtFractions, makeLocalProjection } from './geodesy.ts';

describe('haversineM', () => {
    it('gives R·π/180 for one degree along a meridian and is symmetric', () => {
        expect(haversineM(104, 30, 104, 31)).toBeCloseTo(EARTH_RADIUS_M * Math.PI / 180, 6);
        expect(haversineM(104.06, 30.66, 104.07, 30.67)).toBe(haversineM(104.07, 30.67, 104.06, 30.66));
        expect(haversineM(104.06, 30.66, 104.06, 30.66)).toBe(0);
    });
    it('scales east-west distance by cos(latitude)', () => {
        expect(haversineM(104, 30.6, 104.001, 30.6) / haversineM(104, 0, 104.001, 0)).toBeCloseTo(Math.cos(30.6 * Math.PI / 180), 6);
    });
});

describe('lineLengthM and slicing', () => {
    // three points: 0 → 1 is twice as long as 1 → 2
    const coords = [104, 30.6, 104, 30.602, 104, 30.603, 105, 31];
    it('sums segment lengths between point indices', () => {
        expect(lineLengthM(coords, 0, 3)).toBeCloseTo(haversineM(104, 30.6, 104, 30.603), 6);
        expect(lineLengthM(coords, 1, 2)).toBe(0);
    });
    it('places fractions by haversine length', () => {
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
    it('round-trips and matches haversine over a few hundred metres', () => {
        const p = makeLocalProjection(104.06, 30.66);
        expect(p.toLng(p.toX(104.07))).toBeCloseTo(104.07, 12);
        expect(p.toLat(p.toY(30.65))).toBeCloseTo(30.65, 12);
        const planar = Math.hypot(p.toX(104.063) - p.toX(104.06), p.toY(30.662) - p.toY(30.66));
        expect(Math.abs(planar - haversineM(104.06, 30.66, 104.063, 30.662)) / planar).toBeLessThan(1e-4);
    });
});

/**
 * Mean Earth radius R1 = (2a + b) / 3 of the WGS 84 ellipsoid, in metres
 * (IUGG, Moritz 1980, "Geodetic Reference System 1980", Bulletin Géodésique 54).
 */
export const EARTH_RADIUS_M = 6371008.8;

const RAD = Math.PI / 180;

/**
 * Great-circle distance between two WGS 84 points on a sphere of radius {@link EARTH_RADIUS_M}.
 * Within 0.5 % of the ellipsoidal (PostGIS geography) distance. O(1).
 *
 * @returns distance in metres
 */
export function haversineM(lng1: number, lat1: number, lng2: number, lat2: number): number {
    const sinDLat = Math.sin((lat2 - lat1) * RAD / 2);
    const sinDLng = Math.sin((lng2 - lng1) * RAD / 2);
    const h = sinDLat * sinDLat + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * sinDLng * sinDLng;
    return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Haversine length of the polyline made of points `start` (inclusive) to `end` (exclusive) of a
 * flat `[lng, lat, lng, lat, …]` array. Indices count points, not array slots. O(end − start).
 *
 * @returns length in metres; 0 for fewer than two points
 */
export function lineLengthM(coords: ArrayLike<number>, start: number, end: number): number {
    let lengthM = 0;
    for (let i = start + 1; i < end; i++) {
        lengthM += haversineM(coords[2 * i - 2], coords[2 * i - 1], coords[2 * i], coords[2 * i + 1]);
    }
    return lengthM;
}

/**
 * Writes the point at `fraction` (0..1) of the haversine length of polyline points
 * `start`..`end` (exclusive) into `out` as `[lng, lat]`. Within a segment the position is
 * interpolated linearly in lng/lat, the inverse of how {@link SnapIndex} measures `alongM`.
 * O(end − start).
 */
export function linePointAtFraction(
    coords: ArrayLike<number>, start: number, end: number, fraction: number, out: number[] = [0, 0]
): number[] {
    const totalM = lineLengthM(coords, start, end);
    const targetM = Math.min(1, Math.max(0, fraction)) * totalM;
    let walkedM = 0;
    for (let i = start + 1; i < end; i++) {
        const segM = haversineM(coords[2 * i - 2], coords[2 * i - 1], coords[2 * i], coords[2 * i + 1]);
        if (walkedM + segM >= targetM && segM > 0) {
            const t = Math.min(1, (targetM - walkedM) / segM);
            out[0] = coords[2 * i - 2] + t * (coords[2 * i] - coords[2 * i - 2]);
            out[1] = coords[2 * i - 1] + t * (coords[2 * i + 1] - coords[2 * i - 1]);
            return out;
        }
        walkedM += segM;
    }
    const last = totalM > 0 || fraction > 0 ? end - 1 : start;
    out[0] = coords[2 * last];
    out[1] = coords[2 * last + 1];
    return out;
}

/**
 * The part of polyline points `start`..`end` (exclusive) between `fromFraction` and `toFraction`
 * (0..1, measured by haversine length), as GeoJSON `[lng, lat]` positions. The cut points are
 * interpolated; the vertices in between are copied. A zero-length piece yields two equal positions.
 * If `fromFraction > toFraction` the piece is returned reversed. O(end − start).
 */
export function lineSliceAtFractions(
    coords: ArrayLike<number>, start: number, end: number, fromFraction: number, toFraction: number
): [number, number][] {
    if (fromFraction > toFraction) {
        return lineSliceAtFractions(coords, start, end, toFraction, fromFraction).reverse();
    }
    const totalM = lineLengthM(coords, start, end);
    const fromM = Math.max(0, fromFraction) * totalM;
    const toM = Math.min(1, toFraction) * totalM;
    const out: [number, number][] = [];
    const p = [0, 0];
    linePointAtFraction(coords, start, end, fromFraction, p);
    out.push([p[0], p[1]]);
    let walkedM = 0;
    for (let i = start + 1; i < end - 1; i++) {
        walkedM += haversineM(coords[2 * i - 2], coords[2 * i - 1], coords[2 * i], coords[2 * i + 1]);
        if (walkedM > fromM && walkedM < toM) out.push([coords[2 * i], coords[2 * i + 1]]);
    }
    linePointAtFraction(coords, start, end, toFraction, p);
    out.push([p[0], p[1]]);
    return out;
}

/**
 * Equirectangular projection to metres around a centre, for planar work (snapping, crossing tests)
 * inside a city-sized extent. It is affine in lng/lat, so straight segments stay straight and
 * interpolation parameters carry over unchanged; east-west scale drifts by about
 * tan(lat) · Δlat (≈ 0.6 % at 50 km north or south of the centre near Chengdu's 30.6° N).
 */
export interface LocalProjection {
    centerLng: number;
    centerLat: number;
    /** metres per degree of longitude at the centre latitude */
    metresPerDegLng: number;
    /** metres per degree of latitude */
    metresPerDegLat: number;
    toX(lng: number): number;
    toY(lat: number): number;
    toLng(x: number): number;
    toLat(y: number): number;
}

/** Builds a {@link LocalProjection} centred on `(centerLng, centerLat)`. O(1). */
export function makeLocalProjection(centerLng: number, centerLat: number): LocalProjection {
    const metresPerDegLat = EARTH_RADIUS_M * RAD;
    const metresPerDegLng = metresPerDegLat * Math.cos(centerLat * RAD);
    return {
        centerLng,
        centerLat,
        metresPerDegLng,
        metresPerDegLat,
        toX: (lng) => (lng - centerLng) * metresPerDegLng,
        toY: (lat) => (lat - centerLat) * metresPerDegLat,
        toLng: (x) => centerLng + x / metresPerDegLng,
        toLat: (y) => centerLat + y / metresPerDegLat
    };
}

/** WGS 84 semi-major axis and flattening (NIMA TR8350.2, 3rd ed., 2000, table 3.1). */
export const WGS84_A_M = 6378137;
export const WGS84_F = 1 / 298.257223563;
const E2 = WGS84_F * (2 - WGS84_F);

const RAD = Math.PI / 180;

/** Radius of curvature of the WGS 84 ellipsoid along the meridian at a latitude, metres. */
export function meridionalRadiusM(latDeg: number): number {
  const s = Math.sin(latDeg * RAD);
  const w = 1 - E2 * s * s;
  return (WGS84_A_M * (1 - E2)) / (w * Math.sqrt(w));
}

/** Radius of curvature of the WGS 84 ellipsoid in the prime vertical at a latitude, metres. */
export function primeVerticalRadiusM(latDeg: number): number {
  const s = Math.sin(latDeg * RAD);
  return WGS84_A_M / Math.sqrt(1 - E2 * s * s);
}

/**
 * Distance between two WGS 84 points on the ellipsoid, for the short lines of a city: the
 * mid-latitude formula, planar in the ellipsoid's radii of curvature at the mean latitude.
 * It agrees with PostGIS's geography distance (Karney's geodesic) within 1 mm up to 5 km and
 * 1 cm up to 20 km at Chengdu's latitude (test/geodesy.db.test.ts measures it), so partial
 * edges and access legs add up with `walk_edges.length_m` (ST_Length of the geography) to the
 * centimetre. A sphere would not: its metre north and its metre east differ by 0.5 % at 30° N.
 * Not for long lines (the error grows with the cube of the distance). O(1).
 *
 * @returns distance in metres
 */
export function geodesicM(lng1: number, lat1: number, lng2: number, lat2: number): number {
  const midLat = (lat1 + lat2) / 2;
  const s = Math.sin(midLat * RAD);
  const w = 1 - E2 * s * s;
  const sqrtW = Math.sqrt(w);
  let dLng = lng2 - lng1;
  if (dLng > 180) dLng -= 360;
  else if (dLng < -180) dLng += 360;
  const dx = dLng * RAD * (WGS84_A_M / sqrtW) * Math.cos(midLat * RAD);
  const dy = (lat2 - lat1) * RAD * ((WGS84_A_M * (1 - E2)) / (w * sqrtW));
  return Math.sqrt(dx * dx + dy * dy);
}

/**
 * Geodesic length of the polyline made of points `start` (inclusive) to `end` (exclusive) of a
 * flat `[lng, lat, lng, lat, …]` array. Indices count points, not array slots. O(end − start).
 *
 * @returns length in metres; 0 for fewer than two points
 */
export function lineLengthM(coords: ArrayLike<number>, start: number, end: number): number {
  let lengthM = 0;
  for (let i = start + 1; i < end; i++) {
    lengthM += geodesicM(coords[2 * i - 2], coords[2 * i - 1], coords[2 * i], coords[2 * i + 1]);
  }
  return lengthM;
}

/**
 * Writes the point at `fraction` (0..1) of the geodesic length of polyline points
 * `start`..`end` (exclusive) into `out` as `[lng, lat]`. Within a segment the position is
 * interpolated linearly in lng/lat, the inverse of how {@link SnapIndex} measures `alongM`.
 * O(end − start).
 */
export function linePointAtFraction(
  coords: ArrayLike<number>,
  start: number,
  end: number,
  fraction: number,
  out: number[] = [0, 0],
): number[] {
  const totalM = lineLengthM(coords, start, end);
  const targetM = Math.min(1, Math.max(0, fraction)) * totalM;
  let walkedM = 0;
  for (let i = start + 1; i < end; i++) {
    const segM = geodesicM(coords[2 * i - 2], coords[2 * i - 1], coords[2 * i], coords[2 * i + 1]);
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
 * (0..1, measured by geodesic length), as GeoJSON `[lng, lat]` positions. The cut points are
 * interpolated; the vertices in between are copied. A zero-length piece yields two equal positions.
 * If `fromFraction > toFraction` the piece is returned reversed. O(end − start).
 */
export function lineSliceAtFractions(
  coords: ArrayLike<number>,
  start: number,
  end: number,
  fromFraction: number,
  toFraction: number,
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
    walkedM += geodesicM(coords[2 * i - 2], coords[2 * i - 1], coords[2 * i], coords[2 * i + 1]);
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
  const metresPerDegLat = meridionalRadiusM(centerLat) * RAD;
  const metresPerDegLng = primeVerticalRadiusM(centerLat) * Math.cos(centerLat * RAD) * RAD;
  return {
    centerLng,
    centerLat,
    metresPerDegLng,
    metresPerDegLat,
    toX: (lng) => (lng - centerLng) * metresPerDegLng,
    toY: (lat) => (lat - centerLat) * metresPerDegLat,
    toLng: (x) => centerLng + x / metresPerDegLng,
    toLat: (y) => centerLat + y / metresPerDegLat,
  };
}

/**
 * Hex EWKB (SRID 4326, little-endian) of points and line strings, for COPY text rows: PostGIS
 * reads it without parsing decimal text, and the doubles land bit for bit as given (the same
 * values ST_GeomFromText of JavaScript's shortest round-trip decimals gives).
 */
const POINT_HEADER = '0101000020e6100000';
const LINE_HEADER = '0102000020e6100000';

const scratch = Buffer.alloc(16);

function doublePairHex(x: number, y: number): string {
  scratch.writeDoubleLE(x, 0);
  scratch.writeDoubleLE(y, 8);
  return scratch.toString('hex');
}

export function pointEwkb(lng: number, lat: number): string {
  return POINT_HEADER + doublePairHex(lng, lat);
}

/** A line string of the lng,lat pairs coords[start .. end). */
export function lineEwkb(coords: ArrayLike<number>, start: number, end: number): string {
  const n = (end - start) / 2;
  const b = Buffer.allocUnsafe(4 + n * 16);
  b.writeUInt32LE(n, 0);
  let p = 4;
  for (let k = start; k < end; k += 2) {
    b.writeDoubleLE(coords[k], p);
    b.writeDoubleLE(coords[k + 1], p + 8);
    p += 16;
  }
  return LINE_HEADER + b.toString('hex');
}

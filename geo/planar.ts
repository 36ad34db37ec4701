/**
 * Parameter t ∈ [0, 1] of the point of segment AB nearest to P, in flat x,y coordinates
 * (local metres). A zero-length segment gives 0. O(1).
 */
export function segmentFootT(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax,
    dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/** Distance from P to segment AB in flat x,y coordinates, metres. O(1). */
export function pointSegmentM(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const t = segmentFootT(px, py, ax, ay, bx, by);
  const ex = ax + t * (bx - ax) - px,
    ey = ay + t * (by - ay) - py;
  return Math.sqrt(ex * ex + ey * ey);
}

/** Distance from a point to a flat x,y polyline (or ring), metres. */
export function pointLineM(px: number, py: number, line: Float64Array): number {
  let best = Infinity;
  for (let i = 0; i + 3 < line.length; i += 2)
    best = Math.min(best, pointSegmentM(px, py, line[i], line[i + 1], line[i + 2], line[i + 3]));
  return best;
}

/** Even-odd point-in-polygon over all rings of one polygon. */
export function inPolygon(px: number, py: number, rings: readonly Float64Array[]): boolean {
  let inside = false;
  for (const r of rings) {
    for (let i = 0, j = r.length - 2; i < r.length; j = i, i += 2) {
      const xi = r[i],
        yi = r[i + 1],
        xj = r[j],
        yj = r[j + 1];
      if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/**
 * Segments AB and CD properly cross: they meet at one point interior to both. Touching at an end
 * or running along each other does not count. O(1).
 */
export function properlyCross(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cx: number,
  cy: number,
  dx: number,
  dy: number,
): boolean {
  const o1 = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  const o2 = (bx - ax) * (dy - ay) - (by - ay) * (dx - ax);
  if (!((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0))) return false;
  const o3 = (dx - cx) * (ay - cy) - (dy - cy) * (ax - cx);
  const o4 = (dx - cx) * (by - cy) - (dy - cy) * (bx - cx);
  return (o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0);
}

/** Segments AB and CD meet: they properly cross, or one touches the other (to 1e-9). O(1). */
export function segmentsMeet(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cx: number,
  cy: number,
  dx: number,
  dy: number,
): boolean {
  if (properlyCross(ax, ay, bx, by, cx, cy, dx, dy)) return true;
  const o1 = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  const o2 = (bx - ax) * (dy - ay) - (by - ay) * (dx - ax);
  const o3 = (dx - cx) * (ay - cy) - (dy - cy) * (ax - cx);
  const o4 = (dx - cx) * (by - cy) - (dy - cy) * (bx - cx);
  const eps = 1e-9;
  return (
    (Math.abs(o1) < eps && onSegment(ax, ay, bx, by, cx, cy)) ||
    (Math.abs(o2) < eps && onSegment(ax, ay, bx, by, dx, dy)) ||
    (Math.abs(o3) < eps && onSegment(cx, cy, dx, dy, ax, ay)) ||
    (Math.abs(o4) < eps && onSegment(cx, cy, dx, dy, bx, by))
  );
}

function onSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  return (
    px >= Math.min(ax, bx) - 1e-9 &&
    px <= Math.max(ax, bx) + 1e-9 &&
    py >= Math.min(ay, by) - 1e-9 &&
    py <= Math.max(ay, by) + 1e-9
  );
}

/** Segment AB meets some segment of a flat x,y polyline (see {@link segmentsMeet}). O(points). */
export function legMeetsLine(ax: number, ay: number, bx: number, by: number, line: Float64Array): boolean {
  for (let i = 0; i + 3 < line.length; i += 2)
    if (segmentsMeet(ax, ay, bx, by, line[i], line[i + 1], line[i + 2], line[i + 3])) return true;
  return false;
}

/** Parameter along AB where it properly crosses CD, else null. */
export function segmentParam(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cx: number,
  cy: number,
  dx: number,
  dy: number,
): number | null {
  const rx = bx - ax,
    ry = by - ay,
    sx = dx - cx,
    sy = dy - cy;
  const den = rx * sy - ry * sx;
  if (den === 0) return null;
  const t = ((cx - ax) * sy - (cy - ay) * sx) / den;
  const u = ((cx - ax) * ry - (cy - ay) * rx) / den;
  return t > 0 && t < 1 && u >= 0 && u <= 1 ? t : null;
}

/** Sorts `list` in place and merges overlapping or touching intervals into disjoint ones. O(n log n). */
export function unionIntervals(list: [number, number][]): [number, number][] {
  list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [a, b] of list) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Points every `spacingM` metres along a local-metre polyline, from its first point (its last only when on the spacing). */
export function sampleLocalLine(line: Float64Array, spacingM: number): [number, number][] {
  const out: [number, number][] = [];
  let next = 0,
    walked = 0;
  for (let i = 0; i + 3 < line.length; i += 2) {
    const ax = line[i],
      ay = line[i + 1],
      bx = line[i + 2],
      by = line[i + 3];
    const len = Math.hypot(bx - ax, by - ay);
    for (; next < walked + len; next += spacingM) {
      const t = (next - walked) / len;
      out.push([ax + t * (bx - ax), ay + t * (by - ay)]);
    }
    walked += len;
  }
  return out;
}

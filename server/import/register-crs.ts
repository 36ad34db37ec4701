import type pg from 'pg';
import { createRequire } from 'node:module';
import type gcoordModule from 'gcoord';

/** Coordinate systems a register or boundary file may use. */
export type SourceCrs = 'wgs84' | 'gcj02' | 'bd09';
export const SOURCE_CRS: readonly SourceCrs[] = ['wgs84', 'gcj02', 'bd09'];

/**
 * Rough extent of China (degrees). GCJ-02 and BD-09 are only defined there: outside it the
 * conversion libraries return the input unchanged, so a point outside is a data error, not a
 * location.
 */
export const CHINA_BBOX = { minLng: 73, maxLng: 136, minLat: 3, maxLat: 54 } as const;

// gcoord is CommonJS (`module.exports = {…}`) while its typings declare an ES default export.
const gcoord = createRequire(import.meta.url)('gcoord') as typeof gcoordModule.default;
const GCOORD_CRS = { wgs84: gcoord.WGS84, gcj02: gcoord.GCJ02, bd09: gcoord.BD09 } as const;
// gcoord stops its GCJ-02 inversion at 1e-6° (about 0.1 m); refine to 1e-9° (about 0.1 mm).
const INVERSE_TOLERANCE_DEG = 1e-9;

/** The CRS named by `value`, or an error listing the accepted names. */
export function parseSourceCrs(value: string | undefined): SourceCrs {
  const crs = value?.trim().toLowerCase();
  if (crs && (SOURCE_CRS as readonly string[]).includes(crs)) return crs as SourceCrs;
  throw new Error(
    `the coordinate system must be one of ${SOURCE_CRS.join(', ')} (got ${value === undefined ? 'none' : `"${value}"`})`,
  );
}

/**
 * Convert `[lng, lat]` from `crs` to WGS 84 with gcoord (BD-09 → GCJ-02 → WGS 84). The GCJ-02
 * inverse is iterated until the forward transform reproduces the input within 1e-9°. The input
 * must lie inside {@link CHINA_BBOX} for gcj02/bd09 (see {@link lngLatProblem}).
 */
export function toWgs84(lngLat: readonly [number, number], crs: SourceCrs): [number, number] {
  if (crs === 'wgs84') return [lngLat[0], lngLat[1]];
  const gcj: [number, number] =
    crs === 'bd09'
      ? gcoord.transform<[number, number]>([lngLat[0], lngLat[1]], gcoord.BD09, gcoord.GCJ02)
      : [lngLat[0], lngLat[1]];
  const wgs = gcoord.transform<[number, number]>([gcj[0], gcj[1]], gcoord.GCJ02, gcoord.WGS84);
  for (let k = 0; k < 5; k++) {
    const back = gcoord.transform<[number, number]>([wgs[0], wgs[1]], gcoord.WGS84, gcoord.GCJ02);
    const dLng = back[0] - gcj[0];
    const dLat = back[1] - gcj[1];
    if (Math.abs(dLng) < INVERSE_TOLERANCE_DEG && Math.abs(dLat) < INVERSE_TOLERANCE_DEG) break;
    wgs[0] -= dLng;
    wgs[1] -= dLat;
  }
  return wgs;
}

/** Convert WGS 84 `[lng, lat]` to `crs` (used to write sample files in the CRS a provider would give). */
export function fromWgs84(lngLat: readonly [number, number], crs: SourceCrs): [number, number] {
  if (crs === 'wgs84') return [lngLat[0], lngLat[1]];
  return gcoord.transform<[number, number]>([lngLat[0], lngLat[1]], gcoord.WGS84, GCOORD_CRS[crs]);
}

/** Why a coordinate pair cannot be used in `crs`, as a {@link RowProblem} field/reason, or null. */
export function lngLatProblem(
  lng: number,
  lat: number,
  crs: SourceCrs,
): { field: 'lng' | 'lat'; reason: string } | null {
  if (lng < -180 || lng > 180) return { field: 'lng', reason: 'is outside -180…180' };
  if (lat < -90 || lat > 90) return { field: 'lat', reason: 'is outside -90…90' };
  if (crs !== 'wgs84') {
    const b = CHINA_BBOX;
    const name = crs === 'gcj02' ? 'GCJ-02' : 'BD-09';
    if (lng < b.minLng || lng > b.maxLng)
      return { field: 'lng', reason: `is outside China (${b.minLng}–${b.maxLng} E), where ${name} is not defined` };
    if (lat < b.minLat || lat > b.maxLat)
      return { field: 'lat', reason: `is outside China (${b.minLat}–${b.maxLat} N), where ${name} is not defined` };
  }
  return null;
}

/**
 * The coordinate system of a register: a longitude/latitude system converted with gcoord
 * (WGS 84 as is, GCJ-02, BD-09), or an EPSG code / PROJ definition converted with PostGIS
 * ST_Transform (CGCS2000 EPSG:4490, its Gauss-Krüger zones, any other EPSG code, a .prj).
 */
export type RegisterCrs =
  | { kind: 'gcoord'; crs: SourceCrs; label: string }
  | { kind: 'srs'; srid: number | null; proj4: string | null; label: string; geographic?: boolean };

export const CRS_NAMES = [...SOURCE_CRS, 'cgcs2000', 'EPSG:<code>'] as const;

/** `--crs wgs84|gcj02|bd09|cgcs2000|EPSG:<code>`; throws listing the accepted names. */
export function parseRegisterCrs(value: string): RegisterCrs {
  const v = value.trim().toLowerCase();
  if ((SOURCE_CRS as readonly string[]).includes(v)) return { kind: 'gcoord', crs: v as SourceCrs, label: v };
  if (v === 'cgcs2000') return { kind: 'srs', srid: 4490, proj4: null, label: 'cgcs2000 (EPSG:4490)' };
  const epsg = /^epsg:(\d{4,6})$/.exec(v);
  if (epsg) {
    const srid = Number(epsg[1]);
    // EPSG:4326 is WGS 84 longitude/latitude: no transformation at all.
    return srid === 4326
      ? { kind: 'gcoord', crs: 'wgs84', label: 'EPSG:4326' }
      : { kind: 'srs', srid, proj4: null, label: `EPSG:${srid}` };
  }
  throw new Error(`the coordinate system must be one of ${CRS_NAMES.join(', ')} (got "${value}")`);
}

/** The storage name of a CRS in datasets.crs. */
export function crsName(crs: RegisterCrs): string {
  if (crs.kind === 'gcoord') return crs.crs;
  return crs.srid !== null ? (crs.srid === 4490 ? 'cgcs2000' : `EPSG:${crs.srid}`) : `proj4:${crs.proj4}`;
}

/** Fill in whether an EPSG/PROJ system is geographic (degrees); fails on a code PostGIS does not know. */
export async function resolveRegisterCrs(db: pg.Pool | pg.ClientBase, crs: RegisterCrs): Promise<RegisterCrs> {
  if (crs.kind === 'gcoord') return crs;
  let proj4 = crs.proj4;
  if (crs.srid !== null) {
    const { rows } = await db.query<{ proj4text: string }>(`SELECT proj4text FROM spatial_ref_sys WHERE srid = $1`, [
      crs.srid,
    ]);
    if (rows.length === 0) throw new Error(`${crs.label} is not a coordinate system PostGIS knows (spatial_ref_sys)`);
    proj4 = rows[0].proj4text;
  }
  return { ...crs, geographic: /\+proj=longlat\b/.test(proj4 ?? '') };
}

/**
 * CGCS2000 3-degree Gauss-Krüger zones (EPSG registry): EPSG:4513–4533 are zones 25–45 with the
 * zone number prefixed to the easting (false easting zone·10⁶ + 500 000 m); EPSG:4534–4554 are
 * the same zones named by central meridian (75°E–135°E, CM = 3° × zone) without the prefix
 * (false easting 500 000 m). Central Chengdu (104°E) is zone 35: EPSG:4523 or EPSG:4544.
 */
export function gaussKrugerZone(srid: number | null): { zone: number; prefixed: boolean } | null {
  if (srid === null) return null;
  if (srid >= 4513 && srid <= 4533) return { zone: srid - 4513 + 25, prefixed: true };
  if (srid >= 4534 && srid <= 4554) return { zone: srid - 4534 + 25, prefixed: false };
  return null;
}
const zonePrefixedSrid = (zone: number) => 4513 + zone - 25;
const zoneCmSrid = (zone: number) => 4534 + zone - 25;

const inChina = (lng: number, lat: number) =>
  lng >= CHINA_BBOX.minLng && lng <= CHINA_BBOX.maxLng && lat >= CHINA_BBOX.minLat && lat <= CHINA_BBOX.maxLat;

/**
 * Why the position (x, y) as written in the file cannot be in `crs`, naming the axis at fault, or
 * null. Catches the guessable mistakes: projected metres given as degrees (and which Gauss-Krüger
 * zone a prefixed easting names), degrees given to a projected system, swapped lng/lat, a
 * Gauss-Krüger easting with or without the zone prefix under the other variant, and GCJ-02/BD-09
 * outside China.
 */
export function positionProblem(x: number, y: number, crs: RegisterCrs): { axis: 'x' | 'y'; reason: string } | null {
  const geographic = crs.kind === 'gcoord' || crs.geographic === true;
  if (geographic) {
    if (Math.abs(x) > 180 || Math.abs(y) > 90) {
      if (Math.abs(x) >= 1000 || Math.abs(y) >= 1000) {
        const zone = Math.floor(x / 1e6);
        const hint =
          zone >= 25 && zone <= 45
            ? `the easting carries Gauss-Krüger zone ${zone}: give --crs EPSG:${zonePrefixedSrid(zone)} (CGCS2000 zone ${zone})`
            : 'give --crs EPSG:<code> of its projection (CGCS2000 3-degree Gauss-Krüger without zone prefix: EPSG:4534–4554, e.g. EPSG:4544 for central meridian 105°E)';
        return {
          axis: Math.abs(x) > 180 ? 'x' : 'y',
          reason: `looks like projected metres, not degrees (${crs.label}): ${hint}`,
        };
      }
      if (inChina(y, x))
        return {
          axis: 'x',
          reason: `looks like a latitude (and the latitude ${y} like a longitude): are the lng and lat columns swapped?`,
        };
      return Math.abs(x) > 180
        ? { axis: 'x', reason: 'is outside -180…180' }
        : { axis: 'y', reason: 'is outside -90…90' };
    }
    if (!inChina(x, y) && inChina(y, x))
      return {
        axis: 'x',
        reason: `looks like a latitude (and the latitude ${y} like a longitude): are the lng and lat columns swapped?`,
      };
    if (crs.kind === 'gcoord' && crs.crs !== 'wgs84') {
      const b = CHINA_BBOX;
      const name = crs.crs === 'gcj02' ? 'GCJ-02' : 'BD-09';
      if (x < b.minLng || x > b.maxLng)
        return { axis: 'x', reason: `is outside China (${b.minLng}–${b.maxLng} E), where ${name} is not defined` };
      if (y < b.minLat || y > b.maxLat)
        return { axis: 'y', reason: `is outside China (${b.minLat}–${b.maxLat} N), where ${name} is not defined` };
    }
    return null;
  }
  if (Math.abs(x) <= 180 && Math.abs(y) <= 90) {
    return {
      axis: 'x',
      reason: `looks like degrees, but ${crs.label} is projected (metres): give --crs wgs84, gcj02, bd09 or cgcs2000`,
    };
  }
  const gk = crs.kind === 'srs' ? gaussKrugerZone(crs.srid) : null;
  if (gk) {
    const prefix = Math.floor(x / 1e6);
    if (gk.prefixed && prefix !== gk.zone) {
      return {
        axis: 'x',
        reason:
          prefix >= 25 && prefix <= 45
            ? `carries Gauss-Krüger zone ${prefix}, not ${gk.zone} (${crs.label}): give --crs EPSG:${zonePrefixedSrid(prefix)}`
            : `has no zone prefix, but ${crs.label} is zone ${gk.zone} with the zone number in the easting: give --crs EPSG:${zoneCmSrid(gk.zone)}`,
      };
    }
    if (!gk.prefixed && prefix >= 1) {
      return {
        axis: 'x',
        reason:
          prefix >= 25 && prefix <= 45
            ? `carries the zone number ${prefix} in front, but ${crs.label} has none: give --crs EPSG:${zonePrefixedSrid(prefix)} (zone ${prefix} with the prefix)`
            : `is too large for a Gauss-Krüger easting (${crs.label})`,
      };
    }
  }
  return null;
}

type Position = number[];
/** Apply `f` to every position of a GeoJSON geometry's coordinates (any nesting). */
export function mapPositions(coordinates: unknown, f: (p: Position) => Position): unknown {
  if (Array.isArray(coordinates) && typeof coordinates[0] === 'number') return f(coordinates as Position);
  return (coordinates as unknown[]).map((c) => mapPositions(c, f));
}

/** Every position of a GeoJSON geometry's coordinates, flattened. */
export function positions(coordinates: unknown, out: Position[] = []): Position[] {
  if (Array.isArray(coordinates) && typeof coordinates[0] === 'number') out.push(coordinates as Position);
  else if (Array.isArray(coordinates)) for (const c of coordinates) positions(c, out);
  return out;
}

export interface Geometry {
  type: string;
  coordinates: unknown;
}

/**
 * Convert geometries from `crs` to WGS 84: gcoord for GCJ-02/BD-09 (see toWgs84), PostGIS
 * ST_Transform for EPSG codes and PROJ definitions (one query for all). Positions must have
 * passed {@link positionProblem}. O(positions).
 */
export async function geometriesToWgs84(
  db: pg.Pool | pg.ClientBase,
  geometries: readonly Geometry[],
  crs: RegisterCrs,
): Promise<Geometry[]> {
  if (crs.kind === 'gcoord') {
    return geometries.map((g) => ({
      type: g.type,
      coordinates: mapPositions(g.coordinates, (p) => toWgs84([p[0], p[1]], crs.crs)),
    }));
  }
  if (geometries.length === 0) return [];
  const texts = geometries.map((g) => JSON.stringify({ type: g.type, coordinates: g.coordinates }));
  const { rows } =
    crs.srid !== null
      ? await db.query<{ g: string }>(
          `SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(g), $2), 4326), 9) AS g FROM unnest($1::text[]) WITH ORDINALITY AS u(g, i) ORDER BY i`,
          [texts, crs.srid],
        )
      : await db.query<{ g: string }>(
          `SELECT ST_AsGeoJSON(ST_Transform(ST_GeomFromGeoJSON(g), $2::text, 4326), 9) AS g FROM unnest($1::text[]) WITH ORDINALITY AS u(g, i) ORDER BY i`,
          [texts, crs.proj4],
        );
  return rows.map((r) => JSON.parse(r.g) as Geometry);
}

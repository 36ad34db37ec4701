import type pg from 'pg';
import { CHINA_BBOX, toWgs84, type SourceCrs } from './import-facilities.ts';

// Not import-facilities' SOURCE_CRS: the two modules import each other, so no top-level use.
const GCOORD_NAMES: readonly SourceCrs[] = ['wgs84', 'gcj02', 'bd09'];

/**
 * The coordinate system of a register: a longitude/latitude system converted with gcoord
 * (WGS 84 as is, GCJ-02, BD-09), or an EPSG code / PROJ definition converted with PostGIS
 * ST_Transform (CGCS2000 EPSG:4490, its Gauss-Krüger zones, any other EPSG code, a .prj).
 */
export type RegisterCrs =
  | { kind: 'gcoord'; crs: SourceCrs; label: string }
  | { kind: 'srs'; srid: number | null; proj4: string | null; label: string; geographic?: boolean };

export const CRS_NAMES = [...GCOORD_NAMES, 'cgcs2000', 'EPSG:<code>'] as const;

/** `--crs wgs84|gcj02|bd09|cgcs2000|EPSG:<code>`; throws listing the accepted names. */
export function parseRegisterCrs(value: string): RegisterCrs {
  const v = value.trim().toLowerCase();
  if ((GCOORD_NAMES as readonly string[]).includes(v)) return { kind: 'gcoord', crs: v as SourceCrs, label: v };
  if (v === 'cgcs2000') return { kind: 'srs', srid: 4490, proj4: null, label: 'cgcs2000 (EPSG:4490)' };
  const epsg = /^epsg:(\d{4,6})$/.exec(v);
  if (epsg) {
    const srid = Number(epsg[1]);
    // EPSG:4326 is WGS 84 longitude/latitude: no transformation at all.
    return srid === 4326 ? { kind: 'gcoord', crs: 'wgs84', label: 'EPSG:4326' } : { kind: 'srs', srid, proj4: null, label: `EPSG:${srid}` };
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
    const { rows } = await db.query<{ proj4text: string }>(`SELECT proj4text FROM spatial_ref_sys WHERE srid = $1`, [crs.srid]);
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

const inChina = (lng: number, lat: number) => lng >= CHINA_BBOX.minLng && lng <= CHINA_BBOX.maxLng && lat >= CHINA_BBOX.minLat && lat <= CHINA_BBOX.maxLat;

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
        const hint = zone >= 25 && zone <= 45
          ? `the easting carries Gauss-Krüger zone ${zone}: give --crs EPSG:${zonePrefixedSrid(zone)} (CGCS2000 zone ${zone})`
          : 'give --crs EPSG:<code> of its projection (CGCS2000 3-degree Gauss-Krüger without zone prefix: EPSG:4534–4554, e.g. EPSG:4544 for central meridian 105°E)';
        return { axis: Math.abs(x) > 180 ? 'x' : 'y', reason: `looks like projected metres, not degrees (${crs.label}): ${hint}` };
      }
      if (inChina(y, x)) return { axis: 'x', reason: `looks like a latitude (and the latitude ${y} like a longitude): are the lng and lat columns swapped?` };
      return Math.abs(x) > 180 ? { axis: 'x', reason: 'is outside -180…180' } : { axis: 'y', reason: 'is outside -90…90' };
    }
    if (!inChina(x, y) && inChina(y, x)) return { axis: 'x', reason: `looks like a latitude (and the latitude ${y} like a longitude): are the lng and lat columns swapped?` };
    if (crs.kind === 'gcoord' && crs.crs !== 'wgs84') {
      const b = CHINA_BBOX;
      const name = crs.crs === 'gcj02' ? 'GCJ-02' : 'BD-09';
      if (x < b.minLng || x > b.maxLng) return { axis: 'x', reason: `is outside China (${b.minLng}–${b.maxLng} E), where ${name} is not defined` };
      if (y < b.minLat || y > b.maxLat) return { axis: 'y', reason: `is outside China (${b.minLat}–${b.maxLat} N), where ${name} is not defined` };
    }
    return null;
  }
  if (Math.abs(x) <= 180 && Math.abs(y) <= 90) {
    return { axis: 'x', reason: `looks like degrees, but ${crs.label} is projected (metres): give --crs wgs84, gcj02, bd09 or cgcs2000` };
  }
  const gk = crs.kind === 'srs' ? gaussKrugerZone(crs.srid) : null;
  if (gk) {
    const prefix = Math.floor(x / 1e6);
    if (gk.prefixed && prefix !== gk.zone) {
      return { axis: 'x', reason: prefix >= 25 && prefix <= 45
        ? `carries Gauss-Krüger zone ${prefix}, not ${gk.zone} (${crs.label}): give --crs EPSG:${zonePrefixedSrid(prefix)}`
        : `has no zone prefix, but ${crs.label} is zone ${gk.zone} with the zone number in the easting: give --crs EPSG:${zoneCmSrid(gk.zone)}` };
    }
    if (!gk.prefixed && prefix >= 1) {
      return { axis: 'x', reason: prefix >= 25 && prefix <= 45
        ? `carries the zone number ${prefix} in front, but ${crs.label} has none: give --crs EPSG:${zonePrefixedSrid(prefix)} (zone ${prefix} with the prefix)`
        : `is too large for a Gauss-Krüger easting (${crs.label})` };
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
export async function geometriesToWgs84(db: pg.Pool | pg.ClientBase, geometries: readonly Geometry[], crs: RegisterCrs): Promise<Geometry[]> {
  if (crs.kind === 'gcoord') {
    return geometries.map((g) => ({ type: g.type, coordinates: mapPositions(g.coordinates, (p) => toWgs84([p[0], p[1]], crs.crs)) }));
  }
  if (geometries.length === 0) return [];
  const texts = geometries.map((g) => JSON.stringify({ type: g.type, coordinates: g.coordinates }));
  const { rows } = crs.srid !== null
    ? await db.query<{ g: string }>(
      `SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(g), $2), 4326), 9) AS g FROM unnest($1::text[]) WITH ORDINALITY AS u(g, i) ORDER BY i`,
      [texts, crs.srid])
    : await db.query<{ g: string }>(
      `SELECT ST_AsGeoJSON(ST_Transform(ST_GeomFromGeoJSON(g), $2::text, 4326), 9) AS g FROM unnest($1::text[]) WITH ORDINALITY AS u(g, i) ORDER BY i`,
      [texts, crs.proj4]);
  return rows.map((r) => JSON.parse(r.g) as Geometry);
}

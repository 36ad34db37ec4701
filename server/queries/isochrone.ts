import type pg from 'pg';
import { queryWithin } from '../db/query-within.ts';

/**
 * The isochrone polygon: reached lines (simplified to 1 m) buffered piece by piece by
 * ISOCHRONE_BUFFER_M in the local UTM zone and dissolved with one cascaded union by PostGIS
 * (GEOS): about 17 ms for a 1000 m isochrone in central Chengdu, three times faster than
 * buffering the MultiLineString whole, and far faster than Turf's buffer.
 */
const ISOCHRONE_POLYGON_SQL = `
  WITH l AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g),
       z AS (SELECT CASE WHEN ST_Y(ST_Centroid(g)) >= 0 THEN 32600 ELSE 32700 END + floor((ST_X(ST_Centroid(g)) + 180) / 6)::int + 1 AS srid FROM l)
  SELECT ST_AsGeoJSON(ST_Transform(ST_Union(ARRAY(
           SELECT ST_Buffer(d.geom, $2, 'quad_segs=2') FROM ST_Dump(ST_Simplify(ST_Transform(l.g, z.srid), 1)) d)), 4326), 7) AS geometry
  FROM l, z`;

/**
 * The isochrone polygon of the reached lines (a MultiLineString as GeoJSON text), buffered by
 * `bufferM`: GeoJSON text, 7 decimals, passed through unparsed (the route writes it into its body
 * as it is). Runs under a statement timeout of `timeoutMs` (503 `work_timed_out` past it).
 */
export async function isochronePolygon(
  db: pg.Pool,
  linesJson: string,
  bufferM: number,
  timeoutMs: number,
): Promise<string> {
  const { rows } = await queryWithin<{ geometry: string }>(
    db,
    timeoutMs,
    'the isochrone polygon',
    ISOCHRONE_POLYGON_SQL,
    [linesJson, bufferM],
  );
  return rows[0].geometry;
}

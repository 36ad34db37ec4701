import type { FastifyInstance } from 'fastify';
import type { Feature, MultiLineString } from 'geojson';
import { ISOCHRONE_BUFFER_M } from '../../geo/isochrone.ts';
import { snapPoint, type EdgeSnap } from '../../geo/snap.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { featureCollectionSchema } from '../schemas.ts';
import { snapRequestPoint } from './proximity.ts';

/** Largest isochrone distance served: 3000 m, three 15-minute life circles; larger ones are city-scale work, not a click. */
export const MAX_ISOCHRONE_M = 3000;

const query = {
  type: 'object',
  required: ['distance_m'],
  additionalProperties: false,
  properties: {
    lng: { type: 'number', minimum: -180, maximum: 180 },
    lat: { type: 'number', minimum: -90, maximum: 90 },
    facility_id: { type: 'integer', minimum: 1, description: 'walk out from every access point of this facility instead of a point' },
    distance_m: { type: 'number', exclusiveMinimum: 0, maximum: MAX_ISOCHRONE_M },
  },
} as const;


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
           SELECT ST_Buffer(d.geom, $2, 'quad_segs=2') FROM ST_Dump(ST_Simplify(ST_Transform(l.g, z.srid), 1)) d)), 4326), 7)::json AS geometry
  FROM l, z`;

/** GET /api/isochrone: the network reachable on foot within a distance, as lines and a polygon. */
export async function isochroneRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { lng?: number; lat?: number; facility_id?: number; distance_m: number } }>(
    '/api/isochrone',
    {
      schema: {
        tags: ['analysis'],
        summary: 'Walking isochrone from a point (lng, lat) or from a facility (facility_id)',
        description: `Reached edges cut at distance_m (≤ ${MAX_ISOCHRONE_M} m), and a polygon: the reached lines buffered by ${ISOCHRONE_BUFFER_M} m and dissolved.`,
        querystring: query,
        response: { 200: featureCollectionSchema, 400: errorSchema, 404: errorSchema, 422: errorSchema, 429: errorSchema, 503: errorSchema },
      },
      config: { rateLimit: { max: 600, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const { lng, lat, facility_id, distance_m } = req.query;
      if ((facility_id === undefined) === (lng === undefined || lat === undefined)) {
        throw new ApiError('invalid_parameter', 'give either lng and lat, or facility_id');
      }
      const engine = await app.engine.current();
      let snaps: EdgeSnap[];
      if (facility_id !== undefined) {
        const f = engine.net.facilities.find((x) => x.id === facility_id);
        if (!f) throw new ApiError('not_found', `no facility ${facility_id} in the loaded dataset`);
        snaps = [];
        for (let k = 0; k < f.accessLng.length; k++) {
          const s = snapPoint(engine.net.snapIndex, f.accessLng[k], f.accessLat[k], { edgeFilter: (e) => engine.net.edgeIsPrivate[e] === 0 });
          if (!s.unreachable) snaps.push({ ...s });
        }
        if (!snaps.length) throw new ApiError('not_snappable', `facility ${facility_id} has no access point within 200 m of a walkable street`);
      } else snaps = [snapRequestPoint(engine, lng!, lat!)];
      // the search and the cutting of reached edges run on the worker pool
      const iso = await app.heavy.run<{ lines: Feature<MultiLineString>; reachedLengthM: number; pieces: number }>(req, reply, engine, {
        kind: 'isochrone', snaps, distanceM: distance_m,
      });
      const features: object[] = [];
      if (iso.pieces) {
        const { rows } = await app.pg.query<{ geometry: object }>(ISOCHRONE_POLYGON_SQL, [JSON.stringify(iso.lines.geometry), ISOCHRONE_BUFFER_M]);
        features.push({ type: 'Feature', geometry: rows[0].geometry, properties: { kind: 'polygon', distance_m, buffer_m: ISOCHRONE_BUFFER_M } });
      }
      features.push({ ...iso.lines, properties: { kind: 'lines', distance_m, reached_length_m: Math.round(iso.reachedLengthM * 100) / 100 } });
      return {
        type: 'FeatureCollection',
        properties: {
          ...(facility_id !== undefined ? { facility_id, access_points: snaps.length } : { lng, lat, snap_distance_m: Math.round(snaps[0].accessM * 100) / 100 }),
          distance_m,
          dataset_id: engine.datasetId,
        },
        features,
      };
    },
  );
}

import type { FastifyInstance } from 'fastify';
import type { Feature, MultiLineString } from 'geojson';
import { ISOCHRONE_BUFFER_M } from '../../geo/isochrone.ts';
import { isochroneQuery, isochroneResponse, type IsochroneQuery } from '../../api/isochrone.ts';
import { MAX_ISOCHRONE_M } from '../../api/limits.ts';
import { snapPoint, type EdgeSnap } from '../../geo/snap.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { snapRequestPoint } from '../http/request.ts';
import { isochronePolygon } from '../queries/isochrone.ts';

/** GET /api/isochrone: the network reachable on foot within a distance, as lines and a polygon. */
export async function isochroneRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: IsochroneQuery }>(
    '/api/isochrone',
    {
      schema: {
        tags: ['analysis'],
        summary: 'Walking isochrone from a point (lng, lat) or from a facility (facility_id)',
        description: `Reached edges cut at distance_m (≤ ${MAX_ISOCHRONE_M} m), and a polygon: the reached lines buffered by ${ISOCHRONE_BUFFER_M} m and dissolved.`,
        querystring: isochroneQuery,
        response: { 200: isochroneResponse, 400: errorSchema, 404: errorSchema, 422: errorSchema, 429: errorSchema, 503: errorSchema },
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
        const geometry = await isochronePolygon(app.pg, iso.lines.geometry, ISOCHRONE_BUFFER_M);
        features.push({ type: 'Feature', geometry, properties: { kind: 'polygon', distance_m, buffer_m: ISOCHRONE_BUFFER_M } });
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

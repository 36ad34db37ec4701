import type { FastifyInstance } from 'fastify';
import { ISOCHRONE_BUFFER_M } from '../../geo/isochrone.ts';
import {
  bandsQuerySchema,
  bandsResponseSchema,
  DEFAULT_BAND_LIMITS_M,
  isochroneQuery,
  isochroneResponse,
  type IsochroneQuery,
} from '../../api/isochrone.ts';
import { MAX_ISOCHRONE_M, WALK_SPEED_M_PER_MIN } from '../../api/limits.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { sourceSnaps, requestedDataset } from '../http/request.ts';
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
        response: {
          200: isochroneResponse,
          400: errorSchema,
          404: errorSchema,
          422: errorSchema,
          429: errorSchema,
          503: errorSchema,
        },
      },
      config: { rateLimit: { max: 600, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const { lng, lat, facility_id, distance_m } = req.query;
      const engine = await app.engine.current(requestedDataset(req));
      const snaps = sourceSnaps(engine, req.query);
      // the search and the cutting of reached edges run on the worker pool, which also serialises
      // the lines (hundreds of kB at 3000 m); the polygon comes back from PostGIS as text, so the
      // event loop joins strings and parses no geometry
      const iso = await app.heavy.run<{ geometryJson: string; featureJson: string; pieces: number }>(
        req,
        reply,
        engine,
        {
          kind: 'isochrone',
          snaps,
          distanceM: distance_m,
          serialise: true,
        },
      );
      const properties = {
        ...(facility_id !== undefined
          ? { facility_id, access_points: snaps.length }
          : { lng, lat, snap_distance_m: Math.round(snaps[0].accessM * 100) / 100 }),
        distance_m,
        dataset_id: engine.datasetId,
      };
      const features: string[] = [];
      if (iso.pieces) {
        const geometry = await isochronePolygon(
          app.pgHeavy,
          iso.geometryJson,
          ISOCHRONE_BUFFER_M,
          app.heavy.limits.sqlTimeLimitMs,
        );
        features.push(
          `{"type":"Feature","geometry":${geometry},"properties":${JSON.stringify({ kind: 'polygon', distance_m, buffer_m: ISOCHRONE_BUFFER_M })}}`,
        );
      }
      features.push(iso.featureJson);
      return (
        reply
          .type('application/json; charset=utf-8')
          // members in the order fastify's serialiser gives this route's schema (the bodies are the same bytes)
          .send(
            `{"type":"FeatureCollection","features":[${features.join(',')}],"properties":${JSON.stringify(properties)}}`,
          )
      );
    },
  );
}

// ---- GET /api/isochrone/bands: route ---------------------------------------------------------

const roundCoords = (c: unknown): unknown =>
  typeof c === 'number' ? Math.round(c * 1e6) / 1e6 : Array.isArray(c) ? c.map(roundCoords) : c;

/** GET /api/isochrone/bands: nested walking-distance areas and the residents in each. */
export async function isochroneBandRoutes(app: FastifyInstance): Promise<void> {
  app.get<{
    Querystring: { lng?: number; lat?: number; facility_id?: number; limits_m?: string; include?: 'origins' };
  }>(
    '/api/isochrone/bands',
    {
      schema: {
        tags: ['analysis'],
        summary:
          'Life-circle bands (default 300 / 500 / 1000 m) from a point or a facility, with the residents inside each',
        description:
          'One polygon per limit, largest first, drawn from a walking-distance surface: a grid point takes the walk to a reached street plus the straight walk from there (free within frontage_m, at most off_street_max_m beyond). Residents are counted by their own walk (origin access leg included), not by the polygon. Runs on the worker pool.',
        querystring: bandsQuerySchema,
        response: {
          200: bandsResponseSchema,
          400: errorSchema,
          404: errorSchema,
          422: errorSchema,
          429: errorSchema,
          503: errorSchema,
        },
      },
      config: { rateLimit: { max: 300, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const limits =
        req.query.limits_m === undefined
          ? [...DEFAULT_BAND_LIMITS_M]
          : req.query.limits_m
              .split(',')
              .map(Number)
              .sort((a, b) => a - b);
      for (const [i, l] of limits.entries()) {
        if (!(l > 0 && l <= MAX_ISOCHRONE_M))
          throw new ApiError('invalid_parameter', `limits_m: ${l} is not in (0, ${MAX_ISOCHRONE_M}] m`);
        if (i > 0 && limits[i - 1] === l) throw new ApiError('invalid_parameter', `limits_m: ${l} is given twice`);
      }
      const engine = await app.engine.current(requestedDataset(req));
      const snaps = sourceSnaps(engine, req.query);
      const out = await app.heavy.run<{
        cell_m: number;
        frontage_m: number;
        off_street_max_m: number;
        reached_length_m: number;
        bands: { limit_m: number; residents: number; origins: number; polygon: { geometry: unknown } | null }[];
        origins?: [number, number][];
      }>(req, reply, engine, {
        kind: 'isochrone-bands',
        snaps,
        limitsM: limits,
        includeOrigins: req.query.include === 'origins',
      });
      return {
        type: 'FeatureCollection',
        properties: {
          ...(req.query.facility_id !== undefined
            ? { facility_id: req.query.facility_id, access_points: snaps.length }
            : { lng: req.query.lng, lat: req.query.lat, snap_distance_m: Math.round(snaps[0].accessM * 100) / 100 }),
          method: 'walking-distance grid, contoured (marching squares)',
          cell_m: out.cell_m,
          frontage_m: out.frontage_m,
          off_street_max_m: out.off_street_max_m,
          reached_length_m: out.reached_length_m,
          dataset_id: engine.datasetId,
          ...(out.origins ? { origins: out.origins } : {}),
        },
        features: [...out.bands].reverse().map((b) => ({
          type: 'Feature',
          geometry: b.polygon ? roundCoords(b.polygon.geometry) : null,
          properties: {
            limit_m: b.limit_m,
            walk_minutes: Math.round((b.limit_m / WALK_SPEED_M_PER_MIN) * 10) / 10,
            residents: b.residents,
            origins: b.origins,
          },
        })),
      };
    },
  );
}

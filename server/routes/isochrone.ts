import type { FastifyInstance } from 'fastify';
import type { Feature, MultiLineString } from 'geojson';
import { ISOCHRONE_BUFFER_M } from '../../geo/isochrone.ts';
import { snapPoint, type EdgeSnap } from '../../geo/snap.ts';
import { ApiError, errorSchema } from '../errors.ts';
import { featureCollectionSchema } from '../schemas.ts';
import { snapRequestPoint, WALK_SPEED_M_PER_MIN } from './proximity.ts';

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

type LoadedEngine = Awaited<ReturnType<FastifyInstance['engine']['current']>>;

/** Where a walk starts: the snapped point, or every access point of the facility on a public street. */
function sourceSnaps(engine: LoadedEngine, q: { lng?: number; lat?: number; facility_id?: number }): EdgeSnap[] {
  const { lng, lat, facility_id } = q;
  if ((facility_id === undefined) === (lng === undefined || lat === undefined)) {
    throw new ApiError('invalid_parameter', 'give either lng and lat, or facility_id');
  }
  if (facility_id === undefined) return [snapRequestPoint(engine, lng!, lat!)];
  const f = engine.net.facilities.find((x) => x.id === facility_id);
  if (!f) throw new ApiError('not_found', `no facility ${facility_id} in the loaded dataset`);
  const snaps: EdgeSnap[] = [];
  for (let k = 0; k < f.accessLng.length; k++) {
    const s = snapPoint(engine.net.snapIndex, f.accessLng[k], f.accessLat[k], { edgeFilter: (e) => engine.net.edgeIsPrivate[e] === 0 });
    if (!s.unreachable) snaps.push({ ...s });
  }
  if (!snaps.length) throw new ApiError('not_snappable', `facility ${facility_id} has no access point within 200 m of a walkable street`);
  return snaps;
}

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
      const engine = await app.engine.current();
      const snaps = sourceSnaps(engine, req.query);
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

// ---- GET /api/isochrone/bands: schemas (contract block) -------------------------------------

/**
 * The life-circle bands (GB 50180-2018 table 3.0.4: 5-, 10- and 15-minute life circles, 300 / 500 /
 * 1000 m), the default of GET /api/isochrone/bands.
 */
export const DEFAULT_BAND_LIMITS_M = [300, 500, 1000] as const;

/** At most this many bands in one request. */
export const MAX_BANDS = 5;

export const bandsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    lng: { type: 'number', minimum: -180, maximum: 180, description: 'longitude, WGS 84 degrees (east positive); with lat', examples: [104.0585] },
    lat: { type: 'number', minimum: -90, maximum: 90, description: 'latitude, WGS 84 degrees (north positive); with lng', examples: [30.6598] },
    facility_id: { type: 'integer', minimum: 1, description: 'walk out from every access point of this facility instead of a point' },
    limits_m: {
      type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(,[0-9]+(\\.[0-9]+)?){0,4}$',
      description: `up to ${MAX_BANDS} band limits in metres, comma-separated, each > 0 and ≤ ${MAX_ISOCHRONE_M}; default ${DEFAULT_BAND_LIMITS_M.join(',')}`,
      examples: ['300,500,1000'],
    },
    include: { type: 'string', enum: ['origins'], description: 'origins: also list [origin id, walking distance m] of every origin within the largest band' },
  },
} as const;

const bandFeatureSchema = {
  type: 'object',
  required: ['type', 'geometry', 'properties'],
  properties: {
    type: { const: 'Feature' },
    geometry: { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: true }] },
    properties: {
      type: 'object',
      required: ['limit_m', 'walk_minutes', 'residents', 'origins'],
      properties: {
        limit_m: { type: 'number' },
        walk_minutes: { type: 'number', description: 'limit_m at 4 km/h' },
        residents: { type: 'number', description: 'residents (population of the origins) whose walk, access legs included, is within limit_m' },
        origins: { type: 'integer' },
      },
    },
  },
} as const;

export const bandsResponseSchema = {
  type: 'object',
  required: ['type', 'properties', 'features'],
  properties: {
    type: { const: 'FeatureCollection' },
    properties: {
      type: 'object',
      additionalProperties: true,
      properties: {
        method: { type: 'string' },
        cell_m: { type: 'number' },
        frontage_m: { type: 'number' },
        off_street_max_m: { type: 'number' },
        reached_length_m: { type: 'number' },
        dataset_id: { type: 'integer' },
        population_estimated: { type: 'boolean' },
        origins: { type: 'array', items: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } },
      },
    },
    features: { type: 'array', items: bandFeatureSchema },
  },
} as const;

// ---- GET /api/isochrone/bands: route ---------------------------------------------------------

const roundCoords = (c: unknown): unknown => (typeof c === 'number' ? Math.round(c * 1e6) / 1e6 : Array.isArray(c) ? c.map(roundCoords) : c);

/** GET /api/isochrone/bands: nested walking-distance areas and the residents in each. */
export async function isochroneBandRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { lng?: number; lat?: number; facility_id?: number; limits_m?: string; include?: 'origins' } }>(
    '/api/isochrone/bands',
    {
      schema: {
        tags: ['analysis'],
        summary: 'Life-circle bands (default 300 / 500 / 1000 m) from a point or a facility, with the residents inside each',
        description: 'One polygon per limit, largest first, drawn from a walking-distance surface: a grid point takes the walk to a reached street plus the straight walk from there (free within frontage_m, at most off_street_max_m beyond). Residents are counted by their own walk (origin access leg included), not by the polygon. Runs on the worker pool.',
        querystring: bandsQuerySchema,
        response: { 200: bandsResponseSchema, 400: errorSchema, 404: errorSchema, 422: errorSchema, 429: errorSchema, 503: errorSchema },
      },
      config: { rateLimit: { max: 300, timeWindow: '1 minute' } },
    },
    async (req, reply) => {
      const limits = req.query.limits_m === undefined ? [...DEFAULT_BAND_LIMITS_M] : req.query.limits_m.split(',').map(Number).sort((a, b) => a - b);
      for (const [i, l] of limits.entries()) {
        if (!(l > 0 && l <= MAX_ISOCHRONE_M)) throw new ApiError('invalid_parameter', `limits_m: ${l} is not in (0, ${MAX_ISOCHRONE_M}] m`);
        if (i > 0 && limits[i - 1] === l) throw new ApiError('invalid_parameter', `limits_m: ${l} is given twice`);
      }
      const engine = await app.engine.current();
      const snaps = sourceSnaps(engine, req.query);
      const out = await app.heavy.run<{
        cell_m: number; frontage_m: number; off_street_max_m: number; reached_length_m: number;
        bands: { limit_m: number; residents: number; origins: number; polygon: { geometry: unknown } | null }[];
        origins?: [number, number][];
      }>(req, reply, engine, { kind: 'isochrone-bands', snaps, limitsM: limits, includeOrigins: req.query.include === 'origins' });
      return {
        type: 'FeatureCollection',
        properties: {
          ...(req.query.facility_id !== undefined
            ? { facility_id: req.query.facility_id, access_points: snaps.length }
            : { lng: req.query.lng, lat: req.query.lat, snap_distance_m: Math.round(snaps[0].accessM * 100) / 100 }),
          method: 'walking-distance grid, contoured (marching squares)',
          cell_m: out.cell_m, frontage_m: out.frontage_m, off_street_max_m: out.off_street_max_m, reached_length_m: out.reached_length_m,
          dataset_id: engine.datasetId,
          ...(out.origins ? { origins: out.origins } : {}),
        },
        features: [...out.bands].reverse().map((b) => ({
          type: 'Feature',
          geometry: b.polygon ? roundCoords(b.polygon.geometry) : null,
          properties: { limit_m: b.limit_m, walk_minutes: Math.round((b.limit_m / WALK_SPEED_M_PER_MIN) * 10) / 10, residents: b.residents, origins: b.origins },
        })),
      };
    },
  );
}

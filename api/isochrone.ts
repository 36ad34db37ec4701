/** GET /api/isochrone: the network reachable on foot within a distance, as lines and a polygon. */

import type { FeatureCollection, Geometry } from 'geojson';
import type { FromSchema } from 'json-schema-to-ts';
import { featureCollectionSchema, lngLatProperties } from './common.ts';
import { MAX_ISOCHRONE_M } from './limits.ts';

export const isochroneQuery = {
  type: 'object',
  required: ['distance_m'],
  additionalProperties: false,
  properties: {
    ...lngLatProperties,
    facility_id: {
      type: 'integer',
      minimum: 1,
      description: 'walk out from every access point of this facility instead of a point',
    },
    distance_m: { type: 'number', exclusiveMinimum: 0, maximum: MAX_ISOCHRONE_M },
  },
} as const;

/** A FeatureCollection: the polygon (when anything was reached) and the reached lines. */
export const isochroneResponse = featureCollectionSchema;

export type IsochroneQuery = FromSchema<typeof isochroneQuery>;
/** The answer, narrowed to GeoJSON: the schema leaves geometries and properties open. */
export type Isochrone = FeatureCollection<
  Geometry,
  { kind: 'polygon' | 'lines'; distance_m: number; [k: string]: unknown }
>;

/* GET /api/isochrone/bands */

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
    lng: {
      type: 'number',
      minimum: -180,
      maximum: 180,
      description: 'longitude, WGS 84 degrees (east positive); with lat',
      examples: [104.0585],
    },
    lat: {
      type: 'number',
      minimum: -90,
      maximum: 90,
      description: 'latitude, WGS 84 degrees (north positive); with lng',
      examples: [30.6598],
    },
    facility_id: {
      type: 'integer',
      minimum: 1,
      description: 'walk out from every access point of this facility instead of a point',
    },
    limits_m: {
      type: 'string',
      pattern: '^[0-9]+(\\.[0-9]+)?(,[0-9]+(\\.[0-9]+)?){0,4}$',
      description: `up to ${MAX_BANDS} band limits in metres, comma-separated, each > 0 and ≤ ${MAX_ISOCHRONE_M}; default ${DEFAULT_BAND_LIMITS_M.join(',')}`,
      examples: ['300,500,1000'],
    },
    include: {
      type: 'string',
      enum: ['origins'],
      description: 'origins: also list [origin id, walking distance m] of every origin within the largest band',
    },
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
        residents: {
          type: 'number',
          description: 'residents (population of the origins) whose walk, access legs included, is within limit_m',
        },
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

/** The bands answer, narrowed to GeoJSON (a band that reaches no one has a null geometry). */
export type IsochroneBands = FeatureCollection<
  Geometry | null,
  { limit_m: number; walk_minutes: number; residents: number; origins: number }
> & {
  properties: Record<string, unknown> & { cell_m: number; frontage_m: number; off_street_max_m: number };
};

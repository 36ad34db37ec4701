/** JSON Schemas several routes share. Each route's own schemas live in the file named after it. */

import { MAX_PLAN_VERTICES } from './limits.ts';

/** A stored name or note: bounded, no NUL (PostgreSQL text cannot hold it). */
export const textSchema = <Min extends number, Max extends number>(minLength: Min, maxLength: Max) =>
  ({ type: 'string', minLength, maxLength, pattern: '^[^\\u0000]*$' }) as const;

/** A point's longitude and latitude, as query parameters. */
export const lngLatProperties = {
  lng: { type: 'number', minimum: -180, maximum: 180 },
  lat: { type: 'number', minimum: -90, maximum: 90 },
} as const;

/** A 两拆一增 plan geometry: Polygon / MultiPolygon for sites, LineString for walls. */
export const planGeometrySchema = {
  type: 'object',
  required: ['type', 'coordinates'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['Polygon', 'MultiPolygon', 'LineString'] },
    coordinates: { type: 'array', maxItems: MAX_PLAN_VERTICES },
  },
} as const;

/** A GeoJSON FeatureCollection response (geometry and properties left open). */
export const featureCollectionSchema = {
  type: 'object',
  required: ['type', 'features'],
  properties: {
    type: { type: 'string', enum: ['FeatureCollection'] },
    properties: { type: 'object', additionalProperties: true },
    features: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type', 'geometry', 'properties'],
        properties: {
          type: { type: 'string', enum: ['Feature'] },
          geometry: { type: 'object', additionalProperties: true },
          properties: { type: 'object', additionalProperties: true },
        },
      },
    },
  },
} as const;

/**
 * `T` with the properties of `R` put in place of its own. Unlike `Omit`, it keeps T's named
 * properties when T has an index signature (as types derived from open object schemas do).
 */
export type Override<T, R> = { [P in keyof T as P extends keyof R ? never : P]: T[P] } & R;

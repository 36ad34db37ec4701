/** JSON Schemas shared by several routes (each route keeps its own, `as const`, beside it). */

import { MAX_PLAN_VERTICES } from './limits.ts';

export { MAX_PLAN_VERTICES };

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

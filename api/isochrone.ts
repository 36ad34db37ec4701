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
    facility_id: { type: 'integer', minimum: 1, description: 'walk out from every access point of this facility instead of a point' },
    distance_m: { type: 'number', exclusiveMinimum: 0, maximum: MAX_ISOCHRONE_M },
  },
} as const;

/** A FeatureCollection: the polygon (when anything was reached) and the reached lines. */
export const isochroneResponse = featureCollectionSchema;

export type IsochroneQuery = FromSchema<typeof isochroneQuery>;
/** The answer, narrowed to GeoJSON: the schema leaves geometries and properties open. */
export type Isochrone = FeatureCollection<Geometry, { kind: 'polygon' | 'lines'; distance_m: number; [k: string]: unknown }>;

/** JSON Schemas shared by several routes (each route keeps its own, `as const`, beside it). */

/** Vertices allowed in one plan geometry: a block-sized site needs tens, not thousands. */
export const MAX_PLAN_VERTICES = 2000;

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

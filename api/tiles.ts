/** GET /tiles/:layer/:z/:x/:y.pbf: Mapbox Vector Tiles made by PostGIS. */

import type { FromSchema } from 'json-schema-to-ts';
import { TILE_LAYER_NAMES } from './enums.ts';
import { errorSchema } from './errors.ts';
import { DEFAULT_RULE_SET, MAX_RULE_SET_ID_CHARS, MAX_TILE_ZOOM } from './limits.ts';

export const tileParams = {
  type: 'object',
  required: ['layer', 'z', 'x', 'y'],
  properties: {
    layer: { type: 'string', description: TILE_LAYER_NAMES.join(' | ') },
    z: { type: 'integer', minimum: 0, maximum: MAX_TILE_ZOOM },
    x: { type: 'integer', minimum: 0, description: '0 … 2^z − 1' },
    y: { type: 'integer', minimum: 0, description: '0 … 2^z − 1' },
  },
} as const;

export const tileQuery = {
  type: 'object',
  properties: {
    rule_set: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9_.-]*$',
      maxLength: MAX_RULE_SET_ID_CHARS,
      default: DEFAULT_RULE_SET,
      description: 'areas only: a rule set id (see /api/rules)',
    },
  },
} as const;

export const tileResponses = {
  200: {
    description: 'Mapbox Vector Tile',
    content: { 'application/vnd.mapbox-vector-tile': { schema: { type: 'string', format: 'binary' } } },
  },
  204: { description: 'Empty tile', type: 'null' },
  304: { description: 'Not modified (If-None-Match matched the ETag)', type: 'null' },
  400: errorSchema,
  404: errorSchema,
} as const;

export type TileParams = FromSchema<typeof tileParams>;
export type TileQuery = FromSchema<typeof tileQuery>;

/** GET /api/search: communities, residential areas, facilities and roads found by name. */

import type { FromSchema } from 'json-schema-to-ts';

export const SEARCH_KINDS = ['community', 'residential_area', 'facility', 'road'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

export const searchQuerySchema = {
  type: 'object',
  required: ['q'],
  additionalProperties: false,
  properties: {
    q: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description: 'part of a name, matched case-insensitively anywhere in it',
      examples: ['人民公园'],
    },
    limit: { type: 'integer', minimum: 1, maximum: 50, default: 20 },
  },
} as const;

export const searchResponseSchema = {
  type: 'object',
  required: ['query', 'results'],
  properties: {
    query: { type: 'string' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kind', 'id', 'name', 'bbox', 'lng', 'lat'],
        properties: {
          kind: { type: 'string', enum: SEARCH_KINDS },
          id: { type: 'integer' },
          name: { type: 'string' },
          category: { type: ['string', 'null'], description: 'facility category (facilities only)' },
          bbox: {
            type: 'array',
            items: { type: 'number' },
            minItems: 4,
            maxItems: 4,
            description: '[west, south, east, north], WGS 84 degrees; roads: all segments of that name',
          },
          lng: { type: 'number', description: 'a point on the feature, WGS 84 longitude' },
          lat: { type: 'number', description: 'a point on the feature, WGS 84 latitude' },
        },
      },
    },
  },
} as const;

/** One answer of GET /api/search. */
export type SearchHit = FromSchema<typeof searchResponseSchema>['results'][number];

import type { FastifyInstance } from 'fastify';
import { ApiError, errorSchema } from '../errors.ts';

// ---- GET /api/search: schemas (contract block) ----------------------------------------------

export const SEARCH_KINDS = ['community', 'residential_area', 'facility', 'road'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

export const searchQuerySchema = {
  type: 'object',
  required: ['q'],
  additionalProperties: false,
  properties: {
    q: { type: 'string', minLength: 1, maxLength: 100, description: 'part of a name, matched case-insensitively anywhere in it', examples: ['人民公园'] },
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
          bbox: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4, description: '[west, south, east, north], WGS 84 degrees; roads: all segments of that name' },
          lng: { type: 'number', description: 'a point on the feature, WGS 84 longitude' },
          lat: { type: 'number', description: 'a point on the feature, WGS 84 latitude' },
        },
      },
    },
  },
} as const;

// ---- GET /api/search: route -------------------------------------------------------------------

/**
 * Names in the served dataset and the registers and boundaries that lie within its extent, exact
 * matches first, then prefix matches, then shorter names. ILIKE '%q%' is served by the trigram
 * indexes of migration 0150; `%`, `_` and `\` in q are matched literally. Roads are grouped by name.
 */
const SEARCH_SQL = `
  WITH d AS (SELECT served_network_dataset() AS id),
  b AS (SELECT ds.bbox FROM datasets ds, d WHERE ds.id = d.id),
  pat AS (SELECT '%' || replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%' AS p),
  hits AS (
    SELECT 'community' AS kind, c.id, c.name, NULL::text AS category, c.geom FROM communities c, b, pat
      WHERE c.name ILIKE pat.p AND (b.bbox IS NULL OR ST_Intersects(c.geom, b.bbox))
    UNION ALL
    SELECT 'residential_area', r.id, r.name, NULL, r.geom FROM residential_areas r, d, pat
      WHERE r.dataset_id = d.id AND r.name ILIKE pat.p
    UNION ALL
    SELECT 'facility', f.id, f.name, f.category, f.geom FROM facilities f JOIN datasets fd ON fd.id = f.dataset_id, d, b, pat
      WHERE f.name ILIKE pat.p AND f.replaced_by IS NULL
        AND (fd.id = d.id OR (fd.kind = 'facility_register' AND (b.bbox IS NULL OR ST_Intersects(f.geom, b.bbox))))
    UNION ALL
    SELECT 'road', min(r.id), r.name, NULL, ST_Collect(r.geom) FROM basemap_roads r, d, pat
      WHERE r.dataset_id = d.id AND r.name ILIKE pat.p GROUP BY r.name
  )
  SELECT kind, id::int, name, category,
         ARRAY[round(ST_XMin(geom)::numeric, 6), round(ST_YMin(geom)::numeric, 6), round(ST_XMax(geom)::numeric, 6), round(ST_YMax(geom)::numeric, 6)]::float8[] AS bbox,
         round(ST_X(ST_PointOnSurface(geom))::numeric, 7)::float8 AS lng, round(ST_Y(ST_PointOnSurface(geom))::numeric, 7)::float8 AS lat
  FROM hits
  ORDER BY (lower(name) = lower($1)) DESC, (lower(name) LIKE lower(replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_')) || '%') DESC,
           length(name), CASE kind WHEN 'community' THEN 0 WHEN 'residential_area' THEN 1 WHEN 'facility' THEN 2 ELSE 3 END, id
  LIMIT $2`;

/** GET /api/search: find a community, residential area, facility or road by name. */
export async function searchRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { q: string; limit?: number } }>(
    '/api/search',
    {
      schema: {
        tags: ['catalogue'],
        summary: 'Find communities, residential areas, facilities and roads by name',
        querystring: searchQuerySchema,
        response: { 200: searchResponseSchema, 400: errorSchema },
      },
      config: { rateLimit: { max: 600, timeWindow: '1 minute' } },
    },
    async (req) => {
      const q = req.query.q.trim();
      if (!q || q.includes('\0')) throw new ApiError('invalid_parameter', 'q must hold a name (not only spaces, no NUL)');
      const { rows } = await app.pg.query(SEARCH_SQL, [q, req.query.limit ?? 20]);
      return { query: q, results: rows };
    },
  );
}

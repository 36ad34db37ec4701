import type { FastifyInstance } from 'fastify';
import { RULE_SETS, ruleSetById } from '../../geo/rules/index.ts';
import { tileParams, tileQuery, tileResponses, type TileParams, type TileQuery } from '../../api/tiles.ts';
import type { TILE_LAYER_NAMES } from '../../api/enums.ts';
import { ApiError } from '../errors.ts';
import { requestedDataset } from '../http/request.ts';
import {
  acceptsGzip,
  GENERALISED_CACHE_BYTES,
  GZIP_CACHE_BYTES,
  GZIP_MIN_BYTES,
  GzipCache,
  ifNoneMatchMatches,
  TileCache,
  tileEtag,
} from '../tile-encoding.ts';

interface TileLayer {
  sql: string;
  /** The same with the dataset name as the last parameter (migrations/0260); absent for layers not of a dataset (plans). */
  namedSql?: string;
  /** Cache-Control of its tiles. */
  cacheControl: string;
  /** Whether `rule_set` is passed as the fourth parameter. */
  takesRuleSet: boolean;
}

const DATA_CACHE = 'public, max-age=60';
/** Zooms whose network and areas tiles come from the generalised tables (the whole-city views). */
export const GENERALISED_ZOOMS = [9, 12] as const;
/**
 * migrations/0250, 0251: network and areas at zooms 9–12 from tables made once per run, for the
 * dataset and run given explicitly ($4, $5; the areas' rule set $6).
 */
const GENERALISED_SQL: Partial<Record<keyof typeof TILE_LAYERS, string>> = {
  network: 'SELECT tile_network_generalised($1, $2, $3, $4, $5) AS mvt',
  areas: 'SELECT tile_areas_generalised($1, $2, $3, $4, $5, $6) AS mvt',
};

// The tile functions of migrations/0005_create_tile_functions.sql.
const TILE_LAYERS: Record<(typeof TILE_LAYER_NAMES)[number], TileLayer> = {
  basemap: {
    sql: 'SELECT tile_basemap($1, $2, $3) AS mvt',
    namedSql: 'SELECT tile_basemap($1, $2, $3, $4) AS mvt',
    cacheControl: DATA_CACHE,
    takesRuleSet: false,
  },
  network: {
    sql: 'SELECT tile_network($1, $2, $3) AS mvt',
    namedSql: 'SELECT tile_network($1, $2, $3, $4) AS mvt',
    cacheControl: DATA_CACHE,
    takesRuleSet: false,
  },
  facilities: {
    sql: 'SELECT tile_facilities($1, $2, $3) AS mvt',
    namedSql: 'SELECT tile_facilities($1, $2, $3, $4) AS mvt',
    cacheControl: DATA_CACHE,
    takesRuleSet: false,
  },
  areas: {
    sql: 'SELECT tile_areas($1, $2, $3, $4) AS mvt',
    namedSql: 'SELECT tile_areas($1, $2, $3, $4, $5) AS mvt',
    cacheControl: DATA_CACHE,
    takesRuleSet: true,
  },
  // A plan edit must show on the next fetch; clients revalidate with the ETag instead.
  plans: { sql: 'SELECT tile_plans($1, $2, $3) AS mvt', cacheControl: 'no-cache', takesRuleSet: false },
  // migrations/0130: one label point per area; walls, gated compounds and their gates.
  area_labels: {
    sql: 'SELECT tile_area_labels($1, $2, $3) AS mvt',
    namedSql: 'SELECT tile_area_labels($1, $2, $3, $4) AS mvt',
    cacheControl: DATA_CACHE,
    takesRuleSet: false,
  },
  barriers: {
    sql: 'SELECT tile_barriers($1, $2, $3) AS mvt',
    namedSql: 'SELECT tile_barriers($1, $2, $3, $4) AS mvt',
    cacheControl: DATA_CACHE,
    takesRuleSet: false,
  },
  // migrations/0190: residents per coverage origin with their population source.
  population: {
    sql: 'SELECT tile_population($1, $2, $3) AS mvt',
    namedSql: 'SELECT tile_population($1, $2, $3, $4) AS mvt',
    cacheControl: DATA_CACHE,
    takesRuleSet: false,
  },
};

/**
 * GET /tiles/:layer/:z/:x/:y.pbf: a vector tile made by the layer's PostGIS tile function.
 * 204 when the tile is empty; ETag on every tile, 304 when If-None-Match matches; gzip when
 * accepted and the tile is at least GZIP_MIN_BYTES.
 */
export async function tileRoutes(app: FastifyInstance): Promise<void> {
  const gzipCache = new GzipCache(GZIP_CACHE_BYTES);
  // A generalised tile of a run never changes (a compute makes a new run), so it is kept, keyed by
  // the run: after its first request a whole-city tile costs a lookup.
  const generalisedCache = new TileCache(GENERALISED_CACHE_BYTES);

  async function layerTile(
    layer: TileLayer,
    z: number,
    x: number,
    y: number,
    ruleSet: string,
    dataset: string | undefined,
  ): Promise<Buffer | null | undefined> {
    const params: unknown[] = layer.takesRuleSet ? [z, x, y, ruleSet] : [z, x, y];
    const named = dataset !== undefined && layer.namedSql !== undefined;
    const { rows } = await app.pg.query<{ mvt: Buffer | null }>(
      named ? layer.namedSql! : layer.sql,
      named ? [...params, dataset] : params,
    );
    return rows[0]?.mvt;
  }

  /**
   * The generalised tile of the run served under `dataset` (default: the default dataset), cached
   * by dataset row and run; full detail before the dataset's first run (no generalised rows yet).
   */
  async function generalisedTile(
    sql: string,
    name: string,
    z: number,
    x: number,
    y: number,
    ruleSet: string,
    dataset: string | undefined,
  ): Promise<Buffer | null | undefined> {
    const served = (
      await app.pg.query<{ dataset_id: number | null; run_id: number | null }>(
        'SELECT dataset_id, run_id FROM dataset_run(coalesce($1::text, default_dataset_name()))',
        [dataset ?? null],
      )
    ).rows[0];
    if (served?.run_id == null || served.dataset_id == null)
      return layerTile(TILE_LAYERS[name as keyof typeof TILE_LAYERS], z, x, y, ruleSet, dataset);
    const key = `${name}/${z}/${x}/${y}/${served.dataset_id}/${served.run_id}${name === 'areas' ? `/${ruleSet}` : ''}`;
    const hit = generalisedCache.get(key);
    if (hit) return hit;
    const params =
      name === 'areas'
        ? [z, x, y, served.dataset_id, served.run_id, ruleSet]
        : [z, x, y, served.dataset_id, served.run_id];
    const mvt = (await app.pg.query<{ mvt: Buffer | null }>(sql, params)).rows[0]?.mvt ?? Buffer.alloc(0);
    generalisedCache.set(key, mvt);
    return mvt;
  }

  app.get<{ Params: TileParams; Querystring: TileQuery }>(
    '/tiles/:layer/:z/:x/:y.pbf',
    {
      schema: {
        tags: ['tiles'],
        summary: 'Vector tile (basemap, network, facilities, areas, plans, area_labels, barriers, population)',
        params: tileParams,
        querystring: tileQuery,
        response: tileResponses,
      },
    },
    async (request, reply) => {
      const { layer: name, z, x, y } = request.params;
      const layer = Object.hasOwn(TILE_LAYERS, name) ? TILE_LAYERS[name as keyof typeof TILE_LAYERS] : undefined;
      if (!layer)
        throw new ApiError('not_found', `no tile layer "${name}"; one of ${Object.keys(TILE_LAYERS).join(', ')}`);
      const tiles = 2 ** z;
      if (x >= tiles || y >= tiles)
        throw new ApiError(
          'invalid_parameter',
          `tile ${z}/${x}/${y} does not exist: x and y must be below ${tiles} at zoom ${z}`,
        );
      const ruleSet = request.query.rule_set;
      if (layer.takesRuleSet && !ruleSetById(ruleSet)) {
        throw new ApiError(
          'unknown_rule_set',
          `unknown rule set "${ruleSet}"; one of ${RULE_SETS.map((r) => r.id).join(', ')}`,
        );
      }

      const generalised =
        z >= GENERALISED_ZOOMS[0] && z <= GENERALISED_ZOOMS[1]
          ? GENERALISED_SQL[name as keyof typeof TILE_LAYERS]
          : undefined;
      const dataset = requestedDataset(request);
      const mvt = generalised
        ? await generalisedTile(generalised, name, z, x, y, ruleSet, dataset)
        : await layerTile(layer, z, x, y, ruleSet, dataset);
      reply.header('cache-control', layer.cacheControl);
      if (!mvt || mvt.length === 0) return reply.status(204).send();

      // Each encoding is its own representation with its own ETag (RFC 9110 §8.8.3), and caches
      // must key on Accept-Encoding.
      const compress = mvt.length >= GZIP_MIN_BYTES && acceptsGzip(request.headers['accept-encoding']);
      const plainEtag = tileEtag(mvt);
      const etag = compress ? `${plainEtag.slice(0, -1)}.gz"` : plainEtag;
      reply.header('etag', etag);
      reply.header('vary', 'accept-encoding');
      if (ifNoneMatchMatches(request.headers['if-none-match'], etag)) return reply.status(304).send();
      reply.type('application/vnd.mapbox-vector-tile');
      if (!compress) return reply.send(mvt);
      return reply.header('content-encoding', 'gzip').send(await gzipCache.get(plainEtag, mvt));
    },
  );
}

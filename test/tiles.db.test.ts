import { VectorTile, VectorTileFeature } from '@mapbox/vector-tile';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Geometry } from 'geojson';
import { PbfReader } from 'pbf';
import zlib from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../server/app.ts';
import { GZIP_MIN_BYTES } from '../server/tile-encoding.ts';
import { tileOf } from './bench/autocannon.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { createPool } from '../server/db/pool.ts';

/** Slippy-map tile containing a WGS 84 point (OSM wiki "Slippy map tilenames"). */
function tileAt([lng, lat]: [number, number], z: number): { z: number; x: number; y: number } {
  const [, x, y] = tileOf(lng, lat, z);
  return { z, x, y };
}

const CENTRE_LNG_LAT: [number, number] = [104.08, 30.67];
const CENTRE = tileAt(CENTRE_LNG_LAT, 15);
// Open Pacific, thousands of kilometres from any data.
const OCEAN = tileAt([-150, 0], 15);

function decode(body: Buffer | string): VectorTile {
  return new VectorTile(new PbfReader(typeof body === 'string' ? Buffer.from(body, 'binary') : body));
}

function formatValue(v: number | string | boolean): string {
  return typeof v === 'number' && !Number.isInteger(v) ? String(Math.round(v * 1e4) / 1e4) : String(v);
}

function formatFeature(f: VectorTileFeature): string {
  const props = Object.keys(f.properties)
    .sort()
    .map((k) => `${k}=${formatValue(f.properties[k])}`)
    .join(' ');
  return `${VectorTileFeature.types[f.type]} id=${f.id ?? '-'} {${props}}`;
}

/**
 * Text dump of a tile: per layer (sorted by name) its feature count, the sorted union of its
 * attribute keys, and the first `sample` features in order of feature id then text.
 */
function dumpTile(tile: VectorTile, sample = 3): string {
  const lines: string[] = [];
  for (const name of Object.keys(tile.layers).sort()) {
    const layer = tile.layers[name];
    const features = Array.from({ length: layer.length }, (_, i) => layer.feature(i));
    const keys = [...new Set(features.flatMap((f) => Object.keys(f.properties)))].sort();
    lines.push(`layer ${name}: ${layer.length} features, extent ${layer.extent}`);
    lines.push(`  keys: ${keys.join(', ')}`);
    const texts = features
      .map((f) => [f.id ?? 0, formatFeature(f)] as const)
      .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
    for (const [, text] of texts.slice(0, sample)) lines.push(`  ${text}`);
  }
  return lines.join('\n');
}

function features(tile: VectorTile, layer: string): VectorTileFeature[] {
  const l = tile.layers[layer];
  return l ? Array.from({ length: l.length }, (_, i) => l.feature(i)) : [];
}

describe('vector tiles', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let sql: pg.Pool;

  const get = (url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'GET', url, headers });
  const tileUrl = (layer: string, t = CENTRE, query = ''): string => `/tiles/${layer}/${t.z}/${t.x}/${t.y}.pbf${query}`;

  beforeAll(async () => {
    db = await createTestDatabase('central');
    app = await buildApp({ databaseUrl: db.url, webDist: false });
    sql = createPool(db.url, { max: 2 });
  });

  afterAll(async () => {
    await app?.close();
    await sql?.end();
    await db?.drop();
  });

  /** Distances of the current run for the given edges, from edge_distances. */
  async function edgeDistances(ids: number[]): Promise<Map<number, Record<string, number>>> {
    const { rows } = await sql.query<{ edge_id: string; d: Record<string, number> }>(
      `SELECT ed.edge_id, ed.d FROM edge_distances ed
       WHERE ed.run_id = (SELECT max(id) FROM coverage_runs WHERE status = 'done') AND ed.edge_id = ANY($1::bigint[])`,
      [ids],
    );
    return new Map(rows.map((r) => [Number(r.edge_id), r.d]));
  }

  /** Area results of the current run: area_key → rule_id → { share, passes }. */
  async function areaResults(
    ruleSet: string,
    level: string,
  ): Promise<Map<number, Map<string, { share: number | null; passes: boolean; noData: boolean; nearEdge: number }>>> {
    const { rows } = await sql.query<{
      area_key: string;
      rule_id: string;
      share: number | null;
      passes: boolean;
      no_data: boolean;
      near_edge: number;
    }>(
      `SELECT area_key, rule_id, share, passes, no_data, uncovered_near_edge_population AS near_edge FROM coverage_area_results
       WHERE run_id = (SELECT max(id) FROM coverage_runs WHERE status = 'done') AND rule_set_id = $1 AND level = $2`,
      [ruleSet, level],
    );
    const out = new Map<
      number,
      Map<string, { share: number | null; passes: boolean; noData: boolean; nearEdge: number }>
    >();
    for (const r of rows) {
      const key = Number(r.area_key);
      if (!out.has(key)) out.set(key, new Map());
      out.get(key)!.set(r.rule_id, { share: r.share, passes: r.passes, noData: r.no_data, nearEdge: r.near_edge });
    }
    return out;
  }

  it('basemap: water, landuse, green, roads with Chinese names, buildings at z15', async () => {
    const res = await get(tileUrl('basemap'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.mapbox-vector-tile');
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    const tile = decode(res.rawPayload);
    const dump = dumpTile(tile);
    expect(Object.keys(tile.layers).sort(), dump).toEqual(['buildings', 'green', 'landuse', 'roads', 'water']);
    expect(dump).toMatch(/^layer roads: \d+ features, extent 4096\n {2}keys: highway, name$/m);
    expect(dump).toMatch(/^layer landuse: \d+ features, extent 4096\n {2}keys: class, name$/m);
    const roads = features(tile, 'roads');
    expect(roads.length, dump).toBeGreaterThan(20);
    expect(roads.every((f) => f.type === 2 && typeof f.properties.highway === 'string')).toBe(true);
    const names = roads.map((f) => f.properties.name).filter((n): n is string => typeof n === 'string');
    expect(
      names.some((n) => /^[\u4e00-\u9fff]+$/u.test(n)),
      dump,
    ).toBe(true);
    expect(features(tile, 'buildings').every((f) => f.type === 3)).toBe(true);
  });

  it('basemap: no buildings and no service roads or paths at z12', async () => {
    const res = await get(tileUrl('basemap', tileAt(CENTRE_LNG_LAT, 12)));
    expect(res.statusCode).toBe(200);
    const tile = decode(res.rawPayload);
    const dump = dumpTile(tile);
    expect(tile.layers.buildings, dump).toBeUndefined();
    const classes = new Set(features(tile, 'roads').map((f) => f.properties.highway));
    expect(classes.has('primary'), dump).toBe(true);
    for (const minor of ['service', 'footway', 'path', 'steps', 'residential'])
      expect(classes.has(minor), minor).toBe(false);
  });

  it("network: edges with the current run's walking distances per category", async () => {
    const res = await get(tileUrl('network'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    const tile = decode(res.rawPayload);
    const dump = dumpTile(tile);
    expect(Object.keys(tile.layers), dump).toEqual(['network']);
    expect(dump).toMatch(/^ {2}keys: .*\bhighway, id, is_private\b.*\bpark\b/m);
    const edges = features(tile, 'network');
    expect(edges.length, dump).toBeGreaterThan(50);
    const dByEdge = await edgeDistances(edges.map((f) => Number(f.properties.id)));
    const own = new Set(['id', 'highway', 'name', 'is_private']);
    for (const f of edges) {
      expect(f.type).toBe(2);
      expect(f.id).toBe(f.properties.id);
      expect(typeof f.properties.is_private).toBe('boolean');
      const distances = Object.fromEntries(Object.entries(f.properties).filter(([k]) => !own.has(k)));
      expect(distances, formatFeature(f)).toEqual(dByEdge.get(Number(f.properties.id)) ?? {});
    }
    const parkM = edges.map((f) => f.properties.park).filter((m): m is number => typeof m === 'number');
    expect(parkM.filter((m) => m < 2000).length, dump).toBeGreaterThan(edges.length / 2);
  });

  it('facilities: a point per facility and the polygons of areal ones', async () => {
    const res = await get(tileUrl('facilities'));
    expect(res.statusCode).toBe(200);
    const tile = decode(res.rawPayload);
    const dump = dumpTile(tile);
    expect(Object.keys(tile.layers).sort(), dump).toEqual(['facilities', 'facility_access', 'facility_areas']);
    expect(dump).toMatch(
      /^layer facilities: \d+ features, extent 4096\n {2}keys: area_m2, category, id, is_sample, name, subtype$/m,
    );
    const points = features(tile, 'facilities');
    const polygons = features(tile, 'facility_areas');
    expect(
      points.every(
        (f) => f.type === 1 && typeof f.properties.category === 'string' && typeof f.properties.is_sample === 'boolean',
      ),
      dump,
    ).toBe(true);
    // Oracle: every facility (the dataset's and the registers') whose point lies in the tile, and
    // none whose point lies beyond the tile's 64-pixel buffer.
    const { rows } = await sql.query<{ id: string; inside: boolean; in_buffer: boolean; register: boolean }>(
      `WITH p AS (SELECT f.id, d.kind = 'facility_register' AS register,
                         ST_Transform(CASE WHEN ST_Dimension(f.geom) = 0 THEN f.geom ELSE ST_PointOnSurface(f.geom) END, 3857) AS pt
                  FROM facilities f JOIN datasets d ON d.id = f.dataset_id)
       SELECT id, register, ST_Intersects(pt, ST_TileEnvelope($1, $2, $3)) AS inside,
              ST_Intersects(pt, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)) AS in_buffer FROM p`,
      [CENTRE.z, CENTRE.x, CENTRE.y],
    );
    const tileIds = new Set(points.map((f) => Number(f.id)));
    const inside = rows.filter((r) => r.inside).map((r) => Number(r.id));
    expect(
      inside.filter((id) => !tileIds.has(id)),
      dump,
    ).toEqual([]);
    const inBuffer = new Set(rows.filter((r) => r.in_buffer).map((r) => Number(r.id)));
    expect(
      [...tileIds].filter((id) => !inBuffer.has(id)),
      dump,
    ).toEqual([]);
    expect(
      rows.some((r) => r.register && r.inside),
      'a register facility in the tile',
    ).toBe(true);

    expect(polygons.length, dump).toBeGreaterThan(0);
    expect(polygons.every((f) => f.type === 3 && typeof f.properties.area_m2 === 'number')).toBe(true);
    expect(
      polygons.some((f) => f.properties.category === 'park'),
      dump,
    ).toBe(true);
    // A polygon's own point is in this tile when the polygon lies wholly inside it.
    const pointById = new Map(points.map((f) => [f.id, f]));
    const both = polygons.filter((f) => pointById.has(f.id));
    expect(both.length, dump).toBeGreaterThan(0);
    for (const f of both) expect(pointById.get(f.id)!.properties).toEqual(f.properties);
  });

  it('facilities: from z14 the access points of areas and lines, where each is entered on foot', async () => {
    const res = await get(tileUrl('facilities'));
    const tile = decode(res.rawPayload);
    const dump = dumpTile(tile);
    expect(dump).toMatch(/^layer facility_access: \d+ features, extent 4096\n {2}keys: category, facility_id, kind$/m);
    const access = features(tile, 'facility_access');
    // Oracle: every access point of an areal or linear facility lying in the tile, and no other.
    const { rows } = await sql.query<{ id: string; kind: string; facility_id: string }>(
      `SELECT a.id, a.kind, a.facility_id FROM facility_access_points a JOIN facilities f ON f.id = a.facility_id
       WHERE ST_Dimension(f.geom) > 0 AND ST_Intersects(ST_Transform(a.geom, 3857), ST_TileEnvelope($1, $2, $3))`,
      [CENTRE.z, CENTRE.x, CENTRE.y],
    );
    expect(rows.length).toBeGreaterThan(0);
    const tileIds = new Set(access.map((f) => Number(f.id)));
    expect(
      rows.filter((r) => !tileIds.has(Number(r.id))).map((r) => r.id),
      dump,
    ).toEqual([]);
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    for (const f of access) {
      expect(f.type).toBe(1);
      const row = byId.get(Number(f.id));
      if (!row) continue; // in the 64-pixel buffer
      expect(f.properties.kind).toBe(row.kind);
      expect(f.properties.facility_id).toBe(Number(row.facility_id));
    }
    const low = decode((await get(tileUrl('facilities', tileAt(CENTRE_LNG_LAT, 13)))).rawPayload);
    expect(Object.keys(low.layers)).not.toContain('facility_access');
  });

  it('areas: pass and share per rule of the rule set, worst_share and fails, from the current run', async () => {
    const rules = ['community_service_1000', 'elderly_care_500', 'green_300', 'greenway_1000', 'park_500'];
    const res = await get(tileUrl('areas'));
    expect(res.statusCode).toBe(200);
    const tile = decode(res.rawPayload);
    const dump = dumpTile(tile);
    expect(Object.keys(tile.layers).sort(), dump).toEqual(['communities', 'residential_areas']);
    const coverageKeys = [
      ...rules.flatMap((r) => [`${r}_no_data`, `${r}_pass`, `${r}_share`]),
      'edge_of_data',
      'fails',
      'worst_share',
    ].sort();
    expect(dump).toContain(
      `keys: ${[...coverageKeys, 'id', 'is_gated', 'name', 'population', 'population_source'].sort().join(', ')}`,
    );
    expect(dump).toContain(`keys: ${[...coverageKeys, 'id', 'is_approximate', 'name'].sort().join(', ')}`);

    for (const [layer, level] of [
      ['residential_areas', 'residential_area'],
      ['communities', 'community'],
    ] as const) {
      const results = await areaResults('chengdu-park-city', level);
      const withResults = features(tile, layer).filter((f) => results.has(Number(f.properties.id)));
      expect(withResults.length, `${layer}\n${dump}`).toBeGreaterThan(0);
      for (const f of withResults) {
        const expected = results.get(Number(f.properties.id))!;
        const shares: number[] = [];
        for (const rule of rules) {
          const r = expected.get(rule)!;
          expect(f.properties[`${rule}_pass`], `${rule} ${formatFeature(f)}`).toBe(r.passes);
          expect(f.properties[`${rule}_share`]).toBeCloseTo(r.share!, 4);
          expect(f.properties[`${rule}_no_data`]).toBe(r.noData);
          // a rule with no data (greenways in OSM Chengdu 2018) is not assessable: not in worst_share nor fails
          if (!r.noData) shares.push(f.properties[`${rule}_share`] as number);
        }
        expect(expected.get('greenway_1000')!.noData).toBe(true);
        expect(f.properties.worst_share).toBeCloseTo(Math.min(...shares), 4);
        expect(f.properties.fails).toBe([...expected.values()].filter((r) => !r.passes && !r.noData).length);
        expect(f.properties.edge_of_data).toBe(
          [...expected.values()].some((r) => !r.passes && !r.noData && r.nearEdge > 0),
        );
      }
    }
  });

  it('areas: another rule set brings its own rules; an unknown one is a 400', async () => {
    const res = await get(tileUrl('areas', CENTRE, '?rule_set=gb50180-2018'));
    expect(res.statusCode).toBe(200);
    const dump = dumpTile(decode(res.rawPayload));
    expect(dump).toMatch(/keys: .*\bmin10_market_pass, min10_market_share\b/);
    expect(dump).not.toMatch(/park_500/);
    expect(res.headers.etag).not.toBe((await get(tileUrl('areas'))).headers.etag);

    const bad = await get(tileUrl('areas', CENTRE, '?rule_set=no-such-rules'));
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'unknown_rule_set' } });
  });

  it('population: one circle per origin of the served dataset in the tile holding it, with residents and their source', async () => {
    /** Tile box in WGS 84 from the slippy-map formulas (not PostGIS's ST_TileEnvelope). */
    const box = (t: { z: number; x: number; y: number }) => {
      const n = 2 ** t.z;
      const lat = (y: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;
      return { w: (t.x / n) * 360 - 180, e: ((t.x + 1) / n) * 360 - 180, n: lat(t.y), s: lat(t.y + 1) };
    };
    // the origins of the served dataset whose point lies in [w, e) × (s, n], by a plain coordinate filter
    const oracle = async (b: { w: number; e: number; s: number; n: number }) =>
      (
        await sql.query<{ id: string; population: number; source: string }>(
          `SELECT o.id, o.population, coalesce(o.population_source, 'estimate') AS source FROM origins o
       WHERE o.dataset_id = (SELECT dataset_id FROM served_run()) AND o.population > 0
         AND ST_X(o.geom) >= $1 AND ST_X(o.geom) < $2 AND ST_Y(o.geom) > $3 AND ST_Y(o.geom) <= $4`,
          [b.w, b.e, b.s, b.n],
        )
      ).rows;

    const res = await get(tileUrl('population'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    const tile = decode(res.rawPayload);
    const dump = dumpTile(tile);
    expect(Object.keys(tile.layers), dump).toEqual(['population']);
    expect(dump).toMatch(/^ {2}keys: estimated, id, kind, population, population_source, residential_area_id$/m);
    const got = features(tile, 'population');
    const want = await oracle(box(CENTRE));
    expect(want.length).toBeGreaterThan(5);
    const byId = new Map(want.map((r) => [Number(r.id), r]));
    expect(new Set(got.map((f) => Number(f.properties.id)))).toEqual(new Set(byId.keys()));
    for (const f of got) {
      const o = byId.get(Number(f.properties.id))!;
      expect(f.type).toBe(1);
      expect(f.properties.population).toBeCloseTo(o.population, 2);
      expect(f.properties.population_source).toBe(o.source);
      expect(f.properties.estimated).toBe(!['osm', 'census'].includes(o.source));
    }

    // four neighbouring tiles count each resident once: their sum is the sum over their union
    let sum = 0,
      count = 0;
    const quad = [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ].map(([dx, dy]) => ({ z: CENTRE.z, x: CENTRE.x + dx, y: CENTRE.y + dy }));
    for (const t of quad) {
      const r = await get(tileUrl('population', t));
      for (const f of r.statusCode === 200 ? features(decode(r.rawPayload), 'population') : []) {
        sum += Number(f.properties.population);
        count++;
      }
    }
    const union = await oracle({ w: box(quad[0]).w, e: box(quad[3]).e, n: box(quad[0]).n, s: box(quad[3]).s });
    expect(count).toBe(union.length);
    // the tile carries residents to the centiresident; so does the sum it is compared with
    expect(sum).toBeCloseTo(
      union.reduce((a, r) => a + Math.round(r.population * 100) / 100, 0),
      3,
    );

    // below z13 the tiles are empty
    expect((await get(tileUrl('population', tileAt(CENTRE_LNG_LAT, 12)))).statusCode).toBe(204);
    expect((await get(tileUrl('population', OCEAN))).statusCode).toBe(204);
  });

  it('answers 204 with no body for a tile without data', async () => {
    for (const layer of ['basemap', 'network', 'facilities', 'areas', 'plans']) {
      const res = await get(tileUrl(layer, OCEAN));
      expect(res.statusCode, layer).toBe(204);
      expect(res.rawPayload.length).toBe(0);
      expect(res.headers.etag).toBeUndefined();
    }
  });

  it('rejects tiles outside the zoom level with 400 and unknown layers with 404', async () => {
    const n = 2 ** CENTRE.z;
    for (const url of [
      `/tiles/network/15/${n}/${CENTRE.y}.pbf`,
      `/tiles/network/15/${CENTRE.x}/${n}.pbf`,
      '/tiles/network/0/1/0.pbf',
      '/tiles/network/23/0/0.pbf',
      '/tiles/network/15/-1/0.pbf',
      '/tiles/network/15/a/0.pbf',
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ error: { code: 'invalid_parameter', message: expect.any(String) } });
    }
    for (const layer of ['roads', '__proto__', 'toString']) {
      const res = await get(tileUrl(layer));
      expect(res.statusCode, layer).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('answers 304 to a matching If-None-Match and the same tile twice with the same ETag and dump', async () => {
    const first = await get(tileUrl('facilities'));
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    const again = await get(tileUrl('facilities'));
    expect(again.headers.etag).toBe(etag);
    expect(dumpTile(decode(again.rawPayload), Infinity)).toBe(dumpTile(decode(first.rawPayload), Infinity));

    for (const header of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const res = await get(tileUrl('facilities'), { 'if-none-match': header });
      expect(res.statusCode, header).toBe(304);
      expect(res.rawPayload.length).toBe(0);
      expect(res.headers.etag).toBe(etag);
      expect(res.headers['cache-control']).toBe('public, max-age=60');
    }
    const changed = await get(tileUrl('facilities'), { 'if-none-match': '"something-else"' });
    expect(changed.statusCode).toBe(200);
  });

  it('gzip: the same tile compressed for clients that accept it, with its own ETag; small tiles and q=0 stay as they are', async () => {
    const plain = await get(tileUrl('network'));
    expect(plain.rawPayload.length).toBeGreaterThanOrEqual(GZIP_MIN_BYTES);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('accept-encoding');
    for (const header of ['gzip', 'gzip, deflate, br', 'br;q=1, gzip;q=0.5', '*']) {
      const zipped = await get(tileUrl('network'), { 'accept-encoding': header });
      expect(zipped.headers['content-encoding'], header).toBe('gzip');
      expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length * 0.75);
      expect(zlib.gunzipSync(zipped.rawPayload).equals(plain.rawPayload), header).toBe(true);
      expect(zipped.headers.etag).not.toBe(plain.headers.etag);
      const revalidated = await get(tileUrl('network'), {
        'accept-encoding': header,
        'if-none-match': zipped.headers.etag as string,
      });
      expect(revalidated.statusCode).toBe(304);
      // the plain tile's ETag does not validate the compressed one
      expect(
        (await get(tileUrl('network'), { 'accept-encoding': header, 'if-none-match': plain.headers.etag as string }))
          .statusCode,
      ).toBe(200);
    }
    for (const header of ['gzip;q=0', 'br', 'identity', '*;q=0', 'gzip;q=0, *']) {
      expect(
        (await get(tileUrl('network'), { 'accept-encoding': header })).headers['content-encoding'],
        header,
      ).toBeUndefined();
    }
    // a tile under GZIP_MIN_BYTES is sent as it is
    const small = await get(tileUrl('facilities', tileAt([104.08, 30.66], 16)), { 'accept-encoding': 'gzip' });
    expect(small.statusCode).toBe(200);
    expect(small.rawPayload.length).toBeLessThan(GZIP_MIN_BYTES);
    expect(small.headers['content-encoding']).toBeUndefined();
  });

  it('plans: a plan shows in the next tile, a changed plan fails the old ETag, a deleted one is gone', async () => {
    const [lng, lat] = CENTRE_LNG_LAT;
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO plans (kind, name, geom) VALUES ('add_open_space', '口袋公园', ST_Expand(ST_SetSRID(ST_MakePoint($1, $2), 4326), 0.0005)) RETURNING id`,
      [lng, lat],
    );
    const id = Number(rows[0].id);
    const {
      rows: [{ updated_at }],
    } = await sql.query<{ updated_at: string }>(
      `SELECT to_json(updated_at) #>> '{}' AS updated_at FROM plans WHERE id = $1`,
      [id],
    );

    const shown = await get(tileUrl('plans'));
    expect(shown.statusCode).toBe(200);
    expect(shown.headers['cache-control']).toBe('no-cache');
    const tile = decode(shown.rawPayload);
    expect(dumpTile(tile)).toBe(
      [
        'layer plans: 1 features, extent 4096',
        '  keys: id, kind, name, status, updated_at',
        `  Polygon id=${id} {id=${id} kind=add_open_space name=口袋公园 status=proposed updated_at=${updated_at}}`,
      ].join('\n'),
    );
    const [minLng, minLat, maxLng, maxLat] = bboxOf(
      features(tile, 'plans')[0].toGeoJSON(CENTRE.x, CENTRE.y, CENTRE.z).geometry,
    );
    expect(minLng).toBeLessThan(lng);
    expect(maxLng).toBeGreaterThan(lng);
    expect(minLat).toBeLessThan(lat);
    expect(maxLat).toBeGreaterThan(lat);

    await sql.query(`UPDATE plans SET status = 'approved', updated_at = now() WHERE id = $1`, [id]);
    const revalidated = await get(tileUrl('plans'), { 'if-none-match': shown.headers.etag as string });
    expect(revalidated.statusCode).toBe(200);
    expect(dumpTile(decode(revalidated.rawPayload))).toContain('status=approved');

    await sql.query('DELETE FROM plans WHERE id = $1', [id]);
    const gone = await get(tileUrl('plans'));
    expect(gone.statusCode).toBe(204);
  });

  it('switching the served run changes network tiles and the API together (one served_run())', async () => {
    type Served = { dataset_id: number; run_id: number };
    const served = async () => (await sql.query<Served>('SELECT dataset_id, run_id FROM served_run()')).rows[0];
    const healthRun = async () => (await get('/api/health')).json<{ coverage_run_id: number | null }>().coverage_run_id;
    const parkOfEdges = async () =>
      new Map(
        features(decode((await get(tileUrl('network'))).rawPayload), 'network').map((f) => [
          Number(f.properties.id),
          f.properties.park,
        ]),
      );
    const before = await served();
    expect(await healthRun()).toBe(before.run_id);
    const parkBefore = await parkOfEdges();
    expect(parkBefore.size).toBeGreaterThan(50);
    // A newer complete run of the served dataset whose park distances are all 1 m longer.
    const { rows } = await sql.query<{ id: number }>(
      `INSERT INTO coverage_runs (dataset_id, rule_set_versions, status, finished_at, community_source)
       SELECT dataset_id, rule_set_versions, 'done', now(), community_source FROM coverage_runs WHERE id = $1 RETURNING id`,
      [before.run_id],
    );
    const newer = rows[0].id;
    try {
      await sql.query(
        `INSERT INTO edge_distances (run_id, edge_id, d)
         SELECT $2, edge_id, CASE WHEN d ? 'park' THEN jsonb_set(d, '{park}', to_jsonb((d->>'park')::float8 + 1)) ELSE d END
         FROM edge_distances WHERE run_id = $1`,
        [before.run_id, newer],
      );
      expect(await served()).toEqual({ dataset_id: before.dataset_id, run_id: newer });
      expect(await healthRun()).toBe(newer);
      const parkNewer = await parkOfEdges();
      let compared = 0;
      for (const [id, m] of parkBefore) {
        if (typeof m !== 'number') continue;
        expect(parkNewer.get(id), `edge ${id}`).toBeCloseTo(m + 1, 3);
        compared++;
      }
      expect(compared).toBeGreaterThan(25);
      // The newer run fails: tiles and API go back to the previous run together.
      await sql.query(`UPDATE coverage_runs SET status = 'failed' WHERE id = $1`, [newer]);
      expect(await served()).toEqual(before);
      expect(await healthRun()).toBe(before.run_id);
      expect(await parkOfEdges()).toEqual(parkBefore);
    } finally {
      await sql.query('DELETE FROM coverage_runs WHERE id = $1', [newer]);
    }
  });

  it('serves z15 network tiles the same every time', async () => {
    const url = tileUrl('network');
    const etag = (await get(url)).headers.etag;
    const runs = 300;
    for (let i = 0; i < runs; i++) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe(etag);
    }
  });
});

function bboxOf(geometry: Geometry): [number, number, number, number] {
  const coords: number[][] = [];
  const walk = (c: unknown): void => {
    if (typeof (c as number[])[0] === 'number') coords.push(c as number[]);
    else for (const inner of c as unknown[]) walk(inner);
  };
  walk('coordinates' in geometry ? geometry.coordinates : []);
  const lngs = coords.map((c) => c[0]);
  const lats = coords.map((c) => c[1]);
  return [Math.min(...lngs), Math.min(...lats), Math.max(...lngs), Math.max(...lats)];
}

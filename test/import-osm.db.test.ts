import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkability } from '../geo/walkability.ts';
import { importOsm } from '../server/import/import-osm.ts';
import { SHARED_DATA } from './global-setup.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { dropSupersededDatasets } from '../server/queries/datasets.ts';
import { createPool } from '../server/db/pool.ts';

const FIXTURE = path.join(SHARED_DATA, 'chenghua-shuangqiaozi-2018.osm');

/**
 * Ways of the file as osmium exports them (independent of our OPL reader): id, tags and the way's
 * line. Closed ways that osmium exports as areas (squares, roundabouts) come back as their ring.
 */
function exportedLines(
  file: string,
): { id: number; tags: Record<string, string>; geometry: { type: string; coordinates: number[][] } }[] {
  const out = execFileSync(
    'osmium',
    [
      'export',
      '-f',
      'geojsonseq',
      '-a',
      'type,id',
      '--geometry-types=linestring,polygon',
      '-x',
      'print_record_separator=false',
      '-o',
      '-',
      file,
    ],
    { encoding: 'utf8', maxBuffer: 256 << 20 },
  );
  const byId = new Map<
    number,
    { id: number; tags: Record<string, string>; geometry: { type: string; coordinates: number[][] } }
  >();
  for (const l of out.split('\n').filter(Boolean)) {
    const f = JSON.parse(l);
    if (f.properties['@type'] !== 'way') continue;
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(f.properties)) if (k[0] !== '@') tags[k] = String(v);
    const geometry =
      f.geometry.type === 'LineString' ? f.geometry : { type: 'LineString', coordinates: f.geometry.coordinates[0][0] };
    byId.set(f.properties['@id'], { id: f.properties['@id'], tags, geometry });
  }
  return [...byId.values()];
}

describe('OSM import of the Chenghua 双桥子 cut (real PostGIS)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let datasetId: number;

  beforeAll(async () => {
    db = await createTestDatabase('empty');
    pool = createPool(db.url, { max: 2 });
    datasetId = (await importOsm(pool, FIXTURE)).datasetId;
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('keeps every walkable way of the file, and only those', async () => {
    const walkable = new Set(
      exportedLines(FIXTURE)
        .filter((w) => w.tags.highway && walkability(w.tags).walkable)
        .map((w) => w.id),
    );
    const { rows } = await pool.query<{ osm_way_id: string }>(
      'SELECT DISTINCT osm_way_id FROM walk_edges WHERE dataset_id = $1',
      [datasetId],
    );
    const imported = new Set(rows.map((r) => Number(r.osm_way_id)));
    expect(walkable.size).toBeGreaterThan(300);
    expect([...walkable].filter((id) => !imported.has(id))).toEqual([]);
    expect([...imported].filter((id) => !walkable.has(id))).toEqual([]);
  });

  it('edge lengths add up to the geodesic length of the walkable ways within 0.1 %', async () => {
    const lines = exportedLines(FIXTURE).filter((w) => w.tags.highway && walkability(w.tags).walkable);
    const { rows } = await pool.query<{ ways_m: number; edges_m: number; geodesic_m: number }>(
      `SELECT (SELECT sum(ST_Length(ST_SetSRID(ST_GeomFromGeoJSON(g), 4326)::geography)) FROM unnest($2::text[]) g) AS ways_m,
              (SELECT sum(length_m) FROM walk_edges WHERE dataset_id = $1) AS edges_m,
              (SELECT sum(ST_Length(geom::geography)) FROM walk_edges WHERE dataset_id = $1) AS geodesic_m`,
      [datasetId, lines.map((l) => JSON.stringify(l.geometry))],
    );
    const { ways_m, edges_m, geodesic_m } = rows[0];
    expect(Math.abs(edges_m - geodesic_m) / geodesic_m).toBeLessThan(1e-9);
    expect(Math.abs(edges_m - ways_m) / ways_m).toBeLessThan(0.001);
  });

  it('edges meet only at shared nodes: every edge starts at its source and ends at its target', async () => {
    const { rows } = await pool.query<{ bad: string; edges: string; nodes_without_edges: string }>(
      `SELECT count(*) FILTER (WHERE NOT ST_Equals(ST_StartPoint(e.geom), s.geom) OR NOT ST_Equals(ST_EndPoint(e.geom), t.geom)) AS bad,
              count(*) AS edges,
              (SELECT count(*) FROM walk_nodes n WHERE n.dataset_id = $1 AND NOT EXISTS (SELECT 1 FROM walk_edges x WHERE x.source = n.id OR x.target = n.id)) AS nodes_without_edges
       FROM walk_edges e JOIN walk_nodes s ON s.id = e.source JOIN walk_nodes t ON t.id = e.target WHERE e.dataset_id = $1`,
      [datasetId],
    );
    expect(Number(rows[0].edges)).toBeGreaterThan(500);
    expect(Number(rows[0].bad)).toBe(0);
    expect(Number(rows[0].nodes_without_edges)).toBe(0);
    // No interior vertex of an edge is a node of another edge (edges were split at every shared node).
    const interior = await pool.query<{ n: string }>(
      `WITH interior AS (
         SELECT ST_AsBinary(p.geom) AS wkb FROM walk_edges e, LATERAL ST_DumpPoints(e.geom) p
         WHERE e.dataset_id = $1 AND p.path[1] NOT IN (1, ST_NPoints(e.geom)))
       SELECT count(*) AS n FROM interior i JOIN walk_nodes n ON n.dataset_id = $1 AND ST_AsBinary(n.geom) = i.wkb`,
      [datasetId],
    );
    expect(Number(interior.rows[0].n)).toBe(0);
  });

  it('counts parks and residential areas as the file has them', async () => {
    const polys = execFileSync(
      'osmium',
      [
        'export',
        '-f',
        'geojsonseq',
        '--geometry-types=polygon',
        '-x',
        'print_record_separator=false',
        '-o',
        '-',
        FIXTURE,
      ],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).properties as Record<string, string>);
    const { rows } = await pool.query<{ parks: string; areas: string }>(
      `SELECT (SELECT count(*) FROM facilities WHERE dataset_id = $1 AND category = 'park') AS parks,
              (SELECT count(*) FROM residential_areas WHERE dataset_id = $1 AND kind = 'landuse') AS areas`,
      [datasetId],
    );
    expect(Number(rows[0].parks)).toBe(polys.filter((p) => p.leisure === 'park').length);
    expect(Number(rows[0].areas)).toBe(polys.filter((p) => p.landuse === 'residential').length);
    expect(Number(rows[0].parks)).toBe(4);
    expect(Number(rows[0].areas)).toBe(44);
  });

  it('gives every park access points and every residential area a population marked as estimated', async () => {
    const { rows } = await pool.query<{ parks_without_access: string; unestimated: string }>(
      `SELECT (SELECT count(*) FROM facilities f WHERE f.dataset_id = $1 AND f.category = 'park'
                 AND NOT EXISTS (SELECT 1 FROM facility_access_points a WHERE a.facility_id = f.id)) AS parks_without_access,
              (SELECT count(*) FROM residential_areas WHERE dataset_id = $1 AND (population IS NULL OR population_source <> 'estimate')) AS unestimated`,
      [datasetId],
    );
    expect(Number(rows[0].parks_without_access)).toBe(0);
    expect(Number(rows[0].unestimated)).toBe(0);
  });

  it('records provenance: file name, sha256, bbox, counts', async () => {
    const { rows } = await pool.query(
      `SELECT source, sha256, ST_AsText(bbox) AS bbox, counts FROM datasets WHERE id = $1`,
      [datasetId],
    );
    expect(rows[0].source).toBe('chenghua-shuangqiaozi-2018.osm');
    expect(rows[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].bbox).toMatch(/^POLYGON/);
    expect(rows[0].counts.walk_edges).toBeGreaterThan(500);
  });

  describe('a bad file fails with a clear message and leaves the previous dataset intact', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-bad-osm-'));
    const cases: [string, () => string, RegExp][] = [
      [
        'truncated PBF',
        () => {
          const src = fs.readFileSync(path.join(SHARED_DATA, 'chengdu-central-2018.osm.pbf'));
          const f = path.join(tmp, 'truncated.osm.pbf');
          fs.writeFileSync(f, src.subarray(0, Math.floor(src.length / 2)));
          return f;
        },
        /cannot read OSM file|osmium/i,
      ],
      [
        'truncated XML',
        () => {
          const f = path.join(tmp, 'truncated.osm');
          fs.writeFileSync(f, fs.readFileSync(FIXTURE, 'utf8').slice(0, 200_000));
          return f;
        },
        /cannot read OSM file|osmium/i,
      ],
      [
        'empty file',
        () => {
          const f = path.join(tmp, 'empty.osm');
          fs.writeFileSync(f, '');
          return f;
        },
        /empty/i,
      ],
      [
        'junk bytes named .pbf',
        () => {
          const f = path.join(tmp, 'junk.osm.pbf');
          fs.writeFileSync(f, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
          return f;
        },
        /cannot read OSM file|osmium/i,
      ],
      ['missing file', () => path.join(tmp, 'nope.osm.pbf'), /not found/i],
      // A name longer than OSM allows (osmium itself stops at 1024 bytes).
      [
        'a name longer than OSM allows',
        () => {
          const f = path.join(tmp, 'long-name.osm');
          fs.writeFileSync(
            f,
            fs
              .readFileSync(FIXTURE, 'utf8')
              .replace(/<tag k="name" v="[^"]*"/, `<tag k="name" v="${'长'.repeat(300)}"`),
          );
          return f;
        },
        /^(node|way|relation) \d+, tag name: "长+…" is 300 characters long; at most 255 \(the OSM API's limit\); nothing imported$/,
      ],
    ];
    for (const [name, make, message] of cases) {
      it(name, async () => {
        const before = await pool.query(`SELECT id, sha256 FROM datasets ORDER BY id`);
        const edgesBefore = await pool.query(`SELECT count(*) FROM walk_edges`);
        await expect(importOsm(pool, make())).rejects.toThrow(message);
        expect((await pool.query(`SELECT id, sha256 FROM datasets ORDER BY id`)).rows).toEqual(before.rows);
        expect((await pool.query(`SELECT count(*) FROM walk_edges`)).rows).toEqual(edgesBefore.rows);
      });
    }
  });

  it('a second import keeps the first until it is complete, then replaces it; the next import after a failure works', async () => {
    const previous = (
      await pool.query<{ id: number }>(`SELECT max(id) AS id FROM datasets WHERE kind IN ('osm', 'sample_city')`)
    ).rows[0].id;
    const r = await importOsm(pool, FIXTURE);
    const { rows } = await pool.query<{ id: number }>(
      `SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city') ORDER BY id`,
    );
    expect(rows.map((x) => x.id)).toEqual([previous, r.datasetId]);
    // neither has coverage here, so the newest is served and the previous one is superseded
    expect(await dropSupersededDatasets(pool, 0, r.name)).toEqual([previous]);
    const after = await pool.query<{ id: number }>(`SELECT id FROM datasets WHERE kind IN ('osm', 'sample_city')`);
    expect(after.rows.map((x) => x.id)).toEqual([r.datasetId]);
    datasetId = r.datasetId;
  });
});

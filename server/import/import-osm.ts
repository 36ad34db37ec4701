import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { categoryOf, isGreenwayWay } from '../../geo/categories.ts';
import { DIR_BACKWARD, DIR_BOTH, DIR_FORWARD } from '../../geo/graph.ts';
import { edgeDirection, splitWays } from '../../geo/split-ways.ts';
import type { Tags } from '../../geo/walkability.ts';
import { readOsm, type OsmData } from './read-osm.ts';
import { BUILDING_DERIVED_SQL, deriveAccessPoints, DERIVE_LAYERS_SQL } from './derive-layers.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { copyRows } from '../db/copy-rows.ts';
import { lineEwkb, pointEwkb } from './ewkb.ts';
import { DATASET_NAME } from '../../api/datasets.ts';

/**
 * Walk edges from per-edge arrays ($2 source, $3 target, $4 highway, $5 name, $6 way id, $7 private,
 * $8 direction code (geo/graph.ts DIR_*), $9 WKT), dataset $1. length_m is the
 * geography length; cost / reverse_cost follow pgRouting (−1 = not allowed). Also used by the
 * benchmark's direct load of generated cities.
 */
export const WALK_EDGES_INSERT_SQL = `INSERT INTO walk_edges (dataset_id, source, target, length_m, cost, reverse_cost, highway, name, osm_way_id, is_private, geom)
       SELECT $1, s, t, len, CASE WHEN d IN (${DIR_BOTH}, ${DIR_FORWARD}) THEN len ELSE -1 END, CASE WHEN d IN (${DIR_BOTH}, ${DIR_BACKWARD}) THEN len ELSE -1 END, h, n, w, p, g
       FROM (SELECT s, t, h, n, w, p, d, g, ST_Length(g::geography) AS len
             FROM (SELECT s, t, h, n, w, p, d, ST_GeomFromText(wkt, 4326) AS g
                   FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bool[], $8::int[], $9::text[])
                        AS u(s, t, h, n, w, p, d, wkt)) a) b`;

export interface ImportOsmOptions {
  /** Dataset kind: 'osm' for real data, 'sample_city' for the generated demo city. */
  kind?: 'osm' | 'sample_city';
  isSample?: boolean;
  /** Name recorded as the source (defaults to the file's base name). */
  sourceName?: string;
  /**
   * The dataset's name (dataset= of every route; `^[a-z0-9][a-z0-9._-]{0,63}$`); defaults to
   * the file's base name (datasetNameOf). Importing under an existing name makes a new vintage
   * that replaces the old one once its first coverage run completes; other names stay served.
   */
  name?: string;
  /** Mark this dataset as the default (answers when a request names none). */
  isDefault?: boolean;
  progress?: Progress;
}

/**
 * The dataset name derived from an OSM file: its base name without `.osm`, `.pbf`, `.xml`, lower
 * case, other characters as '-' (`chengdu-central-2018.osm.pbf` → `chengdu-central-2018`).
 * migrations/0260 named existing datasets by the same rule.
 */
export function datasetNameOf(file: string): string {
  const base = path
    .basename(file)
    .replace(/(\.osm)?(\.pbf|\.xml|\.osm)$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return !base ? 'dataset' : /^[0-9]+$/.test(base) ? `dataset-${base}` : base;
}

export interface ImportOsmResult {
  datasetId: number;
  /** The dataset name it was imported under. */
  name: string;
  counts: Record<string, unknown>;
  seconds: number;
}

const WATER_AREA = (t: Tags) =>
  t.natural === 'water' ||
  t.waterway === 'riverbank' ||
  t.landuse === 'reservoir' ||
  t.landuse === 'basin' ||
  t.water !== undefined;
const GREEN_AREA = (t: Tags) =>
  ['park', 'garden', 'pitch', 'playground', 'nature_reserve', 'common'].includes(t.leisure ?? '') ||
  ['grass', 'forest', 'meadow', 'recreation_ground', 'village_green', 'cemetery'].includes(t.landuse ?? '') ||
  ['wood', 'scrub', 'grassland'].includes(t.natural ?? '');
const BARRIER_KINDS = new Set(['wall', 'fence', 'city_wall', 'retaining_wall']);
const PLACE_KINDS = new Set(['neighbourhood', 'quarter', 'suburb', 'village']);
/** Keys that make a building a place of work, trade or service rather than a home (README "Population"). */
const NON_RESIDENTIAL_KEYS = [
  'amenity',
  'shop',
  'office',
  'tourism',
  'craft',
  'healthcare',
  'leisure',
  'man_made',
  'public_transport',
  'railway',
  'aeroway',
  'power',
  'military',
  'industrial',
] as const;
/** Land uses where an untagged building=yes is not a home (README "Population"). */
const NON_RESIDENTIAL_LANDUSE = new Set([
  'industrial',
  'commercial',
  'retail',
  'education',
  'institutional',
  'military',
  'railway',
  'port',
  'garages',
  'religious',
  'construction',
  'brownfield',
  'quarry',
  'landfill',
  'depot',
  'cemetery',
  'greenhouse_horticulture',
]);
/** Sites that are not homes: non-residential land use, or an area tagged amenity (schools, hospitals, …), aeroway, military. */
const NON_RESIDENTIAL_SITE = (t: Tags) =>
  t.building === undefined &&
  (NON_RESIDENTIAL_LANDUSE.has(t.landuse ?? '') ||
    t.amenity !== undefined ||
    t.aeroway !== undefined ||
    t.military !== undefined);
const ENTRANCE = (t: Tags) =>
  t.entrance !== undefined || t.barrier === 'gate' || t.barrier === 'entrance' || t.barrier === 'lift_gate';

/**
 * SHA-256 of a file read as a stream (64 KiB at a time): constant memory, and files past 2 GiB
 * (where readFileSync refuses) hash like any other.
 */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 16 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function wayWkt(data: OsmData, refs: ArrayLike<number>): string | null {
  const parts: string[] = [];
  for (let k = 0; k < refs.length; k++) {
    const j = data.nodes.index.get(refs[k]);
    if (j !== undefined) parts.push(`${data.nodes.lng[j]} ${data.nodes.lat[j]}`);
  }
  return parts.length >= 2 ? `LINESTRING(${parts.join(',')})` : null;
}

/**
 * Import an OSM XML/PBF file as the active dataset, replacing the previous one atomically: all of
 * it lands in one transaction, so a failed or interrupted import leaves the old data untouched.
 */
export async function importOsm(pool: pg.Pool, file: string, options: ImportOsmOptions = {}): Promise<ImportOsmResult> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const kind = options.kind ?? 'osm';
  const name = options.name ?? (kind === 'sample_city' ? 'sample-city' : datasetNameOf(file));
  if (!DATASET_NAME.test(name))
    throw new Error(
      `dataset name ${JSON.stringify(name)} is not allowed: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, not all digits, at most 64 characters`,
    );
  progress.step(`reading ${path.basename(file)} with osmium`);
  if (!fs.existsSync(file)) throw new Error(`OSM file not found: ${file}`);
  const sha256 = await sha256File(file);
  const data = await readOsm(file, (d, t) => progress.update(d, t));
  progress.step('splitting walkable ways into edges');
  const net = splitWays(data.nodes, data.ways);
  if (net.edgeFrom.length === 0) throw new Error(`no walkable ways in ${file}: nothing to import`);

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL statement_timeout = 0`);
    // JIT compiling costs 0.3–0.6 s per statement here and gains nothing on PostGIS calls.
    await client.query(`SET LOCAL jit = off`);
    const bbox = data.fileBbox;
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO datasets (kind, source, sha256, bbox, is_sample, name, osm_timestamp, is_default)
       VALUES ($1, $2, $3, CASE WHEN $4::float8[] IS NULL THEN NULL ELSE ST_MakeEnvelope(($4::float8[])[1], ($4::float8[])[2], ($4::float8[])[3], ($4::float8[])[4], 4326) END, $5,
               $6, $7, $8 OR EXISTS (SELECT 1 FROM datasets WHERE name = $6 AND is_default))
       RETURNING id`,
      [
        kind,
        options.sourceName ?? path.basename(file),
        sha256,
        bbox,
        options.isSample ?? kind === 'sample_city',
        name,
        data.osmTimestamp,
        options.isDefault ?? false,
      ],
    );
    const datasetId = rows[0].id;
    // One default: a new vintage of the default name stays default; --default moves it here.
    if (options.isDefault)
      await client.query(`UPDATE datasets SET is_default = false WHERE is_default AND name <> $1`, [name]);

    progress.step(`writing ${net.nodeOsmId.length} nodes and ${net.edgeFrom.length} edges`);
    const gateOsm = new Set<number>();
    for (const [id, tags] of data.nodeTags) if (ENTRANCE(tags)) gateOsm.add(id);
    const nodeCount = net.nodeOsmId.length;
    await copyRows(
      client,
      'walk_nodes',
      ['dataset_id', 'osm_id', 'is_gate', 'is_private', 'geom'],
      (function* () {
        for (let g = 0; g < nodeCount; g++) {
          const j = data.nodes.index.get(net.nodeOsmId[g])!;
          yield [
            datasetId,
            net.nodeOsmId[g],
            gateOsm.has(net.nodeOsmId[g]),
            net.nodeIsPrivate[g] === 1,
            pointEwkb(data.nodes.lng[j], data.nodes.lat[j]),
          ];
        }
      })(),
    );
    // COPY wrote graph node g as the g-th row, and one session's sequence values ascend: the ids
    // in order are the nodes in order (checked against the OSM ids).
    const dbId = new Float64Array(nodeCount);
    const idRows = await client.query<[string, string]>({
      text: `SELECT id, osm_id FROM walk_nodes WHERE dataset_id = $1 ORDER BY id`,
      values: [datasetId],
      rowMode: 'array',
    });
    if (idRows.rows.length !== nodeCount)
      throw new Error(`walk_nodes: wrote ${nodeCount} rows, read back ${idRows.rows.length}`);
    for (let g = 0; g < nodeCount; g++) {
      const [id, osmId] = idRows.rows[g];
      if (Number(osmId) !== net.nodeOsmId[g])
        throw new Error(`walk_nodes: row ${g} is OSM node ${osmId}, expected ${net.nodeOsmId[g]}`);
      dbId[g] = Number(id);
    }
    idRows.rows.length = 0;
    await client.query(
      `CREATE TEMP TABLE import_edge_rows (ord int PRIMARY KEY, s bigint, t bigint, h text, n text, w bigint, p bool, d int, g geometry) ON COMMIT DROP`,
    );
    const edgeCount = net.edgeFrom.length;
    await copyRows(
      client,
      'import_edge_rows',
      ['ord', 's', 't', 'h', 'n', 'w', 'p', 'd', 'g'],
      (function* () {
        for (let e = 0; e < edgeCount; e++) {
          const way = data.ways[net.edgeWay[e]];
          const f = net.edgeFrom[e];
          const t = net.edgeTo[e];
          yield [
            e,
            dbId[f],
            dbId[t],
            way.tags.highway,
            way.tags.name ?? null,
            way.id,
            net.edgeIsPrivate[e] === 1,
            edgeDirection(net.edgeIsPrivate[e] === 1, net.nodeIsPrivate[f] === 1, net.nodeIsPrivate[t] === 1),
            lineEwkb(net.edgeCoords, net.edgeCoordOffset[e], net.edgeCoordOffset[e + 1]),
          ];
          if (e % 100_000 === 0) progress.update(e, edgeCount);
        }
      })(),
    );
    await client.query(`ANALYZE import_edge_rows`);
    // Fenced (OFFSET 0) so the geodesic length is computed once per edge, not once per reference.
    await client.query(
      `INSERT INTO walk_edges (dataset_id, source, target, length_m, cost, reverse_cost, highway, name, osm_way_id, is_private, geom)
       SELECT $1, s, t, len, CASE WHEN d IN (${DIR_BOTH}, ${DIR_FORWARD}) THEN len ELSE -1 END, CASE WHEN d IN (${DIR_BOTH}, ${DIR_BACKWARD}) THEN len ELSE -1 END, h, n, w, p, g
       FROM (SELECT ord, s, t, h, n, w, p, d, g, ST_Length(g::geography) AS len FROM import_edge_rows ORDER BY ord OFFSET 0) b
       ORDER BY ord`,
      [datasetId],
    );
    await client.query(`DROP TABLE import_edge_rows`);

    progress.step('writing facilities, areas, buildings, barriers and basemap');
    await writeLayers(client, datasetId, data, options.isSample ?? kind === 'sample_city', progress);

    progress.step('deriving access points, gated compounds, population estimates and community zones');
    for (const [label, sql] of DERIVE_LAYERS_SQL) {
      progress.step(`deriving: ${label}`);
      try {
        await client.query(sql, sql.includes('$1') ? [datasetId] : []);
      } catch (err) {
        throw new Error(`deriving ${label} failed: ${(err as Error).message}`);
      }
    }
    progress.step('deriving: facility access points');
    await deriveAccessPoints(client, datasetId, datasetId);

    // The previous dataset stays, and is served, until this one has a complete coverage run;
    // the compute that makes it removes the previous one (dropSupersededDatasets).
    progress.step('dropping boundaries, registers and population imports that belong to other data');
    for (const sql of DROP_FOREIGN_LAYERS_SQL) await client.query(sql, sql.includes('$1') ? [datasetId] : []);
    const counts = (await client.query<{ counts: Record<string, unknown> }>(DATASET_COUNTS_SQL, [datasetId])).rows[0]
      .counts;
    counts.walkable_ways = net.walkableWays;
    counts.ways_with_missing_nodes = net.waysWithMissingNodes;
    const seconds = (performance.now() - started) / 1000;
    await client.query(`UPDATE datasets SET counts = $2, import_seconds = $3 WHERE id = $1`, [
      datasetId,
      counts,
      seconds,
    ]);
    await client.query('COMMIT');
    progress.done(`imported dataset ${datasetId} in ${seconds.toFixed(1)} s`);
    return { datasetId, name, counts, seconds };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Layers imported for an earlier network dataset that do not belong to the new one ($1), README
 * "Datasets": shipped sample registers go unless a dataset served under another name holds them
 * (prepareDataset adds them back where the data lies in central Chengdu); over the generated sample city (an invented place) every register and
 * boundary goes; otherwise district and community boundaries that intersect neither the new data's
 * bbox nor that of a dataset served under another name (those stay served, with their layers), and
 * registers with no facility inside any of them. Population tables and grids belong to the network
 * they were distributed over.
 */
const OTHER_NAMES_BBOX = (geom: string) =>
  `EXISTS (SELECT 1 FROM datasets o WHERE o.kind IN ('osm', 'sample_city') AND o.name <> n.name
             AND (o.bbox IS NULL OR (${geom} && o.bbox AND ST_Intersects(${geom}, o.bbox))))`;
const DROP_FOREIGN_LAYERS_SQL = [
  `DELETE FROM datasets WHERE kind = 'population'`,
  `DELETE FROM datasets d USING datasets n WHERE n.id = $1 AND d.kind = 'facility_register' AND d.is_sample
     AND NOT EXISTS (SELECT 1 FROM facilities f WHERE f.dataset_id = d.id AND ${OTHER_NAMES_BBOX('f.geom')})`,
  `DELETE FROM datasets WHERE kind IN ('facility_register', 'communities', 'districts')
     AND (SELECT kind FROM datasets WHERE id = $1) = 'sample_city'`,
  `DELETE FROM districts dt USING datasets n WHERE n.id = $1 AND n.bbox IS NOT NULL AND NOT ST_Intersects(dt.geom, n.bbox)
     AND NOT ${OTHER_NAMES_BBOX('dt.geom')}`,
  `DELETE FROM communities c USING datasets n, datasets cd
   WHERE n.id = $1 AND n.bbox IS NOT NULL AND cd.id = c.dataset_id AND cd.kind = 'communities' AND NOT ST_Intersects(c.geom, n.bbox)
     AND NOT ${OTHER_NAMES_BBOX('c.geom')}`,
  `DELETE FROM datasets d WHERE d.kind IN ('communities', 'districts')
     AND NOT EXISTS (SELECT 1 FROM districts WHERE dataset_id = d.id) AND NOT EXISTS (SELECT 1 FROM communities WHERE dataset_id = d.id)`,
  `DELETE FROM datasets d USING datasets n WHERE n.id = $1 AND n.bbox IS NOT NULL AND d.kind = 'facility_register'
     AND NOT EXISTS (SELECT 1 FROM facilities f WHERE f.dataset_id = d.id AND f.geom && n.bbox AND ST_Intersects(f.geom, n.bbox))
     AND NOT EXISTS (SELECT 1 FROM facilities f WHERE f.dataset_id = d.id AND ${OTHER_NAMES_BBOX('f.geom')})`,
] as const;

const DATASET_COUNTS_SQL = `
  SELECT jsonb_build_object(
    'walk_nodes', (SELECT count(*) FROM walk_nodes WHERE dataset_id = $1),
    'walk_edges', (SELECT count(*) FROM walk_edges WHERE dataset_id = $1),
    'walk_length_km', (SELECT round((sum(length_m) / 1000)::numeric, 3) FROM walk_edges WHERE dataset_id = $1),
    'facilities', (SELECT coalesce(jsonb_object_agg(category, n), '{}') FROM (SELECT category, count(*) n FROM facilities WHERE dataset_id = $1 GROUP BY category) c),
    'residential_areas', (SELECT count(*) FROM residential_areas WHERE dataset_id = $1),
    'gated_compounds', (SELECT count(*) FROM residential_areas WHERE dataset_id = $1 AND is_gated),
    'buildings', (SELECT count(*) FROM buildings WHERE dataset_id = $1),
    'barriers', (SELECT count(*) FROM barriers WHERE dataset_id = $1),
    'places', (SELECT count(*) FROM places WHERE dataset_id = $1),
    'approximate_communities', (SELECT count(*) FROM communities WHERE dataset_id = $1)
  ) AS counts`;

async function writeLayers(
  client: pg.PoolClient,
  datasetId: number,
  data: OsmData,
  isSample: boolean,
  progress: Progress,
): Promise<void> {
  const source = isSample ? 'sample' : 'osm';
  const facilities: unknown[][] = [];
  const residential: unknown[][] = [];
  const buildings: unknown[][] = [];
  const nonResidentialSites: unknown[][] = [];
  const basemapAreas: unknown[][] = [];
  for (const a of data.areas) {
    const t = a.tags;
    const geojson = a.geometryJson;
    const cat = categoryOf(t);
    if (cat) facilities.push([cat.category, cat.subtype, t.name ?? null, geojson, source, a.ref]);
    if (t.landuse === 'residential') residential.push([a.ref, t.name ?? null, geojson, t.population ?? null]);
    if (t.building && t.building !== 'no')
      buildings.push([
        a.ref,
        t.building,
        t['building:levels'] ?? null,
        geojson,
        NON_RESIDENTIAL_KEYS.some((k) => t[k] !== undefined),
      ]);
    if (NON_RESIDENTIAL_SITE(t)) nonResidentialSites.push([geojson]);
    if (WATER_AREA(t))
      basemapAreas.push(['water', t.natural ?? t.waterway ?? t.landuse ?? 'water', t.name ?? null, geojson]);
    else if (GREEN_AREA(t))
      basemapAreas.push(['green', t.leisure ?? t.landuse ?? t.natural ?? 'green', t.name ?? null, geojson]);
    else if (t.landuse) basemapAreas.push(['landuse', t.landuse, t.name ?? null, geojson]);
  }
  const roads: unknown[][] = [];
  const barriers: unknown[][] = [];
  for (const w of data.ways) {
    const t = w.tags;
    if (
      t.highway ||
      (t.waterway && ['river', 'canal', 'stream'].includes(t.waterway)) ||
      (t.barrier && BARRIER_KINDS.has(t.barrier)) ||
      isGreenwayWay(t)
    ) {
      const wkt = wayWkt(data, w.refs);
      if (!wkt) continue;
      if (t.highway) roads.push([t.highway, t.name ?? null, wkt]);
      if (t.waterway && ['river', 'canal', 'stream'].includes(t.waterway))
        basemapAreas.push(['water', t.waterway, t.name ?? null, wkt]);
      if (t.barrier && BARRIER_KINDS.has(t.barrier)) barriers.push([t.barrier, w.id, wkt]);
      if (t.highway && isGreenwayWay(t))
        facilities.push(['greenway', 'greenway', t.name ?? null, wkt, source, `w${w.id}`]);
    }
  }
  const places: unknown[][] = [];
  const entrances: unknown[][] = [];
  for (const [id, t] of data.nodeTags) {
    const j = data.nodes.index.get(id);
    if (j === undefined) continue;
    const point = `POINT(${data.nodes.lng[j]} ${data.nodes.lat[j]})`;
    const cat = categoryOf(t);
    if (cat) facilities.push([cat.category, cat.subtype, t.name ?? null, point, source, `n${id}`]);
    if (t.place && PLACE_KINDS.has(t.place)) places.push([`n${id}`, t.place, t.name ?? null, point]);
    if (ENTRANCE(t)) entrances.push([id, t.barrier ?? `entrance=${t.entrance}`, point]);
  }
  const geom = (col: string) =>
    `CASE WHEN left(${col}, 1) = '{' THEN ST_SetSRID(ST_GeomFromGeoJSON(${col}), 4326) ELSE ST_GeomFromText(${col}, 4326) END`;
  // Each layer is COPYed into a scratch table with its row number, then inserted in one statement
  // in that order: the same rows, ids and expressions as row-by-row inserts, at COPY speed.
  // A computed geometry is made in a subquery fenced by `ORDER BY ord OFFSET 0`: a subquery the
  // planner flattens repeats its expression at every reference (ST_MakeValid, the GeoJSON parse and
  // the geodesic area once per use of the column, not once per row).
  const stage = async (table: string, columns: ReadonlyArray<readonly [string, string]>, r: unknown[][]) => {
    progress.step(`writing layer: ${r.length} ${table.replace(/^import_|_rows$/g, '').replace(/_/g, ' ')}`);
    await client.query(
      `CREATE TEMP TABLE ${table} (ord int PRIMARY KEY, ${columns.map(([c, t]) => `${c} ${t}`).join(', ')}) ON COMMIT DROP`,
    );
    await copyRows(
      client,
      table,
      ['ord', ...columns.map(([c]) => c)],
      (function* () {
        for (let i = 0; i < r.length; i++) yield [i, ...r[i]];
      })(),
    );
    r.length = 0;
    // With statistics (correlation 1) the inserts below read the rows in order through the key
    // instead of sorting every computed geometry (an on-disk sort past work_mem).
    await client.query(`ANALYZE ${table}`);
  };
  await stage(
    'import_facility_rows',
    [
      ['c', 'text'],
      ['s', 'text'],
      ['n', 'text'],
      ['g', 'text'],
      ['src', 'text'],
      ['ref', 'text'],
    ],
    facilities,
  );
  await client.query(
    `INSERT INTO facilities (dataset_id, category, subtype, name, geom, area_m2, source, source_ref, is_sample)
     SELECT $1, c, s, n, g, CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(g::geography) END, src, ref, $2
     FROM (SELECT ord, c, s, n, ST_MakeValid(${geom('g')}) AS g, src, ref FROM import_facility_rows ORDER BY ord OFFSET 0) v
     ORDER BY ord`,
    [datasetId, isSample],
  );
  await stage(
    'import_residential_rows',
    [
      ['ref', 'text'],
      ['n', 'text'],
      ['g', 'text'],
      ['p', 'text'],
    ],
    residential,
  );
  await client.query(
    `INSERT INTO residential_areas (dataset_id, osm_ref, name, geom, area_m2, population, population_source)
     SELECT $1, ref, n, g, ST_Area(g::geography), pop, CASE WHEN pop IS NULL THEN 'estimate' ELSE 'osm' END
     FROM (SELECT ord, ref, n, ST_Multi(ST_CollectionExtract(ST_MakeValid(${geom('g')}), 3)) AS g,
                  CASE WHEN p ~ '^[0-9]+(\\.[0-9]+)?$' THEN p::float8 END AS pop
           FROM import_residential_rows ORDER BY ord OFFSET 0) v
     WHERE NOT ST_IsEmpty(g)
     ORDER BY ord`,
    [datasetId],
  );
  // Buildings read the non-residential sites and the residential areas as they are inserted.
  await stage('import_site_rows', [['g', 'text']], nonResidentialSites);
  await client.query(
    `CREATE TEMP TABLE import_nonresidential_sites ON COMMIT DROP AS SELECT ST_MakeValid(${geom('g')})::geometry(Geometry, 4326) AS geom FROM import_site_rows ORDER BY ord`,
  );
  await client.query(`CREATE INDEX ON import_nonresidential_sites USING gist (geom)`);
  await client.query(`ANALYZE import_nonresidential_sites, residential_areas`);
  await stage(
    'import_building_rows',
    [
      ['ref', 'text'],
      ['b', 'text'],
      ['l', 'text'],
      ['g', 'text'],
      ['nr', 'bool'],
    ],
    buildings,
  );
  const bd = BUILDING_DERIVED_SQL;
  await client.query(
    `INSERT INTO buildings (dataset_id, osm_ref, building, levels, footprint_m2, has_nonresidential_tag, geom, is_residential, floor_area_m2, residential_area_id)
     SELECT $1, osm_ref, building, levels, footprint_m2, has_nonresidential_tag, geom, ${bd.isResidential}, ${bd.floorArea}, ${bd.residentialArea}
     FROM (SELECT ord, ref AS osm_ref, b AS building, CASE WHEN l ~ '^[0-9]{1,3}$' THEN l::int END AS levels, ST_Area(g::geography) AS footprint_m2, nr AS has_nonresidential_tag, g AS geom
           FROM (SELECT ord, ref, b, l, nr, ST_Multi(ST_CollectionExtract(ST_MakeValid(${geom('g')}), 3)) AS g FROM import_building_rows ORDER BY ord OFFSET 0) v
           WHERE NOT ST_IsEmpty(g) OFFSET 0) w
     ORDER BY ord`,
    [datasetId],
  );
  await stage(
    'import_basemap_area_rows',
    [
      ['l', 'text'],
      ['c', 'text'],
      ['n', 'text'],
      ['g', 'text'],
    ],
    basemapAreas,
  );
  await client.query(
    `INSERT INTO basemap_areas (dataset_id, layer, class, name, geom)
     SELECT $1, l, c, n, ST_MakeValid(${geom('g')}) FROM import_basemap_area_rows ORDER BY ord`,
    [datasetId],
  );
  await stage(
    'import_road_rows',
    [
      ['h', 'text'],
      ['n', 'text'],
      ['g', 'text'],
    ],
    roads,
  );
  await client.query(
    `INSERT INTO basemap_roads (dataset_id, highway, name, geom) SELECT $1, h, n, ST_GeomFromText(g, 4326) FROM import_road_rows ORDER BY ord`,
    [datasetId],
  );
  await stage(
    'import_barrier_rows',
    [
      ['k', 'text'],
      ['w', 'bigint'],
      ['g', 'text'],
    ],
    barriers,
  );
  await client.query(
    `INSERT INTO barriers (dataset_id, kind, osm_way_id, geom) SELECT $1, k, w, ST_GeomFromText(g, 4326) FROM import_barrier_rows ORDER BY ord`,
    [datasetId],
  );
  await stage(
    'import_place_rows',
    [
      ['r', 'text'],
      ['p', 'text'],
      ['n', 'text'],
      ['g', 'text'],
    ],
    places,
  );
  await client.query(
    `INSERT INTO places (dataset_id, osm_ref, place, name, geom) SELECT $1, r, p, n, ST_GeomFromText(g, 4326) FROM import_place_rows ORDER BY ord`,
    [datasetId],
  );
  await stage(
    'import_entrance_rows',
    [
      ['o', 'bigint'],
      ['k', 'text'],
      ['g', 'text'],
    ],
    entrances,
  );
  await client.query(
    `CREATE TEMP TABLE import_entrances ON COMMIT DROP AS SELECT o AS osm_id, k AS kind, ST_GeomFromText(g, 4326)::geometry(Point, 4326) AS geom FROM import_entrance_rows ORDER BY ord`,
  );
  for (const t of [
    'import_facility_rows',
    'import_residential_rows',
    'import_building_rows',
    'import_basemap_area_rows',
    'import_road_rows',
    'import_barrier_rows',
    'import_place_rows',
    'import_site_rows',
    'import_entrance_rows',
  ]) {
    await client.query(`DROP TABLE ${t}`);
  }
}

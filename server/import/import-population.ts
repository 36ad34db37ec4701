import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type pg from 'pg';
import { activeDataset } from '../queries/datasets.ts';
import { APPROXIMATE_ZONES_SQL } from './derive-layers.ts';
import { ImportValidationError, type RowProblem } from './import-facilities.ts';
import { insertBatches } from '../db/insert-batches.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { commandRuns, ensureDebianPackages } from '../ensure-debian-packages.ts';

/** Boundary level a population table's rows name (README "Population"). */
export type PopulationLevel = 'community' | 'street' | 'district';
export const POPULATION_LEVELS: readonly PopulationLevel[] = ['community', 'street', 'district'];

export interface ImportPopulationTableOptions {
  level: PopulationLevel;
  /** Column holding the community / street / district name (or, for districts, the adcode). */
  nameField: string;
  /** Column holding the resident count. */
  valueField: string;
  elderlyField?: string;
  childrenField?: string;
  progress?: Progress;
}

export interface ImportPopulationResult {
  datasetId: number;
  counts: {
    /** table rows or populated raster cells read */
    units: number;
    population: number;
    elderly: number | null;
    children: number | null;
    /** residential buildings that received a share */
    buildings: number;
    /** units with no residential building: spread over building-less residential areas by land area */
    units_on_areas: number;
    /** units with neither: placed at the unit's point (a residential area of kind 'grid_cell') */
    units_at_point: number;
  };
  warnings: string[];
  seconds: number;
}

/** GDAL's command-line tools (Debian gdal-bin), installed like osmium when missing and running as root. */
export function ensureGdal(): void {
  ensureDebianPackages(
    [{ name: 'gdal-bin', isInstalled: () => commandRuns('gdalinfo') && commandRuns('ogr2ogr') }],
    'importing population files',
  );
}

function gdal(tool: string, args: string[], maxBuffer = 1 << 30): string {
  ensureGdal();
  try {
    return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`${tool} failed on ${args[args.length - 1]}: ${stderr || (err as Error).message}`);
  }
}

/** Rows of a CSV (UTF-8, csv-parse) or of a spreadsheet GDAL reads (XLSX, ODS, …, via ogr2ogr to CSV). */
function readTable(file: string): Record<string, string>[] {
  const ext = path.extname(file).toLowerCase();
  const text =
    ext === '.csv' || ext === '.txt'
      ? fs.readFileSync(file, 'utf8')
      : gdal('ogr2ogr', ['-f', 'CSV', '/vsistdout/', file]);
  return parse(text, { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
}

const NUMBER = /^[0-9]+(\.[0-9]+)?$/;

interface Unit {
  name: string;
  value: number;
  elderly: number | null;
  children: number | null;
}

/**
 * Import a population table (CSV, or XLSX/ODS through GDAL): each row names a community, street or
 * district of the imported boundaries (communities: the imported ones, else the dataset's
 * approximate zones; districts also by adcode) and gives its residents, optionally elderly and
 * children. Each row's figures are distributed dasymetrically onto the residential buildings inside
 * its boundary by floor area (see {@link distributePopulation}), overriding the estimate there.
 * Bad rows (missing or negative numbers, unknown names, duplicates) import nothing and are named.
 */
export async function importPopulationTable(
  pool: pg.Pool,
  file: string,
  o: ImportPopulationTableOptions,
): Promise<ImportPopulationResult> {
  const started = performance.now();
  const progress = o.progress ?? silentProgress;
  const sourceName = path.basename(file);
  if (!fs.existsSync(file)) throw new Error(`population file not found: ${file}`);
  if (!POPULATION_LEVELS.includes(o.level))
    throw new Error(`--level must be one of ${POPULATION_LEVELS.join(', ')}, got ${JSON.stringify(o.level)}`);
  progress.step(`reading ${sourceName}`);
  const rows = readTable(file);
  if (rows.length === 0)
    throw new ImportValidationError(sourceName, [], false, `${sourceName} has no rows: nothing imported`);
  const header = Object.keys(rows[0]);
  for (const [option, field] of [
    ['--name-field', o.nameField],
    ['--value-field', o.valueField],
    ['--elderly-field', o.elderlyField],
    ['--children-field', o.childrenField],
  ] as const) {
    if (field !== undefined && !header.includes(field)) {
      throw new ImportValidationError(
        sourceName,
        [
          {
            line: 1,
            field,
            value: header.join(','),
            reason: `is not a column (${option}); the columns are those given`,
          },
        ],
        false,
        `${sourceName} has no column ${JSON.stringify(field)} (${option}); its columns: ${header.join(', ')}`,
      );
    }
  }
  const problems: RowProblem[] = [];
  const units: Unit[] = [];
  const seen = new Map<string, number>();
  const num = (line: number, field: string | undefined, required: boolean): number | null => {
    if (field === undefined) return null;
    const raw = (rows[line - 2][field] ?? '').replace(/,/g, '');
    if (raw === '' && !required) return null;
    if (!NUMBER.test(raw)) {
      problems.push({ line, field, value: rows[line - 2][field] ?? '', reason: 'is not a non-negative number' });
      return null;
    }
    return Number(raw);
  };
  rows.forEach((row, i) => {
    const line = i + 2;
    const name = (row[o.nameField] ?? '').trim();
    if (!name) problems.push({ line, field: o.nameField, value: '', reason: 'is missing' });
    else if (seen.has(name))
      problems.push({ line, field: o.nameField, value: name, reason: `repeats line ${seen.get(name)}` });
    else seen.set(name, line);
    const value = num(line, o.valueField, true);
    const elderly = num(line, o.elderlyField, false);
    const children = num(line, o.childrenField, false);
    if (value !== null && elderly !== null && elderly > value)
      problems.push({
        line,
        field: o.elderlyField!,
        value: String(elderly),
        reason: `exceeds ${o.valueField} ${value}`,
      });
    if (value !== null && children !== null && children > value)
      problems.push({
        line,
        field: o.childrenField!,
        value: String(children),
        reason: `exceeds ${o.valueField} ${value}`,
      });
    if (name && value !== null) units.push({ name, value, elderly, children });
  });
  if (problems.length) throw new ImportValidationError(sourceName, problems, false);

  const ds = await activeDataset(pool);
  if (!ds) throw new Error('no dataset loaded: import an OSM file first (npm run import -- osm <file>)');
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `CREATE TEMP TABLE import_population_units (unit int, name text, value float8, elderly float8, children float8, geom geometry) ON COMMIT DROP`,
    );
    await insertBatches(
      client,
      `INSERT INTO import_population_units (unit, name, value, elderly, children)
       SELECT * FROM unnest($1::int[], $2::text[], $3::float8[], $4::float8[], $5::float8[])`,
      [],
      Array.from(units.keys()),
      (k) => [k, units[k].name, units[k].value, units[k].elderly, units[k].children],
    );
    progress.step(
      `joining ${units.length} rows to the ${o.level} boundaries by name${o.level === 'district' ? ' or adcode' : ''}`,
    );
    await client.query(BOUNDARY_OF_UNIT_SQL[o.level], [ds.id]);
    const { rows: unmatched } = await client.query<{ unit: number; name: string }>(
      `SELECT unit, name FROM import_population_units WHERE geom IS NULL ORDER BY unit`,
    );
    if (unmatched.length) {
      const lineOf = (name: string) => seen.get(name)!;
      throw new ImportValidationError(
        sourceName,
        unmatched.map((u) => ({
          line: lineOf(u.name),
          field: o.nameField,
          value: u.name,
          reason: `names no imported ${o.level} boundary`,
        })),
        false,
      );
    }
    const result = await distributePopulation(
      client,
      ds.id,
      'census',
      { source: sourceName, sha256: sha256File(file), level: o.level },
      progress,
    );
    await client.query('COMMIT');
    return { ...result, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Boundaries of the table's names, into import_population_units.geom (the union of same-named
 * boundaries). Only boundaries in dataset $1's extent (migration 0310);
 * communities: imported ones when any lie there, else the dataset's approximate zones.
 */
const BOUNDARY_OF_UNIT_SQL: Record<PopulationLevel, string> = {
  community: `UPDATE import_population_units u SET geom = (
      SELECT ST_Union(c.geom) FROM communities c JOIN datasets d ON d.id = c.dataset_id
      WHERE c.name = u.name AND CASE community_source_of($1) WHEN 'imported' THEN d.kind = 'communities' AND ST_Intersects(c.geom, dataset_extent($1)) ELSE d.id = $1 END)`,
  street: `UPDATE import_population_units u SET geom = (
      SELECT ST_Union(c.geom) FROM communities c JOIN datasets d ON d.id = c.dataset_id
      WHERE c.street = u.name AND d.kind = 'communities' AND ST_Intersects(c.geom, dataset_extent($1)))`,
  district: `UPDATE import_population_units u SET geom = (
      SELECT ST_Union(dt.geom) FROM districts dt WHERE (dt.name = u.name OR dt.adcode = u.name) AND ST_Intersects(dt.geom, dataset_extent($1)))`,
};

export interface ImportPopulationGridOptions {
  /** Raster band holding residents per cell (default 1). */
  band?: number;
  progress?: Progress;
}

/**
 * Import a population raster (GHS-POP, WorldPop, …: residents per cell, any CRS GDAL reads). Each
 * cell is a polygon in the raster's CRS, brought to WGS 84 by PostGIS/PROJ from the raster's WKT;
 * cells with no data or 0 are skipped, and only cells meeting the dataset's bbox are read. A cell's
 * residents go onto the residential buildings within it by floor area, else onto building-less
 * residential areas by land area, else onto the cell centroid ({@link distributePopulation}).
 */
export async function importPopulationGrid(
  pool: pg.Pool,
  file: string,
  o: ImportPopulationGridOptions = {},
): Promise<ImportPopulationResult> {
  const started = performance.now();
  const progress = o.progress ?? silentProgress;
  const sourceName = path.basename(file);
  if (!fs.existsSync(file)) throw new Error(`population raster not found: ${file}`);
  const band = o.band ?? 1;
  progress.step(`reading ${sourceName} with GDAL`);
  const info = JSON.parse(gdal('gdalinfo', ['-json', file])) as {
    geoTransform?: number[];
    size: number[];
    coordinateSystem?: { wkt?: string };
    bands: { band: number; noDataValue?: number }[];
  };
  const gt = info.geoTransform;
  const wkt = info.coordinateSystem?.wkt;
  if (!gt || !wkt)
    throw new Error(
      `${sourceName} has no georeferencing (geotransform and coordinate system): not a population grid GDAL can place`,
    );
  if (gt[2] !== 0 || gt[4] !== 0)
    throw new Error(`${sourceName} is a rotated raster (geotransform ${gt.join(', ')}): warp it north-up first`);
  if (!info.bands.some((b) => b.band === band)) throw new Error(`${sourceName} has no band ${band}`);
  const noData = info.bands.find((b) => b.band === band)?.noDataValue;

  const ds = await activeDataset(pool);
  if (!ds) throw new Error('no dataset loaded: import an OSM file first (npm run import -- osm <file>)');
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Read only the window over the dataset's bbox, in the raster's own coordinates.
    const { rows: win } = await client.query<{ xmin: number; ymin: number; xmax: number; ymax: number }>(
      `SELECT ST_XMin(g) xmin, ST_YMin(g) ymin, ST_XMax(g) xmax, ST_YMax(g) ymax
       FROM (SELECT ST_Transform(ST_Segmentize(bbox, 0.001), $2::text) g FROM datasets WHERE id = $1) t`,
      [ds.id, wkt],
    );
    const w = win[0];
    const [x0, dx, , y0, , dy] = gt;
    const col0 = Math.max(0, Math.floor((w.xmin - x0) / dx) - 1);
    const col1 = Math.min(info.size[0], Math.ceil((w.xmax - x0) / dx) + 1);
    const rowA = Math.floor((w.ymax - y0) / dy);
    const rowB = Math.floor((w.ymin - y0) / dy);
    const row0 = Math.max(0, Math.min(rowA, rowB) - 1);
    const row1 = Math.min(info.size[1], Math.max(rowA, rowB) + 2);
    if (col1 <= col0 || row1 <= row0) throw new Error(`${sourceName} does not cover the active dataset's area`);
    const xyz = gdal('gdal_translate', [
      '-q',
      '-of',
      'XYZ',
      '-b',
      String(band),
      '-srcwin',
      String(col0),
      String(row0),
      String(col1 - col0),
      String(row1 - row0),
      file,
      '/vsistdout/',
    ]);
    const cells: [number, number, number, number][] = [];
    const problems: RowProblem[] = [];
    let k = 0;
    for (const line of xyz.split('\n')) {
      if (!line.trim()) continue;
      const [x, y, v] = line.trim().split(/\s+/).map(Number);
      const col = col0 + (k % (col1 - col0));
      const row = row0 + Math.floor(k / (col1 - col0));
      k++;
      if (!Number.isFinite(v) || v === noData || v === 0) continue;
      if (v < 0)
        problems.push({
          field: `band ${band} cell (row ${row}, column ${col})`,
          value: String(v),
          reason: 'is negative: not a resident count',
        });
      else cells.push([x, y, v, k]);
    }
    if (problems.length) throw new ImportValidationError(sourceName, problems, false);
    progress.step(`placing ${cells.length} populated cells`);
    await client.query(
      `CREATE TEMP TABLE import_population_units (unit int, name text, value float8, elderly float8, children float8, geom geometry) ON COMMIT DROP`,
    );
    const hx = Math.abs(dx) / 2;
    const hy = Math.abs(dy) / 2;
    await insertBatches(
      client,
      `INSERT INTO import_population_units (unit, name, value, geom)
       SELECT u, 'cell ' || u, v, ST_Transform(ST_MakeEnvelope(x - $1, y - $2, x + $1, y + $2), $3::text, 4326)
       FROM unnest($4::int[], $5::float8[], $6::float8[], $7::float8[]) AS t(u, x, y, v)`,
      [hx, hy, wkt],
      Array.from(cells.keys()),
      (i) => [cells[i][3], cells[i][0], cells[i][1], cells[i][2]],
    );
    await client.query(
      `DELETE FROM import_population_units u USING datasets d WHERE d.id = $1 AND NOT ST_Intersects(u.geom, d.bbox)`,
      [ds.id],
    );
    const result = await distributePopulation(
      client,
      ds.id,
      'grid',
      { source: sourceName, sha256: sha256File(file), band },
      progress,
    );
    await client.query('COMMIT');
    return { ...result, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Distribute the units in import_population_units (figures and WGS 84 geometry) over dataset $1,
 * overriding what was there:
 * 1. a unit with residential buildings (point on surface inside; the lowest unit where units
 *    overlap) gives each a share by floor area; building-less residential areas inside it get 0;
 * 2. else, its building-less residential areas share it by land area;
 * 3. else, a residential area of kind 'grid_cell' (the unit's outline, residents at its point on
 *    surface) carries it.
 * Residential areas then hold the sum of their buildings; group counts follow the same shares;
 * every touched figure takes the source `source`. Origins are dropped (the next compute remakes
 * them) and approximate zones re-derived so they cover any new area. Sums are preserved exactly.
 */
async function distributePopulation(
  client: pg.PoolClient,
  datasetId: number,
  source: 'census' | 'grid',
  provenance: Record<string, unknown>,
  progress: Progress,
): Promise<Omit<ImportPopulationResult, 'seconds'>> {
  progress.step('distributing residents onto residential buildings by floor area');
  await client.query(`CREATE INDEX ON import_population_units USING gist (geom)`);
  await client.query(`ANALYZE import_population_units`);
  const steps: [string, unknown[]][] = [
    [
      `INSERT INTO import_building_unit
     SELECT DISTINCT ON (b.id) b.id AS building_id, u.unit, b.floor_area_m2 AS w
     FROM buildings b JOIN import_population_units u ON u.geom && b.geom AND ST_Intersects(u.geom, ST_PointOnSurface(b.geom))
     WHERE b.dataset_id = $1::int AND b.is_residential AND b.floor_area_m2 > 0
     ORDER BY b.id, u.unit`,
      [datasetId],
    ],
    [
      `INSERT INTO import_area_unit
     SELECT DISTINCT ON (ra.id) ra.id AS area_id, u.unit, ra.area_m2 AS w
     FROM residential_areas ra JOIN import_population_units u ON u.geom && ra.geom AND ST_Intersects(u.geom, ST_PointOnSurface(ra.geom))
     WHERE ra.dataset_id = $1::int AND NOT EXISTS (SELECT 1 FROM buildings b WHERE b.residential_area_id = ra.id AND b.is_residential)
     ORDER BY ra.id, u.unit`,
      [datasetId],
    ],
    [
      `UPDATE buildings b SET population = u.value * bu.w / t.w, elderly = u.elderly * bu.w / t.w, children = u.children * bu.w / t.w,
            population_source = $1::text
     FROM import_building_unit bu
     JOIN import_population_units u ON u.unit = bu.unit
     JOIN (SELECT unit, sum(w) AS w FROM import_building_unit GROUP BY unit) t ON t.unit = bu.unit
     WHERE b.id = bu.building_id`,
      [source],
    ],
    [
      `UPDATE residential_areas ra
     SET population = CASE WHEN EXISTS (SELECT 1 FROM import_building_unit bu WHERE bu.unit = au.unit) OR t.w = 0 THEN 0 ELSE u.value * au.w / t.w END,
         elderly = CASE WHEN EXISTS (SELECT 1 FROM import_building_unit bu WHERE bu.unit = au.unit) OR t.w = 0 THEN 0 ELSE u.elderly * au.w / t.w END,
         children = CASE WHEN EXISTS (SELECT 1 FROM import_building_unit bu WHERE bu.unit = au.unit) OR t.w = 0 THEN 0 ELSE u.children * au.w / t.w END,
         population_source = $1::text
     FROM import_area_unit au
     JOIN import_population_units u ON u.unit = au.unit
     JOIN (SELECT unit, sum(w) AS w FROM import_area_unit GROUP BY unit) t ON t.unit = au.unit
     WHERE ra.id = au.area_id`,
      [source],
    ],
    [
      `INSERT INTO residential_areas (dataset_id, osm_ref, name, kind, geom, area_m2, population, elderly, children, population_source)
     SELECT $1::int, $2::text || ':' || u.unit, CASE WHEN $2::text = 'census' THEN u.name END, 'grid_cell',
            ST_Multi(ST_CollectionExtract(ST_MakeValid(u.geom), 3)), ST_Area(u.geom::geography), u.value, u.elderly, u.children, $2::text
     FROM import_population_units u
     WHERE NOT EXISTS (SELECT 1 FROM import_building_unit bu WHERE bu.unit = u.unit)
       AND NOT EXISTS (SELECT 1 FROM import_area_unit au WHERE au.unit = u.unit)`,
      [datasetId, source],
    ],
    // Areas holding buildings with new figures: the sum of their buildings (figures left outside
    // the units keep their source, the area takes the new one).
    [
      `UPDATE residential_areas ra SET population = s.p, elderly = s.e, children = s.c, population_source = $2::text
     FROM (SELECT b.residential_area_id AS id, sum(coalesce(b.population, 0)) AS p, sum(b.elderly) AS e, sum(b.children) AS c
           FROM buildings b WHERE b.dataset_id = $1::int AND b.is_residential GROUP BY b.residential_area_id) s
     WHERE ra.id = s.id AND EXISTS (SELECT 1 FROM buildings b JOIN import_building_unit bu ON bu.building_id = b.id WHERE b.residential_area_id = ra.id)`,
      [datasetId, source],
    ],
    [`DELETE FROM origins WHERE dataset_id = $1::int`, [datasetId]],
    [`DELETE FROM communities WHERE dataset_id = $1::int AND is_approximate`, [datasetId]],
  ];
  await client.query(`CREATE TEMP TABLE import_building_unit (building_id bigint, unit int, w float8) ON COMMIT DROP`);
  await client.query(`CREATE TEMP TABLE import_area_unit (area_id bigint, unit int, w float8) ON COMMIT DROP`);
  let unitsAtPoint = 0;
  for (const [sql, params] of steps) {
    const r = await client.query(sql, params);
    if (sql.includes(`'grid_cell'`)) unitsAtPoint = r.rowCount ?? 0;
  }
  await client.query(APPROXIMATE_ZONES_SQL, [datasetId]);
  const { rows } = await client.query<ImportPopulationResult['counts']>(
    `SELECT (SELECT count(*)::int FROM import_population_units) AS units,
            (SELECT coalesce(sum(value), 0) FROM import_population_units) AS population,
            (SELECT sum(elderly) FROM import_population_units) AS elderly,
            (SELECT sum(children) FROM import_population_units) AS children,
            (SELECT count(*)::int FROM import_building_unit) AS buildings,
            (SELECT count(DISTINCT unit)::int FROM import_area_unit au WHERE NOT EXISTS (SELECT 1 FROM import_building_unit bu WHERE bu.unit = au.unit)) AS units_on_areas,
            $1::int AS units_at_point`,
    [unitsAtPoint],
  );
  const counts = rows[0];
  const { rows: ds } = await client.query<{ id: number }>(
    `INSERT INTO datasets (kind, source, sha256, counts, category) VALUES ('population', $1, $2, $3, $4) RETURNING id`,
    [provenance.source, provenance.sha256, { ...counts, ...provenance }, source],
  );
  const warnings: string[] = [];
  if (counts.units_at_point)
    warnings.push(
      `${counts.units_at_point} ${source === 'grid' ? 'cells' : 'rows'} hold no residential building or area: their residents stand at the ${source === 'grid' ? 'cell centroid' : "boundary's point on surface"}`,
    );
  progress.done(
    `distributed ${Math.round(counts.population)} residents of ${counts.units} ${source === 'grid' ? 'cells' : 'rows'} onto ${counts.buildings} buildings`,
  );
  return { datasetId: ds[0].id, counts, warnings };
}

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { CATEGORIES, CATEGORY_IDS } from '../../geo/categories.ts';
import { deriveAccessPoints } from './derive-layers.ts';
import { readRegister, RegisterReadError, type RegisterTable } from './read-register.ts';
import { findColumns, type ColumnRole } from './register-columns.ts';
import {
  crsName,
  CRS_NAMES,
  toWgs84,
  geometriesToWgs84,
  parseRegisterCrs,
  positionProblem,
  positions,
  resolveRegisterCrs,
  type Geometry,
  type RegisterCrs,
} from './register-crs.ts';
import { insertBatches } from '../db/insert-batches.ts';
import { MAX_NAME_CHARS, MAX_NOTES_CHARS, textProblem } from '../limits.ts';
import { silentProgress, type Progress } from '../progress.ts';

/** One invalid row of a register or boundary file. */
export interface RowProblem {
  /** CSV: line in the file, the header being line 1. */
  line?: number;
  /** XLSX: the sheet row as Excel numbers it, the header being row 1. */
  row?: number;
  /** GeoJSON: index into `features`, from 0. */
  feature?: number;
  field: string;
  /** The value as found in the file. */
  value: string;
  /** Follows the quoted value: `"abc" is not a number`. */
  reason: string;
}

/** `line 7, field lat: "abc" is not a number` / `features[3], field name: "" is empty`. */
export function formatProblem(p: RowProblem): string {
  const where =
    p.line !== undefined
      ? `line ${p.line}`
      : p.row !== undefined
        ? `row ${p.row}`
        : p.feature !== undefined
          ? `features[${p.feature}]`
          : 'file';
  const value = p.value.length > 80 ? `${p.value.slice(0, 77)}…` : p.value;
  return `${where}, field ${p.field}: ${JSON.stringify(value)} ${p.reason}`;
}

/**
 * A file failed validation and nothing was imported. `skippable`: the problems are in single
 * rows, so the import can be retried with skipInvalid; otherwise the file as a whole is unusable.
 */
export class ImportValidationError extends Error {
  readonly file: string;
  readonly problems: readonly RowProblem[];
  readonly skippable: boolean;

  constructor(file: string, problems: readonly RowProblem[], skippable: boolean, summary?: string) {
    const n = problems.length;
    super(
      summary ??
        `${n} invalid ${n === 1 ? 'row' : 'rows'} in ${file}; nothing imported` +
          (skippable ? ' (--skip-invalid imports the valid ones)' : ''),
    );
    this.name = 'ImportValidationError';
    this.file = file;
    this.problems = problems;
    this.skippable = skippable;
  }
}

/** The file's bytes, its sha256 and its text; fails clearly on a non-UTF-8 (e.g. GBK) file. */
export function readUtf8File(file: string): { sha256: string; text: string } {
  const bytes = fs.readFileSync(file);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ImportValidationError(
      path.basename(file),
      [],
      false,
      `${path.basename(file)} is not valid UTF-8 (a GBK export from Excel?); save it as UTF-8 and import again`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { sha256, text };
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const MAX_INT4 = 2_147_483_647;

/** A decimal number written in the file (string or JSON number), or null when it is not one. */
export function parseDecimal(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || !DECIMAL.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : null;
}

/** Text of a file value for problem reports. */
export function displayValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export interface ImportFacilitiesOptions {
  /** One of CATEGORY_IDS; the register replaces the previous register of this category in the same place (of the same city, or overlapping). */
  category: string;
  /**
   * Coordinate system of the file: wgs84, gcj02, bd09, cgcs2000 or EPSG:<code>. May be left out
   * when the file declares its own (Shapefile .prj, GeoPackage SRS); given, it overrides that.
   */
  crs?: string;
  /** CSV (or Shapefile DBF) encoding: utf-8, gbk, gb18030; CSV is detected when absent. */
  encoding?: string;
  /** XLSX sheet or GeoPackage layer (the first when absent). */
  layer?: string;
  /** Columns by role, overriding the recognised headers (`--columns name=机构名称,lng=X坐标`). */
  columns?: Partial<Record<ColumnRole, string>>;
  /** Import the valid rows and report the invalid ones instead of importing nothing. */
  skipInvalid?: boolean;
  /** Keep rows outside the active street network's extent instead of refusing them. */
  allowOutsideNetwork?: boolean;
  /** Marks the dataset and its facilities as made-up sample data. */
  isSample?: boolean;
  /** Name recorded as the source (defaults to the file's base name). */
  sourceName?: string;
  progress?: Progress;
}

export interface RegisterCounts {
  /** Data rows (CSV, XLSX) or features (GeoJSON, Shapefile, GeoPackage) in the file. */
  rows: number;
  /** Facilities imported, by category (same shape as an OSM dataset's counts). */
  facilities: Record<string, number>;
  skipped_invalid: number;
}

/** An OSM facility a register polygon replaced (see {@link DUPLICATE_MIN_OVERLAP}). */
export interface ReplacedOsmFacility {
  /** The register row ('features[2]'). */
  ref: string;
  name: string;
  osmRef: string;
  osmName: string | null;
  /** Overlap as a share of the register polygon's and of the OSM polygon's area. */
  shareOfRegister: number;
  shareOfOsm: number;
}

export interface ImportFacilitiesResult {
  datasetId: number;
  counts: RegisterCounts;
  /** Invalid rows left out (only with skipInvalid). */
  skipped: RowProblem[];
  /** Notes for the user: skipped rows, ignored columns, replaced registers and OSM parks. */
  warnings: string[];
  /** Register datasets of the same category this import replaced. */
  replacedDatasetIds: number[];
  /** OSM parks and green spaces that register polygons replaced, one entry per pair. */
  replacedOsm: ReplacedOsmFacility[];
  /** The coordinate system the file was read in (datasets.crs). */
  crs: string;
  seconds: number;
}

/**
 * A register polygon duplicates an OSM park or green space when their overlap covers at least
 * this share of EACH polygon's geodesic area (a local choice: the same park drawn by two
 * surveyors overlaps 80–95 % both ways, while a 小游园 inside a large park covers only a small
 * share of the park, so it is added, not swapped for the park).
 */
export const DUPLICATE_MIN_OVERLAP = 0.5;

/** Dimension of each GeoJSON geometry type a register may hold (0 point, 1 line, 2 area). */
const GEOMETRY_DIMENSION: Readonly<Record<string, 0 | 1 | 2>> = {
  Point: 0,
  MultiPoint: 0,
  LineString: 1,
  MultiLineString: 1,
  Polygon: 2,
  MultiPolygon: 2,
};

interface RegisterRow {
  /** 'line 7', 'row 7' or 'features[3]': stored as facilities.source_ref. */
  ref: string;
  where: { line: number } | { row: number } | { feature: number };
  name: string;
  /** GeoJSON geometry in WGS 84 (after conversion). */
  geometry: { type: string; coordinates: unknown };
  capacity: number | null;
  address: string | null;
}

/** The features of a GeoJSON FeatureCollection and its declared CRS name, if any; fails on anything else. */
export function parseGeoJson(text: string, file: string): { features: unknown[]; crsName?: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ImportValidationError(file, [], false, `${file} is not valid JSON: ${(err as Error).message}`);
  }
  const fc = doc as { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } };
  if (typeof doc !== 'object' || doc === null || fc.type !== 'FeatureCollection' || !Array.isArray(fc.features)) {
    throw new ImportValidationError(file, [], false, `${file} is not a GeoJSON FeatureCollection`);
  }
  const crsName = fc.crs?.properties?.name;
  return { features: fc.features, crsName: typeof crsName === 'string' ? crsName : undefined };
}

// EPSG:4490 (CGCS2000) agrees with WGS 84 to well under a metre; GCJ-02/BD-09 files never declare themselves.
const LNG_LAT_CRS_NAMES = /^(urn:ogc:def:crs:(OGC:1\.3:CRS84|EPSG::(4326|4490))|EPSG:(4326|4490))$/i;

/** Warn when a GeoJSON file declares a CRS other than longitude/latitude. */
export function geoJsonCrsWarning(crsName: string | undefined): string | null {
  if (crsName === undefined || LNG_LAT_CRS_NAMES.test(crsName)) return null;
  return `the file declares the CRS "${crsName}"; coordinates are read as longitude/latitude in the --crs given`;
}

interface ActiveNetwork {
  id: number;
  minLng: number;
  minLat: number;
  maxLng: number;
  maxLat: number;
}

/** The active street network's dataset and extent (its file's bbox, else its nodes' extent), or null. */
async function activeNetwork(db: pg.Pool | pg.ClientBase): Promise<ActiveNetwork | null> {
  const { rows } = await db.query<{
    id: number;
    min_lng: number | null;
    min_lat: number;
    max_lng: number;
    max_lat: number;
  }>(
    `SELECT d.id, ST_XMin(b) AS min_lng, ST_YMin(b) AS min_lat, ST_XMax(b) AS max_lng, ST_YMax(b) AS max_lat
     FROM datasets d
     CROSS JOIN LATERAL (SELECT coalesce(d.bbox::box2d, (SELECT ST_Extent(geom) FROM walk_nodes WHERE dataset_id = d.id)) AS b) e
     WHERE d.kind IN ('osm', 'sample_city') ORDER BY d.id DESC LIMIT 1`,
  );
  const r = rows[0];
  if (!r) return null;
  if (r.min_lng === null) return { id: r.id, minLng: -180, minLat: -90, maxLng: 180, maxLat: 90 };
  return { id: r.id, minLng: r.min_lng, minLat: r.min_lat, maxLng: r.max_lng, maxLat: r.max_lat };
}

const isEmptyValue = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/**
 * Import a facility register as the register of `category`: CSV (UTF-8 or GBK/GB18030), XLSX,
 * GeoJSON, Shapefile (plain or zipped) or GeoPackage (see read-register.ts), with points (from a
 * geometry or from longitude/latitude columns found by header, see register-columns.ts), areas
 * (park and green-space registers) or lines (greenway registers), in any coordinate system of
 * register-crs.ts, converted to WGS 84.
 *
 * Every row is validated first, and checked against the guessable mistakes (metres as degrees,
 * swapped lng/lat, a Gauss-Krüger zone prefix, rows outside the active street network's extent;
 * WGS 84 points that land in water but would not as GCJ-02 give a warning). If any row is
 * invalid, nothing is imported and an {@link ImportValidationError} lists each problem (row,
 * field, value, reason); with `skipInvalid` the valid rows are imported and the invalid ones
 * returned in `skipped`. Then, in one transaction: a `datasets` row of kind 'facility_register',
 * the facilities (geodesic area_m2 for areas), their access points by the one entry rule for OSM
 * and register facilities ({@link deriveAccessPoints}) against the active network, the OSM parks
 * and green spaces that register areas duplicate marked replaced ({@link DUPLICATE_MIN_OVERLAP}),
 * and the deletion of the category's previous register(s) in the same place (migration 0310
 * layers_share_place: a Porto register leaves Chengdu's alone), so readers see the old register or
 * the new one, never both or neither. Concurrent imports of one category are serialised by an
 * advisory lock. O(rows) plus the spatial joins.
 */
export async function importFacilities(
  pool: pg.Pool,
  file: string,
  options: ImportFacilitiesOptions,
): Promise<ImportFacilitiesResult> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const sourceName = options.sourceName ?? path.basename(file);
  const category = options.category?.trim();
  if (!category || !CATEGORY_IDS.has(category)) {
    throw new ImportValidationError(
      sourceName,
      [
        {
          field: 'category',
          value: options.category ?? '',
          reason: `is not a category (one of ${[...CATEGORY_IDS].join(', ')})`,
        },
      ],
      false,
      `the category must be one of ${[...CATEGORY_IDS].join(', ')} (got ${options.category ? `"${options.category}"` : 'none'})`,
    );
  }
  const fileError = (message: string, problems: RowProblem[] = []) =>
    new ImportValidationError(sourceName, problems, false, message);

  progress.step(`reading ${sourceName}`);
  let table: RegisterTable;
  try {
    table = readRegister(file, { encoding: options.encoding, layer: options.layer });
  } catch (err) {
    if (err instanceof RegisterReadError) throw fileError(err.message.split(path.basename(file)).join(sourceName));
    throw err;
  }
  const warnings: string[] = [...table.notes];
  if (table.records.length === 0) throw fileError(`${sourceName} has no facilities: nothing to import`);

  let crs: RegisterCrs;
  if (options.crs !== undefined) {
    try {
      crs = parseRegisterCrs(options.crs);
    } catch (err) {
      throw fileError((err as Error).message, [
        { field: 'crs', value: options.crs, reason: `is not one of ${CRS_NAMES.join(', ')}` },
      ]);
    }
    if (table.srs)
      warnings.push(
        `the file declares ${table.srs.epsg ? `EPSG:${table.srs.epsg}` : table.srs.proj4}; read in --crs ${options.crs} as given`,
      );
  } else if (table.srs?.epsg === 4326) {
    crs = { kind: 'gcoord', crs: 'wgs84', label: 'EPSG:4326 (from the file)' };
  } else if (table.srs) {
    crs = {
      kind: 'srs',
      srid: table.srs.epsg,
      proj4: table.srs.epsg === null ? table.srs.proj4 : null,
      label: table.srs.epsg !== null ? `EPSG:${table.srs.epsg} (from the file)` : `the file's CRS (${table.srs.proj4})`,
    };
  } else {
    throw fileError(`${sourceName} does not say its coordinate system: give --crs (${CRS_NAMES.join(', ')})`);
  }
  try {
    crs = await resolveRegisterCrs(pool, crs);
  } catch (err) {
    throw fileError((err as Error).message);
  }

  const hasGeometry = table.records.some((r) => r.geometry !== null);
  const headerWhere = table.format === 'csv' ? { line: 1 } : table.format === 'xlsx' ? { row: 1 } : {};
  const { columns, problems: columnProblems } = findColumns(
    table.headers,
    hasGeometry ? ['name'] : ['name', 'lng', 'lat'],
    options.columns,
  );
  if (columnProblems.length) {
    throw fileError(
      `${sourceName} has an unusable header row: ${columnProblems.map((p) => `${p.role} ${p.reason}`).join('; ')}`,
      columnProblems.map((p) => ({ ...headerWhere, field: p.role, value: table.headers.join(','), reason: p.reason })),
    );
  }
  if (!hasGeometry) {
    const used = new Set(Object.values(columns));
    const ignored = table.headers.filter((h) => h !== '' && !used.has(h));
    if (ignored.length)
      warnings.push(
        `${table.format === 'xlsx' ? 'row' : 'line'} 1: ignored the column(s) ${ignored.map((c) => `"${c}"`).join(', ')}`,
      );
  }

  const areal = CATEGORIES.find((c) => c.id === category)!.areal;
  const problems: RowProblem[] = [];
  const valid: Array<Omit<RegisterRow, 'geometry'> & { source: Geometry; lngLatText: string }> = [];
  const firstSeen = new Map<string, string>();
  for (const r of table.records) {
    const rowProblems: RowProblem[] = [];
    const problem = (field: string, value: unknown, reason: string) =>
      rowProblems.push({ ...r.where, field, value: displayValue(value), reason });
    if (r.readProblem) problem(r.readProblem.field, r.readProblem.value, r.readProblem.reason);
    const nameField = columns.name ?? 'name';
    const rawName = columns.name ? r.props[columns.name] : undefined;
    const name = typeof rawName === 'string' ? rawName.trim() : typeof rawName === 'number' ? String(rawName) : '';
    if (name === '' && !r.readProblem)
      problem(nameField, rawName, rawName === undefined || rawName === null ? 'is missing' : 'is empty');
    const nameProblem = textProblem(name, MAX_NAME_CHARS);
    if (nameProblem) problem(nameField, name, nameProblem);
    let capacity: number | null = null;
    const rawCapacity = columns.capacity ? r.props[columns.capacity] : undefined;
    if (columns.capacity && !isEmptyValue(rawCapacity)) {
      const n = parseDecimal(rawCapacity);
      if (n === null) problem(columns.capacity, rawCapacity, 'is not a number');
      else if (!Number.isInteger(n)) problem(columns.capacity, rawCapacity, 'is not a whole number');
      else if (n < 0) problem(columns.capacity, rawCapacity, 'is negative');
      else if (n > MAX_INT4) problem(columns.capacity, rawCapacity, `is larger than ${MAX_INT4}`);
      else capacity = n;
    }
    const rawAddress = columns.address ? r.props[columns.address] : undefined;
    const address =
      typeof rawAddress === 'string'
        ? rawAddress.trim() || null
        : typeof rawAddress === 'number'
          ? String(rawAddress)
          : null;
    const addressProblem = address === null ? null : textProblem(address, MAX_NOTES_CHARS);
    if (addressProblem) problem(columns.address ?? 'address', address, addressProblem);

    let source: Geometry | null = null;
    let lngLatText = '';
    if (r.geometry) {
      let g: Geometry = r.geometry;
      const dim = GEOMETRY_DIMENSION[g.type];
      const pts = positions(g.coordinates);
      if (g.type === 'MultiPoint' && pts.length === 1) g = { type: 'Point', coordinates: pts[0] };
      if (dim === undefined)
        problem('geometry', g.type, 'is not a Point, LineString or Polygon (or their Multi- forms)');
      else if (g.type === 'MultiPoint')
        problem('geometry', `MultiPoint of ${pts.length}`, 'has more than one point: give one point per row');
      else if (dim === 2 && !areal)
        problem(
          'geometry',
          g.type,
          `is an area, but ${category} facilities are points (areas are for ${CATEGORIES.filter((c) => c.areal)
            .map((c) => c.id)
            .join(', ')})`,
        );
      else if (dim === 1 && category !== 'greenway')
        problem('geometry', g.type, 'is a line, but only greenway registers take lines');
      else if (
        pts.length === 0 ||
        pts.some(
          (p) =>
            p.length < 2 ||
            typeof p[0] !== 'number' ||
            typeof p[1] !== 'number' ||
            !Number.isFinite(p[0]) ||
            !Number.isFinite(p[1]),
        )
      ) {
        problem('coordinates', JSON.stringify(g.coordinates), 'are not numeric positions');
      } else {
        for (const p of pts) {
          const bad = positionProblem(p[0], p[1], crs);
          if (bad) {
            problem(bad.axis === 'x' ? 'geometry x' : 'geometry y', String(bad.axis === 'x' ? p[0] : p[1]), bad.reason);
            break;
          }
        }
        if (rowProblems.length === 0) source = g;
        lngLatText = `${pts[0][0]},${pts[0][1]}`;
      }
    } else if (hasGeometry) {
      problem('geometry', '', 'is missing');
    } else if (!r.readProblem || r.readProblem.field === 'row') {
      const lngField = columns.lng!;
      const latField = columns.lat!;
      const rawLng = r.props[lngField];
      const rawLat = r.props[latField];
      const lng = parseDecimal(rawLng);
      const lat = parseDecimal(rawLat);
      if (lng === null) problem(lngField, rawLng, 'is not a number');
      if (lat === null) problem(latField, rawLat, 'is not a number');
      if (lng !== null && lat !== null) {
        const bad = positionProblem(lng, lat, crs);
        if (bad) problem(bad.axis === 'x' ? lngField : latField, bad.axis === 'x' ? rawLng : rawLat, bad.reason);
        else if (rowProblems.length === 0) {
          source = { type: 'Point', coordinates: [lng, lat] };
          lngLatText = `${displayValue(rawLng)},${displayValue(rawLat)}`;
        }
      }
    }
    if (rowProblems.length === 0 && source?.type === 'Point') {
      const key = `${name}\u0000${JSON.stringify(source.coordinates)}`;
      const first = firstSeen.get(key);
      if (first !== undefined) problem(nameField, name, `duplicates ${first} (same name, lng and lat)`);
      else firstSeen.set(key, r.ref);
    }
    if (rowProblems.length) problems.push(...rowProblems);
    else valid.push({ ref: r.ref, where: r.where, name, capacity, address, source: source!, lngLatText });
  }

  let converted: Geometry[];
  try {
    converted = await geometriesToWgs84(
      pool,
      valid.map((v) => v.source),
      crs,
    );
  } catch (err) {
    throw fileError(`${sourceName}: converting from ${crs.label} to WGS 84 failed: ${(err as Error).message}`);
  }
  let rows: RegisterRow[] = valid.map((v, i) => ({
    ref: v.ref,
    where: v.where,
    name: v.name,
    capacity: v.capacity,
    address: v.address,
    geometry: converted[i],
  }));

  const network = await activeNetwork(pool);
  if (network && !options.allowOutsideNetwork) {
    const n = network;
    const outside = rows.filter((r) => {
      const pts = positions(r.geometry.coordinates);
      return !pts.some((p) => p[0] >= n.minLng && p[0] <= n.maxLng && p[1] >= n.minLat && p[1] <= n.maxLat);
    });
    if (outside.length) {
      const extent = `${n.minLng.toFixed(4)}–${n.maxLng.toFixed(4)} E, ${n.minLat.toFixed(4)}–${n.maxLat.toFixed(4)} N`;
      const text = new Map(valid.map((v) => [v.ref, v.lngLatText]));
      for (const r of outside) {
        problems.push({
          ...r.where,
          field: hasGeometry ? 'geometry' : `${columns.lng},${columns.lat}`,
          value: text.get(r.ref) ?? '',
          reason: `lies outside the street network's extent (${extent}; ${outside.length} of ${table.records.length} rows do): wrong --crs, or import the OSM of that area, or --allow-outside`,
        });
      }
      const out = new Set(outside);
      rows = rows.filter((r) => !out.has(r));
    }
  }
  problems.sort((a, b) => (a.line ?? a.row ?? a.feature ?? 0) - (b.line ?? b.row ?? b.feature ?? 0));

  // WGS 84 points in water that GCJ-02 would put on land: an AMap/Tencent export read as WGS 84.
  if (network && rows.length && (crs.kind === 'gcoord' ? crs.crs === 'wgs84' : crs.srid === 4490)) {
    const points = valid.filter((v) => v.source.type === 'Point');
    if (points.length) {
      const asRead = points.map((v) => v.source.coordinates as number[]);
      const asGcj = asRead.map((p) => toWgs84([p[0], p[1]], 'gcj02'));
      const { rows: wet } = await pool.query<{ i: string; wet: boolean; wet_gcj: boolean }>(
        `WITH p AS (SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS wgs, ST_SetSRID(ST_MakePoint(gx, gy), 4326) AS gcj
                    FROM unnest($2::float8[], $3::float8[], $4::float8[], $5::float8[]) WITH ORDINALITY AS u(x, y, gx, gy, i))
         SELECT i,
           EXISTS (SELECT 1 FROM basemap_areas a WHERE a.dataset_id = $1 AND a.layer = 'water' AND ST_Dimension(a.geom) = 2 AND ST_Intersects(a.geom, p.wgs)) AS wet,
           EXISTS (SELECT 1 FROM basemap_areas a WHERE a.dataset_id = $1 AND a.layer = 'water' AND ST_Dimension(a.geom) = 2 AND ST_Intersects(a.geom, p.gcj)) AS wet_gcj
         FROM p ORDER BY i`,
        [network.id, asRead.map((p) => p[0]), asRead.map((p) => p[1]), asGcj.map((p) => p[0]), asGcj.map((p) => p[1])],
      );
      const wetRefs = wet.filter((w) => w.wet).map((w) => points[Number(w.i) - 1].ref);
      const wetGcj = wet.filter((w) => w.wet_gcj).length;
      if (wetRefs.length > wetGcj) {
        warnings.push(
          `${wetRefs.length} of ${points.length} points land in water when read as ${crs.label} (${wetRefs.join(', ')}), ` +
            `${wetGcj} when read as GCJ-02: the file looks like GCJ-02 (AMap, Tencent); if so, import it with --crs gcj02`,
        );
      }
    }
  }

  const skippedRows = new Set(problems.map((p) => p.line ?? p.row ?? p.feature)).size;
  if (problems.length && !options.skipInvalid) throw new ImportValidationError(sourceName, problems, true);
  if (rows.length === 0)
    throw new ImportValidationError(sourceName, problems, false, `no valid rows in ${sourceName}: nothing imported`);
  if (problems.length)
    warnings.unshift(
      `skipped ${skippedRows} invalid ${skippedRows === 1 ? 'row' : 'rows'}:`,
      ...problems.map(formatProblem),
    );

  const isSample = options.isSample ?? false;
  const crsText = crsName(crs);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('facility_register:' || $1))`, [category]);
    const { rows: ds } = await client.query<{ id: number }>(
      `INSERT INTO datasets (kind, source, sha256, is_sample, category, crs) VALUES ('facility_register', $1, $2, $3, $4, $5) RETURNING id`,
      [sourceName, table.sha256, isSample, category, crsText],
    );
    const datasetId = ds[0].id;
    progress.step(`writing ${rows.length} ${category} facilities`);
    await insertBatches(
      client,
      `INSERT INTO facilities (dataset_id, category, name, geom, area_m2, capacity, address, source, source_ref, is_sample)
       SELECT $1, $2, n, g, CASE WHEN ST_Dimension(g) = 2 THEN ST_Area(g::geography) END, c, a, $3, r, $4
       FROM (SELECT n, CASE WHEN GeometryType(g0) = 'POINT' THEN g0 ELSE ST_MakeValid(g0) END AS g, c, a, r
             FROM unnest($5::text[], $6::text[], $7::int[], $8::text[], $9::text[]) AS u(n, gj, c, a, r)
             CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_GeomFromGeoJSON(gj), 4326) AS g0) v) w`,
      [datasetId, category, `register:${sourceName}`, isSample],
      rows,
      (r) => [r.name, JSON.stringify(r.geometry), r.capacity, r.address, r.ref],
      (d, t) => progress.update(d, t),
    );
    progress.step('deriving access points');
    await deriveAccessPoints(client, datasetId, network?.id ?? null);
    if (!network && rows.some((r) => r.geometry.type !== 'Point')) {
      warnings.push(
        'no street network is imported yet: areas and lines got no access points (import the OSM first, then this register again)',
      );
    }
    let replacedOsm: ReplacedOsmFacility[] = [];
    if (network && areal) {
      const { rows: dup } = await client.query<{
        ref: string;
        name: string;
        osm_ref: string;
        osm_name: string | null;
        share_reg: number;
        share_osm: number;
      }>(
        `WITH pairs AS (
           SELECT r.id AS reg_id, r.source_ref AS ref, r.name, o.id AS osm_id, o.source_ref AS osm_ref, o.name AS osm_name,
                  ST_Area(ST_Intersection(r.geom, o.geom)::geography) AS overlap_m2, r.area_m2 AS reg_m2, o.area_m2 AS osm_m2
           FROM facilities r
           JOIN facilities o ON o.dataset_id = $2 AND o.category IN ('park', 'green_space') AND ST_Dimension(o.geom) = 2
                             AND o.geom && r.geom AND ST_Intersects(o.geom, r.geom)
           WHERE r.dataset_id = $1 AND ST_Dimension(r.geom) = 2
         ), dup AS (
           SELECT DISTINCT ON (osm_id) * FROM pairs
           WHERE reg_m2 > 0 AND osm_m2 > 0 AND overlap_m2 >= $3 * reg_m2 AND overlap_m2 >= $3 * osm_m2
           ORDER BY osm_id, overlap_m2 DESC
         ), upd AS (
           UPDATE facilities f SET replaced_by = dup.reg_id FROM dup WHERE f.id = dup.osm_id RETURNING f.id
         )
         SELECT ref, name, osm_ref, osm_name, overlap_m2 / reg_m2 AS share_reg, overlap_m2 / osm_m2 AS share_osm FROM dup ORDER BY reg_id, osm_id`,
        [datasetId, network.id, DUPLICATE_MIN_OVERLAP],
      );
      replacedOsm = dup.map((d) => ({
        ref: d.ref,
        name: d.name,
        osmRef: d.osm_ref,
        osmName: d.osm_name,
        shareOfRegister: d.share_reg,
        shareOfOsm: d.share_osm,
      }));
      for (const d of replacedOsm) {
        warnings.push(
          `${d.ref} (${d.name}) replaces OSM ${category === 'park' ? 'park' : 'area'} ${d.osmRef}${d.osmName ? ` (${d.osmName})` : ''}: ` +
            `they overlap ${Math.round(d.shareOfRegister * 100)} % of the register's area and ${Math.round(d.shareOfOsm * 100)} % of the OSM one's`,
        );
      }
    }
    const { rows: replaced } = await client.query<{ id: number }>(
      `DELETE FROM datasets WHERE kind = 'facility_register' AND category = $1 AND id <> $2 AND layers_share_place(id, $2) RETURNING id`,
      [category, datasetId],
    );
    const replacedDatasetIds = replaced.map((r) => r.id).sort((a, b) => a - b);
    if (replacedDatasetIds.length)
      warnings.push(`replaced the previous ${category} register (dataset ${replacedDatasetIds.join(', ')})`);
    const counts: RegisterCounts = {
      rows: table.records.length,
      facilities: { [category]: rows.length },
      skipped_invalid: skippedRows,
    };
    const seconds = (performance.now() - started) / 1000;
    await client.query(
      `UPDATE datasets SET counts = $2, import_seconds = $3,
         bbox = (SELECT ST_MakeEnvelope(ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), 4326) FROM (SELECT ST_Extent(geom) AS e FROM facilities WHERE dataset_id = $1) x)
       WHERE id = $1`,
      [datasetId, counts, seconds],
    );
    await client.query('COMMIT');
    progress.done(`imported ${rows.length} ${category} facilities as dataset ${datasetId} in ${seconds.toFixed(1)} s`);
    return { datasetId, counts, skipped: problems, warnings, replacedDatasetIds, replacedOsm, crs: crsText, seconds };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

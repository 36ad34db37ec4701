import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parse as parseCsv, CsvError, type Info as CsvInfo } from 'csv-parse/sync';
import type gcoordModule from 'gcoord';
import type pg from 'pg';
import { CATEGORY_IDS } from '../../geo/categories.ts';
import { insertBatches } from './insert-batches.ts';
import { MAX_NAME_CHARS, MAX_NOTES_CHARS, textProblem } from '../limits.ts';
import { silentProgress, type Progress } from './progress.ts';

/** Coordinate systems a register or boundary file may use. */
export type SourceCrs = 'wgs84' | 'gcj02' | 'bd09';
export const SOURCE_CRS: readonly SourceCrs[] = ['wgs84', 'gcj02', 'bd09'];

/**
 * Rough extent of China (degrees). GCJ-02 and BD-09 are only defined there: outside it the
 * conversion libraries return the input unchanged, so a point outside is a data error, not a
 * location.
 */
export const CHINA_BBOX = { minLng: 73, maxLng: 136, minLat: 3, maxLat: 54 } as const;

// gcoord is CommonJS (`module.exports = {…}`) while its typings declare an ES default export.
const gcoord = createRequire(import.meta.url)('gcoord') as typeof gcoordModule.default;
const GCOORD_CRS = { wgs84: gcoord.WGS84, gcj02: gcoord.GCJ02, bd09: gcoord.BD09 } as const;
// gcoord stops its GCJ-02 inversion at 1e-6° (about 0.1 m); refine to 1e-9° (about 0.1 mm).
const INVERSE_TOLERANCE_DEG = 1e-9;

/** The CRS named by `value`, or an error listing the accepted names. */
export function parseSourceCrs(value: string | undefined): SourceCrs {
  const crs = value?.trim().toLowerCase();
  if (crs && (SOURCE_CRS as readonly string[]).includes(crs)) return crs as SourceCrs;
  throw new Error(`the coordinate system must be one of ${SOURCE_CRS.join(', ')} (got ${value === undefined ? 'none' : `"${value}"`})`);
}

/**
 * Convert `[lng, lat]` from `crs` to WGS 84 with gcoord (BD-09 → GCJ-02 → WGS 84). The GCJ-02
 * inverse is iterated until the forward transform reproduces the input within 1e-9°. The input
 * must lie inside {@link CHINA_BBOX} for gcj02/bd09 (see {@link lngLatProblem}).
 */
export function toWgs84(lngLat: readonly [number, number], crs: SourceCrs): [number, number] {
  if (crs === 'wgs84') return [lngLat[0], lngLat[1]];
  const gcj: [number, number] =
    crs === 'bd09' ? gcoord.transform<[number, number]>([lngLat[0], lngLat[1]], gcoord.BD09, gcoord.GCJ02) : [lngLat[0], lngLat[1]];
  const wgs = gcoord.transform<[number, number]>([gcj[0], gcj[1]], gcoord.GCJ02, gcoord.WGS84);
  for (let k = 0; k < 5; k++) {
    const back = gcoord.transform<[number, number]>([wgs[0], wgs[1]], gcoord.WGS84, gcoord.GCJ02);
    const dLng = back[0] - gcj[0];
    const dLat = back[1] - gcj[1];
    if (Math.abs(dLng) < INVERSE_TOLERANCE_DEG && Math.abs(dLat) < INVERSE_TOLERANCE_DEG) break;
    wgs[0] -= dLng;
    wgs[1] -= dLat;
  }
  return wgs;
}

/** Convert WGS 84 `[lng, lat]` to `crs` (used to write sample files in the CRS a provider would give). */
export function fromWgs84(lngLat: readonly [number, number], crs: SourceCrs): [number, number] {
  if (crs === 'wgs84') return [lngLat[0], lngLat[1]];
  return gcoord.transform<[number, number]>([lngLat[0], lngLat[1]], gcoord.WGS84, GCOORD_CRS[crs]);
}

/** Why a coordinate pair cannot be used in `crs`, as a {@link RowProblem} field/reason, or null. */
export function lngLatProblem(lng: number, lat: number, crs: SourceCrs): { field: 'lng' | 'lat'; reason: string } | null {
  if (lng < -180 || lng > 180) return { field: 'lng', reason: 'is outside -180…180' };
  if (lat < -90 || lat > 90) return { field: 'lat', reason: 'is outside -90…90' };
  if (crs !== 'wgs84') {
    const b = CHINA_BBOX;
    const name = crs === 'gcj02' ? 'GCJ-02' : 'BD-09';
    if (lng < b.minLng || lng > b.maxLng) return { field: 'lng', reason: `is outside China (${b.minLng}–${b.maxLng} E), where ${name} is not defined` };
    if (lat < b.minLat || lat > b.maxLat) return { field: 'lat', reason: `is outside China (${b.minLat}–${b.maxLat} N), where ${name} is not defined` };
  }
  return null;
}

/** One invalid row of a register or boundary file. */
export interface RowProblem {
  /** CSV: line in the file, the header being line 1. */
  line?: number;
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
  const where = p.line !== undefined ? `line ${p.line}` : p.feature !== undefined ? `features[${p.feature}]` : 'file';
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
    throw new ImportValidationError(path.basename(file), [], false,
      `${path.basename(file)} is not valid UTF-8 (a GBK export from Excel?); save it as UTF-8 and import again`);
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
  /** One of CATEGORY_IDS; the register replaces the previous register of this category. */
  category: string;
  /** Coordinate system of the file. */
  crs: SourceCrs;
  /** Import the valid rows and report the invalid ones instead of importing nothing. */
  skipInvalid?: boolean;
  /** Marks the dataset and its facilities as made-up sample data. */
  isSample?: boolean;
  /** Name recorded as the source (defaults to the file's base name). */
  sourceName?: string;
  progress?: Progress;
}

export interface RegisterCounts {
  /** Data rows (CSV) or features (GeoJSON) in the file. */
  rows: number;
  /** Facilities imported, by category (same shape as an OSM dataset's counts). */
  facilities: Record<string, number>;
  skipped_invalid: number;
}

export interface ImportFacilitiesResult {
  datasetId: number;
  counts: RegisterCounts;
  /** Invalid rows left out (only with skipInvalid). */
  skipped: RowProblem[];
  /** Notes for the user: skipped rows, ignored columns, replaced registers. */
  warnings: string[];
  /** Register datasets of the same category this import replaced. */
  replacedDatasetIds: number[];
  seconds: number;
}

interface RegisterRow {
  /** 'line 7' or 'features[3]': stored as facilities.source_ref. */
  ref: string;
  name: string;
  lngLat: [number, number];
  capacity: number | null;
  address: string | null;
}

interface RawRow {
  ref: string;
  where: { line: number } | { feature: number };
  name: unknown;
  lng: unknown;
  lat: unknown;
  capacity: unknown;
  address: unknown;
  /** A problem found while reading (e.g. wrong field count or geometry type). */
  readProblem?: Omit<RowProblem, 'line' | 'feature'>;
}

const CSV_COLUMNS = ['name', 'lng', 'lat', 'capacity', 'address'] as const;
const CSV_REQUIRED = ['name', 'lng', 'lat'] as const;

function readCsvRows(text: string, file: string, warnings: string[]): RawRow[] {
  // With `info: true` each record comes as { record, info }, which csv-parse's typings do not model.
  let records: Array<{ record: string[]; info: CsvInfo }>;
  try {
    // csv-parse miscounts lines on CRLF input; line numbers are what the user sees in an editor.
    records = parseCsv(text.replace(/\r\n?/g, '\n'), { info: true, skip_empty_lines: true, relax_column_count: true }) as unknown as typeof records;
  } catch (err) {
    const line = err instanceof CsvError && typeof err.lines === 'number' ? err.lines : undefined;
    throw new ImportValidationError(file, [{ line, field: 'file', value: '', reason: `cannot be read as CSV: ${(err as Error).message}` }], false,
      `${file} is not valid CSV: ${(err as Error).message}`);
  }
  if (records.length === 0) throw new ImportValidationError(file, [], false, `${file} is empty: a header row (name,lng,lat[,capacity,address]) is required`);
  const header = records[0].record.map((h) => h.trim().toLowerCase());
  const headerProblems: RowProblem[] = [];
  for (const col of CSV_REQUIRED) {
    if (!header.includes(col)) headerProblems.push({ line: 1, field: col, value: records[0].record.join(','), reason: `has no "${col}" column (the header needs name,lng,lat[,capacity,address])` });
  }
  for (const col of CSV_COLUMNS) {
    if (header.indexOf(col) !== header.lastIndexOf(col)) headerProblems.push({ line: 1, field: col, value: records[0].record.join(','), reason: `names the column "${col}" twice` });
  }
  if (headerProblems.length) throw new ImportValidationError(file, headerProblems, false, `${file} has an unusable header row`);
  const ignored = header.filter((h) => h !== '' && !(CSV_COLUMNS as readonly string[]).includes(h));
  if (ignored.length) warnings.push(`line 1: ignored the column(s) ${ignored.map((c) => `"${c}"`).join(', ')}`);
  const col = (name: string) => header.indexOf(name);

  const rows: RawRow[] = [];
  let prevEnd = records[0].info.lines;
  let prevEmpty = records[0].info.empty_lines;
  for (const { record, info } of records.slice(1)) {
    // csv-parse reports the line a record ends on; it starts after the previous one and any skipped empty lines.
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    if (record.every((v) => v.trim() === '')) continue;
    const field = (name: string) => (col(name) >= 0 ? record[col(name)] : undefined);
    rows.push({
      ref: `line ${line}`,
      where: { line },
      name: field('name'),
      lng: field('lng'),
      lat: field('lat'),
      capacity: field('capacity'),
      address: field('address'),
      readProblem:
        record.length > header.length
          ? { field: 'row', value: record.join(','), reason: `has ${record.length} fields but the header has ${header.length} (an unquoted comma?)` }
          : undefined,
    });
  }
  return rows;
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

function readGeoJsonRows(text: string, file: string, warnings: string[]): RawRow[] {
  const { features, crsName } = parseGeoJson(text, file);
  const crsWarning = geoJsonCrsWarning(crsName);
  if (crsWarning) warnings.push(crsWarning);
  return features.map((f, i): RawRow => {
    const feature = f as { geometry?: { type?: unknown; coordinates?: unknown } | null; properties?: Record<string, unknown> | null };
    const props = feature?.properties ?? {};
    const geometry = feature?.geometry;
    const coords = geometry?.coordinates;
    let readProblem: RawRow['readProblem'];
    if (!geometry) readProblem = { field: 'geometry', value: '', reason: 'is missing (a Point is required)' };
    else if (geometry.type !== 'Point') readProblem = { field: 'geometry', value: displayValue(geometry.type), reason: 'is not a Point' };
    else if (!Array.isArray(coords) || coords.length < 2) readProblem = { field: 'coordinates', value: displayValue(coords), reason: 'is not a [lng, lat] position' };
    const position = Array.isArray(coords) ? coords : [];
    return {
      ref: `features[${i}]`,
      where: { feature: i },
      name: props.name,
      lng: position[0],
      lat: position[1],
      capacity: props.capacity,
      address: props.address,
      readProblem,
    };
  });
}

/** Validate raw rows; returns the valid rows (converted to WGS 84) and one problem per invalid field. */
function validateRows(raw: readonly RawRow[], crs: SourceCrs): { rows: RegisterRow[]; problems: RowProblem[] } {
  const rows: RegisterRow[] = [];
  const problems: RowProblem[] = [];
  const firstSeen = new Map<string, string>();
  for (const r of raw) {
    const rowProblems: RowProblem[] = [];
    const problem = (field: string, value: unknown, reason: string) => rowProblems.push({ ...r.where, field, value: displayValue(value), reason });
    if (r.readProblem) problem(r.readProblem.field, r.readProblem.value, r.readProblem.reason);
    const name = typeof r.name === 'string' ? r.name.trim() : typeof r.name === 'number' ? String(r.name) : '';
    if (name === '') problem('name', r.name, r.name === undefined || r.name === null ? 'is missing' : 'is empty');
    const nameProblem = textProblem(name, MAX_NAME_CHARS);
    if (nameProblem) problem('name', name, nameProblem);
    const lng = parseDecimal(r.lng);
    const lat = parseDecimal(r.lat);
    if (!r.readProblem || r.readProblem.field === 'row') {
      if (lng === null) problem('lng', r.lng, 'is not a number');
      if (lat === null) problem('lat', r.lat, 'is not a number');
      if (lng !== null && lat !== null) {
        const bad = lngLatProblem(lng, lat, crs);
        if (bad) problem(bad.field, bad.field === 'lng' ? r.lng : r.lat, bad.reason);
      }
    }
    let capacity: number | null = null;
    if (r.capacity !== undefined && r.capacity !== null && !(typeof r.capacity === 'string' && r.capacity.trim() === '')) {
      const n = parseDecimal(r.capacity);
      if (n === null) problem('capacity', r.capacity, 'is not a number');
      else if (!Number.isInteger(n)) problem('capacity', r.capacity, 'is not a whole number');
      else if (n < 0) problem('capacity', r.capacity, 'is negative');
      else if (n > MAX_INT4) problem('capacity', r.capacity, `is larger than ${MAX_INT4}`);
      else capacity = n;
    }
    const address = typeof r.address === 'string' ? r.address.trim() || null : typeof r.address === 'number' ? String(r.address) : null;
    const addressProblem = address === null ? null : textProblem(address, MAX_NOTES_CHARS);
    if (addressProblem) problem('address', address, addressProblem);
    if (rowProblems.length === 0 && lng !== null && lat !== null) {
      const key = `${name}\u0000${lng}\u0000${lat}`;
      const first = firstSeen.get(key);
      if (first !== undefined) problem('name', name, `duplicates ${first} (same name, lng and lat)`);
      else firstSeen.set(key, r.ref);
    }
    if (rowProblems.length) problems.push(...rowProblems);
    else rows.push({ ref: r.ref, name, lngLat: toWgs84([lng!, lat!], crs), capacity, address });
  }
  return { rows, problems };
}

function isGeoJsonFile(file: string, text: string): boolean {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv' || ext === '.txt') return false;
  if (ext === '.geojson' || ext === '.json') return true;
  return text.trimStart().startsWith('{');
}

/**
 * Import a facility register (CSV `name,lng,lat[,capacity,address]` with a header row, or a
 * GeoJSON FeatureCollection of Points with properties name, capacity, address) as the register
 * of `category`, converting coordinates from `crs` to WGS 84.
 *
 * Every row is validated first. If any is invalid, nothing is imported and an
 * {@link ImportValidationError} lists each problem (line or feature, field, value, reason);
 * with `skipInvalid` the valid rows are imported and the invalid ones returned in `skipped`.
 * Then, in one transaction: a `datasets` row of kind 'facility_register', the facilities
 * (source 'register:<file>', source_ref 'line N' / 'features[i]'), one access point of kind
 * 'point' per facility, and the deletion of the category's previous register(s), so readers see
 * the old register or the new one, never both or neither. Concurrent imports of one category are
 * serialised by an advisory lock. O(rows) time and memory.
 */
export async function importFacilities(pool: pg.Pool, file: string, options: ImportFacilitiesOptions): Promise<ImportFacilitiesResult> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const sourceName = options.sourceName ?? path.basename(file);
  const category = options.category?.trim();
  if (!category || !CATEGORY_IDS.has(category)) {
    throw new ImportValidationError(sourceName, [{ field: 'category', value: options.category ?? '', reason: `is not a category (one of ${[...CATEGORY_IDS].join(', ')})` }], false,
      `the category must be one of ${[...CATEGORY_IDS].join(', ')} (got ${options.category ? `"${options.category}"` : 'none'})`);
  }
  const crs = parseSourceCrs(options.crs);

  progress.step(`reading ${sourceName}`);
  const { sha256, text } = readUtf8File(file);
  const warnings: string[] = [];
  const raw = isGeoJsonFile(file, text) ? readGeoJsonRows(text, sourceName, warnings) : readCsvRows(text, sourceName, warnings);
  if (raw.length === 0) throw new ImportValidationError(sourceName, [], false, `${sourceName} has no facilities: nothing to import`);
  const { rows, problems } = validateRows(raw, crs);
  const skippedRows = new Set(problems.map((p) => p.line ?? p.feature)).size;
  if (problems.length && !options.skipInvalid) throw new ImportValidationError(sourceName, problems, true);
  if (rows.length === 0) throw new ImportValidationError(sourceName, problems, false, `no valid rows in ${sourceName}: nothing imported`);
  if (problems.length) warnings.unshift(`skipped ${skippedRows} invalid ${skippedRows === 1 ? 'row' : 'rows'}:`, ...problems.map(formatProblem));

  const isSample = options.isSample ?? false;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('facility_register:' || $1))`, [category]);
    const { rows: ds } = await client.query<{ id: number }>(
      `INSERT INTO datasets (kind, source, sha256, is_sample, category, crs) VALUES ('facility_register', $1, $2, $3, $4, $5) RETURNING id`,
      [sourceName, sha256, isSample, category, crs],
    );
    const datasetId = ds[0].id;
    progress.step(`writing ${rows.length} ${category} facilities`);
    await insertBatches(
      client,
      `INSERT INTO facilities (dataset_id, category, name, geom, capacity, address, source, source_ref, is_sample)
       SELECT $1, $2, n, ST_SetSRID(ST_MakePoint(x, y), 4326), c, a, $3, r, $4
       FROM unnest($5::text[], $6::float8[], $7::float8[], $8::int[], $9::text[], $10::text[]) AS u(n, x, y, c, a, r)`,
      [datasetId, category, `register:${sourceName}`, isSample],
      rows,
      (r) => [r.name, r.lngLat[0], r.lngLat[1], r.capacity, r.address, r.ref],
      (d, t) => progress.update(d, t),
    );
    await client.query(
      `INSERT INTO facility_access_points (facility_id, kind, geom) SELECT id, 'point', geom FROM facilities WHERE dataset_id = $1`,
      [datasetId],
    );
    const { rows: replaced } = await client.query<{ id: number }>(
      `DELETE FROM datasets WHERE kind = 'facility_register' AND category = $1 AND id <> $2 RETURNING id`,
      [category, datasetId],
    );
    const replacedDatasetIds = replaced.map((r) => r.id).sort((a, b) => a - b);
    if (replacedDatasetIds.length) warnings.push(`replaced the previous ${category} register (dataset ${replacedDatasetIds.join(', ')})`);
    const counts: RegisterCounts = { rows: raw.length, facilities: { [category]: rows.length }, skipped_invalid: skippedRows };
    const seconds = (performance.now() - started) / 1000;
    await client.query(
      `UPDATE datasets SET counts = $2, import_seconds = $3,
         bbox = (SELECT ST_MakeEnvelope(min(ST_X(geom)), min(ST_Y(geom)), max(ST_X(geom)), max(ST_Y(geom)), 4326) FROM facilities WHERE dataset_id = $1)
       WHERE id = $1`,
      [datasetId, counts, seconds],
    );
    await client.query('COMMIT');
    progress.done(`imported ${rows.length} ${category} facilities as dataset ${datasetId} in ${seconds.toFixed(1)} s`);
    return { datasetId, counts, skipped: problems, warnings, replacedDatasetIds, seconds };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

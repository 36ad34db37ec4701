import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseCsv, CsvError, type Info as CsvInfo } from 'csv-parse/sync';
import { commandRuns, ensureDebianPackages } from '../ensure-debian-packages.ts';

/** Formats a register may come in. */
export type RegisterFormat = 'csv' | 'xlsx' | 'geojson' | 'shapefile' | 'gpkg';

/** Text encodings a CSV may be in (GBK is read as GB18030, its superset). */
export const CSV_ENCODINGS = ['utf-8', 'gbk', 'gb18030'] as const;
export type CsvEncoding = (typeof CSV_ENCODINGS)[number];

/** One row (CSV/XLSX) or feature (GeoJSON, Shapefile, GeoPackage) as found in the file. */
export interface RegisterRecord {
  /** 'line 7' (CSV), 'row 7' (XLSX, as Excel numbers rows), 'features[3]' (others, from 0). */
  ref: string;
  where: { line: number } | { row: number } | { feature: number };
  /** Attributes by header, as strings or JSON values. */
  props: Record<string, unknown>;
  /** GeoJSON geometry in the file's coordinates, or null (CSV/XLSX, or a feature without one). */
  geometry: { type: string; coordinates: unknown } | null;
  /** A problem found while reading (e.g. wrong field count, undecodable bytes). */
  readProblem?: { field: string; value: string; reason: string };
}

/** The file's own coordinate system (Shapefile .prj, GeoPackage SRS), as GDAL identifies it. */
export interface FileSrs {
  /** EPSG code when GDAL can identify one. */
  epsg: number | null;
  /** PROJ.4 definition (always present when the file declares a CRS). */
  proj4: string;
}

export interface RegisterTable {
  format: RegisterFormat;
  sha256: string;
  /** Attribute names in file order. */
  headers: string[];
  records: RegisterRecord[];
  srs: FileSrs | null;
  /** Notes for the user (encoding detected, layer chosen, …). */
  notes: string[];
}

export interface ReadRegisterOptions {
  /** CSV (and Shapefile DBF) encoding; CSV is detected (UTF-8, else GB18030) when absent. */
  encoding?: string;
  /** XLSX sheet or GeoPackage layer; the first when absent. */
  layer?: string;
}

/** A whole file cannot be read (not a row problem). */
export class RegisterReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegisterReadError';
  }
}

/** GDAL's command-line tools (Debian gdal-bin), installed when missing and root. */
export function ensureGdal(): void {
  ensureDebianPackages(
    [{ name: 'gdal-bin', isInstalled: () => commandRuns('ogr2ogr') && commandRuns('gdalsrsinfo') }],
    'reading registers (XLSX, Shapefile, GeoPackage)',
  );
}

/** The format of `file` from its extension (a .zip is taken as a zipped Shapefile). */
export function registerFormat(file: string): RegisterFormat {
  const ext = path.extname(file).toLowerCase();
  switch (ext) {
    case '.csv':
    case '.txt':
      return 'csv';
    case '.xlsx':
      return 'xlsx';
    case '.geojson':
    case '.json':
      return 'geojson';
    case '.shp':
    case '.zip':
      return 'shapefile';
    case '.gpkg':
      return 'gpkg';
    default:
      throw new RegisterReadError(
        `${path.basename(file)}: unknown register format "${ext}" (CSV, XLSX, GeoJSON, Shapefile .shp or .zip, GeoPackage .gpkg)`,
      );
  }
}

/** The encoding named by `value` (utf-8, utf8, gbk, gb18030, cp936), or an error listing them. */
export function parseEncoding(value: string): CsvEncoding {
  const v = value.trim().toLowerCase().replace(/_/g, '-');
  if (v === 'utf-8' || v === 'utf8') return 'utf-8';
  if (v === 'gbk' || v === 'cp936') return 'gbk';
  if (v === 'gb18030') return 'gb18030';
  throw new RegisterReadError(`--encoding must be one of ${CSV_ENCODINGS.join(', ')} (got "${value}")`);
}

/**
 * Read a register file into records: CSV with csv-parse (UTF-8, or GBK/GB18030 detected when the
 * bytes are not UTF-8), everything else with GDAL's ogr2ogr (XLSX sheets, GeoJSON, Shapefile
 * plain or zipped, GeoPackage) and the file's CRS with gdalsrsinfo. O(file size).
 */
export function readRegister(file: string, options: ReadRegisterOptions = {}): RegisterTable {
  const format = registerFormat(file);
  const base = path.basename(file);
  if (!fs.existsSync(file)) throw new RegisterReadError(`${base}: no such file`);
  const sha256 = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  if (format === 'csv') return { ...readCsv(file, options), sha256 };
  if (format === 'geojson') return { ...readGeoJson(file), sha256 };
  ensureGdal();
  return { ...readWithGdal(file, format, options), sha256 };
}

function readCsv(file: string, options: ReadRegisterOptions): Omit<RegisterTable, 'sha256'> {
  const base = path.basename(file);
  const bytes = fs.readFileSync(file);
  const notes: string[] = [];
  let encoding: CsvEncoding;
  if (options.encoding) encoding = parseEncoding(options.encoding);
  else {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      encoding = 'utf-8';
    } catch {
      try {
        new TextDecoder('gb18030', { fatal: true }).decode(bytes);
      } catch {
        throw new RegisterReadError(`${base} is not valid UTF-8, nor GBK/GB18030: save it as UTF-8 and import again`);
      }
      encoding = 'gb18030';
      notes.push(`${base} is not UTF-8: read as GBK/GB18030 (give --encoding to choose)`);
    }
  }
  // Not fatal: bytes the encoding cannot decode become U+FFFD and are reported per field below.
  let text = new TextDecoder(encoding === 'utf-8' ? 'utf-8' : 'gb18030').decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let records: Array<{ record: string[]; info: CsvInfo }>;
  try {
    // csv-parse miscounts lines on CRLF input; line numbers are what the user sees in an editor.
    records = parseCsv(text.replace(/\r\n?/g, '\n'), {
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as unknown as typeof records;
  } catch (err) {
    const line = err instanceof CsvError && typeof err.lines === 'number' ? ` (line ${err.lines})` : '';
    throw new RegisterReadError(`${base} is not valid CSV${line}: ${(err as Error).message}`);
  }
  if (records.length === 0) throw new RegisterReadError(`${base} is empty: a header row is required`);
  const headers = records[0].record.map((h) => h.trim());
  const badHeader = headers.find((h) => h.includes('\uFFFD'));
  if (badHeader !== undefined) {
    throw new RegisterReadError(
      `line 1, field header: ${JSON.stringify(badHeader)} is not valid ${encoding.toUpperCase()} (a GBK file read as UTF-8? try --encoding gbk)`,
    );
  }
  const out: RegisterRecord[] = [];
  let prevEnd = records[0].info.lines;
  let prevEmpty = records[0].info.empty_lines;
  for (const { record, info } of records.slice(1)) {
    // csv-parse reports the line a record ends on; it starts after the previous one and any skipped empty lines.
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    if (record.every((v) => v.trim() === '')) continue;
    const props: Record<string, unknown> = {};
    headers.forEach((h, i) => {
      props[h] = record[i];
    });
    let readProblem: RegisterRecord['readProblem'];
    const undecodable = record.findIndex((v) => v.includes('\uFFFD'));
    if (undecodable >= 0) {
      readProblem = {
        field: headers[undecodable] ?? `column ${undecodable + 1}`,
        value: record[undecodable],
        reason: `is not valid ${encoding.toUpperCase()} (a GBK file read as UTF-8? try --encoding gbk)`,
      };
    } else if (record.length > headers.length) {
      readProblem = {
        field: 'row',
        value: record.join(','),
        reason: `has ${record.length} fields but the header has ${headers.length} (an unquoted comma?)`,
      };
    }
    out.push({ ref: `line ${line}`, where: { line }, props, geometry: null, readProblem });
  }
  return { format: 'csv', headers, records: out, srs: null, notes };
}

// EPSG:4490 (CGCS2000) and CRS84/4326 are longitude/latitude; GCJ-02/BD-09 files never declare themselves.
const LNG_LAT_CRS_NAMES = /^(urn:ogc:def:crs:(OGC:1\.3:CRS84|EPSG::(4326|4490))|EPSG:(4326|4490))$/i;

function readGeoJson(file: string): Omit<RegisterTable, 'sha256'> {
  const base = path.basename(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(file));
  } catch {
    throw new RegisterReadError(`${base} is not valid UTF-8; GeoJSON must be UTF-8 (RFC 7946)`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new RegisterReadError(`${base} is not valid JSON: ${(err as Error).message}`);
  }
  const fc = doc as { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } };
  if (typeof doc !== 'object' || doc === null || fc.type !== 'FeatureCollection' || !Array.isArray(fc.features)) {
    throw new RegisterReadError(`${base} is not a GeoJSON FeatureCollection`);
  }
  const crsName = fc.crs?.properties?.name;
  const notes: string[] = [];
  let srs: FileSrs | null = null;
  if (typeof crsName === 'string' && !LNG_LAT_CRS_NAMES.test(crsName)) {
    const epsg = /EPSG:+(\d+)$/i.exec(crsName);
    if (epsg) srs = { epsg: Number(epsg[1]), proj4: '' };
    else
      notes.push(
        `the file declares the CRS "${crsName}", which is not an EPSG code: coordinates are read in the --crs given`,
      );
  }
  const headers: string[] = [];
  const seen = new Set<string>();
  const records = (fc.features as unknown[]).map((f, i): RegisterRecord => {
    const feature = f as {
      geometry?: { type?: unknown; coordinates?: unknown } | null;
      properties?: Record<string, unknown> | null;
    };
    const props = feature?.properties ?? {};
    for (const k of Object.keys(props))
      if (!seen.has(k)) {
        seen.add(k);
        headers.push(k);
      }
    const g = feature?.geometry;
    return {
      ref: `features[${i}]`,
      where: { feature: i },
      props,
      geometry: g && typeof g.type === 'string' ? { type: g.type, coordinates: g.coordinates } : null,
    };
  });
  return { format: 'geojson', headers, records, srs, notes };
}

function gdal(command: string, args: string[], base: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new RegisterReadError(`${base}: GDAL cannot read it: ${stderr || (err as Error).message}`);
  }
}

function readWithGdal(
  file: string,
  format: RegisterFormat,
  options: ReadRegisterOptions,
): Omit<RegisterTable, 'sha256'> {
  const base = path.basename(file);
  const source = format === 'shapefile' && file.toLowerCase().endsWith('.zip') ? `/vsizip/${file}` : file;
  const config: string[] = [];
  if (format === 'xlsx')
    config.push('--config', 'OGR_XLSX_HEADERS', 'FORCE', '--config', 'OGR_XLSX_FIELD_TYPES', 'STRING');
  if (format === 'shapefile' && options.encoding) {
    const enc = parseEncoding(options.encoding);
    config.push('--config', 'SHAPE_ENCODING', enc === 'utf-8' ? 'UTF-8' : enc === 'gbk' ? 'CP936' : 'GB18030');
  }
  // `ogrinfo -q` lists "1: name (type)" per layer (sheet).
  const layers = gdal('ogrinfo', [...config, '-ro', '-q', source], base)
    .split('\n')
    .map((l) => /^\d+: (.*?)(?: \([^()]*\))?$/.exec(l.trim())?.[1])
    .filter((l): l is string => !!l);
  if (layers.length === 0) throw new RegisterReadError(`${base} has no layers (sheets) GDAL can read`);
  const notes: string[] = [];
  let layer = layers[0];
  if (options.layer !== undefined) {
    if (!layers.includes(options.layer))
      throw new RegisterReadError(
        `${base} has no ${format === 'xlsx' ? 'sheet' : 'layer'} "${options.layer}" (it has ${layers.map((l) => `"${l}"`).join(', ')})`,
      );
    layer = options.layer;
  } else if (layers.length > 1) {
    notes.push(
      `read the first ${format === 'xlsx' ? 'sheet' : 'layer'} "${layer}" of ${layers.map((l) => `"${l}"`).join(', ')} (choose with --layer)`,
    );
  }
  const json = gdal(
    'ogr2ogr',
    [...config, '-f', 'GeoJSON', '/vsistdout/', source, layer, '-lco', 'RFC7946=NO', '-lco', 'COORDINATE_PRECISION=10'],
    base,
  );
  const doc = JSON.parse(json) as {
    features: Array<{
      properties: Record<string, unknown> | null;
      geometry: { type: string; coordinates: unknown } | null;
    }>;
  };
  const headers: string[] = [];
  const seen = new Set<string>();
  const records = doc.features.map((f, i): RegisterRecord => {
    const props = f.properties ?? {};
    for (const k of Object.keys(props))
      if (!seen.has(k)) {
        seen.add(k);
        headers.push(k);
      }
    // With OGR_XLSX_HEADERS=FORCE the first sheet row is the header, so feature i is Excel row i + 2.
    const where = format === 'xlsx' ? { row: i + 2 } : { feature: i };
    return { ref: format === 'xlsx' ? `row ${i + 2}` : `features[${i}]`, where, props, geometry: f.geometry };
  });
  let srs: FileSrs | null = null;
  if (format !== 'xlsx') {
    const proj4 = gdalSrs(source, 'proj4');
    if (proj4) {
      const epsg = /^EPSG:(\d+)$/.exec(gdalSrs(source, 'epsg'));
      srs = { epsg: epsg ? Number(epsg[1]) : null, proj4 };
    }
  }
  return { format, headers, records, srs, notes };
}

/** gdalsrsinfo's view of the file's (first layer's) SRS ('' when the file declares none). */
function gdalSrs(source: string, output: 'proj4' | 'epsg'): string {
  try {
    const out = execFileSync('gdalsrsinfo', ['--single-line', '-o', output, source], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return (
      out
        .trim()
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)[0] ?? ''
    );
  } catch {
    return '';
  }
}

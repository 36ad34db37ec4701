import path from 'node:path';
import type pg from 'pg';
import {
  displayValue,
  formatProblem,
  geoJsonCrsWarning,
  ImportValidationError,
  parseDecimal,
  parseGeoJson,
  readUtf8File,
  type RowProblem,
} from './import-facilities.ts';
import { lngLatProblem, parseSourceCrs, toWgs84, type SourceCrs } from './register-crs.ts';
import { insertBatches } from '../db/insert-batches.ts';
import { MAX_NAME_CHARS, textProblem } from '../limits.ts';
import { silentProgress, type Progress } from '../progress.ts';

export interface ImportCommunitiesOptions {
  /** Import the valid features and report the invalid ones instead of importing nothing. */
  skipInvalid?: boolean;
  /** Coordinate system of the file (default wgs84); every vertex is converted to WGS 84. */
  crs?: SourceCrs;
  /** Name recorded as the source (defaults to the file's base name). */
  sourceName?: string;
  progress?: Progress;
}

/** A feature whose geometry PostGIS found invalid and ST_MakeValid repaired. */
export interface RepairedCommunity {
  feature: number;
  name: string;
  /** ST_IsValidReason of the geometry as given (after CRS conversion). */
  reason: string;
  /** Polygons in the repaired MultiPolygon. */
  polygons: number;
}

export interface CommunityCounts {
  features: number;
  communities: number;
  repaired: number;
  skipped_invalid: number;
}

export interface DistrictCounts {
  features: number;
  districts: number;
  repaired: number;
  skipped_invalid: number;
}

export interface ImportBoundariesResult<C> {
  datasetId: number;
  counts: C;
  repaired: RepairedCommunity[];
  /** Invalid features left out (only with skipInvalid). */
  skipped: RowProblem[];
  /** Notes for the user: repairs, skipped features, closed rings, replaced datasets. */
  warnings: string[];
  replacedDatasetIds: number[];
  seconds: number;
}

export type ImportCommunitiesResult = ImportBoundariesResult<CommunityCounts>;
export type ImportDistrictsResult = ImportBoundariesResult<DistrictCounts>;

/**
 * What a kind of boundary file carries besides `name` and the polygons: optional text and
 * non-negative number properties, stored in columns of the same names of table `kind` (also the
 * datasets.kind of an import). The names are constants of this module, never input.
 */
interface BoundarySpec<K extends 'communities' | 'districts'> {
  kind: K;
  text: readonly string[];
  numbers: readonly string[];
  /** Warnings about a valid feature (e.g. more elderly residents than residents). */
  check?(feature: number, name: string, numbers: Record<string, number | null>, warnings: string[]): void;
}

const COMMUNITIES: BoundarySpec<'communities'> = {
  kind: 'communities',
  text: ['street', 'district'],
  numbers: ['population', 'elderly_population'],
  check(i, name, n, warnings) {
    if (n.population !== null && n.elderly_population !== null && n.elderly_population > n.population) {
      warnings.push(
        `features[${i}] (${JSON.stringify(name)}): elderly_population ${n.elderly_population} exceeds population ${n.population}`,
      );
    }
  },
};

/** District (区) boundaries, e.g. OSM admin_level 6 relations exported as GeoJSON. */
const DISTRICTS: BoundarySpec<'districts'> = { kind: 'districts', text: ['name_en', 'adcode'], numbers: [] };

interface BoundaryRow {
  feature: number;
  name: string;
  /** the spec's text properties, then its numbers, in order */
  values: (string | number | null)[];
  /** GeoJSON MultiPolygon in WGS 84, 2D, rings closed. */
  geojson: string;
}

type Ring = [number, number][];

/**
 * Check and convert the rings of a Polygon/MultiPolygon: every position two finite numbers in
 * range, rings of at least 4 positions. Unclosed rings are closed (counted in `closedRings`).
 * Returns the polygons in WGS 84, or a problem.
 */
function convertPolygons(
  type: string,
  coordinates: unknown,
  crs: SourceCrs,
): { polygons: Ring[][]; closedRings: number } | { field: string; value: unknown; reason: string } {
  const polys = type === 'Polygon' ? [coordinates] : coordinates;
  if (!Array.isArray(polys) || polys.length === 0)
    return { field: 'coordinates', value: coordinates, reason: 'has no polygons' };
  const out: Ring[][] = [];
  let closedRings = 0;
  for (const poly of polys) {
    if (!Array.isArray(poly) || poly.length === 0)
      return { field: 'coordinates', value: poly, reason: 'is a polygon without rings' };
    const rings: Ring[] = [];
    for (const ring of poly) {
      if (!Array.isArray(ring))
        return { field: 'coordinates', value: ring, reason: 'is not a ring (an array of positions)' };
      const converted: Ring = [];
      for (const pos of ring) {
        if (
          !Array.isArray(pos) ||
          pos.length < 2 ||
          typeof pos[0] !== 'number' ||
          typeof pos[1] !== 'number' ||
          !Number.isFinite(pos[0]) ||
          !Number.isFinite(pos[1])
        ) {
          return { field: 'coordinates', value: pos, reason: 'is not a [lng, lat] position' };
        }
        const bad = lngLatProblem(pos[0], pos[1], crs);
        if (bad) return { field: bad.field, value: bad.field === 'lng' ? pos[0] : pos[1], reason: bad.reason };
        converted.push(toWgs84([pos[0], pos[1]], crs));
      }
      const first = ring[0] as number[] | undefined;
      const last = ring[ring.length - 1] as number[] | undefined;
      if (first && last && (first[0] !== last[0] || first[1] !== last[1])) {
        converted.push([converted[0][0], converted[0][1]]);
        closedRings++;
      }
      if (converted.length < 4)
        return {
          field: 'coordinates',
          value: ring,
          reason: `is a ring of ${converted.length} positions (at least 4 are needed)`,
        };
      rings.push(converted);
    }
    out.push(rings);
  }
  return { polygons: out, closedRings };
}

function optionalText(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  return value.trim() || null;
}

function readBoundaries(
  spec: BoundarySpec<'communities' | 'districts'>,
  features: readonly unknown[],
  crs: SourceCrs,
  warnings: string[],
): { rows: BoundaryRow[]; problems: RowProblem[] } {
  const rows: BoundaryRow[] = [];
  const problems: RowProblem[] = [];
  features.forEach((f, i) => {
    const rowProblems: RowProblem[] = [];
    const problem = (field: string, value: unknown, reason: string) =>
      rowProblems.push({ feature: i, field, value: displayValue(value), reason });
    const feature = f as {
      geometry?: { type?: unknown; coordinates?: unknown } | null;
      properties?: Record<string, unknown> | null;
    } | null;
    const props = feature?.properties ?? {};
    const name =
      typeof props.name === 'string' ? props.name.trim() : typeof props.name === 'number' ? String(props.name) : '';
    if (name === '')
      problem('name', props.name, props.name === undefined || props.name === null ? 'is missing' : 'is empty');
    const nameProblem = textProblem(name, MAX_NAME_CHARS);
    if (nameProblem) problem('name', name, nameProblem);
    const values: (string | number | null)[] = [];
    for (const field of spec.text) {
      const t = optionalText(props[field]);
      if (t === undefined) problem(field, props[field], 'is not text');
      const tProblem = t ? textProblem(t, MAX_NAME_CHARS) : null;
      if (tProblem) problem(field, t, tProblem);
      values.push(t ?? null);
    }
    const numbers: Record<string, number | null> = {};
    for (const field of spec.numbers) {
      numbers[field] = null;
      const v = props[field];
      if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) continue;
      const n = parseDecimal(v);
      if (n === null) problem(field, v, 'is not a number');
      else if (n < 0) problem(field, v, 'is negative');
      else numbers[field] = n;
    }
    values.push(...spec.numbers.map((field) => numbers[field]));
    const geometry = feature?.geometry;
    let geojson: string | null = null;
    if (!geometry) problem('geometry', '', 'is missing (a Polygon or MultiPolygon is required)');
    else if (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon')
      problem('geometry', geometry.type, 'is not a Polygon or MultiPolygon');
    else {
      const converted = convertPolygons(geometry.type, geometry.coordinates, crs);
      if ('field' in converted) problem(converted.field, converted.value, converted.reason);
      else {
        geojson = JSON.stringify({ type: 'MultiPolygon', coordinates: converted.polygons });
        if (converted.closedRings)
          warnings.push(`features[${i}] (${JSON.stringify(name)}): closed ${converted.closedRings} unclosed ring(s)`);
      }
    }
    spec.check?.(i, name, numbers, warnings);
    if (rowProblems.length || geojson === null) problems.push(...rowProblems);
    else rows.push({ feature: i, name, values, geojson });
  });
  return { rows, problems };
}

/**
 * Import community (社区) boundaries from a GeoJSON FeatureCollection of Polygon/MultiPolygon
 * features with properties name (required), street (街道), district (区), population and
 * elderly_population (optional, non-negative), converting every vertex from `crs` to WGS 84.
 *
 * Geometries PostGIS finds invalid are repaired with ST_MakeValid (keeping the polygonal part)
 * and reported with ST_IsValidReason; a geometry with no area left, a missing name or a bad
 * value is an error: nothing is imported (an {@link ImportValidationError} lists each problem)
 * unless `skipInvalid`. In one transaction the new 'communities' dataset replaces the previous
 * ones in the same place (migration 0310 layers_share_place: of the same city, or overlapping;
 * approximate communities derived from OSM belong to the OSM dataset and stay).
 * O(vertices) time and memory.
 */
export async function importCommunities(
  pool: pg.Pool,
  file: string,
  options: ImportCommunitiesOptions = {},
): Promise<ImportCommunitiesResult> {
  const r = await importBoundaries(COMMUNITIES, pool, file, options);
  return {
    ...r,
    counts: {
      features: r.counts.features,
      communities: r.counts.imported,
      repaired: r.counts.repaired,
      skipped_invalid: r.counts.skipped_invalid,
    },
  };
}

/**
 * Import district (区) boundaries: the same file rules as {@link importCommunities}, with the
 * optional properties name_en and adcode. Areas whose communities name no district (the
 * approximate zones) take the district that holds them. The new 'districts' dataset replaces
 * the previous ones in the same place (as communities do), in one transaction.
 */
export async function importDistricts(
  pool: pg.Pool,
  file: string,
  options: ImportCommunitiesOptions = {},
): Promise<ImportDistrictsResult> {
  const r = await importBoundaries(DISTRICTS, pool, file, options);
  return {
    ...r,
    counts: {
      features: r.counts.features,
      districts: r.counts.imported,
      repaired: r.counts.repaired,
      skipped_invalid: r.counts.skipped_invalid,
    },
  };
}

async function importBoundaries(
  spec: BoundarySpec<'communities' | 'districts'>,
  pool: pg.Pool,
  file: string,
  options: ImportCommunitiesOptions,
): Promise<ImportBoundariesResult<{ features: number; imported: number; repaired: number; skipped_invalid: number }>> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const sourceName = options.sourceName ?? path.basename(file);
  const crs = parseSourceCrs(options.crs ?? 'wgs84');
  const { kind } = spec;
  const columns = [...spec.text, ...spec.numbers];

  progress.step(`reading ${sourceName}`);
  const { sha256, text } = readUtf8File(file);
  const { features, crsName } = parseGeoJson(text, sourceName);
  if (features.length === 0)
    throw new ImportValidationError(sourceName, [], false, `${sourceName} has no features: nothing to import`);
  const warnings: string[] = [];
  const crsWarning = geoJsonCrsWarning(crsName);
  if (crsWarning) warnings.push(crsWarning);
  const read = readBoundaries(spec, features, crs, warnings);
  const problems = [...read.problems];

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [kind]);
    await client.query(
      `CREATE TEMP TABLE import_boundaries (feature int, name text, ${spec.text.map((c) => `${c} text, `).join('')}${spec.numbers.map((c) => `${c} float8, `).join('')}
         geom_in geometry, invalid_reason text, geom geometry) ON COMMIT DROP`,
    );
    progress.step(`checking ${read.rows.length} ${kind === 'communities' ? 'community' : 'district'} boundaries`);
    const arrays = [
      'f int',
      'n text',
      ...spec.text.map((_, k) => `t${k} text`),
      ...spec.numbers.map((_, k) => `x${k} float8`),
      'g text',
    ];
    await insertBatches(
      client,
      `INSERT INTO import_boundaries (feature, name, ${columns.map((c) => `${c}, `).join('')}geom_in)
       SELECT f, n, ${[...spec.text.map((_, k) => `t${k}`), ...spec.numbers.map((_, k) => `x${k}`)].map((c) => `${c}, `).join('')}ST_SetSRID(ST_GeomFromGeoJSON(g), 4326)
       FROM unnest(${arrays.map((a, k) => `$${k + 1}::${a.split(' ')[1]}[]`).join(', ')}) AS u(${arrays.map((a) => a.split(' ')[0]).join(', ')})`,
      [],
      read.rows,
      (r) => [r.feature, r.name, ...r.values, r.geojson],
    );
    await client.query(
      `UPDATE import_boundaries SET
         invalid_reason = CASE WHEN NOT ST_IsValid(geom_in) THEN ST_IsValidReason(geom_in) END,
         geom = CASE WHEN ST_IsValid(geom_in) THEN ST_Multi(geom_in) ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(geom_in), 3)) END`,
    );
    const { rows: checked } = await client.query<{
      feature: number;
      name: string;
      invalid_reason: string | null;
      empty: boolean;
      polygons: number;
    }>(
      `SELECT feature, name, invalid_reason, ST_IsEmpty(geom) AS empty, ST_NumGeometries(geom) AS polygons
       FROM import_boundaries WHERE invalid_reason IS NOT NULL OR ST_IsEmpty(geom) ORDER BY feature`,
    );
    const repaired: RepairedCommunity[] = [];
    for (const c of checked) {
      if (c.empty) {
        problems.push({
          feature: c.feature,
          field: 'geometry',
          value: c.invalid_reason ?? 'empty',
          reason: 'leaves no area after ST_MakeValid',
        });
      } else {
        repaired.push({ feature: c.feature, name: c.name, reason: c.invalid_reason ?? '', polygons: c.polygons });
      }
    }
    problems.sort((a, b) => (a.feature ?? 0) - (b.feature ?? 0));
    const skippedFeatures = new Set(problems.map((p) => p.feature)).size;
    if (problems.length && !options.skipInvalid) throw new ImportValidationError(sourceName, problems, true);
    await client.query(`DELETE FROM import_boundaries WHERE ST_IsEmpty(geom)`);
    const kept = read.rows.length - checked.filter((c) => c.empty).length;
    if (kept === 0)
      throw new ImportValidationError(
        sourceName,
        problems,
        false,
        `no valid ${kind} in ${sourceName}: nothing imported`,
      );
    if (problems.length)
      warnings.unshift(
        `skipped ${skippedFeatures} invalid ${skippedFeatures === 1 ? 'feature' : 'features'}:`,
        ...problems.map(formatProblem),
      );
    for (const r of repaired) {
      warnings.push(
        `features[${r.feature}] (${JSON.stringify(r.name)}): invalid geometry (${r.reason}) repaired with ST_MakeValid into ${r.polygons} polygon(s)`,
      );
    }

    const { rows: ds } = await client.query<{ id: number }>(
      `INSERT INTO datasets (kind, source, sha256, crs) VALUES ($1, $2, $3, $4) RETURNING id`,
      [kind, sourceName, sha256, crs],
    );
    const datasetId = ds[0].id;
    progress.step(`writing ${kept} ${kind}`);
    await client.query(
      `INSERT INTO ${kind} (dataset_id, name, ${columns.map((c) => `${c}, `).join('')}geom)
       SELECT $1, name, ${columns.map((c) => `${c}, `).join('')}geom FROM import_boundaries ORDER BY feature`,
      [datasetId],
    );
    const { rows: replaced } = await client.query<{ id: number }>(
      `DELETE FROM datasets WHERE kind = $2 AND id <> $1 AND layers_share_place(id, $1) RETURNING id`,
      [datasetId, kind],
    );
    const replacedDatasetIds = replaced.map((r) => r.id).sort((a, b) => a - b);
    if (replacedDatasetIds.length)
      warnings.push(
        `replaced the previous ${kind === 'communities' ? 'community' : 'district'} boundaries (dataset ${replacedDatasetIds.join(', ')})`,
      );
    const counts = {
      features: features.length,
      imported: kept,
      repaired: repaired.length,
      skipped_invalid: skippedFeatures,
    };
    const seconds = (performance.now() - started) / 1000;
    await client.query(
      `UPDATE datasets SET counts = $2, import_seconds = $3,
         bbox = (SELECT ST_MakeEnvelope(min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)), 4326) FROM ${kind} WHERE dataset_id = $1)
       WHERE id = $1`,
      [
        datasetId,
        { features: counts.features, [kind]: kept, repaired: counts.repaired, skipped_invalid: counts.skipped_invalid },
        seconds,
      ],
    );
    await client.query('COMMIT');
    progress.done(`imported ${kept} ${kind} as dataset ${datasetId} in ${seconds.toFixed(1)} s`);
    return { datasetId, counts, repaired, skipped: problems, warnings, replacedDatasetIds, seconds };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

import path from 'node:path';
import type pg from 'pg';
import {
  displayValue,
  formatProblem,
  geoJsonCrsWarning,
  ImportValidationError,
  lngLatProblem,
  parseDecimal,
  parseGeoJson,
  parseSourceCrs,
  readUtf8File,
  toWgs84,
  type RowProblem,
  type SourceCrs,
} from './import-facilities.ts';
import { insertBatches } from './insert-batches.ts';
import { silentProgress, type Progress } from './progress.ts';

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

export interface ImportCommunitiesResult {
  datasetId: number;
  counts: CommunityCounts;
  repaired: RepairedCommunity[];
  /** Invalid features left out (only with skipInvalid). */
  skipped: RowProblem[];
  /** Notes for the user: repairs, skipped features, closed rings, replaced datasets. */
  warnings: string[];
  replacedDatasetIds: number[];
  seconds: number;
}

interface CommunityRow {
  feature: number;
  name: string;
  street: string | null;
  district: string | null;
  population: number | null;
  elderlyPopulation: number | null;
  /** GeoJSON Polygon or MultiPolygon in WGS 84, 2D, rings closed. */
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
  if (!Array.isArray(polys) || polys.length === 0) return { field: 'coordinates', value: coordinates, reason: 'has no polygons' };
  const out: Ring[][] = [];
  let closedRings = 0;
  for (const poly of polys) {
    if (!Array.isArray(poly) || poly.length === 0) return { field: 'coordinates', value: poly, reason: 'is a polygon without rings' };
    const rings: Ring[] = [];
    for (const ring of poly) {
      if (!Array.isArray(ring)) return { field: 'coordinates', value: ring, reason: 'is not a ring (an array of positions)' };
      const converted: Ring = [];
      for (const pos of ring) {
        if (!Array.isArray(pos) || pos.length < 2 || typeof pos[0] !== 'number' || typeof pos[1] !== 'number' || !Number.isFinite(pos[0]) || !Number.isFinite(pos[1])) {
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
      if (converted.length < 4) return { field: 'coordinates', value: ring, reason: `is a ring of ${converted.length} positions (at least 4 are needed)` };
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

function readCommunities(features: readonly unknown[], crs: SourceCrs, warnings: string[]): { rows: CommunityRow[]; problems: RowProblem[] } {
  const rows: CommunityRow[] = [];
  const problems: RowProblem[] = [];
  features.forEach((f, i) => {
    const rowProblems: RowProblem[] = [];
    const problem = (field: string, value: unknown, reason: string) => rowProblems.push({ feature: i, field, value: displayValue(value), reason });
    const feature = f as { geometry?: { type?: unknown; coordinates?: unknown } | null; properties?: Record<string, unknown> | null } | null;
    const props = feature?.properties ?? {};
    const name = typeof props.name === 'string' ? props.name.trim() : typeof props.name === 'number' ? String(props.name) : '';
    if (name === '') problem('name', props.name, props.name === undefined || props.name === null ? 'is missing' : 'is empty');
    const text: Record<'street' | 'district', string | null> = { street: null, district: null };
    for (const field of ['street', 'district'] as const) {
      const t = optionalText(props[field]);
      if (t === undefined) problem(field, props[field], 'is not text');
      else text[field] = t;
    }
    const numbers: Record<'population' | 'elderly_population', number | null> = { population: null, elderly_population: null };
    for (const field of ['population', 'elderly_population'] as const) {
      const v = props[field];
      if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) continue;
      const n = parseDecimal(v);
      if (n === null) problem(field, v, 'is not a number');
      else if (n < 0) problem(field, v, 'is negative');
      else numbers[field] = n;
    }
    const geometry = feature?.geometry;
    let geojson: string | null = null;
    if (!geometry) problem('geometry', '', 'is missing (a Polygon or MultiPolygon is required)');
    else if (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon') problem('geometry', geometry.type, 'is not a Polygon or MultiPolygon');
    else {
      const converted = convertPolygons(geometry.type, geometry.coordinates, crs);
      if ('field' in converted) problem(converted.field, converted.value, converted.reason);
      else {
        geojson = JSON.stringify({ type: 'MultiPolygon', coordinates: converted.polygons });
        if (converted.closedRings) warnings.push(`features[${i}] (${JSON.stringify(name)}): closed ${converted.closedRings} unclosed ring(s)`);
      }
    }
    if (numbers.population !== null && numbers.elderly_population !== null && numbers.elderly_population > numbers.population) {
      warnings.push(`features[${i}] (${JSON.stringify(name)}): elderly_population ${numbers.elderly_population} exceeds population ${numbers.population}`);
    }
    if (rowProblems.length || geojson === null) problems.push(...rowProblems);
    else {
      rows.push({
        feature: i, name, street: text.street, district: text.district,
        population: numbers.population, elderlyPopulation: numbers.elderly_population, geojson,
      });
    }
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
 * unless `skipInvalid`. In one transaction the new 'communities' dataset replaces every previous
 * one (approximate communities derived from OSM belong to the OSM dataset and stay).
 * O(vertices) time and memory.
 */
export async function importCommunities(pool: pg.Pool, file: string, options: ImportCommunitiesOptions = {}): Promise<ImportCommunitiesResult> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const sourceName = options.sourceName ?? path.basename(file);
  const crs = parseSourceCrs(options.crs ?? 'wgs84');

  progress.step(`reading ${sourceName}`);
  const { sha256, text } = readUtf8File(file);
  const { features, crsName } = parseGeoJson(text, sourceName);
  if (features.length === 0) throw new ImportValidationError(sourceName, [], false, `${sourceName} has no features: nothing to import`);
  const warnings: string[] = [];
  const crsWarning = geoJsonCrsWarning(crsName);
  if (crsWarning) warnings.push(crsWarning);
  const read = readCommunities(features, crs, warnings);
  const problems = [...read.problems];

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('communities'))`);
    await client.query(
      `CREATE TEMP TABLE import_communities (feature int, name text, street text, district text, population float8,
         elderly_population float8, geom_in geometry, invalid_reason text, geom geometry) ON COMMIT DROP`,
    );
    progress.step(`checking ${read.rows.length} community boundaries`);
    await insertBatches(
      client,
      `INSERT INTO import_communities (feature, name, street, district, population, elderly_population, geom_in)
       SELECT f, n, s, d, p, e, ST_SetSRID(ST_GeomFromGeoJSON(g), 4326)
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[]) AS u(f, n, s, d, p, e, g)`,
      [],
      read.rows,
      (r) => [r.feature, r.name, r.street, r.district, r.population, r.elderlyPopulation, r.geojson],
    );
    await client.query(
      `UPDATE import_communities SET
         invalid_reason = CASE WHEN NOT ST_IsValid(geom_in) THEN ST_IsValidReason(geom_in) END,
         geom = CASE WHEN ST_IsValid(geom_in) THEN ST_Multi(geom_in) ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(geom_in), 3)) END`,
    );
    const { rows: checked } = await client.query<{ feature: number; name: string; invalid_reason: string | null; empty: boolean; polygons: number }>(
      `SELECT feature, name, invalid_reason, ST_IsEmpty(geom) AS empty, ST_NumGeometries(geom) AS polygons
       FROM import_communities WHERE invalid_reason IS NOT NULL OR ST_IsEmpty(geom) ORDER BY feature`,
    );
    const repaired: RepairedCommunity[] = [];
    for (const c of checked) {
      if (c.empty) {
        problems.push({ feature: c.feature, field: 'geometry', value: c.invalid_reason ?? 'empty', reason: 'leaves no area after ST_MakeValid' });
      } else {
        repaired.push({ feature: c.feature, name: c.name, reason: c.invalid_reason ?? '', polygons: c.polygons });
      }
    }
    problems.sort((a, b) => (a.feature ?? 0) - (b.feature ?? 0));
    const skippedFeatures = new Set(problems.map((p) => p.feature)).size;
    if (problems.length && !options.skipInvalid) throw new ImportValidationError(sourceName, problems, true);
    await client.query(`DELETE FROM import_communities WHERE ST_IsEmpty(geom)`);
    const kept = read.rows.length - checked.filter((c) => c.empty).length;
    if (kept === 0) throw new ImportValidationError(sourceName, problems, false, `no valid communities in ${sourceName}: nothing imported`);
    if (problems.length) warnings.unshift(`skipped ${skippedFeatures} invalid ${skippedFeatures === 1 ? 'feature' : 'features'}:`, ...problems.map(formatProblem));
    for (const r of repaired) {
      warnings.push(`features[${r.feature}] (${JSON.stringify(r.name)}): invalid geometry (${r.reason}) repaired with ST_MakeValid into ${r.polygons} polygon(s)`);
    }

    const { rows: ds } = await client.query<{ id: number }>(
      `INSERT INTO datasets (kind, source, sha256, crs) VALUES ('communities', $1, $2, $3) RETURNING id`,
      [sourceName, sha256, crs],
    );
    const datasetId = ds[0].id;
    progress.step(`writing ${kept} communities`);
    await client.query(
      `INSERT INTO communities (dataset_id, name, street, district, population, elderly_population, geom)
       SELECT $1, name, street, district, population, elderly_population, geom FROM import_communities ORDER BY feature`,
      [datasetId],
    );
    const { rows: replaced } = await client.query<{ id: number }>(
      `DELETE FROM datasets WHERE kind = 'communities' AND id <> $1 RETURNING id`,
      [datasetId],
    );
    const replacedDatasetIds = replaced.map((r) => r.id).sort((a, b) => a - b);
    if (replacedDatasetIds.length) warnings.push(`replaced the previous community boundaries (dataset ${replacedDatasetIds.join(', ')})`);
    const counts: CommunityCounts = { features: features.length, communities: kept, repaired: repaired.length, skipped_invalid: skippedFeatures };
    const seconds = (performance.now() - started) / 1000;
    await client.query(
      `UPDATE datasets SET counts = $2, import_seconds = $3,
         bbox = (SELECT ST_MakeEnvelope(min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)), 4326) FROM communities WHERE dataset_id = $1)
       WHERE id = $1`,
      [datasetId, counts, seconds],
    );
    await client.query('COMMIT');
    progress.done(`imported ${kept} communities as dataset ${datasetId} in ${seconds.toFixed(1)} s`);
    return { datasetId, counts, repaired, skipped: problems, warnings, replacedDatasetIds, seconds };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

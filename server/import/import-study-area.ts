import fs from 'node:fs';
import type pg from 'pg';

/** A study-area file that cannot be used: names the file and why. */
export class StudyAreaError extends Error {
  constructor(file: string, reason: string) {
    super(`study area ${file}: ${reason}; nothing imported`);
    this.name = 'StudyAreaError';
  }
}

/**
 * Read a study-area GeoJSON (a Polygon or MultiPolygon, a Feature of one, or a FeatureCollection
 * of them, WGS 84) and return its polygons as one MultiPolygon GeoJSON string, checked by PostGIS
 * (invalid rings are repaired with ST_MakeValid). Throws {@link StudyAreaError} naming the feature.
 */
export async function readStudyArea(db: pg.Pool | pg.ClientBase, file: string): Promise<string> {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new StudyAreaError(file, `not readable as JSON (${(err as Error).message})`);
  }
  const geometries: unknown[] = [];
  const d = doc as { type?: string; features?: { geometry?: unknown }[]; geometry?: unknown };
  if (d?.type === 'FeatureCollection' && Array.isArray(d.features))
    d.features.forEach((f, i) => geometries.push(f?.geometry ?? { missing: `feature ${i}` }));
  else if (d?.type === 'Feature') geometries.push(d.geometry);
  else geometries.push(doc);
  if (!geometries.length) throw new StudyAreaError(file, 'the FeatureCollection has no features');
  for (const [i, g] of geometries.entries()) {
    const type = (g as { type?: string } | null)?.type;
    if (type !== 'Polygon' && type !== 'MultiPolygon')
      throw new StudyAreaError(
        file,
        `feature ${i}: geometry type ${JSON.stringify(type ?? null)} is not Polygon or MultiPolygon`,
      );
  }
  try {
    const { rows } = await db.query<{ geojson: string | null }>(
      `SELECT ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(ST_SetSRID(ST_GeomFromGeoJSON(g), 4326))), 3))) AS geojson
       FROM unnest($1::text[]) g`,
      [geometries.map((g) => JSON.stringify(g))],
    );
    const geojson = rows[0]?.geojson;
    if (!geojson || (JSON.parse(geojson) as { coordinates: unknown[] }).coordinates.length === 0)
      throw new StudyAreaError(file, 'the polygons enclose no area');
    return geojson;
  } catch (err) {
    if (err instanceof StudyAreaError) throw err;
    throw new StudyAreaError(file, `unusable geometry (${(err as Error).message})`);
  }
}

/** Give a dataset its study area (from {@link readStudyArea}); it must overlap the dataset's extent. */
export async function setStudyArea(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
  file: string,
  multiPolygonGeoJson: string,
): Promise<void> {
  const { rowCount } = await db.query(
    `UPDATE datasets SET study_area = ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)
     WHERE id = $1 AND (bbox IS NULL OR ST_Intersects(bbox, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)))`,
    [datasetId, multiPolygonGeoJson],
  );
  if (!rowCount)
    throw new StudyAreaError(
      file,
      `it does not overlap the imported data (dataset ${datasetId}); the default study area stays`,
    );
}

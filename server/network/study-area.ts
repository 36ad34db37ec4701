import type pg from 'pg';
import type { EngineOrigin } from '../../geo/coverage.ts';

/**
 * Width of the band along the data's edge, metres: origins are evaluated inside the extract's bbox
 * shrunk by this much (the default study area), while facilities in the band still count. 1000 m is
 * the largest rule distance (GB 50180-2018 §3.0.4, 15-minute life circle), so a resident inside the
 * default study area has every facility within a rule's straight-line reach in the data. A small
 * extract keeps at least half of each side: the margin is at most a quarter of its shorter side.
 */
export const EDGE_MARGIN_M = 1000;

/**
 * The data's edge (the extract's bbox, else the envelope of its walking network), the margin in
 * force and the study area (the dataset's own polygon, else the edge shrunk by the margin).
 */
const STUDY_AREA_CTE = `
  edge AS MATERIALIZED (
    SELECT d.id, d.study_area,
           coalesce(d.bbox, (SELECT ST_Envelope(ST_Collect(n.geom)) FROM walk_nodes n WHERE n.dataset_id = d.id)) AS box
    FROM datasets d WHERE d.id = $1
  ),
  sized AS MATERIALIZED (
    SELECT edge.*, least($2::float8,
             least(ST_Distance(ST_MakePoint(ST_XMin(box), ST_YMin(box))::geography, ST_MakePoint(ST_XMax(box), ST_YMin(box))::geography),
                   ST_Distance(ST_MakePoint(ST_XMin(box), ST_YMin(box))::geography, ST_MakePoint(ST_XMin(box), ST_YMax(box))::geography)) / 4) AS margin_m
    FROM edge
  ),
  sa AS MATERIALIZED (
    SELECT sized.*, coalesce(study_area, ST_Multi(ST_MakeEnvelope(
             ST_XMin(box) + margin_m / (111320 * cos(radians(ST_Y(ST_Centroid(box))))), ST_YMin(box) + margin_m / 111320,
             ST_XMax(box) - margin_m / (111320 * cos(radians(ST_Y(ST_Centroid(box))))), ST_YMax(box) - margin_m / 111320, 4326))) AS area
    FROM sized
  )`;

/**
 * Which origins are evaluated, and which lie within the margin of the data's edge. An origin is
 * evaluated when it lies in the study area or its residential area reaches into it (an area is
 * never cut in two by the study area's line).
 */
const ORIGIN_STUDY_SQL = `
  WITH ${STUDY_AREA_CTE}
  SELECT o.id,
         ST_Covers(sa.area, o.geom) OR coalesce(ST_Intersects(sa.area, ra.geom), false) AS evaluated,
         ST_Distance(o.geom::geography, ST_ExteriorRing(sa.box)::geography) < sa.margin_m AS near_edge
  FROM origins o CROSS JOIN sa
  LEFT JOIN residential_areas ra ON ra.id = o.residential_area_id
  WHERE o.dataset_id = $1`;

export interface StudyArea {
  /** Margin in force, metres ({@link EDGE_MARGIN_M}, less for a small extract). */
  marginM: number;
  /** Whether the study area was given (`--study-area`) rather than derived from the bbox. */
  given: boolean;
  /** GeoJSON MultiPolygon of the study area. */
  geometry: unknown;
}

/** The study area of a dataset, as GeoJSON, with the margin in force. */
export async function studyArea(db: pg.Pool | pg.ClientBase, datasetId: number): Promise<StudyArea | null> {
  const { rows } = await db.query<{ margin_m: number; given: boolean; geometry: unknown }>(
    `WITH ${STUDY_AREA_CTE} SELECT margin_m, study_area IS NOT NULL AS given, ST_AsGeoJSON(area, 6)::json AS geometry FROM sa`,
    [datasetId, EDGE_MARGIN_M],
  );
  return rows[0] && rows[0].geometry
    ? { marginM: rows[0].margin_m, given: rows[0].given, geometry: rows[0].geometry }
    : null;
}

/**
 * Keep the origins evaluated in the study area, marking those within the margin of the data's
 * edge (`nearDataEdge`). One query over the dataset's origins.
 */
export async function applyStudyArea(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
  origins: readonly EngineOrigin[],
): Promise<{ origins: EngineOrigin[]; outside: number }> {
  const { rows } = await db.query<{ id: string; evaluated: boolean | null; near_edge: boolean | null }>(
    ORIGIN_STUDY_SQL,
    [datasetId, EDGE_MARGIN_M],
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const kept: EngineOrigin[] = [];
  for (const o of origins) {
    const r = byId.get(o.id);
    // No box at all (an empty dataset) leaves every origin in, none near an edge.
    if (r && r.evaluated === false) continue;
    kept.push(r?.near_edge ? { ...o, nearDataEdge: true } : o);
  }
  return { origins: kept, outside: origins.length - kept.length };
}

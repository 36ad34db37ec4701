import type pg from 'pg';
import type { SearchHit } from '../../api/search.ts';

/**
 * Names in the served dataset and the registers and boundaries that lie within its extent, exact
 * matches first, then prefix matches, then shorter names. ILIKE '%q%' is served by the trigram
 * indexes of migration 0150; `%`, `_` and `\` in q are matched literally. Roads are grouped by name.
 */
const SEARCH_SQL = `
  WITH d AS (SELECT dataset_id AS id FROM dataset_run(coalesce($3::text, default_dataset_name()))),
  b AS (SELECT ds.bbox FROM datasets ds, d WHERE ds.id = d.id),
  pat AS (SELECT '%' || replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%' AS p),
  hits AS (
    SELECT 'community' AS kind, c.id, c.name, NULL::text AS category, c.geom FROM communities c, b, pat
      WHERE c.name ILIKE pat.p AND (b.bbox IS NULL OR ST_Intersects(c.geom, b.bbox))
    UNION ALL
    SELECT 'residential_area', r.id, r.name, NULL, r.geom FROM residential_areas r, d, pat
      WHERE r.dataset_id = d.id AND r.name ILIKE pat.p
    UNION ALL
    SELECT 'facility', f.id, f.name, f.category, f.geom FROM facilities f JOIN datasets fd ON fd.id = f.dataset_id, d, b, pat
      WHERE f.name ILIKE pat.p AND f.replaced_by IS NULL
        AND (fd.id = d.id OR (fd.kind = 'facility_register' AND ST_Intersects(f.geom, dataset_facility_extent(d.id))))
    UNION ALL
    SELECT 'road', min(r.id), r.name, NULL, ST_Collect(r.geom) FROM basemap_roads r, d, pat
      WHERE r.dataset_id = d.id AND r.name ILIKE pat.p GROUP BY r.name
  )
  SELECT kind, id::int, name, category,
         ARRAY[round(ST_XMin(geom)::numeric, 6), round(ST_YMin(geom)::numeric, 6), round(ST_XMax(geom)::numeric, 6), round(ST_YMax(geom)::numeric, 6)]::float8[] AS bbox,
         round(ST_X(ST_PointOnSurface(geom))::numeric, 7)::float8 AS lng, round(ST_Y(ST_PointOnSurface(geom))::numeric, 7)::float8 AS lat
  FROM hits
  ORDER BY (lower(name) = lower($1)) DESC, (lower(name) LIKE lower(replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_')) || '%') DESC,
           length(name), CASE kind WHEN 'community' THEN 0 WHEN 'residential_area' THEN 1 WHEN 'facility' THEN 2 ELSE 3 END, id
  LIMIT $2`;

/**
 * Up to `limit` names matching `q` in the dataset served under `dataset` (default: the default
 * dataset) and the registers and boundaries within it.
 */
export async function searchNames(db: pg.Pool, q: string, limit: number, dataset?: string): Promise<SearchHit[]> {
  const { rows } = await db.query<SearchHit>(SEARCH_SQL, [q, limit, dataset ?? null]);
  return rows;
}

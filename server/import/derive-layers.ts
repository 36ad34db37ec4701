import type pg from 'pg';
import { DEFAULT_LEVELS, POPULATION_ESTIMATE, RESIDENTIAL_BUILDING_TYPES } from '../population-estimate.ts';

const P = POPULATION_ESTIMATE;

/**
 * A bounding-box margin in degrees that covers `m` metres anywhere up to 70° latitude (cos 70° ≈ 0.34),
 * so `&&` can use the spatial index before the exact geodesic test.
 */
const degreesFor = (m: number) => ((m / 111_320 / 0.34) * 1.01).toFixed(7);
const RESIDENTIAL_TYPES_SQL = `(${RESIDENTIAL_BUILDING_TYPES.map((t) => `'${t}'`).join(', ')})`;
const DEFAULT_LEVELS_SQL = `CASE building ${Object.entries(DEFAULT_LEVELS)
  .map(([t, n]) => `WHEN '${t}' THEN ${n}`)
  .join(' ')} ELSE ${P.defaultLevels} END`;

/**
 * The columns a building of dataset $1 derives from its own tags and footprint and the layers
 * written before it (README "Population"), computed as the row is inserted rather than by
 * rewriting every building afterwards: whether it is a home (a residential type; or building=yes
 * with no non-residential tag, at least the minimum footprint, and its point on surface outside
 * non-residential sites), its floor area, and the residential area that contains that point.
 * Reads the columns building, levels, footprint_m2, has_nonresidential_tag and geom of the row
 * source `w`, and the scratch table import_nonresidential_sites.
 */
export const BUILDING_DERIVED_SQL = {
  isResidential: `CASE
         WHEN w.building IN ${RESIDENTIAL_TYPES_SQL} THEN true
         WHEN w.building = 'yes' THEN NOT w.has_nonresidential_tag AND w.footprint_m2 >= ${P.minUntaggedFootprintM2}
              AND NOT EXISTS (SELECT 1 FROM import_nonresidential_sites s WHERE s.geom && w.geom AND ST_Intersects(s.geom, ST_PointOnSurface(w.geom)))
         ELSE false END`,
  floorArea: `w.footprint_m2 * CASE WHEN w.levels IS NULL AND w.footprint_m2 > ${P.maxBuildingFootprintM2} THEN ${P.fallbackFloorAreaRatio}
                                   ELSE coalesce(w.levels, ${DEFAULT_LEVELS_SQL.replace('CASE building', 'CASE w.building')}) END`,
  residentialArea: `(SELECT ra.id FROM residential_areas ra WHERE ra.dataset_id = $1 AND w.geom && ra.geom AND ST_Contains(ra.geom, ST_PointOnSurface(w.geom)) LIMIT 1)`,
};

/**
 * Approximate community zones of dataset $1 (README "Community zones"): Voronoi cells of the named
 * place points of the finest level present (neighbourhood, quarter, suburb, village; a level with
 * at least two named points is preferred over a finer one with a single point), extended to and
 * clipped by the residential extent (the convex hull of every residential area, 200 m around);
 * one point gives one zone covering the whole extent. A point whose cell misses the extent keeps
 * its cell (a zone with no residents, listed in the audit). Without place points, every
 * residential area is its own zone. All flagged approximate.
 */
export const APPROXIMATE_ZONES_SQL = `
  INSERT INTO communities (dataset_id, name, is_approximate, geom)
  WITH lvl AS (
    SELECT place FROM places WHERE dataset_id = $1 AND name IS NOT NULL
    GROUP BY place
    ORDER BY count(DISTINCT name) >= 2 DESC, array_position(ARRAY['neighbourhood', 'quarter', 'suburb', 'village'], place)
    LIMIT 1
  ), pts AS (
    SELECT DISTINCT ON (name) name, geom FROM places
    WHERE dataset_id = $1 AND name IS NOT NULL AND place = (SELECT place FROM lvl) ORDER BY name, osm_ref
  ), hull AS (
    SELECT ST_Buffer(ST_ConvexHull(ST_Collect(geom))::geography, 200)::geometry AS geom FROM residential_areas WHERE dataset_id = $1
  ), cells AS (
    SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(p.geom), 0, ST_Collect(ST_Collect(p.geom), (SELECT geom FROM hull))))).geom AS geom
    FROM pts p HAVING count(*) >= 2
  )
  SELECT $1, p.name, true,
         ST_Multi(CASE WHEN ST_Intersects(c.geom, h.geom) THEN ST_CollectionExtract(ST_Intersection(c.geom, h.geom), 3) ELSE c.geom END)
  FROM cells c JOIN pts p ON ST_Intersects(c.geom, p.geom) CROSS JOIN hull h
  WHERE h.geom IS NOT NULL
  UNION ALL
  SELECT $1, p.name, true, ST_Multi(h.geom) FROM pts p CROSS JOIN hull h
  WHERE h.geom IS NOT NULL AND (SELECT count(*) FROM pts) = 1
  UNION ALL
  SELECT $1, coalesce(ra.name, '住区 ' || ra.osm_ref), true, ra.geom FROM residential_areas ra
  WHERE ra.dataset_id = $1 AND NOT EXISTS (SELECT 1 FROM pts)`;

/**
 * Statements run inside the import transaction after the raw layers are written; each takes the
 * dataset id as $1. Order matters.
 */
export const DERIVE_LAYERS_SQL: ReadonlyArray<readonly [label: string, sql: string]> = [
  ['index the entrances', `CREATE INDEX ON import_entrances USING gist (geom)`],
  // Fresh statistics, or the planner guesses nested loops over hundreds of thousands of rows.
  [
    'analyse the new rows',
    `ANALYZE import_entrances, walk_nodes, walk_edges, facilities, residential_areas, buildings, barriers, places`,
  ],
  [
    'keep the entrances with the dataset',
    `INSERT INTO entrances (dataset_id, osm_id, kind, geom) SELECT $1, osm_id, kind, geom FROM import_entrances`,
  ],
  [
    'analyse the entrances',
    // The access-point rule joins facilities to the entrances of this dataset. On a re-import the
    // statistics (autovacuum's, from the earlier import) know only the earlier datasets, so this
    // one's entrances were estimated at 1 row and scanned whole once per park: the 1M-node city's
    // second import spent over 5 minutes there instead of under a minute.
    `ANALYZE entrances`,
  ],
  [
    'gated compounds enclosed by walls or fences',
    // The 15 m band along each boundary is built once per area (a geodesic buffer is the costly
    // part), not once per area and nearby wall.
    `UPDATE residential_areas ra SET is_gated = true, gated_reason = 'wall'
     FROM (
       WITH band AS MATERIALIZED (
         SELECT ra2.id, ra2.geom, ST_Buffer(ST_Boundary(ra2.geom)::geography, 15)::geometry AS buf
         FROM residential_areas ra2
         WHERE ra2.dataset_id = $1 AND EXISTS (SELECT 1 FROM barriers b WHERE b.dataset_id = $1 AND b.geom && ST_Expand(ra2.geom, 0.0005))
       )
       SELECT band.id, sum(ST_Length(ST_Intersection(b.geom, band.buf)::geography)) AS walled_m
       FROM band JOIN barriers b ON b.dataset_id = $1 AND b.geom && ST_Expand(band.geom, 0.0005)
       GROUP BY band.id
     ) w
     WHERE ra.id = w.id AND w.walled_m >= 0.5 * ST_Length(ST_Boundary(ra.geom)::geography)`,
  ],
  [
    'midpoints of the walking edges',
    // Which area an edge lies in is decided by its midpoint; with the midpoints indexed, each area
    // looks up the points inside it (one prepared polygon per area) instead of each edge probing
    // the areas.
    `CREATE TEMP TABLE import_edge_midpoints ON COMMIT DROP AS
     SELECT source, target, length_m, is_private, ST_LineInterpolatePoint(geom, 0.5) AS mid FROM walk_edges WHERE dataset_id = $1`,
  ],
  ['index the edge midpoints', `CREATE INDEX ON import_edge_midpoints USING gist (mid)`],
  ['analyse the edge midpoints', `ANALYZE import_edge_midpoints`],
  [
    'gated compounds whose internal ways are private',
    `UPDATE residential_areas ra SET is_gated = true, gated_reason = CASE WHEN ra.is_gated THEN 'wall+private_ways' ELSE 'private_ways' END
     FROM (
       SELECT ra2.id, sum(e.length_m) FILTER (WHERE e.is_private) AS private_m, sum(e.length_m) AS total_m
       FROM residential_areas ra2 JOIN import_edge_midpoints e ON e.mid && ra2.geom AND ST_Contains(ra2.geom, e.mid)
       WHERE ra2.dataset_id = $1
       GROUP BY ra2.id
     ) w
     WHERE ra.id = w.id AND w.private_m > 0 AND w.private_m >= 0.5 * w.total_m`,
  ],
  [
    'gates of gated compounds: mapped gates on the boundary or walls',
    `INSERT INTO compound_gates (residential_area_id, osm_node_id, kind, geom)
     SELECT DISTINCT ON (ra.id, e.osm_id) ra.id, e.osm_id, 'mapped_gate', e.geom
     FROM residential_areas ra JOIN import_entrances e
       ON e.geom && ST_Expand(ra.geom, ${degreesFor(20)}) AND ST_DWithin(ST_Boundary(ra.geom)::geography, e.geom::geography, 20)
     WHERE ra.dataset_id = $1 AND ra.is_gated`,
  ],
  [
    'gates of gated compounds: public nodes where internal private ways meet public ones',
    `INSERT INTO compound_gates (residential_area_id, osm_node_id, kind, geom)
     SELECT DISTINCT ON (ra.id, n.id) ra.id, n.osm_id, 'way_junction', n.geom
     FROM residential_areas ra
     JOIN import_edge_midpoints e ON e.is_private AND e.mid && ra.geom AND ST_Contains(ra.geom, e.mid)
     JOIN walk_nodes n ON n.id IN (e.source, e.target) AND NOT n.is_private
     WHERE ra.dataset_id = $1 AND ra.is_gated
       AND NOT EXISTS (SELECT 1 FROM compound_gates g WHERE g.residential_area_id = ra.id AND g.osm_node_id = n.osm_id)`,
  ],
  [
    'residential areas from clusters of residential buildings outside mapped residential land',
    `WITH c AS (
       SELECT id, geom, ST_ClusterDBSCAN(geom, eps := ${(P.clusterDistanceM / 111_320).toFixed(8)}, minpoints := 1) OVER () AS cid
       FROM buildings WHERE dataset_id = $1 AND is_residential AND residential_area_id IS NULL
     ), g AS (
       SELECT cid, ST_Multi(ST_CollectionExtract(ST_Union(ST_Buffer(geom::geography, ${P.clusterBufferM})::geometry), 3)) AS geom FROM c GROUP BY cid
     ), ins AS (
       INSERT INTO residential_areas (dataset_id, osm_ref, kind, geom, area_m2, population_source)
       SELECT $1, 'buildings:' || cid, 'buildings', geom, ST_Area(geom::geography), 'estimate' FROM g
       RETURNING id, osm_ref
     )
     UPDATE buildings b SET residential_area_id = ins.id FROM c JOIN ins ON ins.osm_ref = 'buildings:' || c.cid WHERE b.id = c.id`,
  ],
  [
    'population estimates of residential areas without figures',
    `UPDATE residential_areas ra
     SET population = round(CASE WHEN ra.kind <> 'landuse' OR coalesce(f.floor_m2, 0) >= ${P.minMappedFloorAreaRatio} * ra.area_m2
                                 THEN coalesce(f.floor_m2, 0) / ${P.floorAreaPerResidentM2}
                                 ELSE ra.area_m2 * ${P.fallbackFloorAreaRatio} / ${P.floorAreaPerResidentM2} END),
         population_source = 'estimate'
     FROM residential_areas r2
     LEFT JOIN (SELECT residential_area_id, sum(floor_area_m2) AS floor_m2
                FROM buildings WHERE dataset_id = $1 AND is_residential
                GROUP BY residential_area_id) f ON f.residential_area_id = r2.id
     WHERE ra.id = r2.id AND ra.dataset_id = $1 AND ra.population IS NULL`,
  ],
  [
    'population share of each residential building',
    `UPDATE buildings b SET population = ra.population * b.floor_area_m2 / t.floor_m2, population_source = ra.population_source
     FROM residential_areas ra,
          (SELECT residential_area_id, sum(floor_area_m2) AS floor_m2
           FROM buildings WHERE dataset_id = $1 AND is_residential GROUP BY residential_area_id) t
     WHERE b.dataset_id = $1 AND b.is_residential
       AND b.residential_area_id = ra.id AND t.residential_area_id = ra.id AND t.floor_m2 > 0`,
  ],
  [
    'approximate community zones from place points, else the residential areas (README "Community zones")',
    APPROXIMATE_ZONES_SQL,
  ],
];

/**
 * Derive the access points of the facilities of `facilityDatasetId` against the walking network of
 * `networkDatasetId` (null: no network yet, points only), through the one entry rule for OSM and
 * register facilities alike: the SQL function derive_facility_access_points (migration 0020,
 * README "Park entry"). Runs inside the caller's transaction.
 */
export async function deriveAccessPoints(
  client: pg.ClientBase,
  facilityDatasetId: number,
  networkDatasetId: number | null,
): Promise<void> {
  try {
    if (networkDatasetId === null) {
      await client.query(
        `INSERT INTO facility_access_points (facility_id, kind, geom) SELECT id, 'point', geom FROM facilities WHERE dataset_id = $1 AND ST_Dimension(geom) = 0`,
        [facilityDatasetId],
      );
      return;
    }
    await client.query(
      `SELECT derive_facility_access_points($2, array(SELECT id FROM facilities WHERE dataset_id = $1 ORDER BY id))`,
      [facilityDatasetId, networkDatasetId],
    );
  } catch (err) {
    throw new Error(`deriving access points failed: ${(err as Error).message}`);
  }
}

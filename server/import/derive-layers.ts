import type pg from 'pg';

/**
 * Population estimate constants.
 * - Floor area per resident: 39 m², China's urban per-capita housing floor area for 2018
 *   (National Bureau of Statistics, Statistical Communiqué 2018 / China Statistical Yearbook 2019).
 * - Levels when building:levels is missing: 6, a local choice (typical walk-up 单元楼 of Chengdu's
 *   older compounds); marked as an estimate like every derived population.
 * - Fallback for residential areas whose mapped buildings cover little: floor-area ratio 1.5
 *   (a local choice inside GB 50180-2018 table 4.0.2's range for 7–9 storey 居住街坊, 1.5–1.7
 *   in climate zones III–V), i.e. area_m2 × 1.5 / 39 residents.
 * - "Covers little": mapped floor area below 0.3 × the area's land area (local choice).
 */
export const POPULATION_ESTIMATE = {
  floorAreaPerResidentM2: 39,
  defaultLevels: 6,
  fallbackFloorAreaRatio: 1.5,
  minMappedFloorAreaRatio: 0.3,
} as const;

/** Densify polygon boundaries and greenways to at most this spacing when sampling access points. */
export const ACCESS_SAMPLE_SPACING_M = 50;
/** Sampled boundary points farther than this from any walkable edge are not access points. */
export const ACCESS_SAMPLE_MAX_TO_NETWORK_M = 100;

const P = POPULATION_ESTIMATE;

/**
 * A bounding-box margin in degrees that covers `m` metres anywhere up to 70° latitude (cos 70° ≈ 0.34),
 * so `&&` can use the spatial index before the exact geodesic test.
 */
const degreesFor = (m: number) => ((m / 111_320 / 0.34) * 1.01).toFixed(7);
const RESIDENTIAL_BUILDINGS = `('residential', 'apartments', 'house', 'yes', 'dormitory', 'terrace', 'detached', 'semidetached_house')`;

/**
 * Statements run inside the import transaction after the raw layers are written; each takes the
 * dataset id as $1. Order matters.
 */
export const DERIVE_LAYERS_SQL: ReadonlyArray<readonly [label: string, sql: string]> = [
  ['index the entrances', `CREATE INDEX ON import_entrances USING gist (geom)`],
  // Fresh statistics, or the planner guesses nested loops over hundreds of thousands of rows.
  ['analyse the new rows', `ANALYZE import_entrances, walk_nodes, walk_edges, facilities, residential_areas, buildings, barriers, places`],
  [
    'gated compounds enclosed by walls or fences',
    `UPDATE residential_areas ra SET is_gated = true, gated_reason = 'wall'
     FROM (
       SELECT ra2.id, sum(ST_Length(ST_Intersection(b.geom, ST_Buffer(ST_Boundary(ra2.geom)::geography, 15)::geometry)::geography)) AS walled_m
       FROM residential_areas ra2 JOIN barriers b ON b.dataset_id = $1 AND b.geom && ST_Expand(ra2.geom, 0.0005)
       WHERE ra2.dataset_id = $1
       GROUP BY ra2.id
     ) w
     WHERE ra.id = w.id AND w.walled_m >= 0.5 * ST_Length(ST_Boundary(ra.geom)::geography)`,
  ],
  [
    'gated compounds whose internal ways are private',
    `UPDATE residential_areas ra SET is_gated = true, gated_reason = CASE WHEN ra.is_gated THEN 'wall+private_ways' ELSE 'private_ways' END
     FROM (
       SELECT ra2.id, sum(e.length_m) FILTER (WHERE e.is_private) AS private_m, sum(e.length_m) AS total_m
       FROM residential_areas ra2 JOIN walk_edges e ON e.dataset_id = $1 AND e.geom && ra2.geom AND ST_Contains(ra2.geom, ST_LineInterpolatePoint(e.geom, 0.5))
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
     JOIN walk_edges e ON e.dataset_id = $1 AND e.is_private AND e.geom && ra.geom AND ST_Contains(ra.geom, ST_LineInterpolatePoint(e.geom, 0.5))
     JOIN walk_nodes n ON n.id IN (e.source, e.target) AND NOT n.is_private
     WHERE ra.dataset_id = $1 AND ra.is_gated
       AND NOT EXISTS (SELECT 1 FROM compound_gates g WHERE g.residential_area_id = ra.id AND g.osm_node_id = n.osm_id)`,
  ],
  [
    'buildings to residential areas',
    `UPDATE buildings b SET residential_area_id = ra.id
     FROM residential_areas ra
     WHERE b.dataset_id = $1 AND ra.dataset_id = $1 AND b.geom && ra.geom AND ST_Contains(ra.geom, ST_PointOnSurface(b.geom))`,
  ],
  [
    'population estimates of residential areas without figures',
    `UPDATE residential_areas ra
     SET population = round(CASE WHEN coalesce(f.floor_m2, 0) >= ${P.minMappedFloorAreaRatio} * ra.area_m2
                                 THEN f.floor_m2 / ${P.floorAreaPerResidentM2}
                                 ELSE ra.area_m2 * ${P.fallbackFloorAreaRatio} / ${P.floorAreaPerResidentM2} END),
         population_source = 'estimate'
     FROM residential_areas r2
     LEFT JOIN (SELECT residential_area_id, sum(footprint_m2 * coalesce(levels, ${P.defaultLevels})) AS floor_m2
                FROM buildings WHERE dataset_id = $1 AND building IN ${RESIDENTIAL_BUILDINGS}
                GROUP BY residential_area_id) f ON f.residential_area_id = r2.id
     WHERE ra.id = r2.id AND ra.dataset_id = $1 AND ra.population IS NULL`,
  ],
  [
    'population share of each residential building',
    `UPDATE buildings b SET population = ra.population * b.footprint_m2 * coalesce(b.levels, ${P.defaultLevels}) / t.floor_m2
     FROM residential_areas ra,
          (SELECT residential_area_id, sum(footprint_m2 * coalesce(levels, ${P.defaultLevels})) AS floor_m2
           FROM buildings WHERE dataset_id = $1 AND building IN ${RESIDENTIAL_BUILDINGS} GROUP BY residential_area_id) t
     WHERE b.dataset_id = $1 AND b.building IN ${RESIDENTIAL_BUILDINGS}
       AND b.residential_area_id = ra.id AND t.residential_area_id = ra.id AND t.floor_m2 > 0`,
  ],
  [
    'approximate community zones from place=neighbourhood points (Voronoi, clipped to the network hull)',
    `INSERT INTO communities (dataset_id, name, is_approximate, geom)
     WITH pts AS (
       SELECT DISTINCT ON (name) name, geom FROM places WHERE dataset_id = $1 AND place = 'neighbourhood' AND name IS NOT NULL ORDER BY name, osm_ref
     ), hull AS (
       SELECT ST_Buffer(ST_ConvexHull(ST_Collect(geom))::geography, 200)::geometry AS geom FROM residential_areas WHERE dataset_id = $1
     ), cells AS (
       SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(geom)))).geom AS geom FROM pts
     )
     SELECT $1, p.name, true, ST_Multi(ST_CollectionExtract(ST_Intersection(c.geom, h.geom), 3))
     FROM cells c JOIN pts p ON ST_Contains(c.geom, p.geom) CROSS JOIN hull h
     WHERE h.geom IS NOT NULL AND ST_Intersects(c.geom, h.geom)`,
  ],
];

/**
 * How facilities are entered on foot, one statement per kind of access point; each takes the
 * facilities' dataset as $1 and the walking network's dataset as $2 (the same for an OSM import,
 * the active network for a register). Mapped entrances come from the temp table import_entrances,
 * which only an OSM import fills. Greenways (lines) are entered at points every
 * ${ACCESS_SAMPLE_SPACING_M} m along them that lie within ${ACCESS_SAMPLE_MAX_TO_NETWORK_M} m of a public walkable way.
 */
export const ACCESS_POINTS_SQL: ReadonlyArray<readonly [label: string, sql: string]> = [
  [
    'access points of point facilities',
    `INSERT INTO facility_access_points (facility_id, kind, geom)
     SELECT id, 'point', geom FROM facilities WHERE dataset_id = $1 AND ST_Dimension(geom) = 0`,
  ],
  [
    'access points at mapped entrances on facility boundaries',
    `INSERT INTO facility_access_points (facility_id, kind, geom)
     SELECT DISTINCT f.id, 'entrance', e.geom
     FROM facilities f JOIN import_entrances e
       ON e.geom && ST_Expand(f.geom, ${degreesFor(2)}) AND ST_DWithin(ST_Boundary(f.geom)::geography, e.geom::geography, 2)
     WHERE f.dataset_id = $1 AND ST_Dimension(f.geom) = 2`,
  ],
  [
    'access points where public walkable ways meet or cross facility boundaries',
    `INSERT INTO facility_access_points (facility_id, kind, geom)
     SELECT DISTINCT ON (f.id, ST_SnapToGrid(p.geom, 1e-6)) f.id, 'crossing', p.geom
     FROM facilities f
     JOIN walk_edges w ON w.dataset_id = $2 AND NOT w.is_private AND w.geom && f.geom
     CROSS JOIN LATERAL (
       SELECT CASE WHEN ST_Dimension(d.geom) = 0 THEN d.geom ELSE ST_StartPoint(d.geom) END AS geom
       FROM ST_Dump(ST_Intersection(ST_Boundary(f.geom), w.geom)) d
     ) p
     WHERE f.dataset_id = $1 AND ST_Dimension(f.geom) = 2 AND ST_Intersects(ST_Boundary(f.geom), w.geom)
       AND NOT EXISTS (SELECT 1 FROM facility_access_points a WHERE a.facility_id = f.id AND a.kind = 'entrance'
                       AND ST_DWithin(a.geom::geography, p.geom::geography, 5))`,
  ],
  [
    'sampled boundary access points for areas with neither entrances nor crossings',
    `INSERT INTO facility_access_points (facility_id, kind, geom)
     SELECT f.id, 'sampled', d.geom
     FROM facilities f
     CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(ST_Boundary(f.geom)::geography, ${ACCESS_SAMPLE_SPACING_M})::geometry) d
     WHERE f.dataset_id = $1 AND ST_Dimension(f.geom) = 2
       AND NOT EXISTS (SELECT 1 FROM facility_access_points a WHERE a.facility_id = f.id)
       AND EXISTS (SELECT 1 FROM walk_edges w WHERE w.dataset_id = $2 AND NOT w.is_private
                   AND w.geom && ST_Expand(d.geom, ${ACCESS_SAMPLE_MAX_TO_NETWORK_M * 1.01} / (111320 * cos(radians(ST_Y(d.geom)))))
                   AND ST_DWithin(w.geom::geography, d.geom::geography, ${ACCESS_SAMPLE_MAX_TO_NETWORK_M}))`,
  ],
  [
    'access points along greenways',
    `INSERT INTO facility_access_points (facility_id, kind, geom)
     SELECT f.id, 'sampled', d.geom
     FROM facilities f
     CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(f.geom::geography, ${ACCESS_SAMPLE_SPACING_M})::geometry) d
     WHERE f.dataset_id = $1 AND ST_Dimension(f.geom) = 1
       AND EXISTS (SELECT 1 FROM walk_edges w WHERE w.dataset_id = $2 AND NOT w.is_private
                   AND w.geom && ST_Expand(d.geom, ${ACCESS_SAMPLE_MAX_TO_NETWORK_M * 1.01} / (111320 * cos(radians(ST_Y(d.geom)))))
                   AND ST_DWithin(w.geom::geography, d.geom::geography, ${ACCESS_SAMPLE_MAX_TO_NETWORK_M}))`,
  ],
];

/**
 * Derive the access points of the facilities of `facilityDatasetId` against the walking network of
 * `networkDatasetId` ({@link ACCESS_POINTS_SQL}; null: no network yet, points only): the one entry rule for OSM and register
 * facilities. Runs inside the caller's transaction. O(F · edges near each facility) with the indexes.
 */
export async function deriveAccessPoints(client: pg.ClientBase, facilityDatasetId: number, networkDatasetId: number | null): Promise<void> {
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS import_entrances (osm_id bigint, kind text, geom geometry(Point, 4326)) ON COMMIT DROP`);
  for (const [label, sql] of ACCESS_POINTS_SQL) {
    try {
      await client.query(sql, sql.includes('$2') ? [facilityDatasetId, networkDatasetId] : [facilityDatasetId]);
    } catch (err) {
      throw new Error(`deriving ${label} failed: ${(err as Error).message}`);
    }
  }
}

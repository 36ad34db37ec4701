import type pg from 'pg';
import type { EngineCompound, EngineNetwork, EngineOrigin } from '../../geo/coverage.ts';
import { OPEN_SPACE_CATEGORIES, type CategoryId } from '../../geo/categories.ts';
import { SAMPLED_ACCESS_MAX_LEG_M, type EngineFacility } from '../../geo/distance-field.ts';
import { nodesInLargeComponents } from '../../geo/components.ts';
import { buildGraph, DIR_BACKWARD, DIR_BOTH, DIR_FORWARD, DIR_NONE, hilbertNodeOrder } from '../../geo/graph.ts';
import { buildBarrierIndex, buildSnapIndex, DEFAULT_MAX_SNAP_M } from '../../geo/snap.ts';
import { POPULATION_ESTIMATE } from '../population-estimate.ts';

/** Spacing of facility shape points for straight-line (buffer) distances. */
export const SHAPE_SPACING_M = 25;

const EDGES_SQL = `
  SELECT e.id, e.source, e.target, e.length_m, e.cost, e.reverse_cost, e.is_private,
         ST_AsBinary(e.geom) AS wkb
  FROM walk_edges e WHERE e.dataset_id = $1 ORDER BY e.id`;
const NODES_SQL = `SELECT id, ST_X(geom) AS lng, ST_Y(geom) AS lat FROM walk_nodes WHERE dataset_id = $1 ORDER BY id`;

/**
 * Facilities of the network dataset plus the register facilities that belong to it (migration 0310:
 * within register_facility_margin_m() of its bbox), with access points (and which
 * are sampled edge points), shape points (polygon boundaries densified to ${SHAPE_SPACING_M} m), and
 * the polygon of open spaces (`$2`: their categories) as GeoJSON.
 * OSM facilities a register replaced (replaced_by, see the register importer) are left out.
 */
const FACILITIES_SQL = `
  SELECT f.id, f.category, f.name, f.area_m2, f.is_sample,
         ST_X(ST_PointOnSurface(f.geom)) AS lng, ST_Y(ST_PointOnSurface(f.geom)) AS lat,
         (SELECT coalesce(array_agg(ST_X(a.geom) ORDER BY a.id), '{}') FROM facility_access_points a WHERE a.facility_id = f.id) AS access_lng,
         (SELECT coalesce(array_agg(ST_Y(a.geom) ORDER BY a.id), '{}') FROM facility_access_points a WHERE a.facility_id = f.id) AS access_lat,
         (SELECT coalesce(array_agg(a.kind = 'sampled' ORDER BY a.id), '{}') FROM facility_access_points a WHERE a.facility_id = f.id) AS access_sampled,
         CASE WHEN f.category = ANY ($2::text[]) AND ST_Dimension(f.geom) = 2 THEN ST_AsGeoJSON(f.geom) END AS polygon,
         (SELECT array_agg(ST_X(p.geom)) FROM ST_DumpPoints(ST_Segmentize((CASE WHEN ST_Dimension(f.geom) = 2 THEN ST_Boundary(f.geom) ELSE f.geom END)::geography, ${SHAPE_SPACING_M})::geometry) p) AS shape_lng,
         (SELECT array_agg(ST_Y(p.geom)) FROM ST_DumpPoints(ST_Segmentize((CASE WHEN ST_Dimension(f.geom) = 2 THEN ST_Boundary(f.geom) ELSE f.geom END)::geography, ${SHAPE_SPACING_M})::geometry) p) AS shape_lat
  FROM facilities f JOIN datasets d ON d.id = f.dataset_id
  WHERE (d.id = $1 OR d.kind = 'facility_register' AND ST_Intersects(f.geom, dataset_facility_extent($1))) AND f.replaced_by IS NULL
  ORDER BY f.id`;

const COMPOUNDS_SQL = `
  SELECT ra.id,
         (SELECT coalesce(array_agg(DISTINCT n.id), '{}') FROM compound_gates g JOIN walk_nodes n ON n.dataset_id = $1 AND n.osm_id = g.osm_node_id
          WHERE g.residential_area_id = ra.id) AS gate_nodes,
         (SELECT coalesce(array_agg(e.id), '{}') FROM walk_edges e
          WHERE e.dataset_id = $1 AND e.geom && ra.geom AND ST_Contains(ra.geom, ST_LineInterpolatePoint(e.geom, 0.5))) AS internal_edges
  FROM residential_areas ra WHERE ra.dataset_id = $1 AND ra.is_gated ORDER BY ra.id`;

const BARRIERS_SQL = `SELECT ST_AsBinary(geom) AS wkb FROM barriers WHERE dataset_id = $1 ORDER BY id`;

/** Every ring of a GeoJSON Polygon or MultiPolygon, flat, for the engine's point-in-polygon test. */
function polygonRings(g: { type: string; coordinates: unknown }): NonNullable<EngineFacility['polygon']> {
  const polygons = (
    g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : []
  ) as number[][][][];
  const coords: number[] = [];
  const offsets: number[] = [0];
  for (const rings of polygons) {
    for (const ring of rings) {
      for (const [lng, lat] of ring) coords.push(lng, lat);
      offsets.push(coords.length / 2);
    }
  }
  return { ringCoords: Float64Array.from(coords), ringOffsets: Uint32Array.from(offsets) };
}

/** Parse a little-endian WKB LineString into flat lng,lat pairs. */
function wkbLineCoords(wkb: Buffer, out: number[]): number {
  const le = wkb[0] === 1;
  const n = le ? wkb.readUInt32LE(5) : wkb.readUInt32BE(5);
  for (let k = 0; k < n; k++) {
    const off = 9 + k * 16;
    out.push(
      le ? wkb.readDoubleLE(off) : wkb.readDoubleBE(off),
      le ? wkb.readDoubleLE(off + 8) : wkb.readDoubleBE(off + 8),
    );
  }
  return n;
}

/** The part of the engine's network that depends on the network dataset alone (not on facilities). */
export type StreetNetwork = Omit<EngineNetwork, 'facilities'> & { nodeDbId: Float64Array };

/**
 * Load the walking network of a dataset into the engine's typed arrays: graph (CSR), snap index,
 * wall index, gated compounds and facilities. O(E log E) for the indexes.
 */
export async function loadNetwork(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
): Promise<EngineNetwork & { nodeDbId: Float64Array }> {
  // Sequential: `db` may be a single client inside the compute transaction.
  const streets = await loadStreetNetwork(db, datasetId);
  return { ...streets, facilities: await loadFacilities(db, datasetId) };
}

/**
 * The street part of {@link loadNetwork}: graph (CSR), snap index, wall index and gated compounds,
 * everything read from the network dataset's own rows. O(E log E) for the indexes.
 */
export async function loadStreetNetwork(db: pg.Pool | pg.ClientBase, datasetId: number): Promise<StreetNetwork> {
  // Sequential: `db` may be a single client inside the compute transaction.
  const nodes = await db.query<{ id: string; lng: number; lat: number }>(NODES_SQL, [datasetId]);
  const [edges, compounds, barriers] = [
    await db.query<{
      id: string;
      source: string;
      target: string;
      length_m: number;
      cost: number;
      reverse_cost: number;
      is_private: boolean;
      wkb: Buffer;
    }>(EDGES_SQL, [datasetId]),
    await db.query<{ id: string; gate_nodes: string[]; internal_edges: string[] }>(COMPOUNDS_SQL, [datasetId]),
    await db.query<{ wkb: Buffer }>(BARRIERS_SQL, [datasetId]),
  ] as const;
  // Fragments (pieces of fewer than MIN_COMPONENT_NODES nodes) are left out of the engine so
  // nobody is snapped onto a stub that reaches nothing; see geo/components.ts.
  const rawIndex = new Map<number, number>();
  nodes.rows.forEach((r, i) => rawIndex.set(Number(r.id), i));
  const keep = nodesInLargeComponents(
    nodes.rows.length,
    edges.rows.map((r) => rawIndex.get(Number(r.source))!),
    edges.rows.map((r) => rawIndex.get(Number(r.target))!),
  );
  const unordered = nodes.rows.filter((_, i) => keep[i] === 1);
  // Nodes numbered along a Hilbert curve: neighbours in space sit near each other in the typed
  // arrays, which makes the Dijkstra about twice as fast on large networks (cache locality).
  const order = hilbertNodeOrder(
    Float64Array.from(unordered, (r) => r.lng),
    Float64Array.from(unordered, (r) => r.lat),
  );
  const keptNodes = Array.from(order, (i) => unordered[i]);
  const keptEdges = edges.rows.filter((r) => keep[rawIndex.get(Number(r.source))!] === 1);
  const nodeCount = keptNodes.length;
  const nodeDbId = new Float64Array(nodeCount);
  const nodeLng = new Float64Array(nodeCount);
  const nodeLat = new Float64Array(nodeCount);
  const nodeIndex = new Map<number, number>();
  keptNodes.forEach((r, i) => {
    nodeDbId[i] = Number(r.id);
    nodeLng[i] = r.lng;
    nodeLat[i] = r.lat;
    nodeIndex.set(Number(r.id), i);
  });
  const m = keptEdges.length;
  const edgeFrom = new Int32Array(m);
  const edgeTo = new Int32Array(m);
  const edgeLengthM = new Float64Array(m);
  const edgeDir = new Uint8Array(m);
  const edgeDbId = new Float64Array(m);
  const edgeIsPrivate = new Uint8Array(m);
  const edgeCoordOffset = new Uint32Array(m + 1);
  const coords: number[] = [];
  const edgeIndex = new Map<number, number>();
  keptEdges.forEach((r, e) => {
    edgeDbId[e] = Number(r.id);
    edgeIndex.set(Number(r.id), e);
    edgeFrom[e] = nodeIndex.get(Number(r.source))!;
    edgeTo[e] = nodeIndex.get(Number(r.target))!;
    edgeLengthM[e] = r.length_m;
    edgeIsPrivate[e] = r.is_private ? 1 : 0;
    // cost / reverse_cost < 0 marks a forbidden direction (pgRouting's convention, see migration 0002).
    const fwd = r.cost >= 0;
    const back = r.reverse_cost >= 0;
    edgeDir[e] = fwd && back ? DIR_BOTH : fwd ? DIR_FORWARD : back ? DIR_BACKWARD : DIR_NONE;
    wkbLineCoords(r.wkb, coords);
    edgeCoordOffset[e + 1] = coords.length / 2;
  });
  const graph = buildGraph({
    nodeCount,
    nodeLng,
    nodeLat,
    edgeFrom,
    edgeTo,
    edgeLengthM,
    edgeDir,
    edgeCoords: Float64Array.from(coords),
    edgeCoordOffset,
  });
  const snapIndex = buildSnapIndex(graph);

  const barrierCoords: number[] = [];
  const barrierOffsets: number[] = [0];
  for (const r of barriers.rows) {
    wkbLineCoords(r.wkb, barrierCoords);
    barrierOffsets.push(barrierCoords.length / 2);
  }
  const barrierIndex = barriers.rows.length
    ? buildBarrierIndex(Float64Array.from(barrierCoords), Uint32Array.from(barrierOffsets))
    : undefined;

  const engineCompounds: EngineCompound[] = compounds.rows.map((r) => ({
    id: Number(r.id),
    gateNodes: r.gate_nodes.map((id) => nodeIndex.get(Number(id))).filter((i): i is number => i !== undefined),
    internalEdges: new Set(
      r.internal_edges.map((id) => edgeIndex.get(Number(id))).filter((e): e is number => e !== undefined),
    ),
  }));
  return {
    graph,
    snapIndex,
    barriers: barrierIndex,
    edgeDbId,
    edgeIsPrivate,
    compounds: engineCompounds,
    nodeDbId,
  };
}

/**
 * Facilities of the network dataset and every register (see FACILITIES_SQL), as the engine uses
 * them: access points, shape points, open-space polygons. Independent of the street network (access
 * points are snapped when a distance field is computed). O(facilities + access points).
 */
export async function loadFacilities(db: pg.Pool | pg.ClientBase, datasetId: number): Promise<EngineFacility[]> {
  const facilities = await db.query<{
    id: string;
    category: CategoryId;
    name: string | null;
    area_m2: number | null;
    is_sample: boolean;
    lng: number;
    lat: number;
    access_lng: number[];
    access_lat: number[];
    access_sampled: boolean[];
    polygon: string | null;
    shape_lng: number[] | null;
    shape_lat: number[] | null;
  }>(FACILITIES_SQL, [datasetId, OPEN_SPACE_CATEGORIES]);
  return facilities.rows.map((r) => ({
    id: Number(r.id),
    category: r.category,
    name: r.name,
    areaM2: r.area_m2,
    isSample: r.is_sample,
    lng: r.lng,
    lat: r.lat,
    accessLng: Float64Array.from(r.access_lng),
    accessLat: Float64Array.from(r.access_lat),
    // A metre of slack over the SQL's geodesic 30 m: the snap index measures candidates in planar metres.
    accessMaxLegM: Float64Array.from(r.access_sampled, (sampled) =>
      sampled ? SAMPLED_ACCESS_MAX_LEG_M + 1 : DEFAULT_MAX_SNAP_M,
    ),
    polygon: r.polygon ? polygonRings(JSON.parse(r.polygon) as { type: string; coordinates: unknown }) : undefined,
    // Access points join the shape so no walk can be shorter than the straight line reported beside it.
    shapeLng: Float64Array.from([...(r.shape_lng ?? [r.lng]), ...r.access_lng]),
    shapeLat: Float64Array.from([...(r.shape_lat ?? [r.lat]), ...r.access_lat]),
  }));
}

/** District name of residents outside every imported district boundary. */
export const OUTSIDE_DISTRICTS = '(outside the imported districts)';

const ORIGINS_SQL = `
  WITH community_source AS (
    SELECT community_source_of($1) AS src
  )
  SELECT o.id, ST_X(o.geom) AS lng, ST_Y(o.geom) AS lat, o.population, o.residential_area_id, o.elderly, o.children,
         -- residential land area per origin (the residential_land_area measure): its area's share
         ra.area_m2 / count(*) OVER (PARTITION BY o.residential_area_id) AS land_area_m2,
         ra.name AS ra_name, ra.is_gated, c.id AS community_id, c.name AS community_name, c.street,
         -- a community that names no district (the approximate zones): the district holding the origin
         -- residents outside every imported district boundary are counted, not dropped (README "Community zones")
         coalesce(c.district, district_at(o.geom),
                  CASE WHEN EXISTS (SELECT 1 FROM districts dt WHERE ST_Intersects(dt.geom, dataset_extent($1))) THEN '${OUTSIDE_DISTRICTS}' END) AS district,
         (SELECT src FROM community_source) AS community_source
  FROM origins o
  JOIN residential_areas ra ON ra.id = o.residential_area_id
  LEFT JOIN LATERAL (
    SELECT c.id, c.name, c.street, c.district FROM communities c JOIN datasets d ON d.id = c.dataset_id
    WHERE ST_Intersects(c.geom, o.geom)
      AND ((SELECT src FROM community_source) = 'imported' AND d.kind = 'communities'
           OR (SELECT src FROM community_source) = 'approximate' AND d.id = $1)
    ORDER BY c.id LIMIT 1
  ) c ON true
  WHERE o.dataset_id = $1
  ORDER BY o.id`;

/**
 * Origins of a dataset with their area memberships (communities: imported ones when any are,
 * else the approximate zones). `compoundIds` maps a gated residential area id to its compound index.
 */
export async function loadOrigins(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
  compounds: readonly EngineCompound[],
): Promise<{ origins: EngineOrigin[]; communitySource: string }> {
  const { rows } = await db.query<{
    id: string;
    lng: number;
    lat: number;
    population: number;
    residential_area_id: string;
    ra_name: string | null;
    is_gated: boolean;
    elderly: number | null;
    children: number | null;
    land_area_m2: number | null;
    community_id: string | null;
    community_name: string | null;
    street: string | null;
    district: string | null;
    community_source: string;
  }>(ORIGINS_SQL, [datasetId]);
  const compoundIndex = new Map(compounds.map((c, i) => [c.id, i]));
  const origins = rows.map((r) => ({
    id: Number(r.id),
    lng: r.lng,
    lat: r.lat,
    population: r.population,
    elderly: r.elderly,
    children: r.children,
    landAreaM2: r.land_area_m2 ?? 0,
    compound: r.is_gated ? (compoundIndex.get(Number(r.residential_area_id)) ?? -1) : -1,
    areas: {
      residential_area: { key: r.residential_area_id, name: r.ra_name },
      community: r.community_id ? { key: r.community_id, name: r.community_name } : null,
      street: r.street ? { key: r.street, name: r.street } : null,
      district: r.district ? { key: r.district, name: r.district } : null,
    },
  }));
  return { origins, communitySource: rows[0]?.community_source ?? 'approximate' };
}

/**
 * Make the origins of a dataset once: residential buildings (inside landuse=residential or in the
 * derived building clusters outside it) carrying their population share where an area's buildings
 * are mapped well enough to have given its estimate (derived clusters always are), else seeded
 * random points inside the area (one per 2500 m², 1–200), each an equal share; a grid cell with no
 * building (kind 'grid_cell') puts its residents at its point on surface (a cell's centre). Group counts (elderly, children)
 * and the figure's source travel along.
 */
export const MAKE_ORIGINS_SQL = [
  `INSERT INTO origins (dataset_id, kind, residential_area_id, building_id, population, population_source, elderly, children, geom)
   SELECT $1, 'building', b.residential_area_id, b.id, b.population, coalesce(b.population_source, 'estimate'), b.elderly, b.children, ST_PointOnSurface(b.geom)
   FROM buildings b JOIN residential_areas ra ON ra.id = b.residential_area_id
   WHERE b.dataset_id = $1 AND b.population > 0
     AND (ra.kind <> 'landuse'
          OR (SELECT sum(floor_area_m2) FROM buildings b2 WHERE b2.residential_area_id = ra.id AND b2.population > 0) >= ${POPULATION_ESTIMATE.minMappedFloorAreaRatio} * ra.area_m2)
   ORDER BY b.id`,
  `INSERT INTO origins (dataset_id, kind, residential_area_id, population, population_source, elderly, children, geom)
   SELECT $1, 'area_sample', ra.id, ra.population / n.k, CASE ra.population_source WHEN 'register' THEN 'census' ELSE ra.population_source END,
          ra.elderly / n.k, ra.children / n.k, p.geom
   FROM residential_areas ra
   CROSS JOIN LATERAL (SELECT CASE WHEN ra.kind = 'grid_cell' THEN 1 ELSE greatest(1, least(200, round(ra.area_m2 / 2500)))::int END AS k) n
   CROSS JOIN LATERAL (SELECT ST_PointOnSurface(ra.geom) AS geom WHERE ra.kind = 'grid_cell'
                       UNION ALL SELECT (ST_Dump(ST_GeneratePoints(ra.geom, n.k, 15))).geom WHERE ra.kind <> 'grid_cell') p
   WHERE ra.dataset_id = $1 AND ra.population > 0
     AND NOT EXISTS (SELECT 1 FROM origins o WHERE o.residential_area_id = ra.id)
   ORDER BY ra.id`,
] as const;

-- Where a facility is entered on foot, as one SQL function that the OSM import and the register
-- imports both call (issue 13): `derive_facility_access_points(network_dataset, facility_ids)`.
-- Parks and green spaces were entered only at mapped entrances and path crossings wherever they
-- had any, even where nothing closes their edge, so a point inside 活水公园 was 723 m from it; and
-- boundary samples up to 100 m from a street were joined across unmapped land. The rule now:
--
--   * point facilities: the point itself (kind 'point');
--   * mapped entrance or gate nodes within 2 m of a polygon's boundary (kind 'entrance');
--   * points where public walkable ways meet or cross a polygon's boundary (kind 'crossing');
--   * parks and green spaces: every open stretch of the boundary, sampled every 10 m (kind
--     'sampled'). A sample is on a closed stretch when a mapped barrier (wall, fence, …) lies
--     within 15 m of it, the test gated compounds use for their walls; a park way tagged
--     barrier=* is itself such a barrier. An open sample counts only if the nearest public
--     walkable edge is within 30 m and the straight leg to it crosses no barrier and no building;
--   * other polygons (schools, hospitals, …), and parks left with no access point at all: the
--     same 10 m samples with the same leg test, whether closed or not, only where neither an
--     entrance nor a crossing exists;
--   * lines (greenways): their vertices after densifying to ≤ 50 m.
--
-- Entrance nodes were a temporary table of the import; they are kept per dataset in `entrances`
-- so a register imported later is entered through the same gates.
--
-- Indexes:
--   entrances_geom_idx (gist)    entrances within 2 m of a boundary: `e.geom && ST_Expand(boundary)`
--   entrances_dataset_idx        deleting a dataset's entrances (ON DELETE CASCADE)
-- The function also uses walk_edges_geom_idx, barriers_geom_idx and buildings_geom_idx (0002, 0003).

CREATE TABLE entrances (
  id         bigserial PRIMARY KEY,
  dataset_id integer NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  osm_id     bigint NOT NULL,
  kind       text NOT NULL,   -- barrier=gate|entrance|lift_gate, or entrance=<value>
  geom       geometry(Point, 4326) NOT NULL
);
CREATE INDEX entrances_geom_idx ON entrances USING gist (geom);
CREATE INDEX entrances_dataset_idx ON entrances (dataset_id);

-- A bounding-box margin in degrees covering m metres up to 70° latitude (cos 70° ≈ 0.34), so `&&`
-- can use a spatial index before the exact geodesic test.
CREATE FUNCTION access_margin_deg(m double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT m / 111320.0 / 0.34 * 1.01 $$;

CREATE FUNCTION derive_facility_access_points(p_network integer, p_facility_ids bigint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  -- Local choices, documented in the README ("access points"): sample spacing, leg length, and
  -- the closed-edge test shared with gated compounds (walls within 15 m of the boundary).
  spacing_m    constant double precision := 10;
  max_leg_m    constant double precision := 30;
  closed_m     constant double precision := 15;
  entrance_m   constant double precision := 2;
  greenway_m   constant double precision := 50;
  open_space   constant text[] := ARRAY['park', 'green_space'];
  written integer;
BEGIN
  DELETE FROM facility_access_points WHERE facility_id = ANY (p_facility_ids);

  INSERT INTO facility_access_points (facility_id, kind, geom)
  SELECT id, 'point', geom FROM facilities WHERE id = ANY (p_facility_ids) AND ST_Dimension(geom) = 0;

  INSERT INTO facility_access_points (facility_id, kind, geom)
  SELECT DISTINCT ON (f.id, e.osm_id) f.id, 'entrance', e.geom
  FROM facilities f JOIN entrances e
    ON e.dataset_id = p_network AND e.geom && ST_Expand(f.geom, access_margin_deg(entrance_m))
   AND ST_DWithin(ST_Boundary(f.geom)::geography, e.geom::geography, entrance_m)
  WHERE f.id = ANY (p_facility_ids) AND ST_Dimension(f.geom) = 2;

  INSERT INTO facility_access_points (facility_id, kind, geom)
  SELECT DISTINCT ON (f.id, ST_SnapToGrid(p.geom, 1e-6)) f.id, 'crossing', p.geom
  FROM facilities f
  JOIN walk_edges w ON w.dataset_id = p_network AND NOT w.is_private AND w.geom && f.geom
  CROSS JOIN LATERAL (
    SELECT CASE WHEN ST_Dimension(d.geom) = 0 THEN d.geom ELSE ST_StartPoint(d.geom) END AS geom
    FROM ST_Dump(ST_Intersection(ST_Boundary(f.geom), w.geom)) d
  ) p
  WHERE f.id = ANY (p_facility_ids) AND ST_Dimension(f.geom) = 2 AND ST_Intersects(ST_Boundary(f.geom), w.geom)
    AND NOT EXISTS (SELECT 1 FROM facility_access_points a WHERE a.facility_id = f.id AND a.kind = 'entrance'
                    AND ST_DWithin(a.geom::geography, p.geom::geography, 5));

  -- Boundary samples with their leg to the nearest public walkable edge. Closed-edge samples are
  -- kept here too (flagged) because the fallback below uses them.
  CREATE TEMP TABLE access_samples ON COMMIT DROP AS
  SELECT f.id AS facility_id, f.category = ANY (open_space) AS is_open_space, d.geom,
         EXISTS (SELECT 1 FROM barriers b WHERE b.dataset_id = p_network
                   AND b.geom && ST_Expand(d.geom, access_margin_deg(closed_m))
                   AND ST_DWithin(b.geom::geography, d.geom::geography, closed_m)) AS closed,
         leg.geom AS leg
  FROM facilities f
  CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(ST_Boundary(f.geom)::geography, spacing_m)::geometry) d
  CROSS JOIN LATERAL (
    SELECT ST_MakeLine(d.geom, ST_ClosestPoint(w.geom, d.geom)) AS geom
    FROM walk_edges w
    WHERE w.dataset_id = p_network AND NOT w.is_private
      AND w.geom && ST_Expand(d.geom, access_margin_deg(max_leg_m))
      AND ST_DWithin(w.geom::geography, d.geom::geography, max_leg_m)
    ORDER BY ST_Distance(w.geom::geography, d.geom::geography), w.id
    LIMIT 1
  ) leg
  WHERE f.id = ANY (p_facility_ids) AND ST_Dimension(f.geom) = 2;

  DELETE FROM access_samples s
  WHERE EXISTS (SELECT 1 FROM barriers b WHERE b.dataset_id = p_network AND b.geom && s.leg AND ST_Intersects(b.geom, s.leg))
     OR EXISTS (SELECT 1 FROM buildings g WHERE g.dataset_id = p_network AND g.geom && s.leg AND ST_Relate(s.leg, g.geom, 'T********'));

  -- A ring's closing vertex repeats its first: DISTINCT ON keeps one.
  INSERT INTO facility_access_points (facility_id, kind, geom)
  SELECT DISTINCT ON (s.facility_id, ST_SnapToGrid(s.geom, 1e-7)) s.facility_id, 'sampled', s.geom
  FROM access_samples s
  WHERE s.is_open_space AND NOT s.closed;

  INSERT INTO facility_access_points (facility_id, kind, geom)
  SELECT DISTINCT ON (s.facility_id, ST_SnapToGrid(s.geom, 1e-7)) s.facility_id, 'sampled', s.geom
  FROM access_samples s
  WHERE NOT EXISTS (SELECT 1 FROM facility_access_points a WHERE a.facility_id = s.facility_id);

  DROP TABLE access_samples;

  INSERT INTO facility_access_points (facility_id, kind, geom)
  SELECT f.id, 'sampled', d.geom
  FROM facilities f
  CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(f.geom::geography, greenway_m)::geometry) d
  WHERE f.id = ANY (p_facility_ids) AND ST_Dimension(f.geom) = 1;

  SELECT count(*) INTO written FROM facility_access_points WHERE facility_id = ANY (p_facility_ids);
  RETURN written;
END
$$;
COMMENT ON FUNCTION derive_facility_access_points IS
  'Replace the access points of the given facilities, entered from the walking network of dataset p_network (rule: migration 0020, README "access points"); returns how many were written.';

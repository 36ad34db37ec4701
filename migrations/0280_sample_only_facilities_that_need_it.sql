-- derive_facility_access_points (0020, boxes 0240; README "Park entry") made boundary samples, each
-- with a nearest-edge search, a wall test and a barrier/building test of its leg, for every polygon
-- facility. The samples of a polygon other than a park or green space are read only by the fallback
-- for a facility with no entrance and no crossing, and a sample's closed flag only for parks and
-- green spaces; on the generated 1M-node city (issue #15) most schools, hospitals and markets have
-- a crossing, so most of that work was thrown away. Now only the samples that can become entry
-- points are made, and the wall test only runs for open space. Same rule, same points, same order
-- (test/bench/import-fingerprint.ts: every table identical to before).

CREATE OR REPLACE FUNCTION derive_facility_access_points(p_network integer, p_facility_ids bigint[]) RETURNS integer
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
    ON e.dataset_id = p_network AND e.geom && access_box(f.geom, entrance_m)
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
  -- kept here too (flagged) because the fallback below uses them. Only samples that can become
  -- entry points are made: every sample of a park or green space, and of any other polygon only
  -- while it has no entrance and no crossing (the fallback below is its only use of them). The
  -- closed test is only read for parks and green spaces.
  CREATE TEMP TABLE access_samples ON COMMIT DROP AS
  SELECT f.id AS facility_id, f.category = ANY (open_space) AS is_open_space, d.geom,
         f.category = ANY (open_space)
         AND EXISTS (SELECT 1 FROM barriers b WHERE b.dataset_id = p_network
                       AND b.geom && access_box(d.geom, closed_m)
                       AND ST_DWithin(b.geom::geography, d.geom::geography, closed_m)) AS closed,
         leg.geom AS leg
  FROM facilities f
  CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(ST_Boundary(f.geom)::geography, spacing_m)::geometry) d
  CROSS JOIN LATERAL (
    SELECT ST_MakeLine(d.geom, ST_ClosestPoint(w.geom, d.geom)) AS geom
    FROM walk_edges w
    WHERE w.dataset_id = p_network AND NOT w.is_private
      AND w.geom && access_box(d.geom, max_leg_m)
      AND ST_DWithin(w.geom::geography, d.geom::geography, max_leg_m)
    ORDER BY ST_Distance(w.geom::geography, d.geom::geography), w.id
    LIMIT 1
  ) leg
  WHERE f.id = ANY (p_facility_ids) AND ST_Dimension(f.geom) = 2
    AND (f.category = ANY (open_space) OR NOT EXISTS (SELECT 1 FROM facility_access_points a WHERE a.facility_id = f.id));

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

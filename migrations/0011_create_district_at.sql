-- The district (区) whose imported boundary holds a point: where a community names no district
-- (the approximate zones), origins and areas take this one. Lowest id on overlapping boundaries.
CREATE FUNCTION district_at(p geometry) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
  SELECT dt.name FROM districts dt WHERE ST_Contains(dt.geom, p) ORDER BY dt.id LIMIT 1
$$;

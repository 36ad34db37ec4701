import type { OsmTags } from './osm-model.ts';
/** OSM tags of one way, as key → value. */
export type Tags = OsmTags;

/**
 * How a way enters the walking graph. `private` ways (access=private inside gated compounds)
 * are walkable for the people who live there but never a shortcut for anyone else: the engine
 * lets a walk enter them from the public network but not leave them again (README, "Walkability rules").
 */
export type Walkability = { walkable: false; reason: string } | { walkable: true; isPrivate: boolean };

/** highway=* values people walk on (pavements are not mapped separately in Chengdu 2018). */
export const WALKABLE_HIGHWAYS: ReadonlySet<string> = new Set([
  'footway',
  'pedestrian',
  'path',
  'steps',
  'living_street',
  'residential',
  'service',
  'unclassified',
  'tertiary',
  'tertiary_link',
  'secondary',
  'secondary_link',
  'primary',
  'primary_link',
  'track',
  'cycleway',
  'corridor',
  'road',
  'trunk',
  'trunk_link',
]);

/** Motorways are never walked unless a way says foot=yes|designated|permissive. */
const NEVER_WALKED_UNLESS_FOOT = new Set(['motorway', 'motorway_link']);
const FOOT_YES = new Set(['yes', 'designated', 'permissive']);
const NO = new Set(['no']);
const PRIVATE = new Set(['private', 'customers', 'residents', 'destination', 'delivery']);

/**
 * The walkability rules, in one place (also written out in the README):
 * 1. the way needs a `highway` value in {@link WALKABLE_HIGHWAYS}; `motorway(_link)` only with foot=yes;
 * 2. `foot=no`, or `access=no` without a foot=yes override, excludes it;
 * 3. `trunk(_link)` is walked at street level, but not when `motorroad=yes` or `bridge=viaduct`
 *    (Chengdu's elevated ring roads), a local judgement;
 * 4. `access|foot=private` (and residents/customers/destination) keeps it, as private;
 * 5. `area=yes` pedestrian squares are walked along their outline; `oneway` binds vehicles only,
 *    so only `oneway:foot=yes` would restrict direction (not used in the sample data; ignored).
 */
export function walkability(tags: Tags): Walkability {
  const highway = tags.highway;
  if (!highway) return { walkable: false, reason: 'no highway tag' };
  const foot = tags.foot;
  if (foot && NO.has(foot)) return { walkable: false, reason: 'foot=no' };
  const footAllowed = foot !== undefined && FOOT_YES.has(foot);
  if (NEVER_WALKED_UNLESS_FOOT.has(highway)) {
    return footAllowed ? { walkable: true, isPrivate: false } : { walkable: false, reason: `highway=${highway}` };
  }
  if (!WALKABLE_HIGHWAYS.has(highway)) return { walkable: false, reason: `highway=${highway}` };
  if (!footAllowed && tags.access && NO.has(tags.access)) return { walkable: false, reason: 'access=no' };
  if ((highway === 'trunk' || highway === 'trunk_link') && !footAllowed) {
    if (tags.motorroad === 'yes') return { walkable: false, reason: 'trunk with motorroad=yes' };
    if (tags.bridge === 'viaduct') return { walkable: false, reason: 'trunk on a viaduct' };
  }
  const isPrivate =
    (foot !== undefined && PRIVATE.has(foot)) ||
    (!footAllowed && tags.access !== undefined && PRIVATE.has(tags.access));
  return { walkable: true, isPrivate };
}

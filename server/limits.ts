/**
 * Limits on what users and files may store, shared by route schemas and importers so one number
 * holds everywhere (README, "Limits"). Chosen, not standardised: a Chengdu facility or community
 * name is tens of characters; OSM itself allows 255 per tag value.
 */

/** Characters in a name (plan, facility, community, district, street). */
export const MAX_NAME_CHARS = 200;
/** Characters in free text (plan notes, an address). */
export const MAX_NOTES_CHARS = 2000;
/** Characters in one OSM tag value: the OSM API's own limit (wiki.openstreetmap.org/wiki/API_v0.6, "Limits"). */
export const MAX_OSM_TAG_CHARS = 255;
/** Vertices allowed in one plan geometry: a block-sized site needs tens, not thousands. */
export const MAX_PLAN_VERTICES = 2000;
/** Nesting of a JSON request body, at most: the deepest valid body (a MultiPolygon in a scenario) needs 8. */
export const MAX_JSON_DEPTH = 32;

/**
 * Why `value` may not be stored as text of at most `max` characters, or null when it may:
 * PostgreSQL text cannot hold U+0000, and an unbounded name ends up in every answer naming it.
 */
export function textProblem(value: string, max: number): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (value.length > max) return `is ${value.length} characters long; at most ${max}`;
  return null;
}

/** JSON Schema of a stored name or note: bounded, no NUL (PostgreSQL text cannot hold it). */
export const textSchema = (minLength: number, maxLength: number) => ({ type: 'string', minLength, maxLength, pattern: '^[^\\u0000]*$' }) as const;

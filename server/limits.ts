// The limits are part of the API contract (api/limits.ts): the web client shows the same numbers.
export {
  MAX_JSON_DEPTH,
  MAX_NAME_CHARS,
  MAX_NOTES_CHARS,
  MAX_OSM_TAG_CHARS,
  MAX_PLAN_VERTICES,
} from '../api/limits.ts';

/**
 * Why `value` may not be stored as text of at most `max` characters, or null when it may:
 * PostgreSQL text cannot hold U+0000, and an unbounded name ends up in every answer naming it.
 */
export function textProblem(value: string, max: number): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (value.length > max) return `is ${value.length} characters long; at most ${max}`;
  return null;
}

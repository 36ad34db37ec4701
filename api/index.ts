/**
 * The API contract: every route's JSON Schemas (request and response), the error catalogue,
 * shared limits and enums, and the TypeScript types derived from the schemas. The server's routes
 * and the web client import from here; nothing here touches Node, the database or the DOM, so
 * Vite bundles it as it is. One file per resource; README "API contract" explains the pattern.
 */
export * from './catalogue.ts';
export * from './common.ts';
export * from './coverage.ts';
export * from './datasets.ts';
export * from './drilldown.ts';
export * from './enums.ts';
export * from './errors.ts';
export * from './health.ts';
export * from './isochrone.ts';
export * from './limits.ts';
export * from './plans.ts';
export * from './proximity.ts';
export * from './rule-sets.ts';
export * from './rules.ts';
export * from './saved-scenarios.ts';
export * from './scenarios.ts';
export * from './search.ts';
export * from './tiles.ts';

/** A label in both languages, as every catalogue entry carries. */
export interface Bilingual {
  zh: string;
  en: string;
}

import { PLANS_PAGE_MAX } from '../../api/limits.ts';
import type {
  Audit,
  AuditLevel,
  Category,
  CompareGeoJson,
  Coverage,
  CoverageGeoJson,
  CoverageLevel,
  Drilldown,
  DatasetsResponse,
  Health,
  InlinePlan,
  Isochrone,
  Plan,
  PlanInput,
  PlanPage,
  Proximity,
  RuleSet,
  SavedScenario,
  ScenarioComparison,
  ScenarioEvaluation,
  ScenarioRequest,
  Suggestion,
} from './types.ts';

/** An API answer other than 2xx, with the `{error: {code, message}}` body when there is one. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Routes that read no dataset (server/app.ts DATASET_FREE_ROUTES): they take no dataset=. */
const DATASET_FREE = /^\/api\/(datasets|compare|rules|rule-sets|plans|token|saved-scenarios)(\/|$)/;
let shownDataset: string | undefined;

/** The dataset every data request and tile names from now on (`dataset=`); undefined: the server's default. */
export function showDataset(name: string | undefined): void {
  shownDataset = name;
}

/** Absolute URL on this origin; map tiles need it because MapLibre fetches them from a worker. */
export function apiUrl(path: string, params: Record<string, string | number | undefined> = {}): string {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
  if (shownDataset && !DATASET_FREE.test(url.pathname) && !url.searchParams.has('dataset'))
    url.searchParams.set('dataset', shownDataset);
  return url.toString();
}

/** The answer of `fetch`, or an ApiRequestError for a network failure or a non-2xx status. */
async function send(
  path: string,
  params: Record<string, string | number | undefined>,
  init: RequestInit,
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path, params), init);
  } catch (err) {
    // An abort is the caller's own doing, not a failure to report: let it through as it is.
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiRequestError(0, 'network', (err as Error).message);
  }
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = res.statusText;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not a JSON error body; keep the status text
    }
    throw new ApiRequestError(res.status, code, message);
  }
  return res;
}

async function request<T>(
  path: string,
  params: Record<string, string | number | undefined> = {},
  init: RequestInit = {},
): Promise<T> {
  const res = await send(path, params, init);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** An answer with how long it took: the server's own figure (Server-Timing) and the round trip seen here. */
export interface Timed<T> {
  body: T;
  /** Sum of the Server-Timing durations, ms; null when the server sent none. */
  serverMs: number | null;
  /** From sending the request to having parsed the answer, ms. */
  totalMs: number;
}

/** Sum of the `dur` parameters of a Server-Timing header (`load;dur=1.2, evaluate;dur=150.3`), or null. */
export function serverTimingMs(header: string | null): number | null {
  if (!header) return null;
  let sum = 0,
    any = false;
  for (const m of header.matchAll(/dur=([0-9.]+)/g)) {
    sum += Number(m[1]);
    any = true;
  }
  return any ? sum : null;
}

async function requestTimed<T>(path: string, init: RequestInit): Promise<Timed<T>> {
  const t0 = performance.now();
  const res = await send(path, {}, init);
  const body = (await res.json()) as T;
  return { body, serverMs: serverTimingMs(res.headers.get('server-timing')), totalMs: performance.now() - t0 };
}

function authHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

/** Typed client of the life-circle HTTP API (same origin). */
export const api = {
  health: () => request<Health>('/api/health'),
  datasets: () => request<DatasetsResponse>('/api/datasets').then((r) => r.datasets),
  categories: () => request<{ categories: Category[] }>('/api/categories').then((r) => r.categories),
  ruleSets: () => request<{ rule_sets: RuleSet[] }>('/api/rules').then((r) => r.rule_sets),
  proximity: (lng: number, lat: number, ruleSet: string, rule?: string | null) =>
    request<Proximity>('/api/proximity', {
      lng: lng.toFixed(6),
      lat: lat.toFixed(6),
      rule_set: ruleSet,
      ...(rule ? { rule } : {}),
    }),
  isochrone: (lng: number, lat: number, distanceM: number) =>
    request<Isochrone>('/api/isochrone', { lng: lng.toFixed(6), lat: lat.toFixed(6), distance_m: distanceM }),
  /** The streets within `distanceM` of every access point of a facility. */
  facilityIsochrone: (facilityId: number, distanceM: number) =>
    request<Isochrone>('/api/isochrone', { facility_id: facilityId, distance_m: distanceM }),
  coverage: (ruleSet: string, level: CoverageLevel) => request<Coverage>('/api/coverage', { rule_set: ruleSet, level }),
  coverageGeoJson: (ruleSet: string, level: CoverageLevel) =>
    request<CoverageGeoJson>('/api/coverage', { rule_set: ruleSet, level, format: 'geojson' }),
  /** Two coverage runs per area and rule, with the areas' geometry (`from`/`to`: a dataset name or a run id). */
  compareGeoJson: (from: string, to: string, ruleSet: string, level: CoverageLevel, signal?: AbortSignal) =>
    request<CompareGeoJson>('/api/compare', { from, to, rule_set: ruleSet, level, format: 'geojson' }, { signal }),
  audit: (ruleSet: string, level: AuditLevel) => request<Audit>('/api/audit', { rule_set: ruleSet, level }),
  /** Why an area fails one rule: histogram, uncovered homes, nearest facility, caveats, one sentence. */
  drilldown: (
    level: 'community' | 'residential_area',
    id: string,
    ruleSet: string,
    rule: string,
    signal?: AbortSignal,
  ) =>
    request<Drilldown>(
      `/api/areas/${level}/${encodeURIComponent(id)}/drilldown`,
      { rule_set: ruleSet, rule },
      { signal },
    ),
  /** Every plan with its geometry, page by page (the panel labels and zooms to each). */
  plans: async () => {
    const plans: Plan[] = [];
    let cursor: number | null = 0;
    while (cursor !== null) {
      const page: PlanPage = await request<PlanPage>('/api/plans', {
        include: 'geometry',
        limit: PLANS_PAGE_MAX,
        cursor,
      });
      plans.push(...page.plans);
      cursor = page.next_cursor;
    }
    return plans;
  },
  /** Who a bearer token is (401 when unknown or revoked), checked when it is entered. */
  token: (token: string) =>
    request<{ name: string; role: string; can_write_plans: boolean }>(
      '/api/token',
      {},
      { headers: { authorization: `Bearer ${token}` } },
    ),
  createPlan: (token: string, plan: PlanInput) =>
    request<Plan>('/api/plans', {}, { method: 'POST', headers: authHeaders(token), body: JSON.stringify(plan) }),
  /** Change a plan as of `version`: a 412 (precondition_failed) means someone changed it since. */
  updatePlan: (token: string, id: number, version: number, patch: Partial<PlanInput>) =>
    request<Plan>(
      `/api/plans/${id}`,
      {},
      { method: 'PATCH', headers: { ...authHeaders(token), 'if-match': `"${version}"` }, body: JSON.stringify(patch) },
    ),
  deletePlan: (token: string, id: number, version: number) =>
    request<void>(
      `/api/plans/${id}`,
      {},
      { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'if-match': `"${version}"` } },
    ),
  /** Route paths the server documents (OpenAPI), to learn whether an optional endpoint exists without a 404. */
  documentedPaths: () => request<{ paths: Record<string, unknown> }>('/docs/json').then((d) => Object.keys(d.paths)),
  /** Coverage effect of stored and drawn plans; no token needed (nothing is stored). */
  evaluateScenario: (body: ScenarioRequest, signal?: AbortSignal) =>
    requestTimed<ScenarioEvaluation>('/api/scenarios/evaluate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    }),
  /** Saved scenarios, newest first (anyone may read them). */
  savedScenarios: () => request<{ scenarios: SavedScenario[] }>('/api/saved-scenarios').then((r) => r.scenarios),
  /** Evaluate and keep a named scenario (planner or admin token). */
  saveScenario: (token: string, body: { name: string; rule_set: string; plan_ids: number[]; sites: InlinePlan[] }) =>
    request<SavedScenario>(
      '/api/saved-scenarios',
      {},
      { method: 'POST', headers: authHeaders(token), body: JSON.stringify(body) },
    ),
  deleteSavedScenario: (token: string, id: number) =>
    request<void>(
      `/api/saved-scenarios/${id}`,
      {},
      { method: 'DELETE', headers: { authorization: `Bearer ${token}` } },
    ),
  /** Two saved scenarios rule by rule. */
  compareScenarios: (a: number, b: number) => request<ScenarioComparison>('/api/saved-scenarios/compare', { a, b }),
  /** Where new open spaces (or which proposed plans) would cover the most residents for `rule` (`<rule_set>/<rule_id>`). */
  suggest: (rule: string, k: number, candidates: 'grid' | 'plans', signal?: AbortSignal) =>
    requestTimed<Suggestion>(`/api/suggest?${new URLSearchParams({ rule, k: String(k), candidates })}`, { signal }),
};

/** A saved scenario's results as CSV, served by the API itself. */
export function savedScenarioCsvUrl(id: number): string {
  return apiUrl(`/api/saved-scenarios/${id}/results`, { format: 'csv' });
}

/** Export links (CSV / GeoJSON downloads) served by the API itself, with the place filters in force ('' = none). */
export function exportUrl(
  kind: 'audit' | 'coverage',
  ruleSet: string,
  level: CoverageLevel,
  format: 'csv' | 'geojson',
  filters: { district?: string; street?: string } = {},
): string {
  return apiUrl(`/api/${kind}`, {
    rule_set: ruleSet,
    level,
    format,
    ...(filters.district ? { district: filters.district } : {}),
    ...(filters.street ? { street: filters.street } : {}),
  });
}

/** The printable report of a community or of the whole city (`id` "all"), as a page or as PDF. */
export function reportUrl(level: 'community' | 'city', id: string, ruleSet: string, format: 'html' | 'pdf'): string {
  return apiUrl(`/report/${level}/${encodeURIComponent(id)}${format === 'pdf' ? '.pdf' : ''}`, { rule_set: ruleSet });
}

/** Tile URL template of one of the server's vector tile layers, absolute for MapLibre's workers. */
export function tileUrl(layer: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams({ ...params, ...(shownDataset ? { dataset: shownDataset } : {}) }).toString();
  return `${window.location.origin}/tiles/${layer}/{z}/{x}/{y}.pbf${query ? `?${query}` : ''}`;
}

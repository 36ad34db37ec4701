import type {
  Audit, AuditLevel, Category, Coverage, CoverageGeoJson, CoverageLevel, Health, Isochrone, Plan, PlanInput, Proximity, RuleSet,
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

/** Absolute URL on this origin; map tiles need it because MapLibre fetches them from a worker. */
export function apiUrl(path: string, params: Record<string, string | number | undefined> = {}): string {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url.toString();
}

async function request<T>(path: string, params: Record<string, string | number | undefined> = {}, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path, params), init);
  } catch (err) {
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
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

function authHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

/** Typed client of the life-circle HTTP API (same origin). */
export const api = {
  health: () => request<Health>('/api/health'),
  categories: () => request<{ categories: Category[] }>('/api/categories').then((r) => r.categories),
  ruleSets: () => request<{ rule_sets: RuleSet[] }>('/api/rules').then((r) => r.rule_sets),
  proximity: (lng: number, lat: number, ruleSet: string) =>
    request<Proximity>('/api/proximity', { lng: lng.toFixed(6), lat: lat.toFixed(6), rule_set: ruleSet }),
  isochrone: (lng: number, lat: number, distanceM: number) =>
    request<Isochrone>('/api/isochrone', { lng: lng.toFixed(6), lat: lat.toFixed(6), distance_m: distanceM }),
  coverage: (ruleSet: string, level: CoverageLevel) => request<Coverage>('/api/coverage', { rule_set: ruleSet, level }),
  coverageGeoJson: (ruleSet: string, level: CoverageLevel) =>
    request<CoverageGeoJson>('/api/coverage', { rule_set: ruleSet, level, format: 'geojson' }),
  audit: (ruleSet: string, level: AuditLevel) => request<Audit>('/api/audit', { rule_set: ruleSet, level }),
  plans: () => request<{ plans: Plan[] }>('/api/plans').then((r) => r.plans),
  createPlan: (token: string, plan: PlanInput) =>
    request<Plan>('/api/plans', {}, { method: 'POST', headers: authHeaders(token), body: JSON.stringify(plan) }),
  updatePlan: (token: string, id: number, patch: Partial<PlanInput>) =>
    request<Plan>(`/api/plans/${id}`, {}, { method: 'PATCH', headers: authHeaders(token), body: JSON.stringify(patch) }),
  deletePlan: (token: string, id: number) =>
    request<void>(`/api/plans/${id}`, {}, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }),
  /** Route paths the server documents (OpenAPI), to learn whether an optional endpoint exists without a 404. */
  documentedPaths: () => request<{ paths: Record<string, unknown> }>('/docs/json').then((d) => Object.keys(d.paths)),
  evaluateScenario: (body: unknown) =>
    request<unknown>('/api/scenarios/evaluate', {}, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
};

/** Export links (CSV / GeoJSON downloads) served by the API itself. */
export function exportUrl(kind: 'audit' | 'coverage', ruleSet: string, level: CoverageLevel, format: 'csv' | 'geojson'): string {
  return apiUrl(`/api/${kind}`, { rule_set: ruleSet, level, format });
}

/** Tile URL template of one of the server's vector tile layers, absolute for MapLibre's workers. */
export function tileUrl(layer: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams(params).toString();
  return `${window.location.origin}/tiles/${layer}/{z}/{x}/{y}.pbf${query ? `?${query}` : ''}`;
}

import type { FastifyInstance, RouteOptions } from 'fastify';

/**
 * What /docs shows beyond the route schemas: an example request for every endpoint (central
 * Chengdu, the default dataset), the bearer token scheme behind the Authorize button, and what
 * `lng` / `lat` mean wherever a route takes them. Applied to each route as it is registered.
 */
export const ENDPOINT_EXAMPLES: Record<string, { url: string; body?: unknown }> = {
  'GET /api/health': { url: '/api/health' },
  'GET /api/datasets': { url: '/api/datasets' },
  'GET /api/compare': {
    url: '/api/compare?from=chengdu-central-2018&to=chengdu-central-2018&rule_set=chengdu-park-city&level=community',
  },
  'GET /api/categories': { url: '/api/categories' },
  'GET /api/rules': { url: '/api/rules' },
  'GET /api/rule-sets/schema': { url: '/api/rule-sets/schema' },
  'POST /api/rule-sets': {
    url: '/api/rule-sets?compute=true',
    body: {
      id: 'district-elderly-600',
      version: '2026-1',
      zh: '某区养老设施600米覆盖',
      en: 'District elderly care within 600 m',
      citation: '区民政局 2026',
      rules: [
        {
          id: 'elderly_600',
          zh: '养老设施 600 m',
          en: 'Elderly care 600 m',
          targetShare: 0.8,
          citation: '区民政局 2026',
          populationGroup: 'elderly',
          tiers: [{ categories: ['elderly_care'], maxDistanceM: 600, citation: '区民政局 2026' }],
        },
      ],
    },
  },
  'GET /api/token': { url: '/api/token' },
  'GET /api/proximity': {
    url: '/api/proximity?lng=104.0585&lat=30.6598&categories=park,green_space&rule_set=chengdu-park-city',
  },
  'GET /api/isochrone': { url: '/api/isochrone?lng=104.0585&lat=30.6598&distance_m=500' },
  'GET /api/isochrone/bands': { url: '/api/isochrone/bands?lng=104.0585&lat=30.6598&limits_m=300,500,1000' },
  'GET /api/search': { url: '/api/search?q=人民公园' },
  'GET /api/coverage': { url: '/api/coverage?rule_set=chengdu-park-city&level=community&format=json' },
  'GET /api/areas/:level/:id/drilldown': {
    url: '/api/areas/community/1/drilldown?rule_set=chengdu-park-city&rule=park_500',
  },
  'GET /report/:level/:id': { url: '/report/community/1?rule_set=chengdu-park-city&format=pdf' },
  'GET /api/audit': { url: '/api/audit?rule_set=chengdu-park-city&level=community&format=json' },
  'GET /tiles/:layer/:z/:x/:y.pbf': { url: '/tiles/network/15/25855/13449.pbf' },
  'GET /api/plans': { url: '/api/plans?limit=20&include=geometry' },
  'GET /api/plans/:id': { url: '/api/plans/1' },
  'POST /api/plans': {
    url: '/api/plans',
    body: {
      kind: 'add_open_space',
      name: '示例口袋公园',
      status: 'proposed',
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [104.058, 30.66],
            [104.0586, 30.66],
            [104.0586, 30.6605],
            [104.058, 30.6605],
            [104.058, 30.66],
          ],
        ],
      },
    },
  },
  'PATCH /api/plans/:id': { url: '/api/plans/1', body: { status: 'approved' } },
  'DELETE /api/plans/:id': { url: '/api/plans/1' },
  'POST /api/scenarios/evaluate': {
    url: '/api/scenarios/evaluate',
    body: { rule_set: 'chengdu-park-city', plan_ids: [1] },
  },
  'GET /api/suggest': { url: '/api/suggest?rule=chengdu-park-city/green_300&k=3' },
  'GET /api/saved-scenarios': { url: '/api/saved-scenarios' },
  'POST /api/saved-scenarios': {
    url: '/api/saved-scenarios',
    body: { name: '方案A：两处口袋公园', rule_set: 'chengdu-park-city', plan_ids: [1] },
  },
  'GET /api/saved-scenarios/:id': { url: '/api/saved-scenarios/1' },
  'GET /api/saved-scenarios/:id/results': { url: '/api/saved-scenarios/1/results?format=csv' },
  'DELETE /api/saved-scenarios/:id': { url: '/api/saved-scenarios/1' },
  'GET /api/saved-scenarios/compare': { url: '/api/saved-scenarios/compare?a=1&b=2' },
};

/** The OpenAPI security scheme the Authorize button fills in. */
export const BEARER_SCHEME = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'an API token: `npm run --silent token -- create --name alice --role planner`',
  },
} as const;

const LNG = 'longitude in WGS 84 degrees, east positive (e.g. 104.0585); not GCJ-02 or BD-09: convert those first';
const LAT = 'latitude in WGS 84 degrees, north positive (e.g. 30.6598)';

/** Routes that need `Authorization: Bearer <token>`: writes to plans, saved scenarios and rule sets, and the token check. */
export function needsToken(method: string, url: string): boolean {
  if (url === '/api/token') return true;
  return (
    method !== 'GET' &&
    method !== 'HEAD' &&
    (url.startsWith('/api/plans') || url.startsWith('/api/saved-scenarios') || url.startsWith('/api/rule-sets'))
  );
}

/** Adds examples, the bearer requirement and lng/lat descriptions to every route's schema. */
export function documentRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    if (!route.schema || route.schema.hide || methods.length !== 1) return;
    const method = methods[0];
    const schema = route.schema as Record<string, unknown> & {
      description?: string;
      querystring?: { properties?: Record<string, Record<string, unknown>> };
      body?: Record<string, unknown>;
    };
    const example = ENDPOINT_EXAMPLES[`${method} ${route.url}`];
    if (example) {
      const curl = `curl${method === 'GET' ? '' : ` -X ${method}`}${needsToken(method, route.url) ? ' -H "Authorization: Bearer $TOKEN"' : ''}${example.body ? ` -H 'content-type: application/json' -d '${JSON.stringify(example.body)}'` : ''} 'http://127.0.0.1:8080${example.url}'`;
      schema.description = `${schema.description ? `${schema.description}\n\n` : ''}**Example:**\n\n\`\`\`\n${curl}\n\`\`\``;
      if (example.body && schema.body && !schema.body.examples)
        schema.body = { ...schema.body, examples: [example.body] };
    }
    if (needsToken(method, route.url)) route.schema = { ...schema, security: [{ bearerAuth: [] }] };
    const props = schema.querystring?.properties;
    if (props) {
      if (props.lng && !props.lng.description) props.lng = { ...props.lng, description: LNG };
      if (props.lat && !props.lat.description) props.lat = { ...props.lat, description: LAT };
    }
  });
}

import { booleanPointInPolygon, nearestPointOnLine, point, along, length, lineString } from '@turf/turf';
import type { Feature, MultiLineString, MultiPolygon } from 'geojson';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT_EXAMPLES, needsToken } from '../../server/api-docs.ts';
import { getJson as getJsonOf, mapIdle, openApp, renderedCount, shot, startE2e, type E2eEnv } from './browser.ts';

const CENTRE_VIEW = 'map=14.50/30.66200/104.05800&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point';
const POINT = { lng: 104.0585, lat: 30.6598 };

let env: E2eEnv;
beforeAll(async () => {
  env = await startE2e();
  // the pool's threads decode the engine and snap the origins before the first band request
  await env.app.heavy.warm(await env.app.engine.current());
});
afterAll(async () => {
  await env?.close();
});
const getJson = <T>(url: string) => getJsonOf<T>(env, url);

interface Bands {
  properties: { cell_m: number; frontage_m: number; off_street_max_m: number; origins?: [number, number][] };
  features: { geometry: MultiPolygon | null; properties: { limit_m: number; residents: number; origins: number } }[];
}
interface SearchAnswer {
  results: { kind: string; id: number; name: string; category: string | null; bbox: number[] }[];
}

/** Points every `stepM` along every line of a MultiLineString. */
function samplePoints(lines: MultiLineString, stepM: number): [number, number][] {
  const out: [number, number][] = [];
  for (const c of lines.coordinates) {
    if (c.length < 2) continue;
    const ls = lineString(c);
    const len = length(ls, { units: 'meters' });
    for (let m = 0; m <= len; m += stepM)
      out.push(along(ls, m, { units: 'meters' }).geometry.coordinates as [number, number]);
    out.push(c[c.length - 1] as [number, number]);
  }
  return out;
}

describe('finding your way and life-circle bands, central Chengdu', () => {
  it('bands: every reached street point is inside its band; streets farther than limit + tolerance are mostly outside', async () => {
    const bands = await getJson<Bands>(`/api/isochrone/bands?lng=${POINT.lng}&lat=${POINT.lat}`);
    expect(bands.features.map((f) => f.properties.limit_m)).toEqual([1000, 500, 300]);
    const tolM = bands.properties.frontage_m + bands.properties.cell_m;
    const shares: Record<number, { beyond: number; outside: number }> = {};
    for (const band of bands.features) {
      const L = band.properties.limit_m;
      expect(band.geometry, `${L} m`).not.toBeNull();
      const poly: Feature<MultiPolygon> = { type: 'Feature', properties: {}, geometry: band.geometry! };
      const within = await getJson<{ features: Feature<MultiLineString>[] }>(
        `/api/isochrone?lng=${POINT.lng}&lat=${POINT.lat}&distance_m=${L}`,
      );
      const lines = within.features.find((f) => f.properties?.kind === 'lines')!.geometry;
      const pts = samplePoints(lines, 10);
      expect(pts.length).toBeGreaterThan(50);
      for (const p of pts) expect(booleanPointInPolygon(point(p), poly), `${L} m: ${p}`).toBe(true);
      if (L === 1000) continue;
      // points on the 1000 m streets that are not within L + tolerance: network distance > L + tol
      const near = (
        await getJson<{ features: Feature<MultiLineString>[] }>(
          `/api/isochrone?lng=${POINT.lng}&lat=${POINT.lat}&distance_m=${L + tolM}`,
        )
      ).features.find((f) => f.properties?.kind === 'lines')!.geometry;
      const far = (
        await getJson<{ features: Feature<MultiLineString>[] }>(
          `/api/isochrone?lng=${POINT.lng}&lat=${POINT.lat}&distance_m=1000`,
        )
      ).features.find((f) => f.properties?.kind === 'lines')!.geometry;
      let beyond = 0,
        outside = 0;
      for (const p of samplePoints(far, 25)) {
        const d = Math.min(
          ...near.coordinates
            .filter((c) => c.length > 1)
            .map((c) => nearestPointOnLine(lineString(c), point(p), { units: 'meters' }).properties.dist!),
        );
        if (d < 1) continue;
        beyond++;
        if (!booleanPointInPolygon(point(p), poly)) outside++;
      }
      expect(beyond).toBeGreaterThan(100);
      shares[L] = { beyond, outside };
      expect(outside / beyond, `${L} m band`).toBeGreaterThan(0.8);
    }
    console.log('bands oracle: beyond limit + tolerance and outside', JSON.stringify(shares), `tolerance ${tolM} m`);
  });

  it("bands: residents per band equal the SQL sum over the origins within, and a facility's walks equal the stored run's", async () => {
    const hits = await getJson<SearchAnswer>(`/api/search?q=${encodeURIComponent('人民公园')}`);
    const park = hits.results.find((r) => r.kind === 'facility' && r.name === '人民公园');
    expect(park).toBeDefined();
    const bands = await getJson<Bands>(`/api/isochrone/bands?facility_id=${park!.id}&include=origins`);
    const origins = bands.properties.origins!;
    expect(origins.length).toBeGreaterThan(5);
    const db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
    try {
      for (const band of bands.features) {
        const ids = origins.filter(([, d]) => d <= band.properties.limit_m).map(([id]) => id);
        const { rows } = await db.query<{ n: number; pop: number | null }>(
          'SELECT count(*)::int AS n, sum(population) AS pop FROM origins WHERE id = ANY($1::bigint[])',
          [ids],
        );
        expect(rows[0].n).toBe(band.properties.origins);
        expect(Math.abs((rows[0].pop ?? 0) - band.properties.residents)).toBeLessThan(0.02 * Math.max(1, ids.length));
      }
      // where the stored run's nearest park is 人民公园, its walk is the facility band's walk
      const { rows } = await db.query<{ origin_id: string; network_m: number }>(
        `SELECT r.origin_id, r.network_m FROM coverage_origin_results r
         WHERE r.run_id = (SELECT max(id) FROM coverage_runs WHERE status = 'done') AND r.facility_id = $1 AND r.network_m <= 1000
           AND r.rule_set_id = 'chengdu-park-city' AND r.rule_id = 'park_500'`,
        [park!.id],
      );
      expect(rows.length).toBeGreaterThan(0);
      const byId = new Map(origins.map(([id, d]) => [id, d]));
      for (const r of rows)
        expect(Math.abs(byId.get(Number(r.origin_id))! - r.network_m), `origin ${r.origin_id}`).toBeLessThan(0.05);
    } finally {
      await db.end();
    }
  });

  it("search finds 人民公园 in the UI, zooms to it and shows its bands with the API's residents; screenshots at both widths", async () => {
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 820, height: 1180 },
    ]) {
      const { page, errors, close } = await openApp(env, CENTRE_VIEW, viewport);
      try {
        await page.fill('#search-input', '人民公园');
        const item = page.locator('#search-results li[data-kind="facility"]', { hasText: '人民公园' }).first();
        await item.waitFor({ timeout: 10_000 });
        const id = Number(await item.getAttribute('data-id'));
        await item.click();
        await page.locator('#bands-card tr[data-limit="300"]').waitFor({ timeout: 20_000 });
        await mapIdle(page);
        const api = await getJson<Bands>(`/api/isochrone/bands?facility_id=${id}`);
        for (const f of api.features) {
          const cell = await page
            .locator(`#bands-card tr[data-limit="${f.properties.limit_m}"] [data-field="residents"]`)
            .innerText();
          expect(Number(cell.replace(/[^0-9]/g, ''))).toBe(Math.round(f.properties.residents));
        }
        expect(await renderedCount(page, ['bands-fill'])).toBeGreaterThan(0);
        // the view holds the park
        const inView = await page.evaluate(() => window.__map!.getBounds().contains([104.0548, 30.6597]));
        expect(inView).toBe(true);
        // fit to bands keeps the bands' box clear of the open legend
        await page.click('#bands-fit');
        await mapIdle(page);
        const clear = await page.evaluate(() => {
          const map = window.__map!;
          const f = map.getSource('life-circle-bands') as unknown as { _data?: unknown };
          void f;
          const legend = document.getElementById('legend')!.getBoundingClientRect();
          const mapBox = map.getContainer().getBoundingClientRect();
          const feats = map.querySourceFeatures('life-circle-bands');
          let w = Infinity,
            s = Infinity,
            e = -Infinity,
            n = -Infinity;
          for (const g of feats) {
            const walk = (c: unknown): void => {
              if (Array.isArray(c) && typeof c[0] === 'number') {
                w = Math.min(w, c[0]);
                e = Math.max(e, c[0]);
                s = Math.min(s, c[1] as number);
                n = Math.max(n, c[1] as number);
              } else if (Array.isArray(c)) c.forEach(walk);
            };
            walk((g.geometry as { coordinates: unknown }).coordinates);
          }
          const sw = map.project([w, s]),
            ne = map.project([e, n]);
          const box = {
            left: mapBox.left + sw.x,
            right: mapBox.left + ne.x,
            top: mapBox.top + ne.y,
            bottom: mapBox.top + sw.y,
          };
          const open = (document.querySelector('#legend details') as HTMLDetailsElement | null)?.open ?? false;
          const overlaps =
            box.left < legend.right && box.right > legend.left && box.top < legend.bottom && box.bottom > legend.top;
          return { open, overlaps, features: feats.length };
        });
        expect(clear.features).toBeGreaterThan(0);
        expect(clear.open, 'the legend is open on wide screens, folded on narrow ones').toBe(viewport.width > 900);
        expect(clear.open && clear.overlaps, 'the bands are not under the open legend').toBe(false);
        await shot(page, `bands-search-${viewport.width}`);
        // zoom to data goes back to the whole data set
        await page.click('#zoom-to-data');
        await mapIdle(page);
        expect(await page.evaluate(() => window.__map!.getZoom())).toBeLessThan(14.5);
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    }
  });

  it('a clicked point gets its 5/10/15-minute bands from the point panel', async () => {
    const { page, errors, close } = await openApp(env, CENTRE_VIEW);
    try {
      await page.evaluate(() => undefined);
      const box = (await page.locator('#map').boundingBox())!;
      await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.5);
      await page.locator('#proximity-table').waitFor({ timeout: 20_000 });
      await page.click('#bands-button');
      await page.locator('#bands-card tr[data-limit="1000"]').waitFor({ timeout: 20_000 });
      await mapIdle(page);
      expect(await renderedCount(page, ['bands-fill'])).toBeGreaterThan(0);
      await shot(page, 'bands-point-1280');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('/docs has an Authorize button, and every documented GET example answers 200', async () => {
    const doc = await getJson<{
      paths: Record<string, Record<string, { description?: string; security?: unknown }>>;
      components: { securitySchemes: Record<string, unknown> };
    }>('/docs/json');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(op.description ?? '', `${method} ${path}`).toContain('Example');
        if (method !== 'get')
          expect(op.security, `${method} ${path}`).toEqual(
            [{ bearerAuth: [] }].filter(() => path.startsWith('/api/plans')).length
              ? [{ bearerAuth: [] }]
              : op.security,
          );
      }
    }
    for (const [key, ex] of Object.entries(ENDPOINT_EXAMPLES)) {
      if (!key.startsWith('GET ') || key.includes(':id') || key.includes('compare') || needsToken('GET', key.slice(4)))
        continue;
      const res = await fetch(new URL(ex.url, env.base));
      expect(res.status, key).toBe(200);
    }
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await page.goto(`${env.base}/docs`);
      await page.locator('button.authorize').first().waitFor({ timeout: 20_000 });
      await page.locator('.opblock-summary-path', { hasText: '/api/isochrone/bands' }).first().click();
      await page.locator('text=Example').first().waitFor({ timeout: 10_000 });
      await page.screenshot({ path: `${process.cwd()}/test/artifacts/docs-1280.png` });
    } finally {
      await context.close();
    }
  });
});

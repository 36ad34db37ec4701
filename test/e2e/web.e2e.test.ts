import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../../server/auth.ts';
import { projectRoot } from '../../server/config.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { importCommunities } from '../../server/import/import-communities.ts';
import type { Audit, Coverage, Plan, Proximity, ProximityResult } from '../../web/api/types.ts';
import {
  clickMapAt,
  getJson as getJsonOf,
  mapIdle,
  openApp,
  renderedCount,
  shot,
  startE2e,
  type E2eEnv,
} from './browser.ts';
import { createPool } from '../../server/db/pool.ts';

/** A view of central Chengdu with streets, parks and communities, zoomed in far enough for labels. */
const CENTRE_VIEW = 'map=14.50/30.66200/104.05800';

let env: E2eEnv;
let base: string;

beforeAll(async () => {
  env = await startE2e();
  base = env.base;
});

afterAll(async () => {
  await env?.close();
});

const getJson = <T>(url: string) => getJsonOf<T>(env, url);
const open = (hash: string, viewport?: { width: number; height: number }) => openApp(env, hash, viewport);

const metres = (m: number | null) => (m === null ? '—' : `${Math.round(m)} m`);
const minutes = (x: number | null) => (x === null ? '—' : x.toFixed(1));
const tick = (r: ProximityResult) => (r.meets_target === null ? '—' : r.meets_target ? '✓' : '✗');

describe('web app in Chromium against the real server', () => {
  it('at zoom 10 draws the generalised network and the areas from the whole-city tiles (migrations/0250, 0251)', async () => {
    const { page, errors, close } = await open(
      'map=10.00/30.66200/104.05800&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point',
    );
    try {
      expect(await renderedCount(page, ['network-lines'])).toBeGreaterThan(0);
      expect(await renderedCount(page, ['areas-district-fill', 'areas-community-fill'])).toBeGreaterThan(0);
      // the generalised lines carry the per-category distances the legend colours by
      const parks = await page.evaluate(
        () =>
          window
            .__map!.queryRenderedFeatures({ layers: ['network-lines'] })
            .filter((f) => typeof f.properties.park === 'number').length,
      );
      expect(parks).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('loads with no console errors and renders our own basemap, network and labels', async () => {
    const { page, errors, close } = await open(
      `${CENTRE_VIEW}&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point`,
    );
    try {
      expect(await renderedCount(page, ['network-lines'])).toBeGreaterThan(50);
      expect(await renderedCount(page, ['roads'])).toBeGreaterThan(50);
      expect(await renderedCount(page, ['landuse', 'green', 'water'])).toBeGreaterThan(0);
      expect(await renderedCount(page, ['areas-community-fill'])).toBeGreaterThan(0);
      expect(await renderedCount(page, ['facility-points'])).toBeGreaterThan(0);
      // Chinese road names drawn from local fonts, no glyph server.
      const names = await page.evaluate(() =>
        window.__map!.queryRenderedFeatures({ layers: ['road-labels'] }).map((f) => String(f.properties.name)),
      );
      expect(names.length).toBeGreaterThan(5);
      expect(names.some((n) => /[\u4e00-\u9fff]/.test(n))).toBe(true);
      const style = await page.evaluate(() => window.__map!.getStyle());
      expect(style.glyphs).toBeUndefined();
      const urls = Object.values(style.sources).flatMap((s) => ('tiles' in s && s.tiles ? s.tiles : []));
      expect(urls.every((u) => u.startsWith(base))).toBe(true);
      await expect
        .poll(() => page.locator('.maplibregl-ctrl-attrib').innerText())
        .toContain('© OpenStreetMap contributors');
      expect(await page.locator('.maplibregl-ctrl-attrib').isVisible()).toBe(true);
      // network tiles reach the browser gzip-compressed (the server's plain tile is the reference)
      const tilePath = '/tiles/network/15/25855/13449.pbf'; // the view's centre
      const plain = await fetch(new URL(tilePath, base), { headers: { 'accept-encoding': 'identity' } });
      const plainBytes = (await plain.arrayBuffer()).byteLength;
      const seen = await page.evaluate(async (url) => {
        const r = await fetch(url);
        return { encoding: r.headers.get('content-encoding'), bytes: (await r.arrayBuffer()).byteLength };
      }, new URL(tilePath, base).toString());
      expect(plainBytes).toBeGreaterThan(1024);
      expect(seen).toEqual({ encoding: 'gzip', bytes: plainBytes });
      await shot(page, 'main-zh');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('shows where parks are entered from z14, and a point inside 活水公园 as inside it at 0 m', async () => {
    const { page, errors, close } = await open(
      'map=16.50/30.67350/104.08480&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point',
    );
    try {
      const entries = await page.evaluate(() =>
        window.__map!.queryRenderedFeatures({ layers: ['facility-access'] }).map((f) => f.properties.kind as string),
      );
      expect(entries.length).toBeGreaterThan(10);
      expect(new Set(entries)).toContain('sampled');
      const inside = await getJson<Proximity>('/api/proximity?lng=104.084843&lat=30.673476&categories=park');
      expect(inside.results[0]).toMatchObject({ inside: true, network_distance_m: 0, path: null });
      await shot(page, 'park-entry-zh');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('shows for a clicked point the distances /api/proximity gives, draws the walks and an isochrone', async () => {
    const { page, errors, close } = await open(
      `${CENTRE_VIEW}&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point`,
    );
    try {
      const box = (await page.locator('#map').boundingBox())!;
      const answer = page.waitForResponse((r) => r.url().includes('/api/proximity'));
      await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.45);
      const url = (await answer).url();
      await page.waitForSelector('#proximity-table');
      const api = await getJson<Proximity>(url);
      expect(api.results.length).toBeGreaterThan(5);
      for (const r of api.results) {
        const row = page.locator(`#proximity-table tr[data-category="${r.category}"]`);
        expect(await row.locator('[data-field=network]').innerText(), r.category).toBe(metres(r.network_distance_m));
        expect(await row.locator('[data-field=straight]').innerText(), r.category).toBe(metres(r.straight_distance_m));
        expect(await row.locator('[data-field=minutes]').innerText(), r.category).toBe(minutes(r.walk_minutes));
        expect(await row.locator('[data-field=meets]').innerText(), r.category).toBe(tick(r));
        expect(await row.locator('.badge-sample').count(), r.category).toBe(r.facility?.is_sample ? 1 : 0);
      }
      // the facility names shown: at least one answer names its facility, so this cannot pass empty
      const named = api.results.filter((r) => r.facility?.name);
      expect(named.length).toBeGreaterThan(0);
      for (const r of named)
        expect(await page.locator(`#proximity-table tr[data-category="${r.category}"]`).innerText()).toContain(
          r.facility!.name,
        );
      await mapIdle(page);
      // a walk was found, so the map draws its line
      expect(api.results.some((r) => r.path)).toBe(true);
      expect(await renderedCount(page, ['routes-line'])).toBeGreaterThan(0);
      expect(await renderedCount(page, ['routes-origin'])).toBe(1);

      const iso = page.waitForResponse((r) => r.url().includes('/api/isochrone') && r.url().includes('distance_m=500'));
      await page.click('button[data-isochrone="500"]');
      expect((await iso).status()).toBe(200);
      await mapIdle(page);
      await expect.poll(() => renderedCount(page, ['isochrone-fill'])).toBeGreaterThan(0);
      await shot(page, 'point-zh');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('lists in the audit table the failing communities /api/audit lists, and zooms to a clicked one', async () => {
    const { page, errors, close } = await open('rs=chengdu-park-city&cat=worst&lvl=community&lang=zh&tab=audit');
    try {
      await page.waitForSelector('#audit-table tbody tr[data-area-key]');
      // approximate zones name no street or district: those filters are off, and say why
      expect(await page.locator('#audit-district').isDisabled()).toBe(true);
      expect(await page.locator('#audit-street').isDisabled()).toBe(true);
      await page.check('#failing-only');
      const audit = await getJson<Audit>('/api/audit?rule_set=chengdu-park-city&level=community');
      // the audit lists every named zone; those no resident lives in fail no rule and are not "failing"
      const failingAreas = audit.areas.filter((a) => a.failed_rules.length > 0);
      expect(failingAreas.length).toBeGreaterThan(0);
      const rows = page.locator('#audit-table tbody tr[data-area-key]');
      const shown = await rows.evaluateAll((trs) =>
        trs.map((tr) => [
          tr.getAttribute('data-area-key')!,
          tr.querySelector('[data-field=not-covered]')!.textContent!,
        ]),
      );
      expect(shown.map(([k]) => k).sort()).toEqual(failingAreas.map((a) => a.area_key).sort());
      for (const a of failingAreas) {
        const text = shown.find(([k]) => k === a.area_key)![1];
        expect(Number(text.replace(/[^\d]/g, '')), a.area_key).toBe(a.residents_not_covered);
      }
      // City-wide strip: one chip per rule of the rule set.
      const rules = await getJson<{ rule_sets: { id: string; rules: unknown[] }[] }>('/api/rules');
      await page.waitForSelector('#summary-strip .chip');
      expect(await page.locator('#summary-strip .chip').count()).toBe(
        rules.rule_sets.find((r) => r.id === 'chengdu-park-city')!.rules.length,
      );
      // OSM Chengdu 2018 has no greenway: that rule is not assessable, in the strip and above the table
      expect(
        (audit as unknown as { not_assessable: { rule_id: string }[] }).not_assessable.map((n) => n.rule_id),
      ).toEqual(['greenway_1000']);
      expect(await page.locator('#summary-strip .chip[data-rule=greenway_1000]').getAttribute('data-outcome')).toBe(
        'no_data',
      );
      expect(await page.locator('#not-assessable li[data-rule=greenway_1000]').innerText()).toContain('无法评估');

      // Sorting by population puts the largest first.
      await page.click('#audit-table th[data-sort=population]');
      const firstKey = await rows.first().getAttribute('data-area-key');
      const coverage = await getJson<{ areas: { area_key: string; population: number }[] }>(
        '/api/coverage?rule_set=chengdu-park-city&level=community',
      );
      const failing = new Set(failingAreas.map((a) => a.area_key));
      const largest = coverage.areas
        .filter((a) => failing.has(a.area_key))
        .sort((a, b) => b.population - a.population)[0];
      expect(firstKey).toBe(largest.area_key);

      const zoomBefore = await page.evaluate(() => window.__map!.getZoom());
      await rows.first().click();
      await page.waitForFunction((z) => Math.abs(window.__map!.getZoom() - z) > 0.01, zoomBefore, { timeout: 10_000 });
      await mapIdle(page);
      await expect.poll(() => renderedCount(page, ['highlight-line'])).toBeGreaterThan(0);
      expect(await page.locator('#audit-table tr.selected').getAttribute('data-area-key')).toBe(largest.area_key);
      const csv = await page.locator('.exports a').first().getAttribute('href');
      expect(csv).toContain('/api/audit?rule_set=chengdu-park-city&level=community&format=csv');
      await shot(page, 'audit-zh');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('switches every label to English and keeps the view, rule set and language in the URL', async () => {
    const { page, errors, close } = await open(
      `${CENTRE_VIEW}&rs=gb50180-2018&cat=kindergarten&lvl=community&lang=zh&tab=point`,
    );
    try {
      expect(await page.locator('h1').innerText()).toBe('成都15分钟社区生活圈');
      expect(await page.locator('#tab-audit').innerText()).toBe('达标审计');
      expect(await page.locator('#rule-set').inputValue()).toBe('gb50180-2018');
      expect(await page.locator('#category').inputValue()).toBe('kindergarten');
      expect(await page.evaluate(() => window.__map!.getZoom())).toBeCloseTo(14.5, 1);
      const legendZh = await page.locator('#legend').innerText();
      expect(legendZh).toContain('幼儿园');

      await page.click('#lang-switch');
      expect(await page.locator('h1').innerText()).toBe('Chengdu 15-minute life circles');
      expect(await page.locator('#tab-audit').innerText()).toBe('Audit');
      expect(await page.locator('#tab-point').innerText()).toBe('Point');
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      const legendEn = await page.locator('#legend').innerText();
      expect(legendEn).toContain('Kindergarten');
      // the outcomes without a distance, in the API's words
      expect(legendEn).toContain('beyond 3000 m');
      expect(legendEn).toContain('no path');
      expect(legendEn).not.toMatch(/图例|到最近设施的步行距离|空心圆|覆盖人口比例/);
      expect(await page.locator('#category option:checked').innerText()).toBe('Kindergarten');
      expect(page.url()).toContain('lang=en');
      expect(page.url()).toContain('rs=gb50180-2018');
      expect(page.url()).toContain('cat=kindergarten');
      await mapIdle(page);
      await shot(page, 'main-en');

      // A reload of the shared link comes back in English.
      await page.reload();
      await page.waitForFunction(() => window.__appReady === true);
      expect(await page.locator('#tab-point').innerText()).toBe('Point');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('lets a planner with a token draw a site with clicks, save it, change its status and delete it', async () => {
    const pool = createPool(env.db.url, { max: 1 });
    const { token } = await createToken(pool, 'e2e', 'planner');
    await pool.end();
    const { page, errors, close } = await open(
      `${CENTRE_VIEW}&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=plans`,
    );
    try {
      await page.fill('#plan-token', token);
      await page.click('#token-save');
      await page.click('#draw-polygon');
      // Right of the legend; the last click lands on the first corner and closes the ring.
      await clickMapAt(page, [
        [0.55, 0.3],
        [0.75, 0.28],
        [0.78, 0.5],
        [0.58, 0.52],
        [0.551, 0.301],
      ]);
      await page.waitForSelector('#plan-form');
      await page.fill('#plan-name', 'e2e 口袋公园');
      await page.selectOption('#plan-kind', 'add_open_space');
      const created = page.waitForResponse((r) => r.url().endsWith('/api/plans') && r.request().method() === 'POST');
      await page.click('#plan-save');
      expect((await created).status()).toBe(201);
      await expect.poll(() => page.locator('#plan-message').innerText()).toContain('e2e 口袋公园');

      const plans = (await getJson<{ plans: Plan[] }>('/api/plans?include=geometry')).plans;
      expect(plans).toHaveLength(1);
      expect(plans[0]).toMatchObject({
        name: 'e2e 口袋公园',
        kind: 'add_open_space',
        status: 'proposed',
        created_by: 'e2e',
      });
      expect(plans[0].geometry.type).toBe('Polygon');
      const ring = (plans[0].geometry as { coordinates: number[][][] }).coordinates[0];
      expect(ring).toHaveLength(5);
      await mapIdle(page);
      await expect.poll(() => renderedCount(page, ['plans-fill'])).toBeGreaterThan(0);
      await shot(page, 'plans-zh');

      const id = plans[0].id;
      // someone else renames the plan after this page loaded it: the page's change is refused
      // (If-Match), the user is told, and the list shows the newer version
      const other = await fetch(new URL(`/api/plans/${id}`, env.base), {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'e2e 口袋公园 (renamed)' }),
      });
      expect(other.status).toBe(200);
      const refused = page.waitForResponse(
        (r) => r.url().endsWith(`/api/plans/${id}`) && r.request().method() === 'PATCH',
      );
      await page.selectOption(`#plan-list li[data-plan-id="${id}"] select`, 'approved');
      expect((await refused).status()).toBe(412);
      await expect.poll(() => page.locator('#plan-message').innerText()).toContain('该方案已被他人修改');
      await expect.poll(() => page.locator(`#plan-list li[data-plan-id="${id}"]`).innerText()).toContain('(renamed)');
      expect((await getJson<Plan>(`/api/plans/${id}`)).status).toBe('proposed');

      const patched = page.waitForResponse(
        (r) => r.url().endsWith(`/api/plans/${id}`) && r.request().method() === 'PATCH',
      );
      await page.selectOption(`#plan-list li[data-plan-id="${id}"] select`, 'approved');
      expect((await patched).status()).toBe(200);
      expect((await getJson<Plan>(`/api/plans/${id}`)).status).toBe('approved');

      await page.click(`#plan-list li[data-plan-id="${id}"] button:has-text("删除")`);
      const deleted = page.waitForResponse(
        (r) => r.url().endsWith(`/api/plans/${id}`) && r.request().method() === 'DELETE',
      );
      await page.click(`#plan-list li[data-plan-id="${id}"] button.danger`);
      expect((await deleted).status()).toBe(204);
      expect((await getJson<{ plans: Plan[] }>('/api/plans')).plans).toEqual([]);
      // the browser logs the refused request itself; nothing else may fail
      expect(errors.filter((e) => !/status of 412/.test(e))).toEqual([]);
    } finally {
      await close();
    }
  });

  // A wrong token is refused when it is entered (workbench.e2e item 5); a token revoked while a
  // plan is being drawn is refused by the API at save, and that refusal is explained in words.
  it('explains an API refusal in words when the token is revoked before saving', async () => {
    const pool = createPool(env.db.url, { max: 1 });
    const { id, token } = await createToken(pool, 'revoked while drawing', 'planner');
    const { page, errors, close } = await open(`${CENTRE_VIEW}&lang=en&tab=plans`);
    try {
      await page.fill('#plan-token', token);
      await page.click('#token-save');
      await page.click('#draw-line');
      expect(await revokeToken(pool, id)).toBe(true);
      await clickMapAt(page, [
        [0.55, 0.4],
        [0.7, 0.45],
        [0.7, 0.45],
      ]);
      await page.waitForSelector('#plan-form');
      expect(await page.locator('#plan-kind').inputValue()).toBe('demolish_wall');
      await page.fill('#plan-name', 'wall');
      await page.click('#plan-save');
      await expect
        .poll(() => page.locator('#plan-message').innerText())
        .toContain('The token is missing, unknown or revoked');
      // The browser logs the refused request itself; nothing else may fail.
      expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
      expect((await getJson<{ plans: Plan[] }>('/api/plans')).plans).toEqual([]);
    } finally {
      await close();
      await pool.end();
    }
  });

  it('fits a tablet-width window without sideways scrolling', async () => {
    const { page, errors, close } = await open(
      `${CENTRE_VIEW}&rs=chengdu-park-city&cat=worst&lvl=residential_area&lang=zh&tab=audit`,
      { width: 800, height: 1100 },
    );
    try {
      await page.waitForSelector('#audit-table tbody tr[data-area-key]');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
      const mapBox = (await page.locator('#map').boundingBox())!;
      expect(mapBox.width).toBeGreaterThan(700);
      expect(mapBox.height).toBeGreaterThan(350);
      expect(await renderedCount(page, ['areas-residential_area-fill'])).toBeGreaterThan(0);
      await shot(page, 'tablet-audit-zh');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
  // Last: it replaces the approximate zones with imported community boundaries.
  it('filters the audit table by district and street once community boundaries name them', async () => {
    const pool = createPool(env.db.url, { max: 2 });
    try {
      await importCommunities(
        pool,
        path.join(projectRoot, 'test', 'fixtures', 'registers', 'communities-bowtie.geojson'),
      );
      await computeCoverage(pool);
    } finally {
      await pool.end();
    }
    // the server's engine notices the new run within its recheck interval
    await expect
      .poll(
        async () =>
          (await getJson<Coverage>('/api/coverage?rule_set=chengdu-park-city&level=community')).areas.every(
            (a) => !a.is_approximate,
          ),
        { timeout: 60_000 },
      )
      .toBe(true);
    const coverage = await getJson<Coverage>('/api/coverage?rule_set=chengdu-park-city&level=community');
    // the table lists every named zone: those with evaluated residents (coverage) and those with none (audit, no_residents)
    const audit = await getJson<{
      areas: { area_key: string; street: string | null; district: string | null; caveats: string[] }[];
    }>('/api/audit?rule_set=chengdu-park-city&level=community');
    const listed = [...coverage.areas, ...audit.areas.filter((a) => a.caveats.includes('no_residents'))];
    const districts = [...new Set(listed.map((a) => a.district!))].sort();
    expect(districts.length).toBeGreaterThan(0);

    const { page, errors, close } = await open('rs=chengdu-park-city&cat=park&lvl=community&lang=en&tab=audit');
    try {
      await page.waitForSelector('#audit-table tbody tr[data-area-key]');
      const keys = () =>
        page
          .locator('#audit-table tbody tr[data-area-key]')
          .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-area-key')!).sort());
      expect(await keys()).toEqual(listed.map((a) => a.area_key).sort());
      expect(await page.locator('#audit-district option').allInnerTexts()).toEqual(['All', ...districts]);
      for (const d of districts) {
        await page.selectOption('#audit-district', d);
        expect(await keys(), d).toEqual(
          listed
            .filter((a) => a.district === d)
            .map((a) => a.area_key)
            .sort(),
        );
      }
      // streets are those of the district chosen
      await page.selectOption('#audit-district', '成华区');
      await page.selectOption('#audit-street', '测试街道 (synthetic)');
      expect(await keys()).toEqual(
        listed
          .filter((a) => a.street === '测试街道 (synthetic)')
          .map((a) => a.area_key)
          .sort(),
      );
      await page.selectOption('#audit-district', '');
      expect((await keys()).length).toBeGreaterThanOrEqual(
        listed.filter((a) => a.street === '测试街道 (synthetic)').length,
      );
      await shot(page, 'audit-district-filter-en');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 300_000); // imports community zones and recomputes coverage: 79 s alone at load 6, over 120 s in the whole e2e run
});

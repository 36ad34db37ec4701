import { area, polygon } from '@turf/turf';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geodesicM } from '../../geo/geodesy.ts';
import { createToken } from '../../server/auth.ts';
import { createPool } from '../../server/db/pool.ts';
import type { CoverageGeoJson, Isochrone, Plan, ScenarioEvaluation, ScenarioRequest } from '../../web/api/types.ts';
import type { SavedScenario, ScenarioComparison } from '../../api/saved-scenarios.ts';
import { park } from '../helpers/chengdu-sites.ts';
import { clickMapAt, getJson as getJsonOf, mapIdle, openApp, shot, startE2e, type E2eEnv } from './browser.ts';

/**
 * The planner's tools in the web app, in Chromium against the real server on central Chengdu:
 * saved scenarios (save with a planner token, list, compare, CSV), what a wall plan did in words,
 * the measure tool, an isochrone from a facility, and row zooms that stay clear of the legend.
 */

const VIEW = 'map=15.00/30.66200/104.06000&rs=chengdu-park-city&cat=park&lvl=community';
const EVALUATE = '/api/scenarios/evaluate';
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 820, height: 1180 },
] as const;

let env: E2eEnv;
let token: string;

beforeAll(async () => {
  env = await startE2e();
  const pool = createPool(env.db.url, { max: 1 });
  token = (await createToken(pool, 'planner-tools e2e', 'planner')).token;
  await pool.end();
});
afterAll(async () => {
  await env?.close();
});

const getJson = <T>(url: string) => getJsonOf<T>(env, url);
const digits = (text: string) => Number(text.replace(/[^\d-]/g, '').replace(/^-$/, ''));
const signedDigits = (text: string) =>
  (text.includes('−') || text.trim().startsWith('-') ? -1 : 1) * Number(text.replace(/[^\d]/g, ''));

async function post<T>(path: string, body: unknown, auth = false): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, env.base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Pixel of a lng/lat in the map's box, as fractions for clickMapAt. */
async function fractionOf(page: Page, lng: number, lat: number): Promise<[number, number]> {
  return page.evaluate(
    ([x, y]) => {
      const m = window.__map!;
      const p = m.project([x, y]);
      const c = m.getContainer().getBoundingClientRect();
      return [p.x / c.width, p.y / c.height] as [number, number];
    },
    [lng, lat],
  );
}

describe('planner tools in Chromium against the real server', () => {
  it('saves two scenarios through the UI with a planner token; the list, the comparison and the CSV link answer what the API does', async () => {
    // two stored plans, one per scenario
    const plans: Plan[] = [];
    for (const site of ['south', 'north'] as const) {
      const r = await post<Plan>('/api/plans', { ...park(site, `planner-tools ${site}`), status: 'proposed' }, true);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      plans.push(r.body);
    }
    const before = (await getJson<{ scenarios: SavedScenario[] }>('/api/saved-scenarios')).scenarios.length;
    const { page, errors, close } = await openApp(env, `${VIEW}&lang=zh&tab=scenario`);
    try {
      await page.locator(`#scenario-plan-list input[data-plan-id="${plans[0].id}"]`).waitFor();
      // without a token the block asks for one; a planner token is checked and kept
      await page.fill('#saved-token', token);
      await page.click('#saved-token-save');
      await page.locator('#saved-name').waitFor();
      const names = ['情景甲 南侧公园', '情景乙 北侧公园'];
      for (let i = 0; i < 2; i++) {
        if (i) await page.locator(`#scenario-plan-list input[data-plan-id="${plans[0].id}"]`).uncheck();
        await page.locator(`#scenario-plan-list input[data-plan-id="${plans[i].id}"]`).check();
        await page.fill('#saved-name', names[i]);
        const saved = page.waitForResponse(
          (r) => r.url().endsWith('/api/saved-scenarios') && r.request().method() === 'POST',
        );
        await page.click('#saved-save');
        expect((await saved).status()).toBe(201);
        await expect.poll(() => page.locator('#saved-message').innerText()).toContain(names[i]);
      }
      const list = (await getJson<{ scenarios: SavedScenario[] }>('/api/saved-scenarios')).scenarios;
      expect(list.length).toBe(before + 2);
      const [b, a] = list; // newest first
      expect([a.name, b.name]).toEqual(names);
      expect(a.plan_ids).toEqual([plans[0].id]);
      expect(b.plan_ids).toEqual([plans[1].id]);
      await expect.poll(() => page.locator('#saved-list li').count()).toBe(list.length);
      for (const s of list)
        expect(await page.locator(`#saved-list li[data-saved-id="${s.id}"]`).innerText()).toContain(s.name);

      // compare a and b: the table shows the API's /compare figures rule by rule
      await page.selectOption('#saved-compare-a', String(a.id));
      await page.selectOption('#saved-compare-b', String(b.id));
      await page.click('#saved-compare-go');
      await page.locator('#saved-compare tbody tr').first().waitFor();
      const cmp = await getJson<ScenarioComparison>(`/api/saved-scenarios/compare?a=${a.id}&b=${b.id}`);
      expect(cmp.rules.length).toBeGreaterThan(0);
      expect(await page.locator('#saved-compare tbody tr').count()).toBe(cmp.rules.length);
      const pct = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)}%`);
      let differing = 0;
      for (const r of cmp.rules) {
        const row = page.locator(`#saved-compare tr[data-rule="${r.rule}"]`);
        expect(await row.locator('[data-field=share-a]').innerText(), r.rule).toBe(pct(r.a!.share_after));
        expect(await row.locator('[data-field=share-b]').innerText(), r.rule).toBe(pct(r.b!.share_after));
        expect(digits(await row.locator('[data-field=new-a]').innerText()), r.rule).toBe(
          Math.round(r.a!.newly_covered),
        );
        expect(digits(await row.locator('[data-field=new-b]').innerText()), r.rule).toBe(
          Math.round(r.b!.newly_covered),
        );
        expect(signedDigits(await row.locator('[data-field=diff]').innerText()), r.rule).toBe(
          Math.round(r.newly_covered_b_minus_a!),
        );
        if (Math.round(r.newly_covered_b_minus_a!) !== 0) differing++;
      }
      // two parks 6.6 km apart cover different residents: the comparison is not all zeros
      expect(differing).toBeGreaterThan(0);
      await shot(page, 'saved-scenarios-compare-1280');

      // the CSV link answers the API's CSV for that scenario, byte for byte
      const href = await page.locator(`#saved-list li[data-saved-id="${a.id}"] a.saved-csv`).getAttribute('href');
      const viaLink = await fetch(new URL(href!, env.base));
      expect(viaLink.headers.get('content-type')).toContain('text/csv');
      const csv = await viaLink.text();
      expect(csv).toBe(
        await (await fetch(new URL(`/api/saved-scenarios/${a.id}/results?format=csv`, env.base))).text(),
      );
      const lines = csv.trim().split(/\r?\n/);
      expect(lines.length).toBe(1 + a.results.length);
      expect(lines[0]).toContain('newly_covered');

      // at tablet width the same block reads
      await page.setViewportSize({ width: 820, height: 1180 });
      await page.locator('#saved-compare').scrollIntoViewIfNeeded();
      await shot(page, 'saved-scenarios-compare-820');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it("a wall drawn where it joins no street says so, in words matching the API's counts", async () => {
    // a short line that the API says adds no walking link: searched for, not assumed
    const centre = [104.06, 30.662];
    let found: { line: [number, number][]; effect: ScenarioEvaluation['plans'][number] } | null = null;
    for (let k = 0; k < 40 && !found; k++) {
      const ang = k * 2.39996,
        rad = 0.0004 * Math.sqrt(k);
      const [x, y] = [centre[0] + rad * Math.cos(ang) * 1.15, centre[1] + rad * Math.sin(ang)];
      const line: [number, number][] = [
        [x - 0.00008, y],
        [x + 0.00008, y],
      ];
      const r = await post<ScenarioEvaluation>(EVALUATE, {
        rule_set: 'chengdu-park-city',
        plans: [{ kind: 'demolish_wall', name: 'probe', geometry: { type: 'LineString', coordinates: line } }],
      });
      expect(r.status).toBe(200);
      const e = r.body.plans[0];
      if (e.links_added === 0 && e.edges_opened === 0 && e.compounds_opened === 0) found = { line, effect: e };
    }
    expect(found, 'a spot where a short wall joins nothing').not.toBeNull();
    const [mid] = [[(found!.line[0][0] + found!.line[1][0]) / 2, (found!.line[0][1] + found!.line[1][1]) / 2]];
    for (const lang of ['zh', 'en'] as const) {
      const { page, errors, close } = await openApp(
        env,
        `map=18.00/${mid[1].toFixed(6)}/${mid[0].toFixed(6)}&rs=chengdu-park-city&cat=park&lvl=community&lang=${lang}&tab=scenario`,
      );
      try {
        await page.click('#scenario-draw-line');
        const a = await fractionOf(page, ...found!.line[0]);
        const b = await fractionOf(page, ...found!.line[1]);
        const sent = page.waitForRequest((r: Request) => r.url().endsWith(EVALUATE) && r.method() === 'POST');
        await clickMapAt(page, [a, b, b]);
        const body = JSON.parse((await sent).postData()!) as ScenarioRequest;
        expect(body.plans![0].kind).toBe('demolish_wall');
        await page.locator('#scenario-walls li').waitFor({ timeout: 30_000 });
        const api = await post<ScenarioEvaluation>(EVALUATE, body);
        const e = api.body.plans[0];
        expect(e.links_added).toBe(0);
        const li = page.locator('#scenario-walls li');
        expect(Number(await li.getAttribute('data-links'))).toBe(e.links_added);
        expect(Number(await li.getAttribute('data-wall-m'))).toBe(Math.round(e.barrier_removed_m));
        expect(Number(await li.getAttribute('data-compounds'))).toBe(e.compounds_opened);
        const text = await li.innerText();
        const counts =
          lang === 'zh'
            ? [
                `新增步行连接 ${e.links_added} 条`,
                `拆除围墙 ${Math.round(e.barrier_removed_m)} 米`,
                `开放小区 ${e.compounds_opened} 个`,
              ]
            : [
                `${e.links_added} walking links added`,
                `${Math.round(e.barrier_removed_m)} m of wall removed`,
                `${e.compounds_opened} gated compounds opened`,
              ];
        for (const c of counts) expect(text).toContain(c);
        // the reason, and the rules table's zeros it explains
        const why = await li.locator('[data-field=why]').innerText();
        expect(why).toMatch(lang === 'zh' ? /没有居民新增覆盖/ : /no resident is newly covered/);
        for (const r of api.body.rules) expect(Math.round(r.newly_covered), r.rule_id).toBe(0);
        await shot(page, `wall-no-link-${lang}-1280`);
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    }
  });

  it("the measure tool's distance and area are the geodesic figures of the clicked points, at both widths", async () => {
    for (const viewport of VIEWPORTS) {
      const { page, errors, close } = await openApp(env, `${VIEW}&lang=zh&tab=point`, viewport);
      try {
        await page.click('#measure-toggle');
        const fractions: [number, number][] = [
          [0.35, 0.3],
          [0.7, 0.35],
          [0.62, 0.62],
          [0.4, 0.55],
        ];
        await clickMapAt(page, fractions);
        await page.click('#measure-done');
        // the clicked points, read back from the map
        const clicked = await page.evaluate((fs) => {
          const m = window.__map!;
          const c = m.getContainer().getBoundingClientRect();
          return fs.map(([fx, fy]) => m.unproject([c.width * fx, c.height * fy]).toArray() as [number, number]);
        }, fractions);
        let expected = 0;
        for (let i = 1; i < clicked.length; i++)
          expected += geodesicM(clicked[i - 1][0], clicked[i - 1][1], clicked[i][0], clicked[i][1]);
        const shown = Number(await page.locator('#measure-readout').getAttribute('data-distance-m'));
        expect(expected).toBeGreaterThan(300);
        expect(Math.abs(shown - expected) / expected, `${shown} vs ${expected}`).toBeLessThan(0.005);
        // the area against Turf's (a sphere, computed independently)
        const turfM2 = area(polygon([[...clicked, clicked[0]]]));
        const shownM2 = Number(await page.locator('#measure-readout').getAttribute('data-area-m2'));
        expect(Math.abs(shownM2 - turfM2) / turfM2, `${shownM2} vs ${turfM2}`).toBeLessThan(0.005);
        expect(await page.locator('#measure-readout [data-field=area]').innerText()).toContain('m²');
        // measuring took the clicks: the point panel asked nothing
        expect(await page.locator('#proximity-table').count()).toBe(0);
        await mapIdle(page);
        await shot(page, `measure-${viewport.width}`);
        console.log(
          `measure ${viewport.width}px: ${shown.toFixed(1)} m (geodesicM ${expected.toFixed(1)} m), ${shownM2.toFixed(0)} m² (Turf ${turfM2.toFixed(0)} m²)`,
        );
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    }
  });

  it('an isochrone from a facility in the point panel equals /api/isochrone?facility_id=, and "fit" shows it clear of the legend', async () => {
    const { page, errors, close } = await openApp(env, `${VIEW}&lang=zh&tab=point`);
    try {
      await clickMapAt(page, [[0.5, 0.5]]);
      const button = page.locator('#proximity-table tr[data-category="park"] .iso-from-facility');
      await button.waitFor({ timeout: 20_000 });
      const id = Number(await button.getAttribute('data-facility-id'));
      const sent = page.waitForRequest(
        (r) => r.url().includes('/api/isochrone?') && r.url().includes(`facility_id=${id}`),
      );
      await button.click();
      const url = new URL((await sent).url());
      const distance = Number(url.searchParams.get('distance_m'));
      expect(distance).toBe(500);
      await page.locator(`#iso-reached[data-facility-id="${id}"]`).waitFor({ timeout: 20_000 });
      const api = await getJson<Isochrone>(`/api/isochrone?facility_id=${id}&distance_m=${distance}`);
      expect(api.features.length).toBeGreaterThan(0);
      expect(Number(await page.locator('#iso-reached').getAttribute('data-features'))).toBe(api.features.length);
      const lines = api.features.find((f) => f.properties.kind === 'lines')!;
      expect(Number(await page.locator('#iso-reached').getAttribute('data-reached-m'))).toBeCloseTo(
        Number(lines.properties.reached_length_m),
        1,
      );
      expect(await page.locator('#iso-from').innerText()).toContain('等时圈自设施');
      // the map draws that isochrone
      await mapIdle(page);
      await expect
        .poll(() => page.evaluate(() => window.__map!.queryRenderedFeatures({ layers: ['isochrone-lines'] }).length))
        .toBeGreaterThan(0);

      // fit to routes / isochrone: the isochrone's box in view and not under the open legend
      await page.evaluate(() => window.__map!.jumpTo({ zoom: 13 }));
      await page.click('#fit-route');
      await mapIdle(page);
      const [w, s, e, n] = boxOf(lines.geometry);
      const clear = await boxClearOfLegend(page, [w, s, e, n]);
      expect(clear.inView).toBe(true);
      expect(clear.legendOpen, 'the legend is open at 1280 px').toBe(true);
      expect(clear.overlaps).toBe(false);
      await shot(page, 'facility-isochrone-1280');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('after a row zoom in the audit tab the zoomed area is not under the legend, at both widths', async () => {
    const fc = await getJson<CoverageGeoJson>(
      '/api/coverage?rule_set=chengdu-park-city&level=community&format=geojson',
    );
    for (const viewport of VIEWPORTS) {
      const { page, errors, close } = await openApp(env, `${VIEW}&lang=zh&tab=audit`, viewport);
      try {
        const rows = page.locator('#panel-audit tr[data-area-key]');
        await rows.first().waitFor({ timeout: 20_000 });
        // the legend starts folded on a narrow screen: opened, it must still not cover the zoom
        if (viewport.width <= 900) await page.click('#legend summary');
        let checked = 0;
        for (const i of [0, 3]) {
          // from the overview, so each row is a real zoom
          await page.evaluate(() => window.__map!.jumpTo({ center: [104.06, 30.662], zoom: 13 }));
          const row = rows.nth(i);
          const key = await row.getAttribute('data-area-key');
          const f = fc.features.find((x) => String(x.id ?? x.properties.area_key) === key)!;
          expect(f, key!).toBeDefined();
          // the zoom starts once the row's geometry has loaded: wait for its end
          const moved = page.evaluate(
            () =>
              new Promise<boolean>((resolve) => {
                window.__map!.once('moveend', () => resolve(true));
                setTimeout(() => resolve(false), 15_000);
              }),
          );
          await row.click();
          expect(await moved, `${key}: the map zoomed`).toBe(true);
          await mapIdle(page);
          const box = boxOf(f.geometry);
          const clear = await boxClearOfLegend(page, box);
          expect(clear.legendOpen, 'the legend is open (a closed one covers nothing)').toBe(true);
          expect(clear.inView, `${key}: ${JSON.stringify(clear)}`).toBe(true);
          expect(clear.overlaps, `${key} under the legend`).toBe(false);
          checked++;
        }
        expect(checked).toBe(2);
        // at tablet width the row click scrolled the page to the table: the map back in sight
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.locator('#map').scrollIntoViewIfNeeded();
        await shot(page, `row-zoom-legend-${viewport.width}`);
        // the legend folds away and opens again
        await page.click('#legend summary');
        expect(await page.evaluate(() => (document.querySelector('#legend details') as HTMLDetailsElement).open)).toBe(
          false,
        );
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    }
  });
});

/** [west, south, east, north] of any geometry's coordinates. */
function boxOf(geometry: unknown): [number, number, number, number] {
  const pts = JSON.stringify((geometry as { coordinates: unknown }).coordinates)
    .match(/-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?/g)!
    .map((p) => p.split(',').map(Number));
  return [
    Math.min(...pts.map((c) => c[0])),
    Math.min(...pts.map((c) => c[1])),
    Math.max(...pts.map((c) => c[0])),
    Math.max(...pts.map((c) => c[1])),
  ];
}

/** Whether a lng/lat box, projected, lies in the map and off the legend's rectangle. */
async function boxClearOfLegend(
  page: Page,
  box: [number, number, number, number],
): Promise<{ inView: boolean; overlaps: boolean; legendOpen: boolean; box: unknown; map: unknown }> {
  return page.evaluate(([w, s, e, n]) => {
    const map = window.__map!;
    const m = map.getContainer().getBoundingClientRect();
    const sw = map.project([w, s]),
      ne = map.project([e, n]);
    const r = { left: m.left + sw.x, right: m.left + ne.x, top: m.top + ne.y, bottom: m.top + sw.y };
    const details = document.querySelector('#legend details') as HTMLDetailsElement | null;
    const legendOpen = details?.open ?? false;
    const l = document.getElementById('legend')!.getBoundingClientRect();
    const overlaps = legendOpen && r.left < l.right && r.right > l.left && r.top < l.bottom && r.bottom > l.top;
    const inView = r.left >= m.left - 1 && r.right <= m.right + 1 && r.top >= m.top - 1 && r.bottom <= m.bottom + 1;
    return {
      inView,
      overlaps,
      legendOpen,
      box: r,
      map: { left: m.left, right: m.right, top: m.top, bottom: m.bottom, zoom: map.getZoom() },
    };
  }, box);
}

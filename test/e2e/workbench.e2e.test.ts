import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../server/auth.ts';
import { createPool } from '../../server/db/pool.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import { writeOsmXml } from '../../server/import/write-osm-xml.ts';
import { generateSampleCity } from '../../geo/sample-city.ts';
import type { Proximity, ProximityResult, RuleSet } from '../../web/api/types.ts';
import {
  ARTIFACTS,
  getJson as getJsonOf,
  mapIdle,
  openApp,
  renderedCount,
  shot,
  startE2e,
  type E2eEnv,
} from './browser.ts';

// Issue #12, "wrong or misleading today": each item checked in Chromium against the real server
// on central Chengdu. Screenshots of each view at 1280×800 and 820×1180 go to test/artifacts/.

const CENTRE_VIEW = 'map=14.50/30.66200/104.05800';
const WIDE = { width: 1280, height: 800 };
const TABLET = { width: 820, height: 1180 };

let env: E2eEnv;
beforeAll(async () => {
  env = await startE2e();
});
afterAll(async () => {
  await env?.close();
});

const getJson = <T>(url: string) => getJsonOf<T>(env, url);
const tick = (r: ProximityResult) => (r.meets_target === null ? '—' : r.meets_target ? '✓' : '✗');

describe('issue #12: what misled a planner and a reviewer', () => {
  it('1. under GB 50180 the park row is judged by the park rule, as /api/proximity judges it, and its size tiers can be chosen', async () => {
    const rules = await getJson<{ rule_sets: RuleSet[] }>('/api/rules');
    const gb = rules.rule_sets.find((r) => r.id === 'gb50180-2018')!;
    // the rules naming park: the declared park rules and the fitness rule that also counts parks
    const parkRules = gb.rules.filter((r) => r.judges === 'park');
    const fitness = gb.rules.find((r) => r.id === 'min5_fitness')!;
    expect(parkRules.map((r) => r.id)).toEqual(['min5_park_0_4ha', 'min10_park_1ha', 'min15_park_5ha']);
    expect(fitness.tiers[0].categories).toContain('park');

    const t0 = Date.now();
    const { page, errors, close } = await openApp(
      env,
      `${CENTRE_VIEW}&rs=gb50180-2018&cat=park&lvl=community&lang=zh&tab=point`,
    );
    const firstLoadMs = Date.now() - t0;
    try {
      // the header names the rule in force and offers the others naming park
      expect(await page.locator('#rule').inputValue()).toBe('min5_park_0_4ha');
      const offered = await page
        .locator('#rule option')
        .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      expect(offered.sort()).toEqual([...parkRules.map((r) => r.id), fitness.id].sort());
      // the legend's rule is the park rule's label, never the fitness rule's
      expect(await page.locator('.legend-rule strong').innerText()).toBe(parkRules[0].zh);
      expect(await page.locator('.legend').innerText()).not.toContain(fitness.zh);
      expect(await page.locator('#font-warning').count()).toBe(0);

      const box = (await page.locator('#map').boundingBox())!;
      const answer = page.waitForResponse((r) => r.url().includes('/api/proximity'));
      const t1 = Date.now();
      await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.45);
      const url = (await answer).url();
      await page.waitForSelector('#proximity-table tr[data-category=park]');
      const clickToPanelMs = Date.now() - t1;
      const api = await getJson<Proximity>(url);
      const park = api.results.find((r) => r.category === 'park')!;
      expect(park.rule_id).toBe('min5_park_0_4ha');
      const row = page.locator('#proximity-table tr[data-category=park]');
      expect(await row.getAttribute('data-rule')).toBe(park.rule_id);
      expect(await row.locator('[data-field=meets]').innerText()).toBe(tick(park));
      expect(await row.locator('[data-field=rule]').innerText()).toBe(parkRules[0].zh);
      await shot(page, 'h12-rule-park-zh-1280');

      // choosing the 1 hm² rule: streets, areas, legend and the row follow it, and agree with the API
      const again = page.waitForResponse(
        (r) => r.url().includes('/api/proximity') && r.url().includes('rule=min10_park_1ha'),
      );
      await page.selectOption('#rule', 'min10_park_1ha');
      const api1 = await getJson<Proximity>((await again).url());
      const park1 = api1.results.find((r) => r.category === 'park')!;
      expect(park1).toMatchObject({ rule_id: 'min10_park_1ha', max_distance_m: 500 });
      await expect.poll(() => row.getAttribute('data-rule')).toBe('min10_park_1ha');
      expect(await row.locator('[data-field=meets]').innerText()).toBe(tick(park1));
      expect(await page.locator('.legend-rule strong').innerText()).toBe(parkRules[1].zh);
      const fill = await page.evaluate(() =>
        JSON.stringify(window.__map!.getPaintProperty('areas-community-fill', 'fill-color')),
      );
      expect(fill).toContain('min10_park_1ha_share');
      expect(fill).not.toContain('min5_fitness');
      expect(page.url()).toContain('rule=min10_park_1ha');
      await mapIdle(page);
      await shot(page, 'h12-rule-park-1ha-zh-1280');
      console.log(`first load ${firstLoadMs} ms, click to panel ${clickToPanelMs} ms (Chromium, software WebGL)`);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('3. each community is named once in the rendered labels, however the tiles cut it', async () => {
    // z13: the whole extract in view, its zones cut by several z13 tiles; z14.5 and z15.5: closer in.
    const views = [
      ['map=13.00/30.67000/104.07000', 'z13', 4],
      [CENTRE_VIEW, 'z14.5', 1],
      ['map=15.50/30.66200/104.05800', 'z15.5', 1],
    ] as const;
    const pool = createPool(env.db.url, { max: 1 });
    try {
      for (const [hash, name, least] of views) {
        const { page, errors, close } = await openApp(
          env,
          `${hash}&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point`,
        );
        try {
          const { labels, bounds } = await page.evaluate(() => ({
            labels: window
              .__map!.queryRenderedFeatures({ layers: ['areas-community-label'] })
              .map((f) => String(f.properties.id)),
            bounds: window.__map!.getBounds().toArray().flat(),
          }));
          // the named zones whose label point (ST_PointOnSurface, as tile_area_labels places it) is in
          // view, or near enough the edge for part of its text to show (a fifth of the view beyond it)
          const [w, sth, e, n] = bounds;
          const [mx, my] = [(e - w) / 5, (n - sth) / 5];
          const { rows } = await pool.query<{ id: string }>(
            `SELECT id::text FROM communities WHERE name IS NOT NULL AND ST_Intersects(ST_PointOnSurface(geom), ST_MakeEnvelope($1, $2, $3, $4, 4326))`,
            [w - mx, sth - my, e + mx, n + my],
          );
          const inView = new Set(rows.map((r) => r.id));
          expect(inView.size, name).toBeGreaterThanOrEqual(least);
          expect(labels.length, name).toBeGreaterThanOrEqual(least);
          expect(
            labels.filter((id) => !inView.has(id)),
            `${name}: labels of zones whose point is out of view`,
          ).toEqual([]);
          const counts = new Map<string, number>();
          for (const id of labels) counts.set(id, (counts.get(id) ?? 0) + 1);
          expect(
            [...counts].filter(([, n]) => n > 1),
            name,
          ).toEqual([]);
          await shot(page, `h12-labels-${name}-1280`);
          expect(errors).toEqual([]);
        } finally {
          await close();
        }
      }
    } finally {
      await pool.end();
    }
  });

  // One case per language and tab (16 page loads in all): as one case it took 114–120 s on a loaded
  // 2-core machine, at the 120 s test limit, though no page was slow; the checks are the same.
  it.each(
    (['en', 'zh'] as const).flatMap((lang) =>
      (['point', 'audit', 'plans', 'impact'] as const).map((tab) => [lang, tab] as const),
    ),
  )(
    '4. at tablet width the panels follow the map with no gap, and in English the title stays on one line and no selector is cut off (%s, %s)',
    async (lang, tab) => {
      const { page, errors, close } = await openApp(
        env,
        `${CENTRE_VIEW}&rs=gb50180-2018&cat=park&lvl=community&lang=${lang}&tab=${tab}`,
        TABLET,
      );
      try {
        const mapBox = (await page.locator('#map-wrap').boundingBox())!;
        const tabsBox = (await page.locator('#sidebar').boundingBox())!;
        expect(Math.abs(tabsBox.y - (mapBox.y + mapBox.height)), `${lang} ${tab}`).toBeLessThanOrEqual(1);
        const h1 = (await page.locator('#header h1').boundingBox())!;
        const lineHeight = await page
          .locator('#header h1')
          .evaluate((el) => parseFloat(getComputedStyle(el).fontSize) * 1.6);
        expect(h1.height, `${lang} title on one line`).toBeLessThan(lineHeight);
        for (const sel of await page.locator('#header select').all()) {
          const b = (await sel.boundingBox())!;
          expect(b.x, `${lang} ${await sel.getAttribute('id')}`).toBeGreaterThanOrEqual(0);
          expect(b.x + b.width, `${lang} ${await sel.getAttribute('id')}`).toBeLessThanOrEqual(TABLET.width);
        }
        await shot(page, `h12-${tab}-${lang}-820`);
        const wide = await page.context().browser()!.newContext({ viewport: WIDE });
        const p2 = await wide.newPage();
        await p2.goto(page.url());
        await p2.waitForFunction(() => window.__appReady === true, null, { timeout: 30_000 });
        await mapIdle(p2);
        await p2.screenshot({ path: path.join(ARTIFACTS, `h12-${tab}-${lang}-1280.png`) });
        await wide.close();
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    },
  );

  it('5. a wrong token is refused when entered, in the UI language only; a planner token opens drawing', async () => {
    const pool = createPool(env.db.url, { max: 1 });
    const { token } = await createToken(pool, 'h12 e2e planner', 'planner');
    const viewer = await createToken(pool, 'h12 e2e viewer', 'viewer');
    await pool.end();
    const { page, close } = await openApp(
      env,
      `${CENTRE_VIEW}&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=plans`,
    );
    try {
      await page.fill('#plan-token', 'lc_not_a_token');
      const checked = page.waitForResponse((r) => r.url().includes('/api/token'));
      await page.click('#token-save');
      expect((await checked).status()).toBe(401);
      const err = await page.locator('#token-error').innerText();
      expect(err).toBe('令牌缺失、无效或已吊销');
      expect(err).not.toMatch(/[a-z]{3,}/i);
      expect(await page.locator('#draw-polygon').count()).toBe(0);
      expect(await page.evaluate(() => sessionStorage.getItem('life-circle.token'))).toBeNull();
      await shot(page, 'h12-token-refused-zh-1280');

      await page.fill('#plan-token', viewer.token);
      await page.click('#token-save');
      await expect.poll(() => page.locator('#token-error').innerText()).toContain('此令牌无权执行该操作');
      expect(await page.locator('#draw-polygon').count()).toBe(0);

      await page.fill('#plan-token', token);
      await page.click('#token-save');
      await page.waitForSelector('#draw-polygon');
      expect(await page.locator('#token-error').count()).toBe(0);
    } finally {
      await close();
    }
  });

  // The OSM extracts of Chengdu map almost no walls or gated compounds (central: one city wall), so
  // this check runs on a generated town that has them, served by its own server.
  it('6. walls, gated compounds and their gates are drawn, as many as the tiles hold', async () => {
    const town = generateSampleCity({ seed: 12, targetNodes: 6000 });
    const file = path.join(os.tmpdir(), `h12-town-${process.pid}.osm`);
    await writeOsmXml(town, file);
    const townEnv = await startE2e({
      load: async (db) => {
        const pool = createPool(db.url, { max: 2 });
        try {
          await importOsm(pool, file);
          await computeCoverage(pool);
        } finally {
          await pool.end();
        }
      },
    });
    fs.rmSync(file, { force: true });
    try {
      const pool = createPool(townEnv.db.url, { max: 1 });
      const { rows } = await pool.query<{ walls: number; gated: number; gates: number; lng: number; lat: number }>(
        `SELECT (SELECT count(*) FROM barriers)::int AS walls, (SELECT count(*) FROM residential_areas WHERE is_gated)::int AS gated,
                (SELECT count(*) FROM compound_gates)::int AS gates,
                ST_X(ST_PointOnSurface(g.geom)) AS lng, ST_Y(ST_PointOnSurface(g.geom)) AS lat
         FROM residential_areas g WHERE g.is_gated ORDER BY g.id LIMIT 1`,
      );
      await pool.end();
      expect(rows[0].walls, 'walls in the town').toBeGreaterThan(0);
      expect(rows[0].gated, 'gated compounds in the town').toBeGreaterThan(0);
      expect(rows[0].gates, 'gates in the town').toBeGreaterThan(0);
      const { page, errors, close } = await openApp(
        townEnv,
        `map=16.00/${rows[0].lat.toFixed(5)}/${rows[0].lng.toFixed(5)}&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=plans`,
      );
      try {
        expect(await renderedCount(page, ['barriers-walls'])).toBeGreaterThan(0);
        expect(await renderedCount(page, ['barriers-compounds'])).toBeGreaterThan(0);
        expect(await renderedCount(page, ['barriers-gates'])).toBeGreaterThan(0);
        expect(await page.locator('#legend-barriers li').count()).toBe(3);
        await shot(page, 'h12-barriers-zh-1280');
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    } finally {
      await townEnv.close();
    }
  });

  it('9. when the shipped Chinese font cannot load, the page says so', async () => {
    const context = await env.browser.newContext({ viewport: WIDE });
    try {
      await context.route('**/*.woff2', (route) => route.abort());
      const page = await context.newPage();
      await page.goto(`${env.base}/#${CENTRE_VIEW}&rs=chengdu-park-city&cat=park&lvl=community&lang=zh&tab=point`);
      await page.waitForSelector('#font-warning', { timeout: 30_000 });
      expect(await page.locator('#font-warning').innerText()).toContain('Chinese font failed to load');
      await page.screenshot({ path: path.join(ARTIFACTS, 'h12-font-blocked-zh-1280.png') });
    } finally {
      await context.close();
    }
  });
});

describe('issue #12 item 2: a tried suggestion', () => {
  it("after 试评估 on a 500 m park suggestion, the rules table, per-plan gains and 受益社区 all show the park rule, not the map's green rule", async () => {
    // the map shows 300米见绿 (green_300); the suggestion is for 500米见园 (park_500)
    const { page, errors, close } = await openApp(
      env,
      'map=15.00/30.66200/104.05800&rs=chengdu-park-city&cat=green_space&lvl=community&lang=zh&tab=impact',
    );
    try {
      await page.waitForSelector('#suggest-run');
      await page.selectOption('#suggest-rule', 'park_500');
      await page.selectOption('#suggest-k', '1');
      await page.selectOption('#suggest-candidates', 'grid');
      await page.click('#suggest-run');
      await page.waitForSelector('#suggest-picks li');
      await page.locator('#suggest-picks li').first().locator('.suggest-try').click();
      await page.waitForFunction(
        () => document.querySelector('#scenario-timing') !== null && !document.querySelector('#scenario-result.stale'),
      );
      expect(await page.locator('#scenario-rule').inputValue()).toBe('park_500');
      expect(await page.locator('#scenario-rules tr.selected').getAttribute('data-rule')).toBe('park_500');
      const blocks = await page
        .locator('#scenario-marginal[data-rule], .scenario-communities[data-rule]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-rule')));
      expect(blocks.length).toBeGreaterThan(0);
      expect(new Set(blocks)).toEqual(new Set(['park_500']));
      await shot(page, 'h12-suggest-tried-zh-1280');
      expect(errors.filter((e) => !/status of 503/.test(e))).toEqual([]);
    } finally {
      await close();
    }
  });
});

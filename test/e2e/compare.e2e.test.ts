import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pointOnFeature } from '@turf/turf';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompareGeoJson, DatasetCompareResponse } from '../../api/datasets.ts';
import { projectRoot } from '../../server/config.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { createPool } from '../../server/db/pool.ts';
import { importFacilities } from '../../server/import/import-facilities.ts';
import { CHANGE_CLASSES, NO_CHANGE_BELOW, NO_CHANGE_COLOR } from '../../web/palette.ts';
import { getJson, mapIdle, openApp, shot, startE2e, type E2eEnv } from './browser.ts';

/**
 * Issue 15 item 6: the map shows /api/compare. Central Chengdu with half the sample elderly-care
 * register (as test/many-datasets.db.test.ts imports it) and then with all of it: the
 * compare tab colours each community by the change of its share, the legend names the classes and
 * the unit, an area that gained is drawn in another colour than one that did not (read from the
 * rendered features' evaluated paint), and a click on an area shows /api/compare's row for it.
 */
const CENTRAL = 'chengdu-central-2018';
const RULE_SET = 'chengdu-park-city';
const RULE = 'elderly_care_500';

let env: E2eEnv;
let before: number;
let after: number;
beforeAll(async () => {
  env = await startE2e();
  const pool = createPool(env.db.url, { max: 2 });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-compare-'));
  try {
    const lines = fs
      .readFileSync(path.join(projectRoot, 'server/sample-data/chengdu-sample-elderly-care.csv'), 'utf8')
      .trim()
      .split('\n');
    // Before the first register the rule has no data (its shares are null, not 0): the comparison
    // is between half the register and all of it, so both runs have shares.
    const register = { category: 'elderly_care', crs: 'gcj02', isSample: true, allowOutsideNetwork: true } as const;
    const half = path.join(tmp, 'elderly-care-half.csv');
    fs.writeFileSync(half, [lines[0], ...lines.slice(1).filter((_, i) => i % 2 === 0)].join('\n') + '\n');
    await importFacilities(pool, half, register);
    await computeCoverage(pool, { dataset: CENTRAL });
    before = (await pool.query(`SELECT run_id FROM dataset_run($1)`, [CENTRAL])).rows[0].run_id;
    const all = path.join(tmp, 'elderly-care.csv');
    fs.writeFileSync(all, lines.join('\n') + '\n');
    await importFacilities(pool, all, register);
    await computeCoverage(pool, { dataset: CENTRAL });
    after = (await pool.query(`SELECT run_id FROM dataset_run($1)`, [CENTRAL])).rows[0].run_id;
  } finally {
    await pool.end();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 600_000);
afterAll(async () => {
  await env?.close();
});

/** The compare fill rendered at an area's inner point: its area key and evaluated fill colour (0–1 rgba). */
async function renderedAt(page: Page, lngLat: [number, number], key: string) {
  await page.evaluate((c) => window.__map!.jumpTo({ center: c as [number, number], zoom: 15 }), lngLat);
  await mapIdle(page);
  return page.evaluate(
    ({ c, key }) => {
      const map = window.__map!;
      const features = map.queryRenderedFeatures(map.project(c as [number, number]), { layers: ['compare-fill'] });
      const f = features.find((x) => String(x.properties.area_key) === key);
      if (!f) return null;
      const colour = (f.layer as unknown as { paint: Record<string, { r: number; g: number; b: number; a: number }> })
        .paint['fill-color'];
      return {
        keys: features.map((x) => String(x.properties.area_key)),
        rgba: [colour.r, colour.g, colour.b, colour.a],
      };
    },
    { c: lngLat, key },
  );
}

const hexRgba = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).concat(1);

describe('the compare view', () => {
  it('colours communities by the change between two runs, with a legend, and a click shows the API row', async () => {
    expect(after).not.toBe(before);
    const query = `from=${before}&to=${CENTRAL}&rule_set=${RULE_SET}&level=community`;
    const json = await getJson<DatasetCompareResponse>(env, `/api/compare?${query}`);
    const geo = await getJson<CompareGeoJson>(env, `/api/compare?${query}&format=geojson`);
    expect([json.from.run_id, json.to.run_id]).toEqual([before, after]);
    // the GeoJSON carries the same rows, area by area
    const rows = json.rows.filter((r) => r.rule_id === RULE);
    expect(geo.features.map((f) => f.properties.rules[RULE]).filter(Boolean)).toEqual(
      geo.features.map((f) => rows.find((r) => r.area_key === f.properties.area_key)).filter(Boolean),
    );
    const withGeometry = (pred: (r: (typeof rows)[number]) => boolean) =>
      geo.features.filter((f) => f.geometry && f.properties.side === 'both' && pred(f.properties.rules[RULE]));
    const gained = withGeometry(
      (r) => r.share_change !== null && r.share_change >= NO_CHANGE_BELOW && r.covered_change! > 0,
    );
    const unchanged = withGeometry((r) => r.share_change === 0 && r.covered_change === 0);
    expect(gained.length, 'communities that gained').toBeGreaterThan(0);
    expect(unchanged.length, 'communities that did not change').toBeGreaterThan(0);

    const { page, errors, close } = await openApp(
      env,
      `map=13.00/30.69000/104.08000&rs=${RULE_SET}&cat=elderly_care&lvl=community&lang=en&tab=compare&crule=${RULE}`,
    );
    try {
      // a planner picks before and after: the comparison goes into the link
      await page.fill('#compare-from', String(before));
      await page.fill('#compare-to', CENTRAL);
      await page.click('#compare-go');
      await page.waitForSelector('#compare-summary', { timeout: 60_000 });
      const hash = new URLSearchParams((await page.evaluate(() => window.location.hash)).slice(1));
      expect([hash.get('tab'), hash.get('cfrom'), hash.get('cto'), hash.get('crule')]).toEqual([
        'compare',
        String(before),
        CENTRAL,
        RULE,
      ]);
      expect(await page.locator('#compare-summary').textContent()).toContain(`run ${after}`);
      const counts = await page.locator('#compare-counts').getAttribute('data-gain');
      expect(Number(counts)).toBeGreaterThanOrEqual(gained.length);

      // the legend: title, unit, the diverging classes with no change between, one-sided areas
      await expect.poll(() => page.locator('#legend-compare').count()).toBe(1);
      expect(await page.locator('#legend-compare').textContent()).toContain('Change in share covered');
      expect(await page.locator('#legend-compare-unit').textContent()).toContain('percentage points of residents');
      const classes = await page
        .locator('#legend-compare-classes li')
        .evaluateAll((li) => li.map((x) => (x as HTMLElement).dataset.class));
      expect(classes).toEqual(['0', '1', '2', 'none', '3', '4', '5']);
      expect(await page.locator('#legend [data-class="one-side"]').textContent()).toContain('only before');
      // estimated residents are labelled as elsewhere (where either run counts any); neither dataset is sample data
      const estimated = geo.features.some(
        (f) => f.properties.population_estimated_before || f.properties.population_estimated_after,
      );
      expect(await page.locator('#legend-compare-estimated').count()).toBe(estimated ? 1 : 0);
      expect(await page.locator('#legend-compare-sample').count()).toBe(0);
      // the ordinary coverage fill is hidden while the comparison is shown
      expect(await page.evaluate(() => window.__map!.getLayoutProperty('areas-community-fill', 'visibility'))).toBe(
        'none',
      );

      // an area that gained and one that did not, as drawn
      const pick = async (features: typeof gained) => {
        for (const f of features.slice(0, 8)) {
          const [lng, lat] = pointOnFeature(f as GeoJSON.Feature).geometry.coordinates;
          const r = await renderedAt(page, [lng, lat], f.properties.area_key);
          if (r && r.keys.length === 1) return { feature: f, lngLat: [lng, lat] as [number, number], rgba: r.rgba };
        }
        return null;
      };
      const g = await pick(gained);
      const u = await pick(unchanged);
      expect(g, 'a gained community drawn alone at its inner point').not.toBeNull();
      expect(u, 'an unchanged community drawn alone at its inner point').not.toBeNull();
      expect(g!.rgba).not.toEqual(u!.rgba);
      const change = g!.feature.properties.rules[RULE].share_change!;
      const expected = CHANGE_CLASSES.find((c) => change < c.below)!.color;
      g!.rgba.forEach((v, i) => expect(v).toBeCloseTo(hexRgba(expected)[i], 2));
      u!.rgba.forEach((v, i) => expect(v).toBeCloseTo(hexRgba(NO_CHANGE_COLOR)[i], 2));

      // a click on the gained area: its figures before and after, equal to /api/compare's row
      await page.evaluate((c) => window.__map!.jumpTo({ center: c, zoom: 15 }), g!.lngLat);
      await mapIdle(page);
      const box = (await page.locator('#map').boundingBox())!;
      const px = await page.evaluate((c) => window.__map!.project(c), g!.lngLat);
      await page.mouse.click(box.x + px.x, box.y + px.y);
      await page.waitForSelector('#compare-popup', { timeout: 10_000 });
      await shot(page, 'compare-view');
      const popup = page.locator('#compare-popup');
      expect(await popup.getAttribute('data-area-key')).toBe(g!.feature.properties.area_key);
      expect(await popup.getAttribute('data-rule')).toBe(RULE);
      const row = rows.find((r) => r.area_key === g!.feature.properties.area_key)!;
      const shown = await popup
        .locator('[data-field]')
        .evaluateAll((cells) =>
          Object.fromEntries(cells.map((c) => [(c as HTMLElement).dataset.field, (c as HTMLElement).dataset.value])),
        );
      const fields = [
        'share_before',
        'share_after',
        'share_change',
        'covered_before',
        'covered_after',
        'covered_change',
        'population_before',
        'population_after',
      ] as const;
      expect(Object.keys(shown).sort()).toEqual([...fields].sort());
      for (const field of fields) expect(shown[field], field).toBe(String(row[field]));
      expect(await popup.textContent()).toContain('gained');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});

import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { squareAround } from '../../geo/candidate-sites.ts';
import { createToken } from '../../server/auth.ts';
import { projectRoot } from '../../server/config.ts';
import { createPool } from '../../server/db/pool.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { importCommunities } from '../../server/import/import-communities.ts';
import type { Coverage, Plan, Proximity } from '../../web/api/types.ts';
import { getJson as getJsonOf, mapIdle, openApp, renderedCount, shot, startE2e, type E2eEnv } from './browser.ts';

/**
 * Issue 12, items 7 and 8: a shared link restores the clicked point (and its proximity answer),
 * the isochrone, the audit's 区/街道 filter and selected row, and the scenario selection; the
 * filter scopes the summary strip, the map and the exports. Community boundaries that name
 * districts and streets come from the bow-tie register fixture, imported over central Chengdu.
 */
const CENTRE_VIEW = 'map=14.50/30.66200/104.05800';
const RULE_SET = 'chengdu-park-city';
/**
 * The audit level of the test: residential areas, whose 区 comes from the imported communities
 * (else an imported district boundary), so residents live both inside and outside the filter and
 * a summary over the filtered areas differs from one over all.
 */
const LEVEL = 'residential_area';

let env: E2eEnv;
beforeAll(async () => {
  env = await startE2e();
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
  const deadline = Date.now() + 60_000;
  while (
    !(await getJson<Coverage>(`/api/coverage?rule_set=${RULE_SET}&level=community`)).areas.every(
      (a) => !a.is_approximate,
    )
  ) {
    if (Date.now() > deadline)
      throw new Error('the server did not pick up the run over the imported communities within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});

afterAll(async () => {
  await env?.close();
});

const getJson = <T>(url: string) => getJsonOf<T>(env, url);
const share = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)}%`);

/** What a reader sees of the point tab: coordinates, snap, isochrone buttons and the proximity table. */
async function pointPanelText(page: Page): Promise<string> {
  await page.click('#tab-point');
  await page.waitForSelector('#proximity-table');
  return page.locator('#panel-point').innerText();
}

/** The hash the app keeps, as a parameter map. */
const hashParams = (page: Page) =>
  page.evaluate(() => Object.fromEntries(new URLSearchParams(window.location.hash.slice(1))));

describe('shared links and the audit filter, in Chromium against the real server', () => {
  it('a shared URL with a clicked point and filters restores both; the filtered summary and exports hold that district only', async () => {
    const coverage = await getJson<Coverage>(`/api/coverage?rule_set=${RULE_SET}&level=${LEVEL}`);
    // the district with the most areas that have residents, so the summary has figures
    const counts = new Map<string, number>();
    for (const a of coverage.areas)
      if (a.district && a.population > 0) counts.set(a.district, (counts.get(a.district) ?? 0) + 1);
    const district = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
    expect(district, 'a district named by the imported communities').toBeTruthy();
    // the table lists every named zone: those with evaluated residents (coverage) and those with none (audit, no_residents)
    const audit = await getJson<{ areas: { area_key: string; district: string | null; caveats: string[] }[] }>(
      `/api/audit?rule_set=${RULE_SET}&level=${LEVEL}`,
    );
    const allListed = [...coverage.areas, ...audit.areas.filter((a) => a.caveats.includes('no_residents'))];
    const want = allListed.filter((a) => a.district === district).map((a) => a.area_key);
    expect(want.length, 'the filter leaves some zones out, so it can show').toBeLessThan(allListed.length);
    const population = (areas: readonly { district: string | null; population: number }[]) =>
      areas.reduce((sum, a) => sum + a.population, 0);
    const inDistrict = population(coverage.areas.filter((a) => a.district === district));
    expect(inDistrict, 'residents inside the filter').toBeGreaterThan(0);
    expect(inDistrict, 'and outside it, so a filtered summary differs from one over all').toBeLessThan(
      population(coverage.areas),
    );

    const first = await openApp(env, `${CENTRE_VIEW}&rs=${RULE_SET}&cat=park&lvl=${LEVEL}&lang=zh&tab=point`);
    let hash: string;
    let pointText: string;
    let bandsText: string;
    let stripText: string;
    let selectedKey: string;
    try {
      const { page } = first;
      // click a point and show its 500 m isochrone
      const box = (await page.locator('#map').boundingBox())!;
      const answer = page.waitForResponse((r) => r.url().includes('/api/proximity'));
      await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.45);
      await answer;
      await page.waitForSelector('#proximity-table');
      const iso = page.waitForResponse((r) => r.url().includes('/api/isochrone?'));
      await page.click('[data-isochrone="500"]');
      await iso;
      await expect.poll(() => page.locator('#panel-point').innerText()).toContain('可达街道长度');
      pointText = await page.locator('#panel-point').innerText();
      // and the 300 / 500 / 1000 m life-circle bands from it
      await page.click('#bands-button');
      await page.waitForSelector('#bands-card tr[data-limit="1000"] [data-field=residents]');
      bandsText = await page.locator('#bands-card').innerText();

      // the audit: filter by the district, select a row
      await page.click('#tab-audit');
      await page.waitForSelector('#audit-table tbody tr[data-area-key]');
      const cityStrip = await page.locator('#summary-strip').innerText();
      await page.selectOption('#audit-district', district!);
      await expect.poll(() => page.locator('#summary-strip').getAttribute('data-scope')).toBe(district);
      stripText = await page.locator('#summary-strip').innerText();
      expect(stripText).not.toBe(cityStrip);
      const row = page.locator('#audit-table tbody tr[data-area-key]').first();
      selectedKey = (await row.getAttribute('data-area-key'))!;
      await row.click();
      await expect
        .poll(() => page.locator('#audit-table tbody tr.selected').getAttribute('data-area-key'))
        .toBe(selectedKey);
      await mapIdle(page);
      hash = await page.evaluate(() => window.location.hash);
      const params = await hashParams(page);
      expect(params).toMatchObject({ district, row: selectedKey, iso: '500', bands: '1', tab: 'audit' });
      expect(params.pt).toMatch(/^-?\d+\.\d{6}\/-?\d+\.\d{6}$/);
      await shot(page, 'share-filters-first-zh');
      expect(first.errors).toEqual([]);
    } finally {
      await first.close();
    }

    // the link, opened in a new page
    const { page, errors, close } = await openApp(env, hash.slice(1));
    try {
      await page.waitForSelector('#audit-table tbody tr.selected');
      expect(await page.locator('#audit-district').inputValue()).toBe(district);
      expect(await page.locator('#audit-table tbody tr.selected').getAttribute('data-area-key')).toBe(selectedKey);
      await expect.poll(() => page.locator('#summary-strip').innerText()).toBe(stripText);
      // the rows listed are exactly the district's
      const listed = await page
        .locator('#audit-table tbody tr[data-area-key]')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-area-key')!));
      expect([...listed].sort()).toEqual([...want].sort());

      // the summary is population-weighted over the district's rows of /api/coverage alone
      const scoped = await getJson<Coverage>(
        `/api/coverage?rule_set=${RULE_SET}&level=${LEVEL}&district=${encodeURIComponent(district!)}`,
      );
      expect(scoped.areas.map((a) => a.area_key).sort()).toEqual(
        coverage.areas
          .filter((a) => a.district === district)
          .map((a) => a.area_key)
          .sort(),
      );
      let checked = 0;
      for (const rule of Object.keys(scoped.areas[0].rules)) {
        let pop = 0,
          covered = 0,
          straight = 0;
        for (const a of scoped.areas) {
          const r = a.rules[rule];
          if (!r || r.no_data) continue;
          pop += r.population;
          covered += r.covered_population;
          straight += r.straight_covered_population;
        }
        const chip = page.locator(`#summary-strip .chip[data-rule="${rule}"]`);
        if ((await chip.getAttribute('data-outcome')) === 'no_data' || pop <= 0) continue;
        expect(await chip.locator('[data-field=network]').innerText(), rule).toBe(share(covered / pop));
        expect(await chip.locator('[data-field=straight]').innerText(), rule).toBe(share(straight / pop));
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
      expect(await page.locator('#summary-scope').innerText()).toContain(district);

      // the map sets off the district's communities: the others are dimmed
      const opacity = JSON.stringify(
        await page.evaluate(() => window.__map!.getPaintProperty('areas-residential_area-fill', 'fill-opacity')),
      );
      const keys = JSON.parse(opacity.match(/\["literal",(\[[^\]]*\])\]/)![1]) as string[];
      expect([...keys].sort()).toEqual([...listed].sort());
      expect(await renderedCount(page, ['highlight-line'])).toBeGreaterThan(0);

      // the isochrone is drawn again (the row zoom may have moved it out of view: its source data is checked)
      await expect
        .poll(() =>
          page.evaluate(async () => {
            const data = await window.__map!.getSource<import('maplibre-gl').GeoJSONSource>('isochrone')!.getData();
            return 'features' in data ? data.features.length : 0;
          }),
        )
        .toBeGreaterThan(0);

      // the bands card, with the same residents per band
      await page.waitForSelector('#bands-card tr[data-limit="1000"] [data-field=residents]');
      expect(await page.locator('#bands-card').innerText()).toBe(bandsText);

      // a filtered export: only the district's rows, and it says the filter
      for (const id of ['#export-coverage-csv', '#export-audit-csv']) {
        const href = (await page.locator(id).getAttribute('href'))!;
        expect(new URL(href).searchParams.get('district'), id).toBe(district);
        const res = await fetch(href);
        expect(res.status).toBe(200);
        const records = parseCsv(await res.text(), { columns: true, bom: true, skip_empty_lines: true }) as Record<
          string,
          string
        >[];
        const withArea = records.filter((r) => r.area_key);
        expect(withArea.length, id).toBeGreaterThan(0);
        expect(new Set(withArea.map((r) => r.district)), id).toEqual(new Set([district]));
        expect(new Set(withArea.map((r) => r.area_key)), id).toEqual(
          new Set(id.includes('coverage') ? scoped.areas.map((a) => a.area_key) : want),
        );
        for (const r of records) expect(new URLSearchParams(r.filters).get('district'), id).toBe(district);
      }
      const geo = (await (
        await fetch((await page.locator('#export-coverage-geojson').getAttribute('href'))!)
      ).json()) as {
        properties: { filters?: { district?: string }; provenance: { filters: string } };
        features: { properties: { district: string } }[];
      };
      expect(geo.properties.filters).toEqual({ district });
      expect(new URLSearchParams(geo.properties.provenance.filters).get('district')).toBe(district);
      expect(new Set(geo.features.map((f) => f.properties.district))).toEqual(new Set([district]));
      await shot(page, 'share-filters-restored-zh');

      // the same proximity answer for the same point, as the API gives it
      const restoredPoint = await pointPanelText(page);
      expect(restoredPoint).toBe(pointText);
      const [lng, lat] = new URLSearchParams(hash.slice(1)).get('pt')!.split('/');
      const api = await getJson<Proximity>(`/api/proximity?lng=${lng}&lat=${lat}&rule_set=${RULE_SET}`);
      for (const r of api.results) {
        const net = await page
          .locator(`#proximity-table tr[data-category="${r.category}"] [data-field=network]`)
          .innerText();
        if (r.outcome === 'distance') expect(net, r.category).toBe(`${Math.round(r.network_distance_m!)} m`);
      }
      expect(await page.locator('[data-isochrone="500"]').getAttribute('aria-pressed')).toBe('true');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('a shared URL restores the scenario selection (stored plans ticked, rule chosen), and old links still open', async () => {
    const pool = createPool(env.db.url, { max: 1 });
    const { token } = await createToken(pool, 'e2e-share', 'planner');
    await pool.end();
    const create = async (plan: Record<string, unknown>) => {
      const res = await fetch(new URL('/api/plans', env.base), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(plan),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as Plan;
    };
    const a = await create({
      kind: 'add_open_space',
      name: 'Shared link park',
      status: 'proposed',
      geometry: squareAround(104.0859, 30.6585, 10_000),
    });
    const b = await create({
      kind: 'add_open_space',
      name: 'Not in the link',
      status: 'proposed',
      geometry: squareAround(104.0795, 30.6605, 6_000),
    });

    const first = await openApp(
      env,
      `map=15.00/30.65850/104.08590&rs=${RULE_SET}&cat=park&lvl=community&lang=en&tab=scenario`,
    );
    let hash: string;
    try {
      const { page } = first;
      await page.waitForSelector('#scenario-plan-list');
      await page.click(`#scenario-plan-list input[data-plan-id="${a.id}"]`);
      await page.waitForSelector('#scenario-rule');
      await page.waitForFunction(
        () => document.querySelector('#scenario-timing') !== null && !document.querySelector('#scenario-result.stale'),
      );
      await page.selectOption('#scenario-rule', 'green_300');
      expect(await hashParams(page)).toMatchObject({ plans: String(a.id), srule: 'green_300', tab: 'scenario' });
      hash = await page.evaluate(() => window.location.hash);
      expect(first.errors).toEqual([]);
    } finally {
      await first.close();
    }

    const { page, errors, close } = await openApp(env, hash.slice(1));
    try {
      await page.waitForSelector('#scenario-rule');
      expect(await page.locator(`#scenario-plan-list input[data-plan-id="${a.id}"]`).isChecked()).toBe(true);
      expect(await page.locator(`#scenario-plan-list input[data-plan-id="${b.id}"]`).isChecked()).toBe(false);
      expect(await page.locator('#scenario-rule').inputValue()).toBe('green_300');
      await page.waitForFunction(
        () => document.querySelector('#scenario-timing') !== null && !document.querySelector('#scenario-result.stale'),
      );
      expect(await page.locator('#scenario-rules tr.selected').getAttribute('data-rule')).toBe('green_300');
      await shot(page, 'share-scenario-en');
      expect(errors).toEqual([]);
    } finally {
      await close();
    }

    // an old link: the scenario tab under its former name, no new parts; broken new parts are ignored
    const old = await openApp(
      env,
      `map=15.00/30.65850/104.08590&rs=${RULE_SET}&cat=park&lvl=community&lang=en&tab=impact&pt=abc/1&iso=123&plans=x`,
    );
    try {
      expect(await old.page.locator('#tab-scenario').getAttribute('aria-selected')).toBe('true');
      await old.page.waitForSelector('#scenario-plan-list');
      expect(await old.page.locator('#scenario-plan-list input:checked').count()).toBe(0);
      const params = await hashParams(old.page);
      expect(params.tab).toBe('scenario');
      expect(params.pt).toBeUndefined();
      expect(params.iso).toBeUndefined();
      expect(old.errors).toEqual([]);
    } finally {
      await old.close();
    }
  });
});

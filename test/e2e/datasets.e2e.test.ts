import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../server/db/pool.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import { SHARED_DATA } from '../global-setup.ts';
import { openApp, startE2e, type E2eEnv } from './browser.ts';

/**
 * Issue 15 item 6: with two datasets served, the header offers a dataset switcher; choosing one
 * puts ds= in the URL and every data request and tile the page makes names it (dataset=).
 * Central Chengdu (the template) beside the 双桥子 cut imported under its own name.
 */
const CENTRAL = 'chengdu-central-2018';
const CUT = 'shuangqiaozi-2018';

let env: E2eEnv;
beforeAll(async () => {
  env = await startE2e();
  const pool = createPool(env.db.url, { max: 2 });
  try {
    await importOsm(pool, path.join(SHARED_DATA, 'chenghua-shuangqiaozi-2018.osm'), { name: CUT });
    await computeCoverage(pool, { dataset: CUT });
  } finally {
    await pool.end();
  }
}, 600_000);
afterAll(async () => {
  await env?.close();
});

describe('the dataset switcher', () => {
  it('lists both datasets; choosing one reloads the map on it with ds= and dataset= on every data request', async () => {
    // a view inside both datasets (the cut lies within central Chengdu)
    const { page, errors, close } = await openApp(
      env,
      'map=14.50/30.66800/104.10000&rs=chengdu-park-city&lvl=community&lang=en&tab=point',
    );
    try {
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const options = await page
        .locator('#dataset option')
        .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      expect(options.sort()).toEqual([CENTRAL, CUT].sort());
      const datasets = (await (await fetch(new URL('/api/datasets', env.base))).json()).datasets as {
        name: string;
        is_default: boolean;
      }[];
      const def = datasets.find((d) => d.is_default)!.name;
      expect(await page.locator('#dataset').inputValue()).toBe(def);
      const other = def === CENTRAL ? CUT : CENTRAL;

      await page.selectOption('#dataset', other);
      // the page reloads fitted to the other dataset's data: wired again, and asking for tiles
      await page.waitForFunction(
        (ds) => window.location.hash.includes(`ds=${ds}`) && window.__appReady === true,
        other,
        { timeout: 60_000 },
      );
      await expect
        .poll(() => requests.filter((u) => u.includes('/tiles/')).length, { timeout: 60_000 })
        .toBeGreaterThan(0);
      expect(await page.locator('#dataset').inputValue()).toBe(other);
      const after = requests.filter((u) => /\/(api|tiles)\//.test(u) && !/\/api\/(datasets|rules)\b/.test(u));
      for (const u of after) expect(new URL(u).searchParams.get('dataset'), u).toBe(other);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../server/auth.ts';
import { createPool } from '../../server/db/pool.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { openApp, startE2e, type E2eEnv } from './browser.ts';

/** A planner's rule set, stored through the API, in the map's rule selector (issue 11). */
const MINE = {
  id: 'e2e-district',
  version: '1',
  zh: '测试区 自定标准',
  en: 'Test district standard',
  citation: 'test',
  rules: [
    {
      id: 'park_land',
      zh: '公园 (用地)',
      en: 'Park (land area)',
      measure: 'residential_land_area',
      tiers: [{ categories: ['park'], maxDistanceM: 500, citation: 'test' }],
      targetShare: 0.8,
      citation: 'test',
    },
  ],
};

let env: E2eEnv;
beforeAll(async () => {
  env = await startE2e();
  const pool = createPool(env.db.url, { max: 1 });
  try {
    const { token } = await createToken(pool, 'e2e-admin', 'admin');
    const r = await env.app.inject({
      method: 'POST',
      url: '/api/rule-sets?compute=false',
      payload: MINE,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.statusCode).toBe(201);
    await computeCoverage(pool);
  } finally {
    await pool.end();
  }
}, 600_000);
afterAll(async () => {
  await env?.close();
});

describe('a stored rule set in the web app', () => {
  it('is offered by the rule selector and selected from the URL', async () => {
    const { page, errors, close } = await openApp(
      env,
      'map=14.50/30.66200/104.05800&rs=e2e-district&lvl=community&lang=zh&tab=audit',
    );
    try {
      await expect.poll(() => page.locator('#rule-set option[value="e2e-district"]').count()).toBe(1);
      expect(await page.locator('#rule-set option[value="e2e-district"]').innerText()).toContain('测试区 自定标准');
      expect(await page.locator('#rule-set').inputValue()).toBe('e2e-district');
      // the shipped files are offered too
      for (const id of ['chengjian-park-greenway', 'tdt1062-2021'])
        expect(await page.locator(`#rule-set option[value="${id}"]`).count()).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});

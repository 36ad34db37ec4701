import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { commandRuns, ensureDebianPackages } from '../../server/ensure-debian-packages.ts';
import { CHENGDU_PARK_CITY } from '../../geo/rules/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { ARTIFACTS } from './browser.ts';

let db: TestDatabase;
let app: FastifyInstance;
let base: string;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-report-'));

beforeAll(async () => {
  ensureDebianPackages(
    [{ name: 'poppler-utils', isInstalled: () => commandRuns('pdftotext', ['-v']) }],
    'the report test (pdftotext, pdfimages)',
  );
  db = await createTestDatabase('central');
  app = await buildApp({ databaseUrl: db.url, webDist: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
}, 300_000);
afterAll(async () => {
  await app?.close();
  await db?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function pdfText(
  url: string,
  name: string,
): Promise<{ text: string; images: number; ms: number; disposition: string | null }> {
  const t0 = performance.now();
  const res = await fetch(base + url);
  const bytes = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t0;
  expect(res.status, bytes.subarray(0, 300).toString()).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/pdf');
  expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
  const file = path.join(tmp, `${name}.pdf`);
  fs.writeFileSync(file, bytes);
  fs.copyFileSync(file, path.join(ARTIFACTS, `${name}.pdf`));
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  const images = execFileSync('pdfimages', ['-list', file], { encoding: 'utf8' }).trim().split('\n').slice(2).length;
  return { text, images, ms, disposition: res.headers.get('content-disposition') };
}

describe('printable report of central Chengdu', () => {
  it('a failing community: PDF with the map image, the rules table as stored, the drill-down sentence, citations, sources and run id', async () => {
    const audit = (await (await fetch(`${base}/api/audit?rule_set=chengdu-park-city&level=community`)).json()) as {
      run_id: number;
      areas: { area_key: string; area_name: string; failed_rules: { rule_id: string }[] }[];
    };
    const area = audit.areas.find((a) => a.failed_rules.length > 0)!;
    const cov = (await (await fetch(`${base}/api/coverage?rule_set=chengdu-park-city&level=community`)).json()) as {
      areas: {
        area_key: string;
        rules: Record<string, { share: number; target_share: number; passes: boolean; no_data: boolean }>;
      }[];
    };
    const rules = cov.areas.find((a) => a.area_key === area.area_key)!.rules;

    const html = await (await fetch(`${base}/report/community/${area.area_key}?rule_set=chengdu-park-city`)).text();
    expect(html).toContain('© OpenStreetMap contributors');
    fs.writeFileSync(path.join(ARTIFACTS, 'report-community.html'), html);

    const { text, images, ms, disposition } = await pdfText(
      `/report/community/${area.area_key}.pdf?rule_set=chengdu-park-city`,
      'report-community',
    );
    console.log(`report PDF (community ${area.area_key}): ${ms.toFixed(0)} ms`);
    expect(disposition).toBe(`attachment; filename="report-chengdu-park-city-community-${area.area_key}.pdf"`);
    expect(images).toBeGreaterThanOrEqual(1);
    expect(text).toContain(area.area_name);
    expect(text).toContain(`run ${audit.run_id}`);
    // the rules table: each rule's walking share, target and result, as the API states them
    const flat = text.replace(/\s+/g, ' ');
    for (const r of CHENGDU_PARK_CITY.rules) {
      const x = rules[r.id];
      if (!x) continue;
      const row = `${(x.share * 100).toFixed(1)} %`;
      expect(flat).toContain(r.en);
      expect(flat, r.id).toMatch(
        new RegExp(
          `${row.replace('.', '\\.')} .*${(x.target_share * 100).toFixed(1).replace('.', '\\.')} % ${x.no_data ? 'NO_DATA' : x.passes ? 'PASS' : 'FAIL'}`,
        ),
      );
    }
    // drill-down facts: the sentence of the first failing rule
    const d = (await (
      await fetch(`${base}/api/areas/community/${area.area_key}/drilldown?rule=${area.failed_rules[0].rule_id}`)
    ).json()) as { sentence: string };
    expect(flat).toContain(d.sentence.slice(0, 40));
    expect(flat).toContain(CHENGDU_PARK_CITY.citation.slice(0, 30).replace(/\s+/g, ' '));
    expect(flat).toContain('Data sources');
    expect(flat).toContain('OpenStreetMap contributors');
  });

  it('the whole city: shares are the population-weighted sums over the residential areas', async () => {
    const cov = (await (
      await fetch(`${base}/api/coverage?rule_set=chengdu-park-city&level=residential_area`)
    ).json()) as { areas: { rules: Record<string, { population: number; covered_population: number }> }[] };
    const { text, images, ms } = await pdfText(`/report/city/all?rule_set=chengdu-park-city&format=pdf`, 'report-city');
    console.log(`report PDF (city): ${ms.toFixed(0)} ms`);
    expect(images).toBeGreaterThanOrEqual(1);
    const flat = text.replace(/\s+/g, ' ');
    for (const r of CHENGDU_PARK_CITY.rules) {
      let pop = 0,
        cov_ = 0;
      for (const a of cov.areas)
        if (a.rules[r.id]) {
          pop += a.rules[r.id].population;
          cov_ += a.rules[r.id].covered_population;
        }
      expect(flat, r.id).toContain(`${Math.round(pop).toLocaleString('en-US')} ${((cov_ / pop) * 100).toFixed(1)} %`);
    }
  });

  it('refuses a mismatched id and an unknown community, naming the field', async () => {
    const bad = await fetch(`${base}/report/city/12`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('id');
    expect((await fetch(`${base}/report/community/999999999`)).status).toBe(404);
  });
});

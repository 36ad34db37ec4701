import type { FastifyInstance, FastifyReply } from 'fastify';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ApiError, errorSchema } from '../errors.ts';
import { areaCoverage, type AreaCoverageRow } from '../queries/coverage.ts';
import type { RuleSet } from '../../geo/rules/index.ts';
import { DISTANCE_CAP_M } from '../../geo/coverage.ts';
import { cityRuleFigures } from '../../geo/city-summary.ts';
import { requestedDataset, requireRuleSet } from '../http/request.ts';
import { computeDrilldown, ruleLimitM } from '../answers/drilldown.ts';

// ---------------------------------------------------------------------------------------------
// Route schemas of GET /report/:level/:id (kept together for the api/ contract folder)
// ---------------------------------------------------------------------------------------------

const reportParams = {
  type: 'object',
  required: ['level', 'id'],
  additionalProperties: false,
  properties: {
    level: { type: 'string', enum: ['community', 'city'] },
    id: {
      type: 'string',
      minLength: 1,
      maxLength: 68,
      pattern: '^([0-9]+|all)(\\.pdf)?$',
      description: 'a community id, or "all" for the city; ".pdf" asks for the PDF',
    },
  },
} as const;

const reportQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rule_set: { type: 'string', maxLength: 64, default: 'chengdu-park-city' },
    format: { type: 'string', enum: ['html', 'pdf'], default: 'html' },
  },
} as const;

// ---------------------------------------------------------------------------------------------

/** PDFs are rendered one at a time by one headless Chromium; a few wait, more are refused. */
export const REPORT_LIMITS = { concurrent: 1, maxQueue: 3, timeoutMs: 30_000 };

/** Noto Sans SC as shipped to the web app (@fontsource/noto-sans-sc): Chinese prints on machines with no CJK font. */
const FONT_DIR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@fontsource/noto-sans-sc/400.css')),
  'files',
);
let fontCss: string | null = null;
function reportFontCss(): string {
  fontCss ??= ['400', '700']
    .map((w) => fs.readFileSync(path.join(FONT_DIR, '..', `${w}.css`), 'utf8'))
    .join('\n')
    .replace(
      /url\(\.\/files\/([^)]+\.woff2)\) format\('woff2'\), url\([^)]+\) format\('woff'\)/g,
      "url(/report/fonts/$1) format('woff2')",
    );
  return fontCss;
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

interface Bbox {
  minx: number;
  miny: number;
  maxx: number;
  maxy: number;
}

/**
 * An SVG map of the area: its outline, the streets, the uncovered homes coloured by walking distance,
 * with legend, scale bar, north arrow and the OpenStreetMap attribution. Equirectangular at the
 * area's latitude, which is exact enough at community scale.
 */
async function mapSvg(
  app: FastifyInstance,
  level: 'community' | 'city',
  id: string,
  points: { lng: number; lat: number; outcome: string; network_m: number | null }[],
  limitM: number,
): Promise<string> {
  const W = 720,
    H = 440;
  const {
    rows: [box],
  } = await app.pg.query<Bbox & { outline: string | null }>(
    level === 'community'
      ? `SELECT ST_XMin(e) minx, ST_YMin(e) miny, ST_XMax(e) maxx, ST_YMax(e) maxy, ST_AsGeoJSON(g) outline FROM (SELECT geom g, ST_Expand(ST_Envelope(geom), 0.002) e FROM communities WHERE id::text = $1) x`
      : `SELECT ST_XMin(e) minx, ST_YMin(e) miny, ST_XMax(e) maxx, ST_YMax(e) maxy, NULL outline FROM (SELECT coalesce(d.study_area, d.bbox) g, ST_Envelope(coalesce(d.study_area, d.bbox)) e FROM datasets d WHERE d.kind IN ('osm','sample_city') AND $1 = $1 ORDER BY d.id DESC LIMIT 1) x`,
    [id],
  );
  if (!box) throw new ApiError('not_found', `no ${level} ${id}`);
  const k = Math.cos((((box.miny + box.maxy) / 2) * Math.PI) / 180);
  const sx = (box.maxx - box.minx) * k,
    sy = box.maxy - box.miny;
  const scale = Math.min(W / sx, H / sy); // px per degree of latitude
  const ox = (W - sx * scale) / 2,
    oy = (H - sy * scale) / 2;
  const px = (lng: number, lat: number) =>
    [ox + (lng - box.minx) * k * scale, oy + (box.maxy - lat) * scale].map((v) => v.toFixed(1)).join(',');
  const line = (coords: number[][]) => coords.map(([x, y]) => px(x, y)).join(' ');
  const roads = await app.pg
    .query<{ g: { type: string; coordinates: number[][] | number[][][] }; major: boolean }>(
      `SELECT ST_AsGeoJSON(ST_Simplify(geom, 0.00002))::json g, highway IN ('primary','secondary','trunk','tertiary','motorway') major
     FROM basemap_roads WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326) LIMIT 20000`,
      [box.minx, box.miny, box.maxx, box.maxy],
    )
    .catch(() => ({ rows: [] as { g: { type: string; coordinates: number[][] | number[][][] }; major: boolean }[] }));
  const roadPaths = roads.rows
    .flatMap((r) =>
      (r.g.type === 'LineString' ? [r.g.coordinates as number[][]] : (r.g.coordinates as number[][][])).map(
        (c) =>
          `<polyline points="${line(c)}" stroke="${r.major ? '#bbb' : '#ddd'}" stroke-width="${r.major ? 2 : 1}" fill="none"/>`,
      ),
    )
    .join('');
  let outline = '';
  if (box.outline) {
    const g = JSON.parse(box.outline) as { type: string; coordinates: number[][][] | number[][][][] };
    const polys = g.type === 'Polygon' ? [g.coordinates as number[][][]] : (g.coordinates as number[][][][]);
    outline = polys
      .flatMap((p) =>
        p.map(
          (ring) => `<polygon points="${line(ring)}" fill="rgba(60,120,200,0.06)" stroke="#2b5fa8" stroke-width="2"/>`,
        ),
      )
      .join('');
  }
  const colour = (p: { outcome: string; network_m: number | null }) =>
    p.outcome !== 'distance' || p.network_m === null
      ? '#6a1b9a'
      : p.network_m <= limitM * 1.5
        ? '#f4a259'
        : p.network_m <= limitM * 3
          ? '#e4572e'
          : '#8b0000';
  const dots = points
    .map(
      (p) =>
        `<circle cx="${px(p.lng, p.lat).split(',')[0]}" cy="${px(p.lng, p.lat).split(',')[1]}" r="2.6" fill="${colour(p)}" fill-opacity="0.85"/>`,
    )
    .join('');
  // scale bar: a round length near a fifth of the width
  const mPerPx = 111_320 / scale;
  const target = (W / 5) * mPerPx;
  const nice = [50, 100, 200, 250, 500, 1000, 2000, 5000, 10000].reduce((a, b) =>
    Math.abs(b - target) < Math.abs(a - target) ? b : a,
  );
  const barPx = nice / mPerPx;
  const legend = [
    ['#f4a259', `${fmt(limitM)}–${fmt(limitM * 1.5)} m`],
    ['#e4572e', `${fmt(limitM * 1.5)}–${fmt(limitM * 3)} m`],
    ['#8b0000', `> ${fmt(limitM * 3)} m`],
    ['#6a1b9a', `beyond ${fmt(DISTANCE_CAP_M)} m / no path`],
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" id="map-svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="#fafaf7"/>${roadPaths}${outline}${dots}
<g transform="translate(12,12)"><rect width="190" height="${18 + legend.length * 16}" fill="white" fill-opacity="0.9" stroke="#999"/>
<text x="8" y="14" font-weight="bold">Uncovered homes, walking distance</text>
${legend.map(([c, t], i) => `<circle cx="14" cy="${28 + i * 16}" r="4" fill="${c}"/><text x="24" y="${32 + i * 16}">${esc(t)}</text>`).join('')}</g>
<g transform="translate(${W - 40},20)"><polygon points="0,-14 7,8 0,3 -7,8" fill="#222"/><text x="-4" y="22" font-weight="bold">N</text></g>
<g transform="translate(12,${H - 28})"><rect x="-4" y="-12" width="${barPx + 60}" height="26" fill="white" fill-opacity="0.8"/><line x1="0" y1="6" x2="${barPx.toFixed(1)}" y2="6" stroke="#222" stroke-width="3"/><text x="${(barPx + 6).toFixed(1)}" y="10">${fmt(nice)} m</text></g>
<text x="${W - 8}" y="${H - 8}" text-anchor="end" fill="#333">© OpenStreetMap contributors</text>
</svg>`;
}

interface Source {
  kind: string;
  source: string;
  imported_at: string;
  is_sample: boolean;
}

/** The printable evidence for one community or the whole city. */
export async function reportHtml(
  app: FastifyInstance,
  rs: RuleSet,
  level: 'community' | 'city',
  id: string,
  dataset?: string,
): Promise<string> {
  const { datasetId, runId } = await app.engine.currentRun(dataset);
  const rows: AreaCoverageRow[] = await areaCoverage(
    app.pg,
    runId,
    rs.id,
    level === 'community' ? 'community' : 'residential_area',
  );
  let title: string;
  let ruleRows: {
    rule: RuleSet['rules'][number];
    population: number;
    share: number | null;
    straight: number | null;
    passes: boolean | null;
  }[];
  if (level === 'community') {
    const row = rows.find((r) => r.area_key === id);
    if (!row) throw new ApiError('not_found', `no community ${id} with results in run ${runId}`);
    title = row.area_name ?? `community ${id}`;
    ruleRows = rs.rules
      .filter((r) => row.rules[r.id])
      .map((r) => {
        const x = row.rules[r.id];
        return {
          rule: r,
          population: x.population,
          share: x.share,
          straight: x.straight_share,
          passes: x.no_data ? null : x.passes,
        };
      });
  } else {
    title = 'Whole city (study area)';
    ruleRows = rs.rules.map((r) => {
      const city = cityRuleFigures(rows, r.id);
      return {
        rule: r,
        population: city.population,
        share: city.share,
        straight: city.straightShare,
        passes: city.noData ? null : (city.share ?? 0) >= r.targetShare,
      };
    });
  }
  const facts: string[] = [];
  let map = '';
  const failing = ruleRows.filter((r) => r.passes === false);
  if (level === 'community') {
    for (const r of failing) {
      const d = await computeDrilldown(app.pg, datasetId, runId, rs, r.rule, 'community', id, 5000);
      facts.push(
        `<li><b>${esc(r.rule.zh)} / ${esc(r.rule.en)}</b>: ${esc(d.sentence)}${d.caveats.length ? `<br><small>${d.caveats.map((c) => esc(c.message)).join(' ')}</small>` : ''}</li>`,
      );
      if (!map)
        map = await mapSvg(
          app,
          'community',
          id,
          d.uncovered_points.features.map((f) => ({
            lng: f.geometry.coordinates[0],
            lat: f.geometry.coordinates[1],
            outcome: f.properties.outcome,
            network_m: f.properties.network_m,
          })),
          ruleLimitM(r.rule),
        );
    }
    if (!map) map = await mapSvg(app, 'community', id, [], ruleLimitM(rs.rules[0]));
  } else {
    for (const r of failing) {
      const worst = rows
        .filter((a) => a.rules[r.rule.id] && !a.rules[r.rule.id].passes && !a.rules[r.rule.id].no_data)
        .sort(
          (a, b) =>
            b.rules[r.rule.id].population -
            b.rules[r.rule.id].covered_population -
            (a.rules[r.rule.id].population - a.rules[r.rule.id].covered_population),
        )[0];
      const out = r.population * (1 - (r.share ?? 0));
      facts.push(
        `<li><b>${esc(r.rule.zh)} / ${esc(r.rule.en)}</b>: ${fmt(out)} of ${fmt(r.population)} residents are not covered${worst ? `; most of them in ${esc(worst.area_name ?? worst.area_key)} (${fmt(worst.rules[r.rule.id].population - worst.rules[r.rule.id].covered_population)})` : ''}.</li>`,
      );
    }
    const pts = await app.pg.query<{ lng: number; lat: number; outcome: string; network_m: number | null }>(
      `SELECT ST_X(o.geom) lng, ST_Y(o.geom) lat, r.outcome, r.network_m FROM coverage_origin_results r JOIN origins o ON o.id = r.origin_id
       WHERE r.run_id = $1 AND r.rule_set_id = $2 AND r.rule_id = $3 AND NOT r.covered ORDER BY o.id LIMIT 20000`,
      [runId, rs.id, (failing[0] ?? ruleRows[0]).rule.id],
    );
    map = await mapSvg(app, 'city', 'all', pts.rows, ruleLimitM((failing[0] ?? ruleRows[0]).rule));
  }
  const sources = (
    await app.pg.query<Source>(
      `SELECT kind, source, to_json(imported_at) #>> '{}' AS imported_at, is_sample FROM datasets ORDER BY id`,
    )
  ).rows;
  const run = (
    await app.pg.query<{ finished_at: string | null }>(
      `SELECT to_json(finished_at) #>> '{}' AS finished_at FROM coverage_runs WHERE id = $1`,
      [runId],
    )
  ).rows[0];
  const anySample = sources.some((s) => s.is_sample);
  return `<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>${esc(title)} — ${esc(rs.en)}</title>
<style>${reportFontCss()}
body{font-family:"Noto Sans SC",sans-serif;margin:24px;color:#222;font-size:12px}h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left}td.n{text-align:right;white-space:nowrap}.fail{color:#b00020;font-weight:bold}.pass{color:#1b7f3b;font-weight:bold}
.map{margin:8px 0}small{color:#555}</style></head><body>
<h1>${esc(title)}</h1><div>${esc(rs.zh)} / ${esc(rs.en)} (rule set ${esc(rs.id)} ${esc(rs.version)}) · run ${runId} · dataset ${datasetId}${anySample ? ' · <b>includes sample (estimated) data</b>' : ''}</div>
<div class="map" id="map">${map}</div>
<h2>Rules</h2><table id="rules"><thead><tr><th>rule</th><th>limit</th><th>residents</th><th>walking share</th><th>straight-line share</th><th>target</th><th>result</th></tr></thead><tbody>
${ruleRows.map((r) => `<tr><td>${esc(r.rule.zh)}<br><small>${esc(r.rule.en)}</small></td><td class="n">${fmt(ruleLimitM(r.rule))} m</td><td class="n">${fmt(r.population)}</td><td class="n">${pct(r.share)}</td><td class="n">${pct(r.straight)}</td><td class="n">${pct(r.rule.targetShare)}</td><td class="${r.passes === null ? '' : r.passes ? 'pass' : 'fail'}">${r.passes === null ? 'NO_DATA' : r.passes ? 'PASS' : 'FAIL'}</td></tr>`).join('')}
</tbody></table>
<h2>Why it fails</h2><ul id="facts">${facts.join('') || '<li>Every assessable rule is met.</li>'}</ul>
<h2>Method</h2><p>Walking distance along the OpenStreetMap street and footpath network from each home (building, or sampled point of a residential area) to the nearest entrance of a facility, up to ${fmt(DISTANCE_CAP_M)} m; straight-line shares are shown beside for comparison only. An area passes a rule when the population-weighted share of residents within the rule's limit reaches the target. Outcomes: distance, beyond_cap (farther than ${fmt(DISTANCE_CAP_M)} m), no_path (no such facility in the resident's piece of the network), no_data (no facility of the rule's categories in the data).</p>
<h2>Citations</h2><ul id="citations"><li>${esc(rs.citation)}</li>${[...new Set(rs.rules.map((r) => r.citation))]
    .filter((c) => c !== rs.citation)
    .map((c) => `<li>${esc(c)}</li>`)
    .join('')}</ul>
<h2>Data sources</h2><table id="sources"><thead><tr><th>kind</th><th>source</th><th>imported</th><th>sample</th></tr></thead><tbody>
${sources.map((s) => `<tr><td>${esc(s.kind)}</td><td>${esc(s.source)}</td><td>${esc(s.imported_at)}</td><td>${s.is_sample ? 'sample / estimate' : ''}</td></tr>`).join('')}</tbody></table>
<h2>Caveats</h2><ul><li>Residents near the edge of the extract may be served by facilities outside it (edge_of_data).</li><li>Population figures marked estimate are derived from building footprints, not a census.</li>${anySample ? '<li>Some inputs are sample data and must not be read as real.</li>' : ''}</ul>
<p><small>Run ${runId}, finished ${esc(run?.finished_at ?? '')}. Map data © OpenStreetMap contributors (ODbL). Generated ${esc(new Date().toISOString())}.</small></p>
</body></html>`;
}

const REPORT_ORIGIN = 'http://report.invalid';

/** The font file of that name, or null for any other name (no path may leave FONT_DIR). */
function fontFile(name: string): string | null {
  return /^noto-sans-sc-[0-9]+-(400|700)-normal\.woff2$/.test(name) && fs.existsSync(path.join(FONT_DIR, name))
    ? path.join(FONT_DIR, name)
    : null;
}

let browser: Promise<Browser> | null = null;
let running = 0;
const waiting: (() => void)[] = [];

/** Print the HTML to PDF in the shared headless Chromium, at most REPORT_LIMITS.concurrent at a time. */
export async function renderPdf(html: string): Promise<Buffer> {
  if (running >= REPORT_LIMITS.concurrent) {
    if (waiting.length >= REPORT_LIMITS.maxQueue)
      throw new ApiError(
        'server_busy',
        `${REPORT_LIMITS.maxQueue} reports are waiting to be printed; try again shortly`,
      );
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  running++;
  try {
    browser ??= chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const b = await browser;
    const page = await b.newPage({ viewport: { width: 800, height: 1100 } });
    const timer = setTimeout(() => void page.close().catch(() => {}), REPORT_LIMITS.timeoutMs);
    try {
      // no network: the page and its fonts come from here, anything else is refused
      await page.route('**/*', async (route) => {
        const url = new URL(route.request().url());
        if (url.origin !== REPORT_ORIGIN) return route.abort();
        if (url.pathname === '/report') return route.fulfill({ contentType: 'text/html; charset=utf-8', body: html });
        const file = fontFile(url.pathname.replace('/report/fonts/', ''));
        return file
          ? route.fulfill({ contentType: 'font/woff2', body: await fs.promises.readFile(file) })
          : route.abort();
      });
      await page.goto(`${REPORT_ORIGIN}/report`, { timeout: REPORT_LIMITS.timeoutMs });
      await page.evaluate(() => document.fonts.ready);
      // the map as a picture, so the PDF carries an image any reader shows alike
      const svg = page.locator('#map-svg');
      if (await svg.count()) {
        const png = await svg.screenshot({ timeout: REPORT_LIMITS.timeoutMs });
        await page.evaluate(
          (src) => {
            const el = document.getElementById('map-svg');
            const img = document.createElement('img');
            img.src = src;
            img.width = 720;
            img.height = 440;
            img.alt = 'map';
            el?.replaceWith(img);
          },
          `data:image/png;base64,${png.toString('base64')}`,
        );
        await page.waitForFunction(() => [...document.images].every((i) => i.complete), undefined, {
          timeout: REPORT_LIMITS.timeoutMs,
        });
      }
      return await page.pdf({
        format: 'A4',
        printBackground: true,
        margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' },
      });
    } catch (err) {
      if (page.isClosed())
        throw new ApiError('work_timed_out', `the report was not printed within ${REPORT_LIMITS.timeoutMs / 1000} s`);
      throw err;
    } finally {
      clearTimeout(timer);
      await page.close().catch(() => {});
    }
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function send(reply: FastifyReply, name: string, format: 'html' | 'pdf', body: string | Buffer) {
  return format === 'pdf'
    ? reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `attachment; filename="${name}.pdf"`)
        .send(body)
    : reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-disposition', `inline; filename="${name}.html"`)
        .send(body);
}

/** GET /report/:level/:id[.pdf]?rule_set=&format=html|pdf: the printable evidence of a community or the city. */
export async function reportRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onClose', async () => {
    const b = browser;
    browser = null;
    if (b) await (await b).close().catch(() => {});
  });
  app.get<{ Params: { file: string } }>(
    '/report/fonts/:file',
    {
      schema: {
        hide: true,
        params: { type: 'object', required: ['file'], properties: { file: { type: 'string', maxLength: 64 } } },
      },
    },
    async (req, reply) => {
      const file = fontFile(req.params.file);
      if (!file) throw new ApiError('not_found', `no report font ${req.params.file}`);
      return reply
        .header('content-type', 'font/woff2')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .send(await fs.promises.readFile(file));
    },
  );
  app.get<{
    Params: { level: 'community' | 'city'; id: string };
    Querystring: { rule_set: string; format: 'html' | 'pdf' };
  }>(
    '/report/:level/:id',
    {
      schema: {
        tags: ['coverage'],
        summary:
          'Printable evidence (HTML or PDF): map, rules table, drill-down facts, method, citations, sources, caveats, run id',
        params: reportParams,
        querystring: reportQuery,
        // 200: text/html or application/pdf, sent as they are (not through a JSON schema)
        response: {
          200: { type: 'string', description: 'the report, text/html or application/pdf' },
          400: errorSchema,
          404: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const rs = requireRuleSet(req.query.rule_set);
      const pdf = req.params.id.endsWith('.pdf') || req.query.format === 'pdf';
      const id = req.params.id.replace(/\.pdf$/, '');
      const level = req.params.level;
      if ((level === 'city') !== (id === 'all'))
        throw new ApiError(
          'invalid_parameter',
          `id: "${id}" — the city report is /report/city/all, a community's /report/community/<id>`,
        );
      const html = await reportHtml(app, rs, level, id, requestedDataset(req));
      const name = `report-${rs.id}-${level}-${id}`;
      return pdf ? send(reply, name, 'pdf', await renderPdf(html)) : send(reply, name, 'html', html);
    },
  );
}

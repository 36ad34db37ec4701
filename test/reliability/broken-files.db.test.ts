import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { computeCoverage } from '../../server/coverage-run/compute-coverage.ts';
import { importCommunities } from '../../server/import/import-communities.ts';
import { formatProblem, ImportValidationError, importFacilities } from '../../server/import/import-facilities.ts';
import { importOsm } from '../../server/import/import-osm.ts';
import { SHARED_DATA } from '../global-setup.ts';
import { writeJunk } from '../helpers/junk-file.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.ts';
import { dbSnapshot, type DbSnapshot } from './db-snapshot.ts';
import { createPool } from '../../server/db/pool.ts';

// A corpus of broken inputs, generated here in a temporary folder (nothing large is committed):
// every import must fail with a message that says what is wrong, and change nothing.

const CENTRAL_PBF = path.join(SHARED_DATA, 'chengdu-central-2018.osm.pbf');
const SMALL_OSM = path.join(SHARED_DATA, 'chenghua-shuangqiaozi-2018.osm');
const JUNK_BYTES = 100 * 1024 * 1024;

let db: TestDatabase;
let pool: pg.Pool;
let dir: string;
let before: DbSnapshot;

const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};

/** Write `bytes` of seeded pseudo-random junk in 1 MB chunks, never holding it all in memory. */
/** The text a user sees for a failed import: the message plus each listed problem. */
function failureText(err: unknown): string {
  const e = err as Error;
  return e instanceof ImportValidationError ? [e.message, ...e.problems.map(formatProblem)].join('\n') : e.message;
}

/** The import fails with a message matching `why`, and the database is exactly as before. */
async function expectRejectedUnchanged(run: () => Promise<unknown>, why: RegExp): Promise<string> {
  let err: unknown = null;
  try {
    await run();
  } catch (e) {
    err = e;
  }
  expect(err, `expected the import to fail with ${why}`).not.toBeNull();
  const text = failureText(err);
  expect(text).toMatch(why);
  expect(await dbSnapshot(pool)).toEqual(before);
  return text;
}

beforeAll(async () => {
  db = await createTestDatabase('central');
  pool = createPool(db.url, { max: 3 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-broken-'));
  before = await dbSnapshot(pool);
});
afterAll(async () => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  await pool?.end();
  await db?.drop();
});

describe('broken OSM files change nothing', () => {
  it('an empty file', async () => {
    await expectRejectedUnchanged(() => importOsm(pool, file('empty.osm.pbf', '')), /empty/);
  });

  it('a missing file', async () => {
    await expectRejectedUnchanged(() => importOsm(pool, path.join(dir, 'nope.osm.pbf')), /not found/);
  });

  it('a truncated PBF', async () => {
    const bytes = fs.readFileSync(CENTRAL_PBF);
    const p = file('truncated.osm.pbf', bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectRejectedUnchanged(() => importOsm(pool, p), /cannot read OSM file .*(EOF|truncated)/i);
  });

  it('a PBF with corrupt bytes in a compressed block', async () => {
    const bytes = Buffer.from(fs.readFileSync(CENTRAL_PBF));
    for (let k = 0; k < 256; k++) bytes[Math.floor(bytes.length / 2) + k] ^= 0xa5;
    await expectRejectedUnchanged(
      () => importOsm(pool, file('corrupt.osm.pbf', bytes)),
      /cannot read OSM file .*(uncompress|data error|PBF)/i,
    );
  });

  it('XML in a file named .pbf', async () => {
    const p = file('really-xml.osm.pbf', fs.readFileSync(SMALL_OSM));
    await expectRejectedUnchanged(() => importOsm(pool, p), /cannot read OSM file/);
  });

  it('OSM XML with a broken tag', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
 <node id="1" lat="30.66" lon="104.06" version="1"/>
 <node id="2" lat="30.661" lon="104.061" version="1"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway></way>
</osm>`;
    await expectRejectedUnchanged(() => importOsm(pool, file('broken-tag.osm', xml)), /XML parsing error at line 5/);
  });

  it('truncated OSM XML', async () => {
    const xml = fs.readFileSync(SMALL_OSM, 'utf8');
    await expectRejectedUnchanged(
      () => importOsm(pool, file('truncated.osm', xml.slice(0, Math.floor(xml.length * 0.6)))),
      /XML parsing error/,
    );
  });

  it('duplicate node and way ids', async () => {
    // osmium's area assembly insists on ordered input with unique ids; a repeat must not reach our reader.
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
 <node id="1" lat="30.66" lon="104.06" version="1"/>
 <node id="1" lat="30.67" lon="104.07" version="1"/>
 <node id="2" lat="30.661" lon="104.061" version="1"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>
</osm>`;
    await expectRejectedUnchanged(() => importOsm(pool, file('duplicate-node.osm', xml)), /Node ID twice in input/);
    const ways = xml
      .replace('<node id="1" lat="30.67" lon="104.07" version="1"/>', '')
      .replace(
        '</osm>',
        ' <way id="10" version="1"><nd ref="2"/><nd ref="1"/><tag k="highway" v="path"/></way>\n</osm>',
      );
    await expectRejectedUnchanged(
      () => importOsm(pool, file('duplicate-way.osm', ways)),
      /Way ID twice in input|ordered/,
    );
  });

  it('a well-formed file with nothing walkable', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n <node id="1" lat="30.66" lon="104.06" version="1"><tag k="amenity" v="bench"/></node>\n</osm>`;
    await expectRejectedUnchanged(() => importOsm(pool, file('bench.osm', xml)), /no walkable ways|no nodes or ways/);
  });
});

describe('100 MB of junk', () => {
  let junk: string;
  beforeAll(async () => {
    junk = path.join(dir, 'junk-100mb.bin');
    await writeJunk(junk, JUNK_BYTES);
  });
  afterAll(() => {
    for (const f of fs.readdirSync(dir)) if (f.startsWith('junk-100mb')) fs.rmSync(path.join(dir, f));
  });

  it('as PBF, OSM XML, register CSV and community GeoJSON: refused, nothing changed', async () => {
    expect(fs.statSync(junk).size).toBe(JUNK_BYTES);
    // one file on disk, under each importer's extension (hard links)
    const as = (ext: string) => {
      const p = `${junk}.${ext}`;
      fs.linkSync(junk, p);
      return p;
    };
    // How quickly: npm run bench:reports times the same refusals against reading the file once.
    await expectRejectedUnchanged(() => importOsm(pool, as('osm.pbf')), /cannot read OSM file/);
    await expectRejectedUnchanged(() => importOsm(pool, as('osm')), /cannot read OSM file/);
    await expectRejectedUnchanged(
      () => importFacilities(pool, as('csv'), { category: 'elderly_care', crs: 'wgs84' }),
      /not valid UTF-8/,
    );
    await expectRejectedUnchanged(() => importCommunities(pool, as('geojson')), /not valid UTF-8/);
  });
});

describe('broken registers change nothing', () => {
  const importCsv =
    (name: string, text: string | Buffer, crs: 'wgs84' | 'gcj02' | 'bd09' = 'wgs84') =>
    () =>
      importFacilities(pool, file(name, text), { category: 'elderly_care', crs });

  it('wrong columns', async () => {
    await expectRejectedUnchanged(
      importCsv('wrong-columns.csv', '机构,东,北\n示例养老院,104.06,30.66\n'),
      /unusable header[\s\S]*no "name" column[\s\S]*headers found: "机构", "东", "北"/,
    );
  });

  it('an empty file and a header only', async () => {
    await expectRejectedUnchanged(importCsv('empty.csv', ''), /is empty/);
    await expectRejectedUnchanged(importCsv('header-only.csv', 'name,lng,lat\n'), /no facilities/);
  });

  it('an unclosed quote', async () => {
    await expectRejectedUnchanged(importCsv('quote.csv', 'name,lng,lat\n"示例养老院,104.06,30.66\n'), /not valid CSV/);
  });

  it('WGS 84 coordinates of a place outside China declared as BD-09', async () => {
    // Paris, given as if it were a Baidu export: BD-09 is undefined there, so it must not be "converted".
    await expectRejectedUnchanged(
      importCsv('paris-bd09.csv', 'name,lng,lat\nLouvre,2.3376,48.8606\n', 'bd09'),
      /line 2, field lng: "2.3376" is outside China/,
    );
    const geo = JSON.stringify({
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          properties: { name: 'Paris' },
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [2.33, 48.85],
                [2.34, 48.85],
                [2.34, 48.86],
                [2.33, 48.85],
              ],
            ],
          },
        },
      ],
    });
    await expectRejectedUnchanged(
      () => importCommunities(pool, file('paris-bd09.geojson', geo), { crs: 'bd09' }),
      /outside China/,
    );
  });

  it('duplicate rows', async () => {
    await expectRejectedUnchanged(
      importCsv('dup.csv', 'name,lng,lat\n示例养老院,104.06,30.66\n示例养老院,104.06,30.66\n'),
      /line 3, field name: .* duplicates line 2/,
    );
  });

  it('bad values: text for numbers, NaN, Infinity, out of range, negative capacity', async () => {
    const text = await expectRejectedUnchanged(
      importCsv(
        'values.csv',
        'name,lng,lat,capacity\nA,abc,30.66,\nB,NaN,30.66,\nC,104.06,Infinity,\nD,104.06,95,\nE,104.06,30.66,-3\n,104.06,30.66,\n',
      ),
      /6 invalid rows/,
    );
    expect(text).toMatch(/line 2, field lng: "abc"/);
    expect(text).toMatch(/line 5, field lat: "95"/);
  });

  it('a non-UTF-8 (GBK) file', async () => {
    // "示例养老院" in GBK: what Excel saves on a Chinese Windows.
    const gbk = Buffer.concat([
      Buffer.from('name,lng,lat\n'),
      Buffer.from([0xca, 0xbe, 0xc0, 0xfd, 0xd1, 0xf8, 0xc0, 0xcf, 0xd4, 0xba]),
      Buffer.from(',104.06,30.66\n'),
    ]);
    await expectRejectedUnchanged(
      () => importFacilities(pool, file('gbk.csv', gbk), { category: 'elderly_care', crs: 'wgs84', encoding: 'utf-8' }),
      /line 2, field name: .* is not valid UTF-8 \(a GBK file read as UTF-8\? try --encoding gbk\)/,
    );
    await expectRejectedUnchanged(
      () =>
        importCommunities(
          pool,
          file(
            'gbk.geojson',
            Buffer.concat([
              Buffer.from('{"type":"FeatureCollection","features":[{"properties":{"name":"'),
              Buffer.from([0xc9, 0xe7, 0xc7, 0xf8]),
              Buffer.from('"}}]}'),
            ]),
          ),
        ),
      /not valid UTF-8/,
    );
  });
});

describe('invalid community polygons change nothing', () => {
  const fc = (...features: object[]) => JSON.stringify({ type: 'FeatureCollection', features });
  const feature = (name: unknown, coordinates: unknown, type = 'Polygon') => ({
    type: 'Feature',
    properties: { name },
    geometry: { type, coordinates },
  });

  it('each kind of bad geometry is named, and nothing is imported', async () => {
    const text = await expectRejectedUnchanged(
      () =>
        importCommunities(
          pool,
          file(
            'bad-communities.geojson',
            fc(
              feature('three points', [
                [
                  [104.06, 30.66],
                  [104.07, 30.66],
                  [104.06, 30.66],
                ],
              ]),
              feature('zero area', [
                [
                  [104.06, 30.66],
                  [104.06, 30.66],
                  [104.06, 30.66],
                  [104.06, 30.66],
                ],
              ]),
              feature('collinear', [
                [
                  [104.06, 30.66],
                  [104.07, 30.66],
                  [104.08, 30.66],
                  [104.06, 30.66],
                ],
              ]),
              feature('text coordinates', [
                [
                  ['104.06', '30.66'],
                  ['104.07', '30.66'],
                  ['104.07', '30.67'],
                  ['104.06', '30.66'],
                ],
              ]),
              feature('out of range', [
                [
                  [104.06, 95],
                  [104.07, 30.66],
                  [104.07, 30.67],
                  [104.06, 95],
                ],
              ]),
              feature('empty', []),
              feature('a point', [104.06, 30.66], 'Point'),
              feature(null, [
                [
                  [104.06, 30.66],
                  [104.07, 30.66],
                  [104.07, 30.67],
                  [104.06, 30.66],
                ],
              ]),
              { type: 'Feature', properties: { name: 'no geometry' }, geometry: null },
            ),
          ),
        ),
      /invalid rows? in bad-communities.geojson; nothing imported/,
    );
    for (const why of [
      /features\[0\].*ring of 3 positions/,
      /features\[1\].*no area/,
      /features\[2\].*no area/,
      /features\[3\].*not a \[lng, lat\] position/,
      /features\[4\], field lat: "95"/,
      /features\[5\].*polygon without rings/,
      /features\[6\].*not a Polygon/,
      /features\[7\], field name/,
      /features\[8\], field geometry/,
    ]) {
      expect(text).toMatch(why);
    }
  });

  it('not GeoJSON at all, or no features', async () => {
    await expectRejectedUnchanged(
      () => importCommunities(pool, file('not-json.geojson', '{"type": "FeatureCollection", "features": [')),
      /not valid JSON/,
    );
    await expectRejectedUnchanged(
      () => importCommunities(pool, file('array.geojson', '[]')),
      /not a GeoJSON FeatureCollection/,
    );
    await expectRejectedUnchanged(() => importCommunities(pool, file('none.geojson', fc())), /no features/);
  });
});

describe('CSV exports neutralise formulas', () => {
  const FORMULAS = ['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)'];
  const STREET = "=cmd|' /C calc'!A0";
  const DISTRICT = '@district';
  let app: FastifyInstance;

  beforeAll(async () => {
    // Four communities over the network's extent, named like formulas; coverage is computed over them.
    const { rows } = await pool.query<{ x0: number; y0: number; x1: number; y1: number }>(
      `SELECT ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 FROM (SELECT ST_Extent(geom) e FROM walk_nodes) t`,
    );
    const { x0, y0, x1, y1 } = rows[0];
    const xm = (x0 + x1) / 2,
      ym = (y0 + y1) / 2;
    const quads = [
      [x0, y0, xm, ym],
      [xm, y0, x1, ym],
      [x0, ym, xm, y1],
      [xm, ym, x1, y1],
    ];
    const features = quads.map(([a, b, c, d], i) => ({
      type: 'Feature',
      properties: { name: FORMULAS[i], street: STREET, district: DISTRICT },
      geometry: {
        type: 'Polygon',
        coordinates: [
          [
            [a, b],
            [c, b],
            [c, d],
            [a, d],
            [a, b],
          ],
        ],
      },
    }));
    await importCommunities(
      pool,
      file('formula-communities.geojson', JSON.stringify({ type: 'FeatureCollection', features })),
    );
    await computeCoverage(pool);
    app = await buildApp({ databaseUrl: db.url, webDist: false });
  });
  afterAll(async () => {
    await app?.close();
  });

  const csvOf = async (url: string) => {
    const r = await app.inject(url);
    expect(r.statusCode, r.body.slice(0, 200)).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/csv/);
    const rows = parseCsv(r.body.replace(/^\uFEFF/, ''), { relax_column_count: false }) as string[][];
    // no cell a spreadsheet would run: only numbers may start with "-"
    for (const row of rows)
      for (const cell of row)
        if (/^[=+@\t\r-]/.test(cell)) expect(Number.isFinite(Number(cell)), `${url}: ${cell}`).toBe(true);
    return { header: rows[0], rows: rows.slice(1) };
  };

  it('/api/coverage?format=csv at community, street and district level', async () => {
    const community = await csvOf('/api/coverage?level=community&format=csv');
    const names = new Set(community.rows.map((r) => r[community.header.indexOf('area_name')]));
    expect([...names].sort()).toEqual(FORMULAS.map((f) => `'${f}`).sort());
    const street = await csvOf('/api/coverage?level=street&format=csv');
    expect(new Set(street.rows.map((r) => r[street.header.indexOf('area_key')]))).toEqual(new Set([`'${STREET}`]));
    const district = await csvOf('/api/coverage?level=district&format=csv');
    expect(new Set(district.rows.map((r) => r[district.header.indexOf('area_key')]))).toEqual(
      new Set([`'${DISTRICT}`]),
    );
  });

  it('/api/audit?format=csv', async () => {
    const audit = await csvOf('/api/audit?level=community&format=csv');
    // rules not assessable (no data) come as one row each with no area; every other row names an area
    const areaRows = audit.rows.filter((r) => r[audit.header.indexOf('result')] !== 'no_data');
    for (const r of audit.rows.filter((x) => !areaRows.includes(x)))
      expect(r[audit.header.indexOf('area_key')]).toBe('');
    const names = areaRows.map((r) => r[audit.header.indexOf('area_name')]);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(FORMULAS.map((f) => `'${f}`)).toContain(n);
  });
});

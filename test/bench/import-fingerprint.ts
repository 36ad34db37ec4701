import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { readConfig } from '../../server/config.ts';
import { resolveDatabaseUrl } from '../../server/db/local-cluster.ts';
import { migrate } from '../../server/db/migrate.ts';
import { importOsm } from '../../server/import/import-osm.ts';

// npx tsx test/bench/import-fingerprint.ts --file F [--out fp.json] [--against old.json]
//
// Imports F through the importer into a scratch database and prints, per imported table, the row
// count and an md5 of its content in id order, with every surrogate id (the row's own and the ids
// it references) written relative to the smallest id of its table: two importers that write the
// same rows in the same order give the same fingerprint, whatever the sequences stood at. Used to
// show a rewritten importer lands exactly what the previous one did (issue #15): run it on main,
// keep the JSON, run it on the branch with --against. --repeat N imports the file N times into the
// same database (as a server re-importing a city does, with the earlier rows and their statistics
// in place) and fingerprints the last import.

const { values: args } = parseArgs({
  options: {
    file: { type: 'string' },
    out: { type: 'string' },
    against: { type: 'string' },
    kind: { type: 'string', default: 'osm' },
    keep: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
  },
});

/** Per table: the row expression (ids relative, geometry as EWKB hex) and the rows of this dataset. */
const TABLES: Record<string, string> = {
  walk_nodes: `SELECT t.id - (SELECT min(id) FROM walk_nodes WHERE dataset_id = $1) AS rid, t.osm_id, t.is_gate, t.is_private, encode(ST_AsEWKB(t.geom), 'hex') AS g
               FROM walk_nodes t WHERE dataset_id = $1`,
  walk_edges: `SELECT t.id - (SELECT min(id) FROM walk_edges WHERE dataset_id = $1) AS rid,
                      t.source - (SELECT min(id) FROM walk_nodes WHERE dataset_id = $1) AS s, t.target - (SELECT min(id) FROM walk_nodes WHERE dataset_id = $1) AS tg,
                      t.length_m, t.cost, t.reverse_cost, t.highway, t.name, t.osm_way_id, t.is_private, encode(ST_AsEWKB(t.geom), 'hex') AS g
               FROM walk_edges t WHERE dataset_id = $1`,
  facilities: `SELECT t.id - (SELECT min(id) FROM facilities WHERE dataset_id = $1) AS rid, t.category, t.subtype, t.name, t.area_m2, t.capacity, t.address, t.source, t.source_ref, t.is_sample, t.replaced_by IS NOT NULL AS replaced, encode(ST_AsEWKB(t.geom), 'hex') AS g
               FROM facilities t WHERE dataset_id = $1`,
  facility_access_points: `SELECT t.id - (SELECT min(a.id) FROM facility_access_points a JOIN facilities f ON f.id = a.facility_id WHERE f.dataset_id = $1) AS rid,
                                  t.facility_id - (SELECT min(id) FROM facilities WHERE dataset_id = $1) AS fid, t.kind, encode(ST_AsEWKB(t.geom), 'hex') AS g
                           FROM facility_access_points t JOIN facilities f ON f.id = t.facility_id WHERE f.dataset_id = $1`,
  residential_areas: `SELECT t.id - (SELECT min(id) FROM residential_areas WHERE dataset_id = $1) AS rid, t.osm_ref, t.name, t.area_m2, t.population, t.population_source, t.is_gated, t.gated_reason, t.kind, t.elderly, t.children, encode(ST_AsEWKB(t.geom), 'hex') AS g
                      FROM residential_areas t WHERE dataset_id = $1`,
  buildings: `SELECT t.id - (SELECT min(id) FROM buildings WHERE dataset_id = $1) AS rid, t.osm_ref, t.building, t.levels, t.footprint_m2,
                     t.residential_area_id - (SELECT min(id) FROM residential_areas WHERE dataset_id = $1) AS raid, t.population, t.is_residential, t.has_nonresidential_tag,
                     t.floor_area_m2, t.population_source, t.elderly, t.children, encode(ST_AsEWKB(t.geom), 'hex') AS g
              FROM buildings t WHERE dataset_id = $1`,
  compound_gates: `SELECT t.id - (SELECT min(g.id) FROM compound_gates g JOIN residential_areas r ON r.id = g.residential_area_id WHERE r.dataset_id = $1) AS rid,
                          t.residential_area_id - (SELECT min(id) FROM residential_areas WHERE dataset_id = $1) AS raid, t.osm_node_id, t.kind, encode(ST_AsEWKB(t.geom), 'hex') AS g
                   FROM compound_gates t JOIN residential_areas r ON r.id = t.residential_area_id WHERE r.dataset_id = $1`,
  barriers: `SELECT t.id - (SELECT min(id) FROM barriers WHERE dataset_id = $1) AS rid, t.kind, t.osm_way_id, encode(ST_AsEWKB(t.geom), 'hex') AS g FROM barriers t WHERE dataset_id = $1`,
  basemap_areas: `SELECT t.id - (SELECT min(id) FROM basemap_areas WHERE dataset_id = $1) AS rid, t.layer, t.class, t.name, encode(ST_AsEWKB(t.geom), 'hex') AS g FROM basemap_areas t WHERE dataset_id = $1`,
  basemap_roads: `SELECT t.id - (SELECT min(id) FROM basemap_roads WHERE dataset_id = $1) AS rid, t.highway, t.name, encode(ST_AsEWKB(t.geom), 'hex') AS g FROM basemap_roads t WHERE dataset_id = $1`,
  places: `SELECT t.id - (SELECT min(id) FROM places WHERE dataset_id = $1) AS rid, t.osm_ref, t.place, t.name, encode(ST_AsEWKB(t.geom), 'hex') AS g FROM places t WHERE dataset_id = $1`,
  entrances: `SELECT t.id - (SELECT min(id) FROM entrances WHERE dataset_id = $1) AS rid, t.osm_id, t.kind, encode(ST_AsEWKB(t.geom), 'hex') AS g FROM entrances t WHERE dataset_id = $1`,
  // The same two tables without surrogate ids: an area formed from a cluster of buildings is known
  // by its geometry, not by its number (which follows the order the clustering saw the rows in).
  residential_areas_content: `SELECT md5(x::text) AS rid, x.* FROM (
                                SELECT CASE WHEN t.kind = 'landuse' THEN t.osm_ref END AS ref, t.name, t.area_m2, t.population, t.population_source, t.is_gated, t.gated_reason, t.kind, t.elderly, t.children, encode(ST_AsEWKB(t.geom), 'hex') AS g
                                FROM residential_areas t WHERE dataset_id = $1) x`,
  buildings_content: `SELECT md5(x::text) AS rid, x.* FROM (
                        SELECT t.osm_ref, t.building, t.levels, t.footprint_m2, CASE WHEN ra.kind = 'landuse' THEN ra.osm_ref END AS area_ref, md5(encode(ST_AsEWKB(ra.geom), 'hex')) AS area_geom,
                               t.population, t.is_residential, t.has_nonresidential_tag, t.floor_area_m2, t.population_source, t.elderly, t.children, encode(ST_AsEWKB(t.geom), 'hex') AS g
                        FROM buildings t LEFT JOIN residential_areas ra ON ra.id = t.residential_area_id WHERE t.dataset_id = $1) x`,
  communities: `SELECT t.id - (SELECT min(id) FROM communities WHERE dataset_id = $1) AS rid, t.name, t.street, t.district, t.population, t.elderly_population, t.is_approximate, encode(ST_AsEWKB(t.geom), 'hex') AS g
                FROM communities t WHERE dataset_id = $1`,
};

async function main(): Promise<void> {
  const file = path.resolve(args.file ?? '');
  if (!fs.existsSync(file)) throw new Error(`--file: no such file ${file}`);
  const serverUrl = resolveDatabaseUrl(readConfig(), () => {});
  const db = `lc_fingerprint_${process.pid}`;
  const withDb = (name: string) => Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  const admin = new pg.Client({ connectionString: withDb('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${db}"`);
  try {
    await migrate(withDb(db));
    const pool = new pg.Pool({ connectionString: withDb(db), max: 2 });
    pool.on('error', () => {}); // the DROP … WITH (FORCE) below ends idle connections
    try {
      const steps: [string, number][] = [];
      const progress = {
        step: (label: string) => {
          steps.push([label, performance.now()]);
          process.stderr.write(`  ${label}\n`);
        },
        update() {},
        done: () => steps.push(['(end)', performance.now()]),
      };
      const repeat = Number(args.repeat);
      if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat: a whole number ≥ 1, got ${args.repeat}`);
      let r: Awaited<ReturnType<typeof importOsm>> | undefined;
      for (let n = 1; n <= repeat; n++) {
        steps.length = 0;
        if (repeat > 1) process.stderr.write(`import ${n} of ${repeat}\n`);
        r = await importOsm(pool, file, { kind: args.kind as 'osm' | 'sample_city', progress });
        const phases: Record<string, number> = {};
        for (let i = 0; i + 1 < steps.length; i++)
          phases[steps[i][0]] = Math.round((steps[i + 1][1] - steps[i][1]) / 100) / 10;
        process.stderr.write(
          `${Object.entries(phases)
            .map(([k, v]) => `${String(v).padStart(8)} s  ${k}`)
            .join('\n')}\n`,
        );
      }
      if (!r) throw new Error('no import ran');
      process.stderr.write(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`);
      const tables: Record<string, { rows: number; md5: string }> = {};
      for (const [name, sql] of Object.entries(TABLES)) {
        const { rows } = await pool.query<{ n: string; md5: string }>(
          `SELECT count(*) AS n, coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x.rid)), '') AS md5 FROM (${sql}) x`,
          [r.datasetId],
        );
        tables[name] = { rows: Number(rows[0].n), md5: rows[0].md5 };
      }
      const counts = { ...r.counts };
      const fp = { file: path.basename(file), tables, counts, import_s: Math.round(r.seconds * 10) / 10 };
      if (args.out) fs.writeFileSync(args.out, `${JSON.stringify(fp, null, 2)}\n`);
      console.log(JSON.stringify(fp));
      if (args.against) {
        const old = JSON.parse(fs.readFileSync(args.against, 'utf8')) as typeof fp;
        const differ = Object.keys(TABLES).filter((t) => JSON.stringify(old.tables[t]) !== JSON.stringify(tables[t]));
        const countsDiffer = JSON.stringify(old.counts) !== JSON.stringify(counts);
        for (const t of Object.keys(TABLES))
          console.log(
            `${t.padEnd(24)}${String(tables[t].rows).padStart(9)}  ${tables[t].md5}  ${differ.includes(t) ? `DIFFERS (was ${old.tables[t]?.rows} rows, ${old.tables[t]?.md5})` : 'same'}`,
          );
        console.log(
          countsDiffer
            ? `dataset counts DIFFER: ${JSON.stringify(old.counts)} → ${JSON.stringify(counts)}`
            : 'dataset counts same',
        );
        if (differ.length || countsDiffer) process.exitCode = 1;
      }
    } finally {
      await pool.end();
    }
  } finally {
    if (args.keep) console.error(`kept database ${db}`);
    else await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await admin.end();
  }
}

await main();

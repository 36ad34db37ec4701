import path from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from '../db/pool.ts';
import { readConfig } from '../config.ts';
import { resolveAppDatabaseUrl, resolveDatabaseUrl } from '../db/local-cluster.ts';
import { grantAppRoleIfSeparate } from '../db/app-role.ts';
import { migrate } from '../db/migrate.ts';
import { importOsm } from '../import/import-osm.ts';
import { formatProblem, ImportValidationError, importFacilities } from '../import/import-facilities.ts';
import { parseSourceCrs } from '../import/register-crs.ts';
import { importCommunities, importDistricts } from '../import/import-communities.ts';
import { terminalProgress } from '../progress.ts';
import { importPopulationGrid, importPopulationTable, type PopulationLevel } from '../import/import-population.ts';
import { parseColumnsOption } from '../import/register-columns.ts';
import { importSampleCity, prepareDataset, SAMPLE_CITY_NODES, SAMPLE_CITY_SEED } from '../import/default-data.ts';
import { computeCoverage } from '../coverage-run/compute-coverage.ts';
import { readStudyArea, setStudyArea } from '../import/import-study-area.ts';
import { activeDataset } from '../queries/datasets.ts';
import { rollBackOnSignal } from './signals.ts';
import { importRuleSetFile } from '../import/import-rule-set.ts';
import { RuleSetValidationError } from '../../geo/rules/index.ts';

const USAGE = `usage:
  npm run import -- osm <file.osm|file.osm.pbf> [--study-area <file.geojson>] [--name <dataset>] [--default]
      (--name: default the file's base name; an existing name gets a new vintage, other names stay served)
  npm run import -- facilities <file.csv|.xlsx|.geojson|.shp|.zip|.gpkg> --category <id>
      [--crs wgs84|gcj02|bd09|cgcs2000|EPSG:<code>] (required unless the file declares its CRS)
      [--encoding utf-8|gbk|gb18030] [--sheet <name>|--layer <name>]
      [--columns name=<header>,lng=<header>,lat=<header>,capacity=<header>,address=<header>]
      [--skip-invalid] [--allow-outside]
  npm run import -- communities <file.geojson> [--crs wgs84|gcj02|bd09] [--skip-invalid]
  npm run import -- districts <file.geojson> [--crs wgs84|gcj02|bd09] [--skip-invalid]
  npm run import -- population <table.csv|.xlsx> --level community|street|district --name-field <col> --value-field <col> [--elderly-field <col>] [--children-field <col>]
  npm run import -- population <grid.tif> [--band 1]
  npm run import -- sample-city [--nodes 20000] [--seed 15]
  npm run import -- rules <rule-set.json>   (schema: GET /api/rule-sets/schema, geo/rules/rule-set.schema.json)
An import recomputes coverage afterwards unless --no-compute is given.`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    category: { type: 'string' },
    crs: { type: 'string' },
    encoding: { type: 'string' },
    sheet: { type: 'string' },
    layer: { type: 'string' },
    columns: { type: 'string' },
    'allow-outside': { type: 'boolean', default: false },
    'skip-invalid': { type: 'boolean', default: false },
    nodes: { type: 'string' },
    seed: { type: 'string' },
    'no-compute': { type: 'boolean', default: false },
    level: { type: 'string' },
    'name-field': { type: 'string' },
    'value-field': { type: 'string' },
    'elderly-field': { type: 'string' },
    'children-field': { type: 'string' },
    band: { type: 'string' },
    'study-area': { type: 'string' },
    name: { type: 'string' },
    default: { type: 'boolean', default: false },
  },
});

const [what, file] = positionals;
const config = readConfig();
/** The server's engine files: a compute reads the network from there (and writes it when stale). */
const engineDir = path.join(config.dataDir, 'engine');
const progress = terminalProgress();
// Named, so that an interrupt can end exactly this import's server sessions.
const applicationName = `life-circle-import-${process.pid}`;
const databaseUrl = resolveDatabaseUrl(config);
const pool = createPool(databaseUrl, { max: 2, application_name: applicationName });
rollBackOnSignal(databaseUrl, applicationName, 'the import');

try {
  await migrate(databaseUrl);
  await grantAppRoleIfSeparate(databaseUrl, resolveAppDatabaseUrl(config));
  switch (what) {
    case 'osm': {
      if (!file) throw new Error(`missing the OSM file\n${USAGE}`);
      // read and check the study area first, so a bad file stops before anything is imported
      const studyFile = values['study-area'] ? path.resolve(values['study-area']) : null;
      const study = studyFile ? await readStudyArea(pool, studyFile) : null;
      const r = await importOsm(pool, path.resolve(file), { progress, name: values.name, isDefault: values.default });
      if (studyFile && study) await setStudyArea(pool, r.datasetId, studyFile, study);
      console.log(
        JSON.stringify({ dataset_id: r.datasetId, seconds: Number(r.seconds.toFixed(2)), counts: r.counts }, null, 2),
      );
      if (!values['no-compute']) await prepareDataset(pool, progress);
      break;
    }
    case 'sample-city': {
      const nodes = values.nodes ? Number(values.nodes) : SAMPLE_CITY_NODES;
      const seed = values.seed ? Number(values.seed) : SAMPLE_CITY_SEED;
      if (!Number.isInteger(nodes) || nodes < 1000 || nodes > 2_000_000)
        throw new Error(`--nodes must be a whole number from 1000 to 2000000, got ${values.nodes}`);
      if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got ${values.seed}`);
      const r = await importSampleCity(pool, config, { nodes, seed, progress });
      console.log(
        JSON.stringify({ dataset_id: r.datasetId, seconds: Number(r.seconds.toFixed(2)), counts: r.counts }, null, 2),
      );
      if (!values['no-compute']) await prepareDataset(pool, progress);
      break;
    }
    case 'facilities': {
      if (!file || !values.category) throw new Error(`facilities needs a file and --category\n${USAGE}`);
      const r = await importFacilities(pool, path.resolve(file), {
        category: values.category,
        crs: values.crs,
        encoding: values.encoding,
        layer: values.sheet ?? values.layer,
        columns: values.columns === undefined ? undefined : parseColumnsOption(values.columns),
        skipInvalid: values['skip-invalid'],
        allowOutsideNetwork: values['allow-outside'],
        progress,
      });
      for (const w of r.warnings) console.error(`warning: ${w}`);
      console.log(
        JSON.stringify(
          {
            dataset_id: r.datasetId,
            seconds: Number(r.seconds.toFixed(2)),
            crs: r.crs,
            counts: r.counts,
            replaced_osm: r.replacedOsm.length,
          },
          null,
          2,
        ),
      );
      // Only the rules counting the register's categories are recomputed; the rest are copied.
      if (!values['no-compute'] && (await activeDataset(pool)))
        await computeCoverage(pool, { progress, incremental: true, engineDir });
      break;
    }
    case 'communities':
    case 'districts': {
      if (!file) throw new Error(`missing the GeoJSON file\n${USAGE}`);
      const r = await (what === 'districts' ? importDistricts : importCommunities)(pool, path.resolve(file), {
        crs: values.crs === undefined ? undefined : parseSourceCrs(values.crs),
        skipInvalid: values['skip-invalid'],
        progress,
      });
      for (const w of r.warnings) console.error(`warning: ${w}`);
      console.log(
        JSON.stringify({ dataset_id: r.datasetId, seconds: Number(r.seconds.toFixed(2)), counts: r.counts }, null, 2),
      );
      if (!values['no-compute'] && (await activeDataset(pool))) await computeCoverage(pool, { progress, engineDir });
      break;
    }
    case 'population': {
      if (!file) throw new Error(`missing the population table or raster\n${USAGE}`);
      const isTable =
        values.level !== undefined || values['name-field'] !== undefined || values['value-field'] !== undefined;
      let r;
      if (isTable) {
        if (!values.level || !values['name-field'] || !values['value-field'])
          throw new Error(`a population table needs --level, --name-field and --value-field\n${USAGE}`);
        r = await importPopulationTable(pool, path.resolve(file), {
          level: values.level as PopulationLevel,
          nameField: values['name-field'],
          valueField: values['value-field'],
          elderlyField: values['elderly-field'],
          childrenField: values['children-field'],
          progress,
        });
      } else {
        const band = values.band === undefined ? 1 : Number(values.band);
        if (!Number.isInteger(band) || band < 1)
          throw new Error(`--band must be a whole number from 1, got ${values.band}`);
        r = await importPopulationGrid(pool, path.resolve(file), { band, progress });
      }
      for (const w of r.warnings) console.error(`warning: ${w}`);
      console.log(
        JSON.stringify({ dataset_id: r.datasetId, seconds: Number(r.seconds.toFixed(2)), counts: r.counts }, null, 2),
      );
      if (!values['no-compute']) await computeCoverage(pool, { progress, engineDir });
      break;
    }
    case 'rules': {
      if (!file) throw new Error(`missing the rule set file\n${USAGE}`);
      const r = await importRuleSetFile(pool, path.resolve(file));
      console.log(JSON.stringify(r, null, 2));
      if (r.created && !values['no-compute'] && (await activeDataset(pool)))
        await computeCoverage(pool, { progress, engineDir });
      break;
    }
    default:
      throw new Error(USAGE);
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  if (err instanceof ImportValidationError) for (const p of err.problems) console.error(formatProblem(p));
  if (err instanceof RuleSetValidationError) for (const p of err.problems) console.error(`  ${p}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}

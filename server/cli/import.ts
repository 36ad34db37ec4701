import path from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from '../db/pool.ts';
import { readConfig } from '../config.ts';
import { resolveDatabaseUrl } from '../db/local-cluster.ts';
import { migrate } from '../db/migrate.ts';
import { importOsm } from '../import/import-osm.ts';
import { formatProblem, ImportValidationError, importFacilities, parseSourceCrs } from '../import/import-facilities.ts';
import { importCommunities, importDistricts } from '../import/import-communities.ts';
import { terminalProgress } from '../import/progress.ts';
import { importSampleCity, prepareDataset, SAMPLE_CITY_NODES, SAMPLE_CITY_SEED } from '../import/default-data.ts';
import { computeCoverage } from '../engine/compute-coverage.ts';
import { readStudyArea, setStudyArea } from '../import/import-study-area.ts';
import { activeDataset } from '../queries/datasets.ts';

const USAGE = `usage:
  npm run import -- osm <file.osm|file.osm.pbf> [--study-area <file.geojson>]
  npm run import -- facilities <file.csv|file.geojson> --category <id> --crs wgs84|gcj02|bd09 [--skip-invalid]
  npm run import -- communities <file.geojson> [--crs wgs84|gcj02|bd09] [--skip-invalid]
  npm run import -- districts <file.geojson> [--crs wgs84|gcj02|bd09] [--skip-invalid]
  npm run import -- sample-city [--nodes 20000] [--seed 15]
An import recomputes coverage afterwards unless --no-compute is given.`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    category: { type: 'string' },
    crs: { type: 'string' },
    'skip-invalid': { type: 'boolean', default: false },
    nodes: { type: 'string' },
    seed: { type: 'string' },
    'no-compute': { type: 'boolean', default: false },
    'study-area': { type: 'string' },
  },
});

const [what, file] = positionals;
const config = readConfig();
const progress = terminalProgress();
const pool = createPool(resolveDatabaseUrl(config), { max: 2 });
try {
  await migrate(resolveDatabaseUrl(config));
  switch (what) {
    case 'osm': {
      if (!file) throw new Error(`missing the OSM file\n${USAGE}`);
      // read and check the study area first, so a bad file stops before anything is imported
      const studyFile = values['study-area'] ? path.resolve(values['study-area']) : null;
      const study = studyFile ? await readStudyArea(pool, studyFile) : null;
      const r = await importOsm(pool, path.resolve(file), { progress });
      if (studyFile && study) await setStudyArea(pool, r.datasetId, studyFile, study);
      console.log(JSON.stringify({ dataset_id: r.datasetId, seconds: Number(r.seconds.toFixed(2)), counts: r.counts }, null, 2));
      if (!values['no-compute']) await prepareDataset(pool, progress);
      break;
    }
    case 'sample-city': {
      const nodes = values.nodes ? Number(values.nodes) : SAMPLE_CITY_NODES;
      const seed = values.seed ? Number(values.seed) : SAMPLE_CITY_SEED;
      if (!Number.isInteger(nodes) || nodes < 1000 || nodes > 2_000_000) throw new Error(`--nodes must be a whole number from 1000 to 2000000, got ${values.nodes}`);
      if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got ${values.seed}`);
      const r = await importSampleCity(pool, config, { nodes, seed, progress });
      console.log(JSON.stringify({ dataset_id: r.datasetId, seconds: Number(r.seconds.toFixed(2)), counts: r.counts }, null, 2));
      if (!values['no-compute']) await prepareDataset(pool, progress);
      break;
    }
    case 'facilities': {
      if (!file || !values.category || !values.crs) throw new Error(`facilities needs a file, --category and --crs\n${USAGE}`);
      const r = await importFacilities(pool, path.resolve(file), {
        category: values.category, crs: parseSourceCrs(values.crs), skipInvalid: values['skip-invalid'], progress,
      });
      for (const w of r.warnings) console.error(`warning: ${w}`);
      console.log(JSON.stringify({ dataset_id: r.datasetId, seconds: Number(r.seconds.toFixed(2)), counts: r.counts }, null, 2));
      if (!values['no-compute'] && (await activeDataset(pool))) await computeCoverage(pool, { progress });
      break;
    }
    case 'communities':
    case 'districts': {
      if (!file) throw new Error(`missing the GeoJSON file\n${USAGE}`);
      const r = await (what === 'districts' ? importDistricts : importCommunities)(pool, path.resolve(file), {
        crs: values.crs === undefined ? undefined : parseSourceCrs(values.crs), skipInvalid: values['skip-invalid'], progress,
      });
      for (const w of r.warnings) console.error(`warning: ${w}`);
      console.log(JSON.stringify({ dataset_id: r.datasetId, seconds: Number(r.seconds.toFixed(2)), counts: r.counts }, null, 2));
      if (!values['no-compute'] && (await activeDataset(pool))) await computeCoverage(pool, { progress });
      break;
    }
    default:
      throw new Error(USAGE);
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  if (err instanceof ImportValidationError) for (const p of err.problems) console.error(formatProblem(p));
  process.exitCode = 1;
} finally {
  await pool.end();
}

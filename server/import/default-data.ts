import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { activeDataset, servingState } from '../queries/datasets.ts';
import { importDistricts } from './import-communities.ts';
import { importOsm } from './import-osm.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { importDefaultSampleRegisters, SAMPLE_REGISTERS_BBOX } from './sample-registers.ts';
import { generateSampleCity } from '../../geo/sample-city.ts';
import { writeOsmXml } from './write-osm-xml.ts';
import { computeCoverage } from '../coverage-run/compute-coverage.ts';

/** Size of the generated sample city when the real Chengdu file is absent. */
export const SAMPLE_CITY_NODES = 20_000;
export const SAMPLE_CITY_SEED = 15;

/**
 * What `npm start` loads when no dataset is there: the real Chengdu OSM file when present, with the
 * shipped sample registers of elderly care and service centres (OSM has none there) and the
 * district boundaries beside it (real OSM data, when present); otherwise a
 * generated sample city. Then coverage is computed. When a dataset is loaded but has no complete
 * coverage run (an importer stopped after its commit), it is prepared and computed now.
 */
export async function loadDefaultData(
  pool: pg.Pool,
  config: Config,
  progress: Progress = silentProgress,
): Promise<void> {
  if (await activeDataset(pool)) {
    const state = await servingState(pool);
    if (!state.newestHasResults) {
      progress.step(
        `dataset ${state.newestDatasetId} has no complete coverage run (an import stopped before its compute?): computing it now`,
      );
      await prepareDataset(pool, progress);
    }
    return;
  }
  if (fs.existsSync(config.defaultOsmFile)) {
    progress.step(`no dataset loaded: importing ${config.defaultOsmFile}`);
    await importOsm(pool, config.defaultOsmFile, { progress });
    if (
      fs.existsSync(config.defaultDistrictsFile) &&
      !(await pool.query(`SELECT 1 FROM datasets WHERE kind = 'districts'`)).rowCount
    ) {
      progress.step(`importing the district boundaries ${config.defaultDistrictsFile}`);
      await importDistricts(pool, config.defaultDistrictsFile, { progress });
    }
  } else {
    progress.step(`no dataset loaded and ${config.defaultOsmFile} is absent: generating a sample city`);
    await importSampleCity(pool, config, { nodes: SAMPLE_CITY_NODES, seed: SAMPLE_CITY_SEED, progress });
  }
  await prepareDataset(pool, progress);
}

/** Generate the seeded sample city as OSM XML under the data folder and import it, flagged sample. */
export async function importSampleCity(
  pool: pg.Pool,
  config: Config,
  o: { nodes: number; seed: number; progress?: Progress },
) {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const file = path.join(config.dataDir, `sample-city-${o.seed}-${o.nodes}.osm`);
  await writeOsmXml(generateSampleCity({ seed: o.seed, targetNodes: o.nodes }), file);
  return importOsm(pool, file, {
    progress: o.progress,
    kind: 'sample_city',
    isSample: true,
    sourceName: `generated sample city (示例), seed ${o.seed}, ${o.nodes} nodes`,
  });
}

/**
 * After an OSM import: add the shipped sample registers where the dataset has no elderly-care or
 * community-service facilities and its data lies in central Chengdu (the registers' bbox), then
 * compute coverage for every rule set.
 */
export async function prepareDataset(pool: pg.Pool, progress: Progress = silentProgress): Promise<void> {
  const ds = await activeDataset(pool);
  if (!ds) throw new Error('no dataset loaded');
  const inChengdu =
    (
      await pool.query(
        `SELECT bbox IS NOT NULL AND ST_Intersects(bbox, ST_MakeEnvelope($2, $3, $4, $5, 4326)) AS yes FROM datasets WHERE id = $1`,
        [ds.id, ...SAMPLE_REGISTERS_BBOX],
      )
    ).rows[0]?.yes === true;
  if (ds.kind === 'osm' && inChengdu) {
    // OSM Chengdu has no elderly care, and its few community_service hits are government offices,
    // not 社区综合服务中心: the shipped sample registers fill in (never over a real register).
    progress.step(
      'adding the shipped sample registers of elderly care and community service (示例 / sample) where no real register exists',
    );
    await importDefaultSampleRegisters(pool, ['elderly_care', 'community_service']);
  }
  await computeCoverage(pool, { progress });
}

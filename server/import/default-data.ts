import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { activeDataset } from '../queries/datasets.ts';
import { importOsm } from './import-osm.ts';
import { silentProgress, type Progress } from './progress.ts';
import { importDefaultSampleRegisters } from './sample-registers.ts';
import { generateSampleCity } from '../../geo/sample-city.ts';
import { writeOsmXml } from '../../geo/write-osm-xml.ts';
import { computeCoverage } from '../engine/compute-coverage.ts';

/** Size of the generated sample city when the real Chengdu file is absent. */
export const SAMPLE_CITY_NODES = 20_000;
export const SAMPLE_CITY_SEED = 15;

/**
 * What `npm start` loads when no dataset is there: the real Chengdu OSM file when present, with the
 * shipped sample registers of elderly care and service centres (OSM has none there); otherwise a
 * generated sample city. Then coverage is computed. Does nothing when a dataset is loaded.
 */
export async function loadDefaultData(pool: pg.Pool, config: Config, progress: Progress = silentProgress): Promise<void> {
  if (await activeDataset(pool)) return;
  if (fs.existsSync(config.defaultOsmFile)) {
    progress.step(`no dataset loaded: importing ${config.defaultOsmFile}`);
    await importOsm(pool, config.defaultOsmFile, { progress });
  } else {
    progress.step(`no dataset loaded and ${config.defaultOsmFile} is absent: generating a sample city`);
    fs.mkdirSync(config.dataDir, { recursive: true });
    const file = path.join(config.dataDir, `sample-city-${SAMPLE_CITY_SEED}-${SAMPLE_CITY_NODES}.osm`);
    await writeOsmXml(generateSampleCity({ seed: SAMPLE_CITY_SEED, targetNodes: SAMPLE_CITY_NODES }), file);
    await importOsm(pool, file, { progress, kind: 'sample_city', isSample: true, sourceName: 'generated sample city (示例)' });
  }
  await prepareDataset(pool, progress);
}

/**
 * After an OSM import: add the shipped sample registers where the dataset has no elderly-care or
 * community-service facilities, then compute coverage for every rule set.
 */
export async function prepareDataset(pool: pg.Pool, progress: Progress = silentProgress): Promise<void> {
  const ds = await activeDataset(pool);
  if (!ds) throw new Error('no dataset loaded');
  if (ds.kind === 'osm') {
    const missing = ['elderly_care', 'community_service'].filter((c) => !(ds.counts.facilities[c] > 0));
    if (missing.length) {
      progress.step(`the data has no ${missing.join(' / ')}: adding the shipped sample registers (示例 / sample)`);
      await importDefaultSampleRegisters(pool, missing);
    }
  }
  await computeCoverage(pool, { progress });
}

import path from 'node:path';
import type pg from 'pg';
import { projectRoot } from '../config.ts';
import { importFacilities, type ImportFacilitiesResult } from './import-facilities.ts';
import type { Progress } from '../progress.ts';

/**
 * Registers the project ships for categories OSM Chengdu lacks (README "Sample registers"):
 * invented entries, named "示例 … (sample)", in GCJ-02 as an AMap export would give them.
 */
export const SAMPLE_REGISTERS = [
  {
    category: 'elderly_care',
    file: path.join(projectRoot, 'server', 'sample-data', 'chengdu-sample-elderly-care.csv'),
  },
  {
    category: 'community_service',
    file: path.join(projectRoot, 'server', 'sample-data', 'chengdu-sample-community-service.csv'),
  },
] as const;

/**
 * Where the sample registers belong: central Chengdu, the bbox of the shipped OSM extract
 * (../shared/data/README.md: 104.0421–104.1296 E, 30.6528–30.7279 N), [west, south, east, north]
 * in WGS 84. They are added only to data that intersects it; a test checks every entry lies inside.
 */
export const SAMPLE_REGISTERS_BBOX = [104.0421, 30.6528, 104.1296, 30.7279] as const;

export interface SampleRegisterOutcome {
  category: string;
  /** The import, or null when the category already has a real (non-sample) register, which is kept. */
  result: ImportFacilitiesResult | null;
}

/**
 * Import the shipped sample registers (all of them, or those of `categories`) with
 * isSample = true and crs gcj02, each replacing the previous sample register of its category.
 * A category that already has a real register is left alone: sample data never replaces real data.
 */
export async function importDefaultSampleRegisters(
  pool: pg.Pool,
  categories?: readonly string[],
  options: { progress?: Progress } = {},
): Promise<SampleRegisterOutcome[]> {
  const wanted = SAMPLE_REGISTERS.filter((r) => !categories || categories.includes(r.category));
  const { rows } = await pool.query<{ category: string }>(
    `SELECT DISTINCT category FROM datasets WHERE kind = 'facility_register' AND NOT is_sample AND category = ANY($1::text[])`,
    [wanted.map((r) => r.category)],
  );
  const hasReal = new Set(rows.map((r) => r.category));
  const outcomes: SampleRegisterOutcome[] = [];
  for (const r of wanted) {
    if (hasReal.has(r.category)) {
      outcomes.push({ category: r.category, result: null });
      continue;
    }
    const result = await importFacilities(pool, r.file, {
      category: r.category,
      crs: 'gcj02',
      isSample: true,
      allowOutsideNetwork: true,
      progress: options.progress,
    });
    outcomes.push({ category: r.category, result });
  }
  return outcomes;
}

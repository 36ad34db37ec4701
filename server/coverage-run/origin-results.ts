import type pg from 'pg';
import { FLAG_COVERED, FLAG_STRAIGHT_COVERED, type CompactRuleCoverage } from '../../geo/coverage.ts';
import type { ReachOutcome } from '../../geo/distance-field.ts';
import { copyBinaryRows } from '../db/copy-binary.ts';

/**
 * Outcome codes of the flags column (migrations/0170): bits 0–1. The same codes and flag bits as
 * the engine's compact results (geo/coverage.ts OUTCOME_CODES), so flags are written as they are.
 */
export const OUTCOME_CODE: Record<ReachOutcome, number> = { distance: 0, beyond_cap: 1, no_path: 2, no_data: 3 };
export { FLAG_COVERED, FLAG_STRAIGHT_COVERED };

/** Metres to whole centimetres, as the old per-origin table rounded them (Math.round(x * 100) / 100); NaN stays NaN (null). */
const toCm = (m: number): number => Math.round(m * 100);

/**
 * Write a run's per-origin results in the compact storage: the run's origin list once, then one
 * row per rule with arrays aligned to it (binary COPY). Readers use the view
 * coverage_origin_results (one row per origin and rule).
 */
export async function persistOriginResults(
  client: pg.PoolClient,
  runId: number,
  originIds: readonly number[],
  coverage: readonly CompactRuleCoverage[],
  sameOriginsAsRun?: number,
): Promise<void> {
  if (sameOriginsAsRun === undefined) {
    await copyBinaryRows(
      client,
      'coverage_run_origins',
      ['run_id', 'origin_ids'],
      [
        [
          { type: 'int4', value: runId },
          { type: 'int8[]', value: originIds },
        ],
      ],
    );
  } else {
    // An incremental run: the same origins in the same order as the run it copies from.
    await client.query(
      'INSERT INTO coverage_run_origins (run_id, origin_ids) SELECT $1, origin_ids FROM coverage_run_origins WHERE run_id = $2',
      [runId, sameOriginsAsRun],
    );
  }
  function* rows() {
    const n = originIds.length;
    for (const rc of coverage) {
      const r = rc.results;
      if (r.flags.length !== n)
        throw new Error(`rule ${rc.ruleSetId}/${rc.ruleId}: ${r.flags.length} results for ${n} origins`);
      const network = new Float64Array(n);
      const straight = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        network[i] = toCm(r.networkM[i]);
        straight[i] = toCm(r.straightM[i]);
      }
      const facility = r.facilityId;
      const flags = r.flags;
      yield [
        { type: 'int4', value: runId },
        { type: 'text', value: rc.ruleSetId },
        { type: 'text', value: rc.ruleId },
        { type: 'int4[]', value: network, isNull: (i: number) => Number.isNaN(network[i]) },
        { type: 'int4[]', value: straight, isNull: (i: number) => Number.isNaN(straight[i]) },
        { type: 'int8[]', value: facility, isNull: (i: number) => Number.isNaN(facility[i]) },
        { type: 'int2[]', value: flags },
      ] as const;
    }
  }
  await copyBinaryRows(
    client,
    'coverage_rule_origins',
    ['run_id', 'rule_set_id', 'rule_id', 'network_cm', 'straight_cm', 'facility_ids', 'flags'],
    rows(),
  );
}

/** Copy the per-origin results of `rules` (rule set id, rule id) from run `fromRun` to run `toRun`. */
export async function copyRuleResults(
  client: pg.PoolClient,
  fromRun: number,
  toRun: number,
  rules: readonly (readonly [string, string])[],
): Promise<void> {
  const { rowCount } = await client.query(
    `INSERT INTO coverage_rule_origins (run_id, rule_set_id, rule_id, network_cm, straight_cm, facility_ids, flags)
     SELECT $1, rule_set_id, rule_id, network_cm, straight_cm, facility_ids, flags FROM coverage_rule_origins
     WHERE run_id = $2 AND (rule_set_id, rule_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
    [toRun, fromRun, rules.map((r) => r[0]), rules.map((r) => r[1])],
  );
  if (rowCount !== rules.length)
    throw new Error(`run ${fromRun} holds ${rowCount} of the ${rules.length} rules to copy into run ${toRun}`);
}

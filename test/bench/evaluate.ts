import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { computeFields, evaluateCoverageCompact, snapOrigin } from '../../geo/coverage.ts';
import { referenceEvaluateCoverage } from '../../geo/fixtures/coverage-reference.ts';
import { RULE_SETS } from '../../geo/rules/index.ts';
import { readConfig } from '../../server/config.ts';
import { loadOrigins } from '../../server/network/load-network.ts';
import { loadNetworkCached } from '../../server/network/network-file.ts';
import { applyStudyArea } from '../../server/network/study-area.ts';
import { activeDataset } from '../../server/queries/datasets.ts';

// node --max-old-space-size=12000 --import tsx test/bench/evaluate.ts --database-url <url of an imported city> [--runs 2]
//
// The evaluation phase of a compute alone, the compact evaluation against the per-object oracle it
// replaced (geo/fixtures/coverage-reference.ts), on the same network, fields and origins,
// interleaved in one process so both see the same load. Prints one JSON line per run and the
// ratio. Reported, not asserted.

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const url = arg('database-url');
if (!url) throw new Error('--database-url is required');
const runs = Number(arg('runs') ?? 2);
const pool = new pg.Pool({ connectionString: url, max: 2 });
try {
  const ds = (await activeDataset(pool))!;
  const { net } = await loadNetworkCached(pool, ds.id, path.join(readConfig().dataDir, 'engine'));
  const loaded = await loadOrigins(pool, ds.id, net.compounds);
  const { origins } = await applyStudyArea(pool, ds.id, loaded.origins);
  const fields = computeFields(net, RULE_SETS);
  const snaps = origins.map((o) => snapOrigin(net, o.lng, o.lat, o.compound));
  const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const time = (f: () => unknown) => {
    const t = performance.now();
    f();
    return Math.round(performance.now() - t);
  };
  for (let r = 0; r < runs; r++) {
    const before = loadavg();
    const reference_ms = time(() => referenceEvaluateCoverage(net, fields, RULE_SETS, origins, snaps));
    const compact_ms = time(() => evaluateCoverageCompact(net, fields, RULE_SETS, origins, snaps));
    console.log(
      JSON.stringify({
        origins: origins.length,
        rules: RULE_SETS.reduce((a, rs) => a + rs.rules.length, 0),
        reference_ms,
        compact_ms,
        ratio: Math.round((compact_ms / reference_ms) * 100) / 100,
        loadavg: `${before} → ${loadavg()}`,
      }),
    );
  }
} finally {
  await pool.end();
}

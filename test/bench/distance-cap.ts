/**
 * What the distance cap costs (issue 13): every distance field searched to DISTANCE_CAP_M, against
 * the bounds the fields had before (each rule tier to its own limit, categories to 2000 m), on the
 * loaded dataset of DATABASE_URL, in one run, interleaved. Also times evaluateCoverage (which now
 * tells beyond_cap from no_path) over the dataset's origins.
 *
 *   DATABASE_URL=… npx tsx test/bench/distance-cap.ts [--runs 7]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { CATEGORIES, type CategoryId } from '../../geo/categories.ts';
import { DISTANCE_CAP_M, evaluateCoverage, fieldFilters, snapOrigin } from '../../geo/coverage.ts';
import { computeDistanceField, createSearch, sourceFilterKey, type SourceFilter } from '../../geo/distance-field.ts';
import { RULE_SETS, tierFilter } from '../../geo/rules/index.ts';
import { createPool } from '../../server/db/pool.ts';
import { loadNetwork, loadOrigins } from '../../server/network/load-network.ts';
import { applyStudyArea } from '../../server/network/study-area.ts';
import { activeDataset } from '../../server/queries/datasets.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL to a database with a dataset loaded and computed');
const pool = createPool(url, { max: 1 });
try {
  const ds = await activeDataset(pool);
  if (!ds) throw new Error('no dataset loaded');
  const net = await loadNetwork(pool, ds.id);
  const { origins } = await applyStudyArea(pool, ds.id, (await loadOrigins(pool, ds.id, net.compounds)).origins);
  const search = createSearch(net.graph);
  const publicEdge = (e: number) => net.edgeIsPrivate[e] === 0;

  // the bounds before the cap: categories 2000 m, each tier its own limit (the largest per filter)
  const before = new Map<string, { filter: SourceFilter; maxDistM: number }>();
  const add = (filter: SourceFilter, m: number) => {
    const k = sourceFilterKey(filter);
    before.set(k, { filter, maxDistM: Math.max(m, before.get(k)?.maxDistM ?? 0) });
  };
  for (const c of CATEGORIES) add({ categories: [c.id as CategoryId] }, 2000);
  for (const rs of RULE_SETS) for (const r of rs.rules) for (const t of r.tiers) add(tierFilter(t), t.maxDistanceM);
  const after = fieldFilters(RULE_SETS);

  const time = (specs: readonly { filter: SourceFilter; maxDistM: number }[]) => {
    const t = performance.now();
    let reached = 0;
    const fields = new Map();
    for (const s of specs) {
      const f = computeDistanceField(
        net.graph,
        net.snapIndex,
        search,
        net.facilities,
        s.filter,
        s.maxDistM,
        publicEdge,
      );
      reached += f.result.reached.length;
      fields.set(f.key, f);
    }
    return { ms: performance.now() - t, reached, fields };
  };
  const tb: number[] = [],
    ta: number[] = [],
    te: number[] = [];
  let reachedBefore = 0,
    reachedAfter = 0;
  const snaps = origins.map((o) => snapOrigin(net, o.lng, o.lat, o.compound));
  for (let i = 0; i < runs; i++) {
    const b = time([...before.values()]);
    const a = time(after);
    tb.push(b.ms);
    ta.push(a.ms);
    reachedBefore = b.reached;
    reachedAfter = a.reached;
    const t = performance.now();
    evaluateCoverage(net, a.fields, RULE_SETS, origins, snaps);
    te.push(performance.now() - t);
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  console.log(
    JSON.stringify(
      {
        dataset: ds.source,
        nodes: net.graph.nodeCount,
        edges: net.graph.edgeCount,
        origins: origins.length,
        fields: after.length,
        runs,
        cap_m: DISTANCE_CAP_M,
        fields_ms_before_bounds: Math.round(med(tb) * 10) / 10,
        fields_ms_cap: Math.round(med(ta) * 10) / 10,
        ratio: Math.round((med(ta) / med(tb)) * 100) / 100,
        labelled_nodes_before: reachedBefore,
        labelled_nodes_cap: reachedAfter,
        evaluate_ms: Math.round(med(te) * 10) / 10,
        node: process.version,
        cpus: os.cpus().length,
        loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10),
      },
      null,
      2,
    ),
  );
} finally {
  await pool.end();
}

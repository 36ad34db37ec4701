import type { DatasetCompareResponse } from '../../api/datasets.ts';
import type { AreaRuleFigures } from '../queries/datasets.ts';

export type { AreaRuleFigures };

export type CompareRow = DatasetCompareResponse['rows'][number];

const difference = (after: number | null, before: number | null): number | null =>
  after === null || before === null ? null : after - before;

/**
 * Two runs' per-area figures side by side: one row per (area, rule) present in either run, the
 * share and covered population before and after, and their changes (after − before; null when the
 * area or its share is missing on one side). Rows in area key then rule order. O(n log n).
 */
export function compareAreaFigures(
  before: readonly AreaRuleFigures[],
  after: readonly AreaRuleFigures[],
): CompareRow[] {
  const key = (r: AreaRuleFigures) => `${r.area_key}\u0000${r.rule_id}`;
  const byKey = new Map<string, { before?: AreaRuleFigures; after?: AreaRuleFigures }>();
  for (const r of before) byKey.set(key(r), { before: r });
  for (const r of after) {
    const e = byKey.get(key(r));
    if (e) e.after = r;
    else byKey.set(key(r), { after: r });
  }
  const rows: CompareRow[] = [];
  for (const { before: b, after: a } of byKey.values()) {
    const any = (a ?? b)!;
    const shareBefore = b ? b.share : null;
    const shareAfter = a ? a.share : null;
    const coveredBefore = b ? b.covered_population : null;
    const coveredAfter = a ? a.covered_population : null;
    rows.push({
      area_key: any.area_key,
      area_name: a?.area_name ?? b?.area_name ?? null,
      rule_id: any.rule_id,
      measure: any.measure,
      share_before: shareBefore,
      share_after: shareAfter,
      share_change: difference(shareAfter, shareBefore),
      population_before: b ? b.population : null,
      population_after: a ? a.population : null,
      covered_before: coveredBefore,
      covered_after: coveredAfter,
      covered_change: difference(coveredAfter, coveredBefore),
    });
  }
  return rows.sort((x, y) =>
    x.area_key === y.area_key
      ? x.rule_id < y.rule_id
        ? -1
        : x.rule_id > y.rule_id
          ? 1
          : 0
      : compareKeys(x.area_key, y.area_key),
  );
}

/** Area keys in numeric order when both are integers (community ids), else as strings. */
function compareKeys(a: string, b: string): number {
  const na = Number(a),
    nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

import type { CompareAreaProperties, DatasetCompareResponse } from '../../api/datasets.ts';
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

/**
 * The rows of a comparison grouped by area (first-seen order, i.e. compareAreaFigures' order), with
 * which runs the area has results in and the population caveats of each side's coverage rows
 * (`population_estimated`, `is_approximate` as GET /api/coverage gives them). O(rows + areas).
 */
export function compareAreas(
  rows: readonly CompareRow[],
  before: readonly { area_key: string; population_estimated: boolean; is_approximate: boolean }[],
  after: readonly { area_key: string; population_estimated: boolean; is_approximate: boolean }[],
): CompareAreaProperties[] {
  const b = new Map(before.map((a) => [a.area_key, a]));
  const a = new Map(after.map((x) => [x.area_key, x]));
  const areas = new Map<string, CompareAreaProperties>();
  for (const r of rows) {
    let area = areas.get(r.area_key);
    if (!area) {
      const inBefore = b.get(r.area_key);
      const inAfter = a.get(r.area_key);
      area = {
        area_key: r.area_key,
        area_name: r.area_name,
        side: 'both',
        population_estimated_before: inBefore ? Boolean(inBefore.population_estimated) : null,
        population_estimated_after: inAfter ? Boolean(inAfter.population_estimated) : null,
        is_approximate: Boolean(inBefore?.is_approximate || inAfter?.is_approximate),
        rules: {},
      };
      areas.set(r.area_key, area);
    }
    area.rules[r.rule_id] = r;
  }
  // an area is on one side when none of its rules has figures on the other
  for (const area of areas.values()) {
    const rs = Object.values(area.rules);
    const hasBefore = rs.some((r) => r.population_before !== null);
    const hasAfter = rs.some((r) => r.population_after !== null);
    area.side = hasBefore && hasAfter ? 'both' : hasBefore ? 'from_only' : 'to_only';
  }
  return [...areas.values()];
}

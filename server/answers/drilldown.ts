import type pg from 'pg';
import { ApiError } from '../errors.ts';
import {
  areaOrigins,
  areaResult,
  facilitySummaries,
  type DrilldownLevel,
  type DrilldownOrigin,
  type FacilitySummary,
} from '../queries/drilldown.ts';
import { DISTANCE_CAP_M } from '../../geo/coverage.ts';
import { CATEGORIES } from '../../geo/categories.ts';
import type { Rule, RuleSet } from '../../geo/rules/index.ts';

export type Outcome = DrilldownOrigin['outcome'];
const OUTCOMES: readonly Outcome[] = ['distance', 'beyond_cap', 'no_path', 'no_data'];

/** Histogram bin width: about twelve bins up to the rule's limit, at least 25 m, on a 25 m grid. */
export function binWidthM(limitM: number): number {
  return Math.max(25, Math.round(limitM / 12 / 25) * 25);
}

export function ruleLimitM(rule: Rule): number {
  return Math.max(...rule.tiers.map((t) => t.maxDistanceM));
}

export interface Histogram {
  bin_m: number;
  limit_m: number;
  bins: { from_m: number; to_m: number; origins: number; population: number }[];
  origins_by_outcome: Record<Outcome, number>;
  population_by_outcome: Record<Outcome, number>;
}

/**
 * Walking distances of an area's origins in bins [from, to) of `binM`, up to the farthest distance
 * present (the cap at most); every origin lands in exactly one bin or one non-distance outcome.
 */
export function distanceHistogram(origins: readonly DrilldownOrigin[], limitM: number): Histogram {
  const binM = binWidthM(limitM);
  const zero = () => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const originsBy = zero(),
    populationBy = zero();
  let maxM = limitM;
  for (const o of origins) {
    originsBy[o.outcome]++;
    populationBy[o.outcome] += o.population;
    if (o.outcome === 'distance' && o.network_m !== null) maxM = Math.max(maxM, o.network_m);
  }
  const n = Math.max(1, Math.floor(Math.min(maxM, DISTANCE_CAP_M) / binM) + 1);
  const bins = Array.from({ length: n }, (_, i) => ({
    from_m: i * binM,
    to_m: (i + 1) * binM,
    origins: 0,
    population: 0,
  }));
  for (const o of origins) {
    if (o.outcome !== 'distance' || o.network_m === null) continue;
    const b = bins[Math.min(n - 1, Math.floor(o.network_m / binM))];
    b.origins++;
    b.population += o.population;
  }
  for (const b of bins) b.population = Math.round(b.population * 1000) / 1000;
  return { bin_m: binM, limit_m: limitM, bins, origins_by_outcome: originsBy, population_by_outcome: populationBy };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

function ruleWords(rule: Rule): string {
  return rule.tiers
    .map((t) => {
      const names = t.categories.map((c) => (CATEGORIES.find((x) => x.id === c)?.en ?? c).toLowerCase()).join(' or ');
      return `${names}${t.minAreaM2 ? ` ≥ ${fmt(t.minAreaM2)} m²` : ''} within ${fmt(t.maxDistanceM)} m`;
    })
    .join(', or ');
}

/** One plain sentence saying how many residents the rule leaves out and where the nearest is. */
export function drilldownSentence(
  rule: Rule,
  population: number,
  uncovered: number,
  nearest: { name: string | null; median_m: number } | undefined,
  noData: boolean,
): string {
  if (noData) return `Not assessable: no facility the rule "${rule.en}" counts is in the data; import a register.`;
  if (population <= 0) return 'No residents with a result live in this area.';
  const head = `${fmt(uncovered)} of ${fmt(population)} residents do not have ${ruleWords(rule)}`;
  if (!uncovered) return `All ${fmt(population)} residents have ${ruleWords(rule)}.`;
  if (!nearest) return `${head}; none of them can reach one within ${fmt(DISTANCE_CAP_M)} m.`;
  return `${head}; the nearest for most of them is ${nearest.name ?? 'an unnamed facility'} at a median ${fmt(nearest.median_m)} m walk.`;
}

/** The drill-down of one area and rule in the given run (the drill-down route's answer; the printable report uses it too). */
export async function computeDrilldown(
  db: pg.Pool,
  datasetId: number,
  runId: number,
  rs: RuleSet,
  rule: Rule,
  level: DrilldownLevel,
  id: string,
  maxPoints: number,
) {
  const result = await areaResult(db, runId, rs.id, level, id, rule.id);
  if (!result) throw new ApiError('not_found', `no ${level} ${id} with results in run ${runId}`);
  const origins = await areaOrigins(db, runId, rs.id, level, id, rule.id);
  const limitM = ruleLimitM(rule);
  const uncovered = origins.filter((o) => !o.covered);
  const population = origins.reduce((s, o) => s + o.population, 0);
  const uncoveredPopulation = uncovered.reduce((s, o) => s + o.population, 0);
  const uncoveredBy = Object.fromEntries(
    OUTCOMES.map((k) => [k, uncovered.filter((o) => o.outcome === k).reduce((s, o) => s + o.population, 0)]),
  );

  const byFacility = new Map<string, { population: number; distances: number[] }>();
  for (const o of uncovered) {
    if (o.outcome !== 'distance' || o.facility_id === null || o.network_m === null) continue;
    const f = byFacility.get(o.facility_id) ?? { population: 0, distances: [] };
    f.population += o.population;
    f.distances.push(o.network_m);
    byFacility.set(o.facility_id, f);
  }
  const top = [...byFacility.entries()]
    .sort((a, b) => b[1].population - a[1].population || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5);
  const facilities = await facilitySummaries(
    db,
    top.map(([fid]) => fid),
  );
  const nearest = top.flatMap(([fid, f]) => {
    const s = facilities.get(fid) as FacilitySummary | undefined;
    return s
      ? [
          {
            facility_id: fid,
            name: s.name,
            category: s.category,
            lng: s.lng,
            lat: s.lat,
            is_sample: s.is_sample,
            population: Math.round(f.population),
            median_m: Math.round(median(f.distances)),
          },
        ]
      : [];
  });

  const caveats: { code: string; message: string }[] = [];
  if (result.no_data)
    caveats.push({
      code: 'no_data',
      message: "No facility of this rule's categories is in the data: the rule cannot be judged here.",
    });
  if (uncoveredBy.beyond_cap > 0)
    caveats.push({
      code: 'beyond_cap',
      message: `${fmt(uncoveredBy.beyond_cap)} uncovered residents have no facility within ${fmt(DISTANCE_CAP_M)} m of walking (distances are counted up to there).`,
    });
  if (uncoveredBy.no_path > 0)
    caveats.push({
      code: 'no_path',
      message: `${fmt(uncoveredBy.no_path)} uncovered residents live on a piece of the street network with no such facility at all (often a gap in the mapped footpaths).`,
    });
  if (result.uncovered_near_edge_population > 0)
    caveats.push({
      code: 'edge_of_data',
      message: `${fmt(result.uncovered_near_edge_population)} uncovered residents live near the edge of the data: a facility outside the extract may serve them.`,
    });
  if (nearest.some((f) => f.is_sample))
    caveats.push({
      code: 'sample_facilities',
      message: 'Some of the nearest facilities are sample data, not a real register.',
    });

  const features = uncovered.slice(0, maxPoints).map((o) => ({
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [o.lng, o.lat] },
    properties: {
      origin_id: o.origin_id,
      population: o.population,
      outcome: o.outcome,
      network_m: o.network_m === null ? null : Math.round(o.network_m),
      straight_m: o.straight_m === null ? null : Math.round(o.straight_m),
      facility_id: o.facility_id,
    },
  }));
  return {
    rule_set: rs.id,
    level,
    area_key: id,
    area_name: result.area_name,
    run_id: runId,
    dataset_id: datasetId,
    rule: {
      id: rule.id,
      zh: rule.zh,
      en: rule.en,
      limit_m: limitM,
      target_share: rule.targetShare,
      citation: rule.citation,
    },
    population: Math.round(population),
    covered_population: Math.round(population - uncoveredPopulation),
    uncovered_population: Math.round(uncoveredPopulation),
    share: result.share,
    straight_share: result.straight_share,
    passes: result.no_data ? null : result.passes,
    distance_cap_m: DISTANCE_CAP_M,
    uncovered_by_outcome: Object.fromEntries(Object.entries(uncoveredBy).map(([k, v]) => [k, Math.round(v)])),
    histogram: distanceHistogram(origins, limitM),
    nearest_for_uncovered: nearest,
    caveats,
    sentence: drilldownSentence(rule, population, uncoveredPopulation, nearest[0], result.no_data),
    uncovered_points: { type: 'FeatureCollection', features },
    points_truncated: uncovered.length > features.length,
  };
}

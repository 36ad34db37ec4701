import { createHash, type Hash } from 'node:crypto';
import { CATEGORIES } from '../../geo/categories.ts';
import type { EngineNetwork, EngineOrigin } from '../../geo/coverage.ts';
import type { RuleSet } from '../../geo/rules/index.ts';

/** Fingerprints of what a coverage run was computed from (coverage_runs.inputs, migrations/0172). */
export interface RunInputs {
  origins: string;
  network: string;
  facilities: Record<string, string>;
}

const bytes = (h: Hash, a: ArrayBufferView | undefined) => {
  if (a) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  h.update('|');
};

/**
 * sha256 of the origins (places, populations, areas, compounds, edge-of-data flags), the walking
 * network (nodes, edges, private ways, compound gates) and every category's facilities (ids,
 * names, sizes, access points, shapes). Two runs with equal fingerprints for a rule's categories
 * give the rule the same results.
 */
export function runInputs(net: EngineNetwork, origins: readonly EngineOrigin[]): RunInputs {
  const o = createHash('sha256');
  const num = new Float64Array(5);
  for (const x of origins) {
    num[0] = x.id;
    num[1] = x.lng;
    num[2] = x.lat;
    num[3] = x.population;
    num[4] = x.compound;
    bytes(o, num);
    o.update(JSON.stringify([x.areas, x.nearDataEdge === true]));
  }
  const n = createHash('sha256');
  const g = net.graph;
  for (const a of [
    g.nodeLng,
    g.nodeLat,
    g.edgeFrom,
    g.edgeTo,
    g.edgeLengthM,
    g.edgeDir,
    g.edgeCoords,
    g.edgeCoordOffset,
    net.edgeDbId,
    net.edgeIsPrivate,
  ])
    bytes(n, a);
  n.update(JSON.stringify(net.compounds.map((c) => [c.id, c.gateNodes, [...c.internalEdges].sort((a, b) => a - b)])));
  const byCategory = new Map<string, Hash>(CATEGORIES.map((c) => [c.id, createHash('sha256')]));
  for (const f of net.facilities) {
    const h = byCategory.get(f.category)!;
    h.update(JSON.stringify([f.id, f.name, f.areaM2, f.isSample, f.lng, f.lat]));
    for (const a of [
      f.accessLng,
      f.accessLat,
      f.accessMaxLegM,
      f.polygon?.ringCoords,
      f.polygon?.ringOffsets,
      f.shapeLng,
      f.shapeLat,
    ])
      bytes(h, a);
  }
  return {
    origins: o.digest('hex'),
    network: n.digest('hex'),
    facilities: Object.fromEntries([...byCategory].map(([c, h]) => [c, h.digest('hex')])),
  };
}

/** The categories whose facilities differ between two runs' inputs. */
export function changedCategories(before: RunInputs, now: RunInputs): Set<string> {
  return new Set(
    CATEGORIES.map((c) => c.id as string).filter(
      (c) => before.facilities[c] === undefined || before.facilities[c] !== now.facilities[c],
    ),
  );
}

/** The rules of `ruleSets` that count a facility of one of `categories`, as rule sets holding only those rules. */
export function rulesUsing(ruleSets: readonly RuleSet[], categories: ReadonlySet<string>): RuleSet[] {
  return ruleSets
    .map((rs) => ({
      ...rs,
      rules: rs.rules.filter((r) => r.tiers.some((t) => t.categories.some((c) => categories.has(c)))),
    }))
    .filter((rs) => rs.rules.length > 0);
}

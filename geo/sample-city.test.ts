import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Flatbush from 'flatbush';
import { describe, expect, it } from 'vitest';
import type { OsmModel, OsmWay } from './osm-model.ts';
import { generateSampleCity } from './sample-city.ts';
import { osmXmlChunks } from './osm-xml.ts';

const METRES_PER_DEG_LAT = (6_371_008.8 * Math.PI) / 180;

async function xmlSha256(model: OsmModel): Promise<string> {
  const hash = createHash('sha256');
  for (const chunk of osmXmlChunks(model)) hash.update(chunk);
  return hash.digest('hex');
}

const isHighway = (w: OsmWay) => w.tags.highway !== undefined;
const isPrivate = (w: OsmWay) => w.tags.access === 'private';
const isWall = (w: OsmWay) => w.tags.barrier === 'wall';
const isWater = (w: OsmWay) => w.tags.waterway === 'river' || w.tags.natural === 'water';

/** Orientation of c against a→b: 1, -1 or 0 (collinear), in coordinates relative to the bbox corner. */
function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function within(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  return Math.min(ax, bx) <= px && px <= Math.max(ax, bx) && Math.min(ay, by) <= py && py <= Math.max(ay, by);
}

/** Segment–segment test by node ids: a proper crossing, a touch (an end on the other segment), or none. */
function classify(m: OsmModel, a: number, b: number, c: number, d: number): 'proper' | 'touch' | null {
  const { lng, lat } = m.nodes;
  const [x0, y0] = m.bbox;
  const ax = lng[a - 1] - x0,
    ay = lat[a - 1] - y0,
    bx = lng[b - 1] - x0,
    by = lat[b - 1] - y0;
  const cx = lng[c - 1] - x0,
    cy = lat[c - 1] - y0,
    dx = lng[d - 1] - x0,
    dy = lat[d - 1] - y0;
  const o1 = orient(ax, ay, bx, by, cx, cy);
  const o2 = orient(ax, ay, bx, by, dx, dy);
  const o3 = orient(cx, cy, dx, dy, ax, ay);
  const o4 = orient(cx, cy, dx, dy, bx, by);
  if (o1 * o2 < 0 && o3 * o4 < 0) return 'proper';
  if (
    (o1 === 0 && within(ax, ay, bx, by, cx, cy)) ||
    (o2 === 0 && within(ax, ay, bx, by, dx, dy)) ||
    (o3 === 0 && within(cx, cy, dx, dy, ax, ay)) ||
    (o4 === 0 && within(cx, cy, dx, dy, bx, by))
  )
    return 'touch';
  return null;
}

/** Segments of the selected ways, with a Flatbush index over their boxes. */
function segmentIndex(m: OsmModel, ways: OsmWay[]) {
  const from: number[] = [];
  const to: number[] = [];
  for (const w of ways) for (let k = 1; k < w.refs.length; k++) (from.push(w.refs[k - 1]), to.push(w.refs[k]));
  const index = new Flatbush(Math.max(1, from.length));
  const { lng, lat } = m.nodes;
  for (let k = 0; k < from.length; k++) {
    const a = from[k] - 1,
      b = to[k] - 1;
    index.add(Math.min(lng[a], lng[b]), Math.min(lat[a], lat[b]), Math.max(lng[a], lng[b]), Math.max(lat[a], lat[b]));
  }
  if (from.length === 0) index.add(0, 0, 0, 0);
  index.finish();
  return {
    from,
    to,
    /** Segments whose box meets the box of segment a–b. */
    near(a: number, b: number): number[] {
      if (from.length === 0) return [];
      return index.search(
        Math.min(lng[a - 1], lng[b - 1]),
        Math.min(lat[a - 1], lat[b - 1]),
        Math.max(lng[a - 1], lng[b - 1]),
        Math.max(lat[a - 1], lat[b - 1]),
      );
    },
  };
}

/** Problems where `ways` meet `barriers`: crossings, touches, and shared nodes not in `allowed`. */
function meetings(m: OsmModel, ways: OsmWay[], barriers: OsmWay[], allowed: (id: number) => boolean): string[] {
  const idx = segmentIndex(m, barriers);
  const found: string[] = [];
  for (const w of ways) {
    for (let k = 1; k < w.refs.length; k++) {
      const a = w.refs[k - 1],
        b = w.refs[k];
      for (const s of idx.near(a, b)) {
        const c = idx.from[s],
          d = idx.to[s];
        const shared = a === c || a === d ? a : b === c || b === d ? b : 0;
        if (shared) {
          if (!allowed(shared)) found.push(`way ${w.id} shares node ${shared} with a barrier`);
          continue;
        }
        const kind = classify(m, a, b, c, d);
        if (kind) found.push(`way ${w.id} segment ${a}-${b} ${kind} with ${c}-${d}`);
      }
    }
  }
  return found;
}

/** Ids of gate nodes that lie on a compound wall. */
function wallGates(m: OsmModel): Set<number> {
  const onWall = new Set<number>();
  for (const w of m.ways) if (isWall(w)) for (const r of w.refs) onWall.add(r);
  const gates = new Set<number>();
  for (const [id, tags] of m.nodes.tags) if (tags.barrier === 'gate' && onWall.has(id)) gates.add(id);
  return gates;
}

/**
 * Nodes of access=private highways that the public highway network reaches without passing a
 * wall gate: union-find over highway segments with the gates taken out.
 */
function gateLeaks(m: OsmModel): number[] {
  const gates = wallGates(m);
  const parent = new Int32Array(m.nodes.id.length + 1);
  for (let k = 0; k < parent.length; k++) parent[k] = k;
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const w of m.ways) {
    if (!isHighway(w)) continue;
    for (let k = 1; k < w.refs.length; k++) {
      const a = w.refs[k - 1],
        b = w.refs[k];
      if (!gates.has(a) && !gates.has(b)) parent[find(a)] = find(b);
    }
  }
  const publicRoots = new Set<number>();
  for (const w of m.ways)
    if (isHighway(w) && !isPrivate(w)) for (const r of w.refs) if (!gates.has(r)) publicRoots.add(find(r));
  const leaks: number[] = [];
  for (const w of m.ways)
    if (isHighway(w) && isPrivate(w))
      for (const r of w.refs) if (!gates.has(r) && publicRoots.has(find(r))) leaks.push(r);
  return leaks;
}

/** Even–odd test of a node against closed ways, in degrees (fine for an axis-affine projection). */
function insideAny(m: OsmModel, rings: OsmWay[], id: number): boolean {
  const { lng, lat } = m.nodes;
  const px = lng[id - 1],
    py = lat[id - 1];
  for (const ring of rings) {
    let inside = false;
    for (let k = 1; k < ring.refs.length; k++) {
      const a = ring.refs[k - 1] - 1,
        b = ring.refs[k] - 1;
      if (lat[a] > py !== lat[b] > py && px < lng[a] + ((py - lat[a]) * (lng[b] - lng[a])) / (lat[b] - lat[a]))
        inside = !inside;
    }
    if (inside) return true;
  }
  return false;
}

/** Area of a closed way, m², projecting locally (equirectangular). */
function areaM2(m: OsmModel, w: OsmWay): number {
  const { lng, lat } = m.nodes;
  const kx = METRES_PER_DEG_LAT * Math.cos((lat[w.refs[0] - 1] * Math.PI) / 180);
  let twice = 0;
  for (let k = 1; k < w.refs.length; k++) {
    const a = w.refs[k - 1] - 1,
      b = w.refs[k] - 1;
    twice += lng[a] * kx * lat[b] * METRES_PER_DEG_LAT - lng[b] * kx * lat[a] * METRES_PER_DEG_LAT;
  }
  return Math.abs(twice) / 2;
}

const city10k = () => generateSampleCity({ seed: 1, targetNodes: 10_000 });

describe('generateSampleCity', () => {
  it('gives byte-identical XML for the same seed and different XML for another seed', async () => {
    const a = await xmlSha256(city10k());
    const b = await xmlSha256(city10k());
    const c = await xmlSha256(generateSampleCity({ seed: 2, targetNodes: 10_000 }));
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it.each([10_000, 100_000])('lands on %i nodes (the brief allows ±10 per cent; calibration gives ±1)', (target) => {
    const city = generateSampleCity({ seed: 7, targetNodes: target });
    expect(city.nodes.id.length).toBe(city.stats.nodes);
    expect(Math.abs(city.nodes.id.length / target - 1)).toBeLessThan(0.01);
    const sideM = city.stats.sideM;
    expect(sideM).toBeGreaterThan(10 * Math.sqrt(target));
    expect(sideM).toBeLessThan(40 * Math.sqrt(target));
  });

  it('makes a consistent OSM model: ascending ids, existing refs, no orphan nodes, sample=yes everywhere', () => {
    const m = city10k();
    const n = m.nodes.id.length;
    for (let k = 0; k < n; k++) expect(m.nodes.id[k]).toBe(k + 1);
    const used = new Uint8Array(n + 1);
    let previousWayId = 0;
    for (const w of m.ways) {
      expect(w.id).toBeGreaterThan(previousWayId);
      previousWayId = w.id;
      expect(w.refs.length).toBeGreaterThanOrEqual(2);
      expect(w.refs.length).toBeLessThanOrEqual(2000);
      expect(w.tags.sample).toBe('yes');
      for (const r of w.refs) {
        expect(r >= 1 && r <= n).toBe(true);
        used[r] = 1;
      }
      for (let k = 1; k < w.refs.length; k++) expect(w.refs[k]).not.toBe(w.refs[k - 1]);
    }
    for (const tags of m.nodes.tags.values()) expect(tags.sample).toBe('yes');
    const orphans = [];
    for (let id = 1; id <= n; id++) if (!used[id] && !m.nodes.tags.has(id)) orphans.push(id);
    expect(orphans).toEqual([]);
  });

  it('has every feature kind the importer looks for, tagged as OSM tags it', () => {
    const m = city10k();
    const ways = (pred: (t: Record<string, string>) => boolean) => m.ways.filter((w) => pred(w.tags));
    const nodes = (pred: (t: Record<string, string>) => boolean) => [...m.nodes.tags.values()].filter(pred);
    for (const highway of ['primary', 'secondary', 'tertiary', 'residential', 'footway', 'pedestrian', 'service']) {
      expect(ways((t) => t.highway === highway).length, highway).toBeGreaterThan(0);
    }
    expect(ways((t) => t.highway === 'primary').every((w) => /^示例大道 \d+ 号$/.test(w.tags.name))).toBe(true);
    expect(ways((t) => t.greenway === 'yes' && t.name === '示例绿道').length).toBeGreaterThan(0);
    expect(
      nodes((t) => t.amenity === 'social_facility' && t['social_facility:for'] === 'senior').length,
    ).toBeGreaterThan(0);
    for (const amenity of ['community_centre', 'clinic', 'school', 'kindergarten', 'marketplace']) {
      expect(nodes((t) => t.amenity === amenity && t.name.startsWith('示例')).length, amenity).toBeGreaterThan(0);
    }
    expect(nodes((t) => t.place === 'neighbourhood' && /^示例社区 \d+$/.test(t.name)).length).toBeGreaterThan(0);

    const compounds = ways((t) => t.landuse === 'residential' && t.name?.startsWith('示例小区') === true);
    expect(compounds.length).toBeGreaterThan(0);
    const withPopulation = compounds.filter((w) => w.tags.population !== undefined);
    expect(withPopulation.length).toBeGreaterThan(0);
    expect(withPopulation.length).toBeLessThan(compounds.length);
    for (const w of withPopulation) expect(w.tags.population).toMatch(/^\d+$/);
    expect(ways((t) => t.landuse === 'residential' && t.name === undefined).length).toBeGreaterThan(0);

    const gates = wallGates(m);
    for (const wall of ways((t) => t.barrier === 'wall')) {
      expect(wall.refs[0]).toBe(wall.refs[wall.refs.length - 1]);
      const onThisWall = new Set([...wall.refs].filter((r) => gates.has(r)));
      expect(onThisWall.size).toBeGreaterThanOrEqual(1);
      expect(onThisWall.size).toBeLessThanOrEqual(2);
    }
    for (const id of gates) expect(m.nodes.tags.get(id)?.entrance).toMatch(/^(main|secondary)$/);

    const residential = ways((t) => t.building === 'residential');
    expect(residential.length, 'the city has residential buildings').toBeGreaterThan(0);
    for (const b of residential) {
      const levels = Number(b.tags['building:levels']);
      expect(levels >= 6 && levels <= 33).toBe(true);
    }
    const parks = ways((t) => t.leisure === 'park');
    expect(parks.length).toBeGreaterThan(0);
    for (const p of parks) {
      expect(p.tags.name).toMatch(/^示例公园 \d+$/);
      const ha = areaM2(m, p) / 10_000;
      expect(ha >= 0.19 && ha <= 8.1, `${p.tags.name}: ${ha} ha`).toBe(true);
      expect([...p.refs].some((r) => m.nodes.tags.get(r)?.entrance !== undefined)).toBe(true);
    }
    const greens = ways((t) => t.leisure === 'garden' || t.landuse === 'grass');
    expect(greens.length).toBeGreaterThan(0);
    for (const g of greens) {
      const a = areaM2(m, g);
      expect(a >= 290 && a <= 3010, `green ${g.id}: ${a} m²`).toBe(true);
    }
  });

  describe.each([10_000, 100_000])('gated compounds at %i nodes', (target) => {
    const m = generateSampleCity({ seed: 3, targetNodes: target });
    const gates = wallGates(m);

    it('reach the public network only through their gates', () => {
      expect(m.ways.some(isPrivate)).toBe(true);
      expect(gateLeaks(m)).toEqual([]);
      const waysOf = new Map<number, OsmWay[]>();
      for (const w of m.ways)
        if (isHighway(w)) for (const r of w.refs) if (gates.has(r)) waysOf.set(r, [...(waysOf.get(r) ?? []), w]);
      expect(gates.size).toBeGreaterThan(0);
      for (const g of gates) {
        const on = waysOf.get(g) ?? [];
        expect(on.some(isPrivate), `gate ${g} on a private way`).toBe(true);
        expect(
          on.some((w) => !isPrivate(w)),
          `gate ${g} on a public way`,
        ).toBe(true);
      }
    });

    it('have no highway crossing or touching a wall except through a gate node', () => {
      expect(meetings(m, m.ways.filter(isHighway), m.ways.filter(isWall), (id) => gates.has(id))).toEqual([]);
    });

    it('have buildings clear of walls and ways', () => {
      const obstacles = m.ways.filter((w) => isWall(w) || isHighway(w));
      expect(
        meetings(
          m,
          m.ways.filter((w) => w.tags.building !== undefined),
          obstacles,
          () => false,
        ),
      ).toEqual([]);
    });
  });

  it('the gate checks catch a private way joined to a street, and a path through a wall', () => {
    const m = city10k();
    const spine = m.ways.find((w) => isPrivate(w) && w.tags.highway === 'service')!;
    const street = m.ways.find((w) => w.tags.highway === 'residential')!;
    const inner = spine.refs[spine.refs.length - 1];
    const shortcut: OsmWay = { id: 1e9, refs: Int32Array.of(inner, street.refs[0]), tags: { highway: 'footway' } };
    const broken: OsmModel = { ...m, ways: [...m.ways, shortcut] };
    expect(gateLeaks(broken).length).toBeGreaterThan(0);
    const gates = wallGates(m);
    expect(meetings(broken, [shortcut], m.ways.filter(isWall), (id) => gates.has(id)).length).toBeGreaterThan(0);
  });

  describe.each([10_000, 100_000])('the river at %i nodes', (target) => {
    const m = generateSampleCity({ seed: 5, targetNodes: target });
    const water = m.ways.filter(isWater);

    it('is crossed by no street except bridge ways', () => {
      const streets = m.ways.filter((w) => isHighway(w) && w.tags.bridge !== 'yes');
      expect(meetings(m, streets, water, () => false)).toEqual([]);
      const polygons = water.filter((w) => w.tags.natural === 'water');
      expect(polygons.length).toBe(1);
      const wet = streets.flatMap((w) => [...w.refs]).filter((id) => insideAny(m, polygons, id));
      expect(wet).toEqual([]);
    });

    it('is crossed by every bridge (the check sees crossings when there are some)', () => {
      const bridges = m.ways.filter((w) => isHighway(w) && w.tags.bridge === 'yes');
      expect(bridges.length).toBeGreaterThanOrEqual(2);
      for (const b of bridges) {
        const crossings = meetings(
          m,
          [b],
          water.filter((w) => w.tags.waterway === 'river'),
          () => false,
        );
        expect(crossings.length, `bridge ${b.id}`).toBeGreaterThan(0);
      }
    });
  });

  describe.each([
    [2_000, 21],
    [3_000, 22],
    [5_000, 23],
    [20_000, 24],
  ])('across sizes and seeds: %i nodes, seed %i', (target, seed) => {
    it('keeps every invariant: count, gates, walls, buildings, river, junctions', () => {
      const m = generateSampleCity({ seed, targetNodes: target });
      expect(Math.abs(m.nodes.id.length / target - 1)).toBeLessThan(0.01);
      const gates = wallGates(m);
      const highways = m.ways.filter(isHighway);
      const streets = highways.filter((w) => w.tags.bridge !== 'yes');
      expect(gateLeaks(m)).toEqual([]);
      expect(meetings(m, highways, m.ways.filter(isWall), (id) => gates.has(id))).toEqual([]);
      const obstacles = m.ways.filter((w) => isWall(w) || isHighway(w));
      expect(
        meetings(
          m,
          m.ways.filter((w) => w.tags.building !== undefined),
          obstacles,
          () => false,
        ),
      ).toEqual([]);
      expect(meetings(m, streets, m.ways.filter(isWater), () => false)).toEqual([]);
      // Ways at ground level meet only at shared nodes, never mid-segment (bridges pass over the greenway).
      expect(meetings(m, streets, streets, () => true)).toEqual([]);
    });
  });

  it('rejects seeds and sizes it cannot honour', () => {
    expect(() => generateSampleCity({ seed: 1.5, targetNodes: 10_000 })).toThrow(RangeError);
    expect(() => generateSampleCity({ seed: 1, targetNodes: 10 })).toThrow(RangeError);
  });

  it('escapes tag text in the XML it writes', async () => {
    const model: OsmModel = {
      nodes: {
        id: Float64Array.of(1),
        lng: Float64Array.of(104.06),
        lat: Float64Array.of(30.66),
        tags: new Map([[1, { name: `a&b<c>"d'e\nf\u0001`, sample: 'yes' }]]),
      },
      ways: [],
      bbox: [104.06, 30.66, 104.06, 30.66],
    };
    let xml = '';
    for (const chunk of osmXmlChunks(model)) xml += chunk;
    expect(xml).toContain('<tag k="name" v="a&amp;b&lt;c&gt;&quot;d&apos;e&#10;f"/>');
    expect(xml).toContain(
      '<node id="1" version="1" timestamp="2024-01-01T00:00:00Z" lat="30.6600000" lon="104.0600000">',
    );
    expect(xml.endsWith('</osm>\n')).toBe(true);
  });

  const hasOsmium = spawnSync('osmium', ['--version']).status === 0;
  it.skipIf(!hasOsmium)('writes XML that osmium reads, ordered, with every referenced node present', async () => {
    const m = city10k();
    const dir = mkdtempSync(path.join(tmpdir(), 'sample-city-'));
    try {
      const file = path.join(dir, 'city.osm');
      writeFileSync(file, [...osmXmlChunks(m)].join(''));
      const info = JSON.parse(execFileSync('osmium', ['fileinfo', '-e', '-j', file], { encoding: 'utf8' }));
      expect(info.data.count.nodes).toBe(m.nodes.id.length);
      expect(info.data.count.ways).toBe(m.ways.length);
      expect(info.data.objects_ordered).toBe(true);
      expect(info.data.multiple_versions).toBe(false);
      expect(spawnSync('osmium', ['check-refs', file]).status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

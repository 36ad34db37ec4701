import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { booleanPointInPolygon, point } from '@turf/turf';
import type { Feature, FeatureCollection, Geometry, LineString, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { computeFields, evaluateCoverage, snapOrigin, type EngineCompound, type EngineNetwork, type EngineOrigin } from './coverage.ts';
import { matchesFilter, sourceFilterKey, type DistanceField, type EngineFacility } from './distance-field.ts';
import { randomWalkGraph, testRandom } from './fixtures/random-walk-graph.ts';
import { geodesicM, lineLengthM, makeLocalProjection } from './geodesy.ts';
import { buildGraph, type WalkGraph } from './graph.ts';
import { CHENGDU_PARK_CITY } from './rules/chengdu-park-city.ts';
import { GARDEN_CITY } from './rules/garden-city.ts';
import type { RuleSet } from './rules/index.ts';
import {
    applyPlans,
    coveredTotals,
    evaluateScenario,
    openSpaceFacility,
    PARK_MIN_AREA_M2,
    suggestPlans,
    type ScenarioEvaluation,
    type ScenarioPlan,
} from './scenario.ts';
import { buildBarrierIndex, buildSnapIndex, type SnapResult } from './snap.ts';
import { edgeDirection } from './split-ways.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PARK_CITY: RuleSet[] = [CHENGDU_PARK_CITY];

interface Fixture {
    net: EngineNetwork;
    origins: EngineOrigin[];
    snaps: SnapResult[];
    fields: Map<string, DistanceField>;
    plans: ScenarioPlan[];
}

/**
 * An engine network built straight from a fixture FeatureCollection: `street` lines (ends become
 * nodes, `private` ways directed as the importer directs them), `wall` lines, `gate` points,
 * `compound` polygons (internal edges: midpoint inside), `facility` polygons (access and shape
 * points: the ring's vertices), `origin` points and `plan` features.
 */
function fixtureEngine(fc: FeatureCollection, ruleSets: readonly RuleSet[] = PARK_CITY): Fixture {
    const byRole = (role: string) => fc.features.filter((f) => f.properties?.role === role);
    const nodeIndex = new Map<string, number>();
    const nodeLng: number[] = [], nodeLat: number[] = [];
    const nodeOf = (p: number[]) => {
        const key = `${p[0]},${p[1]}`;
        let n = nodeIndex.get(key);
        if (n === undefined) {
            nodeIndex.set(key, (n = nodeLng.length));
            nodeLng.push(p[0]);
            nodeLat.push(p[1]);
        }
        return n;
    };
    const streets = byRole('street') as Feature<LineString>[];
    const ends = streets.map((s) => [nodeOf(s.geometry.coordinates[0]), nodeOf(s.geometry.coordinates.at(-1)!)]);
    const nodePublic = new Uint8Array(nodeLng.length);
    streets.forEach((s, e) => { if (!s.properties!.private) for (const n of ends[e]) nodePublic[n] = 1; });
    const coords: number[] = [];
    const offsets = [0];
    for (const s of streets) {
        for (const p of s.geometry.coordinates) coords.push(p[0], p[1]);
        offsets.push(coords.length / 2);
    }
    const edgeCoords = Float64Array.from(coords);
    const edgeCoordOffset = Uint32Array.from(offsets);
    const graph = buildGraph({
        nodeCount: nodeLng.length,
        nodeLng: Float64Array.from(nodeLng),
        nodeLat: Float64Array.from(nodeLat),
        edgeFrom: Int32Array.from(ends, (x) => x[0]),
        edgeTo: Int32Array.from(ends, (x) => x[1]),
        edgeLengthM: Float64Array.from(streets, (_, e) => lineLengthM(edgeCoords, offsets[e], offsets[e + 1])),
        edgeDir: Uint8Array.from(streets, (s, e) => edgeDirection(!!s.properties!.private, !nodePublic[ends[e][0]], !nodePublic[ends[e][1]])),
        edgeCoords,
        edgeCoordOffset,
    });
    const walls = byRole('wall') as Feature<LineString>[];
    const wallCoords: number[] = [];
    const wallOffsets = [0];
    for (const w of walls) {
        for (const p of w.geometry.coordinates) wallCoords.push(p[0], p[1]);
        wallOffsets.push(wallCoords.length / 2);
    }
    const compoundPolys = byRole('compound') as Feature<Polygon>[];
    const compounds: EngineCompound[] = compoundPolys.map((c) => {
        const internal = new Set<number>();
        streets.forEach((s, e) => {
            const [a, b] = [s.geometry.coordinates[0], s.geometry.coordinates.at(-1)!];
            if (booleanPointInPolygon(point([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]), c)) internal.add(e);
        });
        const gates = byRole('gate').filter((g) => g.properties!.compound === c.properties!.id)
            .map((g) => nodeIndex.get((g.geometry as { coordinates: number[] }).coordinates.join(','))!);
        return { id: c.properties!.id, gateNodes: gates, internalEdges: internal };
    });
    const facilities: EngineFacility[] = (byRole('facility') as Feature<Polygon>[]).map((f) => {
        const ring = f.geometry.coordinates[0].slice(0, -1);
        return {
            id: f.properties!.id, category: f.properties!.category, name: f.properties!.name, areaM2: polygonAreaM2(f.geometry), isSample: false,
            lng: ring[0][0], lat: ring[0][1],
            accessLng: Float64Array.from(ring, (p) => p[0]), accessLat: Float64Array.from(ring, (p) => p[1]),
            shapeLng: Float64Array.from(ring, (p) => p[0]), shapeLat: Float64Array.from(ring, (p) => p[1]),
        };
    });
    const net: EngineNetwork = {
        graph,
        snapIndex: buildSnapIndex(graph),
        barriers: walls.length ? buildBarrierIndex(Float64Array.from(wallCoords), Uint32Array.from(wallOffsets)) : undefined,
        edgeDbId: Float64Array.from(streets, (s) => s.properties!.id),
        edgeIsPrivate: Uint8Array.from(streets, (s) => (s.properties!.private ? 1 : 0)),
        compounds,
        facilities,
    };
    const origins: EngineOrigin[] = byRole('origin').map((o) => {
        const [lng, lat] = (o.geometry as { coordinates: number[] }).coordinates;
        const compound = compoundPolys.findIndex((c) => booleanPointInPolygon(point([lng, lat]), c));
        return {
            id: o.properties!.id, lng, lat, population: o.properties!.population, compound,
            areas: {
                residential_area: { key: compound >= 0 ? `ra${compound}` : 'outside', name: null },
                community: { key: 'c1', name: 'community (synthetic)' },
                street: null,
                district: null,
            },
        };
    });
    const snaps = origins.map((o) => {
        const s = snapOrigin(net, o.lng, o.lat, o.compound);
        return s.unreachable ? s : { ...s };
    });
    const plans: ScenarioPlan[] = byRole('plan').map((p, i) => ({
        ref: `fixture:${i}`, kind: p.properties!.kind, name: p.properties!.name, geometry: p.geometry as ScenarioPlan['geometry'],
        becomesOpenSpace: p.properties!.becomes_open_space,
    }));
    return { net, origins, snaps, fields: computeFields(net, ruleSets), plans };
}

/** Planar area of a small polygon in m² (local projection); fine for fixture facilities. */
function polygonAreaM2(g: Polygon): number {
    const ring = g.coordinates[0];
    const pr = makeLocalProjection(ring[0][0], ring[0][1]);
    let a = 0;
    for (let i = 0; i + 1 < ring.length; i++) {
        a += pr.toX(ring[i][0]) * pr.toY(ring[i + 1][1]) - pr.toX(ring[i + 1][0]) * pr.toY(ring[i][1]);
    }
    return Math.abs(a) / 2;
}

function readFixture(name: string): FeatureCollection {
    return JSON.parse(fs.readFileSync(path.join(root, 'test/in', `${name}.geojson`), 'utf8'));
}

/** Every number rounded to 6 decimals (Turf's golden-file convention), -0 as 0. */
function round6<T>(value: T): T {
    return JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'number' ? Math.round(v * 1e6) / 1e6 + 0 : v)));
}

/** Compares with test/out/<name>.geojson; UPDATE=1 rewrites it. */
function expectGolden(name: string, actual: FeatureCollection): void {
    const file = path.join(root, 'test/out', `${name}.geojson`);
    const rounded = round6(actual);
    if (process.env.UPDATE === '1') {
        const lines = ['{"type": "FeatureCollection", "features": [', rounded.features.map((f) => JSON.stringify(f)).join(',\n'), ']}'];
        fs.writeFileSync(file, `${lines.join('\n')}\n`);
    }
    expect(rounded).toEqual(JSON.parse(fs.readFileSync(file, 'utf8')));
}

/** Walking distance for one rule per origin, before and after (null: not reached within the rule). */
function ruleDistances(ev: ScenarioEvaluation, ruleId: string) {
    const b = ev.before.find((c) => c.ruleId === ruleId)!;
    const a = ev.after.find((c) => c.ruleId === ruleId)!;
    return b.origins.map((o, i) => ({ before: o.networkM, after: a.origins[i].networkM, coveredBefore: o.covered, coveredAfter: a.origins[i].covered }));
}

function lineFeature(g: WalkGraph, e: number, properties: Record<string, unknown>): Feature {
    const coordinates: number[][] = [];
    for (let i = g.edgeCoordOffset[e]; i < g.edgeCoordOffset[e + 1]; i++) coordinates.push([g.edgeCoords[2 * i], g.edgeCoords[2 * i + 1]]);
    return { type: 'Feature', properties, geometry: { type: 'LineString', coordinates } };
}

/** The scenario as a FeatureCollection: per-origin distances, and what the plans did to the network. */
function scenarioGeojson(fx: Fixture, ev: ScenarioEvaluation, ruleIds: readonly string[]): FeatureCollection {
    const features: Feature[] = [];
    const perRule = ruleIds.map((id) => [id, ruleDistances(ev, id)] as const);
    fx.origins.forEach((o, i) => {
        const props: Record<string, unknown> = { role: 'origin', id: o.id, population: o.population };
        for (const [id, d] of perRule) {
            props[`${id}_before_m`] = d[i].before;
            props[`${id}_after_m`] = d[i].after;
            props[`${id}_covered_before`] = d[i].coveredBefore;
            props[`${id}_covered_after`] = d[i].coveredAfter;
        }
        features.push({ type: 'Feature', properties: props, geometry: { type: 'Point', coordinates: [o.lng, o.lat] } });
    });
    const sc = ev.scenario;
    const g = sc.net.graph;
    for (let e = 0; e < g.edgeCount; e++) {
        const base = sc.edgeBase[e];
        if (e >= sc.linkStart) {
            features.push(lineFeature(g, e, { role: 'link', edge: e, from_node: g.edgeFrom[e], to_node: g.edgeTo[e], length_m: g.edgeLengthM[e], dir: g.edgeDir[e] }));
        } else if (sc.splitEdges.has(base)) {
            features.push(lineFeature(g, e, {
                role: 'split_piece', edge: e, base_edge: base, street_id: sc.net.edgeDbId[e], from_m: sc.edgeBaseFromM[e], to_m: sc.edgeBaseToM[e],
                length_m: g.edgeLengthM[e], from_node: g.edgeFrom[e], to_node: g.edgeTo[e],
            }));
        } else if (sc.openedEdges.has(e)) {
            features.push(lineFeature(g, e, { role: 'opened_edge', edge: e, street_id: sc.net.edgeDbId[e], dir: g.edgeDir[e], private: sc.net.edgeIsPrivate[e] }));
        }
    }
    for (const piece of sc.removedBarriers) {
        features.push({ type: 'Feature', properties: { role: 'removed_wall', length_m: geodesicM(piece[0][0], piece[0][1], piece[1][0], piece[1][1]) }, geometry: { type: 'LineString', coordinates: piece } });
    }
    features.push({
        type: 'Feature',
        geometry: null as unknown as Geometry,
        properties: {
            role: 'summary',
            plans: sc.effects,
            gates: sc.net.compounds.map((c) => [...c.gateNodes]),
            rules: ev.rules.filter((r) => ruleIds.includes(r.ruleId)).map((r) => ({
                rule: r.ruleId, covered_before: r.coveredBefore, covered_after: r.coveredAfter, newly_covered: r.newlyCovered, marginal: r.marginal,
            })),
        },
    });
    return { type: 'FeatureCollection', features };
}

describe('scenario: demolish_wall', () => {
    it('gated-compound-single-gate: opening the north wall brings the residents inside within 500 m of the park', () => {
        const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
        const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, fx.plans, { includeChangedEdges: true });
        const park = ruleDistances(ev, 'park_500');
        // origins 1–3 live inside the compound; their only way out was the south gate
        for (const i of [0, 1, 2]) {
            expect(park[i].before).toBeGreaterThan(500);
            expect(park[i].coveredBefore).toBe(false);
            expect(park[i].after).toBeLessThan(500);
            expect(park[i].coveredAfter).toBe(true);
        }
        // the resident outside walks the same street as before (now in split pieces: equal to rounding)
        expect(Math.abs(park[3].after! - park[3].before!)).toBeLessThan(1e-9);
        const effect = ev.scenario.effects[0];
        expect(effect.linksAdded).toBe(3);
        expect(effect.compoundsOpened).toBe(1);
        expect(effect.barrierRemovedM).toBeGreaterThan(160);
        expect(effect.barrierRemovedM).toBeLessThan(180);
        const rule = ev.rules.find((r) => r.ruleId === 'park_500')!;
        expect(rule.newlyCovered).toBe(320);
        expect(rule.marginal).toEqual([{ ref: 'fixture:0', gain: 320 }]);
        expect(rule.areas.find((a) => a.level === 'residential_area' && a.key === 'ra0')?.flip).toBe('fail_to_pass');
        expect(ev.changedEdges!.some((c) => c.isLink && c.distances.park !== undefined)).toBe(true);
        expectGolden('gated-compound-single-gate', scenarioGeojson(fx, ev, ['park_500', 'green_300']));
    });

    it('split pieces add up to the street they replace and meet at their nodes', () => {
        const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
        const sc = applyPlans(fx.net, fx.plans);
        const g = sc.net.graph;
        const total = new Map<number, number>();
        for (let e = 0; e < sc.linkStart; e++) {
            total.set(sc.edgeBase[e], (total.get(sc.edgeBase[e]) ?? 0) + g.edgeLengthM[e]);
            const first = g.edgeCoordOffset[e], last = g.edgeCoordOffset[e + 1] - 1;
            expect([g.edgeCoords[2 * first], g.edgeCoords[2 * first + 1]]).toEqual([g.nodeLng[g.edgeFrom[e]], g.nodeLat[g.edgeFrom[e]]]);
            expect([g.edgeCoords[2 * last], g.edgeCoords[2 * last + 1]]).toEqual([g.nodeLng[g.edgeTo[e]], g.nodeLat[g.edgeTo[e]]]);
        }
        expect(sc.splitEdges.size).toBe(1);
        for (const [base, sum] of total) expect(sum).toBeCloseTo(fx.net.graph.edgeLengthM[base], 9);
        for (let e = sc.linkStart; e < g.edgeCount; e++) {
            expect(g.edgeLengthM[e]).toBeCloseTo(50, 0);
            expect(g.edgeDir[e]).toBe(0);
        }
    });

    it('a wall line far from any way removes nothing and changes nobody', () => {
        const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
        const far: ScenarioPlan = { ref: 'far', kind: 'demolish_wall', name: 'far', geometry: { type: 'LineString', coordinates: [[104.09, 30.70], [104.091, 30.70]] } };
        const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, [far]);
        expect(ev.scenario.graphChanged).toBe(false);
        expect(ev.scenario.barriersChanged).toBe(false);
        for (const r of ev.rules) expect(r.coveredAfter).toBe(r.coveredBefore);
    });
});

/** Two parallel streets 60 m apart joined only at their ends, 600 m long; a park on the north one. */
function parallelStreets(plans: FeatureCollection['features']): FeatureCollection {
    const pr = makeLocalProjection(104.06, 30.66);
    const P = (x: number, y: number) => [pr.toLng(x), pr.toLat(y)];
    const street = (id: number, a: number[], b: number[]): Feature => ({ type: 'Feature', properties: { role: 'street', id, private: false }, geometry: { type: 'LineString', coordinates: [P(a[0], a[1]), P(b[0], b[1])] } });
    return {
        type: 'FeatureCollection',
        features: [
            street(1, [0, 0], [300, 0]), street(2, [300, 0], [600, 0]),
            street(3, [0, 60], [300, 60]), street(4, [300, 60], [600, 60]),
            street(5, [0, 0], [0, 60]), street(6, [600, 0], [600, 60]),
            { type: 'Feature', properties: { role: 'facility', id: 1, category: 'park', name: 'park' }, geometry: { type: 'Polygon', coordinates: [[P(280, 80), P(320, 80), P(320, 120), P(280, 120), P(280, 80)]] } },
            { type: 'Feature', properties: { role: 'origin', id: 1, population: 100 }, geometry: { type: 'Point', coordinates: P(300, -15) } },
            ...plans,
        ],
    };
}

describe('scenario: demolish_illegal', () => {
    const pr = makeLocalProjection(104.06, 30.66);
    const P = (x: number, y: number) => [pr.toLng(x), pr.toLat(y)];
    const site = { type: 'Polygon' as const, coordinates: [[P(270, 8), P(330, 8), P(330, 52), P(270, 52), P(270, 8)]] };

    it('cleared-site-joins-parallel-streets: a link across the cleared block replaces the 600 m detour', () => {
        const fx = fixtureEngine(parallelStreets([{ type: 'Feature', properties: { role: 'plan', kind: 'demolish_illegal', name: 'cleared block' }, geometry: site }]));
        const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, fx.plans);
        const [d] = ruleDistances(ev, 'park_500');
        expect(d.before).toBeGreaterThan(600);
        expect(d.after).toBeLessThan(150);
        expect(ev.scenario.effects[0].linksAdded).toBeGreaterThan(0);
        // the links stay within the site: none is longer than the diagonal of the site plus its reach
        const g = ev.scenario.net.graph;
        for (let e = ev.scenario.linkStart; e < g.edgeCount; e++) expect(g.edgeLengthM[e]).toBeLessThanOrEqual(150);
        expect(ev.scenario.addedFacilities).toHaveLength(0);
    });

    it('cleared-site-becomes-open-space: with becomes_open_space the site is also a facility', () => {
        const fx = fixtureEngine(parallelStreets([{ type: 'Feature', properties: { role: 'plan', kind: 'demolish_illegal', name: 'cleared block', becomes_open_space: true }, geometry: site }]));
        const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, fx.plans);
        expect(ev.scenario.addedFacilities).toHaveLength(1);
        // 60 m × 44 m = 2640 m²: a green space, not a park
        expect(ev.scenario.addedFacilities[0].category).toBe('green_space');
        // the nearest outline access point, (320, 8), snaps 8 m onto the south street: 8 + 20 + 15 m
        expect(ruleDistances(ev, 'green_300')[0].after).toBeCloseTo(43, 0);
    });
});

describe('scenario: add_open_space', () => {
    const pr = makeLocalProjection(104.06, 30.66);
    const square = (cx: number, cy: number, sideM: number): Polygon => {
        const h = sideM / 2;
        const ring = [[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h], [cx - h, cy - h]];
        return { type: 'Polygon', coordinates: [ring.map(([x, y]) => [pr.toLng(x), pr.toLat(y)])] };
    };

    it('green-space-600m2-counts-for-green_300-not-park_500', () => {
        const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
        // east of the east street, next to the outside resident (origin 4 at x = 440, y = 150)
        const plan: ScenarioPlan = { ref: 'g', kind: 'add_open_space', name: 'pocket green', geometry: square(430, 110, Math.sqrt(600)) };
        const fac = openSpaceFacility(plan, -1);
        expect(fac.areaM2).toBeGreaterThan(595);
        expect(fac.areaM2).toBeLessThan(605);
        expect(fac.category).toBe('green_space');
        const [green, park] = ['green_300', 'park_500'].map((id) => CHENGDU_PARK_CITY.rules.find((r) => r.id === id)!);
        const tierMatches = (rule: typeof green) => rule.tiers.some((t) => matchesFilter({ categories: t.categories, minAreaM2: t.minAreaM2 }, fac));
        expect(tierMatches(green)).toBe(true);
        expect(tierMatches(park)).toBe(false);
        // nor for the garden-city 2000 m² tier
        expect(GARDEN_CITY.rules[0].tiers.some((t) => matchesFilter({ categories: t.categories, minAreaM2: t.minAreaM2 }, fac))).toBe(false);

        const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, [plan]);
        const g = ruleDistances(ev, 'green_300');
        expect(g[3].coveredBefore).toBe(false);
        expect(g[3].coveredAfter).toBe(true);
        expect(ev.after.find((c) => c.ruleId === 'green_300')!.origins[3].facilityId).toBe(-1);
        const parkImpact = ev.rules.find((r) => r.ruleId === 'park_500')!;
        expect(parkImpact.coveredAfter).toBe(parkImpact.coveredBefore);
        expect(ev.fields.get(sourceFilterKey({ categories: ['park'] }))).toBe(fx.fields.get('park'));
        expect(ev.rules.find((r) => r.ruleId === 'green_300')!.newlyCovered).toBe(50);
    });

    it(`an open space of ${PARK_MIN_AREA_M2} m² or more is a park`, () => {
        const big = openSpaceFacility({ ref: 'p', kind: 'add_open_space', name: 'p', geometry: square(0, 0, 64) }, -1);
        const small = openSpaceFacility({ ref: 'p', kind: 'add_open_space', name: 'p', geometry: square(0, 0, 62) }, -1);
        expect(big.category).toBe('park');
        expect(small.category).toBe('green_space');
        // access every 50 m of a 256 m outline: 6 points
        expect(big.accessLng.length).toBe(6);
    });
});

/** SHA-256 over typed arrays and plain data, to prove nothing was written. */
function hashOf(...parts: unknown[]): string {
    const h = crypto.createHash('sha256');
    const visit = (v: unknown) => {
        if (ArrayBuffer.isView(v)) h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        else if (v instanceof Set || v instanceof Map) for (const x of v) visit(x);
        else if (Array.isArray(v)) v.forEach(visit);
        else if (v && typeof v === 'object') for (const k of Object.keys(v).sort()) { if (k !== 'scratch' && k !== 'tree' && k !== 'shapeTree' && k !== 'crosses') { h.update(k); visit((v as Record<string, unknown>)[k]); } }
        else h.update(String(v));
    };
    parts.forEach(visit);
    return h.digest('hex');
}

describe('scenario: the baseline is only read', () => {
    it('graph arrays, indexes, barriers, compounds, facilities, fields and snaps hash the same after evaluation', () => {
        const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
        const pr = makeLocalProjection(104.06, 30.66);
        const P = (x: number, y: number) => [pr.toLng(x), pr.toLat(y)];
        const plans: ScenarioPlan[] = [
            ...fx.plans,
            { ref: 'i', kind: 'demolish_illegal', name: 'i', becomesOpenSpace: true, geometry: { type: 'Polygon', coordinates: [[P(360, 100), P(390, 100), P(390, 200), P(360, 200), P(360, 100)]] } },
            { ref: 'o', kind: 'add_open_space', name: 'o', geometry: { type: 'Polygon', coordinates: [[P(410, 40), P(480, 40), P(480, 110), P(410, 110), P(410, 40)]] } },
        ];
        const state = () => hashOf(fx.net.graph, fx.net.snapIndex, fx.net.barriers, fx.net.edgeDbId, fx.net.edgeIsPrivate, fx.net.compounds, fx.net.facilities,
            [...fx.fields.values()].map((f) => [f.result.dist, f.result.source, f.result.predArc, f.result.reached, f.facilities.length, f.shapeLng]), fx.snaps);
        const before = state();
        const ev = evaluateScenario(fx.net, fx.fields, PARK_CITY, fx.origins, fx.snaps, plans, { includeChangedEdges: true });
        expect(ev.scenario.graphChanged).toBe(true);
        expect(ev.scenario.net.graph).not.toBe(fx.net.graph);
        suggestPlans(fx.net, fx.fields, CHENGDU_PARK_CITY, CHENGDU_PARK_CITY.rules[1], fx.origins, fx.snaps, plans, 2);
        expect(state()).toBe(before);
    });
});

describe('scenario: oracles', () => {
    /** A random network with random point facilities and origins, as an engine network. */
    function randomEngine(seed: number) {
        const random = testRandom(seed);
        const input = randomWalkGraph(random, { nodeCount: 300, edgeCount: 700, oneWayShare: 0.2 });
        const graph = buildGraph(input);
        const pick = () => [104.0 + 0.02 * random.float(), 30.6 + 0.02 * random.float()];
        const facilities: EngineFacility[] = Array.from({ length: 8 }, (_, i) => {
            const [lng, lat] = pick();
            const category = (['park', 'green_space'] as const)[i % 2];
            return {
                id: i + 1, category, name: null, areaM2: 300 + 3000 * random.float(), isSample: false, lng, lat,
                accessLng: Float64Array.of(lng), accessLat: Float64Array.of(lat), shapeLng: Float64Array.of(lng), shapeLat: Float64Array.of(lat),
            };
        });
        const net: EngineNetwork = {
            graph, snapIndex: buildSnapIndex(graph), barriers: undefined, edgeDbId: Float64Array.from({ length: graph.edgeCount }, (_, e) => e + 1),
            edgeIsPrivate: new Uint8Array(graph.edgeCount), compounds: [], facilities,
        };
        const origins: EngineOrigin[] = Array.from({ length: 200 }, (_, i) => {
            const [lng, lat] = pick();
            return { id: i + 1, lng, lat, population: 1 + random.int(0, 50), compound: -1, areas: { residential_area: { key: `ra${i % 17}`, name: null }, community: { key: `c${i % 5}`, name: null }, street: null, district: null } };
        });
        const snaps = origins.map((o) => { const s = snapOrigin(net, o.lng, o.lat, -1); return s.unreachable ? s : { ...s }; });
        const squares: ScenarioPlan[] = Array.from({ length: 5 }, (_, i) => {
            const [lng, lat] = pick();
            const d = (0.0002 + 0.0006 * random.float());
            return { ref: `sq${i}`, kind: 'add_open_space', name: `sq${i}`, geometry: { type: 'Polygon', coordinates: [[[lng, lat], [lng + d, lat], [lng + d, lat + d], [lng, lat + d], [lng, lat]]] } };
        });
        return { net, origins, snaps, fields: computeFields(net, PARK_CITY), squares, random };
    }

    it('merged open-space fields equal a full recomputation with the new facilities (10 seeds)', () => {
        for (let seed = 1; seed <= 10; seed++) {
            const r = randomEngine(seed);
            const ev = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, r.squares, { includeChangedEdges: true, marginal: false });
            const full = computeFields({ ...r.net, facilities: ev.scenario.net.facilities }, PARK_CITY);
            for (const [key, field] of ev.fields) {
                const want = full.get(key)!;
                expect(Array.from(field.result.dist), `seed ${seed} field ${key}`).toEqual(Array.from(want.result.dist));
                expect(Array.from(field.result.source), `seed ${seed} field ${key}`).toEqual(Array.from(want.result.source));
            }
            // and so coverage equals evaluateCoverage over the fully recomputed fields
            const direct = evaluateCoverage(ev.scenario.net, full, PARK_CITY, r.origins, r.snaps);
            expect(ev.after.map((c) => c.areas)).toEqual(direct.map((c) => c.areas));
        }
    });

    it('coveredTotals counts what evaluateCoverage counts', () => {
        for (let seed = 11; seed <= 15; seed++) {
            const r = randomEngine(seed);
            const totals = coveredTotals(r.net.graph, r.fields, CHENGDU_PARK_CITY.rules, r.origins, r.snaps);
            const cov = evaluateCoverage(r.net, r.fields, PARK_CITY, r.origins, r.snaps);
            expect(totals).toEqual(cov.map((c) => c.areas.find((a) => a.level === 'city')!.coveredPopulation));
        }
    });

    it('marginal gains of open spaces: each is the population only it covers, so they sum to at most the total', () => {
        for (let seed = 21; seed <= 26; seed++) {
            const r = randomEngine(seed);
            const ev = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, r.squares);
            for (const rule of ev.rules) {
                const sum = rule.marginal!.reduce((s, m) => s + m.gain, 0);
                expect(sum).toBeLessThanOrEqual(rule.coveredAfter - rule.coveredBefore + 1e-9);
                for (const m of rule.marginal!) expect(m.gain).toBeGreaterThanOrEqual(0);
            }
        }
    });

    it('origin snaps kept from the baseline equal snapping every origin afresh on the scenario network', () => {
        const fx = fixtureEngine(readFixture('gated-compound-single-gate'));
        const cases = [fx];
        for (let seed = 31; seed <= 34; seed++) {
            const r = randomEngine(seed);
            const c = r.net.graph.edgeCoords;
            // a cleared site around a random edge's first point
            const [lng, lat] = [c[0], c[1]];
            const d = 0.0008;
            const plan: ScenarioPlan = { ref: 'x', kind: 'demolish_illegal', name: 'x', geometry: { type: 'Polygon', coordinates: [[[lng - d, lat - d], [lng + d, lat - d], [lng + d, lat + d], [lng - d, lat + d], [lng - d, lat - d]]] } };
            cases.push({ net: r.net, origins: r.origins, snaps: r.snaps, fields: r.fields, plans: [plan] });
        }
        for (const fx2 of cases) {
            const ev = evaluateScenario(fx2.net, fx2.fields, PARK_CITY, fx2.origins, fx2.snaps, fx2.plans, { marginal: false });
            const fresh = fx2.origins.map((o) => { const s = snapOrigin(ev.scenario.net, o.lng, o.lat, o.compound); return s.unreachable ? s : { ...s }; });
            expect(ev.originSnaps).toEqual(fresh);
        }
    });

    it('the plan order does not matter', () => {
        const r = randomEngine(41);
        const c = r.net.graph.edgeCoords;
        const d = 0.0006;
        const cleared: ScenarioPlan = { ref: 'x', kind: 'demolish_illegal', name: 'x', geometry: { type: 'Polygon', coordinates: [[[c[0] - d, c[1] - d], [c[0] + d, c[1] - d], [c[0] + d, c[1] + d], [c[0] - d, c[1] + d], [c[0] - d, c[1] - d]]] } };
        const plans = [cleared, ...r.squares.slice(0, 2)];
        const a = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, plans, { marginal: false });
        const b = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, [...plans].reverse(), { marginal: false });
        expect(b.rules.map((x) => x.coveredAfter)).toEqual(a.rules.map((x) => x.coveredAfter));
    });

    it('greedy suggestion agrees with enumeration on open spaces, and the optimum is never below greedy', () => {
        for (let seed = 51; seed <= 56; seed++) {
            const r = randomEngine(seed);
            const rule = CHENGDU_PARK_CITY.rules[0];
            const s = suggestPlans(r.net, r.fields, CHENGDU_PARK_CITY, rule, r.origins, r.snaps, r.squares, 2);
            expect(s.enumeration).toBe('done');
            expect(s.optimalityGap).toBeGreaterThanOrEqual(0);
            // brute force through full scenario evaluations
            let best = 0;
            for (let i = 0; i < r.squares.length; i++) {
                for (let j = i + 1; j < r.squares.length; j++) {
                    const ev = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, [r.squares[i], r.squares[j]], { marginal: false });
                    const rr = ev.rules.find((x) => x.ruleId === rule.id)!;
                    best = Math.max(best, rr.coveredAfter - rr.coveredBefore);
                }
            }
            expect(s.optimum!.total).toBeCloseTo(best, 6);
            const picked = r.squares.filter((q) => s.picks.some((p) => p.ref === q.ref));
            const ev = evaluateScenario(r.net, r.fields, PARK_CITY, r.origins, r.snaps, picked, { marginal: false });
            const rr = ev.rules.find((x) => x.ruleId === rule.id)!;
            expect(s.greedyTotal).toBeCloseTo(rr.coveredAfter - rr.coveredBefore, 6);
        }
    });
});

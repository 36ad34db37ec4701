import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { AreaLevel, EngineCompound, EngineOrigin } from '../../geo/coverage.ts';
import { loadOrigins } from './load-network.ts';
import { NETWORK_FILE_FORMAT, readArrayFile, writeArrayFile, type NetworkSource } from './network-file.ts';
import { applyStudyArea, EDGE_MARGIN_M } from './study-area.ts';

/**
 * The origins a compute evaluates (loadOrigins, then applyStudyArea), as a file beside the engine's
 * network files (`<sha256>-v2.origins`), so a recompute and the server's snapshot read them instead
 * of running the origins query and the study-area test in PostGIS (4–37 s on the 1M-node city).
 *
 * Origins depend only on the network dataset and the area layers: the origins table (remade only by
 * deleting and inserting, so new ids), residential areas, communities, districts, the study area,
 * and the street network (compound indexes). The key holds a fingerprint of each and the streets'
 * own key; a register import changes none of them.
 *
 * Columns: one typed array per numeric field (elderly/children NaN where null), area memberships as
 * indexes into one dictionary of areas per level (-1: none), so the file grows by about 80 bytes per
 * origin and reads without building an object per area.
 */
const ORIGINS_KEY_SQL = `
  SELECT
    (SELECT count(*) || ':' || coalesce(min(id), 0) || ':' || coalesce(max(id), 0) || ':' || coalesce(sum(population), 0)
     FROM origins WHERE dataset_id = $1) AS origins,
    (SELECT md5(coalesce(string_agg(concat_ws(':', id, name, is_gated, area_m2), ',' ORDER BY id), ''))
     FROM residential_areas WHERE dataset_id = $1) AS residential_areas,
    (SELECT md5(coalesce(string_agg(concat_ws(':', c.id, d.kind, c.name, c.street, c.district, md5(ST_AsEWKB(c.geom))), ',' ORDER BY c.id), ''))
     FROM communities c JOIN datasets d ON d.id = c.dataset_id
     WHERE (d.kind = 'communities' AND ST_Intersects(c.geom, dataset_extent($1))) OR d.id = $1) AS communities,
    (SELECT md5(coalesce(string_agg(concat_ws(':', id, name, md5(ST_AsEWKB(geom))), ',' ORDER BY id), ''))
     FROM districts WHERE ST_Intersects(geom, dataset_extent($1))) AS districts,
    (SELECT concat_ws(':', md5(ST_AsEWKB(study_area)), md5(ST_AsEWKB(bbox))) FROM datasets WHERE id = $1) AS study_area,
    -- the community source (loadOrigins): imported when imported zones lie in this dataset's extent (migration 0310)
    community_source_of($1) = 'imported' AS communities_imported`;

const SOURCES = ['load-network.ts', 'study-area.ts', 'origins-file.ts'];
let sourceHash: string | undefined;
function originsSourceHash(): string {
  if (sourceHash) return sourceHash;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const h = crypto.createHash('sha256');
  for (const f of SOURCES) h.update(fs.readFileSync(path.join(here, f)));
  return (sourceHash = h.digest('hex').slice(0, 16));
}

/** The key an origins file must carry to be current; `streetsKey` is the network file's. */
export async function originsFileKey(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
  streetsKey: string,
): Promise<string> {
  const { rows } = await db.query<Record<string, string | boolean | null>>(ORIGINS_KEY_SQL, [datasetId]);
  const r = rows[0];
  return [
    'origins',
    `code ${originsSourceHash()}`,
    `margin ${EDGE_MARGIN_M}`,
    ...Object.entries(r).map(([k, v]) => `${k} ${v ?? ''}`),
    `streets ${streetsKey}`,
  ].join('|');
}

/** What a compute evaluates: the origins in the study area, how many lay outside, the community source. */
export interface StudyOrigins {
  origins: EngineOrigin[];
  outside: number;
  communitySource: string;
}

const LEVELS: readonly AreaLevel[] = ['residential_area', 'community', 'street', 'district'];
type Area = { key: string; name: string | null };

/** Write `o` to `file` under `key`. O(origins). */
export function writeOriginsFile(file: string, key: string, o: StudyOrigins): void {
  const n = o.origins.length;
  const cols = {
    id: new Float64Array(n),
    lng: new Float64Array(n),
    lat: new Float64Array(n),
    population: new Float64Array(n),
    elderly: new Float64Array(n),
    children: new Float64Array(n),
    landAreaM2: new Float64Array(n),
    compound: new Int32Array(n),
    nearDataEdge: new Uint8Array(n),
  };
  const dictionaries = LEVELS.map(() => ({ areas: [] as Area[], index: new Map<string, number>() }));
  const areaIndex = LEVELS.map(() => new Int32Array(n));
  o.origins.forEach((x, i) => {
    cols.id[i] = x.id;
    cols.lng[i] = x.lng;
    cols.lat[i] = x.lat;
    cols.population[i] = x.population;
    cols.elderly[i] = x.elderly ?? NaN;
    cols.children[i] = x.children ?? NaN;
    cols.landAreaM2[i] = x.landAreaM2 ?? 0;
    cols.compound[i] = x.compound;
    cols.nearDataEdge[i] = x.nearDataEdge ? 1 : 0;
    LEVELS.forEach((level, l) => {
      const a = x.areas[level];
      if (!a) return void (areaIndex[l][i] = -1);
      const d = dictionaries[l];
      // key and name together: the same key under two names stays two entries
      const k = JSON.stringify([a.key, a.name]);
      let j = d.index.get(k);
      if (j === undefined) d.index.set(k, (j = d.areas.push({ key: a.key, name: a.name }) - 1));
      areaIndex[l][i] = j;
    });
  });
  writeArrayFile(
    file,
    key,
    { outside: o.outside, communitySource: o.communitySource },
    [...Object.entries(cols), ...LEVELS.map((level, l) => [`area.${level}`, areaIndex[l]] as const)],
    { areas: dictionaries.map((d) => d.areas) },
  );
}

/**
 * Read an origins file if it carries `key`; null when it is missing, stale or unreadable. The
 * origins are the same objects loadOrigins + applyStudyArea make (same fields, same order; one
 * area object shared by the origins of an area).
 */
export function readOriginsFile(file: string, key: string): StudyOrigins | null {
  const f = readArrayFile(file, key);
  if (!f) return null;
  try {
    const id = f.need<Float64Array>('id');
    const lng = f.need<Float64Array>('lng');
    const lat = f.need<Float64Array>('lat');
    const population = f.need<Float64Array>('population');
    const elderly = f.need<Float64Array>('elderly');
    const children = f.need<Float64Array>('children');
    const landAreaM2 = f.need<Float64Array>('landAreaM2');
    const compound = f.need<Int32Array>('compound');
    const nearDataEdge = f.need<Uint8Array>('nearDataEdge');
    const areaIndex = LEVELS.map((level) => f.need<Int32Array>(`area.${level}`));
    const dictionaries = (f.skeleton as { areas: Area[][] }).areas;
    const origins: EngineOrigin[] = new Array(id.length);
    for (let i = 0; i < id.length; i++) {
      const area = (l: number) => (areaIndex[l][i] < 0 ? null : dictionaries[l][areaIndex[l][i]]);
      const o: EngineOrigin = {
        id: id[i],
        lng: lng[i],
        lat: lat[i],
        population: population[i],
        elderly: Number.isNaN(elderly[i]) ? null : elderly[i],
        children: Number.isNaN(children[i]) ? null : children[i],
        landAreaM2: landAreaM2[i],
        compound: compound[i],
        areas: { residential_area: area(0), community: area(1), street: area(2), district: area(3) },
      };
      if (nearDataEdge[i]) o.nearDataEdge = true;
      origins[i] = o;
    }
    const meta = f.meta as { outside: number; communitySource: string };
    return { origins, outside: meta.outside, communitySource: meta.communitySource };
  } catch {
    return null;
  }
}

/**
 * The origins a compute of `datasetId` evaluates: from their file under `dir` when current, else
 * from PostGIS (loadOrigins, applyStudyArea) and written for next time (a failed write goes to
 * `onWriteError`). `streetsKey` and `compounds` are the loaded network's.
 */
export async function loadOriginsCached(
  db: pg.Pool | pg.ClientBase,
  datasetId: number,
  dir: string,
  streetsKey: string,
  compounds: readonly EngineCompound[],
  onWriteError: (err: Error) => void = () => {},
): Promise<StudyOrigins & { source: NetworkSource; file: string }> {
  const key = await originsFileKey(db, datasetId, streetsKey);
  const sha = (await db.query<{ sha256: string }>('SELECT sha256 FROM datasets WHERE id = $1', [datasetId])).rows[0]
    ?.sha256;
  if (!sha) throw new Error(`dataset ${datasetId} does not exist`);
  const file = path.join(dir, `${sha}-v${NETWORK_FILE_FORMAT}.origins`);
  const cached = readOriginsFile(file, key);
  if (cached) return { ...cached, source: 'file', file };
  const loaded = await loadOrigins(db, datasetId, compounds);
  const study = await applyStudyArea(db, datasetId, loaded.origins);
  const built: StudyOrigins = { ...study, communitySource: loaded.communitySource };
  try {
    writeOriginsFile(file, key, built);
  } catch (err) {
    onWriteError(err as Error);
  }
  return { ...built, source: 'built', file };
}

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import type { OsmNodePositions, OsmWay } from '../../geo/osm-model.ts';
import { MAX_OSM_TAG_CHARS, textProblem } from '../limits.ts';
import type { Tags } from '../../geo/walkability.ts';
import { IdIndex } from '../../geo/id-index.ts';
import { commandRuns, ensureDebianPackages } from '../ensure-debian-packages.ts';

/** What we read from an OSM file with osmium-tool. */
export interface OsmData {
  nodes: OsmNodePositions;
  /** Tagged nodes only (entrances, gates, amenities, places). */
  nodeTags: Map<number, Tags>;
  ways: OsmWay[];
  /** Areas (closed ways and multipolygon relations) assembled by `osmium export`. */
  areas: OsmArea[];
  fileBbox: [number, number, number, number] | null;
  /** The data's date: the file header's (replication) timestamp, else its newest object's; null when unknown. */
  osmTimestamp: string | null;
}

export interface OsmArea {
  /** 'w123' or 'r456'. */
  ref: string;
  tags: Tags;
  /** The GeoJSON geometry as osmium wrote it (a Polygon or MultiPolygon), kept as text: it goes to PostGIS as is. */
  geometryJson: string;
}

/** osmium-tool does the parsing: it reads XML and PBF, checks blocks, and assembles multipolygons. */
export function ensureOsmium(): string {
  ensureDebianPackages([{ name: 'osmium-tool', isInstalled: () => commandRuns('osmium') }], 'reading OSM files');
  return 'osmium';
}

/** `osmium fileinfo`: object counts and header bbox; fails on a truncated or corrupt file. */
export function osmFileInfo(file: string): {
  nodes: number;
  ways: number;
  relations: number;
  bbox: [number, number, number, number] | null;
  /** The header's timestamp (or osmosis replication timestamp), else the newest object's; null when unknown. */
  timestamp: string | null;
} {
  let out: string;
  try {
    out = execFileSync('osmium', ['fileinfo', '-e', '-j', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`cannot read OSM file ${file}: ${stderr || (err as Error).message}`);
  }
  const info = JSON.parse(out) as {
    header?: { boxes?: number[][]; option?: Record<string, string> };
    data: {
      count: { nodes: number; ways: number; relations: number };
      bbox?: number[];
      timestamp?: { first?: string; last?: string };
    };
  };
  const box = info.header?.boxes?.[0] ?? info.data.bbox;
  return {
    ...info.data.count,
    bbox: box && box.length === 4 ? [box[0], box[1], box[2], box[3]] : null,
    timestamp:
      info.header?.option?.timestamp ||
      info.header?.option?.osmosis_replication_timestamp ||
      // osmium prints an empty timestamp as 1970 when the objects carry none
      (info.data.timestamp?.last && !info.data.timestamp.last.startsWith('1970') ? info.data.timestamp.last : null),
  };
}

const OPL_ESCAPE = /%([0-9a-f]+)%/g;
function unescapeOpl(s: string): string {
  return s.includes('%') ? s.replace(OPL_ESCAPE, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16))) : s;
}

/**
 * Refuse a tag value OSM itself could not hold (longer than MAX_OSM_TAG_CHARS) or PostgreSQL
 * cannot store (U+0000): names end up in every answer about the feature.
 */
function checkTag(ref: string, key: string, value: string): void {
  const problem = textProblem(value, MAX_OSM_TAG_CHARS);
  if (problem) {
    const shown = value.length > 60 ? `${value.slice(0, 57)}…` : value;
    throw new Error(
      `${ref}, tag ${key.slice(0, 60)}: ${JSON.stringify(shown)} ${problem} (the OSM API's limit); nothing imported`,
    );
  }
}

function parseTags(field: string, ref: string): Tags {
  const tags: Record<string, string> = {};
  if (field.length <= 1) return tags;
  for (const kv of field.slice(1).split(',')) {
    const eq = kv.indexOf('=');
    if (eq < 0) continue;
    const key = unescapeOpl(kv.slice(0, eq));
    const value = unescapeOpl(kv.slice(eq + 1));
    checkTag(ref, key, value);
    tags[key] = value;
  }
  return tags;
}

async function runLines(args: string[], onLine: (line: string) => void): Promise<void> {
  const child = spawn('osmium', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const rl = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  for await (const line of rl) onLine(line);
  const code = await exited;
  if (code !== 0) throw new Error(`osmium ${args[0]} failed: ${stderr.trim() || `exit ${code}`}`);
}

/**
 * Read nodes, ways and assembled areas of an OSM XML or PBF file. Nodes and ways come from
 * `osmium cat -f opl`, areas from `osmium export`. Throws with osmium's message on a corrupt file.
 * `onProgress(done, total)` reports objects read.
 */
export async function readOsm(
  file: string,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<OsmData> {
  if (!fs.existsSync(file)) throw new Error(`OSM file not found: ${file}`);
  if (fs.statSync(file).size === 0) throw new Error(`OSM file is empty: ${file}`);
  ensureOsmium();
  const info = osmFileInfo(file);
  if (info.nodes === 0 && info.ways === 0) throw new Error(`OSM file has no nodes or ways: ${file}`);
  const total = info.nodes + info.ways;
  const lng = new Float64Array(info.nodes);
  const lat = new Float64Array(info.nodes);
  const index = new IdIndex(info.nodes);
  const nodeTags = new Map<number, Tags>();
  const ways: OsmWay[] = [];
  let done = 0;
  await runLines(['cat', '-f', 'opl', '-t', 'node', '-t', 'way', '-o', '-', file], (line) => {
    const fields = line.split(' ');
    const type = fields[0][0];
    const id = Number(fields[0].slice(1));
    if (type === 'n') {
      let x = NaN;
      let y = NaN;
      let tagField = '';
      for (let k = 1; k < fields.length; k++) {
        const f = fields[k];
        if (f[0] === 'x') x = Number(f.slice(1));
        else if (f[0] === 'y') y = Number(f.slice(1));
        else if (f[0] === 'T') tagField = f;
      }
      if (Number.isFinite(x) && Number.isFinite(y)) {
        const j = index.size;
        index.set(id, j);
        lng[j] = x;
        lat[j] = y;
      }
      if (tagField.length > 1) nodeTags.set(id, parseTags(tagField, `node ${id}`));
    } else if (type === 'w') {
      let tags: Tags = {};
      let refs: number[] = [];
      for (let k = 1; k < fields.length; k++) {
        const f = fields[k];
        if (f[0] === 'T') tags = parseTags(f, `way ${id}`);
        else if (f[0] === 'N' && f.length > 1)
          refs = f
            .slice(1)
            .split(',')
            .map((r) => Number(r.slice(1)));
      }
      ways.push({ id, refs, tags });
    }
    if (++done % 20000 === 0) onProgress(done, total);
  });
  onProgress(done, total);

  const areas: OsmArea[] = [];
  await runLines(
    [
      'export',
      '-f',
      'geojsonseq',
      '-a',
      'type,id',
      '--geometry-types=polygon',
      '-x',
      'print_record_separator=false',
      '-o',
      '-',
      file,
    ],
    (line) => {
      if (!line) return;
      // osmium writes {"type":"Feature","geometry":{…},"properties":{…}}; the geometry holds only
      // numbers and brackets, so the first ',"properties":' after it ends it. Only the tags are
      // parsed: the coordinates are never turned into JavaScript arrays.
      const g0 = line.indexOf('"geometry":');
      const p0 = g0 < 0 ? -1 : line.indexOf(',"properties":', g0);
      if (g0 < 0 || p0 < 0 || !line.endsWith('}'))
        throw new Error(`osmium export wrote an unexpected line: ${line.slice(0, 120)}`);
      const geometryJson = line.slice(g0 + 11, p0);
      const props = JSON.parse(line.slice(p0 + 14, -1)) as Record<string, string | number>;
      const ref = `${props['@type'] === 'relation' ? 'r' : 'w'}${props['@id']}`;
      const tags: Record<string, string> = {};
      for (const [k, v] of Object.entries(props)) {
        if (k[0] === '@') continue;
        checkTag(ref.startsWith('r') ? `relation ${props['@id']}` : `way ${props['@id']}`, k, String(v));
        tags[k] = String(v);
      }
      areas.push({ ref, tags, geometryJson });
    },
  );
  return {
    nodes: { index, lng: lng.subarray(0, index.size), lat: lat.subarray(0, index.size) },
    nodeTags,
    ways,
    areas,
    fileBbox: info.bbox,
    osmTimestamp: info.timestamp,
  };
}

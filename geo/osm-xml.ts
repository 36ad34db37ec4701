import type { OsmModel, OsmTags } from './osm-model.ts';

/** Options of {@link osmXmlChunks}. */
export interface OsmXmlOptions {
  /** `generator` attribute of the `<osm>` element. */
  generator?: string;
  /** Timestamp written on every element (OSM wants one; ours are made up), ISO 8601 UTC. */
  timestamp?: string;
  /** Added to every node and way id (and way node reference): several models in one file. Default 0. */
  idOffset?: number;
}

// Local choice: flush the text in pieces of about 64 KiB, the default highWaterMark of fs streams.
const CHUNK_CHARS = 64 * 1024;
const DEFAULT_TIMESTAMP = '2024-01-01T00:00:00Z';

// XML 1.0 §2.2 excludes these code points from documents; they are dropped, not escaped.
const INVALID_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // Escaped so that attribute-value normalisation (XML 1.0 §3.3.3) keeps them.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Escapes a string for use inside a double-quoted XML attribute. */
export function escapeXmlAttribute(value: string): string {
  return value.replace(INVALID_XML, '').replace(/[&<>"'\t\n\r]/g, (c) => ESCAPES[c]);
}

function tagLines(tags: OsmTags, indent: string): string {
  let out = '';
  for (const key in tags) {
    out += `${indent}<tag k="${escapeXmlAttribute(key)}" v="${escapeXmlAttribute(tags[key])}"/>\n`;
  }
  return out;
}

/**
 * The model as OSM XML 0.6 text, in chunks of about 64 KiB: `<bounds>`, then all nodes, then all
 * ways, each with `version="1"` and a made-up timestamp, coordinates with 7 decimals (OSM's
 * precision). Ids are written as they are; the model must list them ascending for readers that
 * expect sorted files (osmium does). O(nodes + refs + tags) time, O(chunk) extra memory.
 */
export function* osmXmlChunks(model: OsmModel, options: OsmXmlOptions = {}): Generator<string> {
  const stamp = `version="1" timestamp="${escapeXmlAttribute(options.timestamp ?? DEFAULT_TIMESTAMP)}"`;
  const [minLng, minLat, maxLng, maxLat] = model.bbox;
  const off = options.idOffset ?? 0;
  let buf =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<osm version="0.6" generator="${escapeXmlAttribute(options.generator ?? 'life-circle')}">\n` +
    ` <bounds minlat="${minLat.toFixed(7)}" minlon="${minLng.toFixed(7)}" maxlat="${maxLat.toFixed(7)}" maxlon="${maxLng.toFixed(7)}"/>\n`;
  const { id, lng, lat, tags } = model.nodes;
  for (let k = 0; k < id.length; k++) {
    const head = ` <node id="${id[k] + off}" ${stamp} lat="${lat[k].toFixed(7)}" lon="${lng[k].toFixed(7)}"`;
    const nodeTags = tags.get(id[k]);
    buf += nodeTags ? `${head}>\n${tagLines(nodeTags, '  ')} </node>\n` : `${head}/>\n`;
    if (buf.length >= CHUNK_CHARS) {
      yield buf;
      buf = '';
    }
  }
  for (const way of model.ways) {
    buf += ` <way id="${way.id + off}" ${stamp}>\n`;
    for (let k = 0; k < way.refs.length; k++) buf += `  <nd ref="${way.refs[k] + off}"/>\n`;
    buf += `${tagLines(way.tags, '  ')} </way>\n`;
    if (buf.length >= CHUNK_CHARS) {
      yield buf;
      buf = '';
    }
  }
  yield `${buf}</osm>\n`;
}

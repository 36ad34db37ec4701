import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { osmXmlChunks, type OsmXmlOptions } from '../../geo/osm-xml.ts';
import type { OsmModel } from '../../geo/osm-model.ts';

/**
 * Stream a model as OSM XML 0.6 to a file, piece by piece (see `osmXmlChunks`), so a million
 * nodes never become one giant string. Resolves when the file is written and closed.
 */
export async function writeOsmXml(model: OsmModel, file: string, options: OsmXmlOptions = {}): Promise<void> {
  await pipeline(Readable.from(osmXmlChunks(model, options)), createWriteStream(file));
}

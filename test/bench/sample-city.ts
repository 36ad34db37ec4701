import { generateSampleCity } from '../../geo/sample-city.ts';
import { osmXmlChunks } from '../../geo/osm-xml.ts';

// npm run bench:sample-city
//
// The generator at a million nodes: time and memory to generate the city and to stream it as OSM
// XML. Reported, not asserted; it fails only when the city is not the size asked for.

const TARGET_NODES = 1_000_000;
const SEED = 11;

const before = process.memoryUsage();
const t0 = performance.now();
const city = generateSampleCity({ seed: SEED, targetNodes: TARGET_NODES });
const generateMs = performance.now() - t0;
const after = process.memoryUsage();
let xmlBytes = 0;
const t1 = performance.now();
for (const chunk of osmXmlChunks(city)) xmlBytes += Buffer.byteLength(chunk);
const writeMs = performance.now() - t1;
const mb = (x: number) => `${Math.round(x / 2 ** 20)} MiB`;
console.log(
  `1M sample city: generate ${Math.round(generateMs)} ms, XML ${Math.round(writeMs)} ms (${mb(xmlBytes)}); ` +
    `heap +${mb(after.heapUsed - before.heapUsed)}, array buffers +${mb(after.arrayBuffers - before.arrayBuffers)}, ` +
    `rss ${mb(after.rss)}; ${JSON.stringify(city.stats)}`,
);
if (!(Math.abs(city.nodes.id.length / TARGET_NODES - 1) < 0.1) || !(xmlBytes > 0)) {
  console.error(`the city has ${city.nodes.id.length} nodes (asked ${TARGET_NODES}) and ${xmlBytes} bytes of XML`);
  process.exit(1);
}

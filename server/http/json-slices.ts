import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Array elements serialised per slice; between slices the event loop answers other requests. */
export const JSON_SLICE_ITEMS = 128;

/**
 * `JSON.stringify(body)`, byte for byte, in pieces: `body[key]` (a long array: a whole city's audit
 * areas or GeoJSON features) is serialised {@link JSON_SLICE_ITEMS} elements at a time, and the
 * generator waits for the next turn of the event loop between slices. One answer of tens of
 * megabytes then never holds the thread that answers proximity and tiles for more than a slice.
 */
export async function* jsonSlices(
  body: Record<string, unknown>,
  key: string,
  perSlice = JSON_SLICE_ITEMS,
): AsyncGenerator<string> {
  let first = true;
  yield '{';
  for (const [k, v] of Object.entries(body)) {
    if (k !== key) {
      const json = JSON.stringify(v);
      if (json === undefined) continue; // as JSON.stringify leaves out undefined and functions
      yield `${first ? '' : ','}${JSON.stringify(k)}:${json}`;
      first = false;
      continue;
    }
    if (!Array.isArray(v)) throw new TypeError(`jsonSlices: ${key} is not an array`);
    yield `${first ? '' : ','}${JSON.stringify(k)}:[`;
    first = false;
    for (let i = 0; i < v.length; i += perSlice) {
      if (i > 0) await nextTurn();
      const end = Math.min(v.length, i + perSlice);
      const parts: string[] = [];
      for (let j = i; j < end; j++) parts.push(JSON.stringify(v[j]) ?? 'null');
      yield (i > 0 ? ',' : '') + parts.join(',');
    }
    yield ']';
  }
  yield '}';
}

/** A stream of {@link jsonSlices} for `reply.send`. */
export function jsonSliceStream(body: Record<string, unknown>, key: string): Readable {
  return Readable.from(jsonSlices(body, key), { objectMode: false });
}

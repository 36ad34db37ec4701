import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeCopy } from './copy-rows.ts';

/**
 * One field of a binary COPY row. Arrays are one-dimensional with lower bound 1; `null` elements
 * of int arrays are written as SQL NULL. Binary is used for per-origin results because the server
 * then copies the array elements without parsing millions of decimal numbers.
 */
export type BinaryField =
  | { type: 'int4'; value: number }
  | { type: 'text'; value: string }
  | { type: 'int2[]'; value: ArrayLike<number> }
  | { type: 'int4[]'; value: ArrayLike<number>; isNull?: (i: number) => boolean }
  | { type: 'int8[]'; value: ArrayLike<number>; isNull?: (i: number) => boolean };

const ELEMENT = {
  'int2[]': { oid: 21, size: 2 },
  'int4[]': { oid: 23, size: 4 },
  'int8[]': { oid: 20, size: 8 },
} as const;

function encodeField(f: BinaryField): Buffer {
  if (f.type === 'int4') {
    const b = Buffer.allocUnsafe(8);
    b.writeInt32BE(4, 0);
    b.writeInt32BE(f.value, 4);
    return b;
  }
  if (f.type === 'text') {
    const s = Buffer.from(f.value, 'utf8');
    const b = Buffer.allocUnsafe(4 + s.length);
    b.writeInt32BE(s.length, 0);
    s.copy(b, 4);
    return b;
  }
  const { oid, size } = ELEMENT[f.type];
  const n = f.value.length;
  const isNull = 'isNull' in f ? f.isNull : undefined;
  let nulls = 0;
  if (isNull) for (let i = 0; i < n; i++) if (isNull(i)) nulls++;
  const body = 20 + (n - nulls) * (4 + size) + nulls * 4;
  if (body > 0x3fffffff) throw new Error(`a ${f.type} of ${n} elements is over PostgreSQL's 1 GB field limit`);
  const b = Buffer.allocUnsafe(4 + body);
  let p = 0;
  b.writeInt32BE(body, p);
  p += 4;
  b.writeInt32BE(1, p);
  p += 4; // dimensions
  b.writeInt32BE(nulls > 0 ? 1 : 0, p);
  p += 4;
  b.writeInt32BE(oid, p);
  p += 4;
  b.writeInt32BE(n, p);
  p += 4;
  b.writeInt32BE(1, p);
  p += 4; // lower bound
  for (let i = 0; i < n; i++) {
    if (isNull?.(i)) {
      b.writeInt32BE(-1, p);
      p += 4;
      continue;
    }
    b.writeInt32BE(size, p);
    p += 4;
    const v = f.value[i];
    if (size === 2) b.writeInt16BE(v, p);
    else if (size === 4) b.writeInt32BE(v, p);
    else b.writeBigInt64BE(BigInt(v), p);
    p += size;
  }
  return b;
}

const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const TRAILER = Buffer.from([0xff, 0xff]);

/**
 * Stream rows into `table (columns)` with COPY … FROM STDIN (FORMAT binary), on the caller's
 * client (so in its transaction). `table` and `columns` are our own constants, never input. Rows
 * are encoded one at a time, so only one row's buffers are alive at once.
 */
export async function copyBinaryRows(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly BinaryField[]>,
): Promise<void> {
  const sink = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT binary)`));
  function* chunks() {
    yield HEADER;
    for (const row of rows) {
      if (row.length !== columns.length)
        throw new Error(`COPY ${table}: a row of ${row.length} fields for ${columns.length} columns`);
      const count = Buffer.allocUnsafe(2);
      count.writeInt16BE(row.length, 0);
      yield count;
      for (const f of row) yield encodeField(f);
    }
    yield TRAILER;
  }
  await pipeCopy(table, Readable.from(chunks(), { objectMode: false }), sink);
}

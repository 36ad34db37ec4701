import type pg from 'pg';

/**
 * Insert rows in batches through one parameterised `INSERT … SELECT … FROM unnest($k::type[], …)`
 * statement: `fixed` fills $1..$n, then one array per column follows. Never concatenates values
 * into SQL. `row(item)` returns the column values of one item.
 */
export async function insertBatches<T>(
  client: pg.ClientBase,
  sql: string,
  fixed: readonly unknown[],
  items: readonly T[],
  row: (item: T) => readonly unknown[],
  onProgress: (done: number, total: number) => void = () => {},
  batchSize = 20_000,
): Promise<void> {
  for (let start = 0; start < items.length; start += batchSize) {
    const end = Math.min(items.length, start + batchSize);
    let columns: unknown[][] | null = null;
    for (let i = start; i < end; i++) {
      const values = row(items[i]);
      columns ??= values.map(() => []);
      for (let c = 0; c < values.length; c++) columns[c].push(values[c]);
    }
    await client.query(sql, [...fixed, ...(columns ?? [])]);
    onProgress(end, items.length);
  }
}

import DataLoader from 'dataloader';
import { kitMetrics as metrics } from './metrics.js';

/**
 * One loader per access path. With batching off (the naive benchmark baseline) every load runs
 * its own statement: that is exactly the N+1 pattern the batched default avoids.
 */
export function createLoader<K, V, C = K>(
  batch: boolean,
  load: (keys: readonly K[]) => Promise<readonly (V | Error)[]>,
  cacheKeyFn?: (key: K) => C,
): DataLoader<K, V, C> {
  const observed = (keys: readonly K[]) => {
    metrics.loaderBatchSize.observe(keys.length);
    return load(keys);
  };
  return new DataLoader<K, V, C>(observed, { batch, cache: batch, cacheKeyFn, maxBatchSize: 1000 });
}

/** Groups rows by a key, keeping every requested key (with an empty list when none matched). */
export function groupBy<K, T>(keys: readonly K[], rows: readonly T[], keyOf: (row: T) => K): T[][] {
  const groups = new Map<K, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}

/** Places rows in key order, null where a key matched nothing. */
export function byKey<K, T>(keys: readonly K[], rows: readonly T[], keyOf: (row: T) => K): (T | null)[] {
  const map = new Map<K, T>(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key) ?? null);
}

/**
 * Splits a batch of keys into groups that one statement can serve (the same page shape, the same
 * day, the same window), keeping each group's keys in batch order.
 */
export function groupByShape<K>(keys: readonly K[], shapeOf: (key: K) => string): Map<string, K[]> {
  const groups = new Map<string, K[]>();
  for (const key of keys) {
    const shape = shapeOf(key);
    const group = groups.get(shape);
    if (group) group.push(key);
    else groups.set(shape, [key]);
  }
  return groups;
}

/**
 * Bounded concurrency for the few places that fan out over many items (the worker's records, a
 * group's sends and reads).
 *
 * @module
 */

/**
 * Runs `fn` on every item with at most `limit` at once. Waits for all of them, then throws the
 * first error if any did (no call is left running behind the caller's back).
 *
 * @example
 * ```ts
 * await forEachConcurrently(batches, 4, (batch) => dispatch(batch, deps));
 * ```
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        await fn(items[index] as T, index);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (errors.length > 0) throw errors[0];
}

/**
 * Retry policy: machinery's Fibonacci back-off (`retry/fibonacci.go`) and its `RetryCount` /
 * `RetryTimeout` / `ErrRetryTaskLater` semantics, adapted to a queue where a retry keeps the same
 * message (a visibility change) instead of re-sending a modified copy.
 *
 * In machinery each retry re-sends the signature with `RetryCount - 1` and
 * `RetryTimeout = FibonacciNext(RetryTimeout)`, waiting `RetryTimeout` seconds. Here the body never
 * changes, so the number of retries already consumed comes from the result backend
 * (`TaskRecord.retries`, `ClaimResult.retries`) and retry number `k` (1-based) waits
 * `FibonacciNext` applied `k` times to the signature's `RetryTimeout`: from 0 that is 1, 2, 3, 5,
 * 8, 13 … seconds, exactly machinery's sequence.
 *
 * - A task that throws is retried while `retries < RetryCount`; then it fails.
 * - A task that throws {@link RetryLaterError} is retried after the error's delay; those retries
 *   count against `RetryCount` too, or, when `RetryCount` is 0, against
 *   `DEFAULTS.retryLaterDefaultCap` (10) — machinery would retry it forever.
 * - A return value that has no typed mapping (`UnsupportedResultError`), or results too large to
 *   store or send (`ResultTooLargeError`), is never retried: the same code would fail the same way.
 *
 * @module
 */
import { ResultTooLargeError, RetryLaterError, UnsupportedResultError } from './errors.js';
import { DEFAULTS } from './resources.js';
import type { Signature } from './types.js';

export { RetryLaterError } from './errors.js';

/**
 * machinery's `retry.Fibonacci()`: a generator function returning successive Fibonacci numbers
 * starting from 1 (1, 1, 2, 3, 5, 8 …).
 *
 * @example
 * ```ts
 * const next = fibonacci();
 * [next(), next(), next(), next()]; // [1, 1, 2, 3]
 * ```
 */
export function fibonacci(): () => number {
  let a = 0;
  let b = 1;
  return () => {
    [a, b] = [b, a + b];
    return a;
  };
}

/**
 * machinery's `retry.FibonacciNext(start)`: the first Fibonacci number greater than `start`
 * (0 → 1, 1 → 2, 3 → 5, 4 → 5, 5 → 8, 8 → 13).
 *
 * @example
 * ```ts
 * fibonacciNext(5); // 8
 * ```
 */
export function fibonacciNext(start: number): number {
  const fib = fibonacci();
  let num = fib();
  while (num <= start) num = fib();
  return num;
}

/**
 * Seconds to wait before retry number `retryNumber` (1-based) of a task whose signature has
 * `RetryTimeout = retryTimeout`: `FibonacciNext` applied `retryNumber` times.
 *
 * @example
 * ```ts
 * [1, 2, 3, 4, 5].map((k) => retryDelaySeconds(0, k)); // [1, 2, 3, 5, 8]
 * retryDelaySeconds(10, 1); // 13
 * ```
 */
export function retryDelaySeconds(retryTimeout: number, retryNumber: number): number {
  let t = Math.max(0, retryTimeout);
  for (let k = 0; k < retryNumber; k++) t = fibonacciNext(t);
  return t;
}

/**
 * What to do after a failed attempt.
 *
 * @example
 * ```ts
 * const d: RetryDecision = { retry: true, delayMs: 1000, retryNumber: 1, limit: 3 };
 * ```
 */
export type RetryDecision =
  | { retry: true; delayMs: number; retryNumber: number; limit: number }
  | { retry: false; limit: number };

/**
 * Decides whether a failed attempt is retried, and after how long (see the module documentation).
 *
 * @param retriesUsed retries already consumed before this attempt (`ClaimResult.retries`).
 * @example
 * ```ts
 * decideRetry({ RetryCount: 3, RetryTimeout: 0 }, 0, new Error('oops')); // retry after 1000 ms
 * decideRetry({ RetryCount: 0, RetryTimeout: 0 }, 0, new RetryLaterError(5000)); // retry after 5000 ms
 * ```
 */
export function decideRetry(
  signature: Pick<Signature, 'RetryCount' | 'RetryTimeout'>,
  retriesUsed: number,
  error: unknown,
  options: {
    /** Retries a `RetryLaterError` may cause when `RetryCount` is 0. @default DEFAULTS.retryLaterDefaultCap */
    retryLaterCap?: number;
  } = {},
): RetryDecision {
  if (error instanceof UnsupportedResultError || error instanceof ResultTooLargeError) {
    return { retry: false, limit: 0 };
  }
  if (error instanceof RetryLaterError) {
    const limit =
      signature.RetryCount > 0
        ? signature.RetryCount
        : (options.retryLaterCap ?? DEFAULTS.retryLaterDefaultCap);
    if (retriesUsed < limit) {
      return { retry: true, delayMs: error.delayMs, retryNumber: retriesUsed + 1, limit };
    }
    return { retry: false, limit };
  }
  const limit = signature.RetryCount;
  if (retriesUsed < limit) {
    const retryNumber = retriesUsed + 1;
    const delayMs = retryDelaySeconds(signature.RetryTimeout, retryNumber) * 1000;
    return { retry: true, delayMs, retryNumber, limit };
  }
  return { retry: false, limit };
}

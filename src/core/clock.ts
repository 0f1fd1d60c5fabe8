/**
 * The `Clock` port: the one source of "now" for everything whose behaviour depends on time (the
 * worker's ETA and lease checks, the forwarder, the Scheduler emulator, retries). Inject the same
 * instance everywhere so a test can move time forward instead of waiting.
 *
 * @module
 */

/**
 * A source of time.
 *
 * Deliberately left out: timers that fire callbacks. Code that waits does so with `sleep`, which an
 * adjustable clock can cut short when time is advanced.
 *
 * @example
 * ```ts
 * async function waitUntil(clock: Clock, at: number) {
 *   while (clock.now() < at) await clock.sleep(at - clock.now());
 * }
 * ```
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Resolves once `ms` milliseconds have passed on this clock (or at once when `ms <= 0`).
   * Rejects with the signal's reason when `signal` aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The wall clock.
 *
 * @example
 * ```ts
 * const started = systemClock.now();
 * await systemClock.sleep(100);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: realSleep,
};

/**
 * Wall-clock time plus an offset that only grows. Time flows as usual, and {@link
 * AdjustableClock.advance} jumps it forward, waking every pending `sleep` whose deadline has
 * passed. The local stack shares one instance between the Scheduler emulator, the forwarder and
 * the worker, so a test can fire a 20-minute schedule at once.
 *
 * @example
 * ```ts
 * const clock = new AdjustableClock();
 * const slept = clock.sleep(20 * 60_000);
 * clock.advance(20 * 60_000); // `slept` resolves now
 * await slept;
 * ```
 */
export class AdjustableClock implements Clock {
  #offsetMs: number;
  readonly #waiters = new Set<() => void>();

  /** @param offsetMs initial offset from wall-clock time. @default 0 */
  constructor(offsetMs = 0) {
    this.#offsetMs = offsetMs;
  }

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** The current offset from wall-clock time, in milliseconds. */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Moves time forward by `ms` (negative values are refused: time never goes back). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`AdjustableClock.advance: ms must be a finite number >= 0, got ${ms}`);
    }
    this.#offsetMs += ms;
    for (const wake of [...this.#waiters]) wake();
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const deadline = this.now() + ms;
    while (this.now() < deadline) {
      if (signal?.aborted) throw abortError(signal);
      const inner = new AbortController();
      const wake = () => inner.abort();
      const onAbort = () => inner.abort();
      this.#waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await realSleep(deadline - this.now(), inner.signal);
      } catch {
        // woken by advance() or by the caller's signal: the loop re-checks both
      } finally {
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
      }
    }
    if (signal?.aborted) throw abortError(signal);
  }
}

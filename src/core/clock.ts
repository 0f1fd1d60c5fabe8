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
   * Resolves once `ms` milliseconds have passed on this clock (or at once when `ms <= 0`), for any
   * length: a sleep longer than Node's 2^31 − 1 ms timer limit still lasts `ms`.
   * Rejects with the signal's reason when `signal` aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The longest delay Node's `setTimeout` honours: 2^31 − 1 ms (about 24.8 days). A longer delay
 * fires after 1 ms with a `TimeoutOverflowWarning`.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A timer started by {@link setLongTimeout}. */
export interface LongTimeout {
  /** Cancels the timer; does nothing once it fired or was cleared. */
  clear(): void;
}

/**
 * The timer functions {@link setLongTimeout} schedules with, injectable so a test can observe the
 * chunks it asks for.
 */
export interface TimerFunctions {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link setLongTimeout}. */
export interface LongTimeoutOptions {
  /**
   * When `false`, the pending timer does not keep the process alive (Node's `timer.unref()`).
   * @default true
   */
  ref?: boolean;
  /**
   * Where the underlying timers come from.
   * @default the global `setTimeout` / `clearTimeout`
   */
  timers?: TimerFunctions;
}

const globalTimers: TimerFunctions = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/**
 * `setTimeout` for any delay: a delay longer than {@link MAX_TIMEOUT_MS} is waited out in chunks
 * of at most that length, so the callback runs once, after `ms` milliseconds, and the process wakes
 * once per ~24.8 days meanwhile. `ms` of `Infinity` never fires; `NaN` or a negative `ms` fires as
 * soon as possible, like `setTimeout`.
 *
 * @example
 * ```ts
 * const timer = setLongTimeout(() => console.log('30 days later'), 30 * 86_400_000);
 * timer.clear();
 * ```
 */
export function setLongTimeout(
  fn: () => void,
  ms: number,
  options: LongTimeoutOptions = {},
): LongTimeout {
  const timers = options.timers ?? globalTimers;
  let remaining = Number.isNaN(ms) ? 0 : Math.max(0, ms);
  let handle: unknown;
  let cleared = false;
  const arm = () => {
    const chunk = Math.min(remaining, MAX_TIMEOUT_MS);
    remaining -= chunk;
    handle = timers.setTimeout(() => {
      handle = undefined;
      if (cleared) return;
      if (remaining > 0) arm();
      else fn();
    }, chunk);
    if (options.ref === false) (handle as { unref?: () => void } | null)?.unref?.();
  };
  arm();
  return {
    clear() {
      cleared = true;
      if (handle !== undefined) timers.clearTimeout(handle);
      handle = undefined;
    },
  };
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
      timer.clear();
      reject(abortError(signal as AbortSignal));
    };
    const timer = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
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

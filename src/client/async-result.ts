/**
 * `AsyncResult`: a handle on a sent task, like machinery's `result.AsyncResult`.
 *
 * @module
 */
import { type Clock, systemClock } from '../core/clock.js';
import type { ResultBackend, TaskRecord } from '../core/ports.js';
import type { ArgValue, Signature, TypedValue } from '../core/types.js';
import { ResultTimeoutError, TaskFailedError } from './errors.js';

/**
 * Options of {@link AsyncResult.get}.
 *
 * @example
 * ```ts
 * await result.get({ timeoutMs: 30_000, pollMs: 200 });
 * ```
 */
export interface GetOptions {
  /** Give up after this long, ms (`Infinity`: wait for ever). @default 60_000 */
  timeoutMs?: number;
  /** Time between two reads of the state, ms. @default 100 */
  pollMs?: number;
  /** Stops waiting when aborted (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * A handle on one task: read its state, or wait for its results.
 *
 * @example
 * ```ts
 * const result = await client.sendTask(newSignature('add', [
 *   { Name: '', Type: 'int64', Value: 1 }, { Name: '', Type: 'int64', Value: 2 },
 * ]));
 * const [sum] = await result.get({ timeoutMs: 10_000 }); // 3
 * ```
 */
export class AsyncResult {
  /** The task's UUID. */
  readonly uuid: string;
  /** The signature sent, when this handle was made by `sendTask`. */
  readonly signature: Signature | undefined;
  readonly #backend: ResultBackend;
  readonly #clock: Clock;

  constructor(
    uuid: string,
    deps: { backend: ResultBackend; clock?: Clock; signature?: Signature },
  ) {
    this.uuid = uuid;
    this.signature = deps.signature;
    this.#backend = deps.backend;
    this.#clock = deps.clock ?? systemClock;
  }

  /**
   * The task's stored state (a strongly consistent read), or `undefined` when none is recorded
   * (never sent, or expired).
   *
   * @example
   * ```ts
   * const rec = await result.getState();
   * console.log(rec?.state); // 'PENDING' | 'STARTED' | 'SUCCESS' …
   * ```
   */
  getState(): Promise<TaskRecord | undefined> {
    return this.#backend.get(this.uuid, { now: this.#clock.now() });
  }

  /**
   * Waits for the task to finish and resolves with its typed results. Rejects with
   * {@link TaskFailedError} on FAILURE and with {@link ResultTimeoutError} after `timeoutMs`.
   *
   * @example
   * ```ts
   * const [value] = await result.getTyped(); // { Type: 'int64', Value: 3 }
   * ```
   */
  async getTyped(options: GetOptions = {}): Promise<TypedValue[]> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const pollMs = Math.max(1, options.pollMs ?? 100);
    const deadline = this.#clock.now() + timeoutMs;
    let last: TaskRecord | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      last = await this.getState();
      if (last?.state === 'SUCCESS') return last.results ?? [];
      if (last?.state === 'FAILURE') {
        throw new TaskFailedError(this.uuid, last.error ?? 'unknown error', last.deadLetterReason);
      }
      const left = deadline - this.#clock.now();
      if (left <= 0) throw new ResultTimeoutError(this.uuid, timeoutMs, last?.state);
      await this.#clock.sleep(Math.min(pollMs, left), options.signal);
    }
  }

  /**
   * Waits for the task to finish and resolves with its decoded result values, in order (64-bit
   * integers beyond 2^53 as `bigint`, `[]byte` as `Uint8Array`). Rejects with
   * {@link TaskFailedError} carrying the task's error on FAILURE, and with
   * {@link ResultTimeoutError} when it has not finished within `timeoutMs`.
   *
   * @example
   * ```ts
   * try {
   *   const [sum] = await result.get({ timeoutMs: 5_000, pollMs: 50 });
   * } catch (e) {
   *   if (e instanceof TaskFailedError) console.error(e.taskError);
   * }
   * ```
   */
  async get(options: GetOptions = {}): Promise<ArgValue[]> {
    return (await this.getTyped(options)).map((r) => r.Value);
  }
}

/**
 * Liveness: each long-running worker (and, opt-in, each Lambda execution environment) keeps an
 * alive record that lapses `lapseMs` (30 s by default) after its last heartbeat. A record past its
 * lapse reads as absent even before the table's TTL deletes it (TTL deletes lazily).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import type { ProcessorHooks } from './processor.js';

/** How long an alive record lives after its last heartbeat, ms. */
export const DEFAULT_LAPSE_MS = 30_000;

/**
 * One worker's alive record.
 *
 * @example
 * ```ts
 * const r: WorkerRecord = { id: 'w_1', kind: 'poller', host: 'box', startedAt: 0, lastHeartbeatAt: 0, expiresAt: 30_000, executed: 0, failed: 0 };
 * ```
 */
export interface WorkerRecord {
  /** Unique per worker process (or Lambda execution environment). */
  id: string;
  /** `poller` (`machinery worker`) or `lambda`. */
  kind: 'poller' | 'lambda';
  host: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms. */
  lastHeartbeatAt: number;
  /** The record lapses here, epoch ms (last heartbeat + the lapse). */
  expiresAt: number;
  /** Tasks run (each attempt counts once). */
  executed: number;
  /** Tasks recorded FAILURE. */
  failed: number;
}

/**
 * Where alive records live (`src/aws/liveness.ts` on DynamoDB).
 *
 * @example
 * ```ts
 * await store.put(record);
 * const live = await store.list(Date.now());
 * ```
 */
export interface LivenessStore {
  /** Writes the record (replacing the worker's earlier one). */
  put(record: WorkerRecord): Promise<void>;
  /** The records whose `expiresAt` is after `now`. */
  list(now: number): Promise<WorkerRecord[]>;
  /** Deletes a worker's record (a graceful stop). */
  remove(id: string): Promise<void>;
}

/**
 * Options of {@link LivenessReporter}.
 *
 * @example
 * ```ts
 * const o: LivenessOptions = { store, clock: systemClock, kind: 'poller', host: 'box' };
 * ```
 */
export interface LivenessOptions {
  store: LivenessStore;
  clock: Clock;
  kind: WorkerRecord['kind'];
  host: string;
  /** The record lapses this long after a heartbeat, ms. @default 30_000 */
  lapseMs?: number;
  /** Heartbeat interval, ms. @default lapseMs / 3 */
  intervalMs?: number;
  /** Heartbeat write errors (the reporter keeps going). @default ignored */
  onError?: (error: unknown) => void;
}

/**
 * Keeps one worker's alive record: counts the tasks it runs and fails (through the processor
 * hooks it returns) and writes the record on every heartbeat.
 *
 * @example
 * ```ts
 * const liveness = new LivenessReporter({ store, clock, kind: 'poller', host: hostname() });
 * const hooks = liveness.hooks(userHooks);
 * liveness.start();
 * await liveness.stop();
 * ```
 */
export class LivenessReporter {
  readonly id = `worker_${randomUUID()}`;
  readonly #o: LivenessOptions;
  readonly #lapseMs: number;
  readonly #startedAt: number;
  #executed = 0;
  #failed = 0;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #lastBeat = Number.NEGATIVE_INFINITY;

  constructor(options: LivenessOptions) {
    this.#o = options;
    this.#lapseMs = options.lapseMs ?? DEFAULT_LAPSE_MS;
    this.#startedAt = options.clock.now();
  }

  /** The counts so far. */
  get counts(): { executed: number; failed: number } {
    return { executed: this.#executed, failed: this.#failed };
  }

  /** `given` plus the counting of executed and failed tasks. */
  hooks(given: ProcessorHooks = {}): ProcessorHooks {
    return {
      ...given,
      postTaskHandler: async (sig) => {
        this.#executed++;
        await given.postTaskHandler?.(sig);
      },
      errorHandler: async (error, sig) => {
        this.#failed++;
        await given.errorHandler?.(error, sig);
      },
    };
  }

  /** The record as of now. */
  record(): WorkerRecord {
    const now = this.#o.clock.now();
    return {
      id: this.id,
      kind: this.#o.kind,
      host: this.#o.host,
      startedAt: this.#startedAt,
      lastHeartbeatAt: now,
      expiresAt: now + this.#lapseMs,
      executed: this.#executed,
      failed: this.#failed,
    };
  }

  /** Writes the record now (one write). */
  async beat(): Promise<void> {
    if (this.#beating) return this.#beating;
    this.#lastBeat = this.#o.clock.now();
    this.#beating = this.#o.store
      .put(this.record())
      .catch((e: unknown) => this.#o.onError?.(e))
      .finally(() => {
        this.#beating = undefined;
      });
    return this.#beating;
  }

  /**
   * Writes the record when the last write is older than the interval (a Lambda execution
   * environment's record, written at the end of its invocations).
   */
  async beatIfDue(): Promise<void> {
    const now = this.#o.clock.now();
    if (now - this.#lastBeat < (this.#o.intervalMs ?? this.#lapseMs / 3)) return;
    await this.beat();
  }

  /** Writes the record now and then every interval. */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), this.#o.intervalMs ?? this.#lapseMs / 3);
    this.#timer.unref?.();
  }

  /** Stops the heartbeat and deletes the record. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    await this.#o.store.remove(this.id).catch((e: unknown) => this.#o.onError?.(e));
  }
}

/**
 * In-memory implementations of the ports, for unit tests and examples: a result backend that
 * follows the `ResultBackend` contract to the letter (the conformance suite in
 * `test/conformance/` checks it), a broker and a scheduler that record what they are asked to do,
 * and a logger that records entries. Each can be told to fail its next call(s) to test error paths.
 *
 * @module
 */
import { TransientInfrastructureError } from './errors.js';
import type { LogFields, Logger, LogLevel } from './logger.js';
import type {
  Broker,
  ClaimResult,
  OneTimeSchedule,
  PeriodicSpec,
  PublishItem,
  ResultBackend,
  Scheduler,
  Settlement,
  TaskRecord,
} from './ports.js';
import { freshTaskRecord, signatureRecordFields } from './record-fields.js';
import { oneTimeScheduleName } from './schedule-names.js';
import { decodeSignature, encodeSignature } from './signature.js';
import {
  deadLettered,
  leaseIsLive,
  stateIs,
  taskIsPresent,
  transitionConditions,
} from './transitions.js';
import type { Signature, TaskState, TypedValue } from './types.js';

/** Queued failures per operation name. */
class FailureQueue {
  readonly #queue = new Map<string, unknown[]>();

  add(operation: string, error: unknown, times: number): void {
    const q = this.#queue.get(operation) ?? [];
    for (let i = 0; i < times; i++) q.push(error);
    this.#queue.set(operation, q);
  }

  /** Throws the next queued failure of `operation`, if any. */
  check(operation: string): void {
    const q = this.#queue.get(operation);
    if (q !== undefined && q.length > 0) throw q.shift();
  }
}

function transient(operation: string): TransientInfrastructureError {
  return new TransientInfrastructureError(`injected failure of ${operation}`);
}

/** A copy of a signature as it would arrive after a trip through the wire. */
function viaWire(signature: Signature): Signature {
  return decodeSignature(encodeSignature(signature));
}

/** Names of the `ResultBackend` operations. */
export type BackendOperation = keyof ResultBackend;

/** The `ResultBackend.markFailure` options. */
type MarkFailureOptions = Parameters<ResultBackend['markFailure']>[2];

/**
 * `ResultBackend` in memory, exactly per the TSDoc of `ports.ts`. Items expire when
 * `expiresAt <= now` and then read as absent. Each transition tests the same condition as the
 * DynamoDB backend (`transitionConditions` of `transitions.ts`) on the live record. Counts writes
 * (successful conditional writes), failed conditional writes and reads, so tests can check the
 * write budget.
 *
 * Choices where the contract leaves room (the same as the DynamoDB backend): a redrive claim resets
 * `crashes` to 0 and clears `deadLetterReason`; `crash-loop` writes nothing and returns the record
 * with the crash it found counted.
 *
 * @example
 * ```ts
 * const backend = new MemoryResultBackend();
 * await backend.putPending(sig, { now: 0, expiresAt: 60_000 });
 * backend.writes; // 1
 * ```
 */
export class MemoryResultBackend implements ResultBackend {
  readonly #items = new Map<string, TaskRecord>();
  readonly #failures = new FailureQueue();
  /** Successful writes. */
  writes = 0;
  /** Writes whose condition failed (they cost a write in DynamoDB too). */
  conditionalFailures = 0;
  /** Reads (`get`). */
  reads = 0;

  /**
   * Makes the next `times` calls of `operation` reject with `error`.
   * @param error @default a TransientInfrastructureError
   * @param times @default 1
   */
  failNext(operation: BackendOperation, error: unknown = transient(operation), times = 1): void {
    this.#failures.add(operation, error, times);
  }

  /** The stored item, even when expired (for tests). */
  peek(uuid: string): TaskRecord | undefined {
    const rec = this.#items.get(uuid);
    return rec === undefined ? undefined : structuredClone(rec);
  }

  /** Number of stored items, expired ones included. */
  get size(): number {
    return this.#items.size;
  }

  /** The stored record unless it reads as absent (expired). */
  #live(uuid: string, now: number): TaskRecord | undefined {
    const rec = this.#items.get(uuid);
    return taskIsPresent(now).test(rec) ? rec : undefined;
  }

  #write(rec: TaskRecord): void {
    this.#items.set(rec.uuid, rec);
    this.writes++;
  }

  #refused<T>(value: T): T {
    this.conditionalFailures++;
    return value;
  }

  #fresh(uuid: string, name: string, now: number, expiresAt: number, state: TaskState): TaskRecord {
    return freshTaskRecord(uuid, name, state, now, expiresAt);
  }

  async putPending(
    signature: Signature,
    options: { now: number; expiresAt: number; body?: string },
  ): Promise<boolean> {
    this.#failures.check('putPending');
    const stored = this.#items.get(signature.UUID);
    if (!transitionConditions.putPending(options.now).test(stored)) return this.#refused(false);
    const rec: TaskRecord = {
      ...this.#fresh(signature.UUID, signature.Name, options.now, options.expiresAt, 'PENDING'),
      ...signatureRecordFields(signature),
    };
    rec.body = options.body ?? null;
    this.#write(rec);
    return true;
  }

  async claim(
    signature: Signature,
    options: { now: number; leaseUntil: number; expiresAt: number; maxCrashes: number },
  ): Promise<ClaimResult> {
    this.#failures.check('claim');
    const { now, leaseUntil, expiresAt, maxCrashes } = options;
    const old = this.#live(signature.UUID, now);
    const start = (
      rec: TaskRecord,
      changes: Partial<TaskRecord>,
      redrive: boolean,
    ): ClaimResult => {
      const next: TaskRecord = {
        ...rec,
        ...changes,
        state: 'STARTED',
        attempt: rec.attempt + 1,
        leaseUntil,
        updatedAt: now,
        expiresAt: Math.max(rec.expiresAt, expiresAt),
      };
      this.#write(next);
      return {
        kind: 'claimed',
        attempt: next.attempt,
        retries: next.retries,
        crashes: next.crashes,
        redrive,
      };
    };
    if (old === undefined || transitionConditions.claim(now).test(old)) {
      const rec = old ?? {
        ...this.#fresh(signature.UUID, signature.Name, now, expiresAt, 'STARTED'),
        ...signatureRecordFields(signature),
      };
      return start(rec, {}, false);
    }
    if (deadLettered.test(old)) {
      return start(old, { deadLettered: false, deadLetterReason: null, crashes: 0 }, true);
    }
    if (leaseIsLive(now).test(old) && old.leaseUntil !== null) {
      return this.#refused({ kind: 'leased', leaseUntil: old.leaseUntil });
    }
    if (stateIs('STARTED').test(old)) {
      // An expired lease: the attempt that held it crashed.
      const crashes = old.crashes + 1;
      if (crashes >= maxCrashes) {
        return this.#refused({ kind: 'crash-loop', record: { ...structuredClone(old), crashes } });
      }
      return start(old, { crashes }, false);
    }
    return this.#refused({ kind: 'finished', record: structuredClone(old) });
  }

  /**
   * Ends the attempt `attempt` with `changes` (clearing the lease) when it still owns the task;
   * `false` when it lost its claim.
   */
  #finish(
    uuid: string,
    attempt: number,
    options: { now: number; expiresAt: number },
    changes: (rec: TaskRecord) => Partial<TaskRecord>,
  ): boolean {
    const rec = this.#items.get(uuid);
    if (rec === undefined || !transitionConditions.finish(attempt, options.now).test(rec)) {
      return this.#refused(false);
    }
    this.#write({
      ...rec,
      ...changes(rec),
      leaseUntil: null,
      updatedAt: options.now,
      expiresAt: Math.max(rec.expiresAt, options.expiresAt),
    });
    return true;
  }

  async markSuccess(
    uuid: string,
    attempt: number,
    results: TypedValue[],
    options: { now: number; expiresAt: number },
  ): Promise<boolean> {
    this.#failures.check('markSuccess');
    return this.#finish(uuid, attempt, options, () => ({
      state: 'SUCCESS',
      results: structuredClone(results),
    }));
  }

  async extendLease(
    uuid: string,
    attempt: number,
    options: { now: number; leaseUntil: number },
  ): Promise<boolean> {
    this.#failures.check('extendLease');
    const rec = this.#live(uuid, options.now);
    if (rec === undefined || !transitionConditions.extendLease(attempt, options.now).test(rec)) {
      return this.#refused(false);
    }
    this.#write({ ...rec, leaseUntil: options.leaseUntil, updatedAt: options.now });
    return true;
  }

  async markRetry(
    uuid: string,
    attempt: number,
    error: string,
    options: { now: number; expiresAt: number },
  ): Promise<boolean> {
    this.#failures.check('markRetry');
    return this.#finish(uuid, attempt, options, (rec) => ({
      state: 'RETRY',
      retries: rec.retries + 1,
      error,
    }));
  }

  async markFailure(
    signature: Pick<Signature, 'UUID' | 'Name'>,
    error: string,
    options: MarkFailureOptions,
  ): Promise<boolean> {
    this.#failures.check('markFailure');
    const { now, expiresAt, attempt, deadLetterReason } = options;
    const failed = (): Partial<TaskRecord> => ({
      state: 'FAILURE',
      error,
      results: null,
      deadLettered: deadLetterReason !== undefined,
      deadLetterReason: deadLetterReason ?? null,
    });
    if (attempt !== undefined) return this.#finish(signature.UUID, attempt, options, failed);
    const old = this.#live(signature.UUID, now);
    if (!transitionConditions.failUnclaimed(now).test(old)) return this.#refused(false);
    const rec = old ?? this.#fresh(signature.UUID, signature.Name, now, expiresAt, 'FAILURE');
    this.#write({
      ...rec,
      ...failed(),
      leaseUntil: null,
      updatedAt: now,
      expiresAt: Math.max(rec.expiresAt, expiresAt),
    });
    return true;
  }

  async revoke(
    uuid: string,
    options: { now: number; expiresAt: number },
  ): Promise<'revoked' | TaskState> {
    this.#failures.check('revoke');
    const { now, expiresAt } = options;
    const old = this.#live(uuid, now);
    if (old !== undefined && !transitionConditions.revoke(now).test(old)) {
      return this.#refused(old.state);
    }
    const rec = old ?? this.#fresh(uuid, '', now, expiresAt, 'FAILURE');
    this.#write({
      ...rec,
      state: 'FAILURE',
      error: 'revoked',
      leaseUntil: null,
      deadLettered: false,
      updatedAt: now,
      expiresAt: Math.max(rec.expiresAt, expiresAt),
    });
    return 'revoked';
  }

  async settle(
    signature: Signature,
    outcome: Settlement,
    options: { now: number; expiresAt: number; attempt: number },
  ): Promise<boolean> {
    this.#failures.check('settle');
    const { now, expiresAt, attempt } = options;
    const old = this.#live(signature.UUID, now);
    if (!transitionConditions.settle(attempt, now).test(old)) return this.#refused(false);
    const rec = old ?? {
      ...this.#fresh(signature.UUID, signature.Name, now, expiresAt, outcome.state),
      ...signatureRecordFields(signature),
    };
    const reason = outcome.state === 'FAILURE' ? (outcome.deadLetterReason ?? null) : null;
    this.#write({
      ...rec,
      state: outcome.state,
      results: outcome.state === 'SUCCESS' ? structuredClone(outcome.results) : null,
      error: outcome.state === 'SUCCESS' ? rec.error : outcome.error,
      retries: rec.retries + (outcome.state === 'RETRY' ? 1 : 0),
      attempt: attempt + 1,
      leaseUntil: null,
      deadLettered: reason !== null,
      deadLetterReason: reason,
      updatedAt: now,
      expiresAt: Math.max(rec.expiresAt, expiresAt),
    });
    return true;
  }

  async get(uuid: string, options: { now: number }): Promise<TaskRecord | undefined> {
    this.#failures.check('get');
    this.reads++;
    const rec = this.#live(uuid, options.now);
    return rec === undefined ? undefined : structuredClone(rec);
  }
}

/**
 * A `Broker` that records what it is asked to send (each signature as it would arrive after a trip
 * through the wire, so an unencodable signature fails here as it would in SQS).
 *
 * @example
 * ```ts
 * const broker = new MemoryBroker();
 * await broker.publish([{ signature: sig }]);
 * broker.published[0]?.signature.Name; // 'add'
 * ```
 */
export class MemoryBroker implements Broker {
  readonly #failures = new FailureQueue();
  /** Everything published to the task queue, in order. */
  readonly published: PublishItem[] = [];
  /** Everything sent to the delay queue, in order. */
  readonly delayed: { signature: Signature; delaySeconds: number; body?: string }[] = [];

  /** Makes the next `times` calls of `operation` reject with `error` (a transient error by default). */
  failNext(
    operation: 'publish' | 'publishDelayed',
    error: unknown = transient(operation),
    times = 1,
  ): void {
    this.#failures.add(operation, error, times);
  }

  async publish(items: readonly PublishItem[]): Promise<void> {
    this.#failures.check('publish');
    const copies = items.map((item) => ({ ...item, signature: viaWire(item.signature) }));
    this.published.push(...copies);
  }

  async publishDelayed(
    items: readonly { signature: Signature; delaySeconds: number; body?: string }[],
  ): Promise<void> {
    this.#failures.check('publishDelayed');
    for (const item of items) {
      if (
        !Number.isInteger(item.delaySeconds) ||
        item.delaySeconds < 0 ||
        item.delaySeconds > 900
      ) {
        throw new RangeError(`delaySeconds must be a whole number 0-900, got ${item.delaySeconds}`);
      }
    }
    this.delayed.push(...items.map((item) => ({ ...item, signature: viaWire(item.signature) })));
  }
}

/**
 * A `Scheduler` that keeps schedules in maps and never fires them (tests fire them by reading
 * `once` / `periodic`).
 *
 * @example
 * ```ts
 * const scheduler = new MemoryScheduler();
 * await scheduler.scheduleOnce(sig, Date.now() + 3_600_000);
 * scheduler.once.has(sig.UUID); // true
 * ```
 */
export class MemoryScheduler implements Scheduler {
  readonly #failures = new FailureQueue();
  /** One-time schedules by task UUID. */
  readonly once = new Map<
    string,
    { signature: Signature; fireAt: number; bodyByReference: boolean }
  >();
  /** Recurring schedules by name. */
  readonly periodic = new Map<string, PeriodicSpec>();

  /** Makes the next `times` calls of `operation` reject with `error` (a transient error by default). */
  failNext(operation: keyof Scheduler, error: unknown = transient(operation), times = 1): void {
    this.#failures.add(operation, error, times);
  }

  async scheduleOnce(
    signature: Signature,
    fireAt: number,
    options: { bodyByReference?: boolean } = {},
  ): Promise<boolean> {
    this.#failures.check('scheduleOnce');
    if (this.once.has(signature.UUID)) return false;
    this.once.set(signature.UUID, {
      signature: viaWire(signature),
      fireAt,
      bodyByReference: options.bodyByReference ?? false,
    });
    return true;
  }

  async cancelOnce(uuid: string): Promise<boolean> {
    this.#failures.check('cancelOnce');
    return this.once.delete(uuid);
  }

  async putPeriodic(spec: PeriodicSpec): Promise<void> {
    this.#failures.check('putPeriodic');
    this.periodic.set(spec.name, { ...spec, signature: viaWire(spec.signature) });
  }

  async listPeriodic(): Promise<PeriodicSpec[]> {
    this.#failures.check('listPeriodic');
    return [...this.periodic.values()];
  }

  async deletePeriodic(name: string): Promise<boolean> {
    this.#failures.check('deletePeriodic');
    return this.periodic.delete(name);
  }

  async listOnce(): Promise<OneTimeSchedule[]> {
    this.#failures.check('listOnce');
    return [...this.once.values()]
      .map(({ signature, fireAt }) => ({
        scheduleName: oneTimeScheduleName(signature.UUID),
        uuid: signature.UUID,
        name: signature.Name,
        eta: signature.ETA,
        fireAt,
      }))
      .sort((a, b) => a.fireAt - b.fireAt);
  }
}

/**
 * One recorded log entry.
 *
 * @example
 * ```ts
 * const e: LogEntry = { level: 'info', message: 'task succeeded', fields: { uuid: 'task_1' } };
 * ```
 */
export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/**
 * A `Logger` that records entries.
 *
 * @example
 * ```ts
 * const logger = new MemoryLogger();
 * logger.warn('careful', { n: 1 });
 * logger.entries[0]?.message; // 'careful'
 * ```
 */
export class MemoryLogger implements Logger {
  readonly entries: LogEntry[] = [];

  debug(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'debug', message, fields });
  }
  info(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'info', message, fields });
  }
  warn(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'warn', message, fields });
  }
  error(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'error', message, fields });
  }

  /** Entries of one level. */
  at(level: LogLevel): LogEntry[] {
    return this.entries.filter((e) => e.level === level);
  }
}

/**
 * One delivery of one decoded task message: the {@link Attempt} the processor's flow drives
 * (`processor.ts`). It holds the signature, the delivery, its logger and, once claimed, the claim,
 * and owns every write and send made on the task's behalf:
 *
 * - **before a claim**: FAILURE and dead-letter (`deadLetter`), FAILURE and ignore (`ignore`);
 * - **the claim** (`claim`): STARTED with a lease, or the outcome that stops here (`duplicate`,
 *   `revoked`, `busy`, `crash-loop`); in the idempotent lane, **the check** (`check`) instead: one
 *   strongly consistent read and no write, the outcome written later by `ResultBackend.settle`;
 * - **the run** (`run`): the task function with its context and hooks, then `succeed` (SUCCESS,
 *   `OnSuccess` callbacks), `retry` (RETRY after the back-off) or `fail` (FAILURE, the error hook,
 *   `OnError` callbacks);
 * - **port failures** (`portFailed`): a write or send refused for the message's content
 *   (`classifyFault` kind `message`) dead-letters the message `message-rejected`, recording FAILURE
 *   when that write is still possible; any other error gives `transient` with the error as the
 *   adapter translated it.
 *
 * Bounds: error texts are cut to `maxErrorTextLength`; results over `maxResultBytes`, an
 * `OnSuccess` callback over the SQS message limit, or a SUCCESS write refused for its size make
 * the task FAILURE `result-too-large`, without retries (see `bounds.ts`).
 *
 * Leaves to the processor the order of the checks (decode, ETA, registration, args, receive
 * limit), to `retry.ts` the retry policy, to `callbacks.ts` the shape of callbacks, and to the
 * consumer what an outcome means for the message.
 *
 * @module
 */
import { toTypedResults } from './args.js';
import { messageBytes, storedResultBytes, truncateText } from './bounds.js';
import { onErrorCallbacks, onSuccessCallbacks } from './callbacks.js';
import type { Clock } from './clock.js';
import {
  classifyFault,
  ResultTooLargeError,
  TaskTimeoutError,
  TransientInfrastructureError,
} from './errors.js';
import { taskExpiresAt } from './lifetime.js';
import { childLogger, type Logger } from './logger.js';
import type { Delivery, ProcessOutcome, ResultBackend, Settlement, TaskRecord } from './ports.js';
import type { Dispatcher, ProcessorHooks, WorkflowExtension } from './processor.js';
import type { Task, TaskContext } from './registry.js';
import { DEFAULTS } from './resources.js';
import { decideRetry, type RetryDecision } from './retry.js';
import { etaToMillis } from './time.js';
import type { DeadLetterReason, Signature, TaskState, TypedValue } from './types.js';
import { CHORD_RESULTS_HEADER } from './workflow.js';

/**
 * What every attempt of one processor shares: the ports, the hooks and the settings, with their
 * defaults applied (see `ProcessorOptions`).
 *
 * @example
 * ```ts
 * const settings: AttemptSettings = { backend, clock, send, hooks: {}, workflow: {}, ...limits };
 * ```
 */
export interface AttemptSettings {
  backend: ResultBackend;
  clock: Clock;
  send: Dispatcher;
  hooks: ProcessorHooks;
  workflow: WorkflowExtension;
  leaseMs: number;
  maxCrashes: number;
  resultsExpireInSeconds: number;
  retryLaterCap: number;
  writeRetryDelaysMs: readonly number[];
  maxErrorTextLength: number;
  maxResultBytes: number;
}

/**
 * A port call that failed. The processor's flow lets it propagate and hands it to
 * {@link Attempt.portFailed}, which chooses the outcome.
 *
 * @example
 * ```ts
 * try { await attempt.port('claiming the task', () => backend.claim(…)); }
 * catch (e) { if (e instanceof PortFailure) return attempt.portFailed(e); }
 * ```
 */
export class PortFailure extends Error {
  /** What was being done, for logs ("claiming the task"). */
  readonly operation: string;
  /** The error the port threw (already translated by its adapter). */
  readonly error: unknown;
  constructor(operation: string, error: unknown) {
    super(`${operation} failed`, { cause: error });
    this.name = 'PortFailure';
    this.operation = operation;
    this.error = error;
  }
}

/**
 * The text of a thrown value, as stored in task state and given to OnError callbacks (before
 * truncation).
 *
 * @example
 * ```ts
 * errorMessage(new Error('boom')); // 'boom'
 * ```
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message === '' ? error.name : error.message;
  if (typeof error === 'string') return error;
  try {
    return String(error);
  } catch {
    return 'unknown error';
  }
}

function runUntilAborted(fn: () => unknown, signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.reject(new TaskTimeoutError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new TaskTimeoutError());
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(fn)
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * What a message for a task settled for good comes to, whatever the message asks: `revoked` when
 * `cancel()` revoked it, `duplicate` when it is SUCCESS or a FAILURE that is not dead-lettered
 * (a dead-lettered task may be redriven); `undefined` when the task may still run.
 *
 * @example
 * ```ts
 * settledOutcome(await backend.get(uuid, { now })); // { kind: 'duplicate', uuid, state: 'SUCCESS' }
 * ```
 */
export function settledOutcome(
  record: TaskRecord | undefined,
):
  | { kind: 'revoked'; uuid: string }
  | { kind: 'duplicate'; uuid: string; state: TaskState }
  | undefined {
  if (record === undefined) return undefined;
  if (record.state === 'FAILURE' && record.error === 'revoked') {
    return { kind: 'revoked', uuid: record.uuid };
  }
  if (record.state === 'SUCCESS' || (record.state === 'FAILURE' && !record.deadLettered)) {
    return { kind: 'duplicate', uuid: record.uuid, state: record.state };
  }
  return undefined;
}

function resultSummary(results: readonly TypedValue[]): string[] {
  return results.map((r) => r.Type);
}

/** The claim this attempt holds once `claim()` (or, in the idempotent lane, `check()`) succeeded. */
interface HeldClaim {
  attempt: number;
  retries: number;
  redrive: boolean;
  /** The idempotent lane: the `attempt` of the record read by `check()` (0 when absent). */
  read?: number;
}

/**
 * One delivery of one task (see the module documentation).
 *
 * @example
 * ```ts
 * const attempt = new Attempt(settings, signature, delivery, logger);
 * const stop = await attempt.claim();
 * return stop ?? (await attempt.run(task, values));
 * ```
 */
export class Attempt {
  readonly signature: Signature;
  readonly delivery: Delivery;
  readonly #s: AttemptSettings;
  #log: Logger;
  #claim: HeldClaim | undefined;
  #expiresAt: number | undefined;

  constructor(settings: AttemptSettings, signature: Signature, delivery: Delivery, logger: Logger) {
    this.#s = settings;
    this.signature = signature;
    this.delivery = delivery;
    this.#log = childLogger(logger, {
      uuid: signature.UUID,
      task: signature.Name,
      messageId: delivery.messageId,
    });
  }

  /** The attempt's logger (task UUID, name and message id attached; the attempt once claimed). */
  get log(): Logger {
    return this.#log;
  }

  /** An error's text, cut to `maxErrorTextLength`. */
  errorText(error: unknown): string {
    return truncateText(errorMessage(error), this.#s.maxErrorTextLength);
  }

  /** When the task's item expires, computed once per attempt (at the first write). */
  expiresAt(): number {
    this.#expiresAt ??= taskExpiresAt({
      now: this.#s.clock.now(),
      eta: this.signature.ETA === null ? null : etaToMillis(this.signature.ETA),
      resultsExpireInSeconds: this.#s.resultsExpireInSeconds,
    });
    return this.#expiresAt;
  }

  /** Calls a port; a failure propagates as a {@link PortFailure}. */
  async port<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw new PortFailure(operation, e);
    }
  }

  /** Records FAILURE before any claim with a dead-letter reason, and dead-letters. */
  async deadLetter(reason: DeadLetterReason, detail: string): Promise<ProcessOutcome> {
    const { backend, clock } = this.#s;
    const sig = this.signature;
    const text = truncateText(detail, this.#s.maxErrorTextLength);
    const now = clock.now();
    const written = await this.port('recording FAILURE', () =>
      backend.markFailure(sig, text, {
        now,
        expiresAt: this.expiresAt(),
        deadLetterReason: reason,
      }),
    );
    if (!written) {
      const rec = await this.port('reading task state', () => backend.get(sig.UUID, { now }));
      const settled = settledOutcome(rec);
      if (settled !== undefined) {
        this.#log.info('duplicate of a finished task; acknowledging', {
          state: rec?.state,
          reason,
        });
        return settled;
      }
    }
    this.#log.error('dead-lettering the message', { reason, detail: text });
    await this.#hook('errorHandler', () => this.#s.hooks.errorHandler?.(new Error(text), sig));
    await this.#memberDeadLettered(reason, text);
    return { kind: 'dead-letter', uuid: sig.UUID, reason, detail: text };
  }

  /** Records FAILURE for an unregistered task the producer asked to ignore, and ignores it. */
  async ignore(detail: string): Promise<ProcessOutcome> {
    const reason = truncateText(detail, this.#s.maxErrorTextLength);
    const now = this.#s.clock.now();
    await this.port('recording FAILURE', () =>
      this.#s.backend.markFailure(this.signature, reason, { now, expiresAt: this.expiresAt() }),
    );
    this.#log.warn('ignoring an unregistered task, as the producer asked; recorded FAILURE', {
      reason,
    });
    return { kind: 'ignored', uuid: this.signature.UUID, reason };
  }

  /**
   * Claims a new attempt (STARTED, lease `now + leaseMs`). Resolves `undefined` when claimed (call
   * {@link run} next), else the outcome that ends this delivery.
   */
  async claim(): Promise<ProcessOutcome | undefined> {
    const { backend, clock, leaseMs, maxCrashes } = this.#s;
    const sig = this.signature;
    const now = clock.now();
    const claim = await this.port('claiming the task', () =>
      backend.claim(sig, {
        now,
        leaseUntil: now + leaseMs,
        expiresAt: this.expiresAt(),
        maxCrashes,
      }),
    );
    switch (claim.kind) {
      case 'finished':
        return this.#finished(claim.record);
      case 'leased':
        this.#log.info('another attempt holds a live lease; leaving the message for later', {
          leaseUntil: claim.leaseUntil,
        });
        return { kind: 'busy', uuid: sig.UUID, leaseUntil: claim.leaseUntil };
      case 'crash-loop':
        return this.deadLetter(
          'crash-loop',
          `crash loop: ${claim.record.crashes} attempts ended without recording a result (lease expired)`,
        );
      case 'claimed':
        this.#claim = { attempt: claim.attempt, retries: claim.retries, redrive: claim.redrive };
        this.#log = childLogger(this.#log, { attempt: claim.attempt });
        return undefined;
    }
  }

  /**
   * The idempotent lane's check instead of a claim (docs/design.md §4 "Lanes"): one strongly
   * consistent read, no write. A finished or revoked task ends here as after a claim; a task a
   * running attempt of another lane holds is `busy`; a message received more often than its
   * retries explain (`receiveCount − 1 − retries` receives ended without a result) `maxCrashes`
   * times is dead-lettered `crash-loop`. Resolves `undefined` when the task may run (call
   * {@link run} next; its outcome is written by `ResultBackend.settle`).
   */
  async check(): Promise<ProcessOutcome | undefined> {
    const { backend, clock, maxCrashes } = this.#s;
    const sig = this.signature;
    const now = clock.now();
    const rec = await this.port('reading task state', () => backend.get(sig.UUID, { now }));
    if (rec !== undefined && settledOutcome(rec) !== undefined) return this.#finished(rec);
    if (rec?.state === 'STARTED' && rec.leaseUntil !== null && rec.leaseUntil > now) {
      this.#log.info(
        'an attempt of another lane holds a live lease; leaving the message for later',
        {
          leaseUntil: rec.leaseUntil,
        },
      );
      return { kind: 'busy', uuid: sig.UUID, leaseUntil: rec.leaseUntil };
    }
    const { receiveCount } = this.delivery;
    const retries = rec?.retries ?? 0;
    const crashes = Math.max(0, receiveCount - 1 - retries);
    if (crashes >= maxCrashes) {
      return this.deadLetter(
        'crash-loop',
        `crash loop: the message was received ${receiveCount} times for ${retries} retries (idempotent lane: ${crashes} receives ended without recording a result)`,
      );
    }
    const read = rec?.attempt ?? 0;
    this.#claim = { attempt: read + 1, retries, redrive: rec?.deadLettered ?? false, read };
    this.#log = childLogger(this.#log, { attempt: read + 1, lane: 'idempotent' });
    return undefined;
  }

  /** Runs the claimed task with its context and hooks, and records its outcome. */
  async run(task: Task<string, readonly unknown[]>, values: unknown[]): Promise<ProcessOutcome> {
    const held = this.#held();
    const sig = this.signature;
    const { delivery } = this;
    const ctx: TaskContext = {
      signature: sig,
      uuid: sig.UUID,
      name: sig.Name,
      attempt: held.attempt,
      retries: held.retries,
      redrive: held.redrive,
      idempotencyKey:
        held.read === undefined
          ? `${sig.UUID}:${held.attempt}`
          : `${sig.UUID}:${delivery.messageId}:r${delivery.receiveCount}`,
      headers: sig.Headers,
      logger: this.#log,
      signal: delivery.signal,
      remainingTimeMs: () => delivery.remainingTimeMs(),
      ...this.#chordResults(),
    };
    this.#log.info('task started', { retries: held.retries, redrive: held.redrive });
    await this.#hook('preTaskHandler', () => this.#s.hooks.preTaskHandler?.(sig));
    try {
      let results: TypedValue[];
      try {
        results = toTypedResults(
          await runUntilAborted(() => task.invoke(ctx, values), delivery.signal),
        );
      } catch (e) {
        return await this.fail(e);
      }
      return await this.succeed(results);
    } finally {
      await this.#hook('postTaskHandler', () => this.#s.hooks.postTaskHandler?.(sig));
    }
  }

  /**
   * Records SUCCESS and sends the completion effects; results too large to store or send fail the
   * task `result-too-large` instead.
   */
  async succeed(results: TypedValue[]): Promise<ProcessOutcome> {
    const held = this.#held();
    const { backend, clock } = this.#s;
    const sig = this.signature;
    const callbacks = onSuccessCallbacks(sig, results);
    const tooLarge = this.#oversize(results, callbacks);
    if (tooLarge !== undefined) return this.fail(tooLarge);
    let stored: boolean;
    try {
      stored = await this.#resultWrite('recording SUCCESS', () =>
        this.#settle(held, { state: 'SUCCESS', results }, () =>
          backend.markSuccess(sig.UUID, held.attempt, results, {
            now: clock.now(),
            expiresAt: this.expiresAt(),
          }),
        ),
      );
    } catch (e) {
      if (!(e instanceof PortFailure) || classifyFault(e.error).kind !== 'message') throw e;
      return this.fail(
        new ResultTooLargeError(`the SUCCESS write was refused: ${errorMessage(e.error)}`, {
          cause: e.error,
        }),
      );
    }
    if (!stored) return this.#lostClaim();
    this.#log.info('task succeeded', { results: resultSummary(results) });
    await this.#afterSuccess(results, callbacks);
    return { kind: 'done', uuid: sig.UUID, state: 'SUCCESS' };
  }

  /** A failed run: RETRY while retries remain, else FAILURE. */
  async fail(error: unknown): Promise<ProcessOutcome> {
    const held = this.#held();
    const decision = decideRetry(this.signature, held.retries, error, {
      retryLaterCap: this.#s.retryLaterCap,
    });
    const message = this.errorText(error);
    if (decision.retry) return this.retry(decision, message, error);
    return this.#failed(decision, message, error);
  }

  /** Records RETRY; the consumer keeps the message for the back-off. */
  async retry(
    decision: Extract<RetryDecision, { retry: true }>,
    message: string,
    error: unknown,
  ): Promise<ProcessOutcome> {
    const held = this.#held();
    const { backend, clock } = this.#s;
    const sig = this.signature;
    const stored = await this.#resultWrite('recording RETRY', () =>
      this.#settle(held, { state: 'RETRY', error: message }, () =>
        backend.markRetry(sig.UUID, held.attempt, message, {
          now: clock.now(),
          expiresAt: this.expiresAt(),
        }),
      ),
    );
    if (!stored) return this.#lostClaim();
    this.#log.warn(
      `task failed; retry ${decision.retryNumber} of ${decision.limit} in ${decision.delayMs} ms`,
      { error },
    );
    return {
      kind: 'retry',
      uuid: sig.UUID,
      delayMs: decision.delayMs,
      attempt: held.attempt,
      error: message,
    };
  }

  /**
   * The outcome of a failed port call: `message-rejected` when the call was refused for the
   * message's content, else `transient` (the error as its adapter translated it).
   */
  async portFailed(failure: PortFailure): Promise<ProcessOutcome> {
    const { kind } = classifyFault(failure.error);
    if (kind === 'message') return this.#rejectMessage(failure);
    const level = kind === 'transient' ? 'warn' : 'error';
    this.#log[level](`${failure.operation} failed; the message will be delivered again`, {
      error: failure.error,
    });
    return { kind: 'transient', uuid: this.signature.UUID, error: failure.error };
  }

  /** A write or send refused for the message's content: FAILURE when still possible, dead-letter. */
  async #rejectMessage(failure: PortFailure): Promise<ProcessOutcome> {
    const sig = this.signature;
    const detail = this.errorText(
      `${failure.operation} was refused for the message's content: ${errorMessage(failure.error)}`,
    );
    const held = this.#claim;
    try {
      const written = await this.#s.backend.markFailure(sig, detail, {
        now: this.#s.clock.now(),
        expiresAt: this.expiresAt(),
        deadLetterReason: 'message-rejected',
        ...(held === undefined || held.read !== undefined ? {} : { attempt: held.attempt }),
      });
      if (!written) this.#log.warn('FAILURE not recorded: the task state moved on', { detail });
    } catch (e) {
      if (classifyFault(e).kind !== 'message') {
        this.#log.warn('recording FAILURE failed; the message will be delivered again', {
          error: e,
        });
        return { kind: 'transient', uuid: sig.UUID, error: e };
      }
      this.#log.warn('FAILURE cannot be recorded either; dead-lettering without task state', {
        error: e,
      });
    }
    this.#log.error('dead-lettering a message refused for its content', {
      reason: 'message-rejected',
      detail,
      error: failure.error,
    });
    await this.#hook('errorHandler', () => this.#s.hooks.errorHandler?.(failure.error, sig));
    await this.#memberDeadLettered('message-rejected', detail);
    return { kind: 'dead-letter', uuid: sig.UUID, reason: 'message-rejected', detail };
  }

  /** Records FAILURE after a run, runs the error hook and sends OnError callbacks. */
  async #failed(decision: RetryDecision, message: string, error: unknown): Promise<ProcessOutcome> {
    const held = this.#held();
    const { backend, clock } = this.#s;
    const sig = this.signature;
    const stop = sig.StopTaskDeletionOnError;
    const reason = stop ? { deadLetterReason: 'permanent-failure' as const } : {};
    const stored = await this.#resultWrite('recording FAILURE', () =>
      this.#settle(held, { state: 'FAILURE', error: message, ...reason }, () =>
        backend.markFailure(sig, message, {
          now: clock.now(),
          expiresAt: this.expiresAt(),
          attempt: held.attempt,
          ...reason,
        }),
      ),
    );
    if (!stored) return this.#lostClaim();
    this.#log.error('task failed', { error, retries: held.retries, limit: decision.limit });
    await this.#hook('errorHandler', () => this.#s.hooks.errorHandler?.(error, sig));
    if (!stop) {
      await this.#afterFailure(message);
      return { kind: 'done', uuid: sig.UUID, state: 'FAILURE' };
    }
    let detail = message;
    try {
      await this.#afterFailure(message, 'permanent-failure');
    } catch (e) {
      const cause = e instanceof PortFailure ? e.error : e;
      this.#log.error('OnError callbacks of a dead-lettered task could not be sent', {
        error: cause,
      });
      detail = this.errorText(`${message} (OnError callbacks not sent: ${errorMessage(cause)})`);
    }
    return { kind: 'dead-letter', uuid: sig.UUID, reason: 'permanent-failure', detail };
  }

  /** Why results cannot be stored or sent, or `undefined` when they can. */
  #oversize(
    results: readonly TypedValue[],
    callbacks: readonly Signature[],
  ): ResultTooLargeError | undefined {
    const { maxResultBytes } = this.#s;
    const bytes = storedResultBytes(results);
    if (bytes > maxResultBytes) {
      return new ResultTooLargeError(
        `the results take ${bytes} bytes in the task's item, over the ${maxResultBytes} it may hold`,
      );
    }
    for (const [i, cb] of callbacks.entries()) {
      const size = messageBytes(cb);
      if (size > DEFAULTS.maxMessageBytes) {
        return new ResultTooLargeError(
          `OnSuccess callback ${i} with the results appended is ${size} bytes, over the ${DEFAULTS.maxMessageBytes} an SQS message holds`,
        );
      }
    }
    return undefined;
  }

  /** A finished task seen again: acknowledge, re-sending its completion effects. */
  async #finished(rec: TaskRecord): Promise<ProcessOutcome> {
    const sig = this.signature;
    if (rec.state === 'FAILURE' && rec.error === 'revoked') {
      this.#log.info('task was revoked; acknowledging without running');
      const { workflow } = this.#s;
      const memberRevoked = workflow.memberRevoked;
      if (sig.GroupUUID !== '' && memberRevoked !== undefined) {
        await this.port('workflow.memberRevoked', () => memberRevoked.call(workflow, sig));
      }
      return { kind: 'revoked', uuid: sig.UUID };
    }
    this.#log.info('duplicate of a finished task; acknowledging without running', {
      state: rec.state,
    });
    if (rec.state === 'SUCCESS') {
      const results = rec.results ?? [];
      await this.#afterSuccess(results, onSuccessCallbacks(sig, results));
    } else {
      await this.#afterFailure(rec.error ?? 'unknown error');
    }
    return { kind: 'duplicate', uuid: sig.UUID, state: rec.state };
  }

  /** OnSuccess callbacks and the workflow extension, after SUCCESS is stored. */
  async #afterSuccess(
    results: readonly TypedValue[],
    callbacks: readonly Signature[],
  ): Promise<void> {
    const { send, workflow } = this.#s;
    const sig = this.signature;
    if (callbacks.length > 0) await this.port('sending OnSuccess callbacks', () => send(callbacks));
    const memberSucceeded = workflow.memberSucceeded;
    if (sig.GroupUUID !== '' && memberSucceeded !== undefined) {
      await this.port('workflow.memberSucceeded', () =>
        memberSucceeded.call(workflow, sig, results),
      );
    }
  }

  /**
   * OnError callbacks and the workflow extension, after FAILURE is stored. With `deadLetter`, the
   * task is being dead-lettered: its group hears of a dead-lettered member, not a failed one.
   */
  async #afterFailure(message: string, deadLetter?: DeadLetterReason): Promise<void> {
    const { send, workflow } = this.#s;
    const sig = this.signature;
    const callbacks = onErrorCallbacks(sig, message);
    if (callbacks.length > 0) await this.port('sending OnError callbacks', () => send(callbacks));
    if (deadLetter !== undefined) {
      await this.#memberDeadLettered(deadLetter, message);
      return;
    }
    const memberFailed = workflow.memberFailed;
    if (sig.GroupUUID !== '' && memberFailed !== undefined) {
      await this.port('workflow.memberFailed', () => memberFailed.call(workflow, sig, message));
    }
  }

  /** `ctx.chordResults` for a chord callback whose results travel by reference. */
  #chordResults(): Pick<TaskContext, 'chordResults'> {
    const { workflow } = this.#s;
    const read = workflow.chordResults;
    if (read === undefined || this.signature.Headers[CHORD_RESULTS_HEADER] === undefined) return {};
    return { chordResults: () => read.call(workflow, this.signature) };
  }

  /** Tells the workflow extension a member is being dead-lettered. */
  async #memberDeadLettered(reason: DeadLetterReason, detail: string): Promise<void> {
    const { workflow } = this.#s;
    const sig = this.signature;
    const hook = workflow.memberDeadLettered;
    if (sig.GroupUUID === '' || hook === undefined) return;
    await this.port('workflow.memberDeadLettered', () => hook.call(workflow, sig, reason, detail));
  }

  /** This attempt's result write was refused: another attempt took over. */
  async #lostClaim(): Promise<ProcessOutcome> {
    const sig = this.signature;
    const rec = await this.port('reading task state', () =>
      this.#s.backend.get(sig.UUID, { now: this.#s.clock.now() }),
    );
    this.#log.warn(
      'this attempt lost its claim (another attempt took over); its result is dropped',
      {
        attempt: this.#claim?.attempt,
        state: rec?.state,
      },
    );
    return { kind: 'duplicate', uuid: sig.UUID, state: rec?.state ?? 'STARTED' };
  }

  /**
   * The write of a run's outcome: `claimed` (a `finish` transition of the claim), or in the
   * idempotent lane `ResultBackend.settle` over the record read by `check()`.
   */
  #settle(held: HeldClaim, outcome: Settlement, claimed: () => Promise<boolean>): Promise<boolean> {
    const read = held.read;
    if (read === undefined) return claimed();
    return this.#s.backend.settle(this.signature, outcome, {
      now: this.#s.clock.now(),
      expiresAt: this.expiresAt(),
      attempt: read,
    });
  }

  /** A result write, retried in-process on transient failures. */
  async #resultWrite<T>(operation: string, call: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await call();
      } catch (e) {
        const wait = this.#s.writeRetryDelaysMs[i];
        if (!(e instanceof TransientInfrastructureError) || wait === undefined) {
          throw new PortFailure(operation, e);
        }
        this.#log.warn(`${operation} failed transiently; retrying in ${wait} ms`, { error: e });
        await this.#s.clock.sleep(wait);
      }
    }
  }

  async #hook(name: keyof ProcessorHooks, call: () => void | Promise<void>): Promise<void> {
    try {
      await call();
    } catch (e) {
      this.#log.error(`${name} threw; ignored`, { error: e });
    }
  }

  #held(): HeldClaim {
    if (this.#claim === undefined) throw new Error('Attempt: the task is not claimed');
    return this.#claim;
  }
}

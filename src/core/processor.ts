/**
 * `process()`: one delivery of one task message, from body to outcome — machinery's
 * `Worker.Process`, done for at-least-once delivery with exactly-once state (DESIGN §4).
 *
 * ## Flow
 *
 * 1. **Decode** (`processBody`): an undecodable body or invalid signature is dead-lettered
 *    (`undecodable` / `invalid-signature`), and recorded FAILURE when its UUID could be read.
 * 2. **ETA**: an ETA in the future (by the clock) → `not-due` (the consumer routes it through the
 *    delay path). Checked first, so a task registered by the time it is due still runs.
 * 3. **Registration**: an unknown name → FAILURE and `dead-letter` (`unregistered`), or, when the
 *    producer set `IgnoreWhenTaskNotRegistered`, FAILURE and `ignored` (logged as a warning, never
 *    silent).
 * 4. **Args**: a count or type mismatch with the task definition → FAILURE and `dead-letter`
 *    (`invalid-args`).
 * 5. **Receive limit**: a message received `maxReceiveCount` times → FAILURE and `dead-letter`
 *    (`receive-limit`), before SQS would move it silently.
 * 6. **Claim** (one conditional write → STARTED, lease `now + leaseMs`): `finished` → `duplicate`
 *    (or `revoked`); a live lease → `busy`; the crash limit reached → FAILURE and `dead-letter`
 *    (`crash-loop`).
 * 7. **Run** with a {@link TaskContext} (pre-task hook before, post-task hook after). A task still
 *    running when `delivery.signal` aborts fails with `TaskTimeoutError`.
 * 8. **Success** → SUCCESS with typed results, then each `OnSuccess` callback is sent with the
 *    results appended to its args (unless the task is `Immutable`) → `done`.
 * 9. **Failure** → while retries remain (`retry.ts`): RETRY → `retry` after the back-off;
 *    otherwise FAILURE, the error hook, each `OnError` callback with the error message prepended as
 *    a `string` arg → `done` (or `dead-letter` `permanent-failure` with `StopTaskDeletionOnError`).
 *
 * ## Guarantees and choices
 *
 * - **Completion effects are never lost.** Callbacks (and the workflow extension) run after the
 *   final state is stored; if sending fails the outcome is `transient`, and the redelivered message
 *   finds the task finished and sends them again (a duplicate of a finished task always re-sends
 *   its callbacks). Callbacks therefore may be sent more than once, never zero times; each keeps
 *   its UUID (a callback with an empty UUID gets `deriveTaskUUID(parent, 'OnSuccess/<i>')`), so
 *   the copies are recognised as duplicates when they run.
 * - **Infrastructure errors never consume retries.** Anything thrown by the backend, broker,
 *   dispatcher or workflow extension gives `transient` (the consumer reports a batch item failure).
 *   The writes that follow a run (SUCCESS, RETRY, FAILURE) are retried in-process
 *   (`writeRetryDelaysMs`) first, since a message redelivered after a lost result write runs the
 *   task again (counted as a crash).
 * - **A lost claim is a duplicate**: when another attempt took over (this one's lease expired), the
 *   result write is refused; this attempt logs it and returns `duplicate`.
 * - **Dead-lettered tasks** (`unregistered`, `invalid-args`, `crash-loop`, `receive-limit`) do not
 *   send `OnError` callbacks: they wait for an operator (redrive or purge). `permanent-failure`
 *   (`StopTaskDeletionOnError`) sends them, as machinery does.
 * - **Hooks** (`preTaskHandler`, `postTaskHandler`, `errorHandler`) never change the outcome: an
 *   error they throw is logged. `errorHandler` is called whenever a task is recorded FAILURE.
 * - **Groups and chords** are not handled here: see {@link WorkflowExtension}, the extension point
 *   the workflows issue plugs into.
 *
 * @module
 */
import { toTypedResults } from './args.js';
import { type Clock, systemClock } from './clock.js';
import { type DispatchDeps, dispatch } from './dispatch.js';
import {
  ArgTypeError,
  SignatureDecodeError,
  TaskTimeoutError,
  TransientInfrastructureError,
} from './errors.js';
import { taskExpiresAt } from './lifetime.js';
import { childLogger, createConsoleLogger, type Logger } from './logger.js';
import type {
  Broker,
  Delivery,
  ProcessOutcome,
  ResultBackend,
  Scheduler,
  TaskRecord,
} from './ports.js';
import type { Task, TaskContext } from './registry.js';
import { DEFAULTS } from './resources.js';
import { decideRetry } from './retry.js';
import { decodeSignature, deriveTaskUUID, etaToMillis } from './signature.js';
import type { Arg, DeadLetterReason, Signature, TaskState, TypedValue } from './types.js';

/**
 * Where the processor finds tasks by name (a `TaskRegistry` is one).
 *
 * @example
 * ```ts
 * const lookup: TaskLookup = createRegistry([add]);
 * ```
 */
export interface TaskLookup {
  get(name: string): Task<string, readonly unknown[]> | undefined;
}

/**
 * machinery's worker hooks. Each may be async; an error it throws is logged and ignored.
 *
 * @example
 * ```ts
 * const hooks: ProcessorHooks = { errorHandler: (err, sig) => alert(`${sig.Name} failed: ${err}`) };
 * ```
 */
export interface ProcessorHooks {
  /** Before the task function runs (after the claim). */
  preTaskHandler?(signature: Signature): void | Promise<void>;
  /** After the task function ran and its outcome was recorded, whatever it was. */
  postTaskHandler?(signature: Signature): void | Promise<void>;
  /** When a task is recorded FAILURE (retries exhausted, or dead-lettered). */
  errorHandler?(error: unknown, signature: Signature): void | Promise<void>;
}

/**
 * Sends callback signatures (records them PENDING and routes them by ETA). The default is core's
 * `dispatch()` with the processor's backend, broker, scheduler and clock.
 *
 * @example
 * ```ts
 * const send: Dispatcher = (sigs) => dispatch(sigs, { backend, broker, scheduler, clock });
 * ```
 */
export type Dispatcher = (signatures: readonly Signature[]) => Promise<unknown>;

/**
 * The extension point for groups and chords (the workflows issue implements it). Called for
 * signatures with a `GroupUUID` once their final state is stored, and again whenever a duplicate
 * of a finished member arrives, so implementations must be idempotent. An error it throws gives
 * the outcome `transient`.
 *
 * @example
 * ```ts
 * const workflow: WorkflowExtension = {
 *   memberSucceeded: async (sig, results) => groups.complete(sig.GroupUUID, sig.UUID, results),
 * };
 * ```
 */
export interface WorkflowExtension {
  memberSucceeded?(signature: Signature, results: readonly TypedValue[]): Promise<void>;
  memberFailed?(signature: Signature, error: string): Promise<void>;
}

/**
 * Options of {@link createProcessor}.
 *
 * @example
 * ```ts
 * const options: ProcessorOptions = { registry, backend, broker, clock: systemClock };
 * ```
 */
export interface ProcessorOptions {
  /** The registered tasks. */
  registry: TaskLookup;
  /** Task state. */
  backend: ResultBackend;
  /** Sends `OnSuccess` / `OnError` callbacks (through the default dispatcher). */
  broker: Broker;
  /** Needed by the default dispatcher only for callbacks whose ETA is more than 15 minutes away. */
  scheduler?: Scheduler;
  /** The source of "now". @default systemClock */
  clock?: Clock;
  /** @default createConsoleLogger() (JSON lines, level info) */
  logger?: Logger;
  /** machinery's worker hooks. @default {} */
  hooks?: ProcessorHooks;
  /**
   * Lease of an attempt, ms: must exceed the worker's timeout, and stay below the queue's
   * visibility timeout. @default (DEFAULTS.workerTimeoutSeconds + DEFAULTS.leaseMarginSeconds) * 1000 (90 s)
   */
  leaseMs?: number;
  /** Crashed attempts before a task is dead-lettered (`crash-loop`). @default DEFAULTS.maxCrashes (3) */
  maxCrashes?: number;
  /**
   * Receives after which a message is dead-lettered (`receive-limit`): the queue's
   * `maxReceiveCount`. @default DEFAULTS.maxReceiveCount (100)
   */
  maxReceiveCount?: number;
  /** machinery's `ResultsExpireIn`, seconds. @default DEFAULTS.resultsExpireInSeconds (3600) */
  resultsExpireInSeconds?: number;
  /** Retries a `RetryLaterError` may cause when `RetryCount` is 0. @default DEFAULTS.retryLaterDefaultCap (10) */
  retryLaterCap?: number;
  /** Sends callbacks. @default dispatch() with backend, broker, scheduler and clock */
  dispatch?: Dispatcher;
  /** Group and chord bookkeeping. @default none */
  workflow?: WorkflowExtension;
  /**
   * Waits between in-process retries of a result write (SUCCESS / RETRY / FAILURE) that failed
   * transiently; one retry per entry. @default [200, 1000]
   */
  writeRetryDelaysMs?: readonly number[];
}

/**
 * Processes deliveries of task messages.
 *
 * @example
 * ```ts
 * const outcome = await processor.processBody(record.body, delivery);
 * ```
 */
export interface Processor {
  /** Processes a decoded signature (as `decodeSignature` or `normalizeSignature` returns it). */
  process(signature: Signature, delivery: Delivery): Promise<ProcessOutcome>;
  /** Decodes a message body, then processes it; undecodable bodies are dead-lettered. */
  processBody(body: string, delivery: Delivery): Promise<ProcessOutcome>;
}

/** A port call that failed: becomes the outcome `transient`. */
class PortFailure extends Error {
  readonly operation: string;
  readonly error: unknown;
  constructor(operation: string, error: unknown) {
    super(`${operation} failed`, { cause: error });
    this.operation = operation;
    this.error = error;
  }
}

/** W3C trace context headers, carried from a task to callbacks that have no trace context of their own. */
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

function traceHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of TRACE_HEADERS) if (headers[name] !== undefined) out[name] = headers[name];
  return out;
}

/** The message of a thrown value, as stored in task state and given to OnError callbacks. */
function errorMessage(error: unknown): string {
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

/**
 * Creates a processor (see the module documentation for the flow and guarantees).
 *
 * @example
 * ```ts
 * const processor = createProcessor({
 *   registry: createRegistry([add]),
 *   backend: new MemoryResultBackend(),
 *   broker: new MemoryBroker(),
 * });
 * const outcome = await processor.processBody(body, {
 *   messageId: 'm1', receiveCount: 1, firstReceivedAt: Date.now(),
 *   remainingTimeMs: () => 60_000, signal: new AbortController().signal,
 * });
 * ```
 */
export function createProcessor(options: ProcessorOptions): Processor {
  const { registry, backend, broker } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createConsoleLogger();
  const hooks = options.hooks ?? {};
  const leaseMs =
    options.leaseMs ?? (DEFAULTS.workerTimeoutSeconds + DEFAULTS.leaseMarginSeconds) * 1000;
  const maxCrashes = options.maxCrashes ?? DEFAULTS.maxCrashes;
  const maxReceiveCount = options.maxReceiveCount ?? DEFAULTS.maxReceiveCount;
  const resultsExpireInSeconds = options.resultsExpireInSeconds ?? DEFAULTS.resultsExpireInSeconds;
  const retryLaterCap = options.retryLaterCap ?? DEFAULTS.retryLaterDefaultCap;
  const writeRetryDelaysMs = options.writeRetryDelaysMs ?? [200, 1000];
  const workflow = options.workflow ?? {};
  const dispatchDeps: DispatchDeps = {
    backend,
    broker,
    clock,
    resultsExpireInSeconds,
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
  };
  const send: Dispatcher = options.dispatch ?? ((sigs) => dispatch(sigs, dispatchDeps));

  async function port<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw new PortFailure(operation, e);
    }
  }

  /** A result write, retried in-process on transient failures. */
  async function resultWrite<T>(
    operation: string,
    call: () => Promise<T>,
    log: Logger,
  ): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await call();
      } catch (e) {
        const wait = writeRetryDelaysMs[i];
        if (!(e instanceof TransientInfrastructureError) || wait === undefined) {
          throw new PortFailure(operation, e);
        }
        log.warn(`${operation} failed transiently; retrying in ${wait} ms`, { error: e });
        await clock.sleep(wait);
      }
    }
  }

  async function hook(
    name: keyof ProcessorHooks,
    log: Logger,
    call: () => void | Promise<void>,
  ): Promise<void> {
    try {
      await call();
    } catch (e) {
      log.error(`${name} threw; ignored`, { error: e });
    }
  }

  function expiry(signature: Signature, now: number): number {
    return taskExpiresAt({
      now,
      eta: signature.ETA === null ? null : etaToMillis(signature.ETA),
      resultsExpireInSeconds,
    });
  }

  function callback(parent: Signature, cb: Signature, path: string, args: Arg[]): Signature {
    return {
      ...cb,
      UUID: cb.UUID === '' ? deriveTaskUUID(parent.UUID, path) : cb.UUID,
      Args: args,
      Headers:
        cb.Headers.traceparent === undefined
          ? { ...traceHeaders(parent.Headers), ...cb.Headers }
          : cb.Headers,
    };
  }

  /** OnSuccess callbacks and the workflow extension, after SUCCESS is stored. */
  async function afterSuccess(sig: Signature, results: readonly TypedValue[]): Promise<void> {
    const appended: Arg[] = results.map((r) => ({ Name: '', Type: r.Type, Value: r.Value }));
    const callbacks = (sig.OnSuccess ?? []).map((cb, i) =>
      callback(sig, cb, `OnSuccess/${i}`, sig.Immutable ? cb.Args : [...cb.Args, ...appended]),
    );
    if (callbacks.length > 0) await port('sending OnSuccess callbacks', () => send(callbacks));
    const memberSucceeded = workflow.memberSucceeded;
    if (sig.GroupUUID !== '' && memberSucceeded !== undefined) {
      await port('workflow.memberSucceeded', () => memberSucceeded.call(workflow, sig, results));
    }
  }

  /** OnError callbacks and the workflow extension, after FAILURE is stored. */
  async function afterFailure(sig: Signature, message: string): Promise<void> {
    const first: Arg = { Name: '', Type: 'string', Value: message };
    const callbacks = (sig.OnError ?? []).map((cb, i) =>
      callback(sig, cb, `OnError/${i}`, [first, ...cb.Args]),
    );
    if (callbacks.length > 0) await port('sending OnError callbacks', () => send(callbacks));
    const memberFailed = workflow.memberFailed;
    if (sig.GroupUUID !== '' && memberFailed !== undefined) {
      await port('workflow.memberFailed', () => memberFailed.call(workflow, sig, message));
    }
  }

  /** A finished task seen again: acknowledge, re-sending its completion effects. */
  async function finished(sig: Signature, rec: TaskRecord, log: Logger): Promise<ProcessOutcome> {
    if (rec.state === 'FAILURE' && rec.error === 'revoked') {
      log.info('task was revoked; acknowledging without running');
      return { kind: 'revoked', uuid: sig.UUID };
    }
    log.info('duplicate of a finished task; acknowledging without running', { state: rec.state });
    if (rec.state === 'SUCCESS') await afterSuccess(sig, rec.results ?? []);
    else await afterFailure(sig, rec.error ?? 'unknown error');
    return { kind: 'duplicate', uuid: sig.UUID, state: rec.state };
  }

  /** Records FAILURE with a dead-letter reason before any claim, and dead-letters. */
  async function deadLetter(
    sig: Signature,
    reason: DeadLetterReason,
    detail: string,
    log: Logger,
  ): Promise<ProcessOutcome> {
    const now = clock.now();
    const written = await port('recording FAILURE', () =>
      backend.markFailure(sig, detail, {
        now,
        expiresAt: expiry(sig, now),
        deadLetterReason: reason,
      }),
    );
    if (!written) {
      const rec = await port('reading task state', () => backend.get(sig.UUID, { now }));
      const settled = settledOutcome(rec);
      if (settled !== undefined) {
        log.info('duplicate of a finished task; acknowledging', { state: rec?.state, reason });
        return settled;
      }
    }
    log.error('dead-lettering the message', { reason, detail });
    await hook('errorHandler', log, () => hooks.errorHandler?.(new Error(detail), sig));
    return { kind: 'dead-letter', uuid: sig.UUID, reason, detail };
  }

  async function lostClaim(sig: Signature, attempt: number, log: Logger): Promise<ProcessOutcome> {
    const rec = await port('reading task state', () => backend.get(sig.UUID, { now: clock.now() }));
    log.warn('this attempt lost its claim (another attempt took over); its result is dropped', {
      attempt,
      state: rec?.state,
    });
    return { kind: 'duplicate', uuid: sig.UUID, state: rec?.state ?? 'STARTED' };
  }

  async function run(
    sig: Signature,
    task: Task<string, readonly unknown[]>,
    values: unknown[],
    claim: { attempt: number; retries: number; redrive: boolean },
    delivery: Delivery,
    log: Logger,
    expiresAt: number,
  ): Promise<ProcessOutcome> {
    const { attempt } = claim;
    const attemptLog = childLogger(log, { attempt });
    const ctx: TaskContext = {
      signature: sig,
      uuid: sig.UUID,
      name: sig.Name,
      attempt,
      retries: claim.retries,
      redrive: claim.redrive,
      idempotencyKey: `${sig.UUID}:${attempt}`,
      headers: sig.Headers,
      logger: attemptLog,
      signal: delivery.signal,
      remainingTimeMs: () => delivery.remainingTimeMs(),
    };
    attemptLog.info('task started', { retries: claim.retries, redrive: claim.redrive });
    await hook('preTaskHandler', attemptLog, () => hooks.preTaskHandler?.(sig));
    try {
      let results: TypedValue[] | undefined;
      let error: unknown;
      try {
        results = toTypedResults(
          await runUntilAborted(() => task.invoke(ctx, values), delivery.signal),
        );
      } catch (e) {
        error = e;
      }
      if (results !== undefined) {
        const typedResults = results;
        const stored = await resultWrite(
          'recording SUCCESS',
          () =>
            backend.markSuccess(sig.UUID, attempt, typedResults, { now: clock.now(), expiresAt }),
          attemptLog,
        );
        if (!stored) return await lostClaim(sig, attempt, attemptLog);
        attemptLog.info('task succeeded', { results: resultSummary(results) });
        await afterSuccess(sig, results);
        return { kind: 'done', uuid: sig.UUID, state: 'SUCCESS' };
      }

      const message = errorMessage(error);
      const decision = decideRetry(sig, claim.retries, error, { retryLaterCap });
      if (decision.retry) {
        const stored = await resultWrite(
          'recording RETRY',
          () => backend.markRetry(sig.UUID, attempt, message, { now: clock.now(), expiresAt }),
          attemptLog,
        );
        if (!stored) return await lostClaim(sig, attempt, attemptLog);
        attemptLog.warn(
          `task failed; retry ${decision.retryNumber} of ${decision.limit} in ${decision.delayMs} ms`,
          {
            error,
          },
        );
        return {
          kind: 'retry',
          uuid: sig.UUID,
          delayMs: decision.delayMs,
          attempt,
          error: message,
        };
      }

      const stop = sig.StopTaskDeletionOnError;
      const stored = await resultWrite(
        'recording FAILURE',
        () =>
          backend.markFailure(sig, message, {
            now: clock.now(),
            expiresAt,
            attempt,
            ...(stop ? { deadLetterReason: 'permanent-failure' as const } : {}),
          }),
        attemptLog,
      );
      if (!stored) return await lostClaim(sig, attempt, attemptLog);
      attemptLog.error('task failed', { error, retries: claim.retries, limit: decision.limit });
      await hook('errorHandler', attemptLog, () => hooks.errorHandler?.(error, sig));
      if (!stop) {
        await afterFailure(sig, message);
        return { kind: 'done', uuid: sig.UUID, state: 'FAILURE' };
      }
      let detail = message;
      try {
        await afterFailure(sig, message);
      } catch (e) {
        const cause = e instanceof PortFailure ? e.error : e;
        attemptLog.error('OnError callbacks of a dead-lettered task could not be sent', {
          error: cause,
        });
        detail = `${message} (OnError callbacks not sent: ${errorMessage(cause)})`;
      }
      return { kind: 'dead-letter', uuid: sig.UUID, reason: 'permanent-failure', detail };
    } finally {
      await hook('postTaskHandler', attemptLog, () => hooks.postTaskHandler?.(sig));
    }
  }

  async function processSignature(
    sig: Signature,
    delivery: Delivery,
    log: Logger,
  ): Promise<ProcessOutcome> {
    const now = clock.now();
    if (sig.ETA !== null) {
      const eta = etaToMillis(sig.ETA);
      if (eta > now) {
        log.debug('not due yet', { eta: sig.ETA });
        return { kind: 'not-due', uuid: sig.UUID, eta, signature: sig };
      }
    }

    const task = registry.get(sig.Name);
    if (task === undefined) {
      const detail = `task "${sig.Name}" is not registered`;
      if (!sig.IgnoreWhenTaskNotRegistered) return deadLetter(sig, 'unregistered', detail, log);
      const reason = `${detail} (ignored: IgnoreWhenTaskNotRegistered)`;
      await port('recording FAILURE', () =>
        backend.markFailure(sig, reason, { now, expiresAt: expiry(sig, now) }),
      );
      log.warn('ignoring an unregistered task, as the producer asked; recorded FAILURE', {
        reason,
      });
      return { kind: 'ignored', uuid: sig.UUID, reason };
    }

    let values: unknown[];
    try {
      values = task.prepare(sig.Args);
    } catch (e) {
      if (!(e instanceof ArgTypeError)) throw e;
      return deadLetter(sig, 'invalid-args', e.message, log);
    }

    if (delivery.receiveCount >= maxReceiveCount) {
      const detail = `received ${delivery.receiveCount} times (limit ${maxReceiveCount})`;
      return deadLetter(sig, 'receive-limit', detail, log);
    }

    const expiresAt = expiry(sig, now);
    const claim = await port('claiming the task', () =>
      backend.claim(sig, { now, leaseUntil: now + leaseMs, expiresAt, maxCrashes }),
    );
    switch (claim.kind) {
      case 'finished':
        return finished(sig, claim.record, log);
      case 'leased':
        log.info('another attempt holds a live lease; leaving the message for later', {
          leaseUntil: claim.leaseUntil,
        });
        return { kind: 'busy', uuid: sig.UUID, leaseUntil: claim.leaseUntil };
      case 'crash-loop':
        return deadLetter(
          sig,
          'crash-loop',
          `crash loop: ${claim.record.crashes} attempts ended without recording a result (lease expired)`,
          log,
        );
      case 'claimed':
        return run(sig, task, values, claim, delivery, log, expiresAt);
    }
  }

  async function process(sig: Signature, delivery: Delivery): Promise<ProcessOutcome> {
    const log = childLogger(logger, {
      uuid: sig.UUID,
      task: sig.Name,
      messageId: delivery.messageId,
    });
    try {
      return await processSignature(sig, delivery, log);
    } catch (e) {
      if (!(e instanceof PortFailure)) throw e;
      const level = e.error instanceof TransientInfrastructureError ? 'warn' : 'error';
      log[level](`${e.operation} failed; the message will be delivered again`, { error: e.error });
      return { kind: 'transient', uuid: sig.UUID, error: e.error };
    }
  }

  async function processBody(body: string, delivery: Delivery): Promise<ProcessOutcome> {
    let sig: Signature;
    try {
      sig = decodeSignature(body);
    } catch (e) {
      if (!(e instanceof SignatureDecodeError)) throw e;
      const log = childLogger(logger, {
        messageId: delivery.messageId,
        ...(e.uuid === undefined ? {} : { uuid: e.uuid }),
      });
      log.error('dead-lettering an undecodable message', {
        reason: e.reason,
        field: e.field,
        detail: e.message,
      });
      if (e.uuid !== undefined) {
        const now = clock.now();
        try {
          await backend.markFailure({ UUID: e.uuid, Name: e.taskName ?? '' }, e.message, {
            now,
            expiresAt: taskExpiresAt({ now, eta: null, resultsExpireInSeconds }),
            deadLetterReason: e.reason,
          });
        } catch (err) {
          log.warn('recording FAILURE failed; the message will be delivered again', { error: err });
          return { kind: 'transient', uuid: e.uuid, error: err };
        }
      }
      return {
        kind: 'dead-letter',
        ...(e.uuid === undefined ? {} : { uuid: e.uuid }),
        reason: e.reason,
        detail: e.message,
      };
    }
    return process(sig, delivery);
  }

  return { process, processBody };
}

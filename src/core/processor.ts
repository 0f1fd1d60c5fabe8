/**
 * `process()`: one delivery of one task message, from body to outcome — machinery's
 * `Worker.Process`, done for at-least-once delivery with exactly-once state.
 *
 * This module owns the order of the steps; each write and send is the {@link Attempt}'s
 * (`attempt.ts`), the retry policy `retry.ts`'s, the callbacks' shape `callbacks.ts`'s and the
 * size bounds `bounds.ts`'s. What an outcome means for the message is the consumer's.
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
 *    (`crash-loop`). In the idempotent lane (`lanes.ts`; a task that declares it), a **check**
 *    instead: one strongly consistent read, the same stops, crash loops counted from the
 *    message's receive count, and the outcome later written by `ResultBackend.settle` (one
 *    conditional write that never overwrites a final state).
 * 7. **Run** with a `TaskContext` (pre-task hook before, post-task hook after). A task still
 *    running when `delivery.signal` aborts fails with `TaskTimeoutError`.
 * 8. **Success** → SUCCESS with typed results, then each `OnSuccess` callback is sent with the
 *    results appended to its args (unless the task is `Immutable`) → `done`. Results over
 *    `maxResultBytes`, a callback over the SQS message limit, or a SUCCESS write refused for its
 *    size → FAILURE `result-too-large: …` without retries (step 9).
 * 9. **Failure** → while retries remain (`retry.ts`): RETRY → `retry` after the back-off;
 *    otherwise FAILURE, the error hook, each `OnError` callback with the error text prepended as
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
 * - **Infrastructure errors never consume retries.** Anything the backend, broker, dispatcher or
 *   workflow extension throws gives `transient` (the consumer reports a batch item failure), with
 *   the error as the adapter translated it, so the consumer can `classifyFault()` it. The writes
 *   that follow a run (SUCCESS, RETRY, FAILURE) are retried in-process (`writeRetryDelaysMs`)
 *   first, since a message redelivered after a lost result write runs the task again (counted as
 *   a crash).
 * - **Message-caused errors are not transient.** A port call refused for what the message holds
 *   (`classifyFault` kind `message`: an item over DynamoDB's size limit, a body SQS refuses) would
 *   fail the same way on every delivery and block its message group: the message is dead-lettered
 *   `message-rejected` at once, with FAILURE recorded when that write is still possible.
 * - **Bounded texts.** Error texts stored in task state, given to `OnError` callbacks or used as a
 *   dead-letter detail are cut to `maxErrorTextLength` characters (`… [truncated]` at the end).
 * - **A lost claim is a duplicate**: when another attempt took over (this one's lease expired), the
 *   result write is refused; this attempt logs it and returns `duplicate`.
 * - **Dead-lettered tasks** (`unregistered`, `invalid-args`, `crash-loop`, `receive-limit`,
 *   `message-rejected`) do not send `OnError` callbacks: they wait for an operator (redrive or
 *   purge). `permanent-failure` (`StopTaskDeletionOnError`) sends them, as machinery does.
 * - **Hooks** (`preTaskHandler`, `postTaskHandler`, `errorHandler`) never change the outcome: an
 *   error they throw is logged. `errorHandler` is called whenever a task is recorded FAILURE.
 * - **Groups and chords** are not handled here: see {@link WorkflowExtension}.
 *
 * @module
 */
import { Attempt, type AttemptSettings, PortFailure } from './attempt.js';
import { truncateText } from './bounds.js';
import { type Clock, systemClock } from './clock.js';
import { type DispatchDeps, dispatch } from './dispatch.js';
import { ArgTypeError, classifyFault, SignatureDecodeError } from './errors.js';
import { declaresIdempotent, laneOf } from './lanes.js';
import { taskExpiresAt } from './lifetime.js';
import { childLogger, createConsoleLogger, type Logger } from './logger.js';
import type { Broker, Delivery, ProcessOutcome, ResultBackend, Scheduler } from './ports.js';
import type { Task } from './registry.js';
import { DEFAULTS } from './resources.js';
import { decodeSignature } from './signature.js';
import { etaToMillis } from './time.js';
import type { DeadLetterReason, Signature, TypedValue } from './types.js';

export { settledOutcome } from './attempt.js';

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
 * The extension point for groups and chords. Called for
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
  /** A member's SUCCESS is stored (or a duplicate of it arrived). */
  memberSucceeded?(signature: Signature, results: readonly TypedValue[]): Promise<void>;
  /** A member's FAILURE is stored for good, without a dead-letter mark (or a duplicate arrived). */
  memberFailed?(signature: Signature, error: string): Promise<void>;
  /** A message for a revoked member arrived (the task was cancelled). */
  memberRevoked?(signature: Signature): Promise<void>;
  /** A member is being dead-lettered (any reason, `permanent-failure` included). */
  memberDeadLettered?(
    signature: Signature,
    reason: DeadLetterReason,
    detail: string,
  ): Promise<void>;
  /**
   * Handles a chord's deadline signature (`chordDeadlineSignature` in `workflow.ts`), before the
   * registration check; resolves `false` when the signature is not one.
   */
  chordDeadline?(signature: Signature): Promise<boolean>;
  /**
   * The members' results of a chord callback sent by reference (header `machinery.chordResults`),
   * in group order: offered to the task as `ctx.chordResults()`.
   */
  chordResults?(signature: Signature): AsyncIterable<TypedValue[]>;
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
  /**
   * Longest error text stored in task state, given to `OnError` callbacks and used as a
   * dead-letter detail, characters; a longer one is cut and ends with `… [truncated]`.
   * @default DEFAULTS.maxErrorTextLength (4096)
   */
  maxErrorTextLength?: number;
  /**
   * Largest typed results a task may return, bytes as DynamoDB counts them; larger ones make the
   * task FAILURE `result-too-large` without retries. @default DEFAULTS.maxResultBytes (368640)
   */
  maxResultBytes?: number;
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
  const resultsExpireInSeconds = options.resultsExpireInSeconds ?? DEFAULTS.resultsExpireInSeconds;
  const maxReceiveCount = options.maxReceiveCount ?? DEFAULTS.maxReceiveCount;
  const dispatchDeps: DispatchDeps = {
    backend,
    broker,
    clock,
    resultsExpireInSeconds,
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
  };
  const settings: AttemptSettings = {
    backend,
    clock,
    send: options.dispatch ?? ((sigs) => dispatch(sigs, dispatchDeps)),
    hooks: options.hooks ?? {},
    workflow: options.workflow ?? {},
    leaseMs:
      options.leaseMs ?? (DEFAULTS.workerTimeoutSeconds + DEFAULTS.leaseMarginSeconds) * 1000,
    maxCrashes: options.maxCrashes ?? DEFAULTS.maxCrashes,
    resultsExpireInSeconds,
    retryLaterCap: options.retryLaterCap ?? DEFAULTS.retryLaterDefaultCap,
    writeRetryDelaysMs: options.writeRetryDelaysMs ?? [200, 1000],
    maxErrorTextLength: options.maxErrorTextLength ?? DEFAULTS.maxErrorTextLength,
    maxResultBytes: options.maxResultBytes ?? DEFAULTS.maxResultBytes,
  };

  /** Steps 2 to 9 of the flow. */
  async function steps(attempt: Attempt): Promise<ProcessOutcome> {
    const sig = attempt.signature;
    if (sig.ETA !== null) {
      const eta = etaToMillis(sig.ETA);
      if (eta > clock.now()) {
        attempt.log.debug('not due yet', { eta: sig.ETA });
        return { kind: 'not-due', uuid: sig.UUID, eta, signature: sig };
      }
    }

    const { workflow } = settings;
    if (workflow.chordDeadline !== undefined && sig.GroupUUID === '') {
      const chordDeadline = workflow.chordDeadline;
      const handled = await attempt.port('workflow.chordDeadline', () =>
        chordDeadline.call(workflow, sig),
      );
      if (handled) {
        const stop = await attempt.claim();
        return stop ?? (await attempt.succeed([]));
      }
    }

    const task = registry.get(sig.Name);
    if (task === undefined) {
      const detail = `task "${sig.Name}" is not registered`;
      if (!sig.IgnoreWhenTaskNotRegistered) return attempt.deadLetter('unregistered', detail);
      return attempt.ignore(`${detail} (ignored: IgnoreWhenTaskNotRegistered)`);
    }

    let values: unknown[];
    try {
      values = task.prepare(sig.Args);
    } catch (e) {
      if (!(e instanceof ArgTypeError)) throw e;
      return attempt.deadLetter('invalid-args', e.message);
    }

    const { receiveCount } = attempt.delivery;
    if (receiveCount >= maxReceiveCount) {
      const detail = `received ${receiveCount} times (limit ${maxReceiveCount})`;
      return attempt.deadLetter('receive-limit', detail);
    }

    const stop = unclaimed(task, attempt) ? await attempt.check() : await attempt.claim();
    return stop ?? (await attempt.run(task, values));
  }

  /**
   * Whether the delivery runs without a claim: the idempotent lane, for a task whose definition
   * declares it; otherwise an idempotent message is claimed as in the lean lane.
   */
  function unclaimed(task: Task<string, readonly unknown[]>, attempt: Attempt): boolean {
    if (laneOf(attempt.signature) !== 'idempotent') return false;
    if (declaresIdempotent(task)) return true;
    attempt.log.warn(
      'the message asks for the idempotent lane, but the task does not declare it; claiming it (the lean lane)',
    );
    return false;
  }

  async function processSignature(sig: Signature, delivery: Delivery): Promise<ProcessOutcome> {
    const attempt = new Attempt(settings, sig, delivery, logger);
    try {
      return await steps(attempt);
    } catch (e) {
      if (!(e instanceof PortFailure)) throw e;
      return attempt.portFailed(e);
    }
  }

  /** Step 1: an undecodable body is dead-lettered, recorded FAILURE when its UUID was read. */
  async function undecodable(e: SignatureDecodeError, delivery: Delivery): Promise<ProcessOutcome> {
    const log = childLogger(logger, {
      messageId: delivery.messageId,
      ...(e.uuid === undefined ? {} : { uuid: e.uuid }),
    });
    const detail = truncateText(e.message, settings.maxErrorTextLength);
    log.error('dead-lettering an undecodable message', {
      reason: e.reason,
      field: e.field,
      detail,
    });
    if (e.uuid !== undefined) {
      const now = clock.now();
      try {
        await backend.markFailure({ UUID: e.uuid, Name: e.taskName ?? '' }, detail, {
          now,
          expiresAt: taskExpiresAt({ now, eta: null, resultsExpireInSeconds }),
          deadLetterReason: e.reason,
        });
      } catch (err) {
        if (classifyFault(err).kind !== 'message') {
          log.warn('recording FAILURE failed; the message will be delivered again', { error: err });
          return { kind: 'transient', uuid: e.uuid, error: err };
        }
        log.warn('FAILURE cannot be recorded for this message; dead-lettering without task state', {
          error: err,
        });
      }
    }
    return {
      kind: 'dead-letter',
      ...(e.uuid === undefined ? {} : { uuid: e.uuid }),
      reason: e.reason,
      detail,
    };
  }

  async function processBody(body: string, delivery: Delivery): Promise<ProcessOutcome> {
    let sig: Signature;
    try {
      sig = decodeSignature(body);
    } catch (e) {
      if (!(e instanceof SignatureDecodeError)) throw e;
      return undecodable(e, delivery);
    }
    return processSignature(sig, delivery);
  }

  return { process: processSignature, processBody };
}

/**
 * Errors of the core layer. Every class ends in `Error`, carries a stable `code` (safe to match
 * on, written to logs and task state) and, where it wraps another error, its `cause`.
 *
 * Adapters (`src/aws`) translate AWS SDK exceptions into these at their edge, so core never sees
 * an `@aws-sdk` type.
 *
 * @module
 */

/** The class names of an error's prototype chain, under a registered symbol shared by every copy of this library. */
const ERROR_KINDS: unique symbol = Symbol.for('machinery-serverless.error-kinds') as never;

/**
 * Base class of every machinery-serverless error.
 *
 * @example
 * ```ts
 * try { await run(); } catch (e) { if (e instanceof MachineryError) console.error(e.code); }
 * ```
 */
export class MachineryError extends Error {
  /** Stable, machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    const kinds: string[] = [];
    for (let c: unknown = new.target; c !== Error && typeof c === 'function'; ) {
      kinds.push((c as { name: string }).name);
      c = Object.getPrototypeOf(c);
    }
    Object.defineProperty(this, ERROR_KINDS, { value: kinds });
  }

  /**
   * `instanceof` that also recognises errors made by another copy of this library (a tasks module
   * loaded as CommonJS beside the ES module build): an error is an instance of a class of this
   * module when its own class, or one of its ancestors, has that class's name.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class on the right of `instanceof` (a subclass too), which is the point here.
    // biome-ignore lint/complexity/noThisInStatic: the checked class is `this`, not MachineryError
    const checked: { name: string } = this;
    if (Function.prototype[Symbol.hasInstance].call(checked, value)) return true;
    const kinds = (value as { [ERROR_KINDS]?: unknown } | null | undefined)?.[ERROR_KINDS];
    return Array.isArray(kinds) && kinds.includes(checked.name);
  }
}

/**
 * A temporary infrastructure failure (throttling, a timeout, a 5xx talking to AWS). The worker
 * returns the record as a batch item failure: it does not consume one of the task's retries and
 * never dead-letters a healthy task.
 *
 * @example
 * ```ts
 * throw new TransientInfrastructureError('DynamoDB throttled UpdateItem', { cause: err });
 * ```
 */
export class TransientInfrastructureError extends MachineryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRANSIENT_INFRASTRUCTURE', message, options);
  }
}

/**
 * A permanent infrastructure failure (missing queue or table, access denied, no credentials,
 * endpoint unreachable after retries). `reason` is one plain sentence for people.
 *
 * @example
 * ```ts
 * throw new InfrastructureError('MISSING_QUEUE', 'the queue tasks.fifo does not exist', { cause: err });
 * ```
 */
export class InfrastructureError extends MachineryError {}

/**
 * A message body that is not a valid machinery signature: not JSON, not an object, a field of the
 * wrong type, an unknown arg type, a value that does not fit its type, a missing `Name` or `UUID`,
 * a bad `ETA`, nesting deeper than {@link MAX_SIGNATURE_DEPTH}, or a body over 1 MiB.
 *
 * - `field` names the offending field as a path (`Args[1].Value`, `OnSuccess[0].Name`); `''` means
 *   the body as a whole.
 * - `reason` is the dead-letter reason: `'undecodable'` when the body is not a JSON object at all,
 *   `'invalid-signature'` when it is but fails validation.
 * - `uuid` / `name` are the top-level `UUID` / `Name` when they could still be read (best effort), so
 *   the task can be recorded FAILURE.
 *
 * @example
 * ```ts
 * try { decodeSignature(body); } catch (e) {
 *   if (e instanceof SignatureDecodeError) console.error(e.field, e.message); // 'Args[0].Value', …
 * }
 * ```
 */
export class SignatureDecodeError extends MachineryError {
  readonly field: string;
  /** The message without the field prefix. */
  readonly detail: string;
  readonly reason: 'undecodable' | 'invalid-signature';
  readonly uuid: string | undefined;
  readonly taskName: string | undefined;

  constructor(
    field: string,
    message: string,
    options?: {
      reason?: 'undecodable' | 'invalid-signature';
      uuid?: string | undefined;
      taskName?: string | undefined;
      cause?: unknown;
    },
  ) {
    super('INVALID_SIGNATURE', field === '' ? message : `${field}: ${message}`, {
      cause: options?.cause,
    });
    this.field = field;
    this.detail = message;
    this.reason = options?.reason ?? 'invalid-signature';
    this.uuid = options?.uuid;
    this.taskName = options?.taskName;
  }
}

/**
 * An in-memory signature that cannot be encoded (an arg value that does not fit its type, an
 * empty `Name`, a bad `ETA`…). Thrown by `newSignature` and `encodeSignature`, before anything is
 * sent. `field` is a path as in {@link SignatureDecodeError}.
 *
 * @example
 * ```ts
 * newSignature('add', [{ Type: 'uint8', Value: 300 }]); // throws SignatureEncodeError, field 'Args[0].Value'
 * ```
 */
export class SignatureEncodeError extends MachineryError {
  readonly field: string;
  /** The message without the field prefix. */
  readonly detail: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_SIGNATURE_VALUE', field === '' ? message : `${field}: ${message}`, options);
    this.field = field;
    this.detail = message;
  }
}

/**
 * A time or duration that could not be read (`src/core/time.ts`): a malformed RFC 3339 ETA, a
 * relative ETA or duration outside the grammar, a time outside years 0000–9999. `code` is
 * `INVALID_ETA`; `input` is the text refused, `detail` why.
 *
 * @example
 * ```ts
 * try { parseEta('soon', Date.now()); } catch (e) { if (e instanceof EtaParseError) console.error(e.detail); }
 * ```
 */
export class EtaParseError extends MachineryError {
  /** The text that was refused. */
  readonly input: string;
  /** Why, without the input. */
  readonly detail: string;

  constructor(input: string, detail: string, options?: { cause?: unknown }) {
    const shown = input.length > 64 ? `${input.slice(0, 64)}…` : input;
    super('INVALID_ETA', `invalid ETA ${JSON.stringify(shown)}: ${detail}`, options);
    this.input = input;
    this.detail = detail;
  }
}

/**
 * A value that does not fit its declared Go type (300 as `uint8`, 1.5 as `int64`, an unknown type
 * name), or args that do not match a task's definition (count or types). `field` is a path relative
 * to what was being checked (`[1]`, `Args[0].Value[2]`).
 *
 * @example
 * ```ts
 * try { decodeArgValue('uint8', 300); } catch (e) { if (e instanceof ArgTypeError) console.error(e.message); }
 * ```
 */
export class ArgTypeError extends MachineryError {
  readonly field: string;
  /** The message without the field prefix. */
  readonly detail: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_ARG', field === '' ? message : `${field}: ${message}`, options);
    this.field = field;
    this.detail = message;
  }
}

/**
 * A task's return value that has no typed-result mapping (an object, a `Date`, a mixed array,
 * `NaN`…). The task fails with this message, without retrying (the same code would return the same
 * kind of value again).
 *
 * @example
 * ```ts
 * toTypedResults({ a: 1 }); // throws UnsupportedResultError
 * ```
 */
export class UnsupportedResultError extends MachineryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED_RESULT', message, options);
  }
}

/**
 * A task's results, or a callback carrying them, too large to store or send: results over
 * `DEFAULTS.maxResultBytes` in the task's item, a callback body over SQS's 1 MiB, or a SUCCESS
 * write DynamoDB refused for its size. The task fails with this message (it starts with
 * `result-too-large: `), without retrying: the same code would return the same results.
 *
 * @example
 * ```ts
 * throw new ResultTooLargeError('the results take 500000 bytes, over the 368640 an item holds');
 * ```
 */
export class ResultTooLargeError extends MachineryError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('RESULT_TOO_LARGE', `result-too-large: ${detail}`, options);
  }
}

/**
 * No task of that name is registered with the worker.
 *
 * @example
 * ```ts
 * throw new UnregisteredTaskError('add');
 * ```
 */
export class UnregisteredTaskError extends MachineryError {
  readonly taskName: string;

  constructor(taskName: string) {
    super('UNREGISTERED_TASK', `task "${taskName}" is not registered`);
    this.taskName = taskName;
  }
}

/**
 * Thrown by a task to be retried after `delayMs` (machinery's `ErrRetryTaskLater`). Each retry
 * counts against the signature's `RetryCount`; when `RetryCount` is 0 at most
 * `DEFAULTS.retryLaterDefaultCap` retries are allowed (machinery retries forever). When no retry is
 * left the task fails with this error's message.
 *
 * @example
 * ```ts
 * const poll = defineTask({ name: 'poll', run: async () => {
 *   if (!(await ready())) throw new RetryLaterError(30_000, 'not ready yet');
 * } });
 * ```
 */
export class RetryLaterError extends MachineryError {
  readonly delayMs: number;

  constructor(delayMs: number, message = `retry in ${delayMs} ms`) {
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new RangeError(`RetryLaterError: delayMs must be a finite number >= 0, got ${delayMs}`);
    }
    super('RETRY_LATER', message);
    this.delayMs = delayMs;
  }
}

/**
 * A task that was still running when the invocation ran out of time (the delivery's abort signal
 * fired). It counts as a failed attempt: retried while `RetryCount` allows, then FAILURE.
 *
 * @example
 * ```ts
 * if (err instanceof TaskTimeoutError) console.warn('task timed out');
 * ```
 */
export class TaskTimeoutError extends MachineryError {
  constructor(message = 'task still running when the invocation ran out of time') {
    super('TASK_TIMEOUT', message);
  }
}

/**
 * A task definition or registry that cannot work: an empty or duplicate task name, an unknown arg
 * type in `args`, a `run` that is not a function.
 *
 * @example
 * ```ts
 * createRegistry([add, add]); // throws TaskDefinitionError: task "add" is registered twice
 * ```
 */
export class TaskDefinitionError extends MachineryError {
  constructor(message: string) {
    super('INVALID_TASK_DEFINITION', message);
  }
}

/**
 * A write or send refused because of what the message holds (an item over DynamoDB's 400 KB
 * because a field is huge, a value AWS validates and rejects). Retrying the same message fails the
 * same way, so the worker dead-letters it (`message-rejected`) instead of returning it to the
 * queue.
 *
 * @example
 * ```ts
 * throw new MessageRejectedError('DynamoDB refused the item: Item size has exceeded the maximum allowed size');
 * ```
 */
export class MessageRejectedError extends MachineryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MESSAGE_REJECTED', message, options);
  }
}

/**
 * A send that names a task queue the deployment does not have (`queue: 'high'` without a
 * high-priority queue). Thrown before anything is written.
 *
 * @example
 * ```ts
 * try { routeSignature(sig, routing, 'high'); } catch (e) { if (e instanceof QueueRoutingError) console.error(e.message); }
 * ```
 */
export class QueueRoutingError extends MachineryError {
  constructor(message: string) {
    super('QUEUE_ROUTING', message);
  }
}

/**
 * A cost lane a send cannot use: not one of `full`, `lean`, `idempotent`, or `idempotent` for a
 * task whose definition does not declare it (docs/design.md §4). Thrown before anything is written.
 *
 * @example
 * ```ts
 * try { checkLane('idempotent', addContract); } catch (e) { if (e instanceof LaneError) console.error(e.message); }
 * ```
 */
export class LaneError extends MachineryError {
  constructor(message: string) {
    super('INVALID_LANE', message);
  }
}

/**
 * A schedule or periodic-task name that EventBridge Scheduler would refuse.
 *
 * @example
 * ```ts
 * try { periodicScheduleName('nightly report'); } catch (e) { if (e instanceof InvalidScheduleNameError) console.error(e.message); }
 * ```
 */
export class InvalidScheduleNameError extends MachineryError {
  constructor(message: string) {
    super('INVALID_SCHEDULE_NAME', message);
  }
}

/**
 * A schedule expression (`at()`, `rate()`, `cron()`) or time zone that EventBridge Scheduler would
 * refuse. `expression` is the text refused, `detail` what is wrong with it; the message is the
 * Scheduler API's (`Invalid Schedule Expression <expression>: <detail>`) unless one is given.
 *
 * @example
 * ```ts
 * try { parseScheduleExpression('rate(0 minutes)'); } catch (e) {
 *   if (e instanceof InvalidScheduleExpressionError) console.error(e.detail); // 'value must be positive'
 * }
 * ```
 */
export class InvalidScheduleExpressionError extends MachineryError {
  /** The expression (or time zone) refused. */
  readonly expression: string;
  /** What is wrong with it. */
  readonly detail: string;

  constructor(expression: string, detail: string, options?: { message?: string; cause?: unknown }) {
    super(
      'INVALID_SCHEDULE_EXPRESSION',
      options?.message ?? `Invalid Schedule Expression ${expression}: ${detail}`,
      { cause: options?.cause },
    );
    this.expression = expression;
    this.detail = detail;
  }
}

/**
 * A delay-queue body that is neither a signature nor one of the envelopes machinery writes
 * (a reference or a periodic firing). `field` names what is wrong.
 *
 * @example
 * ```ts
 * try { parseDelayBody('{"machinery.ref":1}'); } catch (e) { if (e instanceof DelayBodyError) console.error(e.field); }
 * ```
 */
export class DelayBodyError extends MachineryError {
  /** The offending field. */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_DELAY_BODY', message, options);
    this.field = field;
  }
}

/**
 * The chord protocol cannot go on with what it found (a member's result missing or not SUCCESS
 * when the callback is built, results by reference over their byte cap). Unclassified: the
 * worker hands the record back, and its failure ledger dead-letters a message on which it
 * persists (`repeated-error`), so a chord is never forgotten silently. `code` is `CHORD`, or
 * `CHORD_RESULTS_TOO_LARGE` for the byte cap.
 *
 * @example
 * ```ts
 * throw new WorkflowError('member task_… of group_… has no SUCCESS result', { groupUUID: 'group_…' });
 * ```
 */
export class WorkflowError extends MachineryError {
  /** The group concerned. */
  readonly groupUUID: string;
  constructor(
    message: string,
    options: { groupUUID: string; code?: 'CHORD' | 'CHORD_RESULTS_TOO_LARGE'; cause?: unknown },
  ) {
    super(options.code ?? 'CHORD', message, { cause: options.cause });
    this.groupUUID = options.groupUUID;
  }
}

/**
 * What kind of fault an error is, as the worker must treat it:
 *
 * | kind | cause | the worker |
 * | --- | --- | --- |
 * | `transient` | throttling, timeouts, 5xx | batch item failure; no retry consumed |
 * | `deployment` | access denied, a missing table or queue, an unreachable endpoint, no credentials, a KMS key | batch item failure, counted in the `DeploymentErrors` metric; never dead-lettered, never counted against a task |
 * | `message` | the message's content ({@link MessageRejectedError}) | dead-letter at once (`message-rejected`) |
 * | `unclassified` | anything else | batch item failure; the same code on consecutive receives of one message dead-letters it (`repeated-error`) |
 *
 * @example
 * ```ts
 * const { kind, code } = classifyFault(err); // { kind: 'deployment', code: 'ACCESS_DENIED' }
 * ```
 */
export type FaultKind = 'transient' | 'deployment' | 'message' | 'unclassified';

/**
 * Classifies an error already translated at the adapter edge (see {@link FaultKind}). `code` is
 * the error's stable code when it has one, else its name.
 *
 * @example
 * ```ts
 * classifyFault(new TransientInfrastructureError('throttled')); // { kind: 'transient', code: 'TRANSIENT_INFRASTRUCTURE' }
 * ```
 */
export function classifyFault(error: unknown): { kind: FaultKind; code: string } {
  if (error instanceof TransientInfrastructureError) return { kind: 'transient', code: error.code };
  if (error instanceof MessageRejectedError) return { kind: 'message', code: error.code };
  if (error instanceof InfrastructureError) return { kind: 'deployment', code: error.code };
  if (error instanceof MachineryError) return { kind: 'unclassified', code: error.code };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      kind: 'unclassified',
      code: typeof code === 'string' && code !== '' ? code : error.name,
    };
  }
  return { kind: 'unclassified', code: typeof error };
}

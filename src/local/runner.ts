/**
 * The local Lambda SQS event source: what an event source mapping does for a function, in
 * process. It long-polls a queue, turns messages into real `SQSEvent` records, invokes a handler,
 * deletes what succeeded, and leaves failures to become visible again.
 *
 * Behaviour, as Lambda's SQS event source mapping with `ReportBatchItemFailures`:
 * - Batches of at most `batchSize` (≤ 10) records, received with every system attribute and message
 *   attribute; records have Lambda's shapes (`messageAttributes` with `stringValue`,
 *   `binaryValue` (base64), `stringListValues`, `binaryListValues`, `dataType`).
 * - Handler resolves `void` / `undefined` / `null` / `{ batchItemFailures: [] }`: the whole batch is
 *   deleted. `{ batchItemFailures: [{ itemIdentifier }] }`: all but those are deleted. An
 *   identifier that is empty or not a `messageId` of the batch fails the whole batch (as Lambda).
 * - Handler throws, rejects, calls back with an error, or runs past `timeoutMs`: nothing is deleted.
 * - Failed records are left alone (their visibility is not changed): they reappear when their
 *   visibility timeout expires, and the queue's redrive policy applies as usual.
 * - FIFO: never two in-flight invocations holding records of one message group; records keep
 *   queue order. A received record whose group is busy (its visibility ended mid-invocation: a
 *   visibility timeout expired, or a handler gave it a short retry delay) is not delivered: it is
 *   released (`ChangeMessageVisibility` 0) as soon as the invocation holding its group settles, or
 *   when the runner stops, so it runs again after max(its retry delay, its group's invocation)
 *   instead of waiting out the queue's visibility timeout. It costs one receive per time it
 *   reappears while its group is busy (the queue's `maxReceiveCount` counts receives).
 * - Up to `concurrency` invocations run at once (different groups on FIFO queues).
 *
 * A timed-out invocation cannot be killed in-process: its result is ignored, its groups stay locked
 * until its promise settles, and `stop()` does not wait for it.
 *
 * @module
 */

import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  Context,
  SQSBatchResponse,
  SQSHandler,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';
import { type Clock, systemClock } from '../core/clock.js';
import { DEFAULTS } from '../core/resources.js';

/**
 * A Lambda SQS handler (`SQSHandler` of `aws-lambda`), async or callback style.
 *
 * @example
 * ```ts
 * const handler: SqsHandlerLike = async (event) => ({ batchItemFailures: [] });
 * ```
 */
export type SqsHandlerLike = SQSHandler;

/**
 * How one invocation ended.
 *
 * @example
 * ```ts
 * runner.onInvocationEnd = (r) => console.log(r.outcome, r.failedMessageIds);
 * ```
 */
export interface InvocationResult {
  /** The request id given to the handler's context. */
  requestId: string;
  /** Message ids of the batch, in order. */
  messageIds: string[];
  /** `success`: all deleted; `partial`: some reported failed; `error`: threw; `timeout`: too slow. */
  outcome: 'success' | 'partial' | 'error' | 'timeout';
  /** Message ids left for redelivery. */
  failedMessageIds: string[];
  /** What the handler threw, for `error`. */
  error?: unknown;
}

/**
 * Options of {@link EventSourceRunner}.
 *
 * @example
 * ```ts
 * const options: EventSourceRunnerOptions = { sqs, queueUrl, handler, batchSize: 10, concurrency: 4 };
 * ```
 */
export interface EventSourceRunnerOptions {
  /** SQS client (pointed at the emulator or at AWS). */
  sqs: SQSClient;
  /** URL of the queue to poll. */
  queueUrl: string;
  /** The handler (the function's code). */
  handler: SqsHandlerLike;
  /** `eventSourceARN` of the records. @default the queue's `QueueArn` attribute */
  queueArn?: string;
  /** Records per invocation, 1–10. @default 10 */
  batchSize?: number;
  /** Invocations at once. @default 2 */
  concurrency?: number;
  /** The function's timeout, ms. @default DEFAULTS.workerTimeoutSeconds × 1000 */
  timeoutMs?: number;
  /** Long-poll wait of each `ReceiveMessage`, s (also bounds how long `stop()` waits for the poll). @default 1 */
  waitTimeSeconds?: number;
  /**
   * Measures the timeout and `getRemainingTimeInMillis`. @default systemClock. An
   * `AdjustableClock` makes `advance()` time invocations out: share one only on purpose.
   */
  clock?: Clock;
  /** `awsRegion` of the records and region of the function ARN. @default 'us-east-1' */
  region?: string;
  /** Name in the context and ARN. @default 'local-function' */
  functionName?: string;
  /** Memory reported by the context. @default 1024 */
  memoryLimitInMB?: number;
  /** Receives polling and deletion errors (the loop keeps going). @default console.error */
  onError?: (error: unknown) => void;
  /** Observes the end of every invocation (tests, logs). */
  onInvocationEnd?: (result: InvocationResult) => void;
}

/**
 * Counters of a runner.
 *
 * @example
 * ```ts
 * const { invocations, deleted } = runner.stats;
 * ```
 */
export interface RunnerStats {
  invocations: number;
  deleted: number;
  failedRecords: number;
  errors: number;
  timeouts: number;
  /** Records received while their group was busy, not delivered. */
  skippedBusyGroup: number;
  /** Skipped records released (made visible again) once their group was free or at stop. */
  released: number;
}

type Deferred<T> = { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const TIMED_OUT = Symbol('timed out');

/** Lambda's shape of a message attribute. */
function toLambdaAttribute(value: MessageAttributeValue): SQSMessageAttributes[string] {
  const attribute: SQSMessageAttributes[string] = {
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    dataType: value.DataType ?? 'String',
  };
  if (value.StringValue !== undefined) attribute.stringValue = value.StringValue;
  if (value.BinaryValue !== undefined) {
    attribute.binaryValue = Buffer.from(value.BinaryValue).toString('base64');
  }
  return attribute;
}

/**
 * Builds the `SQSRecord` Lambda would give a handler for a received message.
 *
 * @example
 * ```ts
 * const record = toSqsRecord(message, 'arn:aws:sqs:us-east-1:000000000000:q', 'us-east-1');
 * ```
 */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = { ...(message.Attributes ?? {}) } as unknown as SQSRecordAttributes;
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = toLambdaAttribute(value);
  }
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (message.MD5OfMessageAttributes !== undefined) {
    record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  }
  return record;
}

/**
 * Runs a handler against a queue like a Lambda event source mapping (see the module notes).
 *
 * @example
 * ```ts
 * const runner = new EventSourceRunner({ sqs, queueUrl, handler: createWorker({ tasks }), concurrency: 4 });
 * runner.start();
 * // ...
 * await runner.stop();
 * ```
 */
export class EventSourceRunner {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #handler: SqsHandlerLike;
  readonly #batchSize: number;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #waitTimeSeconds: number;
  readonly #clock: Clock;
  readonly #region: string;
  readonly #functionName: string;
  readonly #memory: number;
  readonly #onError: (error: unknown) => void;
  #queueArn: string | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  /** Invocations whose outcome is still awaited (not timed out). */
  readonly #active = new Set<Promise<void>>();
  /** Message groups held by a running (or timed-out but unsettled) invocation. */
  readonly #busyGroups = new Set<string>();
  /** Records skipped because their group was busy, by group, then message id → receipt handle. */
  readonly #held = new Map<string, Map<string, string>>();
  /** `ChangeMessageVisibility` requests of releases not yet answered. */
  readonly #releasing = new Set<Promise<void>>();
  #slotFreed: Deferred<void> = deferred<void>();
  readonly #stats: RunnerStats = {
    invocations: 0,
    deleted: 0,
    failedRecords: 0,
    errors: 0,
    timeouts: 0,
    skippedBusyGroup: 0,
    released: 0,
  };

  /** Observes the end of every invocation. */
  onInvocationEnd: ((result: InvocationResult) => void) | undefined;

  constructor(options: EventSourceRunnerOptions) {
    const batchSize = options.batchSize ?? 10;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
      throw new RangeError(`batchSize must be an integer from 1 to 10, got ${batchSize}`);
    }
    const concurrency = options.concurrency ?? 2;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    this.#sqs = options.sqs;
    this.#queueUrl = options.queueUrl;
    this.#handler = options.handler;
    this.#batchSize = batchSize;
    this.#concurrency = concurrency;
    this.#timeoutMs = options.timeoutMs ?? DEFAULTS.workerTimeoutSeconds * 1000;
    this.#waitTimeSeconds = options.waitTimeSeconds ?? 1;
    this.#clock = options.clock ?? systemClock;
    this.#region = options.region ?? 'us-east-1';
    this.#functionName = options.functionName ?? 'local-function';
    this.#memory = options.memoryLimitInMB ?? 1024;
    this.#onError = options.onError ?? ((e) => console.error('[EventSourceRunner]', e));
    this.#queueArn = options.queueArn;
    this.onInvocationEnd = options.onInvocationEnd;
  }

  /** Counters since construction. */
  get stats(): Readonly<RunnerStats> {
    return { ...this.#stats };
  }

  /** Whether the poll loop runs. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts polling (no-op when already running). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#pollLoop();
  }

  /**
   * Stops polling, then waits for the in-flight invocations (records already received are still
   * delivered). Timed-out invocations are not waited for. Skipped records still held (their group
   * is held by a timed-out invocation) are released.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#slotFreed.resolve();
    await this.#loop;
    while (this.#active.size > 0) await Promise.allSettled([...this.#active]);
    for (const group of [...this.#held.keys()]) this.#release(group);
    while (this.#releasing.size > 0) await Promise.allSettled([...this.#releasing]);
  }

  async #resolveQueueArn(): Promise<string> {
    if (this.#queueArn === undefined) {
      const out = await this.#sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: this.#queueUrl, AttributeNames: ['QueueArn'] }),
      );
      this.#queueArn = out.Attributes?.QueueArn ?? '';
    }
    return this.#queueArn;
  }

  async #pollLoop(): Promise<void> {
    while (this.#running) {
      if (this.#active.size >= this.#concurrency) {
        await this.#slotFreed.promise;
        this.#slotFreed = deferred<void>();
        continue;
      }
      let messages: Message[];
      try {
        const queueArn = await this.#resolveQueueArn();
        const out = await this.#sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.#queueUrl,
            MaxNumberOfMessages: this.#batchSize,
            WaitTimeSeconds: this.#waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        messages = out.Messages ?? [];
        if (messages.length > 0) this.#dispatch(messages, queueArn);
      } catch (error) {
        this.#stats.errors++;
        this.#onError(error);
        if (this.#running) await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  #dispatch(messages: Message[], queueArn: string): void {
    const records: SQSRecord[] = [];
    const groups = new Set<string>();
    for (const message of messages) {
      const group = message.Attributes?.MessageGroupId;
      if (group !== undefined && this.#busyGroups.has(group)) {
        this.#stats.skippedBusyGroup++;
        this.#hold(group, message);
        continue;
      }
      if (group !== undefined) groups.add(group);
      records.push(toSqsRecord(message, queueArn, this.#region));
    }
    if (records.length === 0) return;
    for (const group of groups) this.#busyGroups.add(group);
    const invocation = this.#invoke(records, groups);
    this.#active.add(invocation);
    void invocation.finally(() => {
      this.#active.delete(invocation);
      this.#slotFreed.resolve();
    });
  }

  /** Keeps a skipped record's receipt handle until its group is free (the latest receive wins). */
  #hold(group: string, message: Message): void {
    if (message.MessageId === undefined || message.ReceiptHandle === undefined) return;
    let held = this.#held.get(group);
    if (held === undefined) {
      held = new Map();
      this.#held.set(group, held);
    }
    held.set(message.MessageId, message.ReceiptHandle);
  }

  /** Makes the records held for `group` visible again at once. */
  #release(group: string): void {
    const held = this.#held.get(group);
    if (held === undefined) return;
    this.#held.delete(group);
    for (const receiptHandle of held.values()) {
      const request = this.#sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.#queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .then(
          () => {
            this.#stats.released++;
          },
          (error: unknown) => {
            this.#stats.errors++;
            this.#onError(error);
          },
        );
      this.#releasing.add(request);
      void request.finally(() => this.#releasing.delete(request));
    }
  }

  #context(requestId: string, deadline: number, settle: Deferred<unknown>): Context {
    const clock = this.#clock;
    const name = this.#functionName;
    const fail = (error: Error | string) =>
      settle.reject(typeof error === 'string' ? new Error(error) : error);
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.#region}:000000000000:function:${name}`,
      memoryLimitInMB: String(this.#memory),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: `${new Date(clock.now()).toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${requestId.replaceAll('-', '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - clock.now()),
      done: (error?: Error, result?: unknown) => (error ? fail(error) : settle.resolve(result)),
      fail,
      succeed: (result: unknown) => settle.resolve(result),
    };
  }

  /** Runs one invocation; resolves when its outcome is known (at the latest at the timeout). */
  async #invoke(records: SQSRecord[], groups: Set<string>): Promise<void> {
    this.#stats.invocations++;
    const requestId = randomUUID();
    const deadline = this.#clock.now() + this.#timeoutMs;
    const settle = deferred<unknown>();
    settle.promise.catch(() => {}); // a late callback(error) after the outcome is known is ignored
    const context = this.#context(requestId, deadline, settle);
    const callback: Parameters<SQSHandler>[2] = (error, result) => {
      if (error) settle.reject(typeof error === 'string' ? new Error(error) : error);
      else settle.resolve(result);
    };
    const handlerDone = (async () => {
      const returned = this.#handler({ Records: records }, context, callback);
      // A handler that returns a value (or a promise) is async style; `undefined` means callback
      // style, or a synchronous handler that returns nothing.
      if (returned !== undefined) return await returned;
      if (this.#handler.length >= 3) return await settle.promise;
      return undefined;
    })();
    const released = handlerDone.then(
      () => undefined,
      () => undefined,
    );
    // Groups stay locked until the handler really settles, even after a timeout.
    void released.then(() => {
      for (const group of groups) {
        this.#busyGroups.delete(group);
        this.#release(group);
      }
      this.#slotFreed.resolve();
    });

    const stopTimer = new AbortController();
    const timer = this.#clock.sleep(this.#timeoutMs, stopTimer.signal).then(
      () => TIMED_OUT,
      () => undefined,
    );
    const ids = records.map((r) => r.messageId);
    const report = (result: Omit<InvocationResult, 'requestId' | 'messageIds'>) => {
      this.#stats.failedRecords += result.failedMessageIds.length;
      this.onInvocationEnd?.({ requestId, messageIds: ids, ...result });
    };
    let outcome: unknown;
    try {
      outcome = await Promise.race([Promise.race([handlerDone, settle.promise]), timer]);
    } catch (error) {
      stopTimer.abort();
      report({ outcome: 'error', failedMessageIds: ids, error });
      return;
    }
    stopTimer.abort();
    if (outcome === TIMED_OUT) {
      this.#stats.timeouts++;
      report({ outcome: 'timeout', failedMessageIds: ids });
      return;
    }
    const failed = this.#failedIds(outcome, ids);
    if (failed === 'all') {
      report({
        outcome: 'error',
        failedMessageIds: ids,
        error: new Error('invalid batchItemFailures in the handler response'),
      });
      return;
    }
    const toDelete = records.filter((r) => !failed.has(r.messageId));
    await this.#delete(toDelete);
    report({
      outcome: failed.size === 0 ? 'success' : 'partial',
      failedMessageIds: ids.filter((id) => failed.has(id)),
    });
  }

  /** The failed message ids of a handler response, or `'all'` when the response is invalid. */
  #failedIds(response: unknown, ids: string[]): Set<string> | 'all' {
    if (response === undefined || response === null) return new Set();
    if (typeof response !== 'object') return new Set();
    const failures = (response as Partial<SQSBatchResponse>).batchItemFailures;
    if (failures === undefined || failures === null) return new Set();
    if (!Array.isArray(failures)) return 'all';
    const known = new Set(ids);
    const failed = new Set<string>();
    for (const failure of failures) {
      const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      if (typeof id !== 'string' || id === '' || !known.has(id)) return 'all';
      failed.add(id);
    }
    return failed;
  }

  /** Deletes `records` in one request: a batch holds at most `batchSize` ≤ 10 records. */
  async #delete(records: SQSRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      const out = await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: records.map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
        }),
      );
      this.#stats.deleted += out.Successful?.length ?? 0;
      if (out.Failed && out.Failed.length > 0) {
        this.#stats.errors++;
        this.#onError(
          new Error(
            `DeleteMessageBatch failed for ${out.Failed.length} record(s): ${JSON.stringify(out.Failed)}`,
          ),
        );
      }
    } catch (error) {
      this.#stats.errors++;
      this.#onError(error);
    }
  }
}

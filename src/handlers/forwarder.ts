/**
 * The forwarder: the Lambda on the standard *delay queue*. It moves each delayed task to the FIFO
 * task queue when it is due, by the injected clock (docs/design.md §4, "ETA").
 *
 * For each record (parse, decide, act):
 *
 * 1. **Parse** the body (see `src/core/delay-body.ts`): a signature; a reference
 *    `{"machinery.ref": uuid}` whose body is read from the task's PENDING item; or a periodic
 *    firing, turned into concrete signatures with UUIDs derived from the schedule name and the
 *    firing's scheduled time.
 * 2. **Decide**:
 *    - a periodic firing: record PENDING and publish (`dispatch`), every time it fires;
 *    - a task that is *revoked* (state FAILURE, error `'revoked'`: `cancel()`): dropped, logged,
 *      never forwarded; a task already SUCCESS or FAILURE (not dead-lettered): dropped as a
 *      duplicate;
 *    - due (no ETA, or ETA ≤ now): published to the FIFO task queue;
 *    - early: re-delayed on the delay queue with `DelaySeconds = min(900, remaining)`, or, when
 *      more than 15 minutes remain and a scheduler is configured, a new one-time schedule.
 * 3. **Act**, and acknowledge. Errors while acting (throttling, timeouts, any failed send) leave
 *    the record as a batch item failure: it comes back after the delay queue's visibility timeout,
 *    and after `delayMaxReceiveCount` receives the queue's redrive policy moves it to the delay
 *    DLQ.
 *
 * ## Decisions
 *
 * - **Undecodable bodies** (not JSON, an invalid signature, a malformed envelope, a reference whose
 *   PENDING item is gone) are sent to the *delay DLQ* at once with the reason as message
 *   attributes (`machinery.reason`, `machinery.detail`, `machinery.source = forwarder`) and
 *   acknowledged: they can never succeed, so retrying them `delayMaxReceiveCount` times would only
 *   delay the operator's view of them, and an explicit reason beats the redrive policy's silence.
 *   With no dead-letter sink configured they are left as batch item failures (the redrive policy
 *   moves them).
 * - **Deduplication id of a forward**: `<uuid>-eta<ETA epoch ms>` (the UUID alone when there is no
 *   ETA). A delay message forwarded twice (SQS standard queues deliver at least once) yields one
 *   FIFO message; and a Go producer that put the ETA'd task on the FIFO queue itself with the UUID
 *   as deduplication id (the worker then sent it here because it was not due) does not make SQS
 *   drop our forward as a duplicate of that first send.
 * - The forwarder never sleeps: waiting is SQS's `DelaySeconds`, so a long wait costs no Lambda
 *   time. Each record costs one strongly consistent read (revocation check) besides its sends.
 *
 * IAM of the forwarder: `sqs:SendMessage` on the task queue, the delay queue and the delay DLQ;
 * `dynamodb:GetItem`, `PutItem` and `UpdateItem` on `task_states`; `scheduler:CreateSchedule` and
 * `iam:PassRole` on the Scheduler role (re-scheduling a task still far from its ETA); the event
 * source mapping's `sqs:ReceiveMessage` / `DeleteMessage` on the delay queue.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createAdapters } from '../aws/adapters.js';
import { translateAwsError } from '../aws/errors.js';
import { schedulerFromConfig } from '../aws/scheduler.js';
import { type Clock, systemClock } from '../core/clock.js';
import { materializePeriodicFiring, parseDelayBody } from '../core/delay-body.js';
import { dispatch, resend } from '../core/dispatch.js';
import { DelayBodyError, SignatureDecodeError } from '../core/errors.js';
import { taskExpiresAt } from '../core/lifetime.js';
import type { Broker, ResultBackend, Scheduler, TaskRecord } from '../core/ports.js';
import { settledOutcome } from '../core/processor.js';
import type { QueueRouting } from '../core/routing.js';
import { decodeSignature } from '../core/signature.js';
import { etaToMillis } from '../core/time.js';
import type { DeadLetterReason, Signature } from '../core/types.js';

/**
 * Where the forwarder puts a body it can never forward.
 *
 * @example
 * ```ts
 * const sink: DeadLetterSink = async (body, reason, detail) => console.error(reason, detail, body);
 * ```
 */
export type DeadLetterSink = (
  body: string,
  reason: DeadLetterReason,
  detail: string,
  record: SQSRecord,
) => Promise<void>;

/**
 * The minimal logger the forwarder writes to (a Powertools `Logger` fits).
 *
 * @example
 * ```ts
 * const logger: ForwarderLogger = console;
 * ```
 */
export interface ForwarderLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/**
 * What {@link createForwarder} needs.
 *
 * @example
 * ```ts
 * const opts: ForwarderOptions = { backend, broker, scheduler, clock, deadLetter: sqsDeadLetterSink(sqs, dlqUrl) };
 * ```
 */
export interface ForwarderOptions {
  backend: ResultBackend;
  /** Publishes to the task queue and re-delays on the delay queue. */
  broker: Broker;
  /** For tasks that still have more than 15 minutes to wait (else they hop 15 minutes at a time). */
  scheduler?: Scheduler;
  /** The clock deciding what is due (share it with the worker and the Scheduler emulator locally). @default systemClock */
  clock?: Clock;
  /** Where undecodable bodies go (see the module's decisions). @default none: batch item failure */
  deadLetter?: DeadLetterSink;
  /** @default a Powertools Logger, service `machinery-forwarder` */
  logger?: ForwarderLogger;
  /** machinery's `ResultsExpireIn`, for the PENDING items of periodic firings. @default 3600 */
  resultsExpireInSeconds?: number;
  /**
   * The task queues a periodic firing routes between (`core/routing.ts`: by `Priority`, written
   * to `RoutingKey`); other records already carry their `RoutingKey`. @default none: firings keep
   * their template's `RoutingKey`
   */
  routing?: QueueRouting;
}

/**
 * What the forwarder did with one record.
 *
 * @example
 * ```ts
 * const outcome: ForwardOutcome = { kind: 'forwarded', uuid: 'task_1' };
 * ```
 */
export type ForwardOutcome =
  | { kind: 'forwarded'; uuid: string }
  | { kind: 'redelayed'; uuid: string; delaySeconds: number }
  | { kind: 'rescheduled'; uuid: string; fireAt: number }
  | { kind: 'fired'; schedule: string; scheduledTime: string; uuids: string[] }
  | { kind: 'revoked'; uuid: string }
  | { kind: 'duplicate'; uuid: string; state: string }
  | { kind: 'dead-letter'; reason: DeadLetterReason; detail: string; uuid?: string }
  | { kind: 'failed'; error: unknown; uuid?: string };

/**
 * The FIFO deduplication id of a forward: `<uuid>-eta<epoch ms>`, or the UUID when the signature
 * has no ETA; hashed when longer than SQS's 128 characters.
 *
 * @example
 * ```ts
 * forwardDeduplicationId({ UUID: 'task_1', ETA: '2030-01-01T00:00:00Z' }); // 'task_1-eta1893456000000'
 * ```
 */
export function forwardDeduplicationId(signature: Pick<Signature, 'UUID' | 'ETA'>): string {
  const eta = etaToMillis(signature.ETA);
  const id = eta === null ? signature.UUID : `${signature.UUID}-eta${eta}`;
  if (id.length <= 128 && /^[\x21-\x7e]+$/.test(id)) return id;
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/**
 * A {@link DeadLetterSink} sending to an SQS queue (the delay DLQ) with the reason as message
 * attributes: `machinery.reason`, `machinery.detail` (≤ 1,000 characters), `machinery.source`
 * (`forwarder`) and `machinery.message-id` (the delay-queue message id).
 *
 * @example
 * ```ts
 * const deadLetter = sqsDeadLetterSink(sqs, process.env.MACHINERY_DELAY_DLQ_URL!);
 * ```
 */
export function sqsDeadLetterSink(sqs: SQSClient, queueUrl: string): DeadLetterSink {
  return async (body, reason, detail, record) => {
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body === '' ? '(empty body)' : body,
          MessageAttributes: {
            'machinery.reason': { DataType: 'String', StringValue: reason },
            'machinery.detail': { DataType: 'String', StringValue: detail.slice(0, 1000) || '-' },
            'machinery.source': { DataType: 'String', StringValue: 'forwarder' },
            'machinery.message-id': { DataType: 'String', StringValue: record.messageId },
          },
        }),
      );
    } catch (e) {
      throw translateAwsError(e, { service: 'SQS', resource: queueUrl });
    }
  };
}

/** Why a decode error happened, as a dead-letter reason. */
function decodeReason(e: unknown): DeadLetterReason {
  if (e instanceof DelayBodyError) return 'undecodable';
  const field = (e as { field?: unknown })?.field;
  return field === undefined || field === '' || field === 'body'
    ? 'undecodable'
    : 'invalid-signature';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Decides and acts on one delay-queue record. Never throws: failures come back as
 * `{ kind: 'failed' }` (the caller reports a batch item failure).
 *
 * @example
 * ```ts
 * const outcome = await forwardRecord(record, { backend, broker, clock: systemClock });
 * ```
 */
export async function forwardRecord(
  record: SQSRecord,
  options: ForwarderOptions,
): Promise<ForwardOutcome> {
  const clock = options.clock ?? systemClock;
  let uuid: string | undefined;
  try {
    let parsed: ReturnType<typeof parseDelayBody>;
    try {
      parsed = parseDelayBody(record.body);
    } catch (e) {
      return await deadLetter(record, decodeReason(e), messageOf(e), taskOf(e), options);
    }

    if (parsed.kind === 'periodic') {
      const signatures = materializePeriodicFiring(
        parsed.templates,
        parsed.schedule,
        parsed.scheduledTime,
      );
      await dispatch(signatures, {
        backend: options.backend,
        broker: options.broker,
        clock,
        ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
        ...(options.resultsExpireInSeconds === undefined
          ? {}
          : { resultsExpireInSeconds: options.resultsExpireInSeconds }),
        ...(options.routing === undefined ? {} : { routing: options.routing }),
      });
      return {
        kind: 'fired',
        schedule: parsed.schedule,
        scheduledTime: parsed.scheduledTime,
        uuids: signatures.map((s) => s.UUID),
      };
    }

    let signature: Signature;
    let state: TaskRecord | undefined;
    const byReference = parsed.kind === 'reference';
    if (parsed.kind === 'reference') {
      uuid = parsed.uuid;
      state = await options.backend.get(parsed.uuid, { now: clock.now() });
      const stop = settledOutcome(state);
      if (stop !== undefined) return stop;
      if (state?.body == null) {
        return await deadLetter(
          record,
          'undecodable',
          `the body of task ${parsed.uuid} travels by reference, but its state item ${state === undefined ? 'is gone (expired or never written)' : 'holds no body'}`,
          { UUID: parsed.uuid, Name: state?.name ?? '' },
          options,
        );
      }
      try {
        signature = decodeSignature(state.body);
      } catch (e) {
        return await deadLetter(
          record,
          decodeReason(e),
          messageOf(e),
          { UUID: parsed.uuid, Name: state.name },
          options,
        );
      }
    } else {
      signature = parsed.signature;
      uuid = signature.UUID;
      state = await options.backend.get(signature.UUID, { now: clock.now() });
      const stop = settledOutcome(state);
      if (stop !== undefined) return stop;
    }

    const sent = await resend(
      signature,
      {
        broker: options.broker,
        clock,
        ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
      },
      {
        deduplicationId: forwardDeduplicationId(signature),
        // by reference: re-send the small reference, not the large body
        ...(byReference ? { reference: record.body } : {}),
      },
    );
    switch (sent.route) {
      case 'queue':
        return { kind: 'forwarded', uuid: signature.UUID };
      case 'schedule':
        return { kind: 'rescheduled', uuid: signature.UUID, fireAt: sent.fireAt };
      case 'delay-queue':
        return { kind: 'redelayed', uuid: signature.UUID, delaySeconds: sent.delaySeconds };
    }
  } catch (error) {
    return uuid === undefined ? { kind: 'failed', error } : { kind: 'failed', error, uuid };
  }
}

/** The task an undecodable body names, when the decoder found its UUID. */
function taskOf(e: unknown): Pick<Signature, 'UUID' | 'Name'> | undefined {
  if (!(e instanceof SignatureDecodeError) || !e.uuid) return undefined;
  return { UUID: e.uuid, Name: e.taskName ?? '' };
}

/**
 * Sends a body that can never be forwarded to the dead-letter sink and, when its task is known,
 * records the task FAILURE with the reason (a poller sees why instead of PENDING forever).
 */
async function deadLetter(
  record: SQSRecord,
  reason: DeadLetterReason,
  detail: string,
  task: Pick<Signature, 'UUID' | 'Name'> | undefined,
  options: ForwarderOptions,
): Promise<ForwardOutcome> {
  const uuid = task?.UUID;
  if (options.deadLetter === undefined) {
    const error = new DelayBodyError(
      'body',
      `${reason}: ${detail} (no dead-letter queue configured)`,
    );
    return uuid === undefined ? { kind: 'failed', error } : { kind: 'failed', error, uuid };
  }
  await options.deadLetter(record.body, reason, detail, record);
  if (task !== undefined) {
    const now = (options.clock ?? systemClock).now();
    await options.backend.markFailure(task, `${reason}: ${detail}`, {
      now,
      expiresAt: taskExpiresAt({ now, eta: null }),
      deadLetterReason: reason,
    });
  }
  return uuid === undefined
    ? { kind: 'dead-letter', reason, detail }
    : { kind: 'dead-letter', reason, detail, uuid };
}

/**
 * The forwarder as an SQS Lambda handler (standard queue; enable `ReportBatchItemFailures` on the
 * event source mapping). Records are handled concurrently; those whose handling failed are
 * returned in `batchItemFailures`.
 *
 * @example
 * ```ts
 * const forwarder = createForwarder({
 *   backend, broker, scheduler, clock,
 *   deadLetter: sqsDeadLetterSink(sqs, delayDlqUrl),
 * });
 * runner.start(delayQueueUrl, forwarder); // local stack
 * ```
 */
export function createForwarder(
  options: ForwarderOptions,
): (event: SQSEvent, context?: unknown) => Promise<SQSBatchResponse> {
  const logger = options.logger ?? new Logger({ serviceName: 'machinery-forwarder' });
  return async (event) => {
    const outcomes = await Promise.all(event.Records.map((r) => forwardRecord(r, options)));
    const batchItemFailures: SQSBatchItemFailure[] = [];
    outcomes.forEach((outcome, i) => {
      const record = event.Records[i] as SQSRecord;
      const base = { messageId: record.messageId, outcome: outcome.kind };
      switch (outcome.kind) {
        case 'failed':
          batchItemFailures.push({ itemIdentifier: record.messageId });
          logger.warn('delay record not handled; it will be retried', {
            ...base,
            uuid: outcome.uuid,
            error: messageOf(outcome.error),
            code: (outcome.error as { code?: unknown })?.code,
          });
          break;
        case 'revoked':
          logger.info('task revoked: dropped, not forwarded', { ...base, uuid: outcome.uuid });
          break;
        case 'dead-letter':
          logger.error('delay record dead-lettered', { ...base, ...outcome });
          break;
        case 'fired':
          logger.info('periodic task fired', { ...base, ...outcome });
          break;
        default:
          logger.info(`task ${outcome.kind}`, { ...base, ...outcome });
      }
    });
    return { batchItemFailures };
  };
}

/**
 * A forwarder configured from the environment (`MACHINERY_*`, `AWS_*`; see `src/core/resources.ts`
 * `ENV`): the SQS broker, the DynamoDB backend, EventBridge Scheduler when its group and role are
 * set, and the delay DLQ as dead-letter sink.
 *
 * @example
 * ```ts
 * const forwarder = createForwarderFromEnv(process.env);
 * ```
 */
export function createForwarderFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Partial<ForwarderOptions> = {},
): ReturnType<typeof createForwarder> {
  const adapters = createAdapters({ env }, ['taskQueueUrl', 'delayQueueUrl', 'taskStatesTable']);
  const { config, clients } = adapters;
  const scheduler = adapters.scheduler ?? schedulerFromConfig(config, clients);
  return createForwarder({
    backend: adapters.backend,
    broker: adapters.broker,
    ...(scheduler === undefined ? {} : { scheduler }),
    ...(adapters.routing === undefined ? {} : { routing: adapters.routing }),
    ...(config.delayDlqUrl === undefined
      ? {}
      : { deadLetter: sqsDeadLetterSink(clients.sqs, config.delayDlqUrl) }),
    ...overrides,
  });
}

let envForwarder: ReturnType<typeof createForwarder> | undefined;

/**
 * The Lambda entry point: {@link createForwarderFromEnv}, built on the first invocation and reused.
 *
 * @example
 * ```ts
 * // CDK: new NodejsFunction(this, 'Forwarder', { entry: 'src/handlers/forwarder.ts', handler: 'handler' })
 * ```
 */
export async function handler(event: SQSEvent, context?: unknown): Promise<SQSBatchResponse> {
  envForwarder ??= createForwarderFromEnv();
  return envForwarder(event, context);
}

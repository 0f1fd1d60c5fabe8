/**
 * How the Scheduler emulator fires schedules: one timer per enabled schedule on the injected
 * {@link Clock}, waking at the schedule's next occurrence (`at()`, `rate()`, `cron()` in its time
 * zone, bounded by `StartDate` / `EndDate`; a `FLEXIBLE` window fires at its start), then the send
 * to the SQS target with the context attributes substituted, retries, the dead-letter queue, and
 * `ActionAfterCompletion: DELETE`. It records every firing for tests to observe.
 *
 * A timer sleeps until its occurrence is due, at most {@link MAX_TIMEOUT_MS} at a time (whatever
 * the clock), so a schedule years away wakes the process about once every 24.8 days and an idle
 * emulator not at all; {@link SchedulerTimerStats.timerWakeUps} counts the wake-ups.
 *
 * It reads schedules from `store.ts` (and deletes completed one-time schedules there); checking
 * requests is `validation.ts`'s and the HTTP API `http.ts`'s.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  GetQueueUrlCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type Clock, MAX_TIMEOUT_MS, setLongTimeout } from '../../core/clock.js';
import { nextFireTime } from '../../core/schedule-expression.js';
import type { SchedulerStore, ScheduleWatcher, StoredSchedule } from './store.js';

/**
 * One firing of a schedule, as delivered (or not).
 *
 * @example
 * ```ts
 * const d: SchedulerDelivery = await emulator.waitForDelivery((d) => d.scheduleName === 'job');
 * JSON.parse(d.body);
 * ```
 */
export interface SchedulerDelivery {
  scheduleName: string;
  groupName: string;
  scheduleArn: string;
  /**
   * The occurrence's scheduled time, epoch ms, always a whole second (what
   * `<aws.scheduler.scheduled-time>` says: `new Date(scheduledTime).toISOString()` without `.000`).
   */
  scheduledTime: number;
  /** When it was delivered, on the emulator's clock, epoch ms (never before `scheduledTime`). */
  firedAt: number;
  executionId: string;
  /** Attempts made on the target. */
  attempts: number;
  /** `delivered` to the target, `dead-lettered` to the DLQ, or `failed` (no DLQ, or DLQ failed too). */
  status: 'delivered' | 'dead-lettered' | 'failed';
  /** The queue that got the message (target or DLQ). */
  queueUrl?: string;
  /** The body sent (after substitution). */
  body: string;
  messageGroupId?: string;
  messageId?: string;
  /** Last error, when the target send failed. */
  error?: string;
}

/**
 * Counters of the emulator's timers.
 *
 * @example
 * ```ts
 * const before = emulator.stats.timerWakeUps;
 * ```
 */
export interface SchedulerTimerStats {
  /** Times a schedule's timer woke up (its occurrence due, a chunk of a long wait over, or the clock advanced). */
  readonly timerWakeUps: number;
  /** Schedules whose timer is running now. */
  readonly activeTimers: number;
}

/**
 * Options of {@link Deliverer}.
 *
 * @example
 * ```ts
 * const options: DelivererOptions = { store, clock, sqsEndpoint, region: 'us-east-1', credentials, localRetries: 2, maxCatchUp: 10 };
 * ```
 */
export interface DelivererOptions {
  store: SchedulerStore;
  clock: Clock;
  /** SQS endpoint the targets live on. */
  sqsEndpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Retries of a failed target send, at most (also bounded by the schedule's RetryPolicy). */
  localRetries: number;
  /** Missed recurring occurrences fired after a clock jump before skipping to the present. */
  maxCatchUp: number;
  onDelivery?: ((delivery: SchedulerDelivery) => void) | undefined;
}

const SQS_ARN = /^arn:aws(-[a-z]+)?:sqs:([a-z0-9-]+):(\d{12}):([a-zA-Z0-9\-_.]+)$/;

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Fires the store's schedules: it is the store's {@link ScheduleWatcher}, so a schedule set starts
 * (or restarts) its timer and a schedule removed stops it.
 *
 * @example
 * ```ts
 * const deliverer = new Deliverer({ store, clock, sqsEndpoint, credentials, localRetries: 2, maxCatchUp: 10 });
 * store.watch(deliverer);
 * ```
 */
export class Deliverer implements ScheduleWatcher {
  /** Every firing so far, oldest first. */
  readonly deliveries: SchedulerDelivery[] = [];
  /** Called after every firing (settable). */
  onDelivery: ((delivery: SchedulerDelivery) => void) | undefined;
  readonly #options: DelivererOptions;
  readonly #waiters = new Set<(d: SchedulerDelivery) => void>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #timers = new Map<StoredSchedule, AbortController>();
  readonly #sqsClients = new Map<string, SQSClient>();
  #wakeUps = 0;
  #stopped = false;

  constructor(options: DelivererOptions) {
    this.#options = options;
    this.onDelivery = options.onDelivery;
  }

  /** Live counters (see {@link SchedulerTimerStats}). */
  get stats(): SchedulerTimerStats {
    return { timerWakeUps: this.#wakeUps, activeTimers: this.#timers.size };
  }

  /** Starts (or restarts) the timer of `schedule` from its last modification. */
  scheduled(schedule: StoredSchedule): void {
    this.unscheduled(schedule);
    if (schedule.State !== 'ENABLED' || this.#stopped) return;
    const controller = new AbortController();
    this.#timers.set(schedule, controller);
    void this.#run(schedule, controller.signal)
      .catch((e) => console.error('[scheduler-emulator] schedule timer failed', e))
      .finally(() => {
        if (this.#timers.get(schedule) === controller) this.#timers.delete(schedule);
      });
  }

  /** Stops the timer of `schedule` (a firing in progress completes). */
  unscheduled(schedule: StoredSchedule): void {
    this.#timers.get(schedule)?.abort();
    this.#timers.delete(schedule);
  }

  /**
   * Resolves with the first delivery (past or future) matching `predicate`; rejects after
   * `timeoutMs` of real time.
   */
  waitForDelivery(
    predicate: (delivery: SchedulerDelivery) => boolean,
    timeoutMs: number,
  ): Promise<SchedulerDelivery> {
    const found = this.deliveries.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = (d: SchedulerDelivery) => {
        if (!predicate(d)) return;
        timer.clear();
        this.#waiters.delete(waiter);
        resolve(d);
      };
      const timer = setLongTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no matching Scheduler delivery within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Stops every timer, waits for firings in progress and closes the SQS clients. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const controller of this.#timers.values()) controller.abort();
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
    for (const client of this.#sqsClients.values()) client.destroy();
  }

  async #run(schedule: StoredSchedule, signal: AbortSignal): Promise<void> {
    const { clock, maxCatchUp, store } = this.#options;
    const timeZone = schedule.ScheduleExpressionTimezone ?? 'UTC';
    const anchorMs = schedule.LastModificationDate;
    let after = anchorMs;
    let lateStreak = 0;
    for (;;) {
      const next = nextFireTime(schedule.expression, {
        afterMs: after,
        anchorMs,
        timeZone,
        ...(schedule.StartDate !== undefined ? { startMs: schedule.StartDate } : {}),
        ...(schedule.EndDate !== undefined ? { endMs: schedule.EndDate } : {}),
      });
      if (next === undefined) return;
      if (!(await this.#sleepUntil(next, signal))) return;
      const delivery = this.#fire(schedule, next);
      this.#inFlight.add(delivery);
      try {
        await delivery;
      } finally {
        this.#inFlight.delete(delivery);
      }
      if (schedule.expression.kind === 'at') {
        if (schedule.ActionAfterCompletion === 'DELETE') store.deleteIfCurrent(schedule);
        return;
      }
      after = next;
      // Catch-up after a clock jump: fire missed occurrences, at most `maxCatchUp` in a row.
      lateStreak = clock.now() - next > 60_000 ? lateStreak + 1 : 0;
      if (lateStreak >= maxCatchUp) {
        after = clock.now();
        lateStreak = 0;
      }
    }
  }

  /**
   * Sleeps on the clock until `dueMs`, at most {@link MAX_TIMEOUT_MS} per sleep, counting each
   * wake-up; `false` when `signal` aborted first.
   */
  async #sleepUntil(dueMs: number, signal: AbortSignal): Promise<boolean> {
    const { clock } = this.#options;
    while (clock.now() < dueMs) {
      if (signal.aborted) return false;
      const ms = Math.min(dueMs - clock.now(), MAX_TIMEOUT_MS);
      await clock.sleep(ms, signal).catch(() => undefined);
      if (signal.aborted) return false;
      this.#wakeUps++;
    }
    return !signal.aborted;
  }

  #sqsFor(queueRegion: string): SQSClient {
    let client = this.#sqsClients.get(queueRegion);
    if (!client) {
      client = new SQSClient({
        endpoint: this.#options.sqsEndpoint,
        region: queueRegion,
        credentials: this.#options.credentials,
        maxAttempts: 1,
      });
      this.#sqsClients.set(queueRegion, client);
    }
    return client;
  }

  async #sendToQueue(
    arn: string,
    body: string,
    messageGroupId: string | undefined,
    attributes?: Record<string, MessageAttributeValue>,
  ): Promise<{ queueUrl: string; messageId: string | undefined }> {
    const m = SQS_ARN.exec(arn);
    if (!m)
      throw new Error(`target ${arn} is not an SQS queue ARN (the emulator delivers to SQS only)`);
    const client = this.#sqsFor(m[2] as string);
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: m[4] as string }));
    if (!QueueUrl) throw new Error(`no URL for queue ${arn}`);
    const out = await client.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: body,
        ...(messageGroupId !== undefined ? { MessageGroupId: messageGroupId } : {}),
        ...(attributes ? { MessageAttributes: attributes } : {}),
      }),
    );
    return { queueUrl: QueueUrl, messageId: out.MessageId };
  }

  #record(delivery: SchedulerDelivery): void {
    this.deliveries.push(delivery);
    try {
      this.onDelivery?.(delivery);
    } catch (e) {
      console.error('[scheduler-emulator] onDelivery threw', e);
    }
    for (const waiter of [...this.#waiters]) waiter(delivery);
  }

  async #fire(schedule: StoredSchedule, scheduledTime: number): Promise<void> {
    const { clock, localRetries, store } = this.#options;
    const executionId = randomUUID();
    const target = schedule.Target;
    const retries = Math.min(target.RetryPolicy?.MaximumRetryAttempts ?? 185, localRetries);
    const messageGroupId = target.SqsParameters?.MessageGroupId;
    const bodyFor = (attempt: number) =>
      (target.Input ?? '{}')
        .replaceAll('<aws.scheduler.scheduled-time>', isoSeconds(scheduledTime))
        .replaceAll('<aws.scheduler.execution-id>', executionId)
        .replaceAll('<aws.scheduler.attempt-number>', String(attempt))
        .replaceAll('<aws.scheduler.schedule-arn>', schedule.Arn);
    const base = {
      scheduleName: schedule.Name,
      groupName: schedule.GroupName,
      scheduleArn: schedule.Arn,
      scheduledTime,
      executionId,
      ...(messageGroupId !== undefined ? { messageGroupId } : {}),
    };
    let lastError: unknown;
    let attempt = 0;
    while (attempt <= retries) {
      attempt++;
      const body = bodyFor(attempt);
      try {
        const sent = await this.#sendToQueue(target.Arn, body, messageGroupId);
        this.#record({
          ...base,
          firedAt: clock.now(),
          attempts: attempt,
          status: 'delivered',
          queueUrl: sent.queueUrl,
          body,
          ...(sent.messageId !== undefined ? { messageId: sent.messageId } : {}),
        });
        return;
      } catch (e) {
        lastError = e;
        if (attempt <= retries) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const body = bodyFor(attempt);
    const error =
      lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
    const dlqArn = target.DeadLetterConfig?.Arn;
    const failed: SchedulerDelivery = {
      ...base,
      firedAt: clock.now(),
      attempts: attempt,
      status: 'failed',
      body,
      error,
    };
    if (!dlqArn) {
      this.#record(failed);
      return;
    }
    const str = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });
    try {
      const sent = await this.#sendToQueue(dlqArn, body, undefined, {
        ERROR_CODE: str(lastError instanceof Error ? lastError.name : 'Error'),
        ERROR_MESSAGE: str(error.slice(0, 1000)),
        EXHAUSTED_RETRY_CONDITION: str('MaximumRetryAttempts'),
        RETRY_ATTEMPTS: str(String(attempt - 1)),
        TARGET_ARN: str(target.Arn),
        SCHEDULE_ARN: str(schedule.Arn),
        GROUP_ARN: str(store.groupArn(schedule.GroupName)),
      });
      this.#record({
        ...failed,
        status: 'dead-lettered',
        queueUrl: sent.queueUrl,
        ...(sent.messageId !== undefined ? { messageId: sent.messageId } : {}),
      });
    } catch (e) {
      this.#record({ ...failed, error: `${error}; DLQ send failed too: ${String(e)}` });
    }
  }
}

import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import {
  encodePeriodicInput,
  encodeReference,
  materializePeriodicFiring,
  SCHEDULED_TIME_PLACEHOLDER,
} from '../../../src/core/delay-body.js';
import { TransientInfrastructureError } from '../../../src/core/errors.js';
import type {
  Broker,
  OneTimeSchedule,
  PeriodicSpec,
  PublishItem,
  ResultBackend,
  Scheduler,
  TaskRecord,
} from '../../../src/core/ports.js';
import { encodeSignature, newSignature } from '../../../src/core/signature.js';
import type { DeadLetterReason, Signature, TaskState } from '../../../src/core/types.js';
import {
  createForwarder,
  type ForwarderLogger,
  type ForwarderOptions,
  forwardDeduplicationId,
  forwardRecord,
} from '../../../src/handlers/forwarder.js';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');

/** Just enough of a result backend for the forwarder: records by UUID. */
class FakeBackend implements ResultBackend {
  readonly records = new Map<string, TaskRecord>();
  readonly failures: { uuid: string; error: string; reason?: DeadLetterReason }[] = [];
  failGet: unknown;

  set(uuid: string, state: TaskState, extra: Partial<TaskRecord> = {}): void {
    this.records.set(uuid, {
      uuid,
      name: 'task',
      state,
      results: null,
      error: null,
      createdAt: NOW,
      updatedAt: NOW,
      attempt: 0,
      retries: 0,
      crashes: 0,
      leaseUntil: null,
      deadLettered: false,
      deadLetterReason: null,
      expiresAt: NOW + 86_400_000,
      body: null,
      ...extra,
    });
  }

  async putPending(signature: Signature, options: { body?: string }): Promise<boolean> {
    if (this.records.has(signature.UUID)) return false;
    this.set(signature.UUID, 'PENDING', { name: signature.Name, body: options.body ?? null });
    return true;
  }
  async get(uuid: string): Promise<TaskRecord | undefined> {
    if (this.failGet !== undefined) throw this.failGet;
    return this.records.get(uuid);
  }
  async markFailure(
    signature: Pick<Signature, 'UUID' | 'Name'>,
    error: string,
    options: { deadLetterReason?: DeadLetterReason },
  ): Promise<boolean> {
    this.failures.push({
      uuid: signature.UUID,
      error,
      ...(options.deadLetterReason ? { reason: options.deadLetterReason } : {}),
    });
    this.set(signature.UUID, 'FAILURE', { error, deadLettered: true });
    return true;
  }
  async revoke(): Promise<'revoked'> {
    throw new Error('not used');
  }
  async claim(): Promise<never> {
    throw new Error('not used');
  }
  async markSuccess(): Promise<boolean> {
    throw new Error('not used');
  }
  async markRetry(): Promise<boolean> {
    throw new Error('not used');
  }
  async extendLease(): Promise<boolean> {
    throw new Error('not used');
  }
  async settle(): Promise<boolean> {
    throw new Error('not used');
  }
}

class FakeBroker implements Broker {
  readonly published: PublishItem[] = [];
  readonly delayed: { signature: Signature; delaySeconds: number; body?: string }[] = [];
  async publish(items: readonly PublishItem[]): Promise<void> {
    this.published.push(...items);
  }
  async publishDelayed(
    items: readonly { signature: Signature; delaySeconds: number; body?: string }[],
  ): Promise<void> {
    this.delayed.push(...items);
  }
}

class FakeScheduler implements Scheduler {
  readonly once: { signature: Signature; fireAt: number; bodyByReference: boolean }[] = [];
  /** UUIDs whose one-time schedule already exists: `scheduleOnce` creates nothing for them. */
  readonly existing = new Set<string>();
  async scheduleOnce(
    signature: Signature,
    fireAt: number,
    options: { bodyByReference?: boolean } = {},
  ): Promise<boolean> {
    if (this.existing.has(signature.UUID)) return false;
    this.once.push({ signature, fireAt, bodyByReference: options.bodyByReference === true });
    return true;
  }
  async cancelOnce(): Promise<boolean> {
    return false;
  }
  async putPeriodic(_spec: PeriodicSpec): Promise<void> {}
  async listPeriodic(): Promise<PeriodicSpec[]> {
    return [];
  }
  async deletePeriodic(): Promise<boolean> {
    return false;
  }
  async listOnce(): Promise<OneTimeSchedule[]> {
    return [];
  }
}

const silent: ForwarderLogger = { info() {}, warn() {}, error() {} };

function record(body: string, messageId = 'm1'): SQSRecord {
  return {
    messageId,
    receiptHandle: 'rh',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(NOW),
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: String(NOW),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:delay',
    awsRegion: 'us-east-1',
  };
}

/** A clock that stands still: decisions at the edge (due in 1 ms) must not depend on wall time. */
function frozenClock(at: number): Clock {
  return { now: () => at, sleep: async () => {} };
}

function setup(withScheduler = true) {
  const clock = frozenClock(NOW);
  const backend = new FakeBackend();
  const broker = new FakeBroker();
  const scheduler = new FakeScheduler();
  const deadLettered: { body: string; reason: DeadLetterReason; detail: string }[] = [];
  const options: ForwarderOptions = {
    backend,
    broker,
    clock,
    logger: silent,
    deadLetter: async (body, reason, detail) => {
      deadLettered.push({ body, reason, detail });
    },
    ...(withScheduler ? { scheduler } : {}),
  };
  return { clock, backend, broker, scheduler, deadLettered, options };
}

const sigAt = (eta: number | null, opts: Parameters<typeof newSignature>[2] = {}) =>
  newSignature('add', [{ Type: 'int64', Value: 1 }], { ...opts, ETA: eta });

describe('Function: forwardRecord', () => {
  it('publishes a due task to the task queue with a deduplication id naming its ETA', async () => {
    // Prepare
    const { broker, options } = setup();
    const sig = sigAt(NOW - 1);

    // Act
    const outcome = await forwardRecord(record(encodeSignature(sig)), options);

    // Assess
    expect(outcome).toEqual({ kind: 'forwarded', uuid: sig.UUID });
    expect(broker.published).toHaveLength(1);
    expect(broker.published[0]?.signature.UUID).toBe(sig.UUID);
    expect(broker.published[0]?.deduplicationId).toBe(`${sig.UUID}-eta${NOW - 1}`);
  });

  it('publishes a task without ETA with its UUID as deduplication id', async () => {
    // Prepare
    const { broker, options } = setup();
    const sig = sigAt(null);

    // Act
    await forwardRecord(record(encodeSignature(sig)), options);

    // Assess
    expect(broker.published[0]?.deduplicationId).toBe(sig.UUID);
  });

  it.each([
    [30_000, 30],
    [29_200, 30],
    [1, 1],
    [900_000, 900],
  ])('re-delays a task due in %i ms by %i s', async (inMs, seconds) => {
    // Prepare
    const { broker, options } = setup();
    const sig = sigAt(NOW + inMs);

    // Act
    const outcome = await forwardRecord(record(encodeSignature(sig)), options);

    // Assess
    expect(outcome).toEqual({ kind: 'redelayed', uuid: sig.UUID, delaySeconds: seconds });
    expect(broker.published).toEqual([]);
    expect(broker.delayed[0]?.delaySeconds).toBe(seconds);
  });

  it('schedules a task still more than 15 minutes away one minute before its ETA', async () => {
    // Prepare
    const { broker, scheduler, options } = setup();
    const eta = NOW + 2 * 3_600_000;
    const sig = sigAt(eta);

    // Act
    const outcome = await forwardRecord(record(encodeSignature(sig)), options);

    // Assess
    expect(outcome).toEqual({ kind: 'rescheduled', uuid: sig.UUID, fireAt: eta - 60_000 });
    expect(scheduler.once[0]?.fireAt).toBe(eta - 60_000);
    expect(broker.delayed).toEqual([]);
  });

  it('re-delays instead of losing the task when its schedule still exists', async () => {
    // Prepare: the schedule that fired has not been deleted yet, so a new one cannot be created
    const { broker, scheduler, options } = setup();
    const sig = sigAt(NOW + 2 * 3_600_000);
    scheduler.existing.add(sig.UUID);

    // Act
    const outcome = await forwardRecord(record(encodeSignature(sig)), options);

    // Assess
    expect(outcome).toEqual({ kind: 'redelayed', uuid: sig.UUID, delaySeconds: 900 });
    expect(scheduler.once).toEqual([]);
    expect(broker.delayed[0]?.delaySeconds).toBe(900);
  });

  it('hops 15 minutes at a time when no scheduler is configured', async () => {
    // Prepare
    const { broker, options } = setup(false);
    const sig = sigAt(NOW + 2 * 3_600_000);

    // Act
    const outcome = await forwardRecord(record(encodeSignature(sig)), options);

    // Assess
    expect(outcome).toMatchObject({ kind: 'redelayed', delaySeconds: 900 });
    expect(broker.delayed[0]?.delaySeconds).toBe(900);
  });

  it('drops a revoked task without forwarding it', async () => {
    // Prepare
    const { backend, broker, options } = setup();
    const sig = sigAt(NOW - 1);
    backend.set(sig.UUID, 'FAILURE', { error: 'revoked' });

    // Act
    const outcome = await forwardRecord(record(encodeSignature(sig)), options);

    // Assess
    expect(outcome).toEqual({ kind: 'revoked', uuid: sig.UUID });
    expect(broker.published).toEqual([]);
    expect(broker.delayed).toEqual([]);
  });

  it('drops a finished task as a duplicate, but forwards a dead-lettered one', async () => {
    // Prepare
    const { backend, broker, options } = setup();
    const done = sigAt(NOW - 1);
    const deadLettered = sigAt(NOW - 1);
    backend.set(done.UUID, 'SUCCESS');
    backend.set(deadLettered.UUID, 'FAILURE', { deadLettered: true, error: 'crash-loop' });

    // Act
    const first = await forwardRecord(record(encodeSignature(done)), options);
    const second = await forwardRecord(record(encodeSignature(deadLettered)), options);

    // Assess
    expect(first).toEqual({ kind: 'duplicate', uuid: done.UUID, state: 'SUCCESS' });
    expect(second).toEqual({ kind: 'forwarded', uuid: deadLettered.UUID });
    expect(broker.published.map((p) => p.signature.UUID)).toEqual([deadLettered.UUID]);
  });

  it('reads a body by reference from the PENDING item and re-delays the small reference', async () => {
    // Prepare
    const { backend, broker, options } = setup();
    const big = newSignature('concat', [{ Type: 'string', Value: 'x'.repeat(10_000) }], {
      ETA: NOW + 30_000,
    });
    backend.set(big.UUID, 'PENDING', { body: encodeSignature(big) });
    const ref = encodeReference(big.UUID);

    // Act
    const early = await forwardRecord(record(ref), options);
    options.clock = frozenClock(NOW + 31_000);
    const due = await forwardRecord(record(ref), options);

    // Assess
    expect(early).toMatchObject({ kind: 'redelayed', delaySeconds: 30 });
    expect(broker.delayed[0]?.body).toBe(ref);
    expect(due).toEqual({ kind: 'forwarded', uuid: big.UUID });
    expect(broker.published[0]?.signature.Args[0]?.Value).toBe('x'.repeat(10_000));
  });

  it('dead-letters a reference whose item is gone and records the task FAILURE', async () => {
    // Prepare
    const { backend, deadLettered, options } = setup();

    // Act
    const outcome = await forwardRecord(record(encodeReference('task_gone')), options);

    // Assess
    expect(outcome).toMatchObject({
      kind: 'dead-letter',
      reason: 'undecodable',
      uuid: 'task_gone',
    });
    expect(deadLettered[0]?.detail).toMatch(/by reference/);
    expect(backend.failures[0]).toMatchObject({ uuid: 'task_gone', reason: 'undecodable' });
  });

  it('dead-letters a body that is not JSON', async () => {
    // Prepare
    const { deadLettered, options } = setup();

    // Act
    const outcome = await forwardRecord(record('not json'), options);

    // Assess
    expect(outcome).toMatchObject({ kind: 'dead-letter', reason: 'undecodable' });
    expect(deadLettered).toEqual([
      { body: 'not json', reason: 'undecodable', detail: expect.any(String) },
    ]);
  });

  it('dead-letters an invalid signature and records its task FAILURE', async () => {
    // Prepare
    const { backend, deadLettered, options } = setup();
    const body = JSON.stringify({
      UUID: 'task_bad',
      Name: 'add',
      Args: [{ Type: 'complex128', Value: 1 }],
    });

    // Act
    const outcome = await forwardRecord(record(body), options);

    // Assess
    expect(outcome).toMatchObject({ kind: 'dead-letter', reason: 'invalid-signature' });
    expect(deadLettered).toHaveLength(1);
    expect(backend.failures[0]).toMatchObject({ uuid: 'task_bad', reason: 'invalid-signature' });
  });

  it('leaves an undecodable body as a failure when no dead-letter sink is configured', async () => {
    // Prepare
    const { options } = setup();
    delete options.deadLetter;

    // Act
    const outcome = await forwardRecord(record('not json'), options);

    // Assess
    expect(outcome.kind).toBe('failed');
  });

  it('records a periodic firing PENDING under a derived UUID and publishes it, the same UUID twice', async () => {
    // Prepare
    const { backend, broker, options } = setup();
    const template = sigAt(null);
    const input = encodePeriodicInput('periodic-tick', 'task', [template]);
    const body = input.replace(SCHEDULED_TIME_PLACEHOLDER, '2030-01-01T00:00:00Z');
    const [expected] = materializePeriodicFiring(
      [template],
      'periodic-tick',
      '2030-01-01T00:00:00Z',
    );

    // Act
    const first = await forwardRecord(record(body), options);
    const again = await forwardRecord(record(body, 'm2'), options);

    // Assess
    expect(first).toMatchObject({ kind: 'fired', uuids: [expected?.UUID] });
    expect(again).toMatchObject({ kind: 'fired', uuids: [expected?.UUID] });
    expect(backend.records.get(expected?.UUID as string)?.state).toBe('PENDING');
    expect(broker.published.map((p) => p.signature.UUID)).toEqual([expected?.UUID, expected?.UUID]);
  });
});

describe('Function: createForwarder', () => {
  it('reports only the records that failed transiently as batch item failures', async () => {
    // Prepare
    const { backend, options } = setup();
    backend.failGet = new TransientInfrastructureError('DynamoDB throttled');
    const handler = createForwarder(options);
    const due = sigAt(NOW - 1);

    // Act
    const res = await handler({
      Records: [record(encodeSignature(due), 'ok-but-throttled'), record('not json', 'poison')],
    });

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'ok-but-throttled' }]);
  });
});

describe('Function: forwardDeduplicationId', () => {
  it('hashes an id SQS would refuse', () => {
    // Act
    const id = forwardDeduplicationId({ UUID: `task_${'é'.repeat(200)}`, ETA: null });

    // Assess
    expect(id).toMatch(/^[0-9a-f]{64}$/);
  });
});

/**
 * Retries on the FIFO queue wait for real (machinery's Fibonacci back-off: 1, 2, 3 s) and keep
 * their place in a user-set message group: the worker keeps the message in flight with
 * ChangeMessageVisibility, so later messages of that group wait. Lower bounds only.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryLaterError } from '../../src/core/errors.js';
import { defineTask } from '../../src/core/registry.js';
import { newSignature } from '../../src/core/signature.js';
import { type DelayHarness, startDelayHarness } from './delay-harness.js';

/** Wall-clock start (and end) times of every attempt, by task UUID. */
const runs = new Map<string, { start: number; end: number; attempt: number }[]>();

function track(uuid: string, attempt: number): { start: number; finish: () => void } {
  const entry = { start: Date.now(), end: Number.NaN, attempt };
  runs.set(uuid, [...(runs.get(uuid) ?? []), entry]);
  return { start: entry.start, finish: () => (entry.end = Date.now()) };
}

const flaky = defineTask({
  name: 'flaky',
  run: (ctx) => {
    const t = track(ctx.uuid, ctx.attempt);
    t.finish();
    if (ctx.attempt <= 3) throw new Error(`flaky failure ${ctx.attempt}`);
    return ctx.attempt;
  },
});

const later = defineTask({
  name: 'later',
  run: (ctx) => {
    track(ctx.uuid, ctx.attempt).finish();
    if (ctx.attempt === 1) throw new RetryLaterError(2_500, 'not ready yet');
    return ctx.attempt;
  },
});

const after = defineTask({
  name: 'after',
  run: (ctx) => {
    track(ctx.uuid, ctx.attempt).finish();
    return 'ran';
  },
});

describe('Retries on the FIFO task queue', () => {
  let h: DelayHarness;

  beforeAll(async () => {
    h = await startDelayHarness({ label: 'dretry', tasks: [flaky, after, later] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('runs a RetryCount 3 task four times, at least 1, 2 and 3 s apart, ending SUCCESS, and holds its message group meanwhile', async () => {
    // Prepare
    const group = `g-${randomUUID()}`;
    const first = newSignature('flaky', [], { RetryCount: 3, BrokerMessageGroupId: group });
    const second = newSignature('after', [], { BrokerMessageGroupId: group });

    // Act
    const firstResult = await h.client.sendTask(first);
    const secondResult = await h.client.sendTask(second);
    const [attempts] = await firstResult.get({ timeoutMs: 45_000 });
    const [secondValue] = await secondResult.get({ timeoutMs: 45_000 });
    const state = await firstResult.getState();

    // Assess
    const tries = runs.get(first.UUID) ?? [];
    expect(tries.map((t) => t.attempt)).toEqual([1, 2, 3, 4]);
    const gaps = tries.slice(1).map((t, i) => t.start - (tries[i] as { end: number }).end);
    expect(gaps[0]).toBeGreaterThanOrEqual(1_000);
    expect(gaps[1]).toBeGreaterThanOrEqual(2_000);
    expect(gaps[2]).toBeGreaterThanOrEqual(3_000);
    expect(attempts).toBe(4);
    expect(state).toMatchObject({ state: 'SUCCESS', retries: 3, attempt: 4 });
    // kept on the FIFO queue: nothing went through the delay queue
    expect(h.forwarded.some((f) => 'uuid' in f && f.uuid === first.UUID)).toBe(false);
    // the later message of the same group ran only after the last attempt
    expect(secondValue).toBe('ran');
    const secondRun = runs.get(second.UUID) ?? [];
    expect(secondRun).toHaveLength(1);
    expect(secondRun[0]?.start).toBeGreaterThanOrEqual((tries[3] as { end: number }).end);
  });

  it('retries a task that asks to retry later no sooner than the delay it asked for', async () => {
    // Prepare
    const sig = newSignature('later');

    // Act
    const result = await h.client.sendTask(sig);
    const [attempt] = await result.get({ timeoutMs: 45_000 });

    // Assess
    const tries = runs.get(sig.UUID) ?? [];
    expect(tries.map((t) => t.attempt)).toEqual([1, 2]);
    expect(
      (tries[1] as { start: number }).start - (tries[0] as { end: number }).end,
    ).toBeGreaterThanOrEqual(2_500);
    expect(attempt).toBe(2);
    expect(await result.getState()).toMatchObject({ state: 'SUCCESS', retries: 1 });
  });
});

describe('Transient errors in the worker', () => {
  let h: DelayHarness;
  /** Task UUIDs whose first claim (an UpdateItem) fails with throttling. */
  const throttleOnce = new Set<string>();
  const throttled: string[] = [];

  beforeAll(async () => {
    h = await startDelayHarness({
      label: 'dtrans',
      tasks: [after],
      workerDynamodb: (stack) => {
        const client = new DynamoDBClient({
          region: stack.region,
          credentials: stack.credentials,
          endpoint: stack.endpoints.dynamodb,
        });
        // Injected above the SDK's retry layer, so it reaches the worker as DynamoDB's throttling does
        // once the SDK's own retries are exhausted.
        client.middlewareStack.add(
          (next, context) => async (args) => {
            // the document client's input (plain values) or the marshalled one ({ S })
            const raw = (args.input as { Key?: { TaskUUID?: unknown } }).Key?.TaskUUID;
            const key = typeof raw === 'string' ? raw : (raw as { S?: string } | undefined)?.S;
            const update = /^Update(Item)?Command$/.test(context.commandName ?? '');
            if (update && key && throttleOnce.delete(key)) {
              throttled.push(key);
              throw new ProvisionedThroughputExceededException({
                message: 'injected throttling',
                $metadata: { httpStatusCode: 400 },
              });
            }
            return next(args);
          },
          { step: 'initialize', name: 'injectThrottling' },
        );
        return client;
      },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('redelivers a task whose claim was throttled without consuming a retry', async () => {
    // Prepare: RetryCount 0, so a consumed retry would end the task FAILURE
    const sig = newSignature('after');
    throttleOnce.add(sig.UUID);

    // Act
    const result = await h.client.sendTask(sig);
    const [value] = await result.get({ timeoutMs: 45_000 });

    // Assess
    expect(throttled).toEqual([sig.UUID]);
    expect(value).toBe('ran');
    expect(runs.get(sig.UUID)).toHaveLength(1);
    expect(await result.getState()).toMatchObject({ state: 'SUCCESS', retries: 0, attempt: 1 });
  });
});

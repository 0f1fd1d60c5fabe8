/**
 * ETAs beyond SQS's 15 minutes: a one-time EventBridge Scheduler schedule (on the local emulator)
 * into the delay queue, fired by advancing the clock the emulator, the forwarder and the worker
 * share. Delays are proved by lower bounds only.
 */
import { GetScheduleCommand, ResourceNotFoundException } from '@aws-sdk/client-scheduler';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDelayBody } from '../../src/core/delay-body.js';
import { defineTask } from '../../src/core/registry.js';
import { formatAt } from '../../src/core/schedule-expression.js';
import { oneTimeScheduleName } from '../../src/core/schedule-names.js';
import { newSignature } from '../../src/core/signature.js';
import { type DelayHarness, eventually, sleep, startDelayHarness } from './delay-harness.js';

/** Start times on the shared clock, by task UUID. */
const starts = new Map<string, number[]>();
let clockNow: () => number = Date.now;

const stamp = defineTask({
  name: 'stamp',
  run: (ctx) => {
    const t = clockNow();
    starts.set(ctx.uuid, [...(starts.get(ctx.uuid) ?? []), t]);
    return t;
  },
});

const length = defineTask({
  name: 'length',
  args: ['string'],
  run: (ctx, s) => {
    starts.set(ctx.uuid, [...(starts.get(ctx.uuid) ?? []), clockNow()]);
    return s.length;
  },
});

const MIN = 60_000;

async function queueDepth(h: DelayHarness, url: string): Promise<number> {
  const { Attributes } = await h.stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

describe('ETA through EventBridge Scheduler', () => {
  let h: DelayHarness;

  beforeAll(async () => {
    h = await startDelayHarness({ label: 'dsched', tasks: [stamp, length] });
    clockNow = () => h.clock.now();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const getSchedule = (uuid: string) =>
    h.stack.clients.scheduler.send(
      new GetScheduleCommand({
        Name: oneTimeScheduleName(uuid),
        GroupName: h.stack.names.scheduleGroup,
      }),
    );

  it('creates an at() schedule a minute early into the delay queue; advancing the clock runs the task, not before its ETA', async () => {
    // Prepare
    const eta = h.clock.now() + 20 * MIN;
    const sig = newSignature('stamp', [], { ETA: eta });

    // Act
    const result = await h.client.sendTask(sig);
    const schedule = await getSchedule(sig.UUID);
    await sleep(1_500); // the runners poll meanwhile: nothing may run yet
    const before = await result.getState();
    h.clock.advance(20 * MIN);
    const [value] = await result.get({ timeoutMs: 30_000 });

    // Assess
    expect(schedule).toMatchObject({
      ScheduleExpression: formatAt(eta - MIN),
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: h.stack.queueArns.delay,
        RoleArn: h.stack.schedulerRoleArn,
        DeadLetterConfig: { Arn: h.stack.queueArns.schedulerDlq },
      },
    });
    expect(parseDelayBody(schedule.Target?.Input ?? '')).toMatchObject({
      kind: 'signature',
      signature: { UUID: sig.UUID, Name: 'stamp' },
    });
    expect(before?.state).toBe('PENDING');
    expect(starts.get(sig.UUID)).toHaveLength(1);
    expect(value as number).toBeGreaterThanOrEqual(eta);
    await expect(getSchedule(sig.UUID)).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('waits out the rest when the schedule fires before the ETA', async () => {
    // Prepare
    const eta = h.clock.now() + 20 * MIN;
    const sig = newSignature('stamp', [], { ETA: eta });
    const result = await h.client.sendTask(sig);

    // Act: the schedule fires (at ETA - 60 s) with 2 s still to wait
    h.clock.advance(20 * MIN - 2_000);
    await eventually(
      () => h.forwarded.some((f) => f.kind === 'redelayed' && f.uuid === sig.UUID),
      30_000,
      'the forwarder re-delays the early firing',
    );
    const [value] = await result.get({ timeoutMs: 30_000 });

    // Assess
    expect(starts.get(sig.UUID)).toHaveLength(1);
    expect(starts.get(sig.UUID)?.[0]).toBeGreaterThanOrEqual(eta);
    expect(value as number).toBeGreaterThanOrEqual(eta);
  });

  it('sends a body over the Scheduler input limit by reference, and it still runs', async () => {
    // Prepare
    const text = 'x'.repeat(10_000);
    const eta = h.clock.now() + 20 * MIN;
    const sig = newSignature('length', [{ Type: 'string', Value: text }], { ETA: eta });

    // Act
    const result = await h.client.sendTask(sig);
    const schedule = await getSchedule(sig.UUID);
    const pending = await result.getState();
    h.clock.advance(20 * MIN);
    const [value] = await result.get({ timeoutMs: 30_000 });

    // Assess
    expect(schedule.Target?.Input).toBe(JSON.stringify({ 'machinery.ref': sig.UUID }));
    expect(pending?.body).toContain(text);
    expect(value).toBe(10_000);
    expect(starts.get(sig.UUID)?.[0]).toBeGreaterThanOrEqual(eta);
  });

  it('cancels a scheduled task before its ETA: the schedule is deleted, it never runs, it reads FAILURE revoked', async () => {
    // Prepare
    const eta = h.clock.now() + 20 * MIN;
    const sig = newSignature('stamp', [], { ETA: eta });
    const result = await h.client.sendTask(sig);

    // Act
    const cancelled = await h.cancel(sig.UUID);
    h.clock.advance(21 * MIN);
    await sleep(3_000); // the runners keep polling: anything left would surface meanwhile
    const state = await result.getState();

    // Assess
    expect(cancelled).toEqual({ revoked: true, alreadyRevoked: false, scheduleDeleted: true });
    await expect(getSchedule(sig.UUID)).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(h.stack.scheduler?.deliveries.some((d) => d.body.includes(sig.UUID))).toBe(false);
    expect(starts.has(sig.UUID)).toBe(false);
    expect(state).toMatchObject({ state: 'FAILURE', error: 'revoked' });
  });

  it('cancels a task waiting on the delay queue: the forwarder drops it, it never runs', async () => {
    // Prepare
    const eta = h.clock.now() + 2_000;
    const sig = newSignature('stamp', [], { ETA: eta });
    const result = await h.client.sendTask(sig);

    // Act
    const cancelled = await h.cancel(sig.UUID);
    await eventually(
      () => h.forwarded.some((f) => f.kind === 'revoked' && f.uuid === sig.UUID),
      30_000,
      'the forwarder drops the revoked task',
    );
    await sleep(1_000);
    const state = await result.getState();

    // Assess
    expect(cancelled).toEqual({ revoked: true, alreadyRevoked: false, scheduleDeleted: false });
    expect(starts.has(sig.UUID)).toBe(false);
    expect(state).toMatchObject({ state: 'FAILURE', error: 'revoked' });
  });

  it('has the worker drop a revoked task whose message reaches the task queue', async () => {
    // Prepare: revoked while PENDING, then its message arrives anyway (a send racing the cancel)
    const sig = newSignature('stamp');
    await h.client.backend.putPending(sig, {
      now: h.clock.now(),
      expiresAt: h.clock.now() + MIN * 60,
    });
    const cancelled = await h.cancel(sig.UUID);

    // Act
    await h.client.broker.publish([{ signature: sig }]);
    await eventually(
      async () => (await queueDepth(h, h.stack.queueUrls.tasks)) === 0,
      30_000,
      'the worker consumes the message',
    );
    await sleep(500);

    // Assess
    expect(cancelled.revoked).toBe(true);
    expect(starts.has(sig.UUID)).toBe(false);
    expect(await h.client.getState(sig.UUID)).toMatchObject({ state: 'FAILURE', error: 'revoked' });
  });

  it('does not cancel a task that already ran', async () => {
    // Prepare
    const sig = newSignature('stamp');
    const result = await h.client.sendTask(sig);
    await result.get({ timeoutMs: 30_000 });

    // Act
    const cancelled = await h.cancel(sig.UUID);

    // Assess
    expect(cancelled).toEqual({ revoked: false, state: 'SUCCESS' });
    expect((await result.getState())?.state).toBe('SUCCESS');
  });
});

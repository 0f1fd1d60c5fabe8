/**
 * The EventBridge Scheduler adapter against the local Scheduler emulator (through the real SDK):
 * what it creates is read back with GetSchedule; firing is driven by an AdjustableClock.
 */
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBridgeScheduler,
  oneTimeScheduleName,
  PERIODIC_PREFIX,
  parseDelayBody,
  ScheduleInputTooLargeError,
} from '../../src/aws/scheduler.js';
import { AdjustableClock } from '../../src/core/clock.js';
import { decodeSignature, newSignature } from '../../src/core/signature.js';
import { getTestStack, type TestStack } from './support/stack.js';

describe('Class: EventBridgeScheduler', () => {
  const clock = new AdjustableClock();
  let stack: TestStack;
  let scheduler: EventBridgeScheduler;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'dsch', clock });
    scheduler = new EventBridgeScheduler({
      client: stack.clients.scheduler,
      groupName: stack.names.scheduleGroup,
      roleArn: stack.schedulerRoleArn,
      delayQueueArn: stack.queueArns.delay,
      deadLetterArn: stack.queueArns.schedulerDlq,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const getSchedule = (name: string) =>
    stack.clients.scheduler.send(
      new GetScheduleCommand({ Name: name, GroupName: stack.names.scheduleGroup }),
    );

  it('creates a one-time at() schedule into the delay queue, read back with GetSchedule', async () => {
    // Prepare
    const eta = Date.parse('2031-06-01T10:20:30.750Z');
    const sig = newSignature('add', [{ Type: 'int64', Value: 1 }], { ETA: eta });

    // Act
    await scheduler.scheduleOnce(sig, eta - 60_000);

    // Assess
    const out = await getSchedule(oneTimeScheduleName(sig.UUID));
    expect(out).toMatchObject({
      Name: `once-${sig.UUID}`,
      GroupName: stack.names.scheduleGroup,
      ScheduleExpression: 'at(2031-06-01T10:19:30)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: stack.queueArns.delay,
        RoleArn: stack.schedulerRoleArn,
        DeadLetterConfig: { Arn: stack.queueArns.schedulerDlq },
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
      },
    });
    const input = decodeSignature(out.Target?.Input ?? '');
    expect(input.UUID).toBe(sig.UUID);
    expect(Date.parse(input.ETA ?? '')).toBe(eta);
  });

  it('treats a second create of the same task as a re-send and keeps the first schedule', async () => {
    // Prepare
    const sig = newSignature('add', [], { ETA: '2031-06-01T10:00:00Z' });
    const created = await scheduler.scheduleOnce(sig, Date.parse('2031-06-01T09:59:00Z'));

    // Act
    const again = await scheduler.scheduleOnce(sig, Date.parse('2031-06-01T11:59:00Z'));

    // Assess
    expect(created).toBe(true);
    expect(again).toBe(false);
    const out = await getSchedule(oneTimeScheduleName(sig.UUID));
    expect(out.ScheduleExpression).toBe('at(2031-06-01T09:59:00)');
  });

  it('puts only a reference in the input when the body goes by reference', async () => {
    // Prepare
    const sig = newSignature('concat', [{ Type: 'string', Value: 'x'.repeat(9_000) }], {
      ETA: '2031-06-01T10:00:00Z',
    });

    // Act
    await scheduler.scheduleOnce(sig, Date.parse('2031-06-01T09:59:00Z'), {
      bodyByReference: true,
    });

    // Assess
    const out = await getSchedule(oneTimeScheduleName(sig.UUID));
    expect(parseDelayBody(out.Target?.Input ?? '')).toEqual({ kind: 'reference', uuid: sig.UUID });
  });

  it('refuses an inline body over the 8 KB input limit', async () => {
    // Prepare
    const sig = newSignature('concat', [{ Type: 'string', Value: 'x'.repeat(9_000) }]);

    // Act
    const act = scheduler.scheduleOnce(sig, Date.parse('2031-06-01T09:59:00Z'));

    // Assess
    await expect(act).rejects.toBeInstanceOf(ScheduleInputTooLargeError);
  });

  it('cancels a one-time schedule once, then reports there is none', async () => {
    // Prepare
    const sig = newSignature('add', [], { ETA: '2031-06-01T10:00:00Z' });
    await scheduler.scheduleOnce(sig, Date.parse('2031-06-01T09:59:00Z'));

    // Act
    const first = await scheduler.cancelOnce(sig.UUID);
    const second = await scheduler.cancelOnce(sig.UUID);

    // Assess
    expect(first).toBe(true);
    expect(second).toBe(false);
    expect(await scheduler.getSchedule(oneTimeScheduleName(sig.UUID))).toBeUndefined();
  });

  it('creates, replaces, lists and deletes periodic schedules', async () => {
    // Prepare
    const sig = newSignature('report', [{ Type: 'string', Value: 'daily' }]);
    await scheduler.putPeriodic({ name: 'report', expression: 'rate(1 hour)', signature: sig });

    // Act
    await scheduler.putPeriodic({
      name: 'report',
      expression: 'cron(0 3 * * ? *)',
      timezone: 'Europe/Paris',
      signature: sig,
    });
    const listed = await scheduler.listPeriodic();
    const raw = await getSchedule(`${PERIODIC_PREFIX}report`);
    const deleted = await scheduler.deletePeriodic('report');
    const deletedAgain = await scheduler.deletePeriodic('report');
    const after = await scheduler.listPeriodic();

    // Assess
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      name: 'report',
      expression: 'cron(0 3 * * ? *)',
      timezone: 'Europe/Paris',
      kind: 'task',
    });
    expect(listed[0]?.signature.UUID).toBe(sig.UUID);
    expect(listed[0]?.signature.Args).toEqual(sig.Args);
    expect(raw.Target?.Arn).toBe(stack.queueArns.delay);
    expect(raw.Target?.Input).toContain('<aws.scheduler.scheduled-time>');
    expect(raw.ActionAfterCompletion ?? 'NONE').toBe('NONE');
    expect(deleted).toBe(true);
    expect(deletedAgain).toBe(false);
    expect(after).toEqual([]);
  });

  it('fires a periodic schedule on the advanced clock with the scheduled time substituted', async () => {
    // Prepare
    const sig = newSignature('tick');
    await scheduler.putPeriodic({ name: 'tick', expression: 'rate(1 minute)', signature: sig });
    const emulator = stack.scheduler;
    if (emulator === undefined) throw new Error('the test stack has no private Scheduler emulator');
    const since = emulator.deliveries.length;

    // Act
    clock.advance(61_000);
    const delivery = await emulator.waitForDelivery(
      (d) => d.scheduleName === `${PERIODIC_PREFIX}tick` && emulator.deliveries.indexOf(d) >= since,
    );
    await scheduler.deletePeriodic('tick');
    const received = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queueUrls.delay,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );

    // Assess
    expect(delivery.status).toBe('delivered');
    const bodies = (received.Messages ?? []).map((m) => parseDelayBody(m.Body ?? ''));
    const firing = bodies.find((b) => b.kind === 'periodic');
    expect(firing).toMatchObject({
      kind: 'periodic',
      schedule: `${PERIODIC_PREFIX}tick`,
      // <aws.scheduler.scheduled-time> has second precision
      scheduledTime: new Date(Math.floor(delivery.scheduledTime / 1000) * 1000).toISOString(),
    });
  });
});

/**
 * The EventBridge Scheduler adapter against the local Scheduler emulator (through the real SDK):
 * what it creates is read back with GetSchedule; firing is driven by an AdjustableClock; what it
 * asks the Scheduler is observed by SDK middleware. The emulator answers `ConflictException` and
 * `ResourceNotFoundException` as AWS does; only throttling, which it never answers, is injected
 * with a mock (test/unit/delay/scheduler-adapter.test.ts).
 */
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBridgeScheduler,
  queueArnFromUrl,
  ScheduleInputTooLargeError,
} from '../../src/aws/scheduler.js';
import { AdjustableClock } from '../../src/core/clock.js';
import { parseDelayBody } from '../../src/core/delay-body.js';
import {
  InfrastructureError,
  InvalidScheduleExpressionError,
  InvalidScheduleNameError,
} from '../../src/core/errors.js';
import { oneTimeScheduleName, PERIODIC_PREFIX } from '../../src/core/schedule-names.js';
import { decodeSignature, newSignature, newTaskUUID } from '../../src/core/signature.js';
import { countRequests, recordCommands } from './aws-helpers.js';
import { getTestStack, type TestStack } from './support/stack.js';

describe('Class: EventBridgeScheduler', () => {
  const clock = new AdjustableClock();
  let stack: TestStack;
  let scheduler: EventBridgeScheduler;
  /** Every command sent through `stack.clients.scheduler`, in order. */
  let sent: ReturnType<typeof recordCommands>;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'dsch', clock });
    sent = recordCommands(stack.clients.scheduler);
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

  it('reports a missing schedule group as an InfrastructureError naming the resource', async () => {
    // Prepare
    const missingGroup = new EventBridgeScheduler({
      client: stack.clients.scheduler,
      groupName: `${stack.names.scheduleGroup}-missing`,
      roleArn: stack.schedulerRoleArn,
      delayQueueArn: stack.queueArns.delay,
      deadLetterArn: stack.queueArns.schedulerDlq,
    });

    // Act
    const act = missingGroup.putPeriodic({
      name: 'nightly',
      expression: 'rate(1 day)',
      signature: newSignature('report'),
    });

    // Assess
    await expect(act).rejects.toBeInstanceOf(InfrastructureError);
    await expect(act).rejects.toMatchObject({ code: 'MISSING_RESOURCE' });
  });

  it('replaces an existing periodic schedule with UpdateSchedule', async () => {
    // Prepare: a Scheduler DLQ ARN resolved on use, as schedulerFromConfig gives it
    const lazy = new EventBridgeScheduler({
      client: stack.clients.scheduler,
      groupName: stack.names.scheduleGroup,
      roleArn: stack.schedulerRoleArn,
      delayQueueArn: stack.queueArns.delay,
      deadLetterArn: async () => stack.queueArns.schedulerDlq,
    });
    const sig = newSignature('report');
    await lazy.putPeriodic({ name: 'nightly', expression: 'rate(1 hour)', signature: sig });
    const before = sent.length;

    // Act
    await lazy.putPeriodic({ name: 'nightly', expression: 'rate(1 day)', signature: sig });

    // Assess: the create met the existing schedule, and an update replaced it
    expect(sent.slice(before).map((c) => c.name)).toEqual([
      'CreateScheduleCommand',
      'UpdateScheduleCommand',
    ]);
    const out = await getSchedule(`${PERIODIC_PREFIX}nightly`);
    expect(out).toMatchObject({
      Name: 'periodic-nightly',
      GroupName: stack.names.scheduleGroup,
      ScheduleExpression: 'rate(1 day)',
      ScheduleExpressionTimezone: 'UTC',
      Target: { DeadLetterConfig: { Arn: stack.queueArns.schedulerDlq } },
    });
    await lazy.deletePeriodic('nightly');
  });

  it('answers false when deleting a schedule that does not exist', async () => {
    // Act
    const once = await scheduler.cancelOnce(newTaskUUID());
    const periodic = await scheduler.deletePeriodic('never-created');

    // Assess
    expect(once).toBe(false);
    expect(periodic).toBe(false);
  });

  it('refuses a bad periodic name or expression before calling AWS', async () => {
    // Prepare
    const before = sent.length;

    // Act
    const badName = scheduler.putPeriodic({
      name: 'bad name',
      expression: 'rate(1 day)',
      signature: newSignature('report'),
    });
    const badExpression = scheduler.putPeriodic({
      name: 'ok',
      expression: 'every day',
      signature: newSignature('report'),
    });

    // Assess
    await expect(badName).rejects.toBeInstanceOf(InvalidScheduleNameError);
    await expect(badExpression).rejects.toBeInstanceOf(InvalidScheduleExpressionError);
    expect(sent.slice(before)).toEqual([]);
  });
});

describe('Function: queueArnFromUrl', () => {
  let stack: TestStack;
  let sqs: SQSClient;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'qarn' });
    sqs = new SQSClient({
      region: stack.region,
      credentials: stack.credentials,
      endpoint: stack.endpoints.sqs,
    });
  });
  afterAll(async () => {
    sqs?.destroy();
    await stack?.stop();
  });

  it('reads an AWS URL without calling SQS, and looks an emulator URL up', async () => {
    // Prepare
    const requests = countRequests(sqs);

    // Act
    const aws = await queueArnFromUrl(
      sqs,
      'https://sqs.eu-west-1.amazonaws.com/123456789012/delay',
    )();
    const local = await queueArnFromUrl(sqs, stack.queueUrls.delay)();

    // Assess
    expect(aws).toBe('arn:aws:sqs:eu-west-1:123456789012:delay');
    expect(local).toBe(stack.queueArns.delay);
    expect([...requests]).toEqual([['GetQueueAttributesCommand', 1]]);
  });
});

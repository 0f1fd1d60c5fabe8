import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../src/core/clock.js';
import { DEFAULTS } from '../../src/core/resources.js';
import { getTestStack, type TestStack } from './support/stack.js';

const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `at()` expression for instant `ms`, in UTC, seconds precision. */
function atExpression(ms: number): string {
  return `at(${new Date(ms).toISOString().slice(0, 19)})`;
}

async function expectError(promise: Promise<unknown>, name: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${name}`).toBeInstanceOf(Error);
  expect((error as Error).name).toBe(name);
}

describe('Function: startSchedulerEmulator (firing)', () => {
  let clock: AdjustableClock;
  let stack: TestStack;

  beforeAll(async () => {
    clock = new AdjustableClock();
    stack = await getTestStack({ label: 'sch', clock });
  });
  afterAll(() => stack.stop());

  const base = (name: string): CreateScheduleCommandInput => ({
    Name: name,
    GroupName: stack.names.scheduleGroup,
    ScheduleExpression: 'rate(5 minutes)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: stack.queueArns.delay,
      RoleArn: stack.schedulerRoleArn,
      Input: `{"schedule":"${name}"}`,
    },
  });

  const receiveFrom = async (url: string) => {
    const out = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        WaitTimeSeconds: 1,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return out.Messages ?? [];
  };

  it('fires an at() schedule on the advanced clock, never early, with context attributes, then deletes it', async () => {
    // Prepare
    const fireAt = Math.ceil((clock.now() + 20 * MINUTE) / 1000) * 1000;
    const name = 'once';
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        ...base(name),
        ScheduleExpression: atExpression(fireAt),
        ActionAfterCompletion: 'DELETE',
        Target: {
          Arn: stack.queueArns.delay,
          RoleArn: stack.schedulerRoleArn,
          Input: JSON.stringify({
            time: '<aws.scheduler.scheduled-time>',
            execution: '<aws.scheduler.execution-id>',
            attempt: '<aws.scheduler.attempt-number>',
            arn: '<aws.scheduler.schedule-arn>',
          }),
        },
      }),
    );
    const mine = (d: { scheduleName: string }) => d.scheduleName === name;

    // Act: almost there, then there.
    clock.advance(fireAt - clock.now() - 2_000);
    await sleep(300);
    const early = stack.scheduler?.deliveries.filter(mine).length;
    clock.advance(2_000);
    const delivery = await stack.scheduler?.waitForDelivery(mine);

    // Assess
    expect(early).toBe(0);
    expect(delivery?.status).toBe('delivered');
    expect(delivery?.scheduledTime).toBe(fireAt);
    expect(delivery?.firedAt).toBeGreaterThanOrEqual(fireAt);
    const [message] = await receiveFrom(stack.queueUrls.delay);
    const body = JSON.parse(message?.Body ?? '{}');
    expect(body).toEqual({
      time: new Date(fireAt).toISOString().replace('.000Z', 'Z'),
      execution: delivery?.executionId,
      attempt: '1',
      arn: `arn:aws:scheduler:us-east-1:000000000000:schedule/${stack.names.scheduleGroup}/${name}`,
    });
    await expectError(
      stack.clients.scheduler.send(
        new GetScheduleCommand({ Name: name, GroupName: stack.names.scheduleGroup }),
      ),
      'ResourceNotFoundException',
    );
  });

  it('fires a rate() schedule once per period after its creation', async () => {
    // Prepare
    const name = 'every5';
    await stack.clients.scheduler.send(new CreateScheduleCommand(base(name)));
    const created = await stack.clients.scheduler.send(
      new GetScheduleCommand({ Name: name, GroupName: stack.names.scheduleGroup }),
    );
    const createdAt = created.CreationDate?.getTime() ?? 0;
    const mine = (d: { scheduleName: string }) => d.scheduleName === name;

    // Act
    clock.advance(5 * MINUTE);
    const first = await stack.scheduler?.waitForDelivery(mine);
    clock.advance(5 * MINUTE);
    const second = await stack.scheduler?.waitForDelivery(
      (d) => mine(d) && d.scheduledTime !== first?.scheduledTime,
    );
    await stack.clients.scheduler.send(
      new DeleteScheduleCommand({ Name: name, GroupName: stack.names.scheduleGroup }),
    );

    // Assess
    // Occurrences fall on whole seconds: the creation time rounded up, plus k periods.
    const start = Math.ceil(createdAt / 1000) * 1000;
    expect(first?.scheduledTime).toBe(start + 5 * MINUTE);
    expect(second?.scheduledTime).toBe(start + 10 * MINUTE);
    expect(first?.firedAt).toBeGreaterThanOrEqual(first?.scheduledTime ?? Number.POSITIVE_INFINITY);
    expect(second?.firedAt).toBeGreaterThanOrEqual(
      second?.scheduledTime ?? Number.POSITIVE_INFINITY,
    );
    expect((await receiveFrom(stack.queueUrls.delay)).map((m) => m.Body)).toContain(
      `{"schedule":"${name}"}`,
    );
  });

  it('reports the same whole-second scheduled time in a delivery as in <aws.scheduler.scheduled-time> when a rate() schedule is created mid-second', async () => {
    // Prepare: create the schedule about half-way through a second.
    const name = 'midsecond';
    clock.advance(1_500 - (clock.now() % 1_000));
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        ...base(name),
        Target: {
          Arn: stack.queueArns.delay,
          RoleArn: stack.schedulerRoleArn,
          Input: `{"schedule":"${name}","at":"<aws.scheduler.scheduled-time>"}`,
        },
      }),
    );
    const created = await stack.clients.scheduler.send(
      new GetScheduleCommand({ Name: name, GroupName: stack.names.scheduleGroup }),
    );
    const createdAt = created.CreationDate?.getTime() ?? 0;

    // Act
    clock.advance(5 * MINUTE);
    const delivery = await stack.scheduler?.waitForDelivery((d) => d.scheduleName === name);
    await stack.clients.scheduler.send(
      new DeleteScheduleCommand({ Name: name, GroupName: stack.names.scheduleGroup }),
    );

    // Assess
    expect(createdAt % 1_000).not.toBe(0);
    expect(delivery?.scheduledTime).toBe(Math.ceil(createdAt / 1_000) * 1_000 + 5 * MINUTE);
    const substituted = JSON.parse(delivery?.body ?? '{}').at;
    expect(substituted).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(substituted)).toBe(delivery?.scheduledTime);
  });

  it('fires a cron() schedule at the next matching minute of its time zone', async () => {
    // Prepare: 09:00 in Tokyo (UTC+9, no daylight saving) is 00:00 UTC.
    const name = 'daily';
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        ...base(name),
        ScheduleExpression: 'cron(0 9 * * ? *)',
        ScheduleExpressionTimezone: 'Asia/Tokyo',
      }),
    );
    const now = new Date(clock.now());
    const nextMidnightUtc = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const mine = (d: { scheduleName: string }) => d.scheduleName === name;

    // Act
    clock.advance(nextMidnightUtc - clock.now() - 1_000);
    await sleep(300);
    const early = stack.scheduler?.deliveries.filter(mine).length;
    clock.advance(1_000);
    const delivery = await stack.scheduler?.waitForDelivery(mine);
    await stack.clients.scheduler.send(
      new DeleteScheduleCommand({ Name: name, GroupName: stack.names.scheduleGroup }),
    );

    // Assess
    expect(early).toBe(0);
    expect(delivery?.scheduledTime).toBe(nextMidnightUtc);
    expect(delivery?.firedAt).toBeGreaterThanOrEqual(nextMidnightUtc);
  });

  it('does not fire a DISABLED schedule', async () => {
    // Prepare
    const name = 'off';
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        ...base(name),
        ScheduleExpression: 'rate(1 minute)',
        State: 'DISABLED',
      }),
    );

    // Act
    clock.advance(3 * MINUTE);
    await sleep(300);

    // Assess
    expect(stack.scheduler?.deliveries.filter((d) => d.scheduleName === name)).toEqual([]);
  });

  it('fires a FLEXIBLE window schedule at the start of its window', async () => {
    // Prepare
    const fireAt = Math.ceil((clock.now() + 30 * MINUTE) / 1000) * 1000;
    const name = 'flex';
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        ...base(name),
        ScheduleExpression: atExpression(fireAt),
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      }),
    );

    // Act
    clock.advance(fireAt - clock.now());
    const delivery = await stack.scheduler?.waitForDelivery((d) => d.scheduleName === name);

    // Assess
    expect(delivery?.firedAt).toBeGreaterThanOrEqual(fireAt);
    expect(delivery?.scheduledTime).toBe(fireAt);
  });

  it('sends SqsParameters.MessageGroupId to a FIFO target', async () => {
    // Prepare: a FIFO target needs content-based deduplication (Scheduler sends no deduplication id).
    const { QueueUrl } = await stack.clients.sqs.send(
      new CreateQueueCommand({
        QueueName: `${stack.prefix}sched-target.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
      }),
    );
    const name = 'fifo';
    const fireAt = Math.ceil((clock.now() + 2 * MINUTE) / 1000) * 1000;
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        ...base(name),
        ScheduleExpression: atExpression(fireAt),
        Target: {
          Arn: `arn:aws:sqs:us-east-1:000000000000:${stack.prefix}sched-target.fifo`,
          RoleArn: stack.schedulerRoleArn,
          Input: 'payload',
          SqsParameters: { MessageGroupId: 'periodic-group' },
        },
      }),
    );

    // Act
    clock.advance(fireAt - clock.now());
    await stack.scheduler?.waitForDelivery((d) => d.scheduleName === name);
    const [message] = await receiveFrom(QueueUrl ?? '');

    // Assess
    expect(message?.Body).toBe('payload');
    expect(message?.Attributes?.MessageGroupId).toBe('periodic-group');
  });

  it('dead-letters a firing whose target send fails, to DeadLetterConfig', async () => {
    // Prepare: the task queue is FIFO without content-based deduplication: the send fails.
    const name = 'to-dlq';
    const fireAt = Math.ceil((clock.now() + 2 * MINUTE) / 1000) * 1000;
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        ...base(name),
        ScheduleExpression: atExpression(fireAt),
        Target: {
          Arn: stack.queueArns.tasks,
          RoleArn: stack.schedulerRoleArn,
          Input: 'doomed',
          DeadLetterConfig: { Arn: stack.queueArns.schedulerDlq },
          RetryPolicy: { MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 60 },
        },
      }),
    );

    // Act
    clock.advance(fireAt - clock.now());
    const delivery = await stack.scheduler?.waitForDelivery((d) => d.scheduleName === name);
    const [message] = await receiveFrom(stack.queueUrls.schedulerDlq);

    // Assess
    expect(delivery?.status).toBe('dead-lettered');
    expect(delivery?.attempts).toBe(2);
    expect(message?.Body).toBe('doomed');
    expect(message?.MessageAttributes?.TARGET_ARN?.StringValue).toBe(stack.queueArns.tasks);
    expect(message?.MessageAttributes?.ERROR_CODE?.StringValue).toMatch(/.+/);
  });
});

describe('Function: startSchedulerEmulator (API)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'api', clock: new AdjustableClock() });
  });
  afterAll(() => stack.stop());

  const valid = (name: string): CreateScheduleCommandInput => ({
    Name: name,
    GroupName: stack.names.scheduleGroup,
    ScheduleExpression: 'rate(1 hour)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: stack.queueArns.delay, RoleArn: stack.schedulerRoleArn, Input: '{}' },
  });
  const create = (input: CreateScheduleCommandInput) =>
    stack.clients.scheduler.send(new CreateScheduleCommand(input));

  it('gets, updates, lists and deletes schedules', async () => {
    // Prepare
    await create(valid('alpha'));
    await create({ ...valid('beta'), State: 'DISABLED' });

    // Act
    const updated = await stack.clients.scheduler.send(
      new UpdateScheduleCommand({
        ...valid('alpha'),
        ScheduleExpression: 'cron(0 3 * * ? *)',
        Description: 'nightly',
      }),
    );
    const got = await stack.clients.scheduler.send(
      new GetScheduleCommand({ Name: 'alpha', GroupName: stack.names.scheduleGroup }),
    );
    const page1 = await stack.clients.scheduler.send(
      new ListSchedulesCommand({ GroupName: stack.names.scheduleGroup, MaxResults: 1 }),
    );
    const page2 = await stack.clients.scheduler.send(
      new ListSchedulesCommand({
        GroupName: stack.names.scheduleGroup,
        MaxResults: 1,
        NextToken: page1.NextToken,
      }),
    );
    const disabled = await stack.clients.scheduler.send(
      new ListSchedulesCommand({ GroupName: stack.names.scheduleGroup, State: 'DISABLED' }),
    );
    await stack.clients.scheduler.send(
      new DeleteScheduleCommand({ Name: 'beta', GroupName: stack.names.scheduleGroup }),
    );
    const after = await stack.clients.scheduler.send(
      new ListSchedulesCommand({ GroupName: stack.names.scheduleGroup, NamePrefix: 'b' }),
    );

    // Assess
    expect(updated.ScheduleArn).toBe(got.Arn);
    expect(got).toMatchObject({
      Name: 'alpha',
      GroupName: stack.names.scheduleGroup,
      ScheduleExpression: 'cron(0 3 * * ? *)',
      Description: 'nightly',
      State: 'ENABLED',
      ActionAfterCompletion: 'NONE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: stack.queueArns.delay, RoleArn: stack.schedulerRoleArn, Input: '{}' },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    expect(page1.Schedules?.map((s) => s.Name)).toEqual(['alpha']);
    expect(page2.Schedules?.map((s) => s.Name)).toEqual(['beta']);
    expect(page2.NextToken).toBeUndefined();
    expect(disabled.Schedules?.map((s) => s.Name)).toEqual(['beta']);
    expect(after.Schedules).toEqual([]);
  });

  it('creates, lists and deletes schedule groups; the default group always exists', async () => {
    // Prepare
    const name = `${stack.prefix}extra`;

    // Act
    await stack.clients.scheduler.send(new CreateScheduleGroupCommand({ Name: name }));
    await create({ ...valid('in-extra'), GroupName: name });
    const listed = await stack.clients.scheduler.send(
      new ListScheduleGroupsCommand({ NamePrefix: name }),
    );
    await stack.clients.scheduler.send(new DeleteScheduleGroupCommand({ Name: name }));
    const defaults = await stack.clients.scheduler.send(
      new ListScheduleGroupsCommand({ NamePrefix: 'default' }),
    );

    // Assess
    expect(listed.ScheduleGroups?.map((g) => g.Name)).toEqual([name]);
    expect(defaults.ScheduleGroups?.map((g) => g.Name)).toEqual(['default']);
    await expectError(
      stack.clients.scheduler.send(new GetScheduleCommand({ Name: 'in-extra', GroupName: name })),
      'ResourceNotFoundException',
    );
  });

  it('answers ConflictException for a duplicate schedule or group name', async () => {
    // Prepare
    await create(valid('dup'));

    // Act / Assess
    await expectError(create(valid('dup')), 'ConflictException');
    await expectError(
      stack.clients.scheduler.send(
        new CreateScheduleGroupCommand({ Name: stack.names.scheduleGroup }),
      ),
      'ConflictException',
    );
  });

  it('answers ResourceNotFoundException for an unknown schedule or group', async () => {
    // Prepare
    const group = stack.names.scheduleGroup;

    // Act / Assess
    await expectError(
      stack.clients.scheduler.send(new GetScheduleCommand({ Name: 'nope', GroupName: group })),
      'ResourceNotFoundException',
    );
    await expectError(
      stack.clients.scheduler.send(new DeleteScheduleCommand({ Name: 'nope', GroupName: group })),
      'ResourceNotFoundException',
    );
    await expectError(
      stack.clients.scheduler.send(new UpdateScheduleCommand({ ...valid('nope') })),
      'ResourceNotFoundException',
    );
    await expectError(
      create({ ...valid('x'), GroupName: 'no-such-group' }),
      'ResourceNotFoundException',
    );
  });

  it.each([
    ['rate(0 minutes)'],
    ['rate(1 minutes)'],
    ['rate(5 minute)'],
    ['rate(5 weeks)'],
    ['cron(0 9 * * * *)'],
    ['cron(0 9 ? * ? *)'],
    ['cron(0 9 * *)'],
    ['cron(61 9 * * ? *)'],
    ['at(2030-02-30T00:00:00)'],
    ['at(2030-01-01 00:00:00)'],
    ['every day'],
  ])('answers ValidationException for the expression %s', async (expression) => {
    // Prepare
    const input = { ...valid('bad-expr'), ScheduleExpression: expression };

    // Act / Assess
    await expectError(create(input), 'ValidationException');
  });

  it('answers ValidationException for missing or invalid fields', async () => {
    // Prepare
    const { FlexibleTimeWindow: _omitWindow, ...noWindow } = valid('v1');
    const { Target: _omitTarget, ...noTarget } = valid('v2');
    const cases: CreateScheduleCommandInput[] = [
      noWindow as CreateScheduleCommandInput,
      noTarget as CreateScheduleCommandInput,
      { ...valid('v3'), ScheduleExpressionTimezone: 'Mars/Olympus_Mons' },
      { ...valid('v4'), Target: { Arn: stack.queueArns.delay, RoleArn: 'not-a-role' } },
      { ...valid('v5'), FlexibleTimeWindow: { Mode: 'FLEXIBLE' } },
      { ...valid('v6'), Name: 'has space' },
      { ...valid('v7'), State: 'PAUSED' as 'ENABLED' },
      {
        ...valid('v8'),
        Target: {
          ...valid('v8').Target,
          DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:1:q.fifo' },
        },
      } as CreateScheduleCommandInput,
      {
        ...valid('v9'),
        StartDate: new Date(Date.now() + 2 * MINUTE),
        EndDate: new Date(Date.now() + MINUTE),
      },
    ];

    // Act / Assess
    for (const input of cases) await expectError(create(input), 'ValidationException');
    await expectError(
      stack.clients.scheduler.send(new DeleteScheduleGroupCommand({ Name: 'default' })),
      'ValidationException',
    );
  });

  it(`accepts an Input of ${DEFAULTS.schedulerMaxInputBytes} bytes and refuses one byte more`, async () => {
    // Prepare
    const limit = DEFAULTS.schedulerMaxInputBytes;
    const target = (input: string) => ({
      Arn: stack.queueArns.delay,
      RoleArn: stack.schedulerRoleArn,
      Input: input,
    });

    // Act
    const ok = await create({ ...valid('big-ok'), Target: target('x'.repeat(limit)) });

    // Assess
    expect(ok.ScheduleArn).toMatch(/big-ok$/);
    await expectError(
      create({ ...valid('big-no'), Target: target('x'.repeat(limit + 1)) }),
      'ValidationException',
    );
  });
});

import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EventBridgeScheduler,
  InvalidScheduleExpressionError,
  InvalidScheduleNameError,
  queueArnFromUrl,
} from '../../../src/aws/scheduler.js';
import { InfrastructureError, TransientInfrastructureError } from '../../../src/core/errors.js';
import { newSignature } from '../../../src/core/signature.js';

const schedulerMock = mockClient(SchedulerClient);
const sqsMock = mockClient(SQSClient);

function adapter() {
  return new EventBridgeScheduler({
    client: new SchedulerClient({ region: 'us-east-1' }),
    groupName: 'machinery',
    roleArn: 'arn:aws:iam::123456789012:role/machinery-scheduler',
    delayQueueArn: 'arn:aws:sqs:us-east-1:123456789012:delay',
    deadLetterArn: async () => 'arn:aws:sqs:us-east-1:123456789012:scheduler-dlq',
  });
}

const meta = { $metadata: {}, message: 'x', Message: 'x' };

describe('Class: EventBridgeScheduler (errors at the edge)', () => {
  beforeEach(() => {
    schedulerMock.reset();
    sqsMock.reset();
  });

  it('treats ConflictException on a one-time create as success (schedule exists: false)', async () => {
    // Prepare
    schedulerMock.on(CreateScheduleCommand).rejects(new ConflictException(meta));

    // Act
    const act = adapter().scheduleOnce(newSignature('add'), Date.parse('2031-01-01T00:00:00Z'));

    // Assess
    await expect(act).resolves.toBe(false);
  });

  it('turns Scheduler throttling into a TransientInfrastructureError', async () => {
    // Prepare
    schedulerMock.on(CreateScheduleCommand).rejects(new ThrottlingException(meta));

    // Act
    const act = adapter().scheduleOnce(newSignature('add'), Date.parse('2031-01-01T00:00:00Z'));

    // Assess
    await expect(act).rejects.toBeInstanceOf(TransientInfrastructureError);
  });

  it('reports a missing schedule group as an InfrastructureError naming the resource', async () => {
    // Prepare
    schedulerMock.on(CreateScheduleCommand).rejects(new ResourceNotFoundException(meta));

    // Act
    const act = adapter().putPeriodic({
      name: 'nightly',
      expression: 'rate(1 day)',
      signature: newSignature('report'),
    });

    // Assess
    await expect(act).rejects.toBeInstanceOf(InfrastructureError);
    await expect(act).rejects.toMatchObject({ code: 'MISSING_RESOURCE' });
  });

  it('replaces an existing periodic schedule with UpdateSchedule', async () => {
    // Prepare
    schedulerMock.on(CreateScheduleCommand).rejects(new ConflictException(meta));
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });

    // Act
    await adapter().putPeriodic({
      name: 'nightly',
      expression: 'rate(1 day)',
      signature: newSignature('report'),
    });

    // Assess
    const update = schedulerMock.commandCalls(UpdateScheduleCommand)[0]?.args[0].input;
    expect(update).toMatchObject({
      Name: 'periodic-nightly',
      GroupName: 'machinery',
      ScheduleExpression: 'rate(1 day)',
      ScheduleExpressionTimezone: 'UTC',
      Target: { DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:scheduler-dlq' } },
    });
  });

  it('answers false when deleting a schedule that does not exist', async () => {
    // Prepare
    schedulerMock.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException(meta));

    // Act
    const once = await adapter().cancelOnce('task_1');
    const periodic = await adapter().deletePeriodic('nightly');

    // Assess
    expect(once).toBe(false);
    expect(periodic).toBe(false);
  });

  it('refuses a bad periodic name or expression before calling AWS', async () => {
    // Act
    const badName = adapter().putPeriodic({
      name: 'bad name',
      expression: 'rate(1 day)',
      signature: newSignature('report'),
    });
    const badExpression = adapter().putPeriodic({
      name: 'ok',
      expression: 'every day',
      signature: newSignature('report'),
    });

    // Assess
    await expect(badName).rejects.toBeInstanceOf(InvalidScheduleNameError);
    await expect(badExpression).rejects.toBeInstanceOf(InvalidScheduleExpressionError);
    expect(schedulerMock.calls()).toHaveLength(0);
  });
});

describe('Function: queueArnFromUrl', () => {
  beforeEach(() => {
    sqsMock.reset();
  });

  it('reads an AWS URL without calling SQS, and looks an emulator URL up', async () => {
    // Prepare
    sqsMock
      .on(GetQueueAttributesCommand)
      .resolves({ Attributes: { QueueArn: 'arn:aws:sqs:us-east-1:000000000000:delay' } });
    const sqs = new SQSClient({ region: 'us-east-1' });

    // Act
    const aws = await queueArnFromUrl(
      sqs,
      'https://sqs.eu-west-1.amazonaws.com/123456789012/delay',
    )();
    const local = await queueArnFromUrl(sqs, 'http://127.0.0.1:4566/000000000000/delay')();

    // Assess
    expect(aws).toBe('arn:aws:sqs:eu-west-1:123456789012:delay');
    expect(local).toBe('arn:aws:sqs:us-east-1:000000000000:delay');
    expect(sqsMock.commandCalls(GetQueueAttributesCommand)).toHaveLength(1);
  });
});

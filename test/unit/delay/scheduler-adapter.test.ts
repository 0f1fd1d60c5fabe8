import {
  CreateScheduleCommand,
  SchedulerClient,
  ThrottlingException,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgeScheduler } from '../../../src/aws/scheduler.js';
import { TransientInfrastructureError } from '../../../src/core/errors.js';
import { newSignature } from '../../../src/core/signature.js';

/**
 * A fault the Scheduler emulator (src/local/scheduler-emulator.ts) cannot produce, injected with
 * `aws-sdk-client-mock`: the emulator has no request rate limit, so it never answers
 * `ThrottlingException`. Everything it does answer (`ConflictException` on a create,
 * `ResourceNotFoundException` for a missing group or schedule, the UpdateSchedule replace, the
 * checks before any call) is tested against it in test/integration/delay-scheduler.test.ts.
 */
describe('Class: EventBridgeScheduler (faults the Scheduler emulator cannot produce)', () => {
  const schedulerMock = mockClient(SchedulerClient);
  afterEach(() => schedulerMock.reset());

  function adapter() {
    return new EventBridgeScheduler({
      client: new SchedulerClient({ region: 'us-east-1' }),
      groupName: 'machinery',
      roleArn: 'arn:aws:iam::123456789012:role/machinery-scheduler',
      delayQueueArn: 'arn:aws:sqs:us-east-1:123456789012:delay',
      deadLetterArn: async () => 'arn:aws:sqs:us-east-1:123456789012:scheduler-dlq',
    });
  }

  it('turns Scheduler throttling into a TransientInfrastructureError', async () => {
    // Prepare. Fault: CreateSchedule answers ThrottlingException, which the emulator never does.
    schedulerMock
      .on(CreateScheduleCommand)
      .rejects(new ThrottlingException({ $metadata: {}, message: 'x', Message: 'x' }));

    // Act
    const act = adapter().scheduleOnce(newSignature('add'), Date.parse('2031-01-01T00:00:00Z'));

    // Assess
    await expect(act).rejects.toBeInstanceOf(TransientInfrastructureError);
  });
});

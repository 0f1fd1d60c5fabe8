/**
 * `EventBridgeScheduler.listOnce` on the local Scheduler emulator: every one-time schedule of the
 * group, soonest first, with the task read from the input, from the description when the input is
 * a reference, and the UUID of a hashed schedule name; periodic schedules are left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeScheduler } from '../../src/aws/scheduler.js';
import { oneTimeScheduleName } from '../../src/core/schedule-names.js';
import { newSignature } from '../../src/core/signature.js';
import { getTestStack, type TestStack } from './support/stack.js';

describe('Class: EventBridgeScheduler (listOnce)', () => {
  let stack: TestStack;
  let scheduler: EventBridgeScheduler;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'listonce' });
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

  it('lists one-time schedules soonest first, by input, by description and by hashed name', async () => {
    // Prepare
    const base = Date.parse('2031-06-01T10:00:00Z');
    const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();
    const byInput = newSignature('add', [{ Type: 'int64', Value: 1 }], { ETA: at(60) });
    const byReference = newSignature('big', [], { ETA: at(30) });
    const hashed = { ...newSignature('odd', [], { ETA: at(90) }), UUID: 'task:with:colons' };
    await scheduler.scheduleOnce(byInput, base + 59 * 60_000);
    await scheduler.scheduleOnce(byReference, base + 29 * 60_000, { bodyByReference: true });
    await scheduler.scheduleOnce(hashed, base + 89 * 60_000);
    await scheduler.putPeriodic({
      name: 'not-listed',
      expression: 'rate(1 hour)',
      signature: newSignature('add', []),
    });

    // Act
    const listed = await scheduler.listOnce();

    // Assess
    expect(listed).toEqual([
      {
        scheduleName: oneTimeScheduleName(byReference.UUID),
        uuid: byReference.UUID,
        name: 'big',
        eta: byReference.ETA,
        fireAt: base + 29 * 60_000,
      },
      {
        scheduleName: oneTimeScheduleName(byInput.UUID),
        uuid: byInput.UUID,
        name: 'add',
        eta: byInput.ETA,
        fireAt: base + 59 * 60_000,
      },
      {
        scheduleName: oneTimeScheduleName(hashed.UUID),
        uuid: 'task:with:colons',
        name: 'odd',
        eta: hashed.ETA,
        fireAt: base + 89 * 60_000,
      },
    ]);
    expect(oneTimeScheduleName(hashed.UUID).startsWith('once.')).toBe(true);
  });
});

/**
 * The Scheduler emulator's timers with schedules far in the future: Node fires a `setTimeout`
 * longer than 2^31 − 1 ms after 1 ms (with a `TimeoutOverflowWarning`), so a timer that asked for
 * the whole wait would wake the process about 1,000 times a second. The emulator sleeps at most
 * `MAX_TIMEOUT_MS` at a time on whatever clock it is given, and counts its wake-ups
 * (`stats.timerWakeUps`).
 */
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, MAX_TIMEOUT_MS, systemClock } from '../../src/core/clock.js';
import { defineTask } from '../../src/core/registry.js';
import { formatAt } from '../../src/core/schedule-expression.js';
import { newSignature } from '../../src/core/signature.js';
import { type DelayHarness, eventually, sleep, startDelayHarness } from './delay-harness.js';
import { getTestStack, type TestStack } from './support/stack.js';

const DAY = 86_400_000;

/** Every `TimeoutOverflowWarning` the process emits while a test runs. */
const overflows: Error[] = [];
const onWarning = (warning: Error) => {
  if (warning.name === 'TimeoutOverflowWarning') overflows.push(warning);
};
process.on('warning', onWarning);
afterAll(() => {
  process.off('warning', onWarning);
});

describe('Function: startSchedulerEmulator (long timers)', () => {
  /** The system clock, recording every sleep the emulator asks of it. */
  const asked: number[] = [];
  const recordingClock: Clock = {
    now: () => systemClock.now(),
    sleep: (ms, signal) => {
      asked.push(ms);
      return systemClock.sleep(ms, signal);
    },
  };
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'schtimer', clock: recordingClock });
  });
  afterAll(() => stack.stop());
  afterEach(() => {
    overflows.length = 0;
  });

  it('asks its clock for one sleep of at most 2^31-1 ms for a schedule 30 days away, and has not woken', async () => {
    // Prepare
    const emulator = stack.scheduler;
    const fireAt = systemClock.now() + 30 * DAY;

    // Act
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        Name: 'thirty-days',
        GroupName: stack.names.scheduleGroup,
        ScheduleExpression: formatAt(fireAt),
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: stack.queueArns.delay, RoleArn: stack.schedulerRoleArn, Input: '{}' },
      }),
    );
    await eventually(() => asked.length > 0, 5_000, 'the schedule timer to sleep');
    await sleep(200);

    // Assess
    expect(asked).toEqual([MAX_TIMEOUT_MS]);
    expect(emulator?.stats).toEqual({ timerWakeUps: 0, activeTimers: 1 });
    expect(emulator?.deliveries).toEqual([]);
    expect(overflows).toEqual([]);
  });
});

describe('Function: startSchedulerEmulator (idle local stack with far ETAs)', () => {
  const noop = defineTask({ name: 'noop', run: () => 'done' });
  let h: DelayHarness;

  beforeAll(async () => {
    h = await startDelayHarness({ label: 'schidle', tasks: [noop] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('wakes at most 5 times in 10 s of real time, with no TimeoutOverflowWarning, holding tasks with ETAs 30 days out and in year 9999', async () => {
    // Prepare
    const emulator = h.stack.scheduler;
    const thirtyDays = await h.client.sendTask(
      newSignature('noop', [], { ETA: h.clock.now() + 30 * DAY }),
    );
    const year9999 = await h.client.sendTask(
      newSignature('noop', [], { ETA: '9999-12-31T23:59:59Z' }),
    );
    await eventually(() => emulator?.stats.activeTimers === 2, 5_000, 'two schedule timers');
    const before = emulator?.stats.timerWakeUps ?? Number.NaN;

    // Act
    await sleep(10_000);

    // Assess
    const wakeUps = (emulator?.stats.timerWakeUps ?? Number.NaN) - before;
    expect(wakeUps).toBeGreaterThanOrEqual(0);
    expect(wakeUps).toBeLessThanOrEqual(5);
    expect(overflows).toEqual([]);
    expect(emulator?.deliveries).toEqual([]);
    expect((await thirtyDays.getState())?.state).toBe('PENDING');
    expect((await year9999.getState())?.state).toBe('PENDING');
  });
});

import { describe, expect, it } from 'vitest';
import * as core from '../../../src/core/index.js';
import { MemoryBroker, MemoryLogger, MemoryScheduler } from '../../../src/core/memory.js';
import { newSignature } from '../../../src/core/signature.js';

describe('Class: MemoryBroker', () => {
  it('records publishes as they would arrive after the wire', async () => {
    // Prepare
    const broker = new MemoryBroker();
    const sig = newSignature('add', [{ Type: 'uint64', Value: 18446744073709551615n }]);

    // Act
    await broker.publish([{ signature: sig, deduplicationId: 'd1' }]);
    await broker.publishDelayed([{ signature: sig, delaySeconds: 900 }]);

    // Assess
    expect(broker.published).toStrictEqual([{ signature: sig, deduplicationId: 'd1' }]);
    expect(broker.published[0]?.signature).not.toBe(sig);
    expect(broker.delayed).toStrictEqual([{ signature: sig, delaySeconds: 900 }]);
  });

  it('refuses a delay SQS would refuse, and fails when told to', async () => {
    // Prepare
    const broker = new MemoryBroker();
    const sig = newSignature('add', []);
    broker.failNext('publish');

    // Act
    const tooLong = broker.publishDelayed([{ signature: sig, delaySeconds: 901 }]);
    const fraction = broker.publishDelayed([{ signature: sig, delaySeconds: 1.5 }]);
    const failed = broker.publish([{ signature: sig }]);

    // Assess
    await expect(tooLong).rejects.toThrow(RangeError);
    await expect(fraction).rejects.toThrow(RangeError);
    await expect(failed).rejects.toBeInstanceOf(core.TransientInfrastructureError);
    expect(broker.published).toHaveLength(0);
  });
});

describe('Class: MemoryScheduler', () => {
  it('keeps one-time and recurring schedules', async () => {
    // Prepare
    const scheduler = new MemoryScheduler();
    const sig = newSignature('report', []);

    // Act
    await scheduler.scheduleOnce(sig, 1000);
    await scheduler.scheduleOnce(newSignature('big', [], { UUID: 'task_big' }), 2000, {
      bodyByReference: true,
    });
    await scheduler.putPeriodic({
      name: 'nightly',
      expression: 'cron(0 3 * * ? *)',
      signature: sig,
    });
    const listed = await scheduler.listPeriodic();
    const cancelled = await scheduler.cancelOnce(sig.UUID);
    const cancelledAgain = await scheduler.cancelOnce(sig.UUID);
    const deleted = await scheduler.deletePeriodic('nightly');
    const deletedAgain = await scheduler.deletePeriodic('nightly');

    // Assess
    expect(listed).toStrictEqual([
      { name: 'nightly', expression: 'cron(0 3 * * ? *)', signature: sig },
    ]);
    expect([cancelled, cancelledAgain, deleted, deletedAgain]).toStrictEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(scheduler.once.get('task_big')).toMatchObject({ fireAt: 2000, bodyByReference: true });
  });

  it('fails when told to', async () => {
    // Prepare
    const scheduler = new MemoryScheduler();
    scheduler.failNext('listPeriodic', new Error('throttled'));

    // Act
    const listed = scheduler.listPeriodic();

    // Assess
    await expect(listed).rejects.toThrow('throttled');
    await expect(scheduler.listPeriodic()).resolves.toStrictEqual([]);
  });
});

describe('Class: MemoryLogger', () => {
  it('records entries by level', () => {
    // Prepare
    const logger = new MemoryLogger();

    // Act
    logger.debug('d');
    logger.info('i', { a: 1 });
    logger.warn('w');
    logger.error('e');

    // Assess
    expect(logger.entries.map((e) => e.level)).toStrictEqual(['debug', 'info', 'warn', 'error']);
    expect(logger.at('info')).toStrictEqual([{ level: 'info', message: 'i', fields: { a: 1 } }]);
  });
});

describe('Module: core index', () => {
  it('exports the public API from one place', () => {
    // Prepare
    const names = [
      'createProcessor',
      'createRegistry',
      'defineTask',
      'decodeSignature',
      'encodeSignature',
      'newSignature',
      'toTypedResults',
      'results',
      'RetryLaterError',
      'MemoryResultBackend',
      'dispatch',
      'taskExpiresAt',
      'systemClock',
      'DEFAULTS',
    ];

    // Act
    const missing = names.filter((n) => !(n in core));

    // Assess
    expect(missing).toStrictEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { setLongTimeout } from '../../../src/core/clock.js';
import globalSetup from '../../setup/global-timeout-overflow.js';
import {
  failOnTimeoutOverflow,
  takeTimeoutOverflowWarnings,
} from '../../setup/timeout-overflow.js';

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

describe('Function: failOnTimeoutOverflow', () => {
  it('throws when a raw setTimeout longer than 2^31-1 ms overflowed', async () => {
    // Prepare
    const timer = setTimeout(() => {}, 2 ** 31);
    clearTimeout(timer);
    await nextTick();

    // Act
    const act = () => failOnTimeoutOverflow('in this test');

    // Assess
    expect(act).toThrow(/1 TimeoutOverflowWarning\(s\) in this test/);
    expect(takeTimeoutOverflowWarnings()).toEqual([]);
  });

  it('records nothing for a setLongTimeout of 2^31 ms', async () => {
    // Prepare
    const timer = setLongTimeout(() => {}, 2 ** 31);

    // Act
    timer.clear();
    await nextTick();

    // Assess
    expect(takeTimeoutOverflowWarnings()).toEqual([]);
  });
});

describe('Function: global-timeout-overflow setup', () => {
  it('fails the teardown when the main process emitted a TimeoutOverflowWarning, and not otherwise', async () => {
    // Prepare
    const settled = (p: Promise<void>) =>
      p.then(
        () => 'resolved',
        (e: Error) => e.message,
      );
    const quiet = globalSetup();
    const noisy = globalSetup();

    // Act
    const quietOutcome = await settled(quiet());
    process.emitWarning('2147483648 does not fit into a 32-bit signed integer.', {
      type: 'TimeoutOverflowWarning',
    });
    await nextTick();
    const noisyOutcome = await settled(noisy());

    // Assess
    expect(quietOutcome).toBe('resolved');
    expect(noisyOutcome).toMatch(/^1 TimeoutOverflowWarning\(s\) in the main test process/);
    expect(takeTimeoutOverflowWarnings()).toHaveLength(1);
  });
});

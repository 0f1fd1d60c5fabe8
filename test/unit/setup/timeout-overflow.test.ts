import { describe, expect, it } from 'vitest';
import { setLongTimeout } from '../../../src/core/clock.js';
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

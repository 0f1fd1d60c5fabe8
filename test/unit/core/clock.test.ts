import { describe, expect, it } from 'vitest';
import { AdjustableClock, systemClock } from '../../../src/core/clock.js';

describe('Object: systemClock', () => {
  it('tells the wall-clock time and sleeps', async () => {
    // Prepare
    const before = Date.now();

    // Act
    await systemClock.sleep(5);
    const now = systemClock.now();

    // Assess
    expect(now).toBeGreaterThanOrEqual(before + 4);
  });

  it('rejects a sleep when its signal aborts, before or during', async () => {
    // Prepare
    const aborted = AbortSignal.abort(new Error('already'));
    const controller = new AbortController();

    // Act
    const early = systemClock.sleep(10_000, aborted);
    const during = systemClock.sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));

    // Assess
    await expect(early).rejects.toThrow('already');
    await expect(during).rejects.toThrow('stop');
  });
});

describe('Class: AdjustableClock', () => {
  it('moves forward on advance, waking sleepers whose deadline passed', async () => {
    // Prepare
    const clock = new AdjustableClock(1000);
    const start = clock.now();
    const slept = clock.sleep(20 * 60_000);

    // Act
    clock.advance(20 * 60_000);
    await slept;

    // Assess
    expect(clock.offsetMs).toBe(1000 + 20 * 60_000);
    expect(clock.now()).toBeGreaterThanOrEqual(start + 20 * 60_000);
  });

  it('refuses to go back in time', () => {
    // Prepare
    const clock = new AdjustableClock();

    // Act
    const act = () => clock.advance(-1);

    // Assess
    expect(act).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
  });

  it('rejects a sleep when its signal aborts', async () => {
    // Prepare
    const clock = new AdjustableClock();
    const controller = new AbortController();

    // Act
    const during = clock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    const early = clock.sleep(60_000, AbortSignal.abort(new Error('already')));

    // Assess
    await expect(during).rejects.toThrow('stop');
    await expect(early).rejects.toThrow('already');
  });

  it('resolves a sleep of zero at once', async () => {
    // Prepare
    const clock = new AdjustableClock();

    // Act
    const slept = clock.sleep(0);

    // Assess
    await expect(slept).resolves.toBeUndefined();
  });
});

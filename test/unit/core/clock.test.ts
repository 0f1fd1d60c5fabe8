import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AdjustableClock,
  MAX_TIMEOUT_MS,
  setLongTimeout,
  systemClock,
  type TimerFunctions,
} from '../../../src/core/clock.js';

const DAY_MS = 86_400_000;

/** Timer functions that record every delay asked for and fire only when told. */
function recordingTimers() {
  const pending = new Map<number, () => void>();
  const delays: number[] = [];
  const unrefs: number[] = [];
  let next = 0;
  const timers: TimerFunctions = {
    setTimeout(fn, ms) {
      const id = next++;
      delays.push(ms);
      pending.set(id, fn);
      return { id, unref: () => unrefs.push(id) };
    },
    clearTimeout(handle) {
      pending.delete((handle as { id: number }).id);
    },
  };
  /** Fires the one pending timer. */
  const fire = () => {
    const [[id, fn] = []] = [...pending];
    if (id === undefined || fn === undefined) throw new Error('no pending timer');
    pending.delete(id);
    fn();
  };
  return { timers, delays, unrefs, pending, fire };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Function: setLongTimeout', () => {
  it('fires a 2^31 ms timer after 2^31 ms, not after 1 ms', () => {
    // Prepare
    vi.useFakeTimers();
    let fired = 0;
    setLongTimeout(() => fired++, 2 ** 31);

    // Act
    vi.advanceTimersByTime(2 ** 31 - 1);
    const before = fired;
    vi.advanceTimersByTime(1);

    // Assess
    expect(before).toBe(0);
    expect(fired).toBe(1);
  });

  it('waits out a year-9999 delay in chunks no longer than MAX_TIMEOUT_MS, firing once', () => {
    // Prepare
    const { timers, delays, pending, fire } = recordingTimers();
    const ms = Date.UTC(9999, 11, 31) - Date.UTC(2026, 0, 1);
    let fired = 0;
    setLongTimeout(() => fired++, ms, { timers });

    // Act
    const chunks = Math.ceil(ms / MAX_TIMEOUT_MS);
    for (let i = 0; i < chunks; i++) fire();

    // Assess
    expect(fired).toBe(1);
    expect(delays).toHaveLength(chunks);
    expect(Math.max(...delays)).toBe(MAX_TIMEOUT_MS);
    expect(delays.reduce((a, b) => a + b, 0)).toBe(ms);
    expect(pending.size).toBe(0);
  });

  it('never fires when cleared between chunks', () => {
    // Prepare
    const { timers, delays, pending, fire } = recordingTimers();
    let fired = 0;
    const timer = setLongTimeout(() => fired++, 30 * DAY_MS, { timers });
    fire(); // the first 24.8 days

    // Act
    timer.clear();
    timer.clear();

    // Assess
    expect(delays).toEqual([MAX_TIMEOUT_MS, 30 * DAY_MS - MAX_TIMEOUT_MS]);
    expect(pending.size).toBe(0);
    expect(fired).toBe(0);
  });

  it('unrefs every chunk when ref is false, and none by default', () => {
    // Prepare
    const unrefd = recordingTimers();
    const refd = recordingTimers();

    // Act
    setLongTimeout(() => {}, 30 * DAY_MS, { timers: unrefd.timers, ref: false });
    unrefd.fire();
    setLongTimeout(() => {}, 30 * DAY_MS, { timers: refd.timers });
    refd.fire();

    // Assess
    expect(unrefd.unrefs).toEqual([0, 1]);
    expect(refd.unrefs).toEqual([]);
  });

  it('fires as soon as possible when ms is negative or NaN', () => {
    // Prepare
    const { timers, delays, fire } = recordingTimers();
    let fired = 0;

    // Act
    setLongTimeout(() => fired++, -5, { timers });
    fire();
    setLongTimeout(() => fired++, Number.NaN, { timers });
    fire();

    // Assess
    expect(delays).toEqual([0, 0]);
    expect(fired).toBe(2);
  });

  it('keeps waiting in MAX_TIMEOUT_MS chunks when ms is Infinity', () => {
    // Prepare
    const { timers, delays, fire } = recordingTimers();
    let fired = 0;
    setLongTimeout(() => fired++, Number.POSITIVE_INFINITY, { timers });

    // Act
    for (let i = 0; i < 3; i++) fire();

    // Assess
    expect(delays).toEqual([MAX_TIMEOUT_MS, MAX_TIMEOUT_MS, MAX_TIMEOUT_MS, MAX_TIMEOUT_MS]);
    expect(fired).toBe(0);
  });
});

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

  it('sleeps 30 days for 30 days, not 1 ms', async () => {
    // Prepare
    vi.useFakeTimers();
    let done = false;
    const slept = systemClock.sleep(30 * DAY_MS).then(() => {
      done = true;
    });

    // Act
    await vi.advanceTimersByTimeAsync(30 * DAY_MS - 1);
    const early = done;
    await vi.advanceTimersByTimeAsync(1);
    await slept;

    // Assess
    expect(early).toBe(false);
    expect(done).toBe(true);
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

  it('sleeps 30 days of wall-clock time without waking early', async () => {
    // Prepare
    vi.useFakeTimers();
    const clock = new AdjustableClock();
    const start = clock.now();
    let done = false;
    const slept = clock.sleep(30 * DAY_MS).then(() => {
      done = true;
    });

    // Act
    await vi.advanceTimersByTimeAsync(MAX_TIMEOUT_MS + 1);
    const early = done;
    await vi.advanceTimersByTimeAsync(30 * DAY_MS - MAX_TIMEOUT_MS - 1);
    await slept;

    // Assess
    expect(early).toBe(false);
    expect(done).toBe(true);
    expect(clock.now()).toBeGreaterThanOrEqual(start + 30 * DAY_MS);
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

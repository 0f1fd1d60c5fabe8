import { describe, expect, it } from 'vitest';
import {
  ResultTooLargeError,
  TaskTimeoutError,
  UnsupportedResultError,
} from '../../../src/core/errors.js';
import {
  decideRetry,
  fibonacci,
  fibonacciNext,
  RetryLaterError,
  retryDelaySeconds,
} from '../../../src/core/retry.js';

describe('Function: fibonacci', () => {
  it('returns successive Fibonacci numbers starting from 1 (machinery TestFibonacci)', () => {
    // Prepare
    const next = fibonacci();

    // Act
    const sequence = [next(), next(), next(), next(), next(), next()];

    // Assess
    expect(sequence).toStrictEqual([1, 1, 2, 3, 5, 8]);
  });
});

describe('Function: fibonacciNext', () => {
  it('returns the next Fibonacci number greater than start (machinery TestFibonacciNext)', () => {
    // Prepare
    const starts = [0, 1, 3, 4, 5, 8];

    // Act
    const next = starts.map(fibonacciNext);

    // Assess
    expect(next).toStrictEqual([1, 2, 5, 5, 8, 13]);
  });
});

describe('Function: retryDelaySeconds', () => {
  it('waits 1, 2, 3, 5, 8 … seconds from RetryTimeout 0, like machinery', () => {
    // Prepare
    const retries = [1, 2, 3, 4, 5, 6];

    // Act
    const delays = retries.map((k) => retryDelaySeconds(0, k));

    // Assess
    expect(delays).toStrictEqual([1, 2, 3, 5, 8, 13]);
    expect(retryDelaySeconds(10, 1)).toBe(13);
    expect(retryDelaySeconds(10, 2)).toBe(21);
    expect(retryDelaySeconds(-5, 1)).toBe(1);
  });
});

describe('Function: decideRetry', () => {
  it('retries while retries remain, with the Fibonacci delay of the next retry number', () => {
    // Prepare
    const sig = { RetryCount: 3, RetryTimeout: 0 };
    const oops = new Error('oops');

    // Act
    const decisions = [0, 1, 2, 3].map((used) => decideRetry(sig, used, oops));

    // Assess
    expect(decisions).toStrictEqual([
      { retry: true, delayMs: 1000, retryNumber: 1, limit: 3 },
      { retry: true, delayMs: 2000, retryNumber: 2, limit: 3 },
      { retry: true, delayMs: 3000, retryNumber: 3, limit: 3 },
      { retry: false, limit: 3 },
    ]);
  });

  it('never retries a task with RetryCount 0 that throws an ordinary error', () => {
    // Prepare
    const sig = { RetryCount: 0, RetryTimeout: 5 };

    // Act
    const decision = decideRetry(sig, 0, new TaskTimeoutError());

    // Assess
    expect(decision).toStrictEqual({ retry: false, limit: 0 });
  });

  it('counts RetryLaterError against RetryCount, with its own delay', () => {
    // Prepare
    const sig = { RetryCount: 2, RetryTimeout: 0 };
    const later = new RetryLaterError(4000, 'not yet');

    // Act
    const first = decideRetry(sig, 0, later);
    const last = decideRetry(sig, 2, later);

    // Assess
    expect(first).toStrictEqual({ retry: true, delayMs: 4000, retryNumber: 1, limit: 2 });
    expect(last).toStrictEqual({ retry: false, limit: 2 });
    expect(later.message).toBe('not yet');
    expect(later.code).toBe('RETRY_LATER');
  });

  it('caps RetryLaterError at the default cap when RetryCount is 0 (machinery loops forever)', () => {
    // Prepare
    const sig = { RetryCount: 0, RetryTimeout: 0 };
    const later = new RetryLaterError(10);

    // Act
    const ninth = decideRetry(sig, 9, later);
    const tenth = decideRetry(sig, 10, later);
    const custom = decideRetry(sig, 2, later, { retryLaterCap: 2 });

    // Assess
    expect(ninth).toMatchObject({ retry: true, retryNumber: 10, limit: 10 });
    expect(tenth).toStrictEqual({ retry: false, limit: 10 });
    expect(custom).toStrictEqual({ retry: false, limit: 2 });
    expect(later.message).toBe('retry in 10 ms');
  });

  it('never retries an unsupported result', () => {
    // Prepare
    const sig = { RetryCount: 5, RetryTimeout: 0 };

    // Act
    const decision = decideRetry(sig, 0, new UnsupportedResultError('bad'));

    // Assess
    expect(decision.retry).toBe(false);
  });

  it('never retries results too large to store or send', () => {
    // Prepare
    const sig = { RetryCount: 5, RetryTimeout: 0 };

    // Act
    const decision = decideRetry(sig, 0, new ResultTooLargeError('500000 bytes'));

    // Assess
    expect(decision).toStrictEqual({ retry: false, limit: 0 });
  });

  it('refuses a negative or non-finite RetryLaterError delay', () => {
    // Prepare
    const bad = [-1, Number.NaN, Number.POSITIVE_INFINITY];

    // Act
    const acts = bad.map((ms) => () => new RetryLaterError(ms));

    // Assess
    for (const act of acts) expect(act).toThrow(RangeError);
  });
});

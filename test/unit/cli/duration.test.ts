import { describe, expect, it } from 'vitest';
import { formatDuration, parseTimeout } from '../../../src/cli/duration.js';
import { UsageError } from '../../../src/cli/errors.js';

describe('Function: parseTimeout', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['30', 30_000],
    ['0.25', 250],
  ])('reads %s as %i ms', (text, ms) => {
    // Act
    const parsed = parseTimeout(text);

    // Assess
    expect(parsed).toBe(ms);
  });

  it.each(['', 'soon', '30 s', '-5s', '5x', 's'])('refuses %j with a UsageError', (text) => {
    // Act
    const act = () => parseTimeout(text);

    // Assess
    expect(act).toThrow(UsageError);
  });

  it('names the flag in the message', () => {
    // Act
    const act = () => parseTimeout('later', '--poll');

    // Assess
    expect(act).toThrow(/--poll 'later'/);
  });
});

describe('Function: formatDuration', () => {
  it.each([
    [0, '0ms'],
    [500, '500ms'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [3_661_001, '1h1m1s1ms'],
  ])('formats %i ms as %s', (ms, text) => {
    // Act
    const formatted = formatDuration(ms);

    // Assess
    expect(formatted).toBe(text);
  });

  it('round-trips through parseTimeout', () => {
    // Act
    const ms = parseTimeout(formatDuration(5_430_250));

    // Assess
    expect(ms).toBe(5_430_250);
  });
});

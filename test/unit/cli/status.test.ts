import { describe, expect, it } from 'vitest';
import { checkUuid } from '../../../src/cli/commands/status.js';
import { UsageError } from '../../../src/cli/errors.js';
import { runCli } from '../../../src/cli/main.js';
import { DEFAULTS, ENV } from '../../../src/core/resources.js';
import { fakeIO, localValues } from '../support/settings.js';

/** A valid configuration whose endpoints nothing listens on: any AWS call would fail (exit 1). */
const UNREACHABLE_ENV = {
  ...localValues(),
  [ENV.endpointSqs]: 'http://127.0.0.1:9',
  [ENV.endpointDynamodb]: 'http://127.0.0.1:9',
};

describe('Command: machinery status', () => {
  it.each([
    ['an empty UUID', '', /the task UUID is empty/],
    ['a blank UUID', '  \t', /the task UUID is empty/],
    [
      'an over-long UUID',
      `task_${'x'.repeat(DEFAULTS.maxUuidLength)}`,
      new RegExp(
        `is ${DEFAULTS.maxUuidLength + 5} characters long; .* at most ${DEFAULTS.maxUuidLength}`,
      ),
    ],
  ])('exits 2 for %s, before any AWS call', async (_what, uuid, message) => {
    // Prepare
    const io = fakeIO(UNREACHABLE_ENV);

    // Act
    const code = await runCli(['status', uuid], io);

    // Assess
    expect(code).toBe(2);
    expect(io.out).toEqual([]);
    expect(io.err.join('')).toMatch(message);
    expect(io.err.join('')).not.toMatch(/could not be reached/);
  });
});

describe('Function: checkUuid', () => {
  it('accepts a UUID of the longest length a task may have', () => {
    // Act & Assess
    expect(() => checkUuid('t'.repeat(DEFAULTS.maxUuidLength))).not.toThrow();
    expect(() => checkUuid('')).toThrow(UsageError);
  });
});

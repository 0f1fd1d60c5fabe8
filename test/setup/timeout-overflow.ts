/**
 * Test setup (every project): a `TimeoutOverflowWarning` fails the test run. Node emits one when a
 * `setTimeout`/`setInterval` is asked for more than 2^31 − 1 ms and fires it after 1 ms instead;
 * timers of any length go through `setLongTimeout` (src/core/clock.ts).
 *
 * Each warning is recorded; the `afterEach` of the test during which it was emitted throws, and an
 * `afterAll` throws for one emitted between tests. {@link takeTimeoutOverflowWarnings} lets a test
 * that provokes one on purpose take it out of the record.
 *
 * @module
 */
import { afterAll, afterEach } from 'vitest';

const STATE = Symbol.for('machinery-serverless.test.timeout-overflow');

interface TrapState {
  warnings: Error[];
}

function state(): TrapState {
  const holder = globalThis as unknown as Record<symbol, TrapState | undefined>;
  let current = holder[STATE];
  if (current === undefined) {
    current = { warnings: [] };
    holder[STATE] = current;
    const recorded = current;
    process.on('warning', (warning) => {
      if (warning.name === 'TimeoutOverflowWarning') recorded.warnings.push(warning);
    });
  }
  return current;
}

/**
 * Removes and returns the `TimeoutOverflowWarning`s recorded so far (Node emits a warning on the
 * next tick: let one pass before taking).
 *
 * @example
 * ```ts
 * const timer = setTimeout(() => {}, 2 ** 31);
 * clearTimeout(timer);
 * await new Promise((r) => setImmediate(r));
 * expect(takeTimeoutOverflowWarnings()).toHaveLength(1);
 * ```
 */
export function takeTimeoutOverflowWarnings(): Error[] {
  return state().warnings.splice(0);
}

/**
 * Throws when a `TimeoutOverflowWarning` was recorded and not taken.
 *
 * @example
 * ```ts
 * afterEach(() => failOnTimeoutOverflow('during this test'));
 * ```
 */
export function failOnTimeoutOverflow(when: string): void {
  const warnings = takeTimeoutOverflowWarnings();
  if (warnings.length === 0) return;
  throw new Error(
    `${warnings.length} TimeoutOverflowWarning(s) ${when}: a timer longer than 2^31-1 ms fired after 1 ms; use setLongTimeout. First: ${warnings[0]?.message}`,
  );
}

state();

afterEach(async () => {
  // process.emitWarning delivers on the next tick
  await new Promise((resolve) => setImmediate(resolve));
  failOnTimeoutOverflow('during this test');
});

afterAll(async () => {
  await new Promise((resolve) => setImmediate(resolve));
  failOnTimeoutOverflow('in this file, outside a test');
});

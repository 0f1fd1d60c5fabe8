/**
 * Global setup (integration project): the emulators started by the integration global setup run
 * in vitest's main process, where per-file setup files do not reach. A `TimeoutOverflowWarning`
 * emitted there fails the run at teardown.
 *
 * @module
 */
import type { TestProject } from 'vitest/node';

/**
 * Records `TimeoutOverflowWarning`s of the main process; the returned teardown throws when any was
 * recorded.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * globalSetup: ['test/setup/global-timeout-overflow.ts', 'test/integration/global-setup.ts'],
 * ```
 */
export default function setup(_project?: TestProject): () => Promise<void> {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => {
    if (warning.name === 'TimeoutOverflowWarning') warnings.push(warning);
  };
  process.on('warning', onWarning);
  return async () => {
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    if (warnings.length > 0) {
      throw new Error(
        `${warnings.length} TimeoutOverflowWarning(s) in the main test process (emulators): a timer longer than 2^31-1 ms fired after 1 ms; use setLongTimeout. First: ${warnings[0]?.message}`,
      );
    }
  };
}

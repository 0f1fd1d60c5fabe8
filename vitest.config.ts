import { defineConfig } from 'vitest/config';

/**
 * Five projects: `unit` (pure logic, no network), `cdk` (template assertions and cdk-nag on the
 * synthesized stack, offline), `integration` (real emulators over HTTP, started once per run by
 * `test/integration/global-setup.ts`), `console` (the web console over HTTP and in Debian's
 * chromium driven by playwright-core, on the same emulators) and `package` (the packed tarball installed and used in a
 * fresh project; dependencies from the npm registry through the local cache). Coverage of
 * `src/core` is enforced. A `TimeoutOverflowWarning` fails every project (`test/setup/`).
 */
export default defineConfig({
  test: {
    coverage: {
      provider: 'v8',
      include: ['src/core/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { 'src/core/**/*.ts': { lines: 90 } },
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/setup/timeout-overflow.ts'],
        },
      },
      {
        test: {
          name: 'cdk',
          include: ['test/cdk/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/setup/timeout-overflow.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/setup/timeout-overflow.ts'],
          globalSetup: [
            'test/setup/global-timeout-overflow.ts',
            'test/integration/global-setup.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: true,
        },
      },
      {
        test: {
          name: 'console',
          include: ['test/console/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/setup/timeout-overflow.ts'],
          globalSetup: [
            'test/setup/global-timeout-overflow.ts',
            'test/integration/global-setup.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/setup/timeout-overflow.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});

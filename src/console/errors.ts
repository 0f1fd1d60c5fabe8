/**
 * Errors of the web console (`src/console/server.ts`). Each carries a stable `code` and the HTTP
 * status the console answers with; the page shows the message as one plain sentence.
 *
 * @module
 */
import { MachineryError } from '../core/errors.js';

/**
 * A request the console refuses or cannot answer, with the HTTP status it answers.
 *
 * @example
 * ```ts
 * throw new ConsoleRequestError('CONSOLE_NOT_FOUND', 'no such page', 404);
 * ```
 */
export class ConsoleRequestError extends MachineryError {
  /** The HTTP status of the answer. */
  readonly status: number;

  constructor(code: string, message: string, status: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

/**
 * A request refused for safety: a foreign `Host` or `Origin` (DNS rebinding, another site), a
 * POST without the session's token, or an action on a read-only console (HTTP 403).
 *
 * @example
 * ```ts
 * throw new ConsoleForbiddenError('CONSOLE_READ_ONLY', 'the console is read-only');
 * ```
 */
export class ConsoleForbiddenError extends ConsoleRequestError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 403, options);
  }
}

/**
 * The static files of the page (`src/console/ui/`, copied beside the built module by `npm run
 * build`) were not found.
 *
 * @example
 * ```ts
 * throw new ConsoleAssetsMissingError('/opt/app/node_modules/machinery-serverless/dist/src/console/ui');
 * ```
 */
export class ConsoleAssetsMissingError extends MachineryError {
  constructor(where: string, options?: { cause?: unknown }) {
    super(
      'CONSOLE_ASSETS_MISSING',
      `the console's page files are missing (looked in ${where})`,
      options,
    );
  }
}

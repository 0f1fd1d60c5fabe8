/**
 * Errors of the core layer. Every class ends in `Error`, carries a stable `code` (safe to match
 * on, written to logs and task state) and, where it wraps another error, its `cause`.
 *
 * Adapters (`src/aws`) translate AWS SDK exceptions into these at their edge, so core never sees
 * an `@aws-sdk` type.
 *
 * @module
 */

/**
 * Base class of every machinery-serverless error.
 *
 * @example
 * ```ts
 * try { await run(); } catch (e) { if (e instanceof MachineryError) console.error(e.code); }
 * ```
 */
export class MachineryError extends Error {
  /** Stable, machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A temporary infrastructure failure (throttling, a timeout, a 5xx talking to AWS). The worker
 * returns the record as a batch item failure: it does not consume one of the task's retries and
 * never dead-letters a healthy task.
 *
 * @example
 * ```ts
 * throw new TransientInfrastructureError('DynamoDB throttled UpdateItem', { cause: err });
 * ```
 */
export class TransientInfrastructureError extends MachineryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRANSIENT_INFRASTRUCTURE', message, options);
  }
}

/**
 * A permanent infrastructure failure (missing queue or table, access denied, no credentials,
 * endpoint unreachable after retries). `reason` is one plain sentence for people.
 *
 * @example
 * ```ts
 * throw new InfrastructureError('MISSING_QUEUE', 'the queue tasks.fifo does not exist', { cause: err });
 * ```
 */
export class InfrastructureError extends MachineryError {}

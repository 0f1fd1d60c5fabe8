/**
 * Errors of the SDK client. Each has a stable `code`.
 *
 * @module
 */
import { MachineryError } from '../core/errors.js';

/**
 * The task ended in FAILURE: `AsyncResult.get()` rejects with this. `taskError` is the task's
 * stored error message (`'revoked'` for a cancelled task).
 *
 * @example
 * ```ts
 * try { await result.get(); } catch (e) { if (e instanceof TaskFailedError) console.error(e.taskError); }
 * ```
 */
export class TaskFailedError extends MachineryError {
  /** The task's UUID. */
  readonly uuid: string;
  /** The error the task failed with, as stored. */
  readonly taskError: string;
  /** Set when the task was dead-lettered (`undecodable`, `crash-loop`…). */
  readonly deadLetterReason: string | null;

  constructor(uuid: string, taskError: string, deadLetterReason: string | null = null) {
    super('TASK_FAILED', `task ${uuid} failed: ${taskError}`);
    this.uuid = uuid;
    this.taskError = taskError;
    this.deadLetterReason = deadLetterReason;
  }
}

/**
 * `AsyncResult.get()` gave up waiting: the task had not finished within `timeoutMs`. The task
 * itself may still finish later. (Named apart from core's `TaskTimeoutError`, which means a task
 * ran out of time inside the worker.)
 *
 * @example
 * ```ts
 * try { await result.get({ timeoutMs: 5_000 }); }
 * catch (e) { if (e instanceof ResultTimeoutError) console.error(e.lastState); }
 * ```
 */
export class ResultTimeoutError extends MachineryError {
  /** The task's UUID. */
  readonly uuid: string;
  /** How long `get` waited, ms. */
  readonly timeoutMs: number;
  /** The last state read, `undefined` when no state was found. */
  readonly lastState: string | undefined;

  constructor(uuid: string, timeoutMs: number, lastState: string | undefined) {
    super(
      'RESULT_TIMEOUT',
      `task ${uuid} did not finish within ${timeoutMs} ms (last state: ${lastState ?? 'none recorded'})`,
    );
    this.uuid = uuid;
    this.timeoutMs = timeoutMs;
    this.lastState = lastState;
  }
}

/**
 * A dead-letter queue redrive did not start or did not finish: a message move task already runs
 * on the queue (`MOVE_TASK_RUNNING`), the move task failed (`MOVE_TASK_FAILED`), or some messages
 * could not be sent back (`REDRIVE_INCOMPLETE`: they stay in the DLQ; running the redrive again
 * is safe).
 *
 * @example
 * ```ts
 * try { await dlqs.redrive({ queue: 'task' }); }
 * catch (e) { if (e instanceof RedriveError && e.code === 'MOVE_TASK_RUNNING') console.error(e.message); }
 * ```
 */
export class RedriveError extends MachineryError {
  constructor(
    code: 'MOVE_TASK_RUNNING' | 'MOVE_TASK_FAILED' | 'REDRIVE_INCOMPLETE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * A chain, group or chord ended in FAILURE: the `get()` of its handle rejects with this, naming
 * the task that failed (`failedUUID`: a chain's step, a group's member, a chord's member or
 * callback) and its error. `code` is `WORKFLOW_FAILED`.
 *
 * @example
 * ```ts
 * try { await chain.get(); }
 * catch (e) { if (e instanceof WorkflowFailedError) console.error(e.failedUUID, e.taskError); }
 * ```
 */
export class WorkflowFailedError extends MachineryError {
  /** The workflow: a chain's last step UUID, a group's or chord's `GroupUUID`. */
  readonly uuid: string;
  readonly kind: 'chain' | 'group' | 'chord';
  /** The task that failed, `null` when none is named (a chord that expired). */
  readonly failedUUID: string | null;
  /** Its position: a chain's step or a group's member index (0-based), `null` for a callback or when unknown. */
  readonly index: number | null;
  /** The error the task (or the chord) failed with, as stored. */
  readonly taskError: string;
  /** Set when the failed task was dead-lettered. */
  readonly deadLetterReason: string | null;

  constructor(details: {
    uuid: string;
    kind: 'chain' | 'group' | 'chord';
    failedUUID: string | null;
    index: number | null;
    /** What failed, in words: `step 2 of 3`, `member 4`, `callback`. */
    what: string;
    taskError: string;
    deadLetterReason?: string | null;
  }) {
    const task = details.failedUUID === null ? '' : ` (task ${details.failedUUID})`;
    super(
      'WORKFLOW_FAILED',
      `${details.kind} ${details.uuid} failed at ${details.what}${task}: ${details.taskError}`,
    );
    this.uuid = details.uuid;
    this.kind = details.kind;
    this.failedUUID = details.failedUUID;
    this.index = details.index;
    this.taskError = details.taskError;
    this.deadLetterReason = details.deadLetterReason ?? null;
  }
}

/**
 * A workflow that cannot be sent as asked: no member, an option that does not apply, no group
 * table configured. Thrown before anything is written. `code` is `INVALID_WORKFLOW`.
 *
 * @example
 * ```ts
 * try { await client.sendGroup([]); } catch (e) { if (e instanceof InvalidWorkflowError) console.error(e.message); }
 * ```
 */
export class InvalidWorkflowError extends MachineryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_WORKFLOW', message, options);
  }
}

/**
 * Cancelling a task that has not started (machinery has no equivalent; Celery calls it *revoke*).
 *
 * `cancel(uuid)` writes the task FAILURE with error `'revoked'` when it is PENDING, RETRY or
 * unknown (a conditional write: a task a worker has already claimed is not touched), then deletes
 * its one-time schedule, if any. Its message may still be on the delay queue or the task queue:
 * the forwarder drops a revoked task (logged, never forwarded) and the worker's claim finds it
 * finished and acknowledges it without running it.
 *
 * What cancel cannot do: stop an attempt that is running (STARTED), nor undo a finished task. A
 * task waiting for a retry (RETRY) *is* cancelled: its next attempt never runs.
 *
 * @module
 */
import { type Clock, systemClock } from '../core/clock.js';
import { taskExpiresAt } from '../core/lifetime.js';
import type { ResultBackend, Scheduler } from '../core/ports.js';
import type { TaskState } from '../core/types.js';

/**
 * What {@link cancel} needs: the result backend, and the scheduler when tasks may have ETAs more
 * than 15 minutes away.
 *
 * @example
 * ```ts
 * const deps: CancelDeps = { backend, scheduler };
 * ```
 */
export interface CancelDeps {
  backend: ResultBackend;
  /** Deletes the task's one-time schedule; without it a far-ETA schedule still fires (and is dropped). */
  scheduler?: Scheduler;
  /** @default systemClock */
  clock?: Clock;
}

/**
 * The result of {@link cancel}.
 *
 * - `revoked: true`: the task will not run. `alreadyRevoked` when an earlier cancel did it;
 *   `scheduleDeleted` when a one-time schedule was found and deleted.
 * - `revoked: false`: the task's `state` blocked it (`RECEIVED` / `STARTED`: an attempt is
 *   running; `SUCCESS` / `FAILURE`: it has finished).
 *
 * @example
 * ```ts
 * const r: CancelResult = { revoked: false, state: 'STARTED' };
 * ```
 */
export type CancelResult =
  | { revoked: true; alreadyRevoked: boolean; scheduleDeleted: boolean }
  | { revoked: false; state: TaskState };

/**
 * Revokes a task that has not started. The revoked state lives as long as any message for the
 * task can (task-queue plus DLQ retention), so a late delivery is still recognised.
 *
 * Order: the state is written first, the schedule deleted second, so a failure in between leaves
 * a task that is revoked (dropped when its schedule fires) rather than one that runs. Calling
 * `cancel` again is safe.
 *
 * @example
 * ```ts
 * const r = await cancel(asyncResult.uuid, { backend, scheduler });
 * if (!r.revoked) console.log(`too late: the task is ${r.state}`);
 * ```
 */
export async function cancel(uuid: string, deps: CancelDeps): Promise<CancelResult> {
  const clock = deps.clock ?? systemClock;
  const now = clock.now();
  const found = await deps.backend.revoke(uuid, {
    now,
    expiresAt: taskExpiresAt({ now, eta: null }),
  });
  let alreadyRevoked = false;
  if (found !== 'revoked') {
    if (found !== 'FAILURE') return { revoked: false, state: found };
    const record = await deps.backend.get(uuid, { now: clock.now() });
    if (record?.error !== 'revoked') return { revoked: false, state: found };
    alreadyRevoked = true;
  }
  const scheduleDeleted =
    deps.scheduler === undefined ? false : await deps.scheduler.cancelOnce(uuid);
  return { revoked: true, alreadyRevoked, scheduleDeleted };
}

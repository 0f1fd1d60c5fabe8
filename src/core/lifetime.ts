/**
 * How long a task's state item lives: at least as long as a message for it can still
 * be delivered, whatever `ResultsExpireIn` says, so duplicate detection never forgets.
 *
 * @module
 */
import { DEFAULTS, QUEUES } from './resources.js';

/**
 * Longest time a message can exist after its due time: task-queue retention plus DLQ retention
 * (a dead-lettered message can be redriven until the DLQ drops it).
 */
export const MAX_MESSAGE_LIFETIME_MS =
  (QUEUES.tasks.retentionSeconds + QUEUES.tasksDlq.retentionSeconds) * 1000;

/**
 * When a task's state item may expire (epoch ms): `max(now + resultsExpireIn, dueAt + task-queue
 * retention + DLQ retention)`, where `dueAt` is the ETA (or now).
 *
 * @example
 * ```ts
 * const expiresAt = taskExpiresAt({ now: Date.now(), eta: null });
 * ```
 */
export function taskExpiresAt(options: {
  now: number;
  eta: number | null;
  /** machinery's `ResultsExpireIn`. @default DEFAULTS.resultsExpireInSeconds (3600) */
  resultsExpireInSeconds?: number;
}): number {
  const results = (options.resultsExpireInSeconds ?? DEFAULTS.resultsExpireInSeconds) * 1000;
  const dueAt = Math.max(options.now, options.eta ?? options.now);
  return Math.max(options.now + results, dueAt + MAX_MESSAGE_LIFETIME_MS);
}

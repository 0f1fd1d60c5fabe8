/**
 * The tasks module of the lane robustness tests (`machinery worker` subprocesses): `lane_nap(ms)`
 * (declared idempotent, so every lane may send it) appends `start <uuid> <attempt>` to the file
 * `POLLER_RUNS_FILE` names, sleeps `ms`, then appends `end <uuid> <attempt>`, so the parent counts
 * every start and end of each worker process.
 *
 * @module
 */
import { appendFileSync } from 'node:fs';
import { defineTask } from '../../../src/core/registry.js';

function note(line: string): void {
  const file = process.env.POLLER_RUNS_FILE;
  if (file !== undefined) appendFileSync(file, `${line}\n`);
}

/**
 * Sleeps `ms` between its two notes; returns `ms`.
 *
 * @example
 * ```ts
 * await client.sendTask(newSignature('lane_nap', [{ Type: 'int64', Value: 20 }]), { lane: 'lean' });
 * ```
 */
export const laneNap = defineTask({
  name: 'lane_nap',
  args: ['int64'],
  lane: 'idempotent',
  run: async (ctx, ms) => {
    note(`start ${ctx.uuid} ${ctx.attempt}`);
    await new Promise((r) => setTimeout(r, ms));
    note(`end ${ctx.uuid} ${ctx.attempt}`);
    return ms;
  },
});

export const tasks = [laneNap];

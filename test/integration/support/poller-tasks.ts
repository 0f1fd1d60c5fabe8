/**
 * The tasks module of the `machinery worker` subprocess tests: `nap(ms)` appends `start <uuid>
 * <attempt>` to the file `POLLER_RUNS_FILE` names, sleeps `ms`, then appends `end <uuid>
 * <attempt>`, so the parent counts every start and end across worker processes. A negative `ms`
 * fails the task.
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
 * Sleeps `ms` between its two notes.
 *
 * @example
 * ```ts
 * await client.sendTask(newSignature('nap', [{ Type: 'int64', Value: 2000 }]));
 * ```
 */
export const nap = defineTask({
  name: 'nap',
  args: ['int64'],
  run: async (ctx, ms) => {
    note(`start ${ctx.uuid} ${ctx.attempt}`);
    if (ms < 0) throw new Error('nap: a negative time');
    await new Promise((r) => setTimeout(r, ms));
    note(`end ${ctx.uuid} ${ctx.attempt}`);
    return ms;
  },
});

export const tasks = [nap];

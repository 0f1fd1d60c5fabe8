/**
 * `machinery cancel <uuid> [--json] [--local | --stack NAME]`: revokes a task that has not started
 * (the SDK's `cancel`, `src/client/cancel.ts`): its state becomes FAILURE with error `revoked`
 * and its one-time schedule (an ETA more than 15 minutes away), if any, is deleted.
 *
 * - Revoked (now or by an earlier cancel): exit 0; prints `revoked` (or `already revoked`), or with
 *   `--json` `{"uuid","revoked":true,"alreadyRevoked","scheduleDeleted"}`.
 * - Too late (an attempt is running, or the task finished): exit 1, the state on stderr; with
 *   `--json` stdout still gets `{"uuid","revoked":false,"state"}`.
 * - A UUID no task has yet is revoked all the same: a task sent later under it never runs.
 *
 * @module
 */
import { cancel as cancelTask } from '../../client/cancel.js';
import { connect } from '../clients.js';
import { resolveCliConfig, type SourceFlags } from '../config.js';
import { EXIT } from '../errors.js';
import type { CliIO } from '../main.js';
import { checkUuid } from './status.js';

/**
 * Options of `machinery cancel`.
 *
 * @example
 * ```ts
 * const opts: CancelOptions = { json: true, local: true };
 * ```
 */
export interface CancelOptions extends SourceFlags {
  json?: boolean;
}

/**
 * Runs `machinery cancel`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await cancel('task_…', { json: true }, io);
 * ```
 */
export async function cancel(uuid: string, opts: CancelOptions, io: CliIO): Promise<number> {
  checkUuid(uuid, 'cancel');
  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const { client, scheduler, close } = connect(config);
  try {
    const result = await cancelTask(uuid, {
      backend: client.backend,
      ...(scheduler === undefined ? {} : { scheduler }),
    });
    if (opts.json) io.stdout(`${JSON.stringify({ uuid, ...result })}\n`);
    if (!result.revoked) {
      io.stderr(
        `machinery: task ${uuid} is ${result.state}: too late to cancel (${
          result.state === 'SUCCESS' || result.state === 'FAILURE'
            ? 'it has finished'
            : 'an attempt is running'
        })\n`,
      );
      return EXIT.failure;
    }
    if (!opts.json) io.stdout(result.alreadyRevoked ? 'already revoked\n' : 'revoked\n');
    return EXIT.ok;
  } finally {
    close();
  }
}

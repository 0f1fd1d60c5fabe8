/**
 * `machinery status <uuid> [--json] [--local | --stack NAME]`: exit 0 whenever the task is found, whatever its
 * state; an unknown or expired UUID exits 1. A `group_…` UUID shows the progress of that group or
 * chord instead (`groupStatusJson`: members done, failed, waited on, the callback). An empty or
 * over-long UUID is a usage error (exit 2),
 * refused before any configuration or network access.
 *
 * @module
 */

import { DEFAULTS } from '../../core/resources.js';
import { connect } from '../clients.js';
import { resolveCliConfig } from '../config.js';
import { EXIT, OperationError, UsageError } from '../errors.js';
import type { CliIO, StatusOptions } from '../main.js';
import { formatGroupStatus, formatStatus, groupStatusJson, statusJson } from '../output.js';

/** The prefix of a group's UUID (`newGroupUUID`): `status` shows a group's or chord's progress for it. */
const GROUP_PREFIX = 'group_';

/**
 * Runs `machinery status`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await status('task_…', { json: true }, io);
 * ```
 */
export async function status(uuid: string, opts: StatusOptions, io: CliIO): Promise<number> {
  checkUuid(uuid);
  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const { client, close } = connect(config);
  try {
    if (uuid.startsWith(GROUP_PREFIX)) {
      const progress = await client.workflowState(uuid);
      if (progress === undefined || progress.kind === 'chain') {
        throw new OperationError(
          'GROUP_NOT_FOUND',
          `no group ${uuid}: the UUID is unknown, or its records expired`,
        );
      }
      io.stdout(
        opts.json ? `${JSON.stringify(groupStatusJson(progress))}\n` : formatGroupStatus(progress),
      );
      return EXIT.ok;
    }
    const record = await client.getState(uuid);
    if (record === undefined) {
      throw new OperationError(
        'TASK_NOT_FOUND',
        `no task ${uuid}: the UUID is unknown, its result expired, or it is queued without a record yet (the lean and idempotent lanes write none before the task starts)`,
      );
    }
    io.stdout(opts.json ? `${JSON.stringify(statusJson(record))}\n` : formatStatus(record));
    return EXIT.ok;
  } finally {
    close();
  }
}

/**
 * Refuses a UUID no task can have: empty or blank, or longer than `DEFAULTS.maxUuidLength`.
 *
 * @param command names the command in the message. @default 'status'
 *
 * @example
 * ```ts
 * checkUuid(''); // throws UsageError
 * ```
 */
export function checkUuid(uuid: string, command = 'status'): void {
  if (uuid.trim() === '') {
    throw new UsageError(
      `${command}: the task UUID is empty: pass the UUID \`machinery send\` printed`,
    );
  }
  if (uuid.length > DEFAULTS.maxUuidLength) {
    throw new UsageError(
      `${command}: the task UUID is ${uuid.length} characters long; a task UUID has at most ${DEFAULTS.maxUuidLength}`,
    );
  }
}

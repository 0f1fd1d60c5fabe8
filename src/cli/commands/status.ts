/**
 * `machinery status <uuid> [--json] [--local]`: exit 0 whenever the task is found, whatever its
 * state; an unknown or expired UUID exits 1.
 *
 * @module
 */
import { connect } from '../clients.js';
import { resolveConfig } from '../config.js';
import { EXIT, OperationError } from '../errors.js';
import type { CliIO, StatusOptions } from '../main.js';
import { formatStatus, statusJson } from '../output.js';

/**
 * Runs `machinery status`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await status('task_…', { json: true }, io);
 * ```
 */
export async function status(uuid: string, opts: StatusOptions, io: CliIO): Promise<number> {
  const config = resolveConfig({ local: opts.local === true, env: io.env, cwd: io.cwd });
  const { client, close } = connect(config);
  try {
    const record = await client.getState(uuid);
    if (record === undefined) {
      throw new OperationError(
        'TASK_NOT_FOUND',
        `no task ${uuid}: the UUID is unknown, or its result expired`,
      );
    }
    io.stdout(opts.json ? `${JSON.stringify(statusJson(record))}\n` : formatStatus(record));
    return EXIT.ok;
  } finally {
    close();
  }
}

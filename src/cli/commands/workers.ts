/**
 * `machinery workers [--json] [--local | --stack NAME]`: the live workers (the SDK's
 * `listWorkers`, `src/client/workers.ts`): id, kind, host, start time, last heartbeat, tasks
 * executed and failed. `--json` prints `[{"id","kind","host","startedAt","lastHeartbeatAt",
 * "expiresAt","executed","failed"}]` (times as ISO 8601). Exit 2 when the deployment has no
 * workers table.
 *
 * @module
 */
import { listWorkers } from '../../client/workers.js';
import { connect } from '../clients.js';
import { resolveCliConfig, type SourceFlags } from '../config.js';
import { EXIT } from '../errors.js';
import type { CliIO } from '../main.js';
import { formatTable } from '../output.js';

/**
 * Options of `machinery workers`.
 *
 * @example
 * ```ts
 * const opts: WorkersOptions = { json: true, local: true };
 * ```
 */
export interface WorkersOptions extends SourceFlags {
  json?: boolean;
}

/**
 * Runs `machinery workers`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await workers({ json: true }, io);
 * ```
 */
export async function workers(opts: WorkersOptions, io: CliIO): Promise<number> {
  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const connection = connect(config);
  try {
    const live = await listWorkers(connection.settings, { dynamodb: connection.clients.dynamodb });
    const iso = (ms: number) => new Date(ms).toISOString();
    if (opts.json) {
      const rows = live.map((w) => ({
        ...w,
        startedAt: iso(w.startedAt),
        lastHeartbeatAt: iso(w.lastHeartbeatAt),
        expiresAt: iso(w.expiresAt),
      }));
      io.stdout(`${JSON.stringify(rows)}\n`);
      return EXIT.ok;
    }
    io.stdout(
      formatTable(
        ['id', 'kind', 'host', 'started', 'last heartbeat', 'executed', 'failed'],
        live.map((w) => [
          w.id,
          w.kind,
          w.host,
          iso(w.startedAt),
          iso(w.lastHeartbeatAt),
          String(w.executed),
          String(w.failed),
        ]),
      ),
    );
    return EXIT.ok;
  } finally {
    connection.close();
  }
}

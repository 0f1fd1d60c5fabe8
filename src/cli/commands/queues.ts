/**
 * `machinery queues [--json] [--local | --stack NAME]`: for each queue of the deployment (task,
 * high-priority when configured, delay, then their DLQs and the Scheduler DLQ) the visible,
 * in-flight and delayed counts, and
 * the age of the oldest message from CloudWatch (the SDK's `queueStats`, `src/client/queues.ts`).
 *
 * The age is `-` (`null` with `--json`) on the local stack: CloudWatch is asked only for AWS
 * queue URLs. `--json` prints `[{"queue","url","visible","inFlight","delayed",
 * "oldestMessageAgeSeconds"}]`.
 *
 * @module
 */
import { metricQueueName } from '../../aws/queue-stats.js';
import { queueStats, queuesOf } from '../../client/queues.js';
import { cloudWatchClient, connect } from '../clients.js';
import { resolveCliConfig, type SourceFlags } from '../config.js';
import { EXIT } from '../errors.js';
import type { CliIO } from '../main.js';
import { formatTable } from '../output.js';

/**
 * Options of `machinery queues`.
 *
 * @example
 * ```ts
 * const opts: QueuesOptions = { json: true, local: true };
 * ```
 */
export interface QueuesOptions extends SourceFlags {
  json?: boolean;
}

/**
 * Runs `machinery queues`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await queues({ json: true }, io);
 * ```
 */
export async function queues(opts: QueuesOptions, io: CliIO): Promise<number> {
  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const connection = connect(config);
  const { settings, clients } = connection;
  const cloudwatch = queuesOf(settings).some((q) => metricQueueName(q.url) !== undefined)
    ? cloudWatchClient(connection)
    : undefined;
  try {
    const stats = await queueStats(settings, {
      sqs: clients.sqs,
      ...(cloudwatch === undefined ? {} : { cloudwatch }),
    });
    if (opts.json) {
      io.stdout(`${JSON.stringify(stats)}\n`);
      return EXIT.ok;
    }
    io.stdout(
      formatTable(
        ['queue', 'visible', 'in flight', 'delayed', 'oldest age'],
        stats.map((s) => [
          s.queue,
          String(s.visible),
          String(s.inFlight),
          String(s.delayed),
          s.oldestMessageAgeSeconds === null ? '-' : `${s.oldestMessageAgeSeconds} s`,
        ]),
      ),
    );
    return EXIT.ok;
  } finally {
    cloudwatch?.destroy();
    connection.close();
  }
}

/**
 * From the chosen {@link CliConfig} to the SDK client the commands use. Only the configuration's
 * one source is read (with `.machinery/local.env` as the source, its region, credentials and
 * endpoints are passed to every AWS client explicitly); its settings are validated before any
 * client is built, so a bad value exits 2 before anything is written.
 *
 * @module
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { type AwsClientOptions, type AwsClients, createAwsClients } from '../aws/config.js';
import { type MachineryConfig, resolveSettings } from '../aws/settings.js';
import { createClient, type MachineryClient } from '../client/index.js';
import type { Clock } from '../core/clock.js';
import type { Scheduler } from '../core/ports.js';
import type { CliConfig } from './config.js';

/**
 * A connected SDK client and a way to release its AWS clients.
 *
 * @example
 * ```ts
 * const { client, close } = connect(config);
 * try { await client.getState(uuid); } finally { close(); }
 * ```
 */
export interface Connection {
  client: MachineryClient;
  /** The AWS clients (shared by everything built from this connection). */
  clients: AwsClients;
  /** The `MACHINERY_*` settings in use. */
  settings: Partial<MachineryConfig>;
  /** EventBridge Scheduler, when the configuration has its settings. */
  scheduler: Scheduler | undefined;
  /** The AWS client options of the configuration (region, credentials, endpoints). */
  aws: AwsClientOptions;
  close(): void;
}

/**
 * Builds the SDK client of a configuration. Requires the task queue URL and the task-state table,
 * and validates every setting the source holds (one `ConfigError` naming each variable not set or
 * invalid, and the source). The adapters add EventBridge Scheduler (for ETAs more than 15 minutes
 * away) when the schedule group, role, delay queue and Scheduler DLQ are configured.
 *
 * @example
 * ```ts
 * const { client, close } = connect(resolveConfig({ env: process.env, cwd: process.cwd() }));
 * ```
 */
export function connect(config: CliConfig, options: { clock?: Clock } = {}): Connection {
  const { aws } = resolveSettings(config, { required: ['taskQueueUrl', 'taskStatesTable'] });
  const clients = createAwsClients(aws);
  let client: MachineryClient;
  try {
    client = createClient({
      source: config,
      aws: { sqs: clients.sqs, dynamodb: clients.dynamodb, scheduler: clients.scheduler },
      ...(options.clock ? { clock: options.clock } : {}),
    });
  } catch (e) {
    clients.destroy();
    throw e;
  }
  return {
    client,
    clients,
    settings: client.config,
    scheduler: client.scheduler,
    aws,
    close() {
      client.close();
      clients.destroy();
    },
  };
}

/**
 * A CloudWatch client for a connection: its region and, for a source with explicit credentials
 * (`.machinery/local.env`), those credentials; otherwise the SDK's chain. The caller destroys it.
 *
 * @example
 * ```ts
 * const cloudwatch = cloudWatchClient(connection);
 * try { await queueStats(connection.settings, { sqs: connection.clients.sqs, cloudwatch }); }
 * finally { cloudwatch.destroy(); }
 * ```
 */
export function cloudWatchClient(connection: Pick<Connection, 'aws'>): CloudWatchClient {
  const { region, sqsConfig } = connection.aws;
  const credentials = sqsConfig?.credentials;
  return new CloudWatchClient({
    ...(region === undefined ? {} : { region }),
    ...(credentials === undefined ? {} : { credentials }),
  });
}

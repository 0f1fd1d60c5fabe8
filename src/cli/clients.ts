/**
 * From a resolved {@link CliConfig} to the SDK client the commands use. Only the configuration's
 * one source is read: the client gets an empty environment and explicit settings, so nothing of
 * the ambient environment mixes in (with `.machinery/local.env` as the source, its region,
 * credentials and endpoints are passed to every AWS client explicitly).
 *
 * @module
 */
import type {
  AwsClientOptions,
  AwsClients,
  MachineryConfig,
  MachineryConfigKey,
} from '../aws/config.js';
import { createAwsClients } from '../aws/config.js';
import { createClient, type MachineryClient } from '../client/index.js';
import type { Clock } from '../core/clock.js';
import type { Scheduler } from '../core/ports.js';
import { type CliConfig, type EnvKey, requireValue } from './config.js';

/**
 * The AWS client options of a configuration: region, and for `.machinery/local.env` its
 * credentials and per-service endpoints.
 *
 * @example
 * ```ts
 * const clients = createAwsClients(awsClientOptions(config));
 * ```
 */
export function awsClientOptions(config: CliConfig): AwsClientOptions {
  const base = {
    ...(config.region ? { region: config.region } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  };
  const { sqs, dynamodb, scheduler } = config.endpoints;
  return {
    ...(config.region ? { region: config.region } : {}),
    sqsConfig: { ...base, ...(sqs ? { endpoint: sqs } : {}) },
    dynamodbConfig: { ...base, ...(dynamodb ? { endpoint: dynamodb } : {}) },
    schedulerConfig: { ...base, ...(scheduler ? { endpoint: scheduler } : {}) },
  };
}

const MACHINERY_KEYS = [
  'taskQueueUrl',
  'dlqUrl',
  'delayQueueUrl',
  'delayDlqUrl',
  'schedulerDlqUrl',
  'taskStatesTable',
  'groupMetasTable',
  'scheduleGroup',
  'schedulerRoleArn',
] as const satisfies readonly (MachineryConfigKey & EnvKey)[];

/**
 * The `MACHINERY_*` settings of a configuration, as the SDK client takes them.
 *
 * @example
 * ```ts
 * machineryConfig(config).taskQueueUrl;
 * ```
 */
export function machineryConfig(config: CliConfig): Partial<MachineryConfig> {
  const out: Partial<MachineryConfig> = {};
  if (config.region) out.region = config.region;
  for (const key of MACHINERY_KEYS) {
    const v = config.values[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

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
  close(): void;
}

/**
 * Builds the SDK client of a configuration. Requires the task queue URL and the task-state table
 * (a {@link ConfigError} naming the source otherwise). The adapters add the EventBridge Scheduler
 * (for ETAs more than 15 minutes away) when the schedule group, role, delay queue and Scheduler
 * DLQ are configured.
 *
 * @example
 * ```ts
 * const { client, close } = connect(resolveConfig({ env: process.env, cwd: process.cwd() }));
 * ```
 */
export function connect(config: CliConfig, options: { clock?: Clock } = {}): Connection {
  requireValue(config, 'taskQueueUrl');
  requireValue(config, 'taskStatesTable');
  const settings = machineryConfig(config);
  const clients = createAwsClients(awsClientOptions(config));
  const client = createClient({
    env: {},
    config: settings,
    aws: { sqs: clients.sqs, dynamodb: clients.dynamodb, scheduler: clients.scheduler },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    client,
    clients,
    settings,
    scheduler: client.scheduler,
    close() {
      client.close();
      clients.destroy();
    },
  };
}

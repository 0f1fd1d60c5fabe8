/**
 * Wiring: the AWS adapters of one deployment, built from its settings (`./settings.ts`) and the
 * AWS client options. Shared by the SDK client, the worker, the forwarder and the CLI, so all of
 * them read and validate their configuration the same way.
 *
 * @module
 */
import type { Broker, GroupBackend, ResultBackend, Scheduler } from '../core/ports.js';
import type { MachineryEnvKey } from '../core/resources.js';
import { type QueueRouting, queueRouting } from '../core/routing.js';
import { type AwsClientOptions, type AwsClients, createAwsClients } from './config.js';
import { DynamoDbResultBackend } from './dynamodb-backend.js';
import { ConfigError } from './errors.js';
import { DynamoDbGroupBackend } from './group-backend.js';
import { schedulerFromConfig } from './scheduler.js';
import {
  fromEnv,
  type MachineryConfig,
  missingSettingsError,
  resolveSettings,
  SCHEDULER_SETTINGS,
  type SettingsSource,
  type Variables,
} from './settings.js';
import { SqsBroker } from './sqs-broker.js';

/**
 * Options of {@link createAdapters}.
 *
 * @example
 * ```ts
 * const opts: AdapterOptions = { source: fromLocalEnv(), aws: { sqsConfig: { maxAttempts: 5 } } };
 * ```
 */
export interface AdapterOptions {
  /** Settings; each one set here wins over the source, and is validated the same way. */
  config?: Partial<MachineryConfig>;
  /**
   * Where the settings come from: `fromEnv()`, `fromLocalEnv()`, `fromVariables(…)`. Not together
   * with `env`. @default fromEnv(env)
   */
  source?: SettingsSource;
  /**
   * Environment to read `MACHINERY_*` and `AWS_*` from (shorthand for `source: fromEnv(env)`). When
   * given (rather than defaulted), the clients built here also take its static credentials
   * (`AWS_SESSION_TOKEN` goes with the keys), so `{ env: localStack.env }` reaches the local stack.
   * @default process.env
   */
  env?: Variables;
  /** AWS clients, or their configs (never both for one service); they win over the source. */
  aws?: AwsClientOptions;
  /** Use this result backend instead of DynamoDB. */
  backend?: ResultBackend;
  /** Use this broker instead of SQS. */
  broker?: Broker;
  /**
   * Use this scheduler (needed for ETAs more than 15 minutes away). @default an EventBridge
   * Scheduler adapter when `MACHINERY_SCHEDULE_GROUP`, `MACHINERY_SCHEDULER_ROLE_ARN`,
   * `MACHINERY_DELAY_QUEUE_URL` and `MACHINERY_SCHEDULER_DLQ_URL` are all set, else none
   */
  scheduler?: Scheduler;
  /**
   * Use this group backend (groups and chords). @default a DynamoDB one on the `group_metas`
   * table when `MACHINERY_GROUP_METAS_TABLE` is set, else none
   */
  groups?: GroupBackend;
}

/**
 * The adapters of one deployment.
 *
 * @example
 * ```ts
 * const { backend, broker } = createAdapters({ source: fromEnv() }, ['dlqUrl']);
 * ```
 */
export interface Adapters {
  config: Partial<MachineryConfig>;
  clients: AwsClients;
  backend: ResultBackend;
  broker: Broker;
  scheduler: Scheduler | undefined;
  /** Group and chord records, when the `group_metas` table is configured (or one was passed). */
  groups: GroupBackend | undefined;
  /**
   * The task queues a send routes between (`core/routing.ts`): the task queue and, when
   * `MACHINERY_HIGH_TASK_QUEUE_URL` is set, the high-priority queue, with the default threshold;
   * `undefined` without a task queue URL.
   */
  routing: QueueRouting | undefined;
  /**
   * Checks that the high-priority queue is configured, else throws a `ConfigError` naming
   * `MACHINERY_HIGH_TASK_QUEUE_URL`, the source, and `why` (what needed it).
   */
  requireHighQueue(why: string): void;
  /**
   * The scheduler, or a `ConfigError` naming the variables not set (`MACHINERY_SCHEDULE_GROUP`…),
   * the source, and `why` (what needed it).
   */
  requireScheduler(why: string): Scheduler;
  /** Destroys the SDK clients built here (not the ones passed in). */
  destroy(): void;
}

/**
 * Builds the result backend, broker and clients from a source (or the environment) and explicit
 * options. The task-state table and the task queue URL are always required (unless a backend, a
 * broker, is passed); `required` adds more. Every missing or invalid setting is named in one
 * `ConfigError`, before any client is built.
 *
 * @example
 * ```ts
 * const adapters = createAdapters({ env: process.env }, ['dlqUrl']);
 * await adapters.broker.publish([{ signature }]);
 * ```
 */
export function createAdapters(
  options: AdapterOptions = {},
  required: readonly MachineryEnvKey[] = [],
): Adapters {
  if (options.source !== undefined && options.env !== undefined) {
    throw new ConfigError(
      'pass either a settings source or an env, not both: one would be ignored',
    );
  }
  const source = options.source ?? fromEnv(options.env);
  const { settings: config, aws } = resolveSettings(source, {
    required: [
      ...required.filter(
        (k) =>
          !(k === 'taskStatesTable' && options.backend) &&
          !(k === 'taskQueueUrl' && options.broker),
      ),
      ...(options.backend ? [] : (['taskStatesTable'] as const)),
      ...(options.broker ? [] : (['taskQueueUrl'] as const)),
    ],
    ...(options.config ? { config: options.config } : {}),
    ...(options.aws ? { aws: options.aws } : {}),
  });
  // Required above, so always set here; read through a check rather than a cast all the same.
  const setting = (key: 'taskStatesTable' | 'taskQueueUrl'): string => {
    const value = config[key];
    if (value === undefined) throw missingSettingsError([key], source);
    return value;
  };
  const clients = createAwsClients(aws);
  const backend =
    options.backend ??
    new DynamoDbResultBackend({
      dynamodb: clients.dynamodb,
      tableName: setting('taskStatesTable'),
    });
  const broker =
    options.broker ??
    new SqsBroker({
      sqs: clients.sqs,
      taskQueueUrl: setting('taskQueueUrl'),
      ...(config.highTaskQueueUrl ? { highTaskQueueUrl: config.highTaskQueueUrl } : {}),
      ...(config.delayQueueUrl ? { delayQueueUrl: config.delayQueueUrl } : {}),
    });
  const scheduler = options.scheduler ?? schedulerFromConfig(config, clients);
  const groups =
    options.groups ??
    (config.groupMetasTable === undefined
      ? undefined
      : new DynamoDbGroupBackend({
          dynamodb: clients.dynamodb,
          tableName: config.groupMetasTable,
        }));
  return {
    config,
    clients,
    backend,
    broker,
    scheduler,
    groups,
    routing:
      config.taskQueueUrl === undefined
        ? undefined
        : queueRouting(config.taskQueueUrl, config.highTaskQueueUrl),
    requireHighQueue(why) {
      if (config.highTaskQueueUrl === undefined) {
        throw missingSettingsError(['highTaskQueueUrl'], source, why);
      }
    },
    requireScheduler(why) {
      if (scheduler !== undefined) return scheduler;
      const missing = SCHEDULER_SETTINGS.filter((k) => config[k] === undefined);
      throw missingSettingsError(missing, source, why);
    },
    destroy: () => clients.destroy(),
  };
}

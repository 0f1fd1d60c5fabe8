/**
 * Wiring: the AWS adapters of one deployment, built from the `MACHINERY_*` configuration and the
 * AWS client options. Shared by the SDK client, the worker and the CLI, so all three read the
 * environment the same way.
 *
 * @module
 */
import type { Broker, ResultBackend, Scheduler } from '../core/ports.js';
import { ENV } from '../core/resources.js';
import {
  type AwsClientOptions,
  type AwsClients,
  createAwsClients,
  loadMachineryConfig,
  type MachineryConfig,
  type MachineryConfigKey,
} from './config.js';
import { DynamoDbResultBackend } from './dynamodb-backend.js';
import { schedulerFromConfig } from './scheduler.js';
import { SqsBroker } from './sqs-broker.js';

/**
 * Options of {@link createAdapters}.
 *
 * @example
 * ```ts
 * const opts: AdapterOptions = { config: { taskQueueUrl, taskStatesTable }, aws: { region: 'us-east-1' } };
 * ```
 */
export interface AdapterOptions {
  /** Settings; each one missing here is read from `env`. */
  config?: Partial<MachineryConfig>;
  /**
   * Environment to read `MACHINERY_*` and `AWS_REGION` from. When given (rather than defaulted), the
   * clients built here also take its `AWS_ENDPOINT_URL_*` endpoints and static credentials (the SDK
   * reads only `process.env` by itself; `AWS_SESSION_TOKEN` goes with the keys), so
   * `{ env: localStack.env }` reaches the local stack.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** AWS clients, or their configs (never both for one service). */
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
}

/**
 * The adapters of one deployment.
 *
 * @example
 * ```ts
 * const { backend, broker } = createAdapters({ required: ['taskQueueUrl'] });
 * ```
 */
export interface Adapters {
  config: Partial<MachineryConfig>;
  clients: AwsClients;
  backend: ResultBackend;
  broker: Broker;
  scheduler: Scheduler | undefined;
  /** Destroys the SDK clients built here (not the ones passed in). */
  destroy(): void;
}

/**
 * Builds the result backend, broker and clients from options and the environment. Settings a
 * component cannot work without are checked up front, naming every missing variable
 * (`ConfigError`).
 *
 * @example
 * ```ts
 * const adapters = createAdapters({ env: process.env }, ['taskQueueUrl', 'taskStatesTable']);
 * await adapters.broker.publish([{ signature }]);
 * ```
 */
export function createAdapters(
  options: AdapterOptions = {},
  required: readonly MachineryConfigKey[] = [],
): Adapters {
  const fromEnv = loadMachineryConfig(options.env ?? process.env);
  const config: Partial<MachineryConfig> = { ...fromEnv, ...definedOnly(options.config ?? {}) };
  const needed = required.filter(
    (k) =>
      config[k] === undefined &&
      !(k === 'taskStatesTable' && options.backend) &&
      !(k === 'taskQueueUrl' && options.broker),
  );
  // Re-check through the loader so the error names the variables.
  if (needed.length > 0) loadMachineryConfig({}, needed);
  const aws: AwsClientOptions = {
    ...(config.region ? { region: config.region } : {}),
    ...(options.env ? clientConfigsFromEnv(options.env, options.aws ?? {}) : {}),
    ...options.aws,
  };
  const clients = createAwsClients(aws);
  const backend =
    options.backend ??
    new DynamoDbResultBackend({
      dynamodb: clients.dynamodb,
      tableName: config.taskStatesTable as string,
    });
  const broker =
    options.broker ??
    new SqsBroker({
      sqs: clients.sqs,
      taskQueueUrl: config.taskQueueUrl as string,
      ...(config.delayQueueUrl ? { delayQueueUrl: config.delayQueueUrl } : {}),
    });
  return {
    config,
    clients,
    backend,
    broker,
    scheduler: options.scheduler ?? schedulerFromConfig(config, clients),
    destroy: () => clients.destroy(),
  };
}

/** The session token of temporary credentials (not in `ENV`: the local stack never sets it). */
const SESSION_TOKEN_ENV = 'AWS_SESSION_TOKEN';

/**
 * Client configs from an explicit `env` (not `process.env`, which the SDK reads itself): the
 * `AWS_ENDPOINT_URL_*` endpoints and static credentials it holds, for each service whose client
 * (or config) was not given.
 */
function clientConfigsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  given: AwsClientOptions,
): AwsClientOptions {
  const accessKeyId = env[ENV.accessKeyId];
  const secretAccessKey = env[ENV.secretAccessKey];
  // Temporary credentials (Lambda's execution role, SSO, assumed roles) are only valid with their
  // session token: without it every request is refused as an invalid security token.
  const sessionToken = env[SESSION_TOKEN_ENV];
  const credentials =
    accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(sessionToken ? { sessionToken } : {}),
          },
        }
      : {};
  const cfg = (endpoint: string | undefined) => ({
    ...credentials,
    ...(endpoint ? { endpoint } : {}),
  });
  const out: AwsClientOptions = {};
  if (!given.sqs && !given.sqsConfig) out.sqsConfig = cfg(env[ENV.endpointSqs]);
  if (!given.dynamodb && !given.dynamodbConfig) out.dynamodbConfig = cfg(env[ENV.endpointDynamodb]);
  if (!given.scheduler && !given.schedulerConfig) {
    out.schedulerConfig = cfg(env[ENV.endpointScheduler]);
  }
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

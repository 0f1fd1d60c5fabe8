/**
 * AWS clients. The settings of a deployment and the options these clients get from them are
 * `./settings.ts`.
 *
 * Clients are never module globals: each call builds new ones (or adopts the ones you pass), so
 * two stacks (two regions, the local stack and a real account, two tests) live side by side in one
 * process. Endpoints come from the standard `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_DYNAMODB` and
 * `AWS_ENDPOINT_URL_SCHEDULER` variables, which the SDK reads itself; credentials and region from
 * the SDK's usual chain.
 *
 * @module
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SchedulerClient, type SchedulerClientConfig } from '@aws-sdk/client-scheduler';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { ConfigError } from './errors.js';

/**
 * How to obtain each AWS client: pass a ready SDK client (`sqs`, `dynamodb`, `scheduler`) *or* a
 * config to build one from (`sqsConfig`, `dynamodbConfig`, `schedulerConfig`), never both for the
 * same service. With neither, a client is built from `region` and the environment.
 *
 * @example
 * ```ts
 * const opts: AwsClientOptions = { region: 'eu-west-1', sqsConfig: { maxAttempts: 5 } };
 * ```
 */
export interface AwsClientOptions {
  /** Region of clients built here. @default the SDK's chain (`AWS_REGION`, profile…) */
  region?: string;
  /** A ready SQS client. */
  sqs?: SQSClient;
  /** Config of the SQS client to build. */
  sqsConfig?: SQSClientConfig;
  /**
   * A ready DynamoDB client: a `DynamoDBDocumentClient` is used as is (its marshalling options must
   * remove undefined values); a plain `DynamoDBClient` is wrapped.
   */
  dynamodb?: DynamoDBDocumentClient | DynamoDBClient;
  /** Config of the DynamoDB client to build. */
  dynamodbConfig?: DynamoDBClientConfig;
  /** A ready EventBridge Scheduler client. */
  scheduler?: SchedulerClient;
  /** Config of the Scheduler client to build. */
  schedulerConfig?: SchedulerClientConfig;
}

/**
 * The clients the AWS adapters use.
 *
 * @example
 * ```ts
 * const { sqs, dynamodb } = createAwsClients();
 * ```
 */
export interface AwsClients {
  sqs: SQSClient;
  dynamodb: DynamoDBDocumentClient;
  scheduler: SchedulerClient;
  /** Destroys the clients built here (their sockets); clients passed in are left alone. */
  destroy(): void;
}

/** Marshalling of the document client: `undefined` attributes are left out, never an error. */
export const DOCUMENT_TRANSLATE_CONFIG: TranslateConfig = {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  unmarshallOptions: { wrapNumbers: false },
};

function exclusive(service: string, client: unknown, config: unknown): void {
  if (client !== undefined && config !== undefined) {
    throw new ConfigError(
      `pass either an ${service} client or an ${service} client config, not both: the config would be ignored`,
    );
  }
}

function withRegion<T extends { region?: unknown }>(
  config: T | undefined,
  region: string | undefined,
): T {
  const base = { ...(config ?? {}) } as T;
  if (base.region === undefined && region !== undefined) base.region = region;
  return base;
}

/**
 * The SQS client: the one passed, or a new one from `sqsConfig` and `region`.
 *
 * @example
 * ```ts
 * const sqs = createSqsClient({ region: 'us-east-1' });
 * ```
 */
export function createSqsClient(options: AwsClientOptions = {}): SQSClient {
  exclusive('SQS', options.sqs, options.sqsConfig);
  return options.sqs ?? new SQSClient(withRegion(options.sqsConfig, options.region));
}

/**
 * The DynamoDB document client: the one passed (a plain client is wrapped), or a new one from
 * `dynamodbConfig` and `region`, marshalling per {@link DOCUMENT_TRANSLATE_CONFIG}.
 *
 * @example
 * ```ts
 * const ddb = createDynamoDbDocumentClient({ region: 'us-east-1' });
 * ```
 */
export function createDynamoDbDocumentClient(
  options: AwsClientOptions = {},
): DynamoDBDocumentClient {
  return documentClient(options).client;
}

/**
 * The document client of {@link createDynamoDbDocumentClient}, and the plain client built for it
 * when none was passed (destroying a document client does not destroy the client it wraps).
 */
function documentClient(options: AwsClientOptions): {
  client: DynamoDBDocumentClient;
  built: DynamoDBClient | undefined;
} {
  exclusive('DynamoDB', options.dynamodb, options.dynamodbConfig);
  const given = options.dynamodb;
  if (given instanceof DynamoDBDocumentClient) return { client: given, built: undefined };
  const built =
    given === undefined
      ? new DynamoDBClient(withRegion(options.dynamodbConfig, options.region))
      : undefined;
  const base = given ?? (built as DynamoDBClient);
  return { client: DynamoDBDocumentClient.from(base, DOCUMENT_TRANSLATE_CONFIG), built };
}

/**
 * The EventBridge Scheduler client: the one passed, or a new one from `schedulerConfig` and
 * `region`.
 *
 * @example
 * ```ts
 * const scheduler = createSchedulerClient({ region: 'us-east-1' });
 * ```
 */
export function createSchedulerClient(options: AwsClientOptions = {}): SchedulerClient {
  exclusive('EventBridge Scheduler', options.scheduler, options.schedulerConfig);
  return (
    options.scheduler ?? new SchedulerClient(withRegion(options.schedulerConfig, options.region))
  );
}

/**
 * Every client the adapters use, per {@link AwsClientOptions}. Rejects a client passed together
 * with its config ({@link ConfigError}).
 *
 * @example
 * ```ts
 * const clients = createAwsClients({ region: 'eu-west-1', sqs: mySqsClient });
 * ```
 */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const sqs = createSqsClient(options);
  const { client: dynamodb, built } = documentClient(options);
  const scheduler = createSchedulerClient(options);
  return {
    sqs,
    dynamodb,
    scheduler,
    destroy() {
      if (options.sqs === undefined) sqs.destroy();
      built?.destroy();
      if (options.scheduler === undefined) scheduler.destroy();
    },
  };
}

/**
 * Creates one set of machinery-serverless resources — the queues, tables and schedule group of
 * `src/core/resources.ts` — on running emulators, under a name prefix, so many tests (or runs)
 * share one set of emulators without seeing each other's messages or items.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  ENV,
  QUEUES,
  type QueueId,
  type QueueSpec,
  type ResourceNames,
  resourceNames,
  TABLES,
} from '../core/resources.js';
import { FAUXQS_ACCOUNT_ID } from './sqs.js';

/**
 * Where the emulators (or AWS services) answer.
 *
 * @example
 * ```ts
 * const endpoints: StackEndpoints = { sqs: 'http://127.0.0.1:4566', dynamodb: 'http://127.0.0.1:8000', scheduler: 'http://127.0.0.1:4577' };
 * ```
 */
export interface StackEndpoints {
  readonly sqs: string;
  readonly dynamodb: string;
  readonly scheduler: string;
}

/**
 * Static credentials. Any value works with the emulators.
 *
 * @example
 * ```ts
 * const credentials: LocalCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };
 * ```
 */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * The dummy credentials of the local stack.
 *
 * @example
 * ```ts
 * new SQSClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint });
 * ```
 */
export const LOCAL_CREDENTIALS: LocalCredentials = {
  accessKeyId: 'local',
  secretAccessKey: 'local',
};

/**
 * The region of the local stack.
 *
 * @example
 * ```ts
 * new DynamoDBClient({ region: LOCAL_REGION, endpoint });
 * ```
 */
export const LOCAL_REGION = 'us-east-1';

/**
 * Per-queue changes for tests (e.g. a short visibility timeout and a small `maxReceiveCount` to
 * see the redrive policy act quickly).
 *
 * @example
 * ```ts
 * const o: QueueOverride = { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 };
 * ```
 */
export interface QueueOverride {
  readonly visibilityTimeoutSeconds?: number;
  readonly maxReceiveCount?: number;
}

/**
 * Options of {@link provisionStack}.
 *
 * @example
 * ```ts
 * const options: ProvisionOptions = { queueOverrides: { tasks: { maxReceiveCount: 2 } } };
 * ```
 */
export interface ProvisionOptions {
  /** @default 'us-east-1' */
  region?: string;
  /** @default LOCAL_CREDENTIALS */
  credentials?: LocalCredentials;
  /** Changes to the queue specs of `QUEUES`. */
  queueOverrides?: Partial<Record<QueueId, QueueOverride>>;
}

/**
 * One provisioned set of resources: names, URLs, ARNs, and the environment that points the SDK
 * client, the CLI and the handlers at them.
 *
 * @example
 * ```ts
 * const stack = await provisionStack(endpoints, uniquePrefix());
 * Object.assign(process.env, stack.env);
 * ```
 */
export interface ProvisionedStack {
  readonly prefix: string;
  readonly region: string;
  readonly credentials: LocalCredentials;
  readonly endpoints: StackEndpoints;
  readonly names: ResourceNames;
  readonly queueUrls: { readonly [K in QueueId]: string };
  readonly queueArns: { readonly [K in QueueId]: string };
  /** A role ARN of the right shape for `Target.RoleArn` (the emulator does not check it). */
  readonly schedulerRoleArn: string;
  /** Exactly the keys of `ENV`, as environment variable names. */
  readonly env: Record<string, string>;
}

/**
 * A fresh resource-name prefix: `<label><base36 time><random>-`, unique across runs and parallel
 * tests, within `resourceNames`' 40-character limit.
 *
 * @example
 * ```ts
 * const prefix = uniquePrefix('dlq'); // e.g. 'dlqlx2k9a3f1c-'
 * ```
 */
export function uniquePrefix(label = 't'): string {
  const safe = label.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 16);
  return `${safe}${Date.now().toString(36)}${randomBytes(3).toString('hex')}-`;
}

/**
 * The SQS attributes of a queue spec. `redriveTargetArn` is the dead-letter queue's ARN when the
 * spec has a redrive policy.
 *
 * @example
 * ```ts
 * const attrs = queueAttributes(QUEUES.tasks, dlqArn);
 * ```
 */
export function queueAttributes(
  spec: QueueSpec,
  redriveTargetArn?: string,
  override: QueueOverride = {},
): Record<string, string> {
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(override.visibilityTimeoutSeconds ?? spec.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(spec.retentionSeconds),
  };
  if (spec.fifo) {
    attributes.FifoQueue = 'true';
    attributes.ContentBasedDeduplication = 'false';
    if (spec.highThroughput) {
      attributes.DeduplicationScope = 'messageGroup';
      attributes.FifoThroughputLimit = 'perMessageGroupId';
    }
  }
  if (spec.redrive && redriveTargetArn !== undefined) {
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: redriveTargetArn,
      maxReceiveCount: override.maxReceiveCount ?? spec.redrive.maxReceiveCount,
    });
  }
  return attributes;
}

/**
 * The environment of a provisioned stack: exactly the keys of `ENV`.
 *
 * @example
 * ```ts
 * const env = stackEnv(stack);
 * env.MACHINERY_TASK_QUEUE_URL;
 * ```
 */
export function stackEnv(
  stack: Omit<ProvisionedStack, 'env' | 'prefix' | 'queueArns'>,
): Record<string, string> {
  const env: Record<(typeof ENV)[keyof typeof ENV], string> = {
    [ENV.region]: stack.region,
    [ENV.accessKeyId]: stack.credentials.accessKeyId,
    [ENV.secretAccessKey]: stack.credentials.secretAccessKey,
    [ENV.endpointSqs]: stack.endpoints.sqs,
    [ENV.endpointDynamodb]: stack.endpoints.dynamodb,
    [ENV.endpointScheduler]: stack.endpoints.scheduler,
    [ENV.taskQueueUrl]: stack.queueUrls.tasks,
    [ENV.dlqUrl]: stack.queueUrls.tasksDlq,
    [ENV.delayQueueUrl]: stack.queueUrls.delay,
    [ENV.delayDlqUrl]: stack.queueUrls.delayDlq,
    [ENV.schedulerDlqUrl]: stack.queueUrls.schedulerDlq,
    [ENV.taskStatesTable]: stack.names.tables.taskStates,
    [ENV.groupMetasTable]: stack.names.tables.groupMetas,
    [ENV.scheduleGroup]: stack.names.scheduleGroup,
    [ENV.schedulerRoleArn]: stack.schedulerRoleArn,
    [ENV.highTaskQueueUrl]: stack.queueUrls.highTasks,
    [ENV.highDlqUrl]: stack.queueUrls.highTasksDlq,
    [ENV.workersTable]: stack.names.tables.workers,
  };
  return env;
}

async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const created = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  const url = created.QueueUrl;
  if (!url) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = attrs.Attributes?.QueueArn;
  if (!arn) throw new Error(`GetQueueAttributes ${name} returned no QueueArn`);
  return { url, arn };
}

async function createTable(
  ddb: DynamoDBClient,
  name: string,
  partitionKey: string,
  ttlAttribute: string,
): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
    }),
  );
  await ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: ttlAttribute },
    }),
  );
}

/**
 * Creates every queue (dead-letter queues first, then the queues whose redrive policy names them:
 * the task queue, the high-priority task queue, the delay queue), every table of `TABLES` (on
 * demand, TTL on `TTL`: `task_states`, `group_metas`, `workers`) and the schedule group, under
 * `prefix`.
 *
 * @example
 * ```ts
 * const stack = await provisionStack(endpoints, uniquePrefix('dlq'), {
 *   queueOverrides: { tasks: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 } },
 * });
 * ```
 */
export async function provisionStack(
  endpoints: StackEndpoints,
  prefix: string,
  options: ProvisionOptions = {},
): Promise<ProvisionedStack> {
  const region = options.region ?? LOCAL_REGION;
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  const names = resourceNames(prefix);
  const overrides = options.queueOverrides ?? {};
  const common = { region, credentials };
  const sqs = new SQSClient({ ...common, endpoint: endpoints.sqs });
  const ddb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  const scheduler = new SchedulerClient({ ...common, endpoint: endpoints.scheduler });
  try {
    const queues = async () => {
      const created: Partial<Record<QueueId, { url: string; arn: string }>> = {};
      const make = async (id: QueueId) => {
        const spec = QUEUES[id];
        const dlq = spec.redrive ? created[spec.redrive.deadLetterQueue]?.arn : undefined;
        created[id] = await createQueue(
          sqs,
          names.queues[id],
          queueAttributes(spec, dlq, overrides[id]),
        );
      };
      const ids = Object.keys(QUEUES) as QueueId[];
      await Promise.all(ids.filter((id) => !QUEUES[id].redrive).map(make));
      await Promise.all(ids.filter((id) => QUEUES[id].redrive).map(make));
      return created as Record<QueueId, { url: string; arn: string }>;
    };
    const tables = () =>
      Promise.all(
        Object.values(TABLES).map((t) =>
          createTable(ddb, names.tables[t.id], t.partitionKey, t.ttlAttribute),
        ),
      );
    const group = () =>
      scheduler.send(new CreateScheduleGroupCommand({ Name: names.scheduleGroup }));
    const [created] = await Promise.all([queues(), tables(), group()]);
    const ids = Object.keys(created) as QueueId[];
    const queueUrls = Object.fromEntries(ids.map((id) => [id, created[id].url])) as {
      [K in QueueId]: string;
    };
    const queueArns = Object.fromEntries(ids.map((id) => [id, created[id].arn])) as {
      [K in QueueId]: string;
    };
    const schedulerRoleArn = `arn:aws:iam::${FAUXQS_ACCOUNT_ID}:role/${names.schedulerRole}`;
    const base = { region, credentials, endpoints, names, queueUrls, schedulerRoleArn };
    return { ...base, prefix, queueArns, env: stackEnv(base) };
  } finally {
    sqs.destroy();
    ddb.destroy();
    scheduler.destroy();
  }
}

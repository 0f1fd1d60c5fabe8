/**
 * The one definition of machinery-serverless's AWS resources: queues, tables, keys, the TTL
 * attribute, the Scheduler group, and their defaults. Pure data, read by `cdk/` (the stack) and
 * `src/local/` (the embedded local stack) so the two cannot drift apart.
 *
 * @module
 */

/** Seconds in a day. */
const DAY = 86_400;

/**
 * Memory of the Lambda functions the CDK construct deploys, MB (`cdk/functions.ts`); the cost
 * benchmark prices Lambda duration at these sizes.
 *
 * @example
 * ```ts
 * const gbSeconds = (durationMs / 1000) * (FUNCTION_MEMORY_MB.worker / 1024);
 * ```
 */
export const FUNCTION_MEMORY_MB = Object.freeze({
  /** The worker. @default 512 */
  worker: 512,
  /** The forwarder. @default 256 */
  forwarder: 256,
});

/**
 * Timing defaults the queues are derived from.
 *
 * @example
 * ```ts
 * const visibility = DEFAULTS.workerTimeoutSeconds * DEFAULTS.visibilityTimeoutFactor;
 * ```
 */
export const DEFAULTS = {
  /** Lambda timeout of the worker, seconds. @default 60 */
  workerTimeoutSeconds: 60,
  /** Lambda timeout of the forwarder, seconds. @default 30 */
  forwarderTimeoutSeconds: 30,
  /** A queue's visibility timeout is at least this many times its consumer's timeout. @default 6 */
  visibilityTimeoutFactor: 6,
  /** Added to the worker timeout to form an attempt's lease, seconds. @default 30 */
  leaseMarginSeconds: 30,
  /** Largest `RetryCount` a signature may ask for. @default 50 */
  maxRetryCount: 50,
  /**
   * Retries a `RetryLaterError` may cause when the signature's `RetryCount` is 0 (machinery loops
   * forever). @default 10
   */
  retryLaterDefaultCap: 10,
  /** Crashed attempts (claims that find an expired lease) before a task is dead-lettered. @default 3 */
  maxCrashes: 3,
  /**
   * The redrive policy's `maxReceiveCount` on the task queue: a high backstop, validated to exceed
   * `maxRetryCount + maxCrashes` plus a margin (every retry is a receive). @default 100
   */
  maxReceiveCount: 100,
  /** `maxReceiveCount` of the delay queue. @default 10 */
  delayMaxReceiveCount: 10,
  /** Default lifetime of a task's result, seconds (machinery's `ResultsExpireIn`). @default 3600 */
  resultsExpireInSeconds: 3_600,
  /** Longest `DelaySeconds` SQS accepts; longer ETAs go through EventBridge Scheduler. @default 900 */
  maxDelaySeconds: 900,
  /** How early a one-time schedule fires before the ETA, seconds (Scheduler's precision is ~1 min). @default 60 */
  schedulerLeadSeconds: 60,
  /** Longest visibility timeout SQS allows from the first receive, seconds. @default 43200 */
  maxVisibilitySeconds: 43_200,
  /** Largest SQS message body, bytes. @default 1048576 */
  maxMessageBytes: 1_048_576,
  /** Largest EventBridge Scheduler target `Input`, bytes. @default 8192 */
  schedulerMaxInputBytes: 8_192,
  /**
   * Longest error text stored in task state and given to `OnError` callbacks (and as a
   * dead-letter detail), characters (UTF-16 code units); a longer one is cut and ends with
   * `… [truncated]`. @default 4096
   */
  maxErrorTextLength: 4_096,
  /**
   * Largest typed results a task may return, bytes as DynamoDB counts them: the 400 KB item
   * limit minus 32 KB for the task's other attributes (UUID, name, a bounded error text,
   * counters). A larger result makes the task FAILURE `result-too-large`, without retries.
   * @default 368640
   */
  maxResultBytes: 368_640,
  /**
   * Longest task `Name` a signature may carry, characters (UTF-16 code units), at every level
   * (callbacks too). Refused at send and at decode (`invalid-signature`). Registered names are
   * identifiers; 256 leaves room for namespaced ones (`reports.monthly.pdf-v2`) while a name
   * stays well under 1 KB in the state item, the dead-letter attributes and the logs.
   * @default 256
   */
  maxTaskNameLength: 256,
  /**
   * Longest task `UUID` and `GroupUUID`, characters (printable ASCII). machinery's ids
   * (`task_<uuid>`) are 41; a task UUID is also the default FIFO `MessageGroupId` and part of
   * deduplication ids, which SQS caps at 128, so this cannot be raised.
   * @default 128
   */
  maxUuidLength: 128,
  /**
   * Smallest `Priority` that sends a task to the high-priority queue when one is configured and
   * the send names no queue. machinery's `Priority` is a `uint8` (0-255) that its AMQP broker
   * passes on as the message priority; RabbitMQ advises priorities of 1-10, and Go producers leave
   * it 0. 5 splits that 1-10 range in two, so a task that says nothing stays on the default queue.
   * @default 5
   */
  highPriorityThreshold: 5,
} as const;

/**
 * The CloudWatch metrics the worker emits (embedded metric format, Powertools Metrics) and the
 * construct alarms on. Every metric carries the `service` dimension.
 *
 * @example
 * ```ts
 * new Metric({ namespace: METRICS.namespace, metricName: METRICS.deploymentErrors,
 *   dimensionsMap: { service: METRICS.service } });
 * ```
 */
export const METRICS = {
  /** CloudWatch namespace. */
  namespace: 'Machinery',
  /** Value of the `service` dimension on every metric the worker emits. */
  service: 'machinery-worker',
  /** Errors of the deployment (access denied, a missing table or queue, an unreachable endpoint): count. */
  deploymentErrors: 'DeploymentErrors',
  /** One unclassified error code seen on 3 or more different messages within 5 minutes: count. */
  systemicErrors: 'SystemicErrors',
  /** Dimension of the per-task metrics below: the task's `Name`. */
  taskNameDimension: 'TaskName',
  /** Tasks recorded SUCCESS: count, by task name. */
  tasksSucceeded: 'TasksSucceeded',
  /** Tasks recorded FAILURE by their run (not dead-lettered): count, by task name. */
  tasksFailed: 'TasksFailed',
  /** Attempts that ended in RETRY: count, by task name. */
  tasksRetried: 'TasksRetried',
  /** Messages sent to a dead-letter queue by the worker: count, by task name. */
  tasksDeadLettered: 'TasksDeadLettered',
  /** How long an attempt that ran took (claim to final write): milliseconds, by task name. */
  taskDuration: 'TaskDuration',
} as const;

/** Logical ids of the queues. */
export type QueueId =
  | 'tasks'
  | 'tasksDlq'
  | 'highTasks'
  | 'highTasksDlq'
  | 'delay'
  | 'delayDlq'
  | 'schedulerDlq';

/**
 * What a queue is, independent of where it is created.
 *
 * @example
 * ```ts
 * const spec: QueueSpec = QUEUES.tasks;
 * ```
 */
export interface QueueSpec {
  readonly id: QueueId;
  /** Name without prefix; FIFO names end in `.fifo`. */
  readonly baseName: string;
  readonly fifo: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  /** FIFO high-throughput mode (`DeduplicationScope=messageGroup`, `FifoThroughputLimit=perMessageGroupId`). */
  readonly highThroughput: boolean;
  /** Redrive policy: where messages go after `maxReceiveCount` receives. */
  readonly redrive?: { readonly deadLetterQueue: QueueId; readonly maxReceiveCount: number };
}

const taskVisibility = DEFAULTS.workerTimeoutSeconds * DEFAULTS.visibilityTimeoutFactor;
const delayVisibility = DEFAULTS.forwarderTimeoutSeconds * DEFAULTS.visibilityTimeoutFactor;

/**
 * Every queue of a machinery-serverless deployment.
 *
 * @example
 * ```ts
 * for (const q of Object.values(QUEUES)) console.log(q.baseName, q.fifo);
 * ```
 */
export const QUEUES: { readonly [K in QueueId]: QueueSpec & { readonly id: K } } = {
  tasks: {
    id: 'tasks',
    baseName: 'tasks.fifo',
    fifo: true,
    visibilityTimeoutSeconds: taskVisibility,
    retentionSeconds: 4 * DAY,
    highThroughput: true,
    redrive: { deadLetterQueue: 'tasksDlq', maxReceiveCount: DEFAULTS.maxReceiveCount },
  },
  tasksDlq: {
    id: 'tasksDlq',
    baseName: 'tasks-dlq.fifo',
    fifo: true,
    visibilityTimeoutSeconds: taskVisibility,
    retentionSeconds: 14 * DAY,
    highThroughput: true,
  },
  /** The high-priority task queue: the task queue's rules, its own event source and DLQ. */
  highTasks: {
    id: 'highTasks',
    baseName: 'tasks-high.fifo',
    fifo: true,
    visibilityTimeoutSeconds: taskVisibility,
    retentionSeconds: 4 * DAY,
    highThroughput: true,
    redrive: { deadLetterQueue: 'highTasksDlq', maxReceiveCount: DEFAULTS.maxReceiveCount },
  },
  highTasksDlq: {
    id: 'highTasksDlq',
    baseName: 'tasks-high-dlq.fifo',
    fifo: true,
    visibilityTimeoutSeconds: taskVisibility,
    retentionSeconds: 14 * DAY,
    highThroughput: true,
  },
  delay: {
    id: 'delay',
    baseName: 'delay',
    fifo: false,
    visibilityTimeoutSeconds: delayVisibility,
    retentionSeconds: 4 * DAY,
    highThroughput: false,
    redrive: { deadLetterQueue: 'delayDlq', maxReceiveCount: DEFAULTS.delayMaxReceiveCount },
  },
  delayDlq: {
    id: 'delayDlq',
    baseName: 'delay-dlq',
    fifo: false,
    visibilityTimeoutSeconds: delayVisibility,
    retentionSeconds: 14 * DAY,
    highThroughput: false,
  },
  schedulerDlq: {
    id: 'schedulerDlq',
    baseName: 'scheduler-dlq',
    fifo: false,
    visibilityTimeoutSeconds: 30,
    retentionSeconds: 14 * DAY,
    highThroughput: false,
  },
};

/** Logical ids of the tables. */
export type TableId = 'taskStates' | 'groupMetas' | 'workers';

/**
 * What a DynamoDB table is: on-demand, TTL on {@link TableSpec.ttlAttribute}, a string partition
 * key, no sort key.
 *
 * @example
 * ```ts
 * const key = TABLES.taskStates.partitionKey; // 'TaskUUID'
 * ```
 */
export interface TableSpec {
  readonly id: TableId;
  readonly baseName: string;
  readonly partitionKey: string;
  readonly ttlAttribute: string;
}

/**
 * Every table of a machinery-serverless deployment.
 *
 * @example
 * ```ts
 * const { baseName, partitionKey } = TABLES.groupMetas;
 * ```
 */
export const TABLES: { readonly [K in TableId]: TableSpec & { readonly id: K } } = {
  taskStates: {
    id: 'taskStates',
    baseName: 'task_states',
    partitionKey: 'TaskUUID',
    ttlAttribute: 'TTL',
  },
  groupMetas: {
    id: 'groupMetas',
    baseName: 'group_metas',
    partitionKey: 'GroupUUID',
    ttlAttribute: 'TTL',
  },
  /** The alive records of running workers (liveness): one item per worker, lapsing by `TTL`. */
  workers: {
    id: 'workers',
    baseName: 'workers',
    partitionKey: 'WorkerId',
    ttlAttribute: 'TTL',
  },
};

/** Base name of the EventBridge Scheduler schedule group. */
export const SCHEDULE_GROUP_BASE_NAME = 'machinery';

/** Base name of the IAM role EventBridge Scheduler assumes to send to the delay queue. */
export const SCHEDULER_ROLE_BASE_NAME = 'machinery-scheduler';

/**
 * The environment variables every command, the SDK client and the handlers read (a contract:
 * `.machinery/local.env` holds exactly these lines; those of {@link OPTIONAL_ENV_KEYS} may be
 * missing from other sources).
 *
 * @example
 * ```ts
 * const url = process.env[ENV.taskQueueUrl];
 * ```
 */
export const ENV = {
  region: 'AWS_REGION',
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  endpointSqs: 'AWS_ENDPOINT_URL_SQS',
  endpointDynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  endpointScheduler: 'AWS_ENDPOINT_URL_SCHEDULER',
  taskQueueUrl: 'MACHINERY_TASK_QUEUE_URL',
  dlqUrl: 'MACHINERY_DLQ_URL',
  delayQueueUrl: 'MACHINERY_DELAY_QUEUE_URL',
  delayDlqUrl: 'MACHINERY_DELAY_DLQ_URL',
  schedulerDlqUrl: 'MACHINERY_SCHEDULER_DLQ_URL',
  taskStatesTable: 'MACHINERY_TASK_STATES_TABLE',
  groupMetasTable: 'MACHINERY_GROUP_METAS_TABLE',
  scheduleGroup: 'MACHINERY_SCHEDULE_GROUP',
  schedulerRoleArn: 'MACHINERY_SCHEDULER_ROLE_ARN',
  highTaskQueueUrl: 'MACHINERY_HIGH_TASK_QUEUE_URL',
  highDlqUrl: 'MACHINERY_HIGH_DLQ_URL',
  workersTable: 'MACHINERY_WORKERS_TABLE',
} as const;

/**
 * The `ENV` keys whose variables configure a deployment (`MACHINERY_*`; the `AWS_*` ones are the SDK's).
 *
 * @example
 * ```ts
 * const key: MachineryEnvKey = 'taskQueueUrl'; // ENV[key] === 'MACHINERY_TASK_QUEUE_URL'
 * ```
 */
export type MachineryEnvKey = {
  [K in keyof typeof ENV]: (typeof ENV)[K] extends `MACHINERY_${string}` ? K : never;
}[keyof typeof ENV];

/**
 * The `ENV` keys of a deployment, in `ENV` order.
 *
 * @example
 * ```ts
 * for (const key of MACHINERY_ENV_KEYS) console.log(ENV[key]); // MACHINERY_TASK_QUEUE_URL …
 * ```
 */
export const MACHINERY_ENV_KEYS: readonly MachineryEnvKey[] = (
  Object.keys(ENV) as (keyof typeof ENV)[]
).filter((k): k is MachineryEnvKey => ENV[k].startsWith('MACHINERY_'));

/**
 * The `ENV` keys a deployment may leave unset: each turns a feature on (the high-priority queue and
 * its DLQ; the workers' alive records), and a deployment without it works with the feature off.
 * Every other `MACHINERY_*` variable of a complete configuration (`.machinery/local.env`, a
 * stack's outputs) is always there.
 *
 * @example
 * ```ts
 * OPTIONAL_ENV_KEYS.includes('highTaskQueueUrl'); // true
 * ```
 */
export const OPTIONAL_ENV_KEYS: readonly MachineryEnvKey[] = [
  'highTaskQueueUrl',
  'highDlqUrl',
  'workersTable',
];

/**
 * Concrete names of every resource for one deployment (or one local run / one test).
 *
 * @example
 * ```ts
 * const names = resourceNames('t1a2b-');
 * names.queues.tasks; // 't1a2b-tasks.fifo'
 * ```
 */
export interface ResourceNames {
  readonly queues: { readonly [K in QueueId]: string };
  readonly tables: { readonly [K in TableId]: string };
  readonly scheduleGroup: string;
  readonly schedulerRole: string;
}

/**
 * Names of every resource with `prefix` in front (`''` for none). Names stay within AWS limits
 * (queue names ≤ 80 characters) for prefixes up to 40 characters.
 *
 * @example
 * ```ts
 * resourceNames('dev-').tables.taskStates; // 'dev-task_states'
 * ```
 */
export function resourceNames(prefix = ''): ResourceNames {
  if (!/^[A-Za-z0-9_-]{0,40}$/.test(prefix)) {
    throw new RangeError(
      `resource name prefix must be 0-40 characters of letters, digits, '-' or '_', got '${prefix}'`,
    );
  }
  const q = (id: QueueId) => `${prefix}${QUEUES[id].baseName}`;
  return {
    queues: {
      tasks: q('tasks'),
      tasksDlq: q('tasksDlq'),
      highTasks: q('highTasks'),
      highTasksDlq: q('highTasksDlq'),
      delay: q('delay'),
      delayDlq: q('delayDlq'),
      schedulerDlq: q('schedulerDlq'),
    },
    tables: {
      taskStates: `${prefix}${TABLES.taskStates.baseName}`,
      groupMetas: `${prefix}${TABLES.groupMetas.baseName}`,
      workers: `${prefix}${TABLES.workers.baseName}`,
    },
    scheduleGroup: `${prefix}${SCHEDULE_GROUP_BASE_NAME}`,
    schedulerRole: `${prefix}${SCHEDULER_ROLE_BASE_NAME}`,
  };
}

/**
 * Validation of the `Machinery` props: every problem of a props object, and of the queue
 * definitions of `src/core/resources.ts` for the chosen function timeouts, as one list the
 * construct throws as one `MachineryPropsError`. This module only reports; it builds nothing and
 * throws nothing.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { aws_dynamodb as dynamodb, Token } from 'aws-cdk-lib';
import {
  DEFAULTS,
  ENV,
  MACHINERY_ENV_KEYS,
  QUEUES,
  type QueueId,
  type QueueSpec,
  resourceNames,
  TABLES,
} from '../src/core/resources.js';
import { bundleSources, type MachineryFunctionOptions, type MachineryProps } from './props.js';

/**
 * Receives the task queue's redrive backstop must leave beyond the largest `RetryCount` plus the
 * crashes the worker tolerates: transient failures and FIFO group skips are receives too.
 *
 * @example
 * ```ts
 * const floor = DEFAULTS.maxRetryCount + DEFAULTS.maxCrashes + RECEIVE_COUNT_MARGIN; // 63
 * ```
 */
export const RECEIVE_COUNT_MARGIN = 10;

/** SQS limits the stack is checked against. */
const SQS_LIMITS = {
  maxReceiveCount: 1_000,
  minRetentionSeconds: 60,
  maxRetentionSeconds: 1_209_600,
} as const;

/**
 * What {@link checkResourceSpecs} checks.
 *
 * @example
 * ```ts
 * const input: ResourceSpecInput = { queues: QUEUES, defaults: DEFAULTS,
 *   workerTimeoutSeconds: 60, forwarderTimeoutSeconds: 30 };
 * ```
 */
export interface ResourceSpecInput {
  readonly queues: { readonly [K in QueueId]: QueueSpec };
  readonly defaults: Pick<
    typeof DEFAULTS,
    'maxRetryCount' | 'retryLaterDefaultCap' | 'maxCrashes' | 'visibilityTimeoutFactor'
  > & { readonly maxVisibilitySeconds: number };
  /** Timeout of the task queue's consumer (the worker), seconds. */
  readonly workerTimeoutSeconds: number;
  /** Timeout of the delay queue's consumer (the forwarder), seconds. */
  readonly forwarderTimeoutSeconds: number;
}

/**
 * Problems of the queue definitions for the given consumer timeouts (`[]` when none): redrive
 * backstops above the largest retry count plus crashes plus {@link RECEIVE_COUNT_MARGIN},
 * visibility timeouts at least `visibilityTimeoutFactor` × the consumer's timeout, DLQs of the
 * queue's own kind keeping messages longer than their source, SQS limits.
 *
 * @example
 * ```ts
 * checkResourceSpecs({ queues: QUEUES, defaults: DEFAULTS, workerTimeoutSeconds: 60,
 *   forwarderTimeoutSeconds: 30 }); // []
 * ```
 */
export function checkResourceSpecs(input: ResourceSpecInput): string[] {
  const { queues, defaults } = input;
  const problems: string[] = [];
  const consumerTimeout: Partial<Record<QueueId, [string, number]>> = {
    tasks: ['worker', input.workerTimeoutSeconds],
    highTasks: ['worker', input.workerTimeoutSeconds],
    delay: ['forwarder', input.forwarderTimeoutSeconds],
  };
  for (const spec of Object.values(queues)) {
    if (spec.fifo !== spec.baseName.endsWith('.fifo')) {
      problems.push(
        `queue ${spec.id}: a FIFO queue's name must end in '.fifo' and only a FIFO queue's may (got '${spec.baseName}')`,
      );
    }
    if (spec.highThroughput && !spec.fifo) {
      problems.push(`queue ${spec.id}: high-throughput mode exists only for FIFO queues`);
    }
    if (
      spec.retentionSeconds < SQS_LIMITS.minRetentionSeconds ||
      spec.retentionSeconds > SQS_LIMITS.maxRetentionSeconds
    ) {
      problems.push(
        `queue ${spec.id}: retention ${spec.retentionSeconds} s is outside SQS's ${SQS_LIMITS.minRetentionSeconds}-${SQS_LIMITS.maxRetentionSeconds} s`,
      );
    }
    if (spec.visibilityTimeoutSeconds > defaults.maxVisibilitySeconds) {
      problems.push(
        `queue ${spec.id}: visibility timeout ${spec.visibilityTimeoutSeconds} s exceeds SQS's ${defaults.maxVisibilitySeconds} s`,
      );
    }
    const consumer = consumerTimeout[spec.id];
    if (consumer !== undefined) {
      const [name, timeout] = consumer;
      const needed = timeout * defaults.visibilityTimeoutFactor;
      if (spec.visibilityTimeoutSeconds < needed) {
        problems.push(
          `queue ${spec.id}: visibility timeout ${spec.visibilityTimeoutSeconds} s is less than ${defaults.visibilityTimeoutFactor} x the ${name}'s timeout of ${timeout} s (${needed} s)`,
        );
      }
    }
    if (spec.redrive !== undefined) {
      const dlq = queues[spec.redrive.deadLetterQueue];
      const { maxReceiveCount } = spec.redrive;
      if (dlq.fifo !== spec.fifo) {
        problems.push(
          `queue ${spec.id}: its dead-letter queue ${dlq.id} must be ${spec.fifo ? 'FIFO' : 'standard'} like it`,
        );
      }
      if (dlq.redrive !== undefined) {
        problems.push(
          `queue ${spec.id}: its dead-letter queue ${dlq.id} has a redrive policy itself`,
        );
      }
      if (dlq.retentionSeconds <= spec.retentionSeconds) {
        problems.push(
          `queue ${spec.id}: its dead-letter queue ${dlq.id} keeps messages ${dlq.retentionSeconds} s, not longer than the queue's ${spec.retentionSeconds} s (SQS keeps a message's original enqueue time)`,
        );
      }
      if (
        !Number.isInteger(maxReceiveCount) ||
        maxReceiveCount < 1 ||
        maxReceiveCount > SQS_LIMITS.maxReceiveCount
      ) {
        problems.push(
          `queue ${spec.id}: maxReceiveCount ${maxReceiveCount} is not an integer in 1-${SQS_LIMITS.maxReceiveCount}`,
        );
      }
      if (spec.id === 'tasks' || spec.id === 'highTasks') {
        const retries = Math.max(defaults.maxRetryCount, defaults.retryLaterDefaultCap);
        const floor = retries + defaults.maxCrashes + RECEIVE_COUNT_MARGIN;
        if (maxReceiveCount <= floor) {
          problems.push(
            `queue ${spec.id}: maxReceiveCount ${maxReceiveCount} must exceed the largest RetryCount (${retries}) + maxCrashes (${defaults.maxCrashes}) + a margin of ${RECEIVE_COUNT_MARGIN} = ${floor}: every retry is a receive, and the redrive policy is only the crash-loop backstop`,
          );
        }
      }
    }
  }
  return problems;
}

/** The smallest `maxConcurrency` of an SQS event source (Lambda's limit). */
const MIN_EVENT_SOURCE_CONCURRENCY = 2;

/**
 * Problems of the worker's two event sources against its reserved concurrency. Each source's
 * `maxConcurrency` is only a ceiling; the high-priority queue keeps `highQueueMaxConcurrency`
 * executions for itself only when the reserved concurrency holds both ceilings, and the default
 * queue keeps room only when the high queue's ceiling leaves at least the smallest one.
 */
function concurrencyProblems(props: MachineryProps): string[] {
  const problems: string[] = [];
  const high = props.highQueueMaxConcurrency;
  if (high === undefined) return problems;
  if (!Number.isInteger(high) || high < MIN_EVENT_SOURCE_CONCURRENCY || high > 1000) {
    problems.push(`highQueueMaxConcurrency must be an integer in 2-1000 (got ${high})`);
    return problems;
  }
  const reserved = props.workerFunctionProps?.reservedConcurrentExecutions;
  if (reserved === undefined || Token.isUnresolved(reserved)) return problems;
  const room = reserved - high;
  if (room < MIN_EVENT_SOURCE_CONCURRENCY) {
    problems.push(
      `highQueueMaxConcurrency ${high} leaves the default task queue ${room} of the worker's reserved concurrency of ${reserved}: keep at least ${MIN_EVENT_SOURCE_CONCURRENCY} (the smallest event source maxConcurrency) for it`,
    );
    return problems;
  }
  const low = props.workerFunctionProps?.maxConcurrency;
  if (low === undefined) {
    problems.push(
      `workerFunctionProps.maxConcurrency is not set: with highQueueMaxConcurrency ${high} and a reserved concurrency of ${reserved}, the default task queue's event source may take all ${reserved} executions and leave none to the high-priority queue; set it to at most ${room}`,
    );
  } else if (low + high > reserved) {
    problems.push(
      `workerFunctionProps.maxConcurrency ${low} + highQueueMaxConcurrency ${high} = ${low + high} exceed the worker's reserved concurrency of ${reserved}: the default task queue could take executions the high-priority queue is promised; set it to at most ${room}`,
    );
  }
  return problems;
}

/** Environment variables a user may not set on the functions. */
function reservedEnvProblems(label: string, env: Readonly<Record<string, string>> | undefined) {
  const problems: string[] = [];
  const machinery = new Set<string>(MACHINERY_ENV_KEYS.map((k) => ENV[k]));
  for (const name of Object.keys(env ?? {})) {
    if (machinery.has(name)) {
      problems.push(
        `${label}.environment sets ${name}, which the construct sets from its resources`,
      );
    } else if (name.startsWith('AWS_')) {
      problems.push(
        `${label}.environment sets ${name}: AWS_* variables are reserved for Lambda and the SDK`,
      );
    }
  }
  return problems;
}

function functionOptionProblems(
  label: string,
  options: MachineryFunctionOptions | undefined,
  maxTimeoutSeconds: number,
): string[] {
  if (options === undefined) return [];
  const problems = reservedEnvProblems(label, options.environment);
  if (options.timeout !== undefined) {
    const seconds = options.timeout.toSeconds();
    if (seconds > maxTimeoutSeconds) {
      problems.push(
        `${label}.timeout is ${seconds} s, more than ${maxTimeoutSeconds} s: the queue's visibility timeout in resources.ts allows at most that (${DEFAULTS.visibilityTimeoutFactor} x rule) and the worker's lease assumes it`,
      );
    }
  }
  const mc = options.maxConcurrency;
  if (mc !== undefined && (!Number.isInteger(mc) || mc < 2 || mc > 1000)) {
    problems.push(`${label}.maxConcurrency must be an integer in 2-1000 (got ${mc})`);
  }
  const mem = options.memorySize;
  if (
    mem !== undefined &&
    !Token.isUnresolved(mem) &&
    (!Number.isInteger(mem) || mem < 128 || mem > 10_240)
  ) {
    problems.push(`${label}.memorySize must be an integer in 128-10240 MiB (got ${mem})`);
  }
  return problems;
}

/**
 * Every problem of `props` (`[]` when they are valid), including those of the queue definitions
 * of `resources.ts` for the chosen function timeouts. {@link Machinery} throws them as one
 * {@link MachineryPropsError}.
 *
 * @example
 * ```ts
 * validateMachineryProps({ resourcePrefix: 'bad prefix!' }); // ['resourcePrefix …']
 * ```
 */
export function validateMachineryProps(props: MachineryProps): string[] {
  const problems: string[] = [];
  if (props.resourcePrefix !== undefined) {
    try {
      resourceNames(props.resourcePrefix);
    } catch (e) {
      problems.push(`resourcePrefix: ${(e as Error).message}`);
    }
  }
  const sources = bundleSources(props);
  if (!existsSync(sources.projectRoot)) {
    problems.push(`projectRoot ${sources.projectRoot} does not exist`);
  }
  if (props.workerEntry !== undefined && !existsSync(sources.workerEntry)) {
    problems.push(`workerEntry ${sources.workerEntry} does not exist`);
  }
  if (props.workerHandler !== undefined && !/^[A-Za-z_$][\w$]*$/.test(props.workerHandler)) {
    problems.push(`workerHandler '${props.workerHandler}' is not an export name`);
  }
  if (!existsSync(sources.depsLockFilePath)) {
    problems.push(`depsLockFilePath ${sources.depsLockFilePath} does not exist`);
  }
  const hasExistingTable =
    props.existingTaskStatesTable !== undefined || props.existingGroupMetasTable !== undefined;
  const bothExisting =
    props.existingTaskStatesTable !== undefined && props.existingGroupMetasTable !== undefined;
  if (bothExisting && props.tableRemovalPolicy !== undefined) {
    problems.push('tableRemovalPolicy applies to new tables, but both tables are existing ones');
  }
  if (bothExisting && props.tableDeletionProtection !== undefined) {
    problems.push(
      'tableDeletionProtection applies to new tables, but both tables are existing ones',
    );
  }
  if (hasExistingTable) {
    for (const [id, table] of [
      ['taskStates', props.existingTaskStatesTable],
      ['groupMetas', props.existingGroupMetasTable],
    ] as const) {
      if (table instanceof dynamodb.Table) {
        const key = table.schema().partitionKey;
        const expected = TABLES[id].partitionKey;
        if (key?.name !== expected || key.type !== dynamodb.AttributeType.STRING) {
          problems.push(
            `existing ${TABLES[id].baseName} table has partition key ${key?.name} (${key?.type}); machinery needs ${expected} (S)`,
          );
        }
      }
    }
  }
  const age = props.oldestMessageAgeAlarmSeconds;
  if (age !== undefined && (!Number.isInteger(age) || age < 60)) {
    problems.push(`oldestMessageAgeAlarmSeconds must be an integer >= 60 (got ${age})`);
  }
  problems.push(
    ...functionOptionProblems(
      'workerFunctionProps',
      props.workerFunctionProps,
      DEFAULTS.workerTimeoutSeconds,
    ),
    ...functionOptionProblems(
      'forwarderFunctionProps',
      props.forwarderFunctionProps,
      DEFAULTS.forwarderTimeoutSeconds,
    ),
  );
  problems.push(...concurrencyProblems(props));
  problems.push(
    ...checkResourceSpecs({
      queues: QUEUES,
      defaults: DEFAULTS,
      workerTimeoutSeconds: timeoutSeconds(
        props.workerFunctionProps,
        DEFAULTS.workerTimeoutSeconds,
      ),
      forwarderTimeoutSeconds: timeoutSeconds(
        props.forwarderFunctionProps,
        DEFAULTS.forwarderTimeoutSeconds,
      ),
    }),
  );
  return problems;
}

function timeoutSeconds(options: MachineryFunctionOptions | undefined, fallback: number): number {
  return options?.timeout?.toSeconds() ?? fallback;
}

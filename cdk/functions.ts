/**
 * The Lambda functions of a machinery deployment and their SQS event sources: the worker
 * (consumer of the task queue and of the high-priority task queue, one event source each, each
 * with its own `maxConcurrency`) and the forwarder (consumer of the delay queue), each a
 * `NodejsFunction` bundled by esbuild from its entry path (no Docker), on `nodejs24.x` arm64, with
 * its own execution role and log group, the deployment's `MACHINERY_*` environment, and an event
 * source with batches of 10 and `reportBatchItemFailures`. What the roles may call beyond their
 * logs and their queue is `grants.ts`'s concern.
 *
 * @module
 */
import {
  Duration,
  aws_lambda_event_sources as eventSources,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_lambda_nodejs as nodejs,
  type aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DEFAULTS, FUNCTION_MEMORY_MB } from '../src/core/resources.js';
import { bundleSources, type MachineryFunctionOptions, type MachineryProps } from './props.js';
import type { MachineryQueues } from './queues.js';

/**
 * One function of a deployment with its role and log group.
 *
 * @example
 * ```ts
 * const { worker } = buildFunctions(this, props, environment, queues);
 * worker.fn.addEnvironment('MY_SETTING', 'on');
 * ```
 */
export interface MachineryFunction {
  /** The function. */
  readonly fn: nodejs.NodejsFunction;
  /** Its execution role. */
  readonly role: iam.Role;
  /** Its log group. */
  readonly logGroup: logs.LogGroup;
}

/**
 * Creates the worker and the forwarder in `scope`, each consuming its queue. `environment` is the
 * deployment's configuration (every `MACHINERY_*` variable); it wins over the user's variables of
 * the same name, which validation refuses anyway.
 *
 * @example
 * ```ts
 * const { worker, forwarder } = buildFunctions(this, props, machinery.environment, queues);
 * ```
 */
export function buildFunctions(
  scope: Construct,
  props: MachineryProps,
  environment: Readonly<Record<string, string>>,
  queues: Pick<MachineryQueues, 'tasks' | 'highTasks' | 'delay'>,
): { worker: MachineryFunction; forwarder: MachineryFunction } {
  const sources = bundleSources(props);
  const common = {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    projectRoot: sources.projectRoot,
    depsLockFilePath: sources.depsLockFilePath,
    environment,
  };
  const worker = buildFunction(scope, 'Worker', {
    ...common,
    entry: sources.workerEntry,
    handler: props.workerHandler ?? 'handler',
    timeoutSeconds: DEFAULTS.workerTimeoutSeconds,
    memorySize: FUNCTION_MEMORY_MB.worker,
    description:
      'machinery worker: runs the tasks of the FIFO task queue (reportBatchItemFailures)',
    options: props.workerFunctionProps,
  });
  const forwarder = buildFunction(scope, 'Forwarder', {
    ...common,
    entry: sources.forwarderEntry,
    handler: 'handler',
    timeoutSeconds: DEFAULTS.forwarderTimeoutSeconds,
    memorySize: FUNCTION_MEMORY_MB.forwarder,
    description: 'machinery forwarder: moves delayed tasks from the delay queue to the task queue',
    options: props.forwarderFunctionProps,
  });
  consume(worker.fn, queues.tasks, props.workerFunctionProps?.maxConcurrency);
  consume(worker.fn, queues.highTasks, props.highQueueMaxConcurrency);
  consume(forwarder.fn, queues.delay, props.forwarderFunctionProps?.maxConcurrency);
  return { worker, forwarder };
}

/**
 * An SQS event source of `queue` on `fn`: batches of 10, partial batch responses, at most
 * `maxConcurrency` invocations at once when given.
 */
function consume(
  fn: lambda.IFunction,
  queue: sqs.IQueue,
  maxConcurrency: number | undefined,
): void {
  fn.addEventSource(
    new eventSources.SqsEventSource(queue, {
      batchSize: 10,
      reportBatchItemFailures: true,
      ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
    }),
  );
}

function buildFunction(
  scope: Construct,
  id: string,
  spec: {
    entry: string;
    handler: string;
    timeoutSeconds: number;
    memorySize: number;
    description: string;
    options: MachineryFunctionOptions | undefined;
    retention: logs.RetentionDays;
    projectRoot: string;
    depsLockFilePath: string;
    environment: Readonly<Record<string, string>>;
  },
): MachineryFunction {
  const options = spec.options ?? {};
  const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, { retention: spec.retention });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of the machinery ${id.toLowerCase()}`,
  });
  logGroup.grantWrite(role);
  const fn = new nodejs.NodejsFunction(scope, `${id}Function`, {
    entry: spec.entry,
    handler: spec.handler,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    timeout: options.timeout ?? Duration.seconds(spec.timeoutSeconds),
    memorySize: options.memorySize ?? spec.memorySize,
    description: options.description ?? spec.description,
    role,
    logGroup,
    // Chains, callbacks and retries legitimately send to the queue the function consumes
    // (worker → task queue → worker; forwarder → delay queue → forwarder): Lambda's recursive
    // loop detection would stop them after 16 hops.
    recursiveLoop: lambda.RecursiveLoop.ALLOW,
    ...(options.reservedConcurrentExecutions === undefined
      ? {}
      : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
    environment: {
      ...options.environment,
      ...spec.environment,
      NODE_OPTIONS: [options.environment?.NODE_OPTIONS, '--enable-source-maps']
        .filter((o) => o !== undefined && o !== '')
        .join(' '),
    },
    projectRoot: spec.projectRoot,
    depsLockFilePath: spec.depsLockFilePath,
    bundling: {
      forceDockerBundling: false,
      format: nodejs.OutputFormat.ESM,
      mainFields: ['module', 'main'],
      // Some bundled CommonJS dependencies `require` Node built-ins.
      banner:
        "import { createRequire as __machineryCreateRequire } from 'node:module'; const require = __machineryCreateRequire(import.meta.url);",
      minify: true,
      sourceMap: true,
      // The versions this project is tested with, not the runtime's.
      bundleAwsSDK: true,
      ...options.bundling,
    },
  });
  return { fn, role, logGroup };
}

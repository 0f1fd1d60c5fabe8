/**
 * The props of the `Machinery` construct and their resolved defaults. This module owns the shapes
 * a user passes (construct props, function settings, grant options) and where the bundles come
 * from; checking the props is `validation.ts`'s job, building resources the builders'.
 *
 * @module
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  Duration,
  aws_dynamodb as dynamodb,
  aws_logs as logs,
  aws_lambda_nodejs as nodejs,
  RemovalPolicy,
  aws_sns as sns,
} from 'aws-cdk-lib';

/**
 * The repository root (the parent of `cdk/`): default project root of the bundles.
 *
 * @example
 * ```ts
 * join(REPO_ROOT, 'examples', 'worker.ts'); // the default worker entry
 * ```
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A table the construct accepts: any `ITable` (`Table` and `TableV2` are listed because, under
 * `exactOptionalPropertyTypes`, CDK's own classes do not type-check as `ITable`).
 *
 * @example
 * ```ts
 * const existing: MachineryTable = dynamodb.Table.fromTableName(stack, 'States', 'task_states');
 * ```
 */
export type MachineryTable = dynamodb.ITable | dynamodb.Table | dynamodb.TableV2;

/**
 * Settings of the worker or the forwarder function. The runtime (`nodejs24.x`), architecture
 * (arm64), handler wiring, role and `MACHINERY_*` environment are fixed by the construct.
 *
 * @example
 * ```ts
 * const worker: MachineryFunctionOptions = { memorySize: 1024, maxConcurrency: 50 };
 * ```
 */
export interface MachineryFunctionOptions {
  /** Memory, MiB. @default 512 (worker), 256 (forwarder) */
  readonly memorySize?: number;
  /**
   * Function timeout. At most the default (`DEFAULTS.workerTimeoutSeconds` /
   * `forwarderTimeoutSeconds`): the queue's visibility timeout (from `resources.ts`) must stay at
   * least `DEFAULTS.visibilityTimeoutFactor` times it, and the worker's lease assumes it.
   * @default the `DEFAULTS` value
   */
  readonly timeout?: Duration;
  /** Extra environment variables; may not set a `MACHINERY_*` variable of `ENV` nor any `AWS_*`. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Reserved concurrency of the function. @default none */
  readonly reservedConcurrentExecutions?: number;
  /** Most concurrent invocations the SQS event source makes (2–1000). @default no limit */
  readonly maxConcurrency?: number;
  /** Description of the function. */
  readonly description?: string;
  /**
   * esbuild options merged over the construct's (ESM, minified, source maps, AWS SDK bundled,
   * `forceDockerBundling: false`).
   */
  readonly bundling?: nodejs.BundlingOptions;
}

/**
 * Props of {@link Machinery}.
 *
 * @example
 * ```ts
 * const props: MachineryProps = { workerEntry: 'src/worker.ts', alarmTopic: topic };
 * ```
 */
export interface MachineryProps {
  /**
   * Prefix of the physical resource names (`resourceNames(prefix)` of `resources.ts`, e.g.
   * `dev-` → `dev-tasks.fifo`, `dev-task_states`). Without it CloudFormation generates unique
   * names, so several deployments fit one account and region.
   * @default generated names
   */
  readonly resourcePrefix?: string;
  /**
   * Path of the worker module (TypeScript or JavaScript) exporting the Lambda handler, typically
   * `export const handler = createWorker({ tasks })`; relative paths are resolved against the
   * current directory.
   * @default examples/worker.ts of this repository (machinery's example tasks)
   */
  readonly workerEntry?: string;
  /** Name of the handler export of {@link MachineryProps.workerEntry}. @default 'handler' */
  readonly workerHandler?: string;
  /**
   * Directory esbuild bundles from (must contain the entries and `node_modules`).
   * @default this repository's root
   */
  readonly projectRoot?: string;
  /** Lock file of {@link MachineryProps.projectRoot}. @default `<projectRoot>/package-lock.json` */
  readonly depsLockFilePath?: string;
  /** Worker function settings. */
  readonly workerFunctionProps?: MachineryFunctionOptions;
  /** Forwarder function settings. */
  readonly forwarderFunctionProps?: MachineryFunctionOptions;
  /**
   * An existing `task_states` table (partition key `TaskUUID` (S), TTL on `TTL`) instead of a new
   * one, e.g. one retained from an earlier deployment.
   */
  readonly existingTaskStatesTable?: MachineryTable;
  /** An existing `group_metas` table (partition key `GroupUUID` (S), TTL on `TTL`). */
  readonly existingGroupMetasTable?: MachineryTable;
  /**
   * Removal policy of the new tables (not allowed with an existing table).
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /** Deletion protection of the new tables. @default false */
  readonly tableDeletionProtection?: boolean;
  /** Alarm (and OK) action of every alarm. @default no action */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Threshold of the task queue's `ApproximateAgeOfOldestMessage` alarm, seconds.
   * @default 3600
   */
  readonly oldestMessageAgeAlarmSeconds?: number;
  /** Retention of the functions' log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Options of {@link Machinery.grantProducer}.
 *
 * @example
 * ```ts
 * machinery.grantProducer(role, { cancel: true, periodic: true });
 * ```
 */
export interface ProducerGrantOptions {
  /** Also allow `cancel()`: `dynamodb:UpdateItem` on `task_states`, `scheduler:DeleteSchedule`. @default false */
  readonly cancel?: boolean;
  /**
   * Also allow periodic tasks: `scheduler:GetSchedule`, `UpdateSchedule`, `DeleteSchedule` on the
   * group's schedules and `scheduler:ListSchedules` (no resource-level permissions: `*`).
   * @default false
   */
  readonly periodic?: boolean;
}

/**
 * Where the bundles come from: {@link MachineryProps.projectRoot},
 * {@link MachineryProps.depsLockFilePath} and the worker entry with their defaults applied
 * (the entry resolved against the current directory).
 *
 * @example
 * ```ts
 * bundleSources({}).workerEntry; // <repository>/examples/worker.ts
 * ```
 */
export function bundleSources(props: MachineryProps): {
  projectRoot: string;
  depsLockFilePath: string;
  workerEntry: string;
} {
  const projectRoot = props.projectRoot ?? REPO_ROOT;
  return {
    projectRoot,
    depsLockFilePath: props.depsLockFilePath ?? join(projectRoot, 'package-lock.json'),
    workerEntry: resolve(props.workerEntry ?? join(REPO_ROOT, 'examples', 'worker.ts')),
  };
}

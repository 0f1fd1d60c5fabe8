/**
 * The props of the `Machinery` construct and their resolved defaults. This module owns the shapes
 * a user passes (construct props, function settings, grant options) and where the bundles come
 * from; checking the props is `validation.ts`'s job, building resources the builders'.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  Duration,
  aws_dynamodb as dynamodb,
  aws_logs as logs,
  aws_lambda_nodejs as nodejs,
  RemovalPolicy,
  aws_sns as sns,
} from 'aws-cdk-lib';

/** `.ts` when this module runs from the sources (a checkout), `.js` in the built package. */
const OWN_EXTENSION = extname(fileURLToPath(import.meta.url));

/**
 * A module of this package by its path from the package root, without extension: the TypeScript
 * source in a checkout (`src/handlers/forwarder.ts`), the built JavaScript in an installed package
 * (`node_modules/machinery-serverless/dist/src/handlers/forwarder.js`). The construct bundles its
 * own functions from here, wherever the package lives.
 *
 * @example
 * ```ts
 * packageModule('src/handlers/forwarder'); // …/src/handlers/forwarder.ts in a checkout
 * ```
 */
export function packageModule(path: string): string {
  return fileURLToPath(new URL(`../${path}${OWN_EXTENSION}`, import.meta.url));
}

/**
 * Lock files esbuild bundling accepts as `depsLockFilePath`, in the order they are looked for.
 *
 * @example
 * ```ts
 * LOCK_FILES.includes('pnpm-lock.yaml'); // true
 * ```
 */
export const LOCK_FILES = [
  'package-lock.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  'bun.lock',
] as const;

/** The first lock file of {@link LOCK_FILES} in `dir` (or, with `upwards`, in its ancestors). */
function findLockFile(dir: string, upwards: boolean): string | undefined {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const found = LOCK_FILES.map((name) => join(current, name)).find((file) => existsSync(file));
    if (found !== undefined || !upwards || dirname(current) === current) return found;
  }
}

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
  /**
   * Most concurrent invocations the SQS event source makes (2–1000); for the worker, the event
   * source of the default task queue. @default no limit
   */
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
   * @default this package's example worker (machinery's example tasks)
   */
  readonly workerEntry?: string;
  /** Name of the handler export of {@link MachineryProps.workerEntry}. @default 'handler' */
  readonly workerHandler?: string;
  /**
   * Directory esbuild bundles from: it must contain the worker entry and the `node_modules` this
   * package is installed in.
   * @default the directory of {@link MachineryProps.depsLockFilePath}
   */
  readonly projectRoot?: string;
  /**
   * Lock file of the project (`package-lock.json`, `yarn.lock`, `pnpm-lock.yaml`, `bun.lockb`
   * or `bun.lock`).
   * @default the first one in `projectRoot` when given; otherwise the nearest one in or above the
   * worker entry's directory, else in or above the current directory
   */
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
  /**
   * Most concurrent worker invocations the event source of the high-priority task queue makes
   * (2–1000). A ceiling, not a priority: with the worker's `reservedConcurrentExecutions` it must
   * leave at least 2 for the default queue, and `workerFunctionProps.maxConcurrency` must then be
   * set so both caps fit the reserved concurrency (validated at synth), which is what keeps this
   * many executions free for the high queue.
   * @default no limit
   */
  readonly highQueueMaxConcurrency?: number;
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
 * {@link MachineryProps.depsLockFilePath}, the worker entry (resolved against `cwd`) with their
 * defaults applied, and the forwarder's entry inside this package. When no lock file is found,
 * `depsLockFilePath` names `package-lock.json` in the project root, which validation reports as
 * missing.
 *
 * @example
 * ```ts
 * bundleSources({ workerEntry: 'src/worker.ts' }).projectRoot; // the directory of its package-lock.json
 * ```
 */
export function bundleSources(
  props: MachineryProps,
  cwd: string = process.cwd(),
): {
  projectRoot: string;
  depsLockFilePath: string;
  workerEntry: string;
  forwarderEntry: string;
} {
  const workerEntry = resolve(cwd, props.workerEntry ?? packageModule('examples/worker'));
  const given = props.projectRoot === undefined ? undefined : resolve(cwd, props.projectRoot);
  const lock =
    props.depsLockFilePath !== undefined
      ? resolve(cwd, props.depsLockFilePath)
      : given !== undefined
        ? findLockFile(given, false)
        : (findLockFile(dirname(workerEntry), true) ?? findLockFile(cwd, true));
  const projectRoot = given ?? (lock === undefined ? cwd : dirname(lock));
  return {
    projectRoot,
    depsLockFilePath: lock ?? join(projectRoot, 'package-lock.json'),
    workerEntry,
    forwarderEntry: packageModule('src/handlers/forwarder'),
  };
}

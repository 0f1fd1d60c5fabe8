/**
 * The configuration of one deployment: a source of variables turned into validated settings plus
 * the options of the AWS clients that reach it. Every consumer (SDK client, worker, forwarder,
 * CLI) reads its configuration through {@link resolveSettings}, so all of them accept and refuse
 * the same values, with the same error.
 *
 * A {@link SettingsSource} is plain data: a record of `MACHINERY_*` and `AWS_*` variables, a
 * description for messages, a hint on how to fix a missing value, and whether its AWS credentials
 * are passed to the clients explicitly. The sources offered here:
 *
 * | source | variables | credentials |
 * | --- | --- | --- |
 * | {@link fromEnv}`()` | `process.env` | the SDK's chain |
 * | {@link fromEnv}`(record)` | the record (a Lambda's `process.env`, `localStack.env`) | from the record when it holds keys |
 * | {@link fromLocalEnv}`(path?)` | `.machinery/local.env`, written by `machinery local up` | from the file |
 * | {@link fromVariables}`(record, …)` | any record, described as the caller says | as the caller says |
 * | `fromStack(name)` (`./stack-source.ts`, async) | a deployed stack's CloudFormation outputs, by Description | the SDK's chain |
 *
 * A source that has to be fetched first (like `fromStack`) is an async function resolving to a
 * {@link SettingsSource} built with {@link fromVariables}; nothing else changes.
 *
 * Region and the `AWS_ENDPOINT_URL_SQS` / `_DYNAMODB` / `_SCHEDULER` endpoints of the source are
 * always passed to the clients; explicit `aws` client options win over them. Values are trimmed;
 * an empty value counts as unset. Validation (one {@link ConfigError} naming every missing or
 * invalid variable):
 *
 * | setting | rule |
 * | --- | --- |
 * | task queue, its DLQ, high-priority queue, its DLQ | an `http(s)://host/<account>/<name>.fifo` SQS queue URL |
 * | delay queue, its DLQ, Scheduler DLQ | an `http(s)://host/<account>/<name>` standard queue URL |
 * | tables | DynamoDB's rule: 3-255 letters, digits, `_`, `-`, `.` |
 * | schedule group | EventBridge Scheduler's rule: 1-64 letters, digits, `_`, `-`, `.` |
 * | Scheduler role | an IAM role ARN |
 * | endpoints | `http(s)://` URLs |
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ENV,
  MACHINERY_ENV_KEYS,
  type MachineryEnvKey,
  OPTIONAL_ENV_KEYS,
} from '../core/resources.js';
import type { AwsClientOptions } from './config.js';
import { ConfigError } from './errors.js';

/**
 * Variables by name, as `process.env` holds them.
 *
 * @example
 * ```ts
 * const vars: Variables = { MACHINERY_TASK_QUEUE_URL: 'https://sqs…/tasks.fifo' };
 * ```
 */
export type Variables = Readonly<Record<string, string | undefined>>;

/**
 * Where settings come from. Plain data, so any origin (the environment, a file, a stack's
 * outputs) becomes a source by filling these fields.
 *
 * @example
 * ```ts
 * const source: SettingsSource = fromVariables(outputs, { describe: 'stack my-app' });
 * ```
 */
export interface SettingsSource {
  /** Names the source in messages: `the environment`, `.machinery/local.env (/path)`. */
  readonly describe: string;
  /** The `MACHINERY_*` and `AWS_*` variables it holds, by name. */
  readonly variables: Variables;
  /**
   * Whether `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) of the source
   * go to the clients explicitly; when `false`, the SDK's credential chain is used.
   */
  readonly explicitCredentials: boolean;
  /** How to fix a missing or invalid value, appended to the error. */
  readonly hint: string;
}

/**
 * The `MACHINERY_*` settings of a deployment (the stack's outputs, or `.machinery/local.env`), by
 * their key in `ENV`.
 *
 * @example
 * ```ts
 * const { settings } = resolveSettings(fromEnv(), { required: ['taskQueueUrl'] });
 * const cfg: Partial<MachineryConfig> = settings;
 * ```
 */
export interface MachineryConfig extends Record<MachineryEnvKey, string> {
  /** `AWS_REGION` when set. */
  region?: string;
  /** `MACHINERY_TASK_QUEUE_URL`: the FIFO task queue. */
  taskQueueUrl: string;
  /** `MACHINERY_DLQ_URL`: the FIFO dead-letter queue of the task queue. */
  dlqUrl: string;
  /** `MACHINERY_DELAY_QUEUE_URL`: the standard delay queue. */
  delayQueueUrl: string;
  /** `MACHINERY_DELAY_DLQ_URL`: the dead-letter queue of the delay queue. */
  delayDlqUrl: string;
  /** `MACHINERY_SCHEDULER_DLQ_URL`: the Scheduler's (standard) dead-letter queue. */
  schedulerDlqUrl: string;
  /** `MACHINERY_TASK_STATES_TABLE`. */
  taskStatesTable: string;
  /** `MACHINERY_GROUP_METAS_TABLE`. */
  groupMetasTable: string;
  /** `MACHINERY_SCHEDULE_GROUP`. */
  scheduleGroup: string;
  /** `MACHINERY_SCHEDULER_ROLE_ARN`. */
  schedulerRoleArn: string;
  /** `MACHINERY_HIGH_TASK_QUEUE_URL`: the FIFO high-priority task queue (optional: unset = off). */
  highTaskQueueUrl: string;
  /** `MACHINERY_HIGH_DLQ_URL`: the FIFO dead-letter queue of the high-priority queue (optional). */
  highDlqUrl: string;
  /** `MACHINERY_WORKERS_TABLE`: the workers' alive records (optional: unset = liveness off). */
  workersTable: string;
}

/**
 * A `MACHINERY_*` setting (the same keys as `MachineryEnvKey` of `src/core/resources.ts`).
 *
 * @example
 * ```ts
 * const key: MachineryConfigKey = 'taskStatesTable';
 * ```
 */
export type MachineryConfigKey = MachineryEnvKey;

/**
 * The settings EventBridge Scheduler needs (ETAs more than 15 minutes away, periodic tasks).
 *
 * @example
 * ```ts
 * const missing = SCHEDULER_SETTINGS.filter((k) => settings[k] === undefined);
 * ```
 */
export const SCHEDULER_SETTINGS: readonly MachineryEnvKey[] = [
  'scheduleGroup',
  'schedulerRoleArn',
  'delayQueueUrl',
  'schedulerDlqUrl',
];

/**
 * Where `machinery local up` writes its configuration, relative to the directory it runs in.
 *
 * @example
 * ```ts
 * const file = join(process.cwd(), LOCAL_ENV_FILE);
 * ```
 */
export const LOCAL_ENV_FILE = '.machinery/local.env';

/** The session token of temporary credentials (not in `ENV`: the local stack never sets it). */
const SESSION_TOKEN_ENV = 'AWS_SESSION_TOKEN';

/** Every key of `ENV`, in the order `.machinery/local.env` lists them. */
const ALL_ENV_KEYS = Object.keys(ENV) as (keyof typeof ENV)[];

/** The names of the variables a configuration may leave unset (`OPTIONAL_ENV_KEYS`). */
const OPTIONAL_NAMES: ReadonlySet<string> = new Set(OPTIONAL_ENV_KEYS.map((k) => ENV[k]));

const ENV_HINT =
  "run `machinery local up` and load .machinery/local.env, or export the deployed stack's outputs";

/**
 * A source over any record of variables.
 *
 * @param options.describe names the source in messages. @default 'the given variables'
 * @param options.explicitCredentials pass the record's AWS keys to the clients. @default true
 * @param options.hint how to fix a missing value. @default run `machinery local up` or export the stack's outputs
 *
 * @example
 * ```ts
 * const source = fromVariables(stackOutputs, { describe: 'the outputs of stack my-app' });
 * ```
 */
export function fromVariables(
  variables: Variables,
  options: { describe?: string; explicitCredentials?: boolean; hint?: string } = {},
): SettingsSource {
  return {
    describe: options.describe ?? 'the given variables',
    variables,
    explicitCredentials: options.explicitCredentials ?? true,
    hint: options.hint ?? ENV_HINT,
  };
}

/**
 * The environment as a source. With no argument it reads `process.env` and leaves credentials to
 * the SDK's chain; given a record (a Lambda's `process.env`, a local stack's `env`), it also takes
 * the record's static credentials, session token included.
 *
 * @param env the variables. @default process.env
 *
 * @example
 * ```ts
 * const client = createClient({ source: fromEnv(localStack.env) });
 * ```
 */
export function fromEnv(env?: Variables): SettingsSource {
  return fromVariables(env ?? process.env, {
    describe: 'the environment',
    explicitCredentials: env !== undefined,
  });
}

/**
 * Parses `KEY=VALUE` lines (no `export`, no quotes; blank lines and `#` comments ignored; the
 * value is everything after the first `=`, verbatim). Throws {@link ConfigError} on a malformed
 * line.
 *
 * @param describe names the file in messages. @default '.machinery/local.env'
 *
 * @example
 * ```ts
 * parseEnvFile('AWS_REGION=us-east-1\n'); // { AWS_REGION: 'us-east-1' }
 * ```
 */
export function parseEnvFile(text: string, describe = LOCAL_ENV_FILE): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) {
      throw new ConfigError(`${describe} line ${i + 1} is not KEY=VALUE: '${line}'`);
    }
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

/**
 * Formats the `ENV` variables as `.machinery/local.env` holds them: one `KEY=VALUE` line per
 * variable, in `ENV` order, no `export`, no quotes. Every variable must be present (those of
 * `OPTIONAL_ENV_KEYS` are left out when absent) and free of line breaks.
 *
 * @example
 * ```ts
 * writeFileSync('.machinery/local.env', formatEnvFile(stack.env));
 * ```
 */
export function formatEnvFile(values: Readonly<Record<string, string>>): string {
  return ALL_ENV_KEYS.map((key) => {
    const name = ENV[key];
    const value = values[name];
    if (value === undefined && OPTIONAL_NAMES.has(name)) return '';
    if (value === undefined) throw new RangeError(`formatEnvFile: ${name} is missing`);
    if (/[\r\n]/.test(value)) throw new RangeError(`formatEnvFile: ${name} contains a line break`);
    return `${name}=${value}\n`;
  }).join('');
}

/**
 * The source of a `.machinery/local.env` text read from `path`: every `ENV` variable must be in
 * it, except those of `OPTIONAL_ENV_KEYS` (else a {@link ConfigError} naming the missing ones);
 * its credentials are explicit.
 *
 * @example
 * ```ts
 * const source = localEnvSource('/app/.machinery/local.env', readFileSync(path, 'utf8'));
 * ```
 */
export function localEnvSource(path: string, text: string): SettingsSource {
  const describe = `${LOCAL_ENV_FILE} (${path})`;
  const variables = parseEnvFile(text, describe);
  const missing = ALL_ENV_KEYS.map((k) => ENV[k]).filter(
    (name) => !variables[name] && !OPTIONAL_NAMES.has(name),
  );
  if (missing.length > 0) {
    throw new ConfigError(
      `${describe} is incomplete (missing ${missing.join(', ')}): restart \`machinery local up\``,
      { variables: missing },
    );
  }
  return fromVariables(variables, {
    describe,
    explicitCredentials: true,
    hint: 'restart `machinery local up`',
  });
}

/**
 * Reads a file as UTF-8; `undefined` when it does not exist, a {@link ConfigError} when it cannot
 * be read.
 *
 * @example
 * ```ts
 * const text = readFileIfExists('/app/.machinery/local.env');
 * ```
 */
export function readFileIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The `.machinery/local.env` file of a running `machinery local up` as a source, so a program
 * reaches the local stack without `set -a; . .machinery/local.env` first. Read once, now.
 *
 * @param path the file. @default `.machinery/local.env` in the current directory
 *
 * @example
 * ```ts
 * import { createClient, fromLocalEnv } from 'machinery-serverless/client';
 * const client = createClient({ source: fromLocalEnv() });
 * ```
 */
export function fromLocalEnv(path: string = join(process.cwd(), LOCAL_ENV_FILE)): SettingsSource {
  const text = readFileIfExists(path);
  if (text === undefined) {
    throw new ConfigError(
      `no ${LOCAL_ENV_FILE} at ${path}: start the local stack there with \`machinery local up\``,
    );
  }
  return localEnvSource(path, text);
}

/**
 * Settings resolved from a source, and the options of the AWS clients that reach them.
 *
 * @example
 * ```ts
 * const { settings, aws } = resolveSettings(fromEnv(), { required: ['taskQueueUrl'] });
 * ```
 */
export interface ResolvedSettings<K extends MachineryEnvKey = never> {
  /** Every setting the source (or the explicit `config`) gives; the required ones for sure. */
  readonly settings: Partial<MachineryConfig> & Pick<MachineryConfig, K>;
  /** Region, endpoints and (for explicit sources) credentials, merged under the given options. */
  readonly aws: AwsClientOptions;
  /** The source read. */
  readonly source: SettingsSource;
}

/**
 * Options of {@link resolveSettings}.
 *
 * @example
 * ```ts
 * const opts: ResolveOptions<'taskQueueUrl'> = { required: ['taskQueueUrl'], config: { taskStatesTable: 'states' } };
 * ```
 */
export interface ResolveOptions<K extends MachineryEnvKey> {
  /** Settings that must be present. @default [] */
  required?: readonly K[];
  /** Explicit settings; each one set here wins over the source (and is validated the same way). */
  config?: Partial<MachineryConfig>;
  /** Explicit AWS client options; they win over what the source says. @default {} */
  aws?: AwsClientOptions;
}

type Check = (value: string) => string | undefined;

const QUEUE_NAME = /^[A-Za-z0-9_-]+(\.fifo)?$/;

function queueUrl(fifo: boolean): Check {
  return (value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return 'is not an SQS queue URL (http(s)://host/<account>/<queue name>)';
    }
    const segments = url.pathname.split('/').filter((s) => s !== '');
    const name = segments.at(-1) ?? '';
    if (
      !/^https?:$/.test(url.protocol) ||
      url.hostname === '' ||
      segments.length !== 2 ||
      !QUEUE_NAME.test(name) ||
      name.length > 80
    ) {
      return 'is not an SQS queue URL (http(s)://host/<account>/<queue name>)';
    }
    if (fifo !== name.endsWith('.fifo')) {
      return fifo
        ? 'must name a FIFO queue (its name ends in .fifo)'
        : 'must name a standard queue (its name does not end in .fifo)';
    }
    return undefined;
  };
}

const endpointUrl: Check = (value) => {
  try {
    const url = new URL(value);
    if (/^https?:$/.test(url.protocol) && url.hostname !== '') return undefined;
  } catch {
    // not a URL
  }
  return 'is not an http(s):// endpoint URL';
};

const tableName: Check = (value) =>
  /^[A-Za-z0-9_.-]{3,255}$/.test(value)
    ? undefined
    : "is not a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')";

/** The rule of each `MACHINERY_*` setting. */
const CHECKS: { readonly [K in MachineryEnvKey]: Check } = {
  taskQueueUrl: queueUrl(true),
  dlqUrl: queueUrl(true),
  delayQueueUrl: queueUrl(false),
  delayDlqUrl: queueUrl(false),
  schedulerDlqUrl: queueUrl(false),
  taskStatesTable: tableName,
  groupMetasTable: tableName,
  highTaskQueueUrl: queueUrl(true),
  highDlqUrl: queueUrl(true),
  workersTable: tableName,
  scheduleGroup: (value) =>
    /^[A-Za-z0-9_.-]{1,64}$/.test(value)
      ? undefined
      : "is not a schedule group name (1-64 letters, digits, '_', '-' or '.')",
  schedulerRoleArn: (value) =>
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(value)
      ? undefined
      : 'is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
};

const ENDPOINTS = {
  sqsConfig: ENV.endpointSqs,
  dynamodbConfig: ENV.endpointDynamodb,
  schedulerConfig: ENV.endpointScheduler,
} as const;

/** The client, or client config, the given options hold for each service (never overridden). */
const GIVEN = {
  sqsConfig: 'sqs',
  dynamodbConfig: 'dynamodb',
  schedulerConfig: 'scheduler',
} as const;

function quoted(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** One value that breaks its rule. */
interface Invalid {
  readonly variable: string;
  readonly text: string;
}

/**
 * The one error of a configuration: the variables not set, then each invalid value, the source,
 * what needs the settings (`why`) and how to fix it.
 */
function configError(
  source: SettingsSource,
  missing: readonly string[],
  invalid: readonly Invalid[],
  why?: string,
): ConfigError {
  const parts = invalid.map((i) => i.text);
  if (missing.length > 0) {
    const verb = missing.length === 1 ? 'is' : 'are';
    const names =
      missing.length === 1
        ? missing[0]
        : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
    parts.unshift(`${names} ${verb} not set in ${source.describe}`);
  }
  return new ConfigError(`${parts.join('; ')}: ${why ? `${why}; ` : ''}${source.hint}`, {
    variables: [...missing, ...invalid.map((i) => i.variable)],
  });
}

/**
 * A {@link ConfigError} for settings that are not set, naming each variable, the source, what
 * needs them and how to fix it.
 *
 * @param why what needs the settings, said before the hint.
 *
 * @example
 * ```ts
 * throw missingSettingsError(['scheduleGroup', 'schedulerRoleArn'], fromEnv(), 'an ETA needs EventBridge Scheduler');
 * // MACHINERY_SCHEDULE_GROUP and MACHINERY_SCHEDULER_ROLE_ARN are not set in the environment: an ETA …
 * ```
 */
export function missingSettingsError(
  keys: readonly MachineryEnvKey[],
  source: SettingsSource,
  why?: string,
): ConfigError {
  return configError(
    source,
    keys.map((k) => ENV[k]),
    [],
    why,
  );
}

function clientOptions(
  source: SettingsSource,
  region: string | undefined,
  given: AwsClientOptions,
): AwsClientOptions {
  const vars = source.variables;
  const accessKeyId = vars[ENV.accessKeyId]?.trim();
  const secretAccessKey = vars[ENV.secretAccessKey]?.trim();
  const sessionToken = vars[SESSION_TOKEN_ENV]?.trim();
  // Temporary credentials (a Lambda's role, SSO, assumed roles) are only valid with their token.
  const credentials =
    source.explicitCredentials && accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {};
  const out: AwsClientOptions = region === undefined ? {} : { region };
  for (const [configKey, variable] of Object.entries(ENDPOINTS) as [
    keyof typeof ENDPOINTS,
    string,
  ][]) {
    if (given[GIVEN[configKey]] !== undefined || given[configKey] !== undefined) continue;
    const endpoint = vars[variable]?.trim();
    out[configKey] = { ...credentials, ...(endpoint ? { endpoint } : {}) };
  }
  return { ...out, ...given };
}

/**
 * Reads a source into validated settings and AWS client options. Every problem is reported at
 * once: one {@link ConfigError} names each required variable that is not set and each variable
 * (or explicit `config` field) whose value breaks its rule (see the module documentation), with
 * the source and how to fix it; its `variables` lists them.
 *
 * @example
 * ```ts
 * const { settings, aws } = resolveSettings(fromLocalEnv(), {
 *   required: ['taskQueueUrl', 'taskStatesTable'],
 * });
 * const clients = createAwsClients(aws);
 * settings.taskQueueUrl; // string
 * ```
 */
export function resolveSettings<K extends MachineryEnvKey = never>(
  source: SettingsSource,
  options: ResolveOptions<K> = {},
): ResolvedSettings<K> {
  const vars = source.variables;
  const settings: Partial<MachineryConfig> = {};
  const invalid: Invalid[] = [];
  const region = options.config?.region?.trim() || vars[ENV.region]?.trim() || undefined;
  if (region !== undefined) settings.region = region;
  for (const key of MACHINERY_ENV_KEYS) {
    const explicit = options.config?.[key]?.trim();
    const value = explicit || vars[ENV[key]]?.trim();
    if (!value) continue;
    const problem = CHECKS[key](value);
    if (problem === undefined) {
      settings[key] = value;
    } else {
      const label = explicit ? `the option config.${key}` : `${ENV[key]} in ${source.describe}`;
      invalid.push({ variable: ENV[key], text: `${label} ${problem}, got ${quoted(value)}` });
    }
  }
  for (const variable of Object.values(ENDPOINTS)) {
    const value = vars[variable]?.trim();
    const problem = value ? endpointUrl(value) : undefined;
    if (value && problem) {
      invalid.push({
        variable,
        text: `${variable} in ${source.describe} ${problem}, got ${quoted(value)}`,
      });
    }
  }
  const missing = [...new Set(options.required ?? [])]
    .filter((k) => settings[k] === undefined && !invalid.some((i) => i.variable === ENV[k]))
    .map((k) => ENV[k]);
  if (missing.length > 0 || invalid.length > 0) throw configError(source, missing, invalid);
  return {
    settings: settings as Partial<MachineryConfig> & Pick<MachineryConfig, K>,
    aws: clientOptions(source, region, options.aws ?? {}),
    source,
  };
}

/**
 * Reads the `MACHINERY_*` variables (and `AWS_REGION`) of a record into validated settings: a
 * shorthand for `resolveSettings(fromEnv(env), { required }).settings`.
 *
 * @param env the environment to read. @default process.env
 * @param required settings that must be present. @default []
 *
 * @example
 * ```ts
 * const cfg = loadMachineryConfig(process.env, ['taskQueueUrl', 'dlqUrl', 'taskStatesTable']);
 * cfg.taskQueueUrl; // string
 * cfg.delayQueueUrl; // string | undefined
 * ```
 */
export function loadMachineryConfig<K extends MachineryEnvKey = never>(
  env: Variables = process.env,
  required: readonly K[] = [],
): Partial<MachineryConfig> & Pick<MachineryConfig, K> {
  return resolveSettings(fromEnv(env), { required }).settings;
}

/**
 * Configuration of every `machinery` command.
 *
 * Exactly one source is used, the first that applies; keys from different sources are never
 * mixed:
 *
 * 1. an explicit flag: `--local` reads `.machinery/local.env` in the current directory;
 * 2. the environment, when `MACHINERY_TASK_QUEUE_URL` is set (AWS credentials then come from the
 *    SDK's usual chain: env vars, profile, SSO, instance role…);
 * 3. `.machinery/local.env` in the current directory (written by `machinery local up`);
 * 4. otherwise a {@link ConfigError} (exit code 2) saying how to configure.
 *
 * When the source is `.machinery/local.env`, its `AWS_*` values (region, keys, endpoints) are
 * passed to the SDK clients explicitly, so nothing from the ambient environment leaks in.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV } from '../core/resources.js';
import { ConfigError } from './errors.js';

/**
 * Where `machinery local up` writes its configuration, relative to the current directory.
 *
 * @example
 * ```ts
 * const file = join(process.cwd(), LOCAL_ENV_FILE);
 * ```
 */
export const LOCAL_ENV_FILE = '.machinery/local.env';

/**
 * A key of {@link ENV} (`taskQueueUrl`, `region`…).
 *
 * @example
 * ```ts
 * const key: EnvKey = 'taskStatesTable';
 * ```
 */
export type EnvKey = keyof typeof ENV;

/** Every key of {@link ENV}, in the order `.machinery/local.env` lists them. */
export const ENV_KEYS = Object.keys(ENV) as EnvKey[];

/**
 * Which source a configuration came from.
 *
 * @example
 * ```ts
 * const s: ConfigSource = 'local-env-file';
 * ```
 */
export type ConfigSource = 'flag-local' | 'env' | 'local-env-file';

/**
 * A resolved configuration: the AWS client settings and the `MACHINERY_*` values of one source.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ env: process.env, cwd: process.cwd() });
 * const url = requireValue(config, 'taskQueueUrl');
 * ```
 */
export interface CliConfig {
  source: ConfigSource;
  /** For messages: `.machinery/local.env` (with its full path) or `the environment`. */
  describe: string;
  /** Every {@link ENV} variable the source sets, by key. */
  values: Partial<Record<EnvKey, string>>;
  /** AWS region, when the source sets it (else the SDK resolves it). */
  region?: string;
  /** Explicit credentials (local.env only; the environment source uses the SDK's chain). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Explicit endpoints (emulators), by service. */
  endpoints: { sqs?: string; dynamodb?: string; scheduler?: string };
}

/**
 * Parses `KEY=VALUE` lines (no `export`, no quotes; blank lines and `#` comments ignored; the
 * value is everything after the first `=`, verbatim). Throws {@link ConfigError} on a malformed
 * line.
 *
 * @example
 * ```ts
 * parseEnvFile('AWS_REGION=us-east-1\n'); // { AWS_REGION: 'us-east-1' }
 * ```
 */
export function parseEnvFile(text: string, describe = LOCAL_ENV_FILE): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
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
 * Formats the {@link ENV} variables as `.machinery/local.env` holds them: one `KEY=VALUE` line per
 * variable, in {@link ENV} order, no `export`, no quotes. Every variable must be present and free
 * of line breaks.
 *
 * @example
 * ```ts
 * writeFileSync('.machinery/local.env', formatEnvFile(stack.env));
 * ```
 */
export function formatEnvFile(values: Readonly<Record<string, string>>): string {
  return ENV_KEYS.map((key) => {
    const name = ENV[key];
    const value = values[name];
    if (value === undefined) throw new RangeError(`formatEnvFile: ${name} is missing`);
    if (/[\r\n]/.test(value)) throw new RangeError(`formatEnvFile: ${name} contains a line break`);
    return `${name}=${value}\n`;
  }).join('');
}

function fromVariables(
  source: ConfigSource,
  describe: string,
  vars: Readonly<Record<string, string | undefined>>,
  explicitAws: boolean,
): CliConfig {
  const values: Partial<Record<EnvKey, string>> = {};
  for (const key of ENV_KEYS) {
    const v = vars[ENV[key]];
    if (v !== undefined && v !== '') values[key] = v;
  }
  const config: CliConfig = { source, describe, values, endpoints: {} };
  if (values.region) config.region = values.region;
  if (values.endpointSqs) config.endpoints.sqs = values.endpointSqs;
  if (values.endpointDynamodb) config.endpoints.dynamodb = values.endpointDynamodb;
  if (values.endpointScheduler) config.endpoints.scheduler = values.endpointScheduler;
  if (explicitAws && values.accessKeyId && values.secretAccessKey) {
    config.credentials = {
      accessKeyId: values.accessKeyId,
      secretAccessKey: values.secretAccessKey,
    };
  }
  return config;
}

/**
 * The configuration `.machinery/local.env` would give for these `KEY=VALUE` values (explicit
 * region, credentials and endpoints), without reading a file: what `local up` and `demo` use for
 * their own in-process clients.
 *
 * @example
 * ```ts
 * const config = configFromLocalValues(stack.env);
 * ```
 */
export function configFromLocalValues(
  values: Readonly<Record<string, string>>,
  describe = 'the local stack',
): CliConfig {
  return fromVariables('local-env-file', describe, values, true);
}

function readLocalEnv(
  source: ConfigSource,
  path: string,
  readFile: (path: string) => string | undefined,
): CliConfig | undefined {
  const text = readFile(path);
  if (text === undefined) return undefined;
  const describe = `${LOCAL_ENV_FILE} (${path})`;
  const config = fromVariables(source, describe, parseEnvFile(text, describe), true);
  const missing = ENV_KEYS.filter((k) => config.values[k] === undefined).map((k) => ENV[k]);
  if (missing.length > 0) {
    throw new ConfigError(
      `${describe} is incomplete (missing ${missing.join(', ')}): restart \`machinery local up\``,
    );
  }
  return config;
}

function readFileIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Picks the one configuration source (see the module documentation) and reads it.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ local: opts.local, env: process.env, cwd: process.cwd() });
 * ```
 */
export function resolveConfig(options: {
  /** `--local`: use `.machinery/local.env` and nothing else. */
  local?: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Reads a file; `undefined` when it does not exist. @default fs.readFileSync */
  readFile?: (path: string) => string | undefined;
}): CliConfig {
  const readFile = options.readFile ?? readFileIfExists;
  const path = join(options.cwd, LOCAL_ENV_FILE);
  if (options.local) {
    const config = readLocalEnv('flag-local', path, readFile);
    if (!config) {
      throw new ConfigError(
        `--local: no ${LOCAL_ENV_FILE} in ${options.cwd}: start the local stack here with \`machinery local up\``,
      );
    }
    return config;
  }
  if (options.env[ENV.taskQueueUrl]) {
    return fromVariables('env', `the environment (${ENV.taskQueueUrl} is set)`, options.env, false);
  }
  const config = readLocalEnv('local-env-file', path, readFile);
  if (config) return config;
  throw new ConfigError(
    `no machinery configuration: run \`machinery local up\` in this directory (it writes ${LOCAL_ENV_FILE}), ` +
      `or set ${ENV.taskQueueUrl}, ${ENV.taskStatesTable} and the other MACHINERY_* variables of your deployment`,
  );
}

/**
 * The value of one {@link ENV} variable in the configuration, or a {@link ConfigError} (exit code
 * 2) naming the variable and the source.
 *
 * @example
 * ```ts
 * const table = requireValue(config, 'taskStatesTable');
 * ```
 */
export function requireValue(config: CliConfig, key: EnvKey): string {
  const v = config.values[key];
  if (v === undefined) {
    throw new ConfigError(`${ENV[key]} is not set in ${config.describe}`);
  }
  return v;
}

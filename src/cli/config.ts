/**
 * Which configuration every `machinery` command uses. The CLI only chooses the source; reading and
 * validating it is `src/aws/settings.ts`, as for the SDK and the handlers.
 *
 * Exactly one source is used, the first that applies; keys from different sources are never
 * mixed:
 *
 * 1. an explicit flag: `--local` reads `.machinery/local.env` in the current directory;
 *    `--stack NAME` reads the outputs of a deployed CloudFormation stack (`fromStack`); both
 *    together are a {@link ConfigError} (exit code 2);
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
import { join } from 'node:path';
import { Option } from 'commander';
import { ConfigError } from '../aws/errors.js';
import {
  fromVariables,
  LOCAL_ENV_FILE,
  localEnvSource,
  readFileIfExists,
  type SettingsSource,
  type Variables,
} from '../aws/settings.js';
import type { StackSourceOptions } from '../aws/stack-source.js';
import { ENV } from '../core/resources.js';

export { formatEnvFile, LOCAL_ENV_FILE, parseEnvFile } from '../aws/settings.js';

/**
 * Which source a configuration came from.
 *
 * @example
 * ```ts
 * const s: ConfigSource = 'local-env-file';
 * ```
 */
export type ConfigSource = 'flag-local' | 'flag-stack' | 'env' | 'local-env-file';

/**
 * The chosen configuration: a settings source, and which rule chose it.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ env: process.env, cwd: process.cwd() });
 * const { settings } = resolveSettings(config, { required: ['taskQueueUrl'] });
 * ```
 */
export interface CliConfig extends SettingsSource {
  source: ConfigSource;
}

/**
 * The configuration `.machinery/local.env` would give for these `KEY=VALUE` values (explicit
 * region, credentials and endpoints), without reading a file: what `local up` and `demo` use for
 * their own in-process clients.
 *
 * @param describe names the values in messages. @default 'the local stack'
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
  return {
    source: 'local-env-file',
    ...fromVariables(values, { describe, hint: 'restart `machinery local up`' }),
  };
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
  env: Variables;
  cwd: string;
  /** Reads a file; `undefined` when it does not exist. @default fs.readFileSync */
  readFile?: (path: string) => string | undefined;
}): CliConfig {
  const readFile = options.readFile ?? readFileIfExists;
  const path = join(options.cwd, LOCAL_ENV_FILE);
  const localEnv = (source: ConfigSource): CliConfig | undefined => {
    const text = readFile(path);
    return text === undefined ? undefined : { source, ...localEnvSource(path, text) };
  };
  if (options.local) {
    const config = localEnv('flag-local');
    if (!config) {
      throw new ConfigError(
        `--local: no ${LOCAL_ENV_FILE} in ${options.cwd}: start the local stack here with \`machinery local up\``,
      );
    }
    return config;
  }
  if (options.env[ENV.taskQueueUrl]) {
    return {
      source: 'env',
      ...fromVariables(options.env, {
        describe: `the environment (${ENV.taskQueueUrl} is set)`,
        explicitCredentials: false,
        hint: `export your deployment's values (the stack's outputs), or unset ${ENV.taskQueueUrl} to use ${LOCAL_ENV_FILE}`,
      }),
    };
  }
  const config = localEnv('local-env-file');
  if (config) return config;
  throw new ConfigError(
    `no machinery configuration: run \`machinery local up\` in this directory (it writes ${LOCAL_ENV_FILE}), ` +
      `or set ${ENV.taskQueueUrl}, ${ENV.taskStatesTable} and the other MACHINERY_* variables of your deployment`,
  );
}

/**
 * The source flags every command that connects accepts ({@link localSourceOption},
 * {@link stackSourceOption}).
 *
 * @example
 * ```ts
 * const flags: SourceFlags = { stack: 'Machinery' };
 * ```
 */
export interface SourceFlags {
  /** `--local`: `.machinery/local.env` in the current directory. */
  local?: boolean;
  /** `--stack NAME`: the outputs of the deployed CloudFormation stack `NAME`. */
  stack?: string;
}

/**
 * The `--local` option of every command that connects (see {@link SourceFlags}).
 *
 * @example
 * ```ts
 * program.command('queues').addOption(localSourceOption()).addOption(stackSourceOption());
 * ```
 */
export function localSourceOption(): Option {
  return new Option('--local', 'use .machinery/local.env, whatever the environment says');
}

/**
 * The `--stack <name>` option of every command that connects: the configuration is read from the
 * outputs of that deployed CloudFormation stack (see {@link resolveCliConfig}).
 *
 * @example
 * ```ts
 * program.command('queues').addOption(localSourceOption()).addOption(stackSourceOption());
 * ```
 */
export function stackSourceOption(): Option {
  return new Option(
    '--stack <name>',
    "use the outputs of the deployed CloudFormation stack <name> (AWS_REGION and the SDK's credentials)",
  );
}

/**
 * {@link resolveConfig} for commands that accept `--stack`: `--local` and `--stack` together are
 * a {@link ConfigError} (exit code 2); `--stack NAME` reads the stack's outputs (`fromStack`,
 * region from `AWS_REGION` of `env` when set, else the SDK's chain); otherwise the rules of
 * {@link resolveConfig}.
 *
 * @param options.stackSource reads a stack's outputs. @default fromStack
 *
 * @example
 * ```ts
 * const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
 * ```
 */
export async function resolveCliConfig(
  options: SourceFlags & {
    env: Variables;
    cwd: string;
    readFile?: (path: string) => string | undefined;
    stackSource?: (name: string, options: StackSourceOptions) => Promise<SettingsSource>;
  },
): Promise<CliConfig> {
  if (options.local === true && options.stack !== undefined) {
    throw new ConfigError(
      '--local and --stack name two configurations: pass one (--local for the local stack, --stack NAME for a deployed one)',
    );
  }
  if (options.stack === undefined) {
    return resolveConfig({
      local: options.local === true,
      env: options.env,
      cwd: options.cwd,
      ...(options.readFile ? { readFile: options.readFile } : {}),
    });
  }
  const region = options.env[ENV.region]?.trim();
  // Loaded on use: the CloudFormation client is needed only with --stack.
  const read = options.stackSource ?? (await import('../aws/stack-source.js')).fromStack;
  const source = await read(options.stack, region ? { region } : {});
  return { source: 'flag-stack', ...source };
}

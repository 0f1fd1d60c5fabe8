/**
 * The configuration a machinery deployment hands to its components and users: the
 * `MACHINERY_*` environment (every key of `MACHINERY_ENV_KEYS`, named by `ENV` of
 * `src/core/resources.ts`) the functions get, and the CloudFormation outputs the CLI and the SDK
 * read, one per variable. The values themselves are the resources the builders create.
 *
 * @module
 */
import { CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ENV, MACHINERY_ENV_KEYS, type MachineryEnvKey } from '../src/core/resources.js';

/**
 * The CloudFormation output key of an environment variable: its name in PascalCase
 * (`MACHINERY_TASK_QUEUE_URL` → `MachineryTaskQueueUrl`; output keys are alphanumeric).
 *
 * @example
 * ```ts
 * outputKey('MACHINERY_DLQ_URL'); // 'MachineryDlqUrl'
 * ```
 */
export function outputKey(envName: string): string {
  return envName
    .toLowerCase()
    .split('_')
    .filter((part) => part !== '')
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The `MACHINERY_*` environment of a deployment: each variable's name (`ENV[key]`) → its value,
 * in the order of `MACHINERY_ENV_KEYS`.
 *
 * @example
 * ```ts
 * machineryEnvironment(values)[ENV.taskQueueUrl]; // the task queue's URL (a token)
 * ```
 */
export function machineryEnvironment(
  values: Readonly<Record<MachineryEnvKey, string>>,
): Readonly<Record<string, string>> {
  return Object.fromEntries(MACHINERY_ENV_KEYS.map((k) => [ENV[k], values[k]]));
}

/**
 * One `CfnOutput` per `MACHINERY_*` variable in `scope`: output key = the variable's name in
 * PascalCase ({@link outputKey}), description = the variable's name, so the outputs turn into an
 * env file directly.
 *
 * @example
 * ```ts
 * addEnvironmentOutputs(stack, machinery.environment);
 * ```
 */
export function addEnvironmentOutputs(
  scope: Construct,
  environment: Readonly<Record<string, string>>,
): CfnOutput[] {
  return MACHINERY_ENV_KEYS.map((key) => {
    const name = ENV[key];
    const value = environment[name];
    if (value === undefined) throw new Error(`internal: no value for ${name}`);
    return new CfnOutput(scope, outputKey(name), { value, description: name });
  });
}

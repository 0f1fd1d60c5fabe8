/**
 * A deployed stack as a settings source: the outputs of a CloudFormation stack (`DescribeStacks`),
 * each matched by its Description, which is the variable's name (`MACHINERY_TASK_QUEUE_URL` …,
 * as `cdk/outputs.ts` writes them). The result is an ordinary {@link SettingsSource} built with
 * `fromVariables`, so it is validated like every other source by `resolveSettings`.
 *
 * - Every `MACHINERY_*` variable must have an output but those of features a deployment may
 *   leave off (`OPTIONAL_ENV_KEYS`: the high-priority queue…); a stack without one of them (not a
 *   machinery stack, or an older one) is a {@link ConfigError} naming the missing variables.
 * - A stack that does not exist is a {@link ConfigError} naming it and the region.
 * - `AWS_REGION` of the source is the region the stack was read in, so every client reaches the
 *   same region. Credentials come from the SDK's chain. Endpoints are the SDK's own: the
 *   standard `AWS_ENDPOINT_URL_CLOUDFORMATION`, `AWS_ENDPOINT_URL_SQS`… variables.
 *
 * IAM: `cloudformation:DescribeStacks` on the stack (`grantOperator` gives it).
 *
 * @module
 */
import {
  CloudFormationClient,
  type CloudFormationClientConfig,
  DescribeStacksCommand,
  type Output,
} from '@aws-sdk/client-cloudformation';
import { ENV, MACHINERY_ENV_KEYS, OPTIONAL_ENV_KEYS } from '../core/resources.js';
import { ConfigError, translateAwsError } from './errors.js';
import { fromVariables, type SettingsSource } from './settings.js';

/**
 * Options of {@link fromStack}.
 *
 * @example
 * ```ts
 * const opts: StackSourceOptions = { region: 'eu-west-1' };
 * ```
 */
export interface StackSourceOptions {
  /** Region of the stack. @default the SDK's chain (`AWS_REGION`, profile…) */
  region?: string;
  /** A ready CloudFormation client (not destroyed here). Not together with `clientConfig`. */
  cloudformation?: CloudFormationClient;
  /** Config of the CloudFormation client built (and destroyed) here. @default {} */
  clientConfig?: CloudFormationClientConfig;
}

/**
 * The variables a stack's outputs give: each output whose Description is a `MACHINERY_*`
 * variable's name, by that name. Other outputs are ignored.
 *
 * @example
 * ```ts
 * variablesOfOutputs([{ Description: 'MACHINERY_DLQ_URL', OutputValue: 'https://…' }]);
 * // { MACHINERY_DLQ_URL: 'https://…' }
 * ```
 */
export function variablesOfOutputs(outputs: readonly Output[]): Record<string, string> {
  const names = new Set<string>(MACHINERY_ENV_KEYS.map((k) => ENV[k]));
  const out: Record<string, string> = {};
  for (const o of outputs) {
    const name = o.Description?.trim();
    if (name !== undefined && names.has(name) && o.OutputValue !== undefined) {
      out[name] = o.OutputValue;
    }
  }
  return out;
}

function isMissingStack(e: unknown): boolean {
  const err = e as { name?: unknown; message?: unknown };
  return (
    err?.name === 'ValidationError' &&
    typeof err.message === 'string' &&
    /does not exist/i.test(err.message)
  );
}

/**
 * The configuration of a deployed stack, read now from its CloudFormation outputs (see the module
 * documentation). Rejects with a {@link ConfigError} when the stack does not exist or lacks an
 * output of a `MACHINERY_*` variable; other AWS errors are translated (`translateAwsError`).
 *
 * @example
 * ```ts
 * import { createClient, fromStack } from 'machinery-serverless/client';
 * const client = createClient({ source: await fromStack('Machinery', { region: 'eu-west-1' }) });
 * ```
 */
export async function fromStack(
  name: string,
  options: StackSourceOptions = {},
): Promise<SettingsSource> {
  if (name.trim() === '') throw new ConfigError('the stack name is empty');
  if (options.cloudformation !== undefined && options.clientConfig !== undefined) {
    throw new ConfigError(
      'pass either a CloudFormation client or a CloudFormation client config, not both: the config would be ignored',
    );
  }
  const client =
    options.cloudformation ??
    new CloudFormationClient({
      ...(options.region === undefined ? {} : { region: options.region }),
      ...options.clientConfig,
    });
  try {
    const region = options.region ?? (await client.config.region());
    let outputs: Output[];
    try {
      const out = await client.send(new DescribeStacksCommand({ StackName: name }));
      outputs = out.Stacks?.[0]?.Outputs ?? [];
    } catch (e) {
      if (isMissingStack(e)) {
        throw new ConfigError(
          `no CloudFormation stack '${name}' in ${region}: check the stack name and AWS_REGION (deploy it with \`npm run deploy\`)`,
          { cause: e },
        );
      }
      throw translateAwsError(e, { service: 'CloudFormation', resource: name });
    }
    const describe = `the outputs of stack ${name} (${region})`;
    const variables = variablesOfOutputs(outputs);
    const missing = MACHINERY_ENV_KEYS.filter((k) => !OPTIONAL_ENV_KEYS.includes(k))
      .map((k) => ENV[k])
      .filter((v) => !variables[v]);
    if (missing.length > 0) {
      throw new ConfigError(
        `${describe} lack ${missing.join(', ')} (each output's Description names its variable): ` +
          'is it a machinery-serverless stack, deployed by this version?',
        { variables: missing },
      );
    }
    return fromVariables(
      { ...variables, [ENV.region]: region },
      {
        describe,
        explicitCredentials: false,
        hint: `redeploy stack ${name}, or check its name and AWS_REGION`,
      },
    );
  } finally {
    if (options.cloudformation === undefined) client.destroy();
  }
}

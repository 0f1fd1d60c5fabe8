/**
 * `MachineryStack`: one {@link Machinery} plus the CloudFormation outputs the CLI and the SDK read,
 * and {@link createMachineryApp}, the CDK app of `cdk.json` (with cdk-nag's AWS Solutions checks).
 *
 * @module
 */
import { resolve } from 'node:path';
import {
  App,
  type AppProps,
  Stack,
  type StackProps,
  aws_sns as sns,
  Validations,
} from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { Machinery, type MachineryProps } from './construct.js';
import { addEnvironmentOutputs } from './outputs.js';

/**
 * Props of {@link MachineryStack}: the stack's and the construct's.
 *
 * @example
 * ```ts
 * const props: MachineryStackProps = { resourcePrefix: 'dev-', alarmTopicArn: topicArn };
 * ```
 */
export interface MachineryStackProps extends StackProps, MachineryProps {
  /** ARN of an existing SNS topic for the alarms (instead of {@link MachineryProps.alarmTopic}). */
  readonly alarmTopicArn?: string;
}

/**
 * A machinery-serverless deployment as a stack. Outputs one value per `MACHINERY_*` variable of
 * `ENV`: output key = the variable's name in PascalCase (`MachineryTaskQueueUrl`), description = the
 * variable's name (`MACHINERY_TASK_QUEUE_URL`), so the outputs turn into an env file directly.
 *
 * @example
 * ```ts
 * const stack = new MachineryStack(app, 'Machinery', { workerEntry: 'src/worker.ts' });
 * stack.machinery.grantProducer(someRole);
 * ```
 */
export class MachineryStack extends Stack {
  /** The deployment. */
  readonly machinery: Machinery;

  constructor(scope: Construct, id: string, props: MachineryStackProps = {}) {
    super(scope, id, {
      description:
        'machinery-serverless: task queue (SQS FIFO), Lambda worker and forwarder, DynamoDB state, EventBridge Scheduler',
      ...props,
    });
    const { alarmTopicArn, ...rest } = props;
    const alarmTopic =
      props.alarmTopic ??
      (alarmTopicArn === undefined
        ? undefined
        : sns.Topic.fromTopicArn(this, 'AlarmTopic', alarmTopicArn));
    this.machinery = new Machinery(this, 'Machinery', {
      ...rest,
      ...(alarmTopic === undefined ? {} : { alarmTopic }),
    });
    addEnvironmentOutputs(this, this.machinery.environment);
  }
}

/**
 * Options of {@link createMachineryApp}.
 *
 * @example
 * ```ts
 * const opts: MachineryAppOptions = { context: { 'machinery:resourcePrefix': 'dev-' } };
 * ```
 */
export interface MachineryAppOptions {
  /** App props (context, outdir…); `cdk` passes its own through the environment. */
  readonly app?: AppProps;
  /** Stack props merged over those read from the context. */
  readonly stack?: MachineryStackProps;
  /** Register cdk-nag's AWS Solutions checks. @default true */
  readonly nag?: boolean;
}

/**
 * Context keys the app reads (`cdk synth -c machinery:resourcePrefix=dev-` or `cdk.json`):
 * `machinery:stackName` (default `Machinery`), `machinery:resourcePrefix`, `machinery:workerEntry`
 * (relative to the current directory), `machinery:workerHandler`, `machinery:alarmTopicArn`.
 *
 * @example
 * ```ts
 * createMachineryApp({ app: { context: { [CONTEXT_KEYS.resourcePrefix]: 'dev-' } } });
 * ```
 */
export const CONTEXT_KEYS = {
  stackName: 'machinery:stackName',
  resourcePrefix: 'machinery:resourcePrefix',
  workerEntry: 'machinery:workerEntry',
  workerHandler: 'machinery:workerHandler',
  alarmTopicArn: 'machinery:alarmTopicArn',
} as const;

/**
 * The CDK app: a {@link MachineryStack} configured from the context, with
 * `Validations.of(app).addPlugins(new AwsSolutionsChecks(app))` (cdk-nag v3: findings land in the
 * policy validation report and fail the synthesis unless acknowledged). The stack is
 * environment-agnostic unless `options.stack.env` says otherwise, so it synthesizes offline.
 *
 * @example
 * ```ts
 * const { app, stack } = createMachineryApp();
 * ```
 */
export function createMachineryApp(options: MachineryAppOptions = {}): {
  app: App;
  stack: MachineryStack;
} {
  const app = new App(options.app);
  const text = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const stackName = text(CONTEXT_KEYS.stackName) ?? 'Machinery';
  const prefix = text(CONTEXT_KEYS.resourcePrefix);
  const workerEntry = text(CONTEXT_KEYS.workerEntry);
  const workerHandler = text(CONTEXT_KEYS.workerHandler);
  const alarmTopicArn = text(CONTEXT_KEYS.alarmTopicArn);
  const stack = new MachineryStack(app, stackName, {
    ...(prefix === undefined ? {} : { resourcePrefix: prefix }),
    ...(workerEntry === undefined ? {} : { workerEntry: resolve(workerEntry) }),
    ...(workerHandler === undefined ? {} : { workerHandler }),
    ...(alarmTopicArn === undefined ? {} : { alarmTopicArn }),
    ...options.stack,
  });
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

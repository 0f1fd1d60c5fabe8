import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/aws/errors.js';
import {
  formatEnvFile,
  fromEnv,
  fromLocalEnv,
  fromVariables,
  loadMachineryConfig,
  missingSettingsError,
  resolveSettings,
} from '../../../src/aws/settings.js';
import { ENV } from '../../../src/core/resources.js';
import { localValues } from '../support/settings.js';

const ACCOUNT = '000000000000';

function configErrorOf(act: () => unknown): ConfigError {
  try {
    act();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('Function: resolveSettings', () => {
  it('reads every MACHINERY_* variable and the region of a source, trimmed', () => {
    // Prepare
    const vars: Record<string, string> = {
      ...localValues(),
      [ENV.taskStatesTable]: ' task_states ',
    };

    // Act
    const { settings } = resolveSettings(fromVariables(vars), { required: ['taskStatesTable'] });

    // Assess
    expect(settings).toEqual({
      region: 'local-region',
      taskQueueUrl: vars[ENV.taskQueueUrl],
      dlqUrl: vars[ENV.dlqUrl],
      delayQueueUrl: vars[ENV.delayQueueUrl],
      delayDlqUrl: vars[ENV.delayDlqUrl],
      schedulerDlqUrl: vars[ENV.schedulerDlqUrl],
      taskStatesTable: 'task_states',
      groupMetasTable: 'local_group_metas',
      scheduleGroup: 'local-machinery',
      schedulerRoleArn: vars[ENV.schedulerRoleArn],
    });
  });

  it('names every missing and every invalid variable in one error, with the source', () => {
    // Prepare
    const source = fromVariables(
      {
        [ENV.taskQueueUrl]: 'garbage',
        [ENV.dlqUrl]: `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/tasks-dlq`,
        [ENV.groupMetasTable]: 'gm',
        [ENV.schedulerRoleArn]: 'machinery-scheduler',
        [ENV.endpointSqs]: 'localhost:4566',
      },
      { describe: 'test variables', hint: 'fix them' },
    );

    // Act
    const error = configErrorOf(() =>
      resolveSettings(source, { required: ['taskQueueUrl', 'taskStatesTable', 'scheduleGroup'] }),
    );

    // Assess
    expect(error.code).toBe('CONFIG');
    expect(error.variables).toEqual([
      'MACHINERY_TASK_STATES_TABLE',
      'MACHINERY_SCHEDULE_GROUP',
      'MACHINERY_TASK_QUEUE_URL',
      'MACHINERY_DLQ_URL',
      'MACHINERY_GROUP_METAS_TABLE',
      'MACHINERY_SCHEDULER_ROLE_ARN',
      'AWS_ENDPOINT_URL_SQS',
    ]);
    expect(error.message).toMatch(
      /^MACHINERY_TASK_STATES_TABLE and MACHINERY_SCHEDULE_GROUP are not set in test variables; /,
    );
    expect(error.message).toContain(
      'MACHINERY_TASK_QUEUE_URL in test variables is not an SQS queue URL',
    );
    expect(error.message).toContain('got "garbage"');
    expect(error.message).toContain('MACHINERY_DLQ_URL in test variables must name a FIFO queue');
    expect(error.message).toContain(
      'MACHINERY_GROUP_METAS_TABLE in test variables is not a DynamoDB table name',
    );
    expect(error.message).toContain(
      'MACHINERY_SCHEDULER_ROLE_ARN in test variables is not an IAM role ARN',
    );
    expect(error.message).toContain('AWS_ENDPOINT_URL_SQS in test variables is not an http(s)://');
    expect(error.message).toMatch(/: fix them$/);
  });

  it('refuses a FIFO queue where a standard queue belongs', () => {
    // Prepare
    const vars = { ...localValues(), [ENV.delayQueueUrl]: localValues()[ENV.taskQueueUrl] };

    // Act
    const error = configErrorOf(() => resolveSettings(fromVariables(vars)));

    // Assess
    expect(error.variables).toEqual(['MACHINERY_DELAY_QUEUE_URL']);
    expect(error.message).toMatch(/must name a standard queue/);
  });

  it('treats an empty or blank variable as not set', () => {
    // Act
    const error = configErrorOf(() =>
      resolveSettings(fromEnv({ [ENV.dlqUrl]: ' ', [ENV.taskQueueUrl]: '' }), {
        required: ['taskQueueUrl', 'dlqUrl'],
      }),
    );

    // Assess
    expect(error.message).toMatch(
      /^MACHINERY_TASK_QUEUE_URL and MACHINERY_DLQ_URL are not set in the environment: /,
    );
  });

  it('lets explicit settings win over the source and validates them the same way', () => {
    // Prepare
    const source = fromVariables(localValues());

    // Act
    const { settings } = resolveSettings(source, {
      config: { taskStatesTable: 'other_states', region: 'eu-west-3' },
    });
    const error = configErrorOf(() =>
      resolveSettings(source, { config: { taskQueueUrl: 'tasks.fifo' } }),
    );

    // Assess
    expect(settings.taskStatesTable).toBe('other_states');
    expect(settings.region).toBe('eu-west-3');
    expect(error.message).toMatch(/^the option config\.taskQueueUrl is not an SQS queue URL/);
    expect(error.variables).toEqual(['MACHINERY_TASK_QUEUE_URL']);
  });

  it('passes region, endpoints and credentials with their session token of an explicit source', () => {
    // Prepare
    const vars = { ...localValues(), AWS_SESSION_TOKEN: 'token' };

    // Act
    const { aws } = resolveSettings(fromEnv(vars));

    // Assess
    const credentials = {
      accessKeyId: 'local-key',
      secretAccessKey: 'local-secret',
      sessionToken: 'token',
    };
    expect(aws).toEqual({
      region: 'local-region',
      sqsConfig: { credentials, endpoint: 'http://local-sqs.test' },
      dynamodbConfig: { credentials, endpoint: 'http://local-dynamodb.test:8000' },
      schedulerConfig: { credentials, endpoint: 'http://local-scheduler.test' },
    });
  });

  it('leaves credentials to the SDK chain for a source that says so', () => {
    // Prepare
    const source = fromVariables(localValues(), { explicitCredentials: false });

    // Act
    const { aws } = resolveSettings(source);

    // Assess
    expect(aws.sqsConfig).toEqual({ endpoint: 'http://local-sqs.test' });
    expect(aws.dynamodbConfig).toEqual({ endpoint: 'http://local-dynamodb.test:8000' });
  });

  it('keeps given clients, configs and region instead of what the source says', () => {
    // Prepare
    const sqs = new SQSClient({ region: 'us-east-1' });

    // Act
    const { aws } = resolveSettings(fromVariables(localValues()), {
      aws: { sqs, dynamodbConfig: { maxAttempts: 5 }, region: 'ap-south-1' },
    });

    // Assess
    expect(aws.sqs).toBe(sqs);
    expect(aws.sqsConfig).toBeUndefined();
    expect(aws.dynamodbConfig).toEqual({ maxAttempts: 5 });
    expect(aws.schedulerConfig?.endpoint).toBe('http://local-scheduler.test');
    expect(aws.region).toBe('ap-south-1');
    sqs.destroy();
  });
});

describe('Function: missingSettingsError', () => {
  it('names the Scheduler variables to set, what needs them and the source', () => {
    // Act
    const error = missingSettingsError(
      ['scheduleGroup', 'schedulerRoleArn'],
      fromEnv({}),
      'an ETA needs EventBridge Scheduler',
    );

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(
      /^MACHINERY_SCHEDULE_GROUP and MACHINERY_SCHEDULER_ROLE_ARN are not set in the environment: an ETA needs EventBridge Scheduler; run `machinery local up`/,
    );
    expect(error.variables).toEqual(['MACHINERY_SCHEDULE_GROUP', 'MACHINERY_SCHEDULER_ROLE_ARN']);
  });
});

describe('Function: fromLocalEnv', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads a complete local.env with explicit credentials', () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'machinery-settings-'));
    const path = join(dir, 'local.env');
    writeFileSync(path, formatEnvFile(localValues()));

    // Act
    const source = fromLocalEnv(path);
    const { settings, aws } = resolveSettings(source, { required: ['taskQueueUrl'] });

    // Assess
    expect(source.describe).toBe(`.machinery/local.env (${path})`);
    expect(settings.taskQueueUrl).toBe(localValues()[ENV.taskQueueUrl]);
    expect(aws.sqsConfig?.credentials).toEqual({
      accessKeyId: 'local-key',
      secretAccessKey: 'local-secret',
    });
  });

  it('says how to start the local stack when the file does not exist', () => {
    // Act
    const error = configErrorOf(() => fromLocalEnv('/nonexistent/.machinery/local.env'));

    // Assess
    expect(error.message).toMatch(
      /^no \.machinery\/local\.env at \/nonexistent\/\.machinery\/local\.env: .*machinery local up/,
    );
  });

  it('names every variable an incomplete file lacks', () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'machinery-settings-'));
    const path = join(dir, 'local.env');
    writeFileSync(path, 'AWS_REGION=us-east-1\n');

    // Act
    const error = configErrorOf(() => fromLocalEnv(path));

    // Assess
    expect(error.variables).toHaveLength(14);
    expect(error.message).toMatch(
      /incomplete \(missing AWS_ACCESS_KEY_ID, .*MACHINERY_SCHEDULER_ROLE_ARN\)/,
    );
  });
});

describe('Function: loadMachineryConfig', () => {
  const env = {
    AWS_REGION: 'us-east-1',
    MACHINERY_TASK_QUEUE_URL: 'http://localhost:1/000000000000/tasks.fifo',
    MACHINERY_TASK_STATES_TABLE: 'task_states',
  };

  it('reads the variables that are set', () => {
    // Act
    const cfg = loadMachineryConfig(env, ['taskQueueUrl', 'taskStatesTable']);

    // Assess
    expect(cfg).toEqual({
      region: 'us-east-1',
      taskQueueUrl: env.MACHINERY_TASK_QUEUE_URL,
      taskStatesTable: 'task_states',
    });
  });

  it('names every missing required variable in one error', () => {
    // Act & Assess
    expect(() => loadMachineryConfig(env, ['taskQueueUrl', 'dlqUrl', 'delayQueueUrl'])).toThrow(
      /^MACHINERY_DLQ_URL and MACHINERY_DELAY_QUEUE_URL are not set/,
    );
  });

  it('rejects a queue URL that is not a URL', () => {
    // Act & Assess
    expect(() => loadMachineryConfig({ MACHINERY_TASK_QUEUE_URL: 'tasks.fifo' })).toThrow(
      ConfigError,
    );
  });
});

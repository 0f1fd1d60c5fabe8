import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../../src/aws/settings.js';
import {
  formatEnvFile,
  LOCAL_ENV_FILE,
  parseEnvFile,
  resolveConfig,
} from '../../../src/cli/config.js';
import { ConfigError, describeError } from '../../../src/cli/errors.js';
import { ENV } from '../../../src/core/resources.js';
import { localValues } from '../support/settings.js';

const CWD = '/project';
const ENV_PATH = join(CWD, LOCAL_ENV_FILE);

/** Every ENV variable with a valid value tagged by its source, so mixing would show. */
const fullValues = localValues;

function files(map: Record<string, string>): (path: string) => string | undefined {
  return (path) => map[path];
}

describe('Function: resolveConfig', () => {
  it('uses only local.env with --local, even when the environment is configured', () => {
    // Prepare
    const env = fullValues('env');
    const readFile = files({ [ENV_PATH]: formatEnvFile(fullValues('file')) });

    // Act
    const config = resolveConfig({ local: true, env, cwd: CWD, readFile });

    // Assess
    expect(config.source).toBe('flag-local');
    expect(config.variables).toEqual(fullValues('file'));
    expect(config.describe).toBe(`.machinery/local.env (${ENV_PATH})`);
  });

  it('uses the environment when MACHINERY_TASK_QUEUE_URL is set, ignoring local.env', () => {
    // Prepare
    const env = { [ENV.taskQueueUrl]: 'https://sqs/1/q.fifo', [ENV.taskStatesTable]: 'states' };
    const readFile = files({ [ENV_PATH]: formatEnvFile(fullValues('file')) });

    // Act
    const config = resolveConfig({ env, cwd: CWD, readFile });

    // Assess
    expect(config.source).toBe('env');
    expect(config.variables).toBe(env);
    expect(resolveSettings(config).settings).toEqual({
      taskQueueUrl: 'https://sqs/1/q.fifo',
      taskStatesTable: 'states',
    });
    expect(resolveSettings(config).aws).toEqual({
      sqsConfig: {},
      dynamodbConfig: {},
      schedulerConfig: {},
    });
  });

  it('leaves credentials to the SDK chain when the source is the environment', () => {
    // Prepare
    const env = fullValues('env');

    // Act
    const config = resolveConfig({ env, cwd: CWD, readFile: files({}) });

    // Assess
    const { aws } = resolveSettings(config);
    expect(config.explicitCredentials).toBe(false);
    expect(aws.region).toBe('env-region');
    expect(aws.sqsConfig).toEqual({ endpoint: 'http://env-sqs.test' });
  });

  it('falls back to local.env when the environment has no MACHINERY_TASK_QUEUE_URL', () => {
    // Prepare
    const env = { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_SQS: 'http://elsewhere' };
    const readFile = files({ [ENV_PATH]: formatEnvFile(fullValues('file')) });

    // Act
    const config = resolveConfig({ env, cwd: CWD, readFile });

    // Assess
    const { aws } = resolveSettings(config);
    const credentials = { accessKeyId: 'file-key', secretAccessKey: 'file-secret' };
    expect(config.source).toBe('local-env-file');
    expect(aws).toEqual({
      region: 'file-region',
      sqsConfig: { credentials, endpoint: 'http://file-sqs.test' },
      dynamodbConfig: { credentials, endpoint: 'http://file-dynamodb.test:8000' },
      schedulerConfig: { credentials, endpoint: 'http://file-scheduler.test' },
    });
  });

  it('explains how to configure when there is no source', () => {
    // Act
    const act = () => resolveConfig({ env: {}, cwd: CWD, readFile: files({}) });

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/machinery local up.*MACHINERY_TASK_QUEUE_URL/);
  });

  it('says local.env is missing when --local is given without it', () => {
    // Act
    const act = () =>
      resolveConfig({ local: true, env: fullValues('env'), cwd: CWD, readFile: files({}) });

    // Assess
    expect(act).toThrow(/--local: no \.machinery\/local\.env in \/project/);
  });

  it('refuses an incomplete local.env, naming what is missing', () => {
    // Prepare
    const readFile = files({ [ENV_PATH]: 'AWS_REGION=us-east-1\n' });

    // Act
    const act = () => resolveConfig({ env: {}, cwd: CWD, readFile });

    // Assess
    expect(act).toThrow(/incomplete \(missing AWS_ACCESS_KEY_ID, .*MACHINERY_SCHEDULER_ROLE_ARN\)/);
  });

  it('maps configuration errors to exit code 2', () => {
    // Act
    let exitCode: number | undefined;
    try {
      resolveConfig({ env: {}, cwd: CWD, readFile: files({}) });
    } catch (e) {
      exitCode = describeError(e, false).exitCode;
    }

    // Assess
    expect(exitCode).toBe(2);
  });
});

describe('Function: formatEnvFile', () => {
  it('writes exactly the 15 variables as plain KEY=VALUE lines in contract order', () => {
    // Prepare
    const values = { ...fullValues('v'), UNRELATED: 'x' };

    // Act
    const text = formatEnvFile(values);

    // Assess
    const lines = text.trimEnd().split('\n');
    expect(lines.map((l) => l.split('=')[0])).toEqual([
      'AWS_REGION',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_ENDPOINT_URL_SQS',
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_SCHEDULER',
      'MACHINERY_TASK_QUEUE_URL',
      'MACHINERY_DLQ_URL',
      'MACHINERY_DELAY_QUEUE_URL',
      'MACHINERY_DELAY_DLQ_URL',
      'MACHINERY_SCHEDULER_DLQ_URL',
      'MACHINERY_TASK_STATES_TABLE',
      'MACHINERY_GROUP_METAS_TABLE',
      'MACHINERY_SCHEDULE_GROUP',
      'MACHINERY_SCHEDULER_ROLE_ARN',
    ]);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toMatch(/export|"|'/);
  });

  it('refuses a missing variable', () => {
    // Prepare
    const values = fullValues('v');
    delete values[ENV.scheduleGroup];

    // Act
    const act = () => formatEnvFile(values);

    // Assess
    expect(act).toThrow(/MACHINERY_SCHEDULE_GROUP is missing/);
  });

  it('refuses a value with a line break', () => {
    // Prepare
    const values = { ...fullValues('v'), [ENV.region]: 'us-east-1\nEVIL=1' };

    // Act
    const act = () => formatEnvFile(values);

    // Assess
    expect(act).toThrow(/line break/);
  });

  it('round-trips through parseEnvFile', () => {
    // Prepare
    const values = { ...fullValues('v'), [ENV.taskQueueUrl]: 'http://127.0.0.1:1/q?a=b=c' };

    // Act
    const parsed = parseEnvFile(formatEnvFile(values));

    // Assess
    expect(parsed).toEqual(values);
  });
});

describe('Function: parseEnvFile', () => {
  it('ignores blank lines and comments and keeps values verbatim after the first =', () => {
    // Act
    const parsed = parseEnvFile('# comment\n\nA=1\nB=x=y \r\nC=\n');

    // Assess
    expect(parsed).toEqual({ A: '1', B: 'x=y ', C: '' });
  });

  it('refuses a line that is not KEY=VALUE, naming the line', () => {
    // Act
    const act = () => parseEnvFile('A=1\nexport B=2\n');

    // Assess
    expect(act).toThrow(/line 2 is not KEY=VALUE/);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/aws/errors.js';
import { connect } from '../../../src/cli/clients.js';
import { configFromLocalValues, resolveConfig } from '../../../src/cli/config.js';
import { describeError } from '../../../src/cli/errors.js';
import { ENV } from '../../../src/core/resources.js';
import { localValues } from '../support/settings.js';

const QUEUES = 'http://local-sqs.test/000000000000';

describe('Function: connect', () => {
  it('passes the region, credentials and endpoints of local.env explicitly to every client', async () => {
    // Prepare
    const config = configFromLocalValues(localValues());

    // Act
    const connection = connect(config);

    // Assess
    const { sqs, dynamodb, scheduler } = connection.clients;
    for (const client of [sqs, dynamodb, scheduler]) {
      expect(await client.config.region()).toBe('local-region');
      expect(await client.config.credentials()).toMatchObject({
        accessKeyId: 'local-key',
        secretAccessKey: 'local-secret',
      });
    }
    expect((await dynamodb.config.endpoint?.())?.port).toBe(8000);
    expect(connection.settings.taskStatesTable).toBe('local_task_states');
    expect(connection.scheduler).toBeDefined();
    connection.close();
  });

  it('refuses a garbage queue URL from the environment with exit code 2, naming the variable and the source', () => {
    // Prepare
    const env = { [ENV.taskQueueUrl]: 'garbage', [ENV.taskStatesTable]: 'task_states' };
    const config = resolveConfig({ env, cwd: '/project', readFile: () => undefined });

    // Act
    let error: unknown;
    try {
      connect(config);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variables).toEqual(['MACHINERY_TASK_QUEUE_URL']);
    expect(describeError(error, false)).toEqual({
      message: expect.stringMatching(
        /^MACHINERY_TASK_QUEUE_URL in the environment \(MACHINERY_TASK_QUEUE_URL is set\) is not an SQS queue URL .*got "garbage": /,
      ),
      exitCode: 2,
    });
  });

  it('names the variable and the source when a required one is missing', () => {
    // Prepare
    const env = { [ENV.taskQueueUrl]: `${QUEUES}/tasks.fifo` };
    const config = resolveConfig({ env, cwd: '/project', readFile: () => undefined });

    // Act
    const act = () => connect(config);

    // Assess
    expect(act).toThrow(
      /^MACHINERY_TASK_STATES_TABLE is not set in the environment \(MACHINERY_TASK_QUEUE_URL is set\): /,
    );
  });
});

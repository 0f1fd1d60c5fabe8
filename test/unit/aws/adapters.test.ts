import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { createAdapters } from '../../../src/aws/adapters.js';
import { ConfigError } from '../../../src/aws/errors.js';
import { EventBridgeScheduler } from '../../../src/aws/scheduler.js';
import { fromVariables } from '../../../src/aws/settings.js';
import { MemoryBroker, MemoryResultBackend } from '../../../src/core/memory.js';

const env = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:4566',
  AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
  AWS_ENDPOINT_URL_SCHEDULER: 'http://127.0.0.1:4577',
  MACHINERY_TASK_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/tasks.fifo',
  MACHINERY_TASK_STATES_TABLE: 'task_states',
};

describe('Function: createAdapters', () => {
  it('points the clients it builds at the endpoints and credentials of an explicit env', async () => {
    // Act
    const a = createAdapters({ env }, ['taskQueueUrl', 'taskStatesTable']);

    // Assess
    const endpoint = await a.clients.sqs.config.endpoint?.();
    expect(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`).toBe(
      'http://127.0.0.1:4566',
    );
    expect(await a.clients.sqs.config.region()).toBe('eu-west-1');
    expect((await a.clients.dynamodb.config.credentials()).accessKeyId).toBe('local');
    expect(a.scheduler).toBeUndefined();
    a.destroy();
  });

  it('keeps the session token of temporary credentials in an explicit env (Lambda: process.env)', async () => {
    // Prepare
    const lambdaEnv = {
      ...env,
      AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'session-token',
    };

    // Act
    const a = createAdapters({ env: lambdaEnv }, ['taskQueueUrl', 'taskStatesTable']);

    // Assess
    for (const client of [a.clients.sqs, a.clients.dynamodb, a.clients.scheduler]) {
      expect(await client.config.credentials()).toMatchObject({
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: 'secret',
        sessionToken: 'session-token',
      });
    }
    a.destroy();
  });

  it('keeps an injected client', () => {
    // Prepare
    const sqs = new SQSClient({ region: 'us-east-1' });

    // Act
    const a = createAdapters({ env, aws: { sqs } });

    // Assess
    expect(a.clients.sqs).toBe(sqs);
  });

  it('names every missing required setting, and the table and queue the adapters need', () => {
    // Act & Assess
    expect(() => createAdapters({ env: {} }, ['taskQueueUrl', 'dlqUrl'])).toThrow(ConfigError);
    expect(() => createAdapters({ env: {} }, ['taskQueueUrl', 'dlqUrl'])).toThrow(
      /^MACHINERY_TASK_QUEUE_URL, MACHINERY_DLQ_URL and MACHINERY_TASK_STATES_TABLE are not set in the environment/,
    );
  });

  it('does not require the table or the queue of a backend or broker passed in', () => {
    // Act
    const a = createAdapters({
      env: {},
      backend: new MemoryResultBackend(),
      broker: new MemoryBroker(),
    });

    // Assess
    expect(a.config).toEqual({});
    a.destroy();
  });

  it('reads the settings of a source, and refuses a source given with an env', () => {
    // Prepare
    const source = fromVariables(env, { describe: 'my variables' });

    // Act
    const a = createAdapters({ source });
    const both = () => createAdapters({ source, env });

    // Assess
    expect(a.config.taskStatesTable).toBe('task_states');
    expect(both).toThrow(/either a settings source or an env, not both/);
    a.destroy();
  });

  it('names the Scheduler variables that are not set when a scheduler is required', () => {
    // Prepare
    const a = createAdapters({
      env: { ...env, MACHINERY_DELAY_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/delay' },
    });

    // Act
    const act = () => a.requireScheduler('an ETA 1 h away needs EventBridge Scheduler');

    // Assess
    expect(act).toThrow(
      /^MACHINERY_SCHEDULE_GROUP, MACHINERY_SCHEDULER_ROLE_ARN and MACHINERY_SCHEDULER_DLQ_URL are not set in the environment: an ETA 1 h away needs EventBridge Scheduler; /,
    );
    a.destroy();
  });

  it('builds the EventBridge Scheduler adapter when the schedule settings are present', () => {
    // Act
    const a = createAdapters({
      env: {
        ...env,
        MACHINERY_SCHEDULE_GROUP: 'machinery',
        MACHINERY_SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/machinery-scheduler',
        MACHINERY_DELAY_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/delay',
        MACHINERY_SCHEDULER_DLQ_URL: 'http://127.0.0.1:4566/000000000000/scheduler-dlq',
      },
    });

    // Assess
    expect(a.scheduler).toBeInstanceOf(EventBridgeScheduler);
    expect(a.requireScheduler('unused')).toBe(a.scheduler);
  });
});

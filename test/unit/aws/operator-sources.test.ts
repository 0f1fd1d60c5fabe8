/**
 * The operator's reads that need no emulator: a stack's outputs turned into variables, the
 * CloudWatch query of the oldest-message ages (a hand-written client records the request), and
 * the CLI's choice between `--local` and `--stack`, and the in-memory scheduler's one-time list.
 */
import type { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/aws/errors.js';
import { metricQueueName, oldestMessageAges } from '../../../src/aws/queue-stats.js';
import { fromVariables } from '../../../src/aws/settings.js';
import { variablesOfOutputs } from '../../../src/aws/stack-source.js';
import { resolveCliConfig } from '../../../src/cli/config.js';
import { MemoryScheduler } from '../../../src/core/memory.js';
import { ENV } from '../../../src/core/resources.js';
import { oneTimeScheduleName } from '../../../src/core/schedule-names.js';
import { newSignature } from '../../../src/core/signature.js';

const AWS_TASKS = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tasks.fifo';
const AWS_DLQ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/tasks-dlq.fifo';
const LOCAL_DELAY = 'http://127.0.0.1:4566/000000000000/delay';

/** A CloudWatch client that answers GetMetricData with `values` by query id and records inputs. */
function fakeCloudWatch(values: Record<string, number[]>) {
  const inputs: GetMetricDataCommand['input'][] = [];
  const client = {
    send: async (command: GetMetricDataCommand) => {
      inputs.push(command.input);
      return {
        MetricDataResults: (command.input.MetricDataQueries ?? []).map((q) => ({
          Id: q.Id,
          Values: values[q.Id as string] ?? [],
        })),
      };
    },
  } as unknown as CloudWatchClient;
  return { client, inputs };
}

describe('Function: variablesOfOutputs', () => {
  it('keys each output by the variable its Description names, ignoring other outputs', () => {
    // Act
    const vars = variablesOfOutputs([
      { OutputKey: 'MachineryDlqUrl', OutputValue: AWS_DLQ, Description: ENV.dlqUrl },
      { OutputKey: 'Other', OutputValue: 'x', Description: 'something else' },
      { OutputKey: 'NoDescription', OutputValue: 'y' },
      { OutputKey: 'Padded', OutputValue: 'states', Description: ` ${ENV.taskStatesTable} ` },
    ]);

    // Assess
    expect(vars).toEqual({ [ENV.dlqUrl]: AWS_DLQ, [ENV.taskStatesTable]: 'states' });
  });
});

describe('Function: metricQueueName', () => {
  it('gives the queue name of an AWS queue URL and nothing for an emulator URL', () => {
    // Act & Assess
    expect(metricQueueName(AWS_TASKS)).toBe('tasks.fifo');
    expect(metricQueueName(LOCAL_DELAY)).toBeUndefined();
  });
});

describe('Function: oldestMessageAges', () => {
  it('asks CloudWatch once for the AWS queues only and takes the latest value of each', async () => {
    // Prepare
    const cw = fakeCloudWatch({ q0: [42, 7], q2: [] });
    const now = Date.parse('2030-01-01T00:15:00Z');

    // Act
    const ages = await oldestMessageAges(cw.client, [AWS_TASKS, LOCAL_DELAY, AWS_DLQ], now);

    // Assess
    expect(ages).toEqual([42, null, null]);
    expect(cw.inputs).toHaveLength(1);
    const [input] = cw.inputs;
    expect(input?.MetricDataQueries?.map((q) => [q.Id, q.MetricStat?.Metric?.Dimensions])).toEqual([
      ['q0', [{ Name: 'QueueName', Value: 'tasks.fifo' }]],
      ['q2', [{ Name: 'QueueName', Value: 'tasks-dlq.fifo' }]],
    ]);
    expect(input?.MetricDataQueries?.[0]?.MetricStat).toMatchObject({
      Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage' },
      Stat: 'Maximum',
    });
    expect(input?.ScanBy).toBe('TimestampDescending');
    expect(input?.EndTime).toEqual(new Date(now));
  });

  it('makes no call when no queue URL is an AWS one (the local stack)', async () => {
    // Prepare
    const cw = fakeCloudWatch({});

    // Act
    const ages = await oldestMessageAges(cw.client, [LOCAL_DELAY], Date.now());

    // Assess
    expect(ages).toEqual([null]);
    expect(cw.inputs).toHaveLength(0);
  });
});

describe('Function: resolveCliConfig', () => {
  it('refuses --local together with --stack before reading anything (exit 2)', async () => {
    // Prepare
    const read: string[] = [];

    // Act
    const result = resolveCliConfig({
      local: true,
      stack: 'Machinery',
      env: {},
      cwd: '/nowhere',
      readFile: (path) => {
        read.push(path);
        return undefined;
      },
      stackSource: async (name) => {
        read.push(name);
        return fromVariables({});
      },
    });

    // Assess
    await expect(result).rejects.toThrow(ConfigError);
    await expect(result).rejects.toThrow(/--local and --stack/);
    expect(read).toEqual([]);
  });

  it('reads the named stack in the region of AWS_REGION with --stack, ignoring the environment', async () => {
    // Prepare
    const asked: { name: string; region: string | undefined }[] = [];
    const env = { [ENV.region]: 'eu-west-1', [ENV.taskQueueUrl]: AWS_TASKS };

    // Act
    const config = await resolveCliConfig({
      stack: 'Machinery',
      env,
      cwd: '/nowhere',
      stackSource: async (name, options) => {
        asked.push({ name, region: options.region });
        return fromVariables({ [ENV.dlqUrl]: AWS_DLQ }, { describe: 'the outputs of stack X' });
      },
    });

    // Assess
    expect(asked).toEqual([{ name: 'Machinery', region: 'eu-west-1' }]);
    expect(config.source).toBe('flag-stack');
    expect(config.variables).toEqual({ [ENV.dlqUrl]: AWS_DLQ });
  });

  it('uses the environment rules without --stack', async () => {
    // Act
    const config = await resolveCliConfig({
      env: { [ENV.taskQueueUrl]: AWS_TASKS },
      cwd: '/nowhere',
      stackSource: () => Promise.reject(new Error('not asked')),
    });

    // Assess
    expect(config.source).toBe('env');
  });
});

describe('Class: MemoryScheduler', () => {
  it('lists one-time schedules soonest first with their task, ETA and schedule name', async () => {
    // Prepare
    const scheduler = new MemoryScheduler();
    const later = newSignature('add', [], { ETA: '2030-01-01T12:00:00Z' });
    const sooner = newSignature('mul', [], { ETA: '2030-01-01T10:00:00Z' });
    await scheduler.scheduleOnce(later, Date.parse('2030-01-01T11:59:00Z'));
    await scheduler.scheduleOnce(sooner, Date.parse('2030-01-01T09:59:00Z'));

    // Act
    const listed = await scheduler.listOnce();

    // Assess
    expect(listed).toEqual([
      {
        scheduleName: oneTimeScheduleName(sooner.UUID),
        uuid: sooner.UUID,
        name: 'mul',
        eta: '2030-01-01T10:00:00Z',
        fireAt: Date.parse('2030-01-01T09:59:00Z'),
      },
      expect.objectContaining({ uuid: later.UUID, name: 'add' }),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { awsClientOptions, machineryConfig } from '../../../src/cli/clients.js';
import { type CliConfig, configFromLocalValues, ENV_KEYS } from '../../../src/cli/config.js';
import { ENV } from '../../../src/core/resources.js';

function localValues(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ENV_KEYS) out[ENV[key]] = `v-${key}`;
  return out;
}

describe('Function: awsClientOptions', () => {
  it('passes region, credentials and each endpoint of local.env explicitly to every client', () => {
    // Prepare
    const config = configFromLocalValues(localValues());

    // Act
    const options = awsClientOptions(config);

    // Assess
    const base = {
      region: 'v-region',
      credentials: { accessKeyId: 'v-accessKeyId', secretAccessKey: 'v-secretAccessKey' },
    };
    expect(options).toEqual({
      region: 'v-region',
      sqsConfig: { ...base, endpoint: 'v-endpointSqs' },
      dynamodbConfig: { ...base, endpoint: 'v-endpointDynamodb' },
      schedulerConfig: { ...base, endpoint: 'v-endpointScheduler' },
    });
  });

  it('leaves credentials and endpoints to the SDK when the environment sets none', () => {
    // Prepare
    const config: CliConfig = { source: 'env', describe: 'env', values: {}, endpoints: {} };

    // Act
    const options = awsClientOptions(config);

    // Assess
    expect(options).toEqual({ sqsConfig: {}, dynamodbConfig: {}, schedulerConfig: {} });
  });
});

describe('Function: machineryConfig', () => {
  it('maps the MACHINERY_* values and the region, and nothing of AWS credentials or endpoints', () => {
    // Prepare
    const config = configFromLocalValues(localValues());

    // Act
    const settings = machineryConfig(config);

    // Assess
    expect(settings).toEqual({
      region: 'v-region',
      taskQueueUrl: 'v-taskQueueUrl',
      dlqUrl: 'v-dlqUrl',
      delayQueueUrl: 'v-delayQueueUrl',
      delayDlqUrl: 'v-delayDlqUrl',
      schedulerDlqUrl: 'v-schedulerDlqUrl',
      taskStatesTable: 'v-taskStatesTable',
      groupMetasTable: 'v-groupMetasTable',
      scheduleGroup: 'v-scheduleGroup',
      schedulerRoleArn: 'v-schedulerRoleArn',
    });
  });
});

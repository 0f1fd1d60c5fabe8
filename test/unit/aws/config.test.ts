import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import {
  createAwsClients,
  createDynamoDbDocumentClient,
  createSqsClient,
} from '../../../src/aws/config.js';
import { ConfigError } from '../../../src/aws/errors.js';

describe('Function: createAwsClients', () => {
  it('destroys the DynamoDB client it built under the document client, never one passed in', () => {
    // Prepare
    const destroy = vi.spyOn(DynamoDBClient.prototype, 'destroy');
    const passed = new DynamoDBClient({ region: 'eu-west-3' });
    const built = createAwsClients({ region: 'eu-west-3' });
    const adopted = createAwsClients({ region: 'eu-west-3', dynamodb: passed });

    // Act
    built.destroy();
    const afterBuilt = destroy.mock.contexts.slice();
    adopted.destroy();

    // Assess
    expect(afterBuilt).toHaveLength(1);
    expect(afterBuilt[0]).not.toBe(passed);
    expect(destroy.mock.contexts).toHaveLength(1);
    destroy.mockRestore();
    passed.destroy();
  });

  it('builds new clients on every call, in the given region', async () => {
    // Act
    const a = createAwsClients({ region: 'eu-west-3' });
    const b = createAwsClients({ region: 'eu-west-3' });

    // Assess
    expect(a.sqs).not.toBe(b.sqs);
    expect(a.dynamodb).toBeInstanceOf(DynamoDBDocumentClient);
    expect(await a.sqs.config.region()).toBe('eu-west-3');
    expect(await a.scheduler.config.region()).toBe('eu-west-3');
  });

  it('adopts an injected SQS client as is', () => {
    // Prepare
    const sqs = new SQSClient({ region: 'us-east-1' });

    // Act
    const clients = createAwsClients({ sqs });

    // Assess
    expect(clients.sqs).toBe(sqs);
  });

  it('rejects a client passed together with its config', () => {
    // Prepare
    const sqs = new SQSClient({ region: 'us-east-1' });

    // Act & Assess
    expect(() => createSqsClient({ sqs, sqsConfig: { region: 'us-east-1' } })).toThrow(ConfigError);
    expect(() =>
      createDynamoDbDocumentClient({
        dynamodb: new DynamoDBClient({}),
        dynamodbConfig: {},
      }),
    ).toThrow(/not both/);
  });

  it('wraps a plain DynamoDB client and keeps a document client', () => {
    // Prepare
    const plain = new DynamoDBClient({ region: 'us-east-1' });
    const doc = DynamoDBDocumentClient.from(plain);

    // Act
    const wrapped = createDynamoDbDocumentClient({ dynamodb: plain });
    const kept = createDynamoDbDocumentClient({ dynamodb: doc });

    // Assess
    expect(wrapped).toBeInstanceOf(DynamoDBDocumentClient);
    expect(kept).toBe(doc);
  });

  it('lets the config region win over the option region', async () => {
    // Act
    const sqs = createSqsClient({ region: 'us-east-1', sqsConfig: { region: 'ap-south-1' } });

    // Assess
    expect(await sqs.config.region()).toBe('ap-south-1');
  });
});

import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { QueueDoesNotExist, SQSServiceException } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  isTransient,
  MessageTooLargeError,
  PublishError,
  translateAwsError,
} from '../../../src/aws/errors.js';
import {
  classifyFault,
  InfrastructureError,
  type MachineryError,
  MessageRejectedError,
  TransientInfrastructureError,
} from '../../../src/core/errors.js';

function serviceError(name: string, status: number, fault: 'client' | 'server' = 'client') {
  return new DynamoDBServiceException({
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
    message: `${name} happened`,
  });
}

/** An SDK exception as DynamoDB Local / fauxqs really answer (messages copied from them). */
function refusal(name: string, message: string, code?: string) {
  return new SQSServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
    ...(code === undefined ? {} : { Code: code }),
  } as ConstructorParameters<typeof SQSServiceException>[0]);
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

describe('Function: translateAwsError', () => {
  it.each([
    'ThrottlingException',
    'ProvisionedThroughputExceededException',
    'RequestLimitExceeded',
    'TooManyRequestsException',
    'KmsThrottled',
    'KMSThrottlingException',
    'RequestThrottled',
  ])('maps %s to a TransientInfrastructureError', (name) => {
    // Prepare
    const e = serviceError(name, 400);

    // Act
    const out = translateAwsError(e, { service: 'DynamoDB' });

    // Assess
    expect(out).toBeInstanceOf(TransientInfrastructureError);
    expect((out as MachineryError).code).toBe('TRANSIENT_INFRASTRUCTURE');
    expect(out.cause).toBe(e);
  });

  it('maps an HTTP 429 without a known name to a transient error', () => {
    // Prepare
    const e = serviceError('SomethingNew', 429);

    // Act
    const out = translateAwsError(e);

    // Assess
    expect(out).toBeInstanceOf(TransientInfrastructureError);
  });

  it.each([
    ['a 500', serviceError('InternalServerError', 500, 'server')],
    ['a 503 with an unknown name', serviceError('Unknown', 503, 'server')],
    ['a TimeoutError', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    ['ECONNRESET', socketError('ECONNRESET')],
    ['ETIMEDOUT', socketError('ETIMEDOUT')],
    ['a wrapped ECONNRESET', new Error('request failed', { cause: socketError('ECONNRESET') })],
  ])('maps %s to a transient error', (_label, e) => {
    // Act
    const out = translateAwsError(e);

    // Assess
    expect(out).toBeInstanceOf(TransientInfrastructureError);
  });

  it('maps QueueDoesNotExist to MISSING_QUEUE with one sentence naming the queue', () => {
    // Prepare
    const e = new QueueDoesNotExist({
      $metadata: { httpStatusCode: 400 },
      message: 'The specified queue does not exist.',
    });

    // Act
    const out = translateAwsError(e, { service: 'SQS', resource: 'https://q/tasks.fifo' });

    // Assess
    expect(out).toBeInstanceOf(InfrastructureError);
    expect(out).not.toBeInstanceOf(TransientInfrastructureError);
    expect((out as MachineryError).code).toBe('MISSING_QUEUE');
    expect(out.message).toContain('https://q/tasks.fifo');
    expect(out.message).not.toContain('\n');
  });

  it('maps the query-compatible code AWS.SimpleQueueService.NonExistentQueue to MISSING_QUEUE', () => {
    // Prepare
    const e = new SQSServiceException({
      name: 'AWS.SimpleQueueService.NonExistentQueue',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'The specified queue does not exist',
    });

    // Act
    const out = translateAwsError(e, { service: 'SQS' });

    // Assess
    expect((out as MachineryError).code).toBe('MISSING_QUEUE');
    expect(out.message).toMatch(/^the queue does not exist/);
  });

  it.each([
    [
      'ResourceNotFoundException',
      serviceError('ResourceNotFoundException', 400),
      'MISSING_RESOURCE',
    ],
    ['AccessDeniedException', serviceError('AccessDeniedException', 400), 'ACCESS_DENIED'],
    ['a bare 403', serviceError('Forbidden', 403), 'ACCESS_DENIED'],
    [
      'CredentialsProviderError',
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
      'NO_CREDENTIALS',
    ],
    ['ECONNREFUSED', socketError('ECONNREFUSED'), 'ENDPOINT_UNREACHABLE'],
    ['ENOTFOUND', socketError('ENOTFOUND'), 'ENDPOINT_UNREACHABLE'],
    [
      'an AggregateError of ECONNREFUSED',
      new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], ''),
      'ENDPOINT_UNREACHABLE',
    ],
    ['a ValidationException', serviceError('ValidationException', 400), 'AWS_REQUEST_REJECTED'],
  ])('maps %s to a permanent InfrastructureError', (_label, e, code) => {
    // Act
    const out = translateAwsError(e, { service: 'DynamoDB', resource: 'task_states' });

    // Assess
    expect(out).toBeInstanceOf(InfrastructureError);
    expect(out).not.toBeInstanceOf(TransientInfrastructureError);
    expect((out as MachineryError).code).toBe(code);
    expect(out.message.split('\n')).toHaveLength(1);
    expect(out.cause).toBe(e);
  });

  it.each([
    [
      'an item over 400 KB',
      refusal('ValidationException', 'Item size has exceeded the maximum allowed size'),
    ],
    [
      'an update making the item over 400 KB',
      refusal('ValidationException', 'Item size to update has exceeded the maximum allowed size'),
    ],
    [
      'an expression value over 400 KB',
      refusal(
        'ValidationException',
        'ExpressionAttributeValues contains invalid value: Item size has exceeded the maximum allowed size for key :results',
      ),
    ],
    [
      'a key over 2,048 bytes',
      refusal(
        'ValidationException',
        'Hash primary key values must be under 2048 bytes, and range primary key values must be under 1024 bytes',
      ),
    ],
    [
      'a number out of DynamoDB range',
      refusal(
        'ValidationException',
        'Number overflow. Attempting to store a number with magnitude larger than supported range',
      ),
    ],
    [
      'an SQS body over 1 MiB',
      refusal(
        'AWS.SimpleQueueService.InvalidParameterValue',
        'One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.',
        'AWS.SimpleQueueService.InvalidParameterValue',
      ),
    ],
    [
      'an SQS body with characters SQS refuses',
      refusal(
        'AWS.SimpleQueueService.InvalidMessageContents',
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF and #xE000 to #xFFFD.',
      ),
    ],
    [
      'an SQS batch over 1 MiB',
      refusal('BatchRequestTooLong', 'Batch requests cannot be longer than 1048576 bytes.'),
    ],
  ])('maps %s to a MessageRejectedError (fault kind message)', (_label, e) => {
    // Act
    const out = translateAwsError(e, { service: 'DynamoDB', resource: 'task_states' });

    // Assess
    expect(out).toBeInstanceOf(MessageRejectedError);
    expect((out as MachineryError).code).toBe('MESSAGE_REJECTED');
    expect(classifyFault(out).kind).toBe('message');
    expect(out.message).toContain('DynamoDB (task_states) refused the request');
    expect(out.message.split('\n')).toHaveLength(1);
    expect(out.cause).toBe(e);
  });

  it.each([
    [
      'a malformed expression',
      refusal('ValidationException', 'Invalid UpdateExpression: Syntax error; token: "SET"'),
    ],
    [
      'an SQS parameter that is not about the message',
      refusal(
        'AWS.SimpleQueueService.InvalidParameterValue',
        'Value 2000 for parameter DelaySeconds is invalid. Reason: must be between 0 and 900',
      ),
    ],
  ])('keeps %s a permanent request error of the deployment, not of the message', (_label, e) => {
    // Act
    const out = translateAwsError(e);

    // Assess
    expect(out).not.toBeInstanceOf(MessageRejectedError);
    expect((out as MachineryError).code).toBe('AWS_REQUEST_REJECTED');
    expect(classifyFault(out).kind).toBe('deployment');
  });

  it('returns a MachineryError unchanged', () => {
    // Prepare
    const e = new ConfigError('x is not set');

    // Act
    const out = translateAwsError(e);

    // Assess
    expect(out).toBe(e);
  });

  it('returns an error that is not from AWS unchanged', () => {
    // Prepare
    const e = new TypeError('undefined is not a function');

    // Act
    const out = translateAwsError(e);

    // Assess
    expect(out).toBe(e);
  });

  it('wraps a thrown non-error in an Error', () => {
    // Act
    const out = translateAwsError('boom');

    // Assess
    expect(out).toBeInstanceOf(Error);
    expect(out.message).toBe('boom');
  });
});

describe('Function: isTransient', () => {
  it('is true for throttling and false for a missing table', () => {
    // Act & Assess
    expect(isTransient(serviceError('ThrottlingException', 400))).toBe(true);
    expect(isTransient(serviceError('ResourceNotFoundException', 400))).toBe(false);
  });
});

describe('Class: PublishError', () => {
  it('names the unsent tasks, at most ten of them in the message', () => {
    // Prepare
    const unsent = Array.from({ length: 12 }, (_, i) => `task_${i}`);

    // Act
    const e = new PublishError(unsent, 'InternalError');

    // Assess
    expect(e.code).toBe('PUBLISH_FAILED');
    expect(e.unsent).toEqual(unsent);
    expect(e.message).toContain('task_0');
    expect(e.message).toContain('and 2 more');
    expect(e.message).not.toContain('task_11');
  });
});

describe('Class: MessageTooLargeError', () => {
  it('carries the uuid and size', () => {
    // Act
    const e = new MessageTooLargeError('task_1', 2_000_000, 1_048_576);

    // Assess
    expect(e.code).toBe('MESSAGE_TOO_LARGE');
    expect(e.uuid).toBe('task_1');
    expect(e.bytes).toBe(2_000_000);
    expect(e.message).toContain('1048576');
  });

  it('is a MessageRejectedError, so the message is dead-lettered rather than retried', () => {
    // Act
    const e = new MessageTooLargeError('task_1', 2_000_000, 1_048_576);

    // Assess
    expect(e).toBeInstanceOf(MessageRejectedError);
    expect(classifyFault(e)).toEqual({ kind: 'message', code: 'MESSAGE_TOO_LARGE' });
  });
});

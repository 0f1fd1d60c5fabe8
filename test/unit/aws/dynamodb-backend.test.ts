import { describe, expect, it } from 'vitest';
import {
  conditionInput,
  fromItemResults,
  itemToRecord,
  toItemResults,
} from '../../../src/aws/dynamodb-backend.js';
import { decodeTypedValues } from '../../../src/core/args.js';
import { taskIsAbsent, transitionConditions } from '../../../src/core/transitions.js';

describe('Function: toItemResults', () => {
  it('keeps values as their JSON types and 64-bit integers beyond 2^53 as decimal strings', () => {
    // Act
    const stored = toItemResults([
      { Type: 'int64', Value: 7 },
      { Type: 'uint64', Value: 18446744073709551615n },
      { Type: '[]string', Value: ['a'] },
    ]);

    // Assess
    expect(stored).toEqual([
      { Type: 'int64', Value: 7 },
      { Type: 'uint64', Value: '18446744073709551615' },
      { Type: '[]string', Value: ['a'] },
    ]);
  });

  it('stores floats outside DynamoDB number range as strings and reads them back as numbers', () => {
    // Prepare
    const values = [
      { Type: 'float64' as const, Value: 1e300 },
      { Type: '[]float64' as const, Value: [5e-324, 1.5, 0] },
    ];

    // Act
    const stored = toItemResults(values);
    const back = decodeTypedValues(fromItemResults(stored));

    // Assess
    expect(stored).toEqual([
      { Type: 'float64', Value: '1e+300' },
      { Type: '[]float64', Value: ['5e-324', 1.5, 0] },
    ]);
    expect(back).toEqual(values);
  });
});

describe('Function: itemToRecord', () => {
  it('maps a stored item to a TaskRecord, TTL seconds to expiresAt ms', () => {
    // Act
    const rec = itemToRecord({
      TaskUUID: 'task_1',
      TaskName: 'add',
      State: 'STARTED',
      CreatedAt: 1000,
      UpdatedAt: 2000,
      TTL: 1_800_000_000,
      Attempt: 2,
      Retries: 1,
      Crashes: 0,
      LeaseUntil: 5000,
      DeadLettered: false,
    });

    // Assess
    expect(rec).toEqual({
      uuid: 'task_1',
      name: 'add',
      state: 'STARTED',
      results: null,
      error: null,
      createdAt: 1000,
      updatedAt: 2000,
      attempt: 2,
      retries: 1,
      crashes: 0,
      leaseUntil: 5000,
      deadLettered: false,
      deadLetterReason: null,
      expiresAt: 1_800_000_000_000,
      body: null,
    });
  });
});

describe('Function: conditionInput', () => {
  it('gives the expression with its names and values, leaving out an empty values map', () => {
    // Act
    const withValues = conditionInput(transitionConditions.putPending(1_000));
    const withoutValues = conditionInput(taskIsAbsent);

    // Assess
    expect(withValues).toEqual({
      ConditionExpression: '(attribute_not_exists(#TaskUUID) OR #TTL <= :nowSec)',
      ExpressionAttributeNames: { '#TaskUUID': 'TaskUUID', '#TTL': 'TTL' },
      ExpressionAttributeValues: { ':nowSec': 1 },
    });
    expect(withoutValues).toEqual({
      ConditionExpression: 'attribute_not_exists(#TaskUUID)',
      ExpressionAttributeNames: { '#TaskUUID': 'TaskUUID' },
    });
  });
});

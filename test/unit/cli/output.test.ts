import { describe, expect, it } from 'vitest';
import {
  formatGroupStatus,
  formatPlainResults,
  formatResultLists,
  formatStatus,
  formatTable,
  groupStatusJson,
  jsonResults,
  plainValue,
  sendJson,
  statusJson,
} from '../../../src/cli/output.js';
import type { GroupProgress } from '../../../src/core/chords.js';
import type { TaskRecord } from '../../../src/core/ports.js';

const BIG = 18446744073709551615n;

function record(overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    uuid: 'task_1',
    name: 'add',
    state: 'SUCCESS',
    results: [{ Type: 'int64', Value: 2 }],
    error: null,
    createdAt: Date.parse('2030-01-01T00:00:00.000Z'),
    updatedAt: Date.parse('2030-01-01T00:00:01.500Z'),
    attempt: 1,
    retries: 0,
    crashes: 0,
    leaseUntil: null,
    deadLettered: false,
    deadLetterReason: null,
    expiresAt: Date.parse('2030-01-02T00:00:00.000Z'),
    body: null,
    ...overrides,
  };
}

describe('Function: plainValue', () => {
  it.each([
    ['a string raw', 'foo bar', 'foo bar'],
    ['a string that looks like JSON raw', '"x"', '"x"'],
    ['a bigint as its digits', BIG, '18446744073709551615'],
    ['a negative bigint as its digits', -9007199254740993n, '-9007199254740993'],
    ['an integer', 2, '2'],
    ['a float', 4.2, '4.2'],
    ['a bool', true, 'true'],
    ['a string slice as JSON', ['foo', 'bar'], '["foo","bar"]'],
    ['an integer slice with big values exactly', [1, BIG], '[1,18446744073709551615]'],
    ['bytes as base64', new Uint8Array([104, 105]), 'aGk='],
  ])('prints %s', (_what, value, text) => {
    // Act
    const out = plainValue(value);

    // Assess
    expect(out).toBe(text);
  });
});

describe('Function: formatPlainResults', () => {
  it('prints nothing for no result', () => {
    // Act
    const out = formatPlainResults([]);

    // Assess
    expect(out).toBe('');
  });

  it('prints a single result as its plain value', () => {
    // Act
    const out = formatPlainResults([{ Type: 'string', Value: 'foo' }]);

    // Assess
    expect(out).toBe('foo');
  });

  it('prints several results as a JSON array with exact integers', () => {
    // Act
    const out = formatPlainResults([
      { Type: 'int64', Value: 1 },
      { Type: 'string', Value: 'a' },
      { Type: 'uint64', Value: BIG },
    ]);

    // Assess
    expect(out).toBe('[1,"a",18446744073709551615]');
  });
});

describe('Function: jsonResults', () => {
  it('writes values beyond 2^53 as decimal strings and safe ones as numbers', () => {
    // Act
    const out = jsonResults([
      { Type: 'uint64', Value: BIG },
      { Type: 'int64', Value: 5n },
      { Type: '[]int64', Value: [1, -9007199254740993n] },
    ]);

    // Assess
    expect(out).toEqual([
      { type: 'uint64', value: '18446744073709551615' },
      { type: 'int64', value: 5 },
      { type: '[]int64', value: [1, '-9007199254740993'] },
    ]);
  });

  it('keeps null for a task without results', () => {
    // Act
    const out = jsonResults(null);

    // Assess
    expect(out).toBeNull();
  });
});

describe('Function: sendJson', () => {
  it('has exactly uuid, state, results and error, and survives JSON.stringify', () => {
    // Act
    const doc = sendJson({
      uuid: 'task_1',
      state: 'SUCCESS',
      results: [{ Type: 'int64', Value: 9007199254740993n }],
      error: null,
    });

    // Assess
    expect(Object.keys(doc)).toEqual(['uuid', 'state', 'results', 'error']);
    expect(JSON.parse(JSON.stringify(doc))).toEqual({
      uuid: 'task_1',
      state: 'SUCCESS',
      results: [{ type: 'int64', value: '9007199254740993' }],
      error: null,
    });
  });
});

describe('Function: statusJson', () => {
  it('has exactly the documented keys with ISO timestamps', () => {
    // Act
    const doc = statusJson(record());

    // Assess
    expect(doc).toEqual({
      kind: 'task',
      uuid: 'task_1',
      name: 'add',
      state: 'SUCCESS',
      results: [{ type: 'int64', value: 2 }],
      error: null,
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:01.500Z',
      attempts: 1,
      retries: 0,
      groupUUID: null,
      groupIndex: null,
      eta: null,
    });
  });

  it("gives a group member's GroupUUID and index and the ETA as RFC 3339", () => {
    // Act
    const doc = statusJson(
      record({ groupUUID: 'group_1', groupIndex: 2, eta: Date.parse('2030-01-01T09:00:00.250Z') }),
    );

    // Assess
    expect(doc).toMatchObject({
      kind: 'task',
      groupUUID: 'group_1',
      groupIndex: 2,
      eta: '2030-01-01T09:00:00.25Z',
    });
  });

  it('gives the attempts claimed and the retries used', () => {
    // Act
    const doc = statusJson(record({ state: 'RETRY', results: null, attempt: 3, retries: 2 }));

    // Assess
    expect(doc).toMatchObject({ state: 'RETRY', attempts: 3, retries: 2 });
  });
});

describe('Function: formatStatus', () => {
  it("shows a group member's group and index and the ETA", () => {
    // Act
    const out = formatStatus(
      record({ groupUUID: 'group_1', groupIndex: 0, eta: Date.parse('2030-01-01T09:00:00Z') }),
    );

    // Assess
    expect(out).toContain('eta:     2030-01-01T09:00:00Z\n');
    expect(out).toContain('group:   group_1 (member 0)\n');
  });

  it('shows the state, results and times of a task on labelled lines', () => {
    // Act
    const out = formatStatus(record({ results: [{ Type: 'uint64', Value: BIG }] }));

    // Assess
    expect(out).toBe(
      [
        'uuid:    task_1',
        'name:    add',
        'state:   SUCCESS',
        'results: 18446744073709551615 (uint64)',
        'attempt: 1',
        'retries: 0',
        'created: 2030-01-01T00:00:00.000Z',
        'updated: 2030-01-01T00:00:01.500Z',
        '',
      ].join('\n'),
    );
  });

  it('shows the error of a failed task and no results line', () => {
    // Act
    const out = formatStatus(record({ state: 'FAILURE', results: null, error: 'boom' }));

    // Assess
    expect(out).toContain('error:   boom\n');
    expect(out).not.toContain('results:');
  });
});

describe('Function: formatTable', () => {
  it('pads every column but the last to its widest cell', () => {
    // Act
    const out = formatTable(
      ['task', 'state', 'result'],
      [
        ['add', 'SUCCESS', '2'],
        ['panic_task', 'FAILURE', ''],
      ],
    );

    // Assess
    expect(out).toBe(
      [
        'task        state    result',
        '----------  -------  ------',
        'add         SUCCESS  2',
        'panic_task  FAILURE',
        '',
      ].join('\n'),
    );
  });
});

/** A chord's progress with one member failed and one waited on. */
function progress(overrides: Partial<GroupProgress> = {}): GroupProgress {
  return {
    uuid: 'group_1',
    kind: 'chord',
    state: 'FAILURE',
    total: 3,
    succeeded: 1,
    failed: ['task_2'],
    waitingOn: ['task_2', 'task_3'],
    error: 'member task_2 failed: boom',
    callback: { uuid: 'chord_1', state: 'FAILURE' },
    ...overrides,
  };
}

describe('Function: groupStatusJson', () => {
  it('has exactly the documented keys', () => {
    // Act
    const doc = groupStatusJson(progress());

    // Assess
    expect(doc).toEqual({
      uuid: 'group_1',
      kind: 'chord',
      state: 'FAILURE',
      total: 3,
      succeeded: 1,
      failed: ['task_2'],
      waitingOn: ['task_2', 'task_3'],
      error: 'member task_2 failed: boom',
      callback: { uuid: 'chord_1', state: 'FAILURE' },
    });
  });

  it('keeps waitingOn and callback null for a Go group counted without a record', () => {
    // Act
    const doc = groupStatusJson(
      progress({
        kind: 'group',
        state: 'STARTED',
        failed: [],
        waitingOn: null,
        callback: null,
        error: null,
      }),
    );

    // Assess
    expect(doc).toMatchObject({ waitingOn: null, callback: null, kind: 'group' });
  });
});

describe('Function: formatGroupStatus', () => {
  it('shows progress, failed and waited-on members, the error and the callback on labelled lines', () => {
    // Act
    const out = formatGroupStatus(progress());

    // Assess
    expect(out).toBe(
      [
        'uuid:     group_1',
        'kind:     chord',
        'state:    FAILURE',
        'progress: 1 of 3 succeeded',
        'failed:   task_2',
        'waiting:  task_2, task_3',
        'error:    member task_2 failed: boom',
        'callback: chord_1 (FAILURE)',
        '',
      ].join('\n'),
    );
  });

  it('says accounted when the members are unknown', () => {
    // Act
    const out = formatGroupStatus(progress({ waitingOn: null, failed: [], error: null }));

    // Assess
    expect(out).toContain('progress: 1 of 3 accounted\n');
    expect(out).not.toContain('waiting:');
  });
});

describe('Function: formatResultLists', () => {
  it('writes each list as a JSON array with exact integers, separated by commas', () => {
    // Act
    const out = formatResultLists([
      [{ Type: 'int64', Value: 2 }],
      [{ Type: 'uint64', Value: BIG }],
      [],
    ]);

    // Assess
    expect(out).toBe('[2], [18446744073709551615], []');
  });
});

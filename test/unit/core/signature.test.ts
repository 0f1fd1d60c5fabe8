import { describe, expect, it } from 'vitest';
import { SignatureDecodeError, SignatureEncodeError } from '../../../src/core/errors.js';
import { jsonDepth, parseJsonLossless, RawNumber, stringifyJson } from '../../../src/core/json.js';
import { DEFAULTS } from '../../../src/core/resources.js';
import {
  decodeSignature,
  deriveTaskUUID,
  encodeSignature,
  MACHINERY_NAMESPACE,
  MAX_SIGNATURE_DEPTH,
  newChordUUID,
  newGroupUUID,
  newSignature,
  newTaskUUID,
  normalizeSignature,
  SIGNATURE_KEYS,
  uuidV5,
} from '../../../src/core/signature.js';

/** The example body of docs/design.md §2 (a Go machinery producer's output). */
const GO_BODY =
  '{"UUID":"task_0b3c2a9e-6a53-4a8e-9a38-0f1e2d3c4b5a","Name":"add","RoutingKey":"","ETA":null,' +
  '"GroupUUID":"","GroupTaskCount":0,"Args":[{"Name":"","Type":"int64","Value":1},' +
  '{"Name":"","Type":"int64","Value":2}],"Headers":{},"Priority":0,"Immutable":false,' +
  '"RetryCount":0,"RetryTimeout":0,"OnSuccess":null,"OnError":null,"ChordCallback":null,' +
  '"BrokerMessageGroupId":"","SQSReceiptHandle":"","StopTaskDeletionOnError":false,' +
  '"IgnoreWhenTaskNotRegistered":false}';

function decodeError(body: string): SignatureDecodeError {
  try {
    decodeSignature(body);
  } catch (e) {
    if (e instanceof SignatureDecodeError) return e;
    throw new Error(`expected SignatureDecodeError, got ${String(e)}`);
  }
  throw new Error('expected decodeSignature to throw');
}

describe('Function: decodeSignature', () => {
  it('decodes a Go machinery producer body and encodes it back byte for byte', () => {
    // Prepare
    const body = GO_BODY;

    // Act
    const sig = decodeSignature(body);

    // Assess
    expect(sig.Name).toBe('add');
    expect(sig.Args).toStrictEqual([
      { Name: '', Type: 'int64', Value: 1 },
      { Name: '', Type: 'int64', Value: 2 },
    ]);
    expect(encodeSignature(sig)).toBe(body);
  });

  it('gives missing keys machinery zero values', () => {
    // Prepare
    const body = '{"UUID":"task_1","Name":"noop"}';

    // Act
    const sig = decodeSignature(body);

    // Assess
    expect(sig).toStrictEqual({
      UUID: 'task_1',
      Name: 'noop',
      RoutingKey: '',
      ETA: null,
      GroupUUID: '',
      GroupTaskCount: 0,
      Args: [],
      Headers: {},
      Priority: 0,
      Immutable: false,
      RetryCount: 0,
      RetryTimeout: 0,
      OnSuccess: null,
      OnError: null,
      ChordCallback: null,
      BrokerMessageGroupId: '',
      SQSReceiptHandle: '',
      StopTaskDeletionOnError: false,
      IgnoreWhenTaskNotRegistered: false,
    });
    expect(Object.keys(sig)).toStrictEqual([...SIGNATURE_KEYS]);
  });

  it('treats null like a missing key and ignores unknown keys', () => {
    // Prepare
    const body =
      '{"UUID":"task_1","Name":"noop","Args":null,"Headers":null,"RetryCount":null,' +
      '"Immutable":null,"ETA":null,"Extra":{"deep":[1,2]},"RoutingKey":null}';

    // Act
    const sig = decodeSignature(body);

    // Assess
    expect(sig.Args).toStrictEqual([]);
    expect(sig.Headers).toStrictEqual({});
    expect(sig.RetryCount).toBe(0);
    expect(sig.Immutable).toBe(false);
    expect(sig.RoutingKey).toBe('');
    expect(sig).not.toHaveProperty('Extra');
  });

  it('matches keys case-insensitively like Go encoding/json, exact names first', () => {
    // Prepare
    const body =
      '{"uuid":"task_1","name":"lower","Name":"exact","retrycount":2,"args":[{"type":"string","value":"x"}]}';

    // Act
    const sig = decodeSignature(body);

    // Assess
    expect(sig.UUID).toBe('task_1');
    expect(sig.Name).toBe('exact');
    expect(sig.RetryCount).toBe(2);
    expect(sig.Args).toStrictEqual([{ Name: '', Type: 'string', Value: 'x' }]);
  });

  it('keeps every 64-bit integer exact, including uint64 max and int64 min', () => {
    // Prepare
    const body =
      '{"UUID":"task_1","Name":"big","Args":[{"Type":"uint64","Value":18446744073709551615},' +
      '{"Type":"int64","Value":-9223372036854775808},{"Type":"[]uint64","Value":[9007199254740993]}],' +
      '"Headers":{"n":12345678901234567890,"f":1.5,"list":[1,{"x":2}]}}';

    // Act
    const sig = decodeSignature(body);
    const again = encodeSignature(sig);

    // Assess
    expect(sig.Args.map((a) => a.Value)).toStrictEqual([
      18446744073709551615n,
      -9223372036854775808n,
      [9007199254740993n],
    ]);
    expect(sig.Headers).toStrictEqual({ n: 12345678901234567890n, f: 1.5, list: [1, { x: 2 }] });
    expect(again).toContain('"Value":18446744073709551615');
    expect(again).toContain('"Value":-9223372036854775808');
    expect(again).toContain('"n":12345678901234567890');
    expect(decodeSignature(again)).toStrictEqual(sig);
  });

  it('decodes nested callbacks, chord callback and every flag, and round-trips them', () => {
    // Prepare
    const sig = newSignature('parent', [{ Type: '[]byte', Value: new Uint8Array([0, 255]) }], {
      UUID: 'task_parent',
      RoutingKey: 'other.fifo',
      ETA: '2030-01-02T03:04:05.000000001+01:30',
      GroupUUID: 'group_1',
      GroupTaskCount: 3,
      Headers: { traceparent: '00-abc-def-01' },
      Priority: 9,
      Immutable: true,
      RetryCount: 5,
      RetryTimeout: 8,
      OnSuccess: [{ ...newSignature('next', []), UUID: '' }],
      OnError: [newSignature('onerr', [{ Type: 'string', Value: 'ctx' }])],
      ChordCallback: newSignature('chord', []),
      BrokerMessageGroupId: 'customer-42',
      SQSReceiptHandle: 'rh',
      StopTaskDeletionOnError: true,
      IgnoreWhenTaskNotRegistered: true,
    });

    // Act
    const body = encodeSignature(sig);
    const decoded = decodeSignature(body);

    // Assess
    expect(decoded).toStrictEqual(sig);
    expect(decoded.ETA).toBe('2030-01-02T01:34:05.000000001Z');
    expect(decoded.OnSuccess?.[0]?.UUID).toBe('');
    expect(body).toContain('"Value":"AP8="');
    expect(encodeSignature(decoded)).toBe(body);
  });

  it('normalises ETAs with any offset and fraction to UTC RFC3339Nano', () => {
    // Prepare
    const etas: [string, string][] = [
      ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00Z'],
      ['2024-05-01T10:00:00.500Z', '2024-05-01T10:00:00.5Z'],
      ['2024-05-01T10:00:00.000000000Z', '2024-05-01T10:00:00Z'],
      ['2024-05-01t10:00:00.123456789z', '2024-05-01T10:00:00.123456789Z'],
      ['2024-01-01T00:30:00+01:00', '2023-12-31T23:30:00Z'],
      ['2024-02-29T23:00:00-05:00', '2024-03-01T04:00:00Z'],
      ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'],
    ];

    // Act
    const normalised = etas.map(
      ([eta]) => decodeSignature(`{"UUID":"t","Name":"n","ETA":"${eta}"}`).ETA,
    );

    // Assess
    expect(normalised).toStrictEqual(etas.map(([, want]) => want));
  });

  it('accepts a body of exactly 1 MiB', () => {
    // Prepare
    const head = '{"UUID":"task_1","Name":"big","Args":[{"Type":"string","Value":"';
    const tail = '"}]}';
    const body = head + 'x'.repeat(DEFAULTS.maxMessageBytes - head.length - tail.length) + tail;

    // Act
    const sig = decodeSignature(body);

    // Assess
    expect(Buffer.byteLength(body)).toBe(DEFAULTS.maxMessageBytes);
    expect(sig.Name).toBe('big');
  });

  it(`accepts callbacks nested ${MAX_SIGNATURE_DEPTH} signatures deep`, () => {
    // Prepare
    let body = '{"Name":"leaf"}';
    for (let i = 1; i < MAX_SIGNATURE_DEPTH; i++) {
      body = `{"UUID":"task_${i}","Name":"n${i}","OnSuccess":[${body}]}`;
    }

    // Act
    const sig = decodeSignature(body);

    // Assess
    expect(sig.OnSuccess?.[0]?.Name).toBe(`n${MAX_SIGNATURE_DEPTH - 2}`);
  });

  const deep = (levels: number) => {
    let body = '{"UUID":"t","Name":"leaf"}';
    for (let i = 1; i < levels; i++) body = `{"UUID":"t","Name":"n","OnSuccess":[${body}]}`;
    return body;
  };
  const okArg = (type: string, value: string) =>
    `{"UUID":"task_1","Name":"t","Args":[{"Type":"string","Value":"ok"},{"Type":"${type}","Value":${value}}]}`;

  // At least 30 malformed bodies: each gives a SignatureDecodeError naming the field, no crash.
  const malformed: {
    name: string;
    body: string;
    field: string;
    reason?: string;
    message: RegExp;
  }[] = [
    { name: 'not JSON', body: 'hello', field: '', reason: 'undecodable', message: /not JSON/ },
    {
      name: 'truncated JSON',
      body: '{"UUID":"t","Name":',
      field: '',
      reason: 'undecodable',
      message: /not JSON/,
    },
    { name: 'an empty body', body: '', field: '', reason: 'undecodable', message: /empty/ },
    { name: 'whitespace only', body: '  \n', field: '', reason: 'undecodable', message: /empty/ },
    {
      name: 'a JSON array',
      body: '[]',
      field: '',
      reason: 'undecodable',
      message: /not a JSON object but an array/,
    },
    {
      name: 'a JSON string',
      body: '"add"',
      field: '',
      reason: 'undecodable',
      message: /not a JSON object but a string/,
    },
    {
      name: 'JSON null',
      body: 'null',
      field: '',
      reason: 'undecodable',
      message: /not a JSON object but null/,
    },
    {
      name: 'a JSON number',
      body: '12',
      field: '',
      reason: 'undecodable',
      message: /but a number/,
    },
    {
      name: 'a body over 1 MiB',
      body: `{"UUID":"t","Name":"n","Pad":"${'x'.repeat(DEFAULTS.maxMessageBytes)}"}`,
      field: '',
      reason: 'undecodable',
      message: /over the 1048576-byte limit/,
    },
    {
      name: 'JSON nested 10,000 levels',
      body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      field: '',
      reason: 'undecodable',
      message: /deeper than 512 levels/,
    },
    { name: 'missing UUID', body: '{"Name":"add"}', field: 'UUID', message: /missing or empty/ },
    {
      name: 'empty UUID',
      body: '{"UUID":"","Name":"add"}',
      field: 'UUID',
      message: /missing or empty/,
    },
    {
      name: 'numeric UUID',
      body: '{"UUID":5,"Name":"add"}',
      field: 'UUID',
      message: /expected a string, got a number/,
    },
    {
      name: 'UUID with spaces',
      body: '{"UUID":"task 1","Name":"add"}',
      field: 'UUID',
      message: /printable ASCII/,
    },
    {
      name: 'UUID too long',
      body: `{"UUID":"${'a'.repeat(129)}","Name":"add"}`,
      field: 'UUID',
      message: /1-128/,
    },
    {
      name: 'missing Name',
      body: '{"UUID":"t"}',
      field: 'Name',
      message: /missing or empty task name/,
    },
    {
      name: 'empty Name',
      body: '{"UUID":"t","Name":""}',
      field: 'Name',
      message: /missing or empty/,
    },
    {
      name: 'Name an object',
      body: '{"UUID":"t","Name":{}}',
      field: 'Name',
      message: /got an object/,
    },
    {
      name: 'RoutingKey a number',
      body: '{"UUID":"t","Name":"n","RoutingKey":1}',
      field: 'RoutingKey',
      message: /expected a string/,
    },
    {
      name: 'Immutable a string',
      body: '{"UUID":"t","Name":"n","Immutable":"yes"}',
      field: 'Immutable',
      message: /expected true or false/,
    },
    {
      name: 'RetryCount negative',
      body: '{"UUID":"t","Name":"n","RetryCount":-1}',
      field: 'RetryCount',
      message: /out of range \(0\.\.50\)/,
    },
    {
      name: 'RetryCount too big',
      body: '{"UUID":"t","Name":"n","RetryCount":51}',
      field: 'RetryCount',
      message: /out of range/,
    },
    {
      name: 'RetryCount a fraction',
      body: '{"UUID":"t","Name":"n","RetryCount":1.5}',
      field: 'RetryCount',
      message: /not a whole number/,
    },
    {
      name: 'RetryCount a string',
      body: '{"UUID":"t","Name":"n","RetryCount":"3"}',
      field: 'RetryCount',
      message: /expected a whole number, got a string/,
    },
    {
      name: 'RetryTimeout negative',
      body: '{"UUID":"t","Name":"n","RetryTimeout":-5}',
      field: 'RetryTimeout',
      message: /out of range/,
    },
    {
      name: 'Priority 256',
      body: '{"UUID":"t","Name":"n","Priority":256}',
      field: 'Priority',
      message: /out of range \(0\.\.255\)/,
    },
    {
      name: 'GroupTaskCount huge',
      body: '{"UUID":"t","Name":"n","GroupTaskCount":1e30}',
      field: 'GroupTaskCount',
      message: /does not fit/,
    },
    {
      name: 'Headers an array',
      body: '{"UUID":"t","Name":"n","Headers":[]}',
      field: 'Headers',
      message: /expected an object, got an array/,
    },
    {
      name: 'Args an object',
      body: '{"UUID":"t","Name":"n","Args":{}}',
      field: 'Args',
      message: /expected an array, got an object/,
    },
    {
      name: 'an arg that is a number',
      body: '{"UUID":"t","Name":"n","Args":[1]}',
      field: 'Args[0]',
      message: /expected an object/,
    },
    {
      name: 'an arg without Type',
      body: '{"UUID":"t","Name":"n","Args":[{"Value":1}]}',
      field: 'Args[0].Type',
      message: /missing arg type/,
    },
    {
      name: 'an arg Type a number',
      body: '{"UUID":"t","Name":"n","Args":[{"Type":5,"Value":1}]}',
      field: 'Args[0].Type',
      message: /expected a string/,
    },
    {
      name: 'an unknown arg type',
      body: okArg('complex128', '1'),
      field: 'Args[1].Type',
      message: /unknown arg type "complex128"/,
    },
    {
      name: 'an arg Name a number',
      body: '{"UUID":"t","Name":"n","Args":[{"Name":1,"Type":"bool","Value":true}]}',
      field: 'Args[0].Name',
      message: /expected a string/,
    },
    {
      name: '300 as uint8',
      body: okArg('uint8', '300'),
      field: 'Args[1].Value',
      message: /300 does not fit uint8 \(0\.\.255\)/,
    },
    {
      name: '1.5 as int64',
      body: okArg('int64', '1.5'),
      field: 'Args[1].Value',
      message: /1\.5 is not a whole number \(int64\)/,
    },
    {
      name: 'uint64 max + 1',
      body: okArg('uint64', '18446744073709551616'),
      field: 'Args[1].Value',
      message: /does not fit uint64/,
    },
    {
      name: 'int64 min - 1',
      body: okArg('int64', '-9223372036854775809'),
      field: 'Args[1].Value',
      message: /does not fit int64/,
    },
    {
      name: 'a float32 overflow',
      body: okArg('float32', '1e39'),
      field: 'Args[1].Value',
      message: /does not fit float32/,
    },
    {
      name: 'a missing scalar value',
      body: '{"UUID":"t","Name":"n","Args":[{"Type":"int64"}]}',
      field: 'Args[0].Value',
      message: /got null/,
    },
    {
      name: 'a string as bool',
      body: okArg('bool', '"true"'),
      field: 'Args[1].Value',
      message: /expected true or false/,
    },
    {
      name: 'a bad slice element',
      body: okArg('[]int8', '[1,2,999]'),
      field: 'Args[1].Value[2]',
      message: /does not fit int8/,
    },
    {
      name: 'bad base64 bytes',
      body: okArg('[]byte', '"***"'),
      field: 'Args[1].Value',
      message: /not standard base64/,
    },
    {
      name: 'an ETA that is not RFC 3339',
      body: '{"UUID":"t","Name":"n","ETA":"tomorrow"}',
      field: 'ETA',
      message: /expected RFC 3339/,
    },
    {
      name: 'an ETA without offset',
      body: '{"UUID":"t","Name":"n","ETA":"2024-05-01T10:00:00"}',
      field: 'ETA',
      message: /no time zone offset/,
    },
    {
      name: 'an ETA on 30 February',
      body: '{"UUID":"t","Name":"n","ETA":"2024-02-30T10:00:00Z"}',
      field: 'ETA',
      message: /day 30 is out of range/,
    },
    {
      name: 'an ETA on 29 February 2023',
      body: '{"UUID":"t","Name":"n","ETA":"2023-02-29T10:00:00Z"}',
      field: 'ETA',
      message: /day 29/,
    },
    {
      name: 'an ETA at hour 24',
      body: '{"UUID":"t","Name":"n","ETA":"2024-05-01T24:00:00Z"}',
      field: 'ETA',
      message: /hour 24/,
    },
    {
      name: 'an ETA at minute 60',
      body: '{"UUID":"t","Name":"n","ETA":"2024-05-01T10:60:00Z"}',
      field: 'ETA',
      message: /minute 60/,
    },
    {
      name: 'an ETA leap second',
      body: '{"UUID":"t","Name":"n","ETA":"2024-05-01T10:00:60Z"}',
      field: 'ETA',
      message: /second 60/,
    },
    {
      name: 'an ETA in month 13',
      body: '{"UUID":"t","Name":"n","ETA":"2024-13-01T10:00:00Z"}',
      field: 'ETA',
      message: /month 13/,
    },
    {
      name: 'an ETA with a bad offset',
      body: '{"UUID":"t","Name":"n","ETA":"2024-05-01T10:00:00+24:00"}',
      field: 'ETA',
      message: /offset/,
    },
    {
      name: 'an ETA beyond nanoseconds',
      body: '{"UUID":"t","Name":"n","ETA":"2024-05-01T10:00:00.1234567891Z"}',
      field: 'ETA',
      message: /nanoseconds/,
    },
    {
      name: 'an ETA before year 0 in UTC',
      body: '{"UUID":"t","Name":"n","ETA":"0000-01-01T00:00:00+01:00"}',
      field: 'ETA',
      message: /outside years/,
    },
    {
      name: 'an ETA as a number',
      body: '{"UUID":"t","Name":"n","ETA":1714557600}',
      field: 'ETA',
      message: /expected an RFC 3339 string or null/,
    },
    {
      name: 'OnSuccess an object',
      body: '{"UUID":"t","Name":"n","OnSuccess":{}}',
      field: 'OnSuccess',
      message: /expected an array of signatures/,
    },
    {
      name: 'OnSuccess with a null entry',
      body: '{"UUID":"t","Name":"n","OnSuccess":[null]}',
      field: 'OnSuccess[0]',
      message: /expected a signature object, got null/,
    },
    {
      name: 'a callback without Name',
      body: '{"UUID":"t","Name":"n","OnSuccess":[{"UUID":"c"}]}',
      field: 'OnSuccess[0].Name',
      message: /missing or empty task name/,
    },
    {
      name: 'a bad arg in an error callback',
      body: '{"UUID":"t","Name":"n","OnError":[{"Name":"e","Args":[{"Type":"uint8","Value":-1}]}]}',
      field: 'OnError[0].Args[0].Value',
      message: /does not fit uint8/,
    },
    {
      name: 'ChordCallback a string',
      body: '{"UUID":"t","Name":"n","ChordCallback":"x"}',
      field: 'ChordCallback',
      message: /expected a signature object, got a string/,
    },
    {
      name: 'a bad ETA in a chord callback',
      body: '{"UUID":"t","Name":"n","ChordCallback":{"Name":"c","ETA":"x"}}',
      field: 'ChordCallback.ETA',
      message: /expected RFC 3339/,
    },
    {
      name: `a task name over ${DEFAULTS.maxTaskNameLength} characters`,
      body: JSON.stringify({ UUID: 't', Name: 'n'.repeat(DEFAULTS.maxTaskNameLength + 1) }),
      field: 'Name',
      message: /a task name is at most 256 characters, got 257/,
    },
    {
      name: 'a 250 KB task name in a success callback',
      body: JSON.stringify({ UUID: 't', Name: 'n', OnSuccess: [{ Name: 'x'.repeat(250_000) }] }),
      field: 'OnSuccess[0].Name',
      message: /at most 256 characters, got 250000/,
    },
    {
      name: `a UUID over ${DEFAULTS.maxUuidLength} characters`,
      body: JSON.stringify({ UUID: 'u'.repeat(DEFAULTS.maxUuidLength + 1), Name: 'n' }),
      field: 'UUID',
      message: /a UUID must be 1-128 printable ASCII characters/,
    },
    {
      name: 'an over-long UUID in an error callback',
      body: JSON.stringify({
        UUID: 't',
        Name: 'n',
        OnError: [{ UUID: 'u'.repeat(129), Name: 'e' }],
      }),
      field: 'OnError[0].UUID',
      message: /a UUID must be 1-128/,
    },
    {
      name: 'an over-long UUID in a chord callback',
      body: JSON.stringify({
        UUID: 't',
        Name: 'n',
        ChordCallback: { UUID: 'u'.repeat(129), Name: 'c' },
      }),
      field: 'ChordCallback.UUID',
      message: /a UUID must be 1-128/,
    },
    {
      name: 'an over-long GroupUUID',
      body: JSON.stringify({ UUID: 't', Name: 'n', GroupUUID: `group_${'g'.repeat(200)}` }),
      field: 'GroupUUID',
      message: /a group UUID must be 1-128 printable ASCII characters/,
    },
    {
      name: 'a GroupUUID with a space in a chord callback',
      body: JSON.stringify({
        UUID: 't',
        Name: 'n',
        ChordCallback: { Name: 'c', GroupUUID: 'g 1' },
      }),
      field: 'ChordCallback.GroupUUID',
      message: /a group UUID must be/,
    },
    {
      name: "a UUID with '#', reserved for the tables' own keys",
      body: JSON.stringify({ UUID: 'dlq#abc', Name: 'n' }),
      field: 'UUID',
      message: /without spaces or '#'/,
    },
    {
      name: "a GroupUUID with '#'",
      body: JSON.stringify({ UUID: 't', Name: 'n', GroupUUID: 'group_1#L0#0' }),
      field: 'GroupUUID',
      message: /a group UUID must be .* or '#'/,
    },
    {
      name: 'a bad group id',
      body: '{"UUID":"t","Name":"n","BrokerMessageGroupId":"a b"}',
      field: 'BrokerMessageGroupId',
      message: /printable ASCII/,
    },
    {
      name: 'StopTaskDeletionOnError a number',
      body: '{"UUID":"t","Name":"n","StopTaskDeletionOnError":1}',
      field: 'StopTaskDeletionOnError',
      message: /expected true or false/,
    },
    {
      name: 'IgnoreWhenTaskNotRegistered a string',
      body: '{"UUID":"t","Name":"n","IgnoreWhenTaskNotRegistered":"true"}',
      field: 'IgnoreWhenTaskNotRegistered',
      message: /expected true or false/,
    },
    {
      name: `callbacks nested ${MAX_SIGNATURE_DEPTH + 1} deep`,
      body: deep(MAX_SIGNATURE_DEPTH + 1),
      field: `${'OnSuccess[0].'.repeat(MAX_SIGNATURE_DEPTH).slice(0, -1)}`,
      message: /nested deeper than 64 levels/,
    },
  ];

  it('has at least 30 malformed bodies in its table', () => {
    // Prepare
    const minimum = 30;

    // Act
    const count = malformed.length;

    // Assess
    expect(count).toBeGreaterThanOrEqual(minimum);
  });

  it.each(malformed)('refuses $name, naming the field', ({ body, field, reason, message }) => {
    // Prepare
    const input = body;

    // Act
    const error = decodeError(input);

    // Assess
    expect(error.code).toBe('INVALID_SIGNATURE');
    expect(error.field).toBe(field);
    expect(error.reason).toBe(reason ?? 'invalid-signature');
    expect(error.message).toMatch(message);
    if (field !== '') expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  it('reports the top-level UUID and Name of an invalid signature when they are readable', () => {
    // Prepare
    const body = '{"UUID":"task_9","Name":"add","Args":[{"Type":"uint8","Value":300}]}';

    // Act
    const error = decodeError(body);

    // Assess
    expect(error.uuid).toBe('task_9');
    expect(error.taskName).toBe('add');
    expect(decodeError('{"UUID":"bad uuid","Name":""}').uuid).toBeUndefined();
    expect(decodeError('not json').uuid).toBeUndefined();
  });

  it('accepts a task name and UUIDs exactly at their limits', () => {
    // Prepare
    const name = 'n'.repeat(DEFAULTS.maxTaskNameLength);
    const uuid = 'u'.repeat(DEFAULTS.maxUuidLength);
    const body = JSON.stringify({
      UUID: uuid,
      Name: name,
      GroupUUID: uuid,
      OnSuccess: [{ UUID: uuid, Name: name }],
    });

    // Act
    const sig = decodeSignature(body);

    // Assess
    expect(sig.Name).toBe(name);
    expect(sig.GroupUUID).toBe(uuid);
    expect(sig.OnSuccess?.[0]?.UUID).toBe(uuid);
  });

  it('reports the UUID but not an over-long task name, so a FAILURE record stays small', () => {
    // Prepare
    const body = JSON.stringify({ UUID: 'task_big', Name: 'x'.repeat(250_000) });

    // Act
    const error = decodeError(body);

    // Assess
    expect(error.field).toBe('Name');
    expect(error.uuid).toBe('task_big');
    expect(error.taskName).toBeUndefined();
    expect(error.message.length).toBeLessThan(300);
  });

  it('refuses a body that is not a string', () => {
    // Prepare
    const notAString = 42 as unknown as string;

    // Act
    const error = decodeError(notAString);

    // Assess
    expect(error.reason).toBe('undecodable');
    expect(error.message).toMatch(/must be a string/);
  });
});

describe('Function: encodeSignature', () => {
  it('refuses a signature whose arg does not fit its type, naming the field', () => {
    // Prepare
    const sig = newSignature('add', []);
    sig.Args.push({ Name: '', Type: 'uint8', Value: 300 });

    // Act
    const act = () => encodeSignature(sig);

    // Assess
    expect(act).toThrow(SignatureEncodeError);
    expect(act).toThrow('Args[0].Value: 300 does not fit uint8 (0..255)');
  });

  it('writes every key in machinery field order', () => {
    // Prepare
    const sig = newSignature('noop', [], { UUID: 'task_x' });

    // Act
    const keys = Object.keys(JSON.parse(encodeSignature(sig)));

    // Assess
    expect(keys).toStrictEqual([...SIGNATURE_KEYS]);
  });
});

describe('Function: newSignature', () => {
  it('fills machinery zero values and a fresh task UUID', () => {
    // Prepare
    const args = [{ Type: 'int64' as const, Value: 1 }];

    // Act
    const a = newSignature('add', args);
    const b = newSignature('add', args);

    // Assess
    expect(a.UUID).toMatch(/^task_[0-9a-f-]{36}$/);
    expect(a.UUID).not.toBe(b.UUID);
    expect(a.Args).toStrictEqual([{ Name: '', Type: 'int64', Value: 1 }]);
    expect(a.RetryCount).toBe(0);
    expect(a.ETA).toBeNull();
  });

  it('accepts an ETA as a Date or epoch milliseconds', () => {
    // Prepare
    const at = Date.UTC(2030, 0, 1, 0, 0, 0, 250);

    // Act
    const fromDate = newSignature('n', [], { ETA: new Date(at) });
    const fromMs = newSignature('n', [], { ETA: at });

    // Assess
    expect(fromDate.ETA).toBe('2030-01-01T00:00:00.25Z');
    expect(fromMs.ETA).toBe('2030-01-01T00:00:00.25Z');
  });

  it('refuses an empty or over-long name, a bad ETA, an over-long UUID or a RetryCount beyond the limit', () => {
    // Prepare
    const cases = [
      () => newSignature('', []),
      () => newSignature('n', [], { ETA: 'soon' }),
      () => newSignature('n', [], { ETA: new Date(Number.NaN) }),
      () => newSignature('n', [], { RetryCount: DEFAULTS.maxRetryCount + 1 }),
      () => newSignature('n', [{ Type: 'int64', Value: 1.5 }]),
      () => newSignature('n'.repeat(DEFAULTS.maxTaskNameLength + 1), []),
      () => newSignature('n', [], { UUID: 'u'.repeat(DEFAULTS.maxUuidLength + 1) }),
      () => newSignature('n', [], { GroupUUID: 'g'.repeat(DEFAULTS.maxUuidLength + 1) }),
      () =>
        newSignature('n', [], {
          OnError: [newSignature('e'.repeat(DEFAULTS.maxTaskNameLength), [])].map((cb) => ({
            ...cb,
            Name: `${cb.Name}e`,
          })),
        }),
    ];

    // Act
    const errors = cases.map((c) => {
      try {
        c();
        return undefined;
      } catch (e) {
        return e;
      }
    });

    // Assess
    for (const e of errors) expect(e).toBeInstanceOf(SignatureEncodeError);
    expect((errors[1] as SignatureEncodeError).field).toBe('ETA');
    expect((errors[4] as SignatureEncodeError).field).toBe('Args[0].Value');
    expect(errors.slice(5).map((e) => (e as SignatureEncodeError).field)).toStrictEqual([
      'Name',
      'UUID',
      'GroupUUID',
      'OnError[0].Name',
    ]);
  });
});

describe('Function: normalizeSignature', () => {
  it('completes a partial in-memory signature and keeps a Date ETA', () => {
    // Prepare
    const partial = { UUID: 'task_1', Name: 'n', ETA: new Date(0) };

    // Act
    const sig = normalizeSignature(partial);

    // Assess
    expect(sig.ETA).toBe('1970-01-01T00:00:00Z');
    expect(sig.OnSuccess).toBeNull();
  });
});

describe('Function: newTaskUUID', () => {
  it('makes task_, group_ and chord_ UUIDs (v4)', () => {
    // Prepare
    const v4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

    // Act
    const ids = [newTaskUUID(), newGroupUUID(), newChordUUID()];

    // Assess
    expect(ids[0]).toMatch(new RegExp(`^task_${v4}$`));
    expect(ids[1]).toMatch(new RegExp(`^group_${v4}$`));
    expect(ids[2]).toMatch(new RegExp(`^chord_${v4}$`));
  });
});

describe('Function: uuidV5', () => {
  it('matches the RFC 4122 test vector', () => {
    // Prepare
    const dns = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

    // Act
    const id = uuidV5('www.example.com', dns);

    // Assess
    expect(id).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(RangeError);
  });
});

describe('Function: deriveTaskUUID', () => {
  it('is stable for the same inputs and differs for different ones', () => {
    // Prepare
    const parent = 'task_0b3c2a9e-6a53-4a8e-9a38-0f1e2d3c4b5a';

    // Act
    const a = deriveTaskUUID(parent, 'OnSuccess/0');
    const b = deriveTaskUUID(parent, 'OnSuccess/0');
    const c = deriveTaskUUID(parent, 'OnSuccess/1');
    const periodic = deriveTaskUUID('nightly-report', '2024-05-01T03:00:00Z');

    // Assess
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toMatch(/^task_[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).toBe(`task_${uuidV5('OnSuccess/0', '0b3c2a9e-6a53-4a8e-9a38-0f1e2d3c4b5a')}`);
    expect(periodic).toBe(
      `task_${uuidV5('2024-05-01T03:00:00Z', uuidV5('nightly-report', MACHINERY_NAMESPACE))}`,
    );
  });
});

describe('Function: parseJsonLossless', () => {
  it('keeps safe integers as numbers and everything else as raw source', () => {
    // Prepare
    const text = '[1,-0,1.5,1e3,9007199254740993]';

    // Act
    const parsed = parseJsonLossless(text) as unknown[];

    // Assess
    expect(parsed[0]).toBe(1);
    expect(Object.is(parsed[1], 0)).toBe(true);
    expect(parsed[2]).toStrictEqual(new RawNumber('1.5'));
    expect(String(parsed[3])).toBe('1e3');
    expect((parsed[4] as RawNumber).source).toBe('9007199254740993');
  });
});

describe('Function: stringifyJson', () => {
  it('writes bigints and raw numbers exactly and refuses what JSON cannot hold', () => {
    // Prepare
    const value = {
      a: 18446744073709551615n,
      b: new RawNumber('1.50'),
      c: [undefined, 'x'],
      d: undefined,
    };

    // Act
    const text = stringifyJson(value);

    // Assess
    expect(text).toBe('{"a":18446744073709551615,"b":1.50,"c":[null,"x"]}');
    expect(() => stringifyJson(Number.NaN)).toThrow(TypeError);
    expect(() => stringifyJson(() => 1)).toThrow(TypeError);
    expect(stringifyJson([true, false, null, 0])).toBe('[true,false,null,0]');
  });
});

describe('Function: jsonDepth', () => {
  it('counts nesting and ignores brackets inside strings', () => {
    // Prepare
    const text = '{"a":["[[[", {"b":"\\"{"}]}';

    // Act
    const depth = jsonDepth(text);

    // Assess
    expect(depth).toBe(3);
  });
});

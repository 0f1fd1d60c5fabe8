import { describe, expect, it } from 'vitest';
import {
  ARG_TYPES,
  decodeArgValue,
  decodeTypedValues,
  encodeTypedValues,
  inferTypedValue,
  isArgType,
  isMultipleResults,
  isWideIntType,
  results,
  toTypedResults,
  toWireValue,
  typed,
} from '../../../src/core/args.js';
import { ArgTypeError, UnsupportedResultError } from '../../../src/core/errors.js';
import { parseJsonLossless, RawNumber } from '../../../src/core/json.js';

/** Parses a JSON value the way the signature decoder does (lossless). */
const wire = (json: string): unknown => parseJsonLossless(json);

describe('Function: decodeArgValue', () => {
  // Ported from machinery's tasks/reflect_test.go (reflectValuesTestCases), values as on the wire.
  const cases: { type: string; json: string; expected: unknown }[] = [
    { type: 'bool', json: 'false', expected: false },
    { type: 'int', json: '123', expected: 123 },
    { type: 'int8', json: '123', expected: 123 },
    { type: 'int16', json: '123', expected: 123 },
    { type: 'int32', json: '123', expected: 123 },
    { type: 'int64', json: '185135722552891243', expected: 185135722552891243n },
    { type: 'uint', json: '123', expected: 123 },
    { type: 'uint8', json: '123', expected: 123 },
    { type: 'uint16', json: '123', expected: 123 },
    { type: 'uint32', json: '123', expected: 123 },
    { type: 'uint64', json: '185135722552891243', expected: 185135722552891243n },
    { type: 'uint64', json: '9223372036854775808', expected: 9223372036854775808n },
    { type: 'uint64', json: '18446744073709551615', expected: 18446744073709551615n },
    { type: 'int64', json: '-9223372036854775808', expected: -9223372036854775808n },
    { type: 'int64', json: '9223372036854775807', expected: 9223372036854775807n },
    { type: 'int64', json: '"-9223372036854775808"', expected: -9223372036854775808n },
    { type: 'uint64', json: '"18446744073709551615"', expected: 18446744073709551615n },
    { type: 'int64', json: '"42"', expected: 42 },
    { type: 'int64', json: '1e3', expected: 1000 },
    { type: 'int64', json: '2.0', expected: 2 },
    { type: 'int64', json: '-0', expected: 0 },
    { type: 'int8', json: '-128', expected: -128 },
    { type: 'int16', json: '-32768', expected: -32768 },
    { type: 'int32', json: '2147483647', expected: 2147483647 },
    { type: 'uint32', json: '4294967295', expected: 4294967295 },
    { type: 'float32', json: '0.5', expected: 0.5 },
    { type: 'float32', json: '3.4028234663852886e38', expected: 3.4028234663852886e38 },
    { type: 'float64', json: '0.5', expected: 0.5 },
    { type: 'float64', json: '1e300', expected: 1e300 },
    { type: 'float64', json: '3', expected: 3 },
    { type: 'string', json: '"123"', expected: '123' },
    { type: '[]bool', json: '[false,true]', expected: [false, true] },
    { type: '[]int', json: '[1,2]', expected: [1, 2] },
    { type: '[]int8', json: '[1,2]', expected: [1, 2] },
    { type: '[]int16', json: '[1,2]', expected: [1, 2] },
    { type: '[]int32', json: '[1,2]', expected: [1, 2] },
    { type: '[]int64', json: '[1,9223372036854775807]', expected: [1, 9223372036854775807n] },
    { type: '[]uint', json: '[1,2]', expected: [1, 2] },
    { type: '[]uint8', json: '[1,2]', expected: [1, 2] },
    { type: '[]uint8', json: '"AQI="', expected: [1, 2] },
    { type: '[]uint16', json: '[1,2]', expected: [1, 2] },
    { type: '[]uint32', json: '[1,2]', expected: [1, 2] },
    { type: '[]uint64', json: '[1,18446744073709551615]', expected: [1, 18446744073709551615n] },
    { type: '[]float32', json: '[0.5,1.28]', expected: [0.5, 1.28] },
    { type: '[]float64', json: '[0.5,1.28]', expected: [0.5, 1.28] },
    { type: '[]string', json: '["foo","bar"]', expected: ['foo', 'bar'] },
    { type: '[]byte', json: '"Zm9vYmFy"', expected: new TextEncoder().encode('foobar') },
    // empty slices from null (Go's nil slice)
    { type: '[]bool', json: 'null', expected: [] },
    { type: '[]int64', json: 'null', expected: [] },
    { type: '[]uint64', json: 'null', expected: [] },
    { type: '[]float64', json: 'null', expected: [] },
    { type: '[]string', json: 'null', expected: [] },
    { type: '[]byte', json: 'null', expected: new Uint8Array(0) },
  ];

  it.each(cases)('decodes $type from $json', ({ type, json, expected }) => {
    // Prepare
    const raw = wire(json);

    // Act
    const value = decodeArgValue(type, raw, 'Args[0].Value');

    // Assess
    expect(value).toStrictEqual(expected);
  });

  const mismatches: { type: string; json: string; message: RegExp }[] = [
    { type: 'uint8', json: '300', message: /300 does not fit uint8 \(0\.\.255\)/ },
    { type: 'uint8', json: '-1', message: /does not fit uint8/ },
    { type: 'int8', json: '128', message: /does not fit int8/ },
    { type: 'int16', json: '40000', message: /does not fit int16/ },
    { type: 'int32', json: '2147483648', message: /does not fit int32/ },
    { type: 'uint32', json: '-5', message: /does not fit uint32/ },
    { type: 'int64', json: '9223372036854775808', message: /does not fit int64/ },
    { type: 'int64', json: '-9223372036854775809', message: /does not fit int64/ },
    { type: 'uint64', json: '18446744073709551616', message: /does not fit uint64/ },
    { type: 'uint64', json: '1e30', message: /does not fit uint64/ },
    { type: 'int64', json: '1.5', message: /1\.5 is not a whole number \(int64\)/ },
    { type: 'int', json: '1e-3', message: /not a whole number/ },
    { type: 'int64', json: '"1.5"', message: /expected a whole JSON number or a decimal string/ },
    { type: 'int8', json: '"5"', message: /expected a whole number for int8/ },
    { type: 'int64', json: 'true', message: /expected a whole JSON number/ },
    { type: 'float32', json: '3.5e38', message: /does not fit float32/ },
    { type: 'float64', json: '1e400', message: /not a finite float64/ },
    { type: 'float64', json: '"1.5"', message: /expected a JSON number for float64/ },
    { type: 'bool', json: '"true"', message: /expected true or false/ },
    { type: 'bool', json: 'null', message: /expected true or false, got null/ },
    { type: 'string', json: '5', message: /expected a string/ },
    { type: '[]int64', json: '[1,"x"]', message: /\[1\]: expected a whole JSON number/ },
    { type: '[]string', json: '"foo"', message: /expected an array for \[\]string/ },
    { type: '[]byte', json: '"not base64!"', message: /is not standard base64/ },
    { type: '[]byte', json: '[1,2]', message: /expected a base64 string/ },
    { type: 'complex128', json: '1', message: /unknown arg type "complex128"/ },
    { type: '[][]int', json: '[]', message: /unknown arg type/ },
  ];

  it.each(mismatches)('refuses $json as $type', ({ type, json, message }) => {
    // Prepare
    const raw = wire(json);

    // Act
    const act = () => decodeArgValue(type, raw, 'Args[0].Value');

    // Assess
    expect(act).toThrow(ArgTypeError);
    expect(act).toThrow(message);
  });

  it('names the field of the offending element when a slice element does not fit', () => {
    // Prepare
    const raw = wire('[1,2,300]');

    // Act
    let error: unknown;
    try {
      decodeArgValue('[]uint8', raw, 'Args[1].Value');
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ArgTypeError);
    expect((error as ArgTypeError).field).toBe('Args[1].Value[2]');
    expect((error as ArgTypeError).code).toBe('INVALID_ARG');
  });

  it('accepts in-memory bigints, Uint8Arrays and safe numbers', () => {
    // Prepare
    const bytes = new Uint8Array([1, 2, 3]);

    // Act
    const big = decodeArgValue('uint64', 18446744073709551615n);
    const small = decodeArgValue('int64', 5n);
    const copy = decodeArgValue('[]byte', bytes);
    const u8 = decodeArgValue('[]uint8', bytes);

    // Assess
    expect(big).toBe(18446744073709551615n);
    expect(small).toBe(5);
    expect(copy).toStrictEqual(bytes);
    expect(copy).not.toBe(bytes);
    expect(u8).toStrictEqual([1, 2, 3]);
  });

  it('refuses a number beyond ±(2^53 − 1) for an integer type because it may have been rounded', () => {
    // Prepare
    const rounded = 2 ** 60;

    // Act
    const act = () => decodeArgValue('int64', rounded);

    // Assess
    expect(act).toThrow(/may have lost precision/);
    expect(() => decodeArgValue('int64', Number.NaN)).toThrow(/not a valid int64/);
    expect(() => decodeArgValue('float64', Number.POSITIVE_INFINITY)).toThrow(/not a finite/);
    expect(() => decodeArgValue('int64', new RawNumber('0x10'))).toThrow(/not a valid int64/);
  });
});

describe('Function: isArgType', () => {
  it('knows every machinery type and nothing else', () => {
    // Prepare
    const expected = 14 * 2 + 1;

    // Act
    const count = ARG_TYPES.filter(isArgType).length;

    // Assess
    expect(count).toBe(expected);
    expect(isArgType('[]byte')).toBe(true);
    expect(isArgType('map')).toBe(false);
    expect(isArgType(5)).toBe(false);
    expect(isWideIntType('uint')).toBe(true);
    expect(isWideIntType('int32')).toBe(false);
  });
});

describe('Function: toTypedResults', () => {
  const cases: { name: string; value: unknown; expected: unknown }[] = [
    { name: 'undefined (a void task)', value: undefined, expected: [] },
    { name: 'null', value: null, expected: [] },
    { name: 'a safe integer', value: 2, expected: [{ Type: 'int64', Value: 2 }] },
    { name: 'negative zero', value: -0, expected: [{ Type: 'int64', Value: 0 }] },
    { name: 'a fraction', value: 4.2, expected: [{ Type: 'float64', Value: 4.2 }] },
    {
      name: 'an unsafe integer number',
      value: 2 ** 60,
      expected: [{ Type: 'float64', Value: 2 ** 60 }],
    },
    { name: 'a small bigint', value: 7n, expected: [{ Type: 'int64', Value: 7 }] },
    {
      name: 'int64 min as bigint',
      value: -9223372036854775808n,
      expected: [{ Type: 'int64', Value: -9223372036854775808n }],
    },
    {
      name: 'uint64 max as bigint',
      value: 18446744073709551615n,
      expected: [{ Type: 'uint64', Value: 18446744073709551615n }],
    },
    { name: 'a string', value: 'foobar', expected: [{ Type: 'string', Value: 'foobar' }] },
    { name: 'a boolean', value: true, expected: [{ Type: 'bool', Value: true }] },
    {
      name: 'a Uint8Array',
      value: new Uint8Array([1]),
      expected: [{ Type: '[]byte', Value: new Uint8Array([1]) }],
    },
    {
      name: 'an array of strings',
      value: ['f', 'o', 'o'],
      expected: [{ Type: '[]string', Value: ['f', 'o', 'o'] }],
    },
    { name: 'an array of booleans', value: [true], expected: [{ Type: '[]bool', Value: [true] }] },
    {
      name: 'an array of integers',
      value: [1, 2n],
      expected: [{ Type: '[]int64', Value: [1, 2] }],
    },
    {
      name: 'an array of big unsigned integers',
      value: [1, 18446744073709551615n],
      expected: [{ Type: '[]uint64', Value: [1, 18446744073709551615n] }],
    },
    {
      name: 'an array of floats',
      value: [1, 2.5, -0],
      expected: [{ Type: '[]float64', Value: [1, 2.5, 0] }],
    },
    { name: 'an empty array', value: [], expected: [{ Type: '[]string', Value: [] }] },
    {
      name: 'a typed value',
      value: typed('float32', 1.5),
      expected: [{ Type: 'float32', Value: 1.5 }],
    },
    {
      name: 'several results',
      value: results(1, 'one', [true]),
      expected: [
        { Type: 'int64', Value: 1 },
        { Type: 'string', Value: 'one' },
        { Type: '[]bool', Value: [true] },
      ],
    },
    { name: 'no results at all', value: results(), expected: [] },
  ];

  it.each(cases)('maps $name', ({ value, expected }) => {
    // Prepare
    const input = value;

    // Act
    const typedResults = toTypedResults(input);

    // Assess
    expect(typedResults).toStrictEqual(expected);
  });

  const unsupported: { name: string; value: unknown }[] = [
    { name: 'an object', value: { a: 1 } },
    { name: 'a Date', value: new Date(0) },
    { name: 'a Map', value: new Map() },
    { name: 'NaN', value: Number.NaN },
    { name: 'Infinity', value: Number.POSITIVE_INFINITY },
    { name: 'a function', value: () => 1 },
    { name: 'a symbol', value: Symbol('x') },
    { name: 'a bigint beyond uint64', value: 2n ** 64n },
    { name: 'a negative bigint beyond int64', value: -(2n ** 63n) - 1n },
    { name: 'a mixed array', value: [1, 'a'] },
    { name: 'an array of objects', value: [{}] },
    { name: 'an array mixing bigints and fractions', value: [1n, 1.5] },
    { name: 'an array with NaN', value: [1.5, Number.NaN] },
    { name: 'an array of integers beyond uint64', value: [-1n, 2n ** 64n - 1n] },
    { name: 'undefined inside results()', value: results(1, undefined) },
    { name: 'nested results()', value: results(results(1)) },
  ];

  it.each(unsupported)('refuses $name with a clear error', ({ value }) => {
    // Prepare
    const input = value;

    // Act
    const act = () => toTypedResults(input);

    // Assess
    expect(act).toThrow(UnsupportedResultError);
  });

  it('explains which values are supported', () => {
    // Prepare
    const input = { a: 1 };

    // Act
    const act = () => toTypedResults(input);

    // Assess
    expect(act).toThrow(
      /the return value is an object, which has no typed mapping; return a boolean/,
    );
  });
});

describe('Function: typed', () => {
  it('checks the value against the type', () => {
    // Prepare
    const value = 300;

    // Act
    const act = () => typed('uint8', value);

    // Assess
    expect(act).toThrow(ArgTypeError);
    expect(inferTypedValue(typed('[]int64', []))).toStrictEqual({ Type: '[]int64', Value: [] });
    expect(isMultipleResults(typed('int64', 1))).toBe(false);
  });
});

describe('Function: encodeTypedValues', () => {
  it('stores 64-bit values beyond 2^53 as decimal strings and []byte as base64', () => {
    // Prepare
    const values = [
      { Type: 'uint64' as const, Value: 18446744073709551615n },
      { Type: 'int64' as const, Value: -9223372036854775808n },
      { Type: '[]int64' as const, Value: [1, 9007199254740993n] },
      { Type: '[]byte' as const, Value: new Uint8Array([1, 2]) },
      { Type: 'float64' as const, Value: 4.2 },
      { Type: 'int64' as const, Value: 2 },
    ];

    // Act
    const stored = encodeTypedValues(values);

    // Assess
    expect(stored).toStrictEqual([
      { Type: 'uint64', Value: '18446744073709551615' },
      { Type: 'int64', Value: '-9223372036854775808' },
      { Type: '[]int64', Value: [1, '9007199254740993'] },
      { Type: '[]byte', Value: 'AQI=' },
      { Type: 'float64', Value: 4.2 },
      { Type: 'int64', Value: 2 },
    ]);
    expect(JSON.parse(JSON.stringify(stored))).toStrictEqual(stored);
    expect(decodeTypedValues(stored)).toStrictEqual(values);
  });

  it('refuses a value that does not fit its type', () => {
    // Prepare
    const values = [{ Type: 'uint8' as const, Value: 300 }];

    // Act
    const act = () => encodeTypedValues(values);

    // Assess
    expect(act).toThrow('[0].Value: 300 does not fit uint8 (0..255)');
  });
});

describe('Function: decodeTypedValues', () => {
  it('treats null as no results and refuses what is not an array of { Type, Value }', () => {
    // Prepare
    const bad: unknown[] = [
      {},
      [1],
      ['x'],
      [{ Type: 'map', Value: 1 }],
      [{ Type: 'int8', Value: 'x' }],
    ];

    // Act
    const empty = decodeTypedValues(null);

    // Assess
    expect(empty).toStrictEqual([]);
    for (const json of bad) expect(() => decodeTypedValues(json)).toThrow(ArgTypeError);
    expect(decodeTypedValues([{ Type: '[]string' }])).toStrictEqual([
      { Type: '[]string', Value: [] },
    ]);
  });
});

describe('Function: toWireValue', () => {
  it('writes []byte as base64 and leaves other values as they are', () => {
    // Prepare
    const bytes = new TextEncoder().encode('foobar');

    // Act
    const b64 = toWireValue('[]byte', bytes);

    // Assess
    expect(b64).toBe('Zm9vYmFy');
    expect(toWireValue('uint64', 18446744073709551615n)).toBe(18446744073709551615n);
  });
});

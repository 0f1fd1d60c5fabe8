import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/errors.js';
import { decodeTypedArg, parseTypedArg } from '../../../src/cli/typed-arg.js';

describe('Function: parseTypedArg', () => {
  it.each([
    ['int64:1', 'int64', '1'],
    ['int64:-42', 'int64', '-42'],
    ['uint64:18446744073709551615', 'uint64', '18446744073709551615'],
    ['float64:1.5', 'float64', '1.5'],
    ['float32:2.5e3', 'float32', '2.5e3'],
    ['bool:true', 'bool', 'true'],
    ['bool:false', 'bool', 'false'],
    ['string:hello', 'string', '"hello"'],
    ['string:', 'string', '""'],
    ['string:a:b c, d', 'string', '"a:b c, d"'],
    ['string: spaced ', 'string', '" spaced "'],
    ['[]int64:1,2,3', '[]int64', '[1,2,3]'],
    ['[]int64: 1, 2 ', '[]int64', '[1,2]'],
    ['[]int64:', '[]int64', '[]'],
    ['[]string:foo,bar', '[]string', '["foo","bar"]'],
    ['[]string:["a,b","c"]', '[]string', '["a,b","c"]'],
    ['[]uint64:[18446744073709551615]', '[]uint64', '[18446744073709551615]'],
    ['[]float64:1.5,2.7', '[]float64', '[1.5,2.7]'],
    ['[]bool:true,false', '[]bool', '[true,false]'],
    ['[]byte:aGVsbG8=', '[]byte', '"aGVsbG8="'],
    ['[]byte:', '[]byte', '""'],
  ])('shapes %s as a %s arg with value %s', (spec, type, valueJson) => {
    // Act
    const raw = parseTypedArg(spec);

    // Assess
    expect(raw).toEqual({ type, valueJson });
  });

  it('keeps digits beyond 2^53 exactly as written', () => {
    // Act
    const raw = parseTypedArg('int64:9007199254740993');

    // Assess
    expect(raw.valueJson).toBe('9007199254740993');
  });

  it.each([
    ['no colon', 'int64'],
    ['empty type', ':1'],
    ['unknown type', 'complex128:1'],
    ['map type', 'map:{}'],
    ['not a number', 'int64:abc'],
    ['hex number', 'int64:0x10'],
    ['empty number', 'int64:'],
    ['bad bool', 'bool:yes'],
    ['bad JSON slice', '[]int64:[1,2'],
    ['JSON object for a number slice', '[]int64:{"a":1}'],
    ['bad element', '[]int64:1,x'],
    ['bad base64', '[]byte:***'],
  ])('refuses %s (%s) with a UsageError', (_why, spec) => {
    // Act
    const act = () => parseTypedArg(spec);

    // Assess
    expect(act).toThrow(UsageError);
  });

  it('names the argument and the expected form in the message', () => {
    // Act
    const act = () => parseTypedArg('oops');

    // Assess
    expect(act).toThrow(/'oops'.*TYPE:VALUE/);
  });

  it('maps usage errors to exit code 2', () => {
    // Act
    let exitCode: number | undefined;
    try {
      parseTypedArg('int64:x');
    } catch (e) {
      exitCode = (e as UsageError).exitCode;
    }

    // Assess
    expect(exitCode).toBe(2);
  });
});

describe('Function: decodeTypedArg', () => {
  it.each([
    ['int64:1', { Name: '', Type: 'int64', Value: 1 }],
    ['int64:9007199254740993', { Name: '', Type: 'int64', Value: 9007199254740993n }],
    ['uint64:18446744073709551615', { Name: '', Type: 'uint64', Value: 18446744073709551615n }],
    [
      '[]int64:[1,-9223372036854775808]',
      { Name: '', Type: '[]int64', Value: [1, -9223372036854775808n] },
    ],
    ['[]string:["a,b","c"]', { Name: '', Type: '[]string', Value: ['a,b', 'c'] }],
    ['[]int64:', { Name: '', Type: '[]int64', Value: [] }],
    ['bool:true', { Name: '', Type: 'bool', Value: true }],
    ['float64:1.5', { Name: '', Type: 'float64', Value: 1.5 }],
    ['string:a:b', { Name: '', Type: 'string', Value: 'a:b' }],
  ])('decodes %s exactly', (spec, arg) => {
    // Act
    const decoded = decodeTypedArg(spec);

    // Assess
    expect(decoded).toEqual(arg);
  });

  it('decodes []byte from base64', () => {
    // Act
    const decoded = decodeTypedArg('[]byte:aGk=');

    // Assess
    expect(decoded.Value).toEqual(new Uint8Array([104, 105]));
  });

  it.each([
    ['uint8:300', /uint8:300.*does not fit uint8/],
    ['int64:1.5', /not a whole number/],
    ['uint64:-1', /does not fit uint64/],
    ['int64:9223372036854775808', /does not fit int64/],
    ['[]int8:1,2,999', /\[2\].*does not fit int8/],
  ])('refuses %s, a value that does not fit its type, with a UsageError', (spec, message) => {
    // Act
    const act = () => decodeTypedArg(spec);

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow(message);
  });
});

import { describe, expect, expectTypeOf, it } from 'vitest';
import { typed } from '../../../src/core/args.js';
import {
  ArgTypeError,
  TaskDefinitionError,
  UnregisteredTaskError,
} from '../../../src/core/errors.js';
import { noopLogger } from '../../../src/core/logger.js';
import {
  bigintArg,
  createRegistry,
  defineTask,
  defineUntypedTask,
  plainTask,
  type TaskContext,
} from '../../../src/core/registry.js';
import { decodeSignature, encodeSignature } from '../../../src/core/signature.js';
import type { Arg } from '../../../src/core/types.js';

const add = defineTask({ name: 'add', args: ['int64', 'int64'], run: (_ctx, a, b) => a + b });
const sum = defineTask({
  name: 'sum',
  rest: 'int64',
  run: (_ctx, ...xs) => xs.reduce((s, x) => s + x, 0),
});
const label = defineTask({
  name: 'label',
  args: ['string', '[]uint8', '[]byte', 'bool'],
  rest: 'float64',
  run: (_ctx, s, small, bytes, flag, ...floats) =>
    `${s}:${small.length}:${bytes.byteLength}:${flag}:${floats.length}`,
});
const big = defineTask({
  name: 'big',
  args: [bigintArg('uint64'), bigintArg('[]int64')],
  run: (_ctx, v, list) => v + list.reduce((s, x) => s + x, 0n),
});

function ctx(): TaskContext {
  const signal = new AbortController().signal;
  return {
    signature: decodeSignature('{"UUID":"task_1","Name":"x"}'),
    uuid: 'task_1',
    name: 'x',
    attempt: 1,
    retries: 0,
    redrive: false,
    idempotencyKey: 'task_1:1',
    headers: {},
    logger: noopLogger,
    signal,
    remainingTimeMs: () => 1000,
  };
}

const arg = (Type: Arg['Type'], Value: Arg['Value']): Arg => ({ Name: '', Type, Value });

describe('Function: defineTask', () => {
  it('infers TypeScript parameter types from the Go type names', () => {
    // Prepare
    const registry = createRegistry([add, sum, label, big]);

    // Act
    const sig = registry.signature('add', 1, 2);

    // Assess
    expectTypeOf<Parameters<typeof add.invoke>>().toEqualTypeOf<
      [TaskContext, readonly unknown[]]
    >();
    expect(sig.Name).toBe('add');
    expect(sig.Args).toStrictEqual([arg('int64', 1), arg('int64', 2)]);
    // @ts-expect-error: unknown task name
    expect(() => registry.signature('nope')).toThrow(UnregisteredTaskError);
    // @ts-expect-error: wrong arg type
    expect(() => registry.signature('add', 'x', 2)).toThrow(ArgTypeError);
    // @ts-expect-error: wrong arg count
    expect(() => registry.signature('add', 1)).toThrow(/takes 2 args \(int64, int64\), got 1/);
    // @ts-expect-error: a plain int64 arg takes a number, not a bigint
    expect(() => registry.signature('add', 2n ** 60n, 1)).toThrow(/bigintArg\('int64'\)/);
    expect(registry.signature('big', 18446744073709551615n, [1, 2n]).Args).toStrictEqual([
      arg('uint64', 18446744073709551615n),
      arg('[]int64', [1, 2]),
    ]);
    expect(registry.signature('sum').Args).toStrictEqual([]);
    expect(registry.signature('sum', 1, 2, 3).Args).toHaveLength(3);
  });

  it('converts checked args to what the function receives and calls it with the context', async () => {
    // Prepare
    const args = [
      arg('string', 'x'),
      arg('[]uint8', [1, 2]),
      arg('[]byte', new Uint8Array(3)),
      arg('bool', true),
      arg('float64', 1.5),
    ];

    // Act
    const values = label.prepare(args);
    const result = await label.invoke(ctx(), values);

    // Assess
    expect(result).toBe('x:2:3:true:1');
  });

  it('gives bigintArg args as bigints, even small values', async () => {
    // Prepare
    const args = [arg('uint64', 18446744073709551000n), arg('[]int64', [1, 2])];

    // Act
    const values = big.prepare(args);
    const result = await big.invoke(ctx(), values);

    // Assess
    expect(values).toStrictEqual([18446744073709551000n, [1n, 2n]]);
    expect(result).toBe(18446744073709551003n);
  });

  const mismatches: { name: string; args: Arg[]; field: string; message: RegExp }[] = [
    {
      name: 'too few args',
      args: [arg('int64', 1)],
      field: 'Args',
      message: /takes 2 args \(int64, int64\), got 1/,
    },
    {
      name: 'too many args',
      args: [arg('int64', 1), arg('int64', 2), arg('int64', 3)],
      field: 'Args',
      message: /got 3/,
    },
    {
      name: 'a different type',
      args: [arg('int64', 1), arg('int32', 2)],
      field: 'Args[1].Type',
      message: /task "add" expects int64 for arg 1, got int32/,
    },
    {
      name: 'a value beyond 2^53 for a number-typed int64',
      args: [arg('int64', 1), arg('int64', 2n ** 60n)],
      field: 'Args[1].Value',
      message: /declare bigintArg\('int64'\)/,
    },
    {
      name: 'a value that does not fit its own type',
      args: [arg('int64', 1), arg('int64', 1.5)],
      field: 'Args[1].Value',
      message: /not a whole number/,
    },
  ];

  it.each(mismatches)('refuses $name with ArgTypeError', ({ args, field, message }) => {
    // Prepare
    const task = add;

    // Act
    let error: unknown;
    try {
      task.prepare(args);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ArgTypeError);
    expect((error as ArgTypeError).field).toBe(field);
    expect((error as ArgTypeError).message).toMatch(message);
  });

  it('describes variadic tasks in count errors', () => {
    // Prepare
    const args: Arg[] = [];

    // Act
    const act = () => label.prepare(args);

    // Assess
    expect(act).toThrow('takes at least 4 args (string, []uint8, []byte, bool, ...float64), got 0');
    expect(() => sum.prepare([arg('string', 'x')])).toThrow(/expects int64 for arg 0, got string/);
  });

  it('refuses an invalid definition', () => {
    // Prepare
    const bad = [
      () => defineTask({ name: '', run: () => 1 }),
      // @ts-expect-error: not an arg type
      () => defineTask({ name: 'x', args: ['complex128'], run: () => 1 }),
      () => defineTask({ name: 'x', run: 5 as unknown as () => 1 }),
      // @ts-expect-error: bigintArg only takes 64-bit integer types
      () => bigintArg('int8'),
      () =>
        defineTask({ name: 'x', args: [{ type: 'int8', bigint: true } as never], run: () => 1 }),
      () => createRegistry([add, add]),
      () => createRegistry({ other: add }),
      () => createRegistry({ x: 5 as never }),
      () => createRegistry([{ name: 'fake' } as never]),
    ];

    // Act
    const errors = bad.map((f) => {
      try {
        f();
        return undefined;
      } catch (e) {
        return e;
      }
    });

    // Assess
    for (const e of errors) expect(e).toBeInstanceOf(TaskDefinitionError);
    expect((errors[5] as TaskDefinitionError).message).toBe('task "add" is registered twice');
  });
});

describe('Function: defineUntypedTask', () => {
  it('passes decoded values unchecked and infers producer arg types', async () => {
    // Prepare
    const echo = defineUntypedTask({
      name: 'echo',
      run: (c, ...args) => [c.name, ...args.map(String)],
    });
    const registry = createRegistry([echo]);

    // Act
    const sig = registry.signature('echo', 1, 'a', typed('float32', 2), 2n ** 63n);
    const values = echo.prepare(sig.Args);
    const result = await echo.invoke(ctx(), values);

    // Assess
    expect(sig.Args.map((a) => a.Type)).toStrictEqual(['int64', 'string', 'float32', 'uint64']);
    expect(result).toStrictEqual(['x', '1', 'a', '2', '9223372036854775808']);
    expect(() => registry.signature('echo', { a: 1 })).toThrow(ArgTypeError);
    expect(echo.args).toBeNull();
  });
});

describe('Function: createRegistry', () => {
  it('registers plain functions by name, with the context as this', async () => {
    // Prepare
    const registry = createRegistry({
      concat: (strs: string[]) => strs.join(''),
      whoami(this: TaskContext) {
        return this.uuid;
      },
      add,
    });
    const concat = registry.get('concat');
    const whoami = registry.get('whoami');

    // Act
    const joined = await concat?.invoke(ctx(), concat.prepare([arg('[]string', ['foo', 'bar'])]));
    const me = await whoami?.invoke(ctx(), []);
    const sig = registry.signatureWith('concat', [['a', 'b']], { RetryCount: 2 });

    // Assess
    expect(registry.names).toStrictEqual(['concat', 'whoami', 'add']);
    expect(registry.has('add')).toBe(true);
    expect(registry.has('nope')).toBe(false);
    expect(joined).toBe('foobar');
    expect(me).toBe('task_1');
    expect(sig.RetryCount).toBe(2);
    expect(sig.Args).toStrictEqual([arg('[]string', ['a', 'b'])]);
    expect(decodeSignature(encodeSignature(sig))).toStrictEqual(sig);
    expect(plainTask('p', () => 1).rest).toBeNull();
  });
});

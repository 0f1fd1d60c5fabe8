/**
 * Typed producers. The `// @ts-expect-error` lines are the type-level test: `npm run typecheck`
 * (tsc over `test/`) fails if any of them compiles, i.e. if a wrong name or argument type stops
 * being a compile error. The same calls are also made at run time, where the values are checked
 * again.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createClient, fromVariables } from '../../../src/client/index.js';
import type { Clock } from '../../../src/core/clock.js';
import {
  type ContractArgs,
  defineContract,
  implement,
  signatureOf,
  signatureWith,
} from '../../../src/core/contract.js';
import {
  ArgTypeError,
  TaskDefinitionError,
  UnregisteredTaskError,
} from '../../../src/core/errors.js';
import { MemoryBroker, MemoryResultBackend } from '../../../src/core/memory.js';
import {
  bigintArg,
  createRegistry,
  defineTask,
  type TaskContext,
} from '../../../src/core/registry.js';
import type { Signature } from '../../../src/core/types.js';

const addContract = defineContract({ name: 'add', args: ['int64', 'int64'] });
const concatContract = defineContract({ name: 'concat', args: ['[]string'] });
const sumContract = defineContract({ name: 'sum', rest: 'int64', description: 'Adds every arg' });
const idContract = defineContract({ name: 'id', args: [bigintArg('uint64')] });

const clock: Clock = { now: () => Date.parse('2026-01-01T00:00:00Z'), sleep: async () => {} };

function memoryClient() {
  const backend = new MemoryResultBackend();
  const broker = new MemoryBroker();
  const client = createClient({
    source: fromVariables({}, { describe: 'the test variables' }),
    backend,
    broker,
    clock,
  });
  return { backend, broker, client };
}

/** A context for calling a task directly. */
const ctx = {} as TaskContext;

describe('Function: defineContract', () => {
  it('keeps the name, args, rest and description as frozen data, without code', () => {
    // Act
    const plain = { ...sumContract };

    // Assess
    expect(plain).toEqual({ name: 'sum', args: [], rest: 'int64', description: 'Adds every arg' });
    expect(Object.isFrozen(addContract)).toBe(true);
    expect(Object.isFrozen(addContract.args)).toBe(true);
    expect('rest' in addContract).toBe(false);
  });

  it('refuses an unknown arg type or an empty name as defineTask does', () => {
    // Act & Assess
    // @ts-expect-error 'int65' is no Go type name
    expect(() => defineContract({ name: 'bad', args: ['int65'] })).toThrow(TaskDefinitionError);
    expect(() => defineContract({ name: '' })).toThrow(TaskDefinitionError);
  });
});

describe('Function: signatureOf', () => {
  it('builds a signature with the declared arg types', () => {
    // Act
    const add = signatureOf(addContract, 1, 2);
    const concat = signatureOf(concatContract, ['a', 'b']);
    const sum = signatureOf(sumContract, 1, 2, 3);
    const id = signatureOf(idContract, 18446744073709551615n);

    // Assess
    expect(add.Name).toBe('add');
    expect(add.Args).toEqual([
      { Name: '', Type: 'int64', Value: 1 },
      { Name: '', Type: 'int64', Value: 2 },
    ]);
    expect(concat.Args).toEqual([{ Name: '', Type: '[]string', Value: ['a', 'b'] }]);
    expect(sum.Args.map((a) => a.Value)).toEqual([1, 2, 3]);
    expect(id.Args).toEqual([{ Name: '', Type: 'uint64', Value: 18446744073709551615n }]);
  });

  it('makes a wrong argument type or count a compile error, and refuses it at run time', () => {
    // Act & Assess
    // @ts-expect-error 'one' is not an int64
    expect(() => signatureOf(addContract, 'one', 2)).toThrow(ArgTypeError);
    // @ts-expect-error add takes two args
    expect(() => signatureOf(addContract, 1)).toThrow(ArgTypeError);
    // 1.5 is a number to the compiler: the run-time check refuses it as an int64
    expect(() => signatureOf(addContract, 1.5, 2)).toThrow(ArgTypeError);
    // @ts-expect-error concat takes a string array
    expect(() => signatureOf(concatContract, [1, 2])).toThrow(ArgTypeError);
    // @ts-expect-error a task name is not a contract
    expect(() => signatureOf('add', 1, 2)).toThrow(TaskDefinitionError);
  });

  it('infers the producer args of a contract', () => {
    // Assess
    expectTypeOf<ContractArgs<typeof addContract>>().toEqualTypeOf<[number, number]>();
    expectTypeOf<ContractArgs<typeof concatContract>>().toEqualTypeOf<[readonly string[]]>();
    expectTypeOf<ContractArgs<typeof sumContract>>().toEqualTypeOf<number[]>();
    expectTypeOf<ContractArgs<typeof idContract>>().toEqualTypeOf<[number | bigint]>();
    expectTypeOf(signatureOf(addContract, 1, 2)).toEqualTypeOf<Signature>();
  });
});

describe('Function: signatureWith', () => {
  it('applies signature options to a contract signature', () => {
    // Act
    const sig = signatureWith(addContract, [1, 2], {
      RetryCount: 3,
      BrokerMessageGroupId: 'customer-7',
    });

    // Assess
    expect(sig.RetryCount).toBe(3);
    expect(sig.BrokerMessageGroupId).toBe('customer-7');
    // @ts-expect-error the args travel as one tuple
    expect(() => signatureWith(addContract, 1, 2)).toThrow();
  });
});

describe('Function: implement', () => {
  it('makes a task of a contract whose run receives the declared types', async () => {
    // Prepare
    const add = implement(addContract, (_ctx, a, b) => a + b);
    const spread = defineTask({ ...addContract, run: (_ctx, a, b) => a * b });
    const args = signatureOf(addContract, 3, 4).Args;

    // Act
    const sum = await add.invoke(ctx, add.prepare(args));
    const product = await spread.invoke(ctx, spread.prepare(args));

    // Assess
    expect(sum).toBe(7);
    expect(product).toBe(12);
    expect(add.name).toBe('add');
    const registry = createRegistry([add]);
    expect(registry.has('add')).toBe(true);
    // @ts-expect-error no task of the registry is named 'ad'
    expect(() => registry.signature('ad', 1, 2)).toThrow(UnregisteredTaskError);
    expectTypeOf(add).toEqualTypeOf(spread);
    // @ts-expect-error run's args are numbers, not strings
    implement(addContract, (_ctx, a: string) => a);
  });
});

describe('Function: createClient (send)', () => {
  it('sends a contract with its args and records it PENDING', async () => {
    // Prepare
    const { backend, broker, client } = memoryClient();

    // Act
    const result = await client.send(addContract, 1, 2);

    // Assess
    expect(broker.published).toHaveLength(1);
    expect(broker.published[0]?.signature.UUID).toBe(result.uuid);
    expect(broker.published[0]?.signature.Name).toBe('add');
    expect(broker.published[0]?.signature.Args.map((a) => a.Value)).toEqual([1, 2]);
    expect(backend.writes).toBe(1);
    client.close();
  });

  it('sends a task made by defineTask the same way', async () => {
    // Prepare
    const { broker, client } = memoryClient();
    const concat = defineTask({
      name: 'concat',
      args: ['[]string'],
      run: (_ctx, strs) => strs.join(''),
    });

    // Act
    await client.send(concat, ['f', 'o']);

    // Assess
    expect(broker.published[0]?.signature.Args).toEqual([
      { Name: '', Type: '[]string', Value: ['f', 'o'] },
    ]);
    client.close();
  });

  it('makes a wrong argument a compile error, and rejects it at run time before any write', async () => {
    // Prepare
    const { backend, broker, client } = memoryClient();

    // Act
    // @ts-expect-error 'x' is not an int64
    const wrongType = client.send(addContract, 'x', 2);
    // @ts-expect-error add takes two args
    const wrongCount = client.send(addContract, 1, 2, 3);

    // Assess
    await expect(wrongType).rejects.toThrow(ArgTypeError);
    await expect(wrongCount).rejects.toThrow(ArgTypeError);
    expect(backend.writes).toBe(0);
    expect(broker.published).toHaveLength(0);
    client.close();
  });

  it('accepts contract signatures in the workflow builders', () => {
    // Prepare
    const { client } = memoryClient();
    const multiplyContract = defineContract({ name: 'multiply', rest: 'int64' });

    // Assess (types only: the builders take the signatures signatureOf returns)
    const chain = () =>
      client.sendChain([signatureOf(addContract, 2, 2), signatureOf(multiplyContract, 4)]);
    const group = () =>
      client.sendGroup([signatureOf(addContract, 1, 1), signatureOf(addContract, 2, 2)]);
    const chord = () =>
      client.sendChord(
        [signatureOf(addContract, 1, 1), signatureOf(addContract, 5, 6)],
        signatureOf(multiplyContract),
      );
    // @ts-expect-error multiply takes int64s
    const wrong = () => client.sendChain([signatureOf(multiplyContract, 'four')]);
    expect([chain, group, chord, wrong].every((f) => typeof f === 'function')).toBe(true);
    client.close();
  });
});

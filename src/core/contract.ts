/**
 * Task contracts: a task's name and argument types without its code, so a producer imports only
 * the contract and its sends are checked at compile time, and the worker implements the same
 * contract.
 *
 * ```ts
 * // contracts.ts — imported by producers and by the worker
 * export const addContract = defineContract({ name: 'add', args: ['int64', 'int64'] });
 *
 * // tasks.ts — the worker only
 * export const add = implement(addContract, (_ctx, a, b) => a + b);
 *
 * // producer.ts
 * await client.send(addContract, 1, 2);               // checked: two numbers
 * await client.sendChain([signatureOf(addContract, 1, 2), signatureOf(addContract, 3, 4)]);
 * ```
 *
 * @module
 */
import { TaskDefinitionError } from './errors.js';
import { type Lane, type LaneOption, laneFor } from './lanes.js';
import { type ArgSpec, defineTask, isTask, type Task } from './registry.js';
import { newSignature, type SignatureOptions } from './signature.js';
import type { Signature } from './types.js';

/** The task `defineTask` returns for a definition with these name, args and rest. */
type TaskFor<
  N extends string,
  A extends readonly ArgSpec[],
  R extends ArgSpec | undefined,
> = ReturnType<typeof defineTask<N, A, R>>;

/** The `run` function `defineTask` takes for these args and rest. */
type RunFor<
  N extends string,
  A extends readonly ArgSpec[],
  R extends ArgSpec | undefined,
> = Parameters<typeof defineTask<N, A, R>>[0]['run'];

/**
 * What a producer passes for a task or contract `C`: its declared arg types as TypeScript types
 * (`'int64'` → `number`, `'[]string'` → `readonly string[]`, `bigintArg('uint64')` →
 * `number | bigint`).
 *
 * @example
 * ```ts
 * type P = ContractArgs<typeof addContract>; // [number, number]
 * ```
 */
export type ContractArgs<C> = C extends { readonly __producerArgs?: infer P }
  ? Extract<Exclude<P, undefined>, readonly unknown[]>
  : never;

/**
 * Anything a producer can send by reference: a {@link TaskContract} or a task made by
 * `defineTask` (its name and, at the type level, its producer args).
 *
 * @example
 * ```ts
 * const targets: Sendable[] = [addContract, defineTask({ name: 'ping', run: () => 'pong' })];
 * ```
 */
export interface Sendable {
  readonly name: string;
  /** Type-level only: what a producer passes. Never set. */
  readonly __producerArgs?: readonly unknown[];
}

/**
 * A task's contract: its name, declared args (Go type names, or `bigintArg(...)`), optional
 * variadic `rest` and description. Plain frozen data: spread it into `defineTask` or pass it to
 * {@link implement}.
 *
 * @example
 * ```ts
 * const c: TaskContract<'add', readonly ['int64', 'int64']> = defineContract({ name: 'add', args: ['int64', 'int64'] });
 * ```
 */
export interface TaskContract<
  N extends string = string,
  A extends readonly ArgSpec[] = readonly ArgSpec[],
  R extends ArgSpec | undefined = undefined,
> {
  readonly name: N;
  readonly args: A;
  /** Declared type of any further args (variadic); absent when none. */
  readonly rest?: R;
  readonly description?: string;
  /** The default cost lane of its sends (`lanes.ts`); `'idempotent'` declares the task idempotent. */
  readonly lane?: Lane;
  /** Type-level only: what a producer passes. Never set. */
  readonly __producerArgs?: NonNullable<TaskFor<N, A, R>['__producerArgs']>;
}

/** Tasks that check and convert producer args for contracts, made once per contract. */
const checkers = new WeakMap<object, Task<string, readonly unknown[]>>();

/**
 * Declares a task's contract: name and argument types, no code. The same rules as `defineTask`
 * apply (a non-empty name, known Go type names), checked here.
 *
 * @throws TaskDefinitionError for an empty name or an unknown arg type.
 * @example
 * ```ts
 * export const addContract = defineContract({ name: 'add', args: ['int64', 'int64'] });
 * export const sumContract = defineContract({ name: 'sum', rest: 'int64', description: 'Adds every arg' });
 * ```
 */
export function defineContract<
  const N extends string,
  const A extends readonly ArgSpec[] = [],
  const R extends ArgSpec | undefined = undefined,
>(definition: {
  name: N;
  args?: A;
  rest?: R;
  description?: string;
  /** The default cost lane of its sends (`lanes.ts`). @default 'full' */
  lane?: Lane;
}): TaskContract<N, A, R> {
  const contract = Object.freeze({
    name: definition.name,
    args: Object.freeze([...(definition.args ?? [])]) as unknown as A,
    ...(definition.rest === undefined ? {} : { rest: definition.rest }),
    ...(definition.description === undefined ? {} : { description: definition.description }),
    ...(definition.lane === undefined ? {} : { lane: definition.lane }),
  }) as TaskContract<N, A, R>;
  checkers.set(
    contract,
    defineTask({
      name: contract.name,
      args: contract.args as readonly ArgSpec[],
      ...(contract.rest === undefined ? {} : { rest: contract.rest as ArgSpec }),
      ...(contract.lane === undefined ? {} : { lane: contract.lane }),
      run: () => undefined,
    }) as unknown as Task<string, readonly unknown[]>,
  );
  return contract;
}

/**
 * Implements a contract: the task `defineTask({ ...contract, run })` returns, with `run` typed
 * from the contract's args.
 *
 * @throws TaskDefinitionError when `run` is not a function.
 * @example
 * ```ts
 * export const add = implement(addContract, (_ctx, a, b) => a + b);
 * export const registry = createRegistry([add]);
 * ```
 */
export function implement<
  const N extends string,
  const A extends readonly ArgSpec[],
  const R extends ArgSpec | undefined,
>(contract: TaskContract<N, A, R>, run: RunFor<N, A, R>): TaskFor<N, A, R> {
  return defineTask<N, A, R>({
    name: contract.name,
    args: contract.args,
    ...(contract.rest === undefined ? {} : { rest: contract.rest }),
    ...(contract.description === undefined ? {} : { description: contract.description }),
    ...(contract.lane === undefined ? {} : { lane: contract.lane }),
    run,
  });
}

/** The task that converts producer values to args for a contract or task. */
function checkerOf(target: Sendable): Task<string, readonly unknown[]> {
  if (isTask(target)) return target;
  const checker = checkers.get(target);
  if (checker === undefined) {
    throw new TaskDefinitionError(
      `${String(target?.name)} is neither a task nor a contract: use defineTask() or defineContract()`,
    );
  }
  return checker;
}

/**
 * A new signature for a contract (or a task) with signature options (`RetryCount`, `ETA`,
 * `BrokerMessageGroupId`, `OnSuccess`…) and its cost lane (`lane`: the definition's by default;
 * `'idempotent'` only when the definition declares it). The values are checked against the
 * declared types at compile time and again here.
 *
 * @throws ArgTypeError when a value does not fit its type; SignatureEncodeError for a bad option;
 * LaneError for a lane the definition does not allow.
 * @example
 * ```ts
 * const sig = signatureWith(addContract, [1, 2], { RetryCount: 3, BrokerMessageGroupId: 'customer-7' });
 * const lean = signatureWith(addContract, [1, 2], { lane: 'lean' });
 * ```
 */
export function signatureWith<C extends Sendable>(
  target: C,
  args: ContractArgs<C>,
  options: SignatureOptions & LaneOption = {},
): Signature {
  const checker = checkerOf(target);
  const { lane, ...signatureOptions } = options;
  return laneFor(newSignature(target.name, checker.toArgs(args), signatureOptions), checker, lane);
}

/**
 * A new signature for a contract (or a task), for `sendTask` and the workflow builders
 * (`sendChain`, `sendGroup`, `sendChord`).
 *
 * @throws ArgTypeError when a value does not fit its type.
 * @example
 * ```ts
 * await client.sendChain([signatureOf(addContract, 2, 2), signatureOf(multiplyContract, 4)]);
 * ```
 */
export function signatureOf<C extends Sendable>(target: C, ...args: ContractArgs<C>): Signature {
  return signatureWith(target, args);
}

/**
 * The task registry. A task is a plain (async) function; a definition adds its name and, when you
 * want the compiler's help, the Go types of its args:
 *
 * ```ts
 * const add = defineTask({
 *   name: 'add',
 *   args: ['int64', 'int64'],
 *   run: (ctx, a, b) => a + b, // a, b: number; returns int64 2 for add(1, 1)
 * });
 * const sum = defineTask({ name: 'sum', rest: 'int64', run: (_ctx, ...xs) => xs.reduce((s, x) => s + x, 0) });
 * const split = defineTask({ name: 'split', args: ['string'], run: (_ctx, s) => s.split('') });
 * const registry = createRegistry([add, sum, split]);
 *
 * registry.signature('add', 1, 2); // a Signature, args typed int64
 * registry.signature('add', 'x'); // compile error: wrong type and count
 * registry.signature('nope'); // compile error: unknown task
 * ```
 *
 * ## Arg types in TypeScript
 *
 * | declared | the task receives | a producer passes |
 * | --- | --- | --- |
 * | `bool` | `boolean` | `boolean` |
 * | `string` | `string` | `string` |
 * | `int8`…`int32`, `uint8`…`uint32`, `float32`, `float64` | `number` | `number` |
 * | `int`, `int64`, `uint`, `uint64` | `number` — a value beyond ±(2^53 − 1) is refused as invalid args, never rounded | `number` |
 * | `bigintArg('int64')` (and `int`, `uint`, `uint64`, their slices) | `bigint`, always, every value exact | `number` or `bigint` |
 * | `[]T` | `T[]` | `readonly T[]` |
 * | `[]byte` | `Uint8Array` | `Uint8Array` |
 *
 * A message's arg `Type`s must equal the declared ones (as Go's reflection requires); a wrong count
 * or type dead-letters the message with reason `invalid-args`.
 *
 * ## The context
 *
 * Typed and untyped definitions receive a {@link TaskContext} first: the signature, attempt
 * number, idempotency key, remaining time, a logger and an abort signal. Plain functions
 * registered by name (`createRegistry({ add: (a, b) => a + b })`, like machinery's
 * `RegisterTasks`) receive only the decoded args, with the context as `this`
 * (`function (this: TaskContext, a, b) {…}`), and their args are not checked.
 *
 * Tasks should be idempotent: a task can run again if its process dies after its side effect and
 * before its result is stored. Use `ctx.idempotencyKey` (`<uuid>:<attempt>`) or `ctx.uuid` to make
 * side effects safe to repeat.
 *
 * @module
 */
import {
  decodeArgValue,
  type ExplicitlyTyped,
  inferTypedValue,
  isArgType,
  isWideIntType,
  type MultipleResults,
  type WideIntType,
} from './args.js';
import { ArgTypeError, TaskDefinitionError, UnregisteredTaskError } from './errors.js';
import { isLane, LANES, type Lane, type LaneOption, laneFor } from './lanes.js';
import type { Logger } from './logger.js';
import { newSignature, type SignatureOptions } from './signature.js';
import type { Arg, ArgType, ArgValue, ScalarType, Signature, TypedValue } from './types.js';

/**
 * What a running task knows about itself.
 *
 * @example
 * ```ts
 * const charge = defineTask({ name: 'charge', args: ['string'], run: async (ctx, customer) => {
 *   ctx.logger.info('charging', { customer, attempt: ctx.attempt });
 *   await payments.charge(customer, { idempotencyKey: ctx.uuid, signal: ctx.signal });
 * } });
 * ```
 */
export interface TaskContext {
  /** The signature being run (decoded). */
  readonly signature: Readonly<Signature>;
  /** The task UUID. */
  readonly uuid: string;
  /** The task name. */
  readonly name: string;
  /** This attempt's number, from 1 (a retry, a crash recovery or a redrive is a new attempt). */
  readonly attempt: number;
  /** Retries consumed before this attempt. */
  readonly retries: number;
  /** Whether this attempt is an operator's redrive of a dead-lettered task. */
  readonly redrive: boolean;
  /**
   * Unique per attempt: `<uuid>:<attempt>`; in the idempotent lane, which claims no attempt,
   * unique per receive: `<uuid>:<messageId>:r<receiveCount>`. Use `uuid` for a key shared by
   * every attempt.
   */
  readonly idempotencyKey: string;
  /** The signature's headers (trace context travels here). */
  readonly headers: Readonly<Record<string, unknown>>;
  /** A logger whose entries carry the task UUID, name and attempt. */
  readonly logger: Logger;
  /** Aborted when the invocation is about to run out of time. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the invocation is stopped. */
  remainingTimeMs(): number;
  /**
   * A chord callback's members' results, one member's typed results at a time in group order,
   * present when they travel by reference (too large to append to the args; header
   * `machinery.chordResults`). Reading more than `CHORD_DEFAULTS.chordResultsMaxBytes` throws.
   */
  readonly chordResults?: () => AsyncIterable<TypedValue[]>;
}

/** The 64-bit integer types that {@link bigintArg} accepts, and their slices. */
export type BigIntSpecType = WideIntType | `[]${WideIntType}`;

/**
 * A 64-bit integer arg the task receives as `bigint` (always, every value exact).
 *
 * @example
 * ```ts
 * const spec: BigIntArgSpec<'uint64'> = bigintArg('uint64');
 * ```
 */
export interface BigIntArgSpec<T extends BigIntSpecType = BigIntSpecType> {
  readonly type: T;
  readonly bigint: true;
}

/**
 * Declares a 64-bit integer arg (or a slice of them) received as `bigint`.
 *
 * @example
 * ```ts
 * const id = defineTask({ name: 'id', args: [bigintArg('uint64')], run: (_ctx, v) => v }); // v: bigint
 * ```
 */
export function bigintArg<const T extends BigIntSpecType>(type: T): BigIntArgSpec<T> {
  if (!isWideIntType(type.replace(/^\[\]/, ''))) {
    throw new TaskDefinitionError(
      `bigintArg takes int, int64, uint, uint64 or their slices, got ${type}`,
    );
  }
  return Object.freeze({ type, bigint: true as const });
}

/**
 * One declared arg: a Go type name, or {@link bigintArg}.
 *
 * @example
 * ```ts
 * const specs: ArgSpec[] = ['string', '[]int64', bigintArg('uint64')];
 * ```
 */
export type ArgSpec = ArgType | BigIntArgSpec;

type ScalarIn<S> = S extends 'bool' ? boolean : S extends 'string' ? string : number;
type ScalarOut<S> = S extends 'bool' ? boolean : S extends 'string' ? string : number;

/**
 * The TypeScript type a task receives for a declared arg.
 *
 * @example
 * ```ts
 * type T = TaskArgType<'[]string'>; // string[]
 * ```
 */
export type TaskArgType<S> =
  S extends BigIntArgSpec<infer T>
    ? T extends `[]${string}`
      ? bigint[]
      : bigint
    : S extends '[]byte'
      ? Uint8Array
      : S extends `[]${infer E}`
        ? ScalarIn<E>[]
        : S extends ScalarType
          ? ScalarIn<S>
          : never;

/**
 * The TypeScript type a producer passes for a declared arg.
 *
 * @example
 * ```ts
 * type T = ProducerArgType<BigIntArgSpec<'uint64'>>; // number | bigint
 * ```
 */
export type ProducerArgType<S> =
  S extends BigIntArgSpec<infer T>
    ? T extends `[]${string}`
      ? readonly (number | bigint)[]
      : number | bigint
    : S extends '[]byte'
      ? Uint8Array
      : S extends `[]${infer E}`
        ? readonly ScalarOut<E>[]
        : S extends ScalarType
          ? ScalarOut<S>
          : never;

/**
 * The parameters (after the context) of a task with declared args `A`.
 *
 * @example
 * ```ts
 * type P = TaskArgs<['int64', 'string']>; // [number, string]
 * ```
 */
export type TaskArgs<A extends readonly unknown[]> = {
  -readonly [K in keyof A]: TaskArgType<A[K]>;
};

/**
 * What a producer passes for a task with declared args `A`.
 *
 * @example
 * ```ts
 * type P = ProducerArgs<['int64', 'string']>; // [number, string]
 * ```
 */
export type ProducerArgs<A extends readonly unknown[]> = {
  -readonly [K in keyof A]: ProducerArgType<A[K]>;
};

type WithRest<Fixed extends unknown[], R, Elem> = [R] extends [undefined]
  ? Fixed
  : [...Fixed, ...Elem[]];

/**
 * What a task may return (see `toTypedResults` for the mapping to typed results).
 *
 * @example
 * ```ts
 * const r: TaskResult = ['f', 'o', 'o'];
 * ```
 */
export type TaskResult =
  | undefined
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly boolean[]
  | readonly (number | bigint)[]
  | readonly string[]
  | MultipleResults
  | ExplicitlyTyped;

/** A task function's return: a {@link TaskResult}, `void`, or a promise of one. */
// biome-ignore lint/suspicious/noConfusingVoidType: a task may return nothing
export type TaskReturn = TaskResult | void | Promise<TaskResult | void>;

/**
 * A plain function registered by name: receives the decoded args, and the context as `this`.
 *
 * @example
 * ```ts
 * const concat: PlainTaskFunction = (strs: string[]) => strs.join('');
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: plain functions may declare any parameters
export type PlainTaskFunction = (this: TaskContext, ...args: any[]) => unknown;

/**
 * A registered task. `P` is what a producer passes (type-level only).
 *
 * @example
 * ```ts
 * const t: Task<'add', [number, number]> = defineTask({ name: 'add', args: ['int64', 'int64'], run: (_c, a, b) => a + b });
 * ```
 */
export interface Task<
  N extends string = string,
  P extends readonly unknown[] = readonly unknown[],
> {
  readonly name: N;
  readonly description: string | undefined;
  /**
   * The default cost lane of its sends (`lanes.ts`); `idempotent` declares the task idempotent.
   * @default 'full'
   */
  readonly lane: Lane;
  /** Declared fixed args; `null` for untyped tasks and plain functions. */
  readonly args: readonly ArgSpec[] | null;
  /** Declared type of any further args (variadic, like Go's `...int64`); `null` for none. */
  readonly rest: ArgSpec | null;
  /**
   * Checks a signature's args against the definition and converts them to what the function
   * receives.
   * @throws ArgTypeError on a count or type mismatch.
   */
  prepare(args: readonly Arg[]): unknown[];
  /** Calls the function. */
  invoke(ctx: TaskContext, values: readonly unknown[]): unknown;
  /**
   * Builds a signature's args from producer values (declared types, or inferred for untyped tasks).
   * @throws ArgTypeError when a value does not fit.
   */
  toArgs(values: readonly unknown[]): Arg[];
  /** Type-level only: what a producer passes. Never set. */
  readonly __producerArgs?: P;
}

// biome-ignore lint/suspicious/noExplicitAny: any producer args
type AnyTask = Task<string, readonly any[]>;

function specType(spec: ArgSpec): ArgType {
  return typeof spec === 'string' ? spec : spec.type;
}

function describeArgs(args: readonly ArgSpec[], rest: ArgSpec | null): string {
  const list = [...args.map(specType), ...(rest === null ? [] : [`...${specType(rest)}`])];
  const count = rest === null ? `${args.length}` : `at least ${args.length}`;
  return `${count} arg${args.length === 1 && rest === null ? '' : 's'} (${list.join(', ')})`;
}

function checkSpec(taskName: string, spec: unknown, where: string): ArgSpec {
  if (typeof spec === 'string' && isArgType(spec)) return spec;
  if (
    typeof spec === 'object' &&
    spec !== null &&
    (spec as BigIntArgSpec).bigint === true &&
    typeof (spec as BigIntArgSpec).type === 'string' &&
    isWideIntType((spec as BigIntArgSpec).type.replace(/^\[\]/, ''))
  ) {
    return spec as BigIntArgSpec;
  }
  throw new TaskDefinitionError(`task "${taskName}": ${where} is not an arg type: ${String(spec)}`);
}

function hasBigint(value: unknown): boolean {
  return (
    typeof value === 'bigint' || (Array.isArray(value) && value.some((v) => typeof v === 'bigint'))
  );
}

/** Converts a canonical value to what a task declared with `spec` receives. */
function toTaskValue(taskName: string, spec: ArgSpec, value: ArgValue, field: string): unknown {
  if (typeof spec !== 'string') {
    return Array.isArray(value)
      ? value.map((v) => BigInt(v as number | bigint))
      : BigInt(value as number | bigint);
  }
  const elem = spec.replace(/^\[\]/, '');
  if (isWideIntType(elem) && hasBigint(value)) {
    throw new ArgTypeError(
      field,
      `task "${taskName}" declares ${spec} as number, and a value is beyond ±(2^53 − 1); ` +
        `declare bigintArg('${spec}') to receive it exactly`,
    );
  }
  return value;
}

/**
 * The brand every task definition carries: a registered symbol (`Symbol.for`), so a task made by
 * another copy of this library (a tasks module loaded as CommonJS beside the ES module build, two
 * installs in one bundle) is still recognised, where `instanceof` would refuse it.
 */
const TASK_BRAND: unique symbol = Symbol.for('machinery-serverless.task') as never;

/**
 * Whether a value is a task definition made by `defineTask()` (or a registry built from plain
 * functions), by any copy of this library.
 *
 * @example
 * ```ts
 * isTask(defineTask({ name: 'ping', run: () => 'pong' })); // true
 * isTask({ name: 'ping' }); // false
 * ```
 */
export function isTask(value: unknown): value is Task<string, readonly unknown[]> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [TASK_BRAND]?: unknown })[TASK_BRAND] === true
  );
}

class DefinedTask implements AnyTask {
  readonly [TASK_BRAND] = true;
  readonly name: string;
  readonly description: string | undefined;
  readonly lane: Lane;
  readonly args: readonly ArgSpec[] | null;
  readonly rest: ArgSpec | null;
  readonly #call: (ctx: TaskContext, values: readonly unknown[]) => unknown;

  constructor(
    name: unknown,
    description: string | undefined,
    args: readonly ArgSpec[] | null,
    rest: ArgSpec | null,
    call: (ctx: TaskContext, values: readonly unknown[]) => unknown,
    lane: unknown = 'full',
  ) {
    if (typeof name !== 'string' || name === '') {
      throw new TaskDefinitionError(`a task name must be a non-empty string, got ${String(name)}`);
    }
    if (!isLane(lane)) {
      throw new TaskDefinitionError(
        `task "${name}": lane must be one of ${LANES.join(', ')}, got ${String(lane)}`,
      );
    }
    this.name = name;
    this.description = description;
    this.lane = lane;
    this.args =
      args === null ? null : Object.freeze(args.map((s, i) => checkSpec(name, s, `args[${i}]`)));
    this.rest = rest === null ? null : checkSpec(name, rest, 'rest');
    this.#call = call;
  }

  /**
   * The spec of arg `i` of `count` args; throws {@link ArgTypeError} at `field` when the task does
   * not take `count` args. Only for tasks with declared `args`.
   */
  #specOf(specs: readonly ArgSpec[], count: number, field: string): (i: number) => ArgSpec {
    const rest = this.rest;
    if (count < specs.length || (rest === null && count > specs.length)) {
      throw new ArgTypeError(
        field,
        `task "${this.name}" takes ${describeArgs(specs, rest)}, got ${count}`,
      );
    }
    return (i) => (i < specs.length ? specs[i] : rest) as ArgSpec;
  }

  prepare(args: readonly Arg[]): unknown[] {
    const specs = this.args;
    if (specs === null)
      return args.map((a, i) => decodeArgValue(a.Type, a.Value, `Args[${i}].Value`));
    const specOf = this.#specOf(specs, args.length, 'Args');
    return args.map((arg, i) => {
      const spec = specOf(i);
      const type = specType(spec);
      if (arg.Type !== type) {
        throw new ArgTypeError(
          `Args[${i}].Type`,
          `task "${this.name}" expects ${type} for arg ${i}, got ${arg.Type}`,
        );
      }
      const field = `Args[${i}].Value`;
      return toTaskValue(this.name, spec, decodeArgValue(type, arg.Value, field), field);
    });
  }

  invoke(ctx: TaskContext, values: readonly unknown[]): unknown {
    return this.#call(ctx, values);
  }

  toArgs(values: readonly unknown[]): Arg[] {
    const specs = this.args;
    if (specs === null) {
      return values.map((v, i) => {
        try {
          const tv = inferTypedValue(v, `arg ${i}`);
          return { Name: '', Type: tv.Type, Value: tv.Value };
        } catch (e) {
          throw new ArgTypeError(`[${i}]`, (e as Error).message, { cause: e });
        }
      });
    }
    const specOf = this.#specOf(specs, values.length, '');
    return values.map((v, i) => {
      const spec = specOf(i);
      const type = specType(spec);
      const value = decodeArgValue(type, v, `[${i}]`);
      toTaskValue(this.name, spec, value, `[${i}]`);
      return { Name: '', Type: type, Value: value };
    });
  }
}

function checkRun(name: unknown, run: unknown): void {
  if (typeof run !== 'function') {
    throw new TaskDefinitionError(`task "${String(name)}": run must be a function`);
  }
}

/**
 * Defines a typed task: `args` (and optionally `rest`, for variadic tasks like machinery's
 * `Add(args ...int64)`) are Go type names; `run` receives the context, then the args with their
 * TypeScript types. The definition checks every message's args (count and types) before running.
 *
 * @throws TaskDefinitionError for an empty name, an unknown type or a `run` that is not a function.
 * @example
 * ```ts
 * const concat = defineTask({ name: 'concat', args: ['[]string'], run: (_ctx, strs) => strs.join('') });
 * const add = defineTask({ name: 'add', rest: 'int64', run: (_ctx, ...xs) => xs.reduce((a, b) => a + b, 0) });
 * ```
 */
export function defineTask<
  const N extends string,
  const A extends readonly ArgSpec[] = [],
  const R extends ArgSpec | undefined = undefined,
>(definition: {
  name: N;
  args?: A;
  rest?: R;
  description?: string;
  /**
   * The default cost lane of its sends (`lanes.ts`); `'idempotent'` declares the task idempotent
   * (it may run more than once for one send). @default 'full'
   */
  lane?: Lane;
  run: (ctx: TaskContext, ...args: WithRest<TaskArgs<A>, R, TaskArgType<R>>) => TaskReturn;
}): Task<N, NoInfer<WithRest<ProducerArgs<A>, R, ProducerArgType<R>>>> {
  checkRun(definition.name, definition.run);
  const run = definition.run as (ctx: TaskContext, ...args: unknown[]) => unknown;
  return new DefinedTask(
    definition.name,
    definition.description,
    definition.args ?? [],
    definition.rest ?? null,
    (ctx, values) => run(ctx, ...values),
    definition.lane ?? 'full',
  ) as unknown as Task<N, NoInfer<WithRest<ProducerArgs<A>, R, ProducerArgType<R>>>>;
}

/**
 * Defines an untyped task with the context: it takes any args, decoded (as machinery's reflection
 * would), unchecked. Producers pass plain values, typed by the result mapping (number → int64 or
 * float64…; use `typed(type, value)` to choose).
 *
 * @example
 * ```ts
 * const log = defineUntypedTask({ name: 'log', run: (ctx, ...args) => ctx.logger.info('args', { args }) });
 * ```
 */
export function defineUntypedTask<const N extends string>(definition: {
  name: N;
  description?: string;
  /** The default cost lane of its sends (`lanes.ts`). @default 'full' */
  lane?: Lane;
  run: (ctx: TaskContext, ...args: ArgValue[]) => TaskReturn;
}): Task<N, unknown[]> {
  checkRun(definition.name, definition.run);
  const run = definition.run as (ctx: TaskContext, ...args: unknown[]) => unknown;
  return new DefinedTask(
    definition.name,
    definition.description,
    null,
    null,
    (ctx, values) => run(ctx, ...values),
    definition.lane ?? 'full',
  ) as unknown as Task<N, unknown[]>;
}

/**
 * Wraps a plain function as an untyped task named `name`: it receives the decoded args, and the
 * context as `this`.
 *
 * @example
 * ```ts
 * const concat = plainTask('concat', (strs: string[]) => strs.join(''));
 * ```
 */
export function plainTask<const N extends string, F extends PlainTaskFunction>(
  name: N,
  fn: F,
): Task<N, Parameters<F>> {
  checkRun(name, fn);
  return new DefinedTask(name, undefined, null, null, (ctx, values) =>
    fn.apply(ctx, values as unknown[]),
  ) as unknown as Task<N, Parameters<F>>;
}

/**
 * A job declared as a class: an instance method `perform(ctx, ...args)` and, as static members,
 * its task name (`jobName`, else the class's own `name`), optionally its declared `args` / `rest`
 * (checked like `defineTask`'s; untyped without), `description`, `lane`, and the send defaults
 * `retryCount` ({@link jobSignature} applies it) and `queue`. A fresh instance performs each run.
 *
 * @example
 * ```ts
 * class SendEmail {
 *   static readonly args = ['string'] as const;
 *   async perform(ctx: TaskContext, to: string) { await mail(to, ctx.idempotencyKey); }
 * }
 * const registry = createRegistry([SendEmail]);
 * ```
 */
export interface JobClass {
  new (): { perform(ctx: TaskContext, ...args: never[]): unknown };
  readonly name: string;
  readonly jobName?: string;
  readonly args?: readonly ArgSpec[];
  readonly rest?: ArgSpec;
  readonly description?: string;
  readonly lane?: Lane;
  /** `RetryCount` of its sends through {@link jobSignature}. @default 0 */
  readonly retryCount?: number;
  /** The queue its sends name (`client.sendTask(sig, { queue })`). @default 'default' */
  readonly queue?: 'high' | 'default';
}

/**
 * The opt-in preset of a Go job runner's defaults: extend it to give a job class 13 retries and
 * the default queue (override `retryCount` or `queue` to change either).
 *
 * @example
 * ```ts
 * class Rebuild extends RunnerJob {
 *   perform(ctx: TaskContext) { return rebuild(ctx.uuid); }
 * }
 * jobSignature(Rebuild).RetryCount; // 13
 * ```
 */
export abstract class RunnerJob {
  static readonly retryCount: number = 13;
  static readonly queue: 'high' | 'default' = 'default';
  abstract perform(ctx: TaskContext, ...args: never[]): unknown;
}

/**
 * Whether `value` is a job class (a class whose instances have a `perform` method).
 *
 * @example
 * ```ts
 * isJobClass(class { perform() {} }); // true
 * ```
 */
export function isJobClass(value: unknown): value is JobClass {
  return (
    typeof value === 'function' &&
    typeof (value as { prototype?: { perform?: unknown } }).prototype?.perform === 'function'
  );
}

/** The task name of a job class. */
function jobNameOf(job: JobClass): string {
  return job.jobName ?? job.name;
}

/**
 * The task of a job class: registers and runs like a `defineTask` task (the same brand).
 *
 * @example
 * ```ts
 * const task = jobTask(SendEmail); // task.name === 'SendEmail'
 * ```
 */
export function jobTask(job: JobClass): AnyTask {
  if (!isJobClass(job)) {
    throw new TaskDefinitionError(`${String(job)} is not a job class: it needs a perform() method`);
  }
  const perform = (ctx: TaskContext, values: readonly unknown[]) => {
    const instance = new job() as { perform(ctx: TaskContext, ...args: unknown[]): unknown };
    return instance.perform(ctx, ...values);
  };
  return new DefinedTask(
    jobNameOf(job),
    job.description,
    job.args ?? (job.rest === undefined ? null : []),
    job.rest ?? null,
    perform,
    job.lane ?? 'full',
  ) as unknown as AnyTask;
}

/**
 * A signature for a job class with its `retryCount` as `RetryCount`, unless `options` sets it.
 * Its `queue` goes with the send: `client.sendTask(jobSignature(Job), { queue: Job.queue })`.
 *
 * @example
 * ```ts
 * await client.sendTask(jobSignature(Rebuild, [{ Type: 'string', Value: 'all' }]), {
 *   queue: Rebuild.queue,
 * });
 * ```
 */
export function jobSignature(
  job: JobClass,
  args: Parameters<typeof newSignature>[1] = [],
  options: SignatureOptions = {},
): Signature {
  return newSignature(jobNameOf(job), args, {
    ...(job.retryCount === undefined ? {} : { RetryCount: job.retryCount }),
    ...options,
  });
}

type ProducerArgsOf<T> = T extends { readonly __producerArgs?: infer P }
  ? Extract<Exclude<P, undefined>, readonly unknown[]>
  : never;

/**
 * Tasks by name, typed: `signature()` only accepts registered names and their declared arg types.
 *
 * @example
 * ```ts
 * const registry = createRegistry([add]);
 * const sig = registry.signature('add', 1, 2);
 * ```
 */
export interface TaskRegistry<
  M extends { readonly [name: string]: AnyTask } = { readonly [name: string]: AnyTask },
> {
  /** Registered names, in registration order. */
  readonly names: readonly string[];
  /** The task registered as `name`. */
  get(name: string): AnyTask | undefined;
  /** Whether a task is registered as `name`. */
  has(name: string): boolean;
  /**
   * A new signature for task `name` with the given args (checked against the declared types).
   * @throws UnregisteredTaskError, ArgTypeError.
   */
  signature<N extends keyof M & string>(name: N, ...args: ProducerArgsOf<M[N]>): Signature;
  /**
   * {@link TaskRegistry.signature} with signature options (`RetryCount`, `ETA`, `OnSuccess`…)
   * and the cost lane (`lane`, default the task's).
   * @throws UnregisteredTaskError, ArgTypeError, SignatureEncodeError, LaneError.
   */
  signatureWith<N extends keyof M & string>(
    name: N,
    args: ProducerArgsOf<M[N]>,
    options?: SignatureOptions & LaneOption,
  ): Signature;
}

class Registry implements TaskRegistry {
  readonly #tasks = new Map<string, AnyTask>();

  constructor(given: readonly (AnyTask | JobClass)[]) {
    for (const entry of given) {
      const task = isJobClass(entry) ? jobTask(entry) : entry;
      if (!isTask(task)) {
        throw new TaskDefinitionError(
          `${String((task as { name?: unknown })?.name ?? task)} is not a task: use defineTask()`,
        );
      }
      if (this.#tasks.has(task.name)) {
        throw new TaskDefinitionError(`task "${task.name}" is registered twice`);
      }
      this.#tasks.set(task.name, task);
    }
  }

  get names(): readonly string[] {
    return [...this.#tasks.keys()];
  }

  get(name: string): AnyTask | undefined {
    return this.#tasks.get(name);
  }

  has(name: string): boolean {
    return this.#tasks.has(name);
  }

  signature(name: string, ...args: readonly unknown[]): Signature {
    return this.signatureWith(name, args);
  }

  signatureWith(
    name: string,
    args: readonly unknown[],
    options: SignatureOptions & LaneOption = {},
  ): Signature {
    const task = this.#tasks.get(name);
    if (task === undefined) throw new UnregisteredTaskError(name);
    const { lane, ...signatureOptions } = options;
    return laneFor(newSignature(name, task.toArgs(args), signatureOptions), task, lane);
  }
}

type RegistryOfList<T extends readonly AnyTask[]> = TaskRegistry<{
  [K in T[number] as K['name']]: K;
}>;

type RegistryOfRecord<R extends Record<string, AnyTask | PlainTaskFunction>> = TaskRegistry<{
  [K in keyof R & string]: R[K] extends AnyTask
    ? R[K]
    : R[K] extends PlainTaskFunction
      ? Task<K, Parameters<R[K]>>
      : never;
}>;

/**
 * Builds a registry from task definitions (a list), or from a record of name → definition or
 * plain function (like machinery's `RegisterTasks(map[string]interface{})`).
 *
 * @throws TaskDefinitionError for a duplicate name, a record key that differs from its task's
 * name, or a value that is neither a task nor a function.
 * @example
 * ```ts
 * const registry = createRegistry([add, concat]);
 * const legacy = createRegistry({ add: (a: number, b: number) => a + b, concat });
 * ```
 */
export function createRegistry<const T extends readonly AnyTask[]>(tasks: T): RegistryOfList<T>;
export function createRegistry(tasks: readonly (AnyTask | JobClass)[]): TaskRegistry;
export function createRegistry(
  tasks: Record<string, AnyTask | PlainTaskFunction | JobClass>,
): TaskRegistry;
export function createRegistry<const R extends Record<string, AnyTask | PlainTaskFunction>>(
  tasks: R,
): RegistryOfRecord<R>;
export function createRegistry(
  tasks: readonly (AnyTask | JobClass)[] | Record<string, AnyTask | PlainTaskFunction | JobClass>,
): TaskRegistry {
  if (Array.isArray(tasks)) return new Registry(tasks);
  const list = Object.entries(tasks).map(([name, value]): AnyTask => {
    if (isJobClass(value)) {
      const task = jobTask(value);
      if (task.name !== name) {
        throw new TaskDefinitionError(`key "${name}" holds the job named "${task.name}"`);
      }
      return task;
    }
    if (isTask(value)) {
      if (value.name !== name) {
        throw new TaskDefinitionError(`key "${name}" holds the task named "${value.name}"`);
      }
      return value;
    }
    if (typeof value === 'function') return plainTask(name, value as PlainTaskFunction);
    throw new TaskDefinitionError(`"${name}" is neither a task nor a function`);
  });
  return new Registry(list);
}

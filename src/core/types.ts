/**
 * Domain types of machinery-serverless.
 *
 * ## Glossary
 *
 * - **Signature** — one task invocation as it travels on the wire: machinery's `tasks.Signature`,
 *   PascalCase keys, JSON. Identified by its `UUID` (`task_<uuid>`).
 * - **Arg** — one positional argument `{ Name, Type, Value }`; `Type` is a Go type name
 *   (`int64`, `[]string`, `[]byte`…). `Name` is carried but ignored (args are positional).
 * - **Typed value** — `{ Type, Value }`, the shape of a stored result.
 * - **Task state** — `PENDING → RECEIVED → STARTED → SUCCESS | FAILURE | RETRY (→ STARTED …)`.
 * - **Attempt** — one claimed execution of a task; numbered from 1. A retry is a new attempt.
 * - **Lease** — the time until which a claimed attempt owns the task; a claim that finds an
 *   expired lease has found a crashed attempt (a *crash*).
 * - **Dead-lettering** — moving a message that cannot or must not run again to the DLQ, with its
 *   reason as message attributes, and recording the task FAILURE.
 * - **Redrive** — an operator's explicit request to run a dead-lettered task once more.
 * - **Group / chord** — tasks run in parallel sharing a `GroupUUID`; a chord adds a callback that
 *   runs exactly once when every member succeeded.
 *
 * @module
 */

/** Scalar Go type names machinery understands. */
export const SCALAR_TYPES = [
  'bool',
  'int',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float32',
  'float64',
  'string',
] as const;

/**
 * A scalar Go type name.
 *
 * @example
 * ```ts
 * const t: ScalarType = 'int64';
 * ```
 */
export type ScalarType = (typeof SCALAR_TYPES)[number];

/**
 * Every arg/result type on the wire: a scalar, its slice form `[]T`, or `[]byte` (base64).
 *
 * @example
 * ```ts
 * const t: ArgType = '[]string';
 * ```
 */
export type ArgType = ScalarType | `[]${ScalarType}` | '[]byte';

/**
 * A decoded value. 64-bit integers are `number` while safe (|v| ≤ 2^53 − 1) and `bigint` beyond,
 * so no precision is ever lost; `[]byte` is a `Uint8Array`.
 *
 * @example
 * ```ts
 * const v: ArgValue = [1, 2, 18446744073709551615n];
 * ```
 */
export type ArgValue =
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly boolean[]
  | readonly (number | bigint)[]
  | readonly string[];

/**
 * One positional argument of a signature (decoded).
 *
 * @example
 * ```ts
 * const a: Arg = { Name: '', Type: 'int64', Value: 1 };
 * ```
 */
export interface Arg {
  Name: string;
  Type: ArgType;
  Value: ArgValue;
}

/**
 * A typed result value (decoded). Stored in DynamoDB as `{ Type, Value }` with Value in its JSON
 * type and 64-bit values beyond 2^53 as decimal strings.
 *
 * @example
 * ```ts
 * const r: TypedValue = { Type: 'int64', Value: 2 };
 * ```
 */
export interface TypedValue {
  Type: ArgType;
  Value: ArgValue;
}

/**
 * machinery's `tasks.Signature`, decoded. Every key of the wire format is present (missing keys
 * take machinery's zero values when decoding). `ETA` is normalised to a UTC RFC 3339 string with
 * nanosecond precision preserved, or `null`.
 *
 * @example
 * ```ts
 * const sig: Signature = newSignature('add', [{ Name: '', Type: 'int64', Value: 1 }]);
 * ```
 */
export interface Signature {
  UUID: string;
  Name: string;
  RoutingKey: string;
  ETA: string | null;
  GroupUUID: string;
  GroupTaskCount: number;
  Args: Arg[];
  Headers: Record<string, unknown>;
  Priority: number;
  Immutable: boolean;
  RetryCount: number;
  RetryTimeout: number;
  OnSuccess: Signature[] | null;
  OnError: Signature[] | null;
  ChordCallback: Signature | null;
  BrokerMessageGroupId: string;
  SQSReceiptHandle: string;
  StopTaskDeletionOnError: boolean;
  IgnoreWhenTaskNotRegistered: boolean;
}

/** Every task state. */
export const TASK_STATES = [
  'PENDING',
  'RECEIVED',
  'STARTED',
  'RETRY',
  'SUCCESS',
  'FAILURE',
] as const;

/**
 * A task state; `SUCCESS` and `FAILURE` are final.
 *
 * @example
 * ```ts
 * const s: TaskState = 'PENDING';
 * ```
 */
export type TaskState = (typeof TASK_STATES)[number];

/**
 * Why a message went to the dead-letter queue. Stable strings: they are written to the
 * `machinery.reason` message attribute and to the task state.
 *
 * @example
 * ```ts
 * const r: DeadLetterReason = 'unregistered';
 * ```
 */
export type DeadLetterReason =
  | 'undecodable'
  | 'invalid-signature'
  | 'unregistered'
  | 'invalid-args'
  | 'crash-loop'
  | 'permanent-failure'
  | 'receive-limit'
  | 'message-rejected'
  | 'repeated-error';

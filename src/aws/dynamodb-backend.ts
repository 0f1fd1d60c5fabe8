/**
 * The DynamoDB implementation of the core `ResultBackend` port (stored state and rules:
 * `docs/design.md`).
 *
 * ## Item layout (`task_states`, key `TaskUUID`)
 *
 * | attribute | type | meaning |
 * | --- | --- | --- |
 * | `TaskUUID` | S | the key |
 * | `TaskName` | S | the task's registered name |
 * | `State` | S | `PENDING`, `RECEIVED`, `STARTED`, `RETRY`, `SUCCESS`, `FAILURE` |
 * | `Results` | L of M `{Type, Value}` | typed results of a SUCCESS (C's `encodeTypedValues`: 64-bit values beyond 2^53 as decimal strings), never stringified |
 * | `Error` | S | message of the last failure or retry; `revoked` for a cancelled task |
 * | `CreatedAt`, `UpdatedAt` | N | epoch ms |
 * | `TTL` | N | epoch **seconds**, the table's TTL attribute (`ceil(expiresAt / 1000)`) |
 * | `Attempt`, `Retries`, `Crashes` | N | attempts claimed, retries consumed, crashed attempts found |
 * | `LeaseUntil` | N | end of the current attempt's lease, epoch ms; present only while STARTED |
 * | `DeadLettered`, `DeadLetterReason` | BOOL, S | set while the message sits in the DLQ |
 * | `Body` | S | the encoded signature, when it travels by reference |
 * | `ETA` | N | the task's ETA, epoch ms, when it has one |
 * | `GroupUUID`, `GroupIndex` | S, N | a group member's group and index (written when the item is created) |
 *
 * ## Writes
 *
 * Every transition is **one conditional write**. Its condition is one of the
 * `transitionConditions` of `src/core/transitions.ts` (named clauses, each with its expression
 * and its predicate), and it asks for
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD`, so a failed condition tells us what the item
 * holds without an extra read. A simple successful task costs three writes: `putPending` (PutItem,
 * at send), `claim` (UpdateItem → STARTED; RECEIVED is coalesced into it), `markSuccess`.
 *
 * ## Expiry
 *
 * An item whose `TTL` has passed (`TTL * 1000 <= now`) but that DynamoDB has not deleted yet is
 * treated as absent everywhere: `get` returns `undefined`, and a write that may create an item
 * replaces it with a fresh one (a PutItem conditional on the expired `TTL` being unchanged).
 *
 * ## TTL only extends
 *
 * DynamoDB's update expressions have no `max()`. Each write sets `TTL = :ttl` under the extra
 * clause `ttlOnlyExtends` (`TTL` absent or `<= :ttl`). `expiresAt` is computed from the current
 * time, so it is normally later than the stored one and the write succeeds at once. When the stored
 * TTL is later (a producer asked for a longer `ResultsExpireIn` than the worker knows), the
 * condition fails, the returned old item shows that only this clause failed, and the same write is
 * repeated without touching `TTL`: two requests in that rare case, never a shortened lifetime.
 * Writes that follow a read of the old item (redrive, crash, expired) compute the max exactly.
 *
 * IAM: `dynamodb:GetItem`, `dynamodb:PutItem`, `dynamodb:UpdateItem` on the table (and
 * `kms:Decrypt`/`kms:GenerateDataKey` with a customer-managed key).
 *
 * @module
 */
import type { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { decodeTypedValues, encodeTypedValues } from '../core/args.js';
import { TransientInfrastructureError } from '../core/errors.js';
import type { ClaimResult, ResultBackend, Settlement, TaskRecord } from '../core/ports.js';
import { signatureRecordFields } from '../core/record-fields.js';
import {
  and,
  type Condition,
  deadLettered,
  expiresAtIs,
  leaseIsLive,
  stateIs,
  TASK_ATTRIBUTES,
  taskIsFinal,
  taskIsLive,
  taskIsPresent,
  taskView,
  transitionConditions,
  ttlOnlyExtends,
  ttlSeconds,
} from '../core/transitions.js';
import type { DeadLetterReason, Signature, TaskState, TypedValue } from '../core/types.js';
import { isConditionalCheckFailure, translateAwsError } from './errors.js';

/** A stored item, unmarshalled. */
type Item = Record<string, unknown>;

/**
 * Options of {@link DynamoDbResultBackend}.
 *
 * @example
 * ```ts
 * const opts: DynamoDbResultBackendOptions = { dynamodb: createDynamoDbDocumentClient(), tableName: 'task_states' };
 * ```
 */
export interface DynamoDbResultBackendOptions {
  /** The document client (see `createDynamoDbDocumentClient`). */
  dynamodb: DynamoDBDocumentClient;
  /** Name of the `task_states` table. */
  tableName: string;
}

/** Attribute names; every one goes through `ExpressionAttributeNames` (STATE, TTL… are reserved). */
const A = TASK_ATTRIBUTES;

const NAMES: Record<string, string> = Object.fromEntries(Object.values(A).map((n) => [`#${n}`, n]));

/** State placeholders of update expressions. */
const STATE_VALUES = {
  ':PENDING': 'PENDING',
  ':RECEIVED': 'RECEIVED',
  ':STARTED': 'STARTED',
  ':RETRY': 'RETRY',
  ':SUCCESS': 'SUCCESS',
  ':FAILURE': 'FAILURE',
} as const;

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' ? v : fallback;
}

/** Whether `condition` holds on a stored item (`undefined`: absent). */
function holds(condition: Condition, item: Item | undefined): boolean {
  return condition.test(taskView(item));
}

/**
 * `SET` actions giving a task created by this write its name and zeroed counters, and leaving
 * those of an existing one alone. `namePlaceholder` holds the name (`:zero` must hold 0).
 */
function initialFields(namePlaceholder: string): string[] {
  return [
    `#${A.name} = if_not_exists(#${A.name}, ${namePlaceholder})`,
    `#${A.createdAt} = if_not_exists(#${A.createdAt}, :now)`,
    `#${A.retries} = if_not_exists(#${A.retries}, :zero)`,
    `#${A.crashes} = if_not_exists(#${A.crashes}, :zero)`,
  ];
}

/** The `ETA`, `GroupUUID` and `GroupIndex` attributes of a new task's item (those it has). */
function recordFieldsItem(signature: Signature): Item {
  const f = signatureRecordFields(signature);
  return {
    ...(f.eta === undefined ? {} : { [A.eta]: f.eta }),
    ...(f.groupUUID === undefined ? {} : { [A.groupUUID]: f.groupUUID }),
    ...(f.groupIndex === undefined ? {} : { [A.groupIndex]: f.groupIndex }),
  };
}

/** Keeps only the placeholders an expression uses (DynamoDB rejects unused ones). */
function used<T>(expr: string, map: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(map)) {
    if (new RegExp(`${k}(?![A-Za-z0-9_])`).test(expr)) out[k] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A tiny unmarshaller for the ALL_OLD item of a ConditionalCheckFailedException (the document
// client does not unmarshall error payloads). Handles the types this table stores.
// ---------------------------------------------------------------------------------------------

type AttributeValue = Record<string, unknown>;

function fromAttributeValue(av: AttributeValue): unknown {
  if ('S' in av) return av.S;
  if ('N' in av) return Number(av.N);
  if ('BOOL' in av) return av.BOOL;
  if ('NULL' in av) return null;
  if ('L' in av) return (av.L as AttributeValue[]).map(fromAttributeValue);
  if ('M' in av) return unmarshallItem(av.M as Record<string, AttributeValue>);
  if ('SS' in av) return new Set(av.SS as string[]);
  if ('NS' in av) return new Set((av.NS as string[]).map(Number));
  if ('B' in av) return av.B;
  return undefined;
}

function unmarshallItem(item: Record<string, AttributeValue> | undefined): Item | undefined {
  if (item === undefined) return undefined;
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) out[k] = fromAttributeValue(v);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Results. DynamoDB numbers span 1e-130 to 9.99e125 in magnitude (38 digits): a float64 outside
// that range (1e300, 5e-324) is stored as its decimal string and read back as a number. Every
// other value is stored exactly as `encodeTypedValues` gives it.
// ---------------------------------------------------------------------------------------------

function isFloatType(type: unknown): boolean {
  return type === 'float32' || type === 'float64' || type === '[]float32' || type === '[]float64';
}

function fitsDynamoNumber(v: number): boolean {
  const a = Math.abs(v);
  return a === 0 || (a >= 1e-130 && a < 1e126);
}

function mapFloats(value: unknown, f: (v: unknown) => unknown): unknown {
  return Array.isArray(value) ? value.map(f) : f(value);
}

/** Typed results as stored in the item. */
export function toItemResults(results: readonly TypedValue[]): { Type: string; Value: unknown }[] {
  return encodeTypedValues(results).map((r) =>
    isFloatType(r.Type)
      ? {
          Type: r.Type,
          Value: mapFloats(r.Value, (v) =>
            typeof v === 'number' && !fitsDynamoNumber(v) ? String(v) : v,
          ),
        }
      : r,
  );
}

/** The inverse of {@link toItemResults}, before `decodeTypedValues`. */
export function fromItemResults(stored: unknown[]): unknown[] {
  return stored.map((r) => {
    const tv = r as { Type?: unknown; Value?: unknown };
    if (!isFloatType(tv?.Type)) return r;
    return {
      Type: tv.Type,
      Value: mapFloats(tv.Value, (v) => (typeof v === 'string' ? Number(v) : v)),
    };
  });
}

/** Converts a stored item to the port's `TaskRecord`. */
export function itemToRecord(item: Item): TaskRecord {
  const results = item[A.results];
  return {
    uuid: String(item[A.uuid]),
    name: typeof item[A.name] === 'string' ? (item[A.name] as string) : '',
    state: item[A.state] as TaskState,
    results: Array.isArray(results) ? decodeTypedValues(fromItemResults(results)) : null,
    error: typeof item[A.error] === 'string' ? (item[A.error] as string) : null,
    createdAt: num(item[A.createdAt]),
    updatedAt: num(item[A.updatedAt]),
    attempt: num(item[A.attempt]),
    retries: num(item[A.retries]),
    crashes: num(item[A.crashes]),
    leaseUntil: typeof item[A.lease] === 'number' ? (item[A.lease] as number) : null,
    deadLettered: item[A.deadLettered] === true,
    deadLetterReason:
      typeof item[A.deadLetterReason] === 'string'
        ? (item[A.deadLetterReason] as DeadLetterReason)
        : null,
    expiresAt: typeof item[A.ttl] === 'number' ? (item[A.ttl] as number) * 1000 : 0,
    body: typeof item[A.body] === 'string' ? (item[A.body] as string) : null,
    ...(typeof item[A.eta] === 'number' ? { eta: item[A.eta] as number } : {}),
    ...(typeof item[A.groupUUID] === 'string' ? { groupUUID: item[A.groupUUID] as string } : {}),
    ...(typeof item[A.groupIndex] === 'number' ? { groupIndex: item[A.groupIndex] as number } : {}),
  };
}

/** One conditional UpdateItem, described so it can be re-issued without its TTL clause. */
interface Transition {
  uuid: string;
  now: number;
  expiresAt: number;
  /** The transition's condition (without `ttlOnlyExtends`). */
  condition: Condition;
  /** `SET` actions, without the TTL. */
  set: string[];
  /** `REMOVE` actions. */
  remove?: string[];
  /** Placeholder values of the update (`:now` and the states are added). */
  values?: Record<string, unknown>;
  /** The item to put instead when the old one has expired (absent = the transition needs a live item). */
  fresh?: () => Item;
  /** Return the new item. */
  returnNew?: boolean;
}

type TransitionResult = { ok: true; item: Item | undefined } | { ok: false; old: Item | undefined };

/** The `now` and `expiresAt` of a write (epoch ms). */
type WriteTimes = Parameters<ResultBackend['markSuccess']>[3];

/** The `ResultBackend.markFailure` options. */
type MarkFailureOptions = Parameters<ResultBackend['markFailure']>[2];

/**
 * Task state in DynamoDB. Implements the core `ResultBackend` port exactly as its TSDoc says; see
 * the module documentation for the item layout, the write per transition and the TTL handling.
 *
 * @example
 * ```ts
 * const backend = new DynamoDbResultBackend({
 *   dynamodb: createDynamoDbDocumentClient(),
 *   tableName: process.env.MACHINERY_TASK_STATES_TABLE!,
 * });
 * const rec = await backend.get('task_…', { now: Date.now() });
 * ```
 */
export class DynamoDbResultBackend implements ResultBackend {
  readonly #ddb: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbResultBackendOptions) {
    this.#ddb = options.dynamodb;
    this.#table = options.tableName;
  }

  /** Name of the table. */
  get tableName(): string {
    return this.#table;
  }

  async putPending(
    signature: Signature,
    options: { now: number; expiresAt: number; body?: string },
  ): Promise<boolean> {
    const { now, expiresAt } = options;
    const item = this.#freshItem(signature, now, expiresAt, {
      ...recordFieldsItem(signature),
      [A.state]: 'PENDING',
      ...(options.body === undefined ? {} : { [A.body]: options.body }),
    });
    return this.#put(item, transitionConditions.putPending(now));
  }

  async claim(
    signature: Signature,
    options: { now: number; leaseUntil: number; expiresAt: number; maxCrashes: number },
  ): Promise<ClaimResult> {
    const { now, leaseUntil, expiresAt, maxCrashes } = options;
    // A task no producer recorded (a Go producer's) gets its ETA and group fields from the claim.
    const fields = recordFieldsItem(signature);
    for (let round = 0; round < 4; round++) {
      // The common path, one write → STARTED with attempt + 1 and the lease.
      const first = await this.#transition({
        uuid: signature.UUID,
        now,
        expiresAt,
        condition: transitionConditions.claim(now),
        set: [
          `#${A.state} = :STARTED`,
          `#${A.attempt} = if_not_exists(#${A.attempt}, :zero) + :one`,
          `#${A.lease} = :lease`,
          `#${A.updatedAt} = :now`,
          ...initialFields(':name'),
          ...Object.keys(fields).map((a) => `#${a} = if_not_exists(#${a}, :${a})`),
          `#${A.deadLettered} = :false`,
        ],
        values: {
          ':zero': 0,
          ':one': 1,
          ':lease': leaseUntil,
          ':name': signature.Name,
          ':false': false,
          ...Object.fromEntries(Object.entries(fields).map(([a, v]) => [`:${a}`, v])),
        },
        fresh: () =>
          this.#freshItem(signature, now, expiresAt, {
            ...fields,
            [A.state]: 'STARTED',
            [A.attempt]: 1,
            [A.lease]: leaseUntil,
          }),
        returnNew: true,
      });
      if (first.ok) return claimedFrom(first.item, false);
      const old = first.old;
      // Deleted, or expired and replaced concurrently: try again.
      if (old === undefined || !holds(taskIsLive(now), old)) continue;
      const oldAttempt = num(old[A.attempt]);

      /** A new attempt over the old item: `condition` pins the attempt read. */
      const reclaim = (
        condition: Condition,
        set: string[],
        values: Record<string, unknown>,
        remove: string[] = [],
      ) =>
        this.#update(signature.UUID, {
          condition,
          set: [
            `#${A.state} = :STARTED`,
            `#${A.attempt} = :newAttempt`,
            `#${A.lease} = :lease`,
            `#${A.updatedAt} = :now`,
            `#${A.ttl} = :ttl`,
            ...set,
          ],
          values: {
            ':newAttempt': oldAttempt + 1,
            ':lease': leaseUntil,
            ':now': now,
            ':ttl': Math.max(num(old[A.ttl]), ttlSeconds(expiresAt)),
            ...values,
          },
          remove,
          returnNew: true,
        });

      if (holds(deadLettered, old)) {
        // The redrive: an explicit fresh attempt, claimed once.
        const r = await reclaim(
          transitionConditions.redrive(oldAttempt),
          [`#${A.crashes} = :zero`, `#${A.deadLettered} = :false`],
          { ':zero': 0, ':false': false },
          [`#${A.deadLetterReason}`],
        );
        if (r.ok) return claimedFrom(r.item, true);
        continue;
      }
      if (holds(taskIsFinal, old)) return { kind: 'finished', record: itemToRecord(old) };
      if (holds(leaseIsLive(now), old)) return { kind: 'leased', leaseUntil: num(old[A.lease]) };
      if (holds(stateIs('STARTED'), old)) {
        // An expired lease: the attempt that held it crashed.
        const crashes = num(old[A.crashes]) + 1;
        if (crashes >= maxCrashes) {
          return { kind: 'crash-loop', record: { ...itemToRecord(old), crashes } };
        }
        const r = await reclaim(
          transitionConditions.reclaimCrashed(oldAttempt),
          [`#${A.crashes} = :crashes`],
          { ':crashes': crashes },
        );
        if (r.ok) return claimedFrom(r.item, false);
      }
      // Waiting and live, yet the write failed: the state moved between our write and now.
    }
    throw new TransientInfrastructureError(
      `DynamoDB (${this.#table}): the claim of ${signature.UUID} kept racing with other writers`,
    );
  }

  async markSuccess(
    uuid: string,
    attempt: number,
    results: TypedValue[],
    options: WriteTimes,
  ): Promise<boolean> {
    return this.#finish(uuid, attempt, options, {
      set: [`#${A.state} = :SUCCESS`, `#${A.results} = :results`],
      values: { ':results': toItemResults(results) },
    });
  }

  async extendLease(
    uuid: string,
    attempt: number,
    options: { now: number; leaseUntil: number },
  ): Promise<boolean> {
    // One UpdateItem; TTL untouched (the claim gave the item its lifetime).
    const r = await this.#update(uuid, {
      condition: transitionConditions.extendLease(attempt, options.now),
      set: [`#${A.lease} = :lease`, `#${A.updatedAt} = :now`],
      values: { ':lease': options.leaseUntil, ':now': options.now },
    });
    return r.ok;
  }

  async markRetry(
    uuid: string,
    attempt: number,
    error: string,
    options: WriteTimes,
  ): Promise<boolean> {
    return this.#finish(uuid, attempt, options, {
      set: [
        `#${A.state} = :RETRY`,
        `#${A.retries} = if_not_exists(#${A.retries}, :zero) + :one`,
        `#${A.error} = :error`,
      ],
      values: { ':error': error, ':zero': 0, ':one': 1 },
    });
  }

  async markFailure(
    signature: Pick<Signature, 'UUID' | 'Name'>,
    error: string,
    options: MarkFailureOptions,
  ): Promise<boolean> {
    const { now, expiresAt, attempt, deadLetterReason } = options;
    const deadLetter = deadLetterReason !== undefined;
    const set = [
      `#${A.state} = :FAILURE`,
      `#${A.error} = :error`,
      `#${A.deadLettered} = :dl`,
      ...(deadLetter ? [`#${A.deadLetterReason} = :reason`] : []),
    ];
    const remove = [`#${A.results}`, ...(deadLetter ? [] : [`#${A.deadLetterReason}`])];
    const values: Record<string, unknown> = {
      ':error': error,
      ':dl': deadLetter,
      ...(deadLetter ? { ':reason': deadLetterReason } : {}),
    };
    if (attempt !== undefined) {
      return this.#finish(signature.UUID, attempt, options, { set, remove, values });
    }
    // No claim: an absent (or expired) item is created.
    const r = await this.#transition({
      uuid: signature.UUID,
      now,
      expiresAt,
      condition: transitionConditions.failUnclaimed(now),
      set: [
        ...set,
        `#${A.updatedAt} = :now`,
        ...initialFields(':name'),
        `#${A.attempt} = if_not_exists(#${A.attempt}, :zero)`,
      ],
      remove: [`#${A.lease}`, ...remove],
      values: { ...values, ':name': signature.Name, ':zero': 0 },
      fresh: () =>
        this.#freshItem(signature, now, expiresAt, {
          [A.state]: 'FAILURE',
          [A.error]: error,
          [A.deadLettered]: deadLetter,
          ...(deadLetter ? { [A.deadLetterReason]: deadLetterReason } : {}),
        }),
    });
    return r.ok;
  }

  async revoke(uuid: string, options: WriteTimes): Promise<'revoked' | TaskState> {
    const { now, expiresAt } = options;
    for (let round = 0; round < 4; round++) {
      const r = await this.#revokeOnce(uuid, now, expiresAt);
      if (r.ok) return 'revoked';
      if (r.old !== undefined) return r.old[A.state] as TaskState;
      // The expired item was replaced (or deleted) under us: nothing was written, look again.
    }
    throw new TransientInfrastructureError(
      `DynamoDB (${this.#table}): the revoke of ${uuid} kept racing with other writers`,
    );
  }

  #revokeOnce(uuid: string, now: number, expiresAt: number): Promise<TransitionResult> {
    return this.#transition({
      uuid,
      now,
      expiresAt,
      condition: transitionConditions.revoke(now),
      set: [
        `#${A.state} = :FAILURE`,
        `#${A.error} = :revoked`,
        `#${A.updatedAt} = :now`,
        ...initialFields(':empty'),
        `#${A.attempt} = if_not_exists(#${A.attempt}, :zero)`,
        `#${A.deadLettered} = :false`,
      ],
      remove: [`#${A.lease}`],
      values: { ':revoked': 'revoked', ':empty': '', ':zero': 0, ':false': false },
      fresh: () =>
        this.#freshItem({ UUID: uuid, Name: '' }, now, expiresAt, {
          [A.state]: 'FAILURE',
          [A.error]: 'revoked',
        }),
    });
  }

  async settle(
    signature: Signature,
    outcome: Settlement,
    options: { now: number; expiresAt: number; attempt: number },
  ): Promise<boolean> {
    const { now, expiresAt, attempt } = options;
    const fields = recordFieldsItem(signature);
    const reason = outcome.state === 'FAILURE' ? outcome.deadLetterReason : undefined;
    const own: { set: string[]; remove: string[]; values: Record<string, unknown>; item: Item } =
      outcome.state === 'SUCCESS'
        ? {
            set: [`#${A.results} = :results`],
            remove: [`#${A.deadLetterReason}`],
            values: { ':results': toItemResults(outcome.results) },
            item: { [A.results]: toItemResults(outcome.results) },
          }
        : {
            set: [
              `#${A.error} = :error`,
              ...(outcome.state === 'RETRY'
                ? [`#${A.retries} = if_not_exists(#${A.retries}, :zero) + :one`]
                : []),
              ...(reason === undefined ? [] : [`#${A.deadLetterReason} = :reason`]),
            ],
            remove: [`#${A.results}`, ...(reason === undefined ? [`#${A.deadLetterReason}`] : [])],
            values: {
              ':error': outcome.error,
              ...(reason === undefined ? {} : { ':reason': reason }),
            },
            item: {
              [A.error]: outcome.error,
              ...(outcome.state === 'RETRY' ? { [A.retries]: 1 } : {}),
              ...(reason === undefined ? {} : { [A.deadLetterReason]: reason }),
            },
          };
    // One UpdateItem (a PutItem over an expired item) whatever the outcome.
    const r = await this.#transition({
      uuid: signature.UUID,
      now,
      expiresAt,
      condition: transitionConditions.settle(attempt, now),
      set: [
        `#${A.state} = :state`,
        `#${A.attempt} = :newAttempt`,
        `#${A.deadLettered} = :dl`,
        `#${A.updatedAt} = :now`,
        // RETRY sets Retries itself (one SET per attribute).
        ...initialFields(':name').filter(
          (f) => outcome.state !== 'RETRY' || !f.startsWith(`#${A.retries} `),
        ),
        ...Object.keys(fields).map((a) => `#${a} = if_not_exists(#${a}, :${a})`),
        ...own.set,
      ],
      remove: [`#${A.lease}`, ...own.remove],
      values: {
        ':state': outcome.state,
        ':newAttempt': attempt + 1,
        ':dl': reason !== undefined,
        ':name': signature.Name,
        ':zero': 0,
        ':one': 1,
        ...Object.fromEntries(Object.entries(fields).map(([a, v]) => [`:${a}`, v])),
        ...own.values,
      },
      fresh: () =>
        this.#freshItem(signature, now, expiresAt, {
          ...fields,
          [A.state]: outcome.state,
          [A.attempt]: attempt + 1,
          [A.deadLettered]: reason !== undefined,
          ...own.item,
        }),
    });
    return r.ok;
  }

  async get(uuid: string, options: { now: number }): Promise<TaskRecord | undefined> {
    try {
      const out = await this.#ddb.send(
        new GetCommand({ TableName: this.#table, Key: { [A.uuid]: uuid }, ConsistentRead: true }),
      );
      const item = out.Item as Item | undefined;
      return item !== undefined && holds(taskIsPresent(options.now), item)
        ? itemToRecord(item)
        : undefined;
    } catch (e) {
      throw this.#translate(e);
    }
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Ends the attempt `attempt` (STARTED → a later state, clearing the lease) when it still owns the
   * task; `false` when it lost its claim. `update` holds the transition's own actions.
   */
  async #finish(
    uuid: string,
    attempt: number,
    times: WriteTimes,
    update: { set: string[]; remove?: string[]; values: Record<string, unknown> },
  ): Promise<boolean> {
    const r = await this.#transition({
      uuid,
      now: times.now,
      expiresAt: times.expiresAt,
      condition: transitionConditions.finish(attempt, times.now),
      set: [...update.set, `#${A.updatedAt} = :now`],
      remove: [`#${A.lease}`, ...(update.remove ?? [])],
      values: update.values,
    });
    return r.ok;
  }

  #freshItem(
    signature: Pick<Signature, 'UUID' | 'Name'>,
    now: number,
    expiresAt: number,
    fields: Item,
  ): Item {
    return {
      [A.uuid]: signature.UUID,
      [A.name]: signature.Name,
      [A.createdAt]: now,
      [A.updatedAt]: now,
      [A.ttl]: ttlSeconds(expiresAt),
      [A.attempt]: 0,
      [A.retries]: 0,
      [A.crashes]: 0,
      [A.deadLettered]: false,
      ...fields,
    };
  }

  /**
   * One transition: the write with `TTL = :ttl` under `ttlOnlyExtends`; when only that clause
   * failed, the same write without touching TTL; when the old item has expired and the transition
   * may create one, a fresh item put over it (conditional on the expired TTL being unchanged).
   */
  async #transition(t: Transition): Promise<TransitionResult> {
    const base = {
      set: t.set,
      remove: t.remove ?? [],
      values: { ...t.values, ':now': t.now },
      returnNew: t.returnNew ?? false,
    };
    const first = await this.#update(t.uuid, {
      ...base,
      condition: and(t.condition, ttlOnlyExtends(t.expiresAt)),
      set: [...t.set, `#${A.ttl} = :ttl`],
      values: { ...base.values, ':ttl': ttlSeconds(t.expiresAt) },
    });
    if (first.ok) return first;
    const old = first.old;
    if (old !== undefined && !holds(taskIsLive(t.now), old)) {
      if (t.fresh === undefined) return first;
      const expired = taskView(old)?.expiresAt ?? 0;
      const put = await this.#put(t.fresh(), expiresAtIs(expired));
      return put ? { ok: true, item: t.fresh() } : { ok: false, old: undefined };
    }
    if (holds(t.condition, old)) {
      // Only ttlOnlyExtends failed: the stored TTL is later than ours. Keep it.
      return this.#update(t.uuid, { ...base, condition: t.condition });
    }
    return first;
  }

  /** A conditional PutItem; `false` when the condition failed. */
  async #put(item: Item, condition: Condition): Promise<boolean> {
    try {
      await this.#ddb.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
          ...conditionInput(condition),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw this.#translate(e);
    }
  }

  async #update(
    uuid: string,
    u: {
      condition: Condition;
      set: string[];
      remove?: string[];
      values: Record<string, unknown>;
      returnNew?: boolean;
    },
  ): Promise<TransitionResult> {
    const update = `SET ${u.set.join(', ')}${u.remove && u.remove.length > 0 ? ` REMOVE ${u.remove.join(', ')}` : ''}`;
    const expr = `${update} ${u.condition.expression}`;
    try {
      const out = await this.#ddb.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [A.uuid]: uuid },
          UpdateExpression: update,
          ConditionExpression: u.condition.expression,
          ExpressionAttributeNames: used(expr, NAMES),
          ExpressionAttributeValues: used(expr, {
            ...STATE_VALUES,
            ...u.values,
            ...u.condition.values,
          }),
          ReturnValues: u.returnNew ? 'ALL_NEW' : 'NONE',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, item: out.Attributes as Item | undefined };
    } catch (e) {
      if (isConditionFailure(e)) {
        return {
          ok: false,
          old: unmarshallItem(e.Item as Record<string, AttributeValue> | undefined),
        };
      }
      throw this.#translate(e);
    }
  }

  #translate(e: unknown): Error {
    return translateAwsError(e, { service: 'DynamoDB', resource: this.#table });
  }
}

/**
 * The condition parameters of a DynamoDB request (`PutItem`, a transaction's `ConditionCheck`…)
 * for a condition of `src/core/transitions.ts`; `ExpressionAttributeValues` is left out when the
 * expression uses none (DynamoDB refuses an empty map).
 *
 * @example
 * ```ts
 * await ddb.send(new PutCommand({ TableName, Item, ...conditionInput(transitionConditions.putPending(now)) }));
 * ```
 */
export function conditionInput(condition: Condition): {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  return {
    ConditionExpression: condition.expression,
    ExpressionAttributeNames: { ...condition.names },
    ...(Object.keys(condition.values).length > 0
      ? { ExpressionAttributeValues: { ...condition.values } }
      : {}),
  };
}

function isConditionFailure(e: unknown): e is ConditionalCheckFailedException {
  return isConditionalCheckFailure(e);
}

function claimedFrom(item: Item | undefined, redrive: boolean): ClaimResult {
  return {
    kind: 'claimed',
    attempt: num(item?.[A.attempt], 1),
    retries: num(item?.[A.retries]),
    crashes: num(item?.[A.crashes]),
    redrive,
  };
}

/**
 * DynamoDB write requests per item, counted by SDK middleware: which item each write request
 * writes (table and partition key), so tests and benchmarks can assert the most-written item of a
 * run (`docs/design.md §3`: no hot item).
 *
 * @module
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLES } from '../../../src/core/resources.js';

/** The partition key attributes of the tables (`TaskUUID`, `GroupUUID`). */
const KEY_ATTRIBUTES = Object.values(TABLES).map((t) => t.partitionKey);

/** What an item of the two tables is, read from its key (see `src/core/workflow.ts`). */
export type ItemKind = 'task' | 'root' | 'node' | 'page' | 'bucket' | 'counter' | 'other';

/**
 * The kind of the item `key` of table `table`: a task item of `task_states`, or one of the group
 * records of `group_metas` (root `<GroupUUID>`, tree node `#L<l>#<n>`, member page `#M#<p>`,
 * bucket `#B#<b>`, counter `#C`).
 *
 * @example
 * ```ts
 * itemKind('x-group_metas', 'group_1#L0#3'); // 'node'
 * ```
 */
export function itemKind(table: string, key: string): ItemKind {
  if (table.endsWith(TABLES.taskStates.baseName)) return 'task';
  if (!table.endsWith(TABLES.groupMetas.baseName)) return 'other';
  if (/#L\d+#\d+$/.test(key)) return 'node';
  if (/#M#\d+$/.test(key)) return 'page';
  if (/#B#\d+$/.test(key)) return 'bucket';
  if (key.endsWith('#C')) return 'counter';
  return 'root';
}

/** The most-written item of a run. */
export interface HotItem {
  table: string;
  key: string;
  kind: ItemKind;
  writes: number;
  /** Most writes this item took within one wall-clock second. */
  peakWritesPerSecond: number;
}

/**
 * DynamoDB write requests per item (successful or refused by their condition: both are billed
 * and both load the item's partition), fed by {@link countItemWrites}.
 *
 * @example
 * ```ts
 * const log = new ItemWriteLog();
 * countItemWrites(ddb, log);
 * log.hottest()?.writes;
 * ```
 */
export class ItemWriteLog {
  /** Writes by `<table>\u0000<key>`. */
  readonly writes = new Map<string, number>();
  /** Writes by item and wall-clock second. */
  readonly #perSecond = new Map<string, Map<number, number>>();

  add(table: string, key: string, atMs: number): void {
    const id = `${table}\u0000${key}`;
    this.writes.set(id, (this.writes.get(id) ?? 0) + 1);
    let seconds = this.#perSecond.get(id);
    if (seconds === undefined) {
      seconds = new Map();
      this.#perSecond.set(id, seconds);
    }
    const s = Math.floor(atMs / 1000);
    seconds.set(s, (seconds.get(s) ?? 0) + 1);
  }

  reset(): void {
    this.writes.clear();
    this.#perSecond.clear();
  }

  /** Write requests to item `key` of table `table`. */
  of(table: string, key: string): number {
    return this.writes.get(`${table}\u0000${key}`) ?? 0;
  }

  /** Write requests counted, over every item. */
  get total(): number {
    let n = 0;
    for (const v of this.writes.values()) n += v;
    return n;
  }

  /** Write requests to items of `kind`. */
  totalOf(kind: ItemKind): number {
    let n = 0;
    for (const [id, v] of this.writes) {
      const [table = '', key = ''] = id.split('\u0000');
      if (itemKind(table, key) === kind) n += v;
    }
    return n;
  }

  /** The most-written item (of the kinds `kinds`, default every kind); `undefined` when none. */
  hottest(kinds?: readonly ItemKind[]): HotItem | undefined {
    let best: HotItem | undefined;
    for (const [id, writes] of this.writes) {
      const [table = '', key = ''] = id.split('\u0000');
      const kind = itemKind(table, key);
      if (kinds !== undefined && !kinds.includes(kind)) continue;
      if (best !== undefined && writes <= best.writes) continue;
      const peak = Math.max(...(this.#perSecond.get(id)?.values() ?? [0]));
      best = { table, key, kind, writes, peakWritesPerSecond: peak };
    }
    return best;
  }
}

type AttributeMap = Record<string, { S?: string } | undefined>;

/** `<key>` of a marshalled key or item: the value of its table's partition key attribute. */
function keyOf(keyOrItem: AttributeMap | undefined): string | undefined {
  if (keyOrItem === undefined) return undefined;
  for (const a of KEY_ATTRIBUTES) {
    const v = keyOrItem[a]?.S;
    if (v !== undefined) return v;
  }
  return undefined;
}

interface WriteInput {
  TableName?: string;
  Key?: AttributeMap;
  Item?: AttributeMap;
  TransactItems?: {
    Put?: WriteInput;
    Update?: WriteInput;
    Delete?: WriteInput;
  }[];
  RequestItems?: Record<
    string,
    { PutRequest?: { Item?: AttributeMap }; DeleteRequest?: { Key?: AttributeMap } }[]
  >;
}

/** The items (`[table, key]`) a DynamoDB write request writes; none for reads. */
function writtenItems(op: string, input: WriteInput): [string, string][] {
  const one = (w: WriteInput | undefined): [string, string][] => {
    const key = keyOf(w?.Key ?? w?.Item);
    return w?.TableName !== undefined && key !== undefined ? [[w.TableName, key]] : [];
  };
  switch (op) {
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return one(input);
    case 'TransactWriteItems':
      return (input.TransactItems ?? []).flatMap((t) => one(t.Put ?? t.Update ?? t.Delete));
    case 'BatchWriteItem':
      return Object.entries(input.RequestItems ?? {}).flatMap(([table, list]) =>
        list.flatMap((r) => {
          const key = keyOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key);
          return key === undefined ? [] : [[table, key] as [string, string]];
        }),
      );
    default:
      return [];
  }
}

/**
 * Counts a DynamoDB client's write requests per item into `log`: SDK middleware at the
 * `finalizeRequest` step with low priority (below the retry layer, where the document client's
 * input is already marshalled), so each HTTP request counts, retries and refused conditional
 * writes included. A transaction counts one write per `Put` / `Update` / `Delete` action (a
 * `ConditionCheck` writes nothing).
 *
 * @example
 * ```ts
 * const log = new ItemWriteLog();
 * countItemWrites(workerDdb, log);
 * ```
 */
export function countItemWrites(client: DynamoDBClient, log: ItemWriteLog): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = (context.commandName ?? '').replace(/Command$/, '');
      for (const [table, key] of writtenItems(op, args.input as WriteInput)) {
        log.add(table, key, Date.now());
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: `benchItemWrites-${Math.random()}` },
  );
}

/**
 * `GroupBackend` in memory, for unit tests and examples: the same items and conditions as the
 * DynamoDB implementation (`src/aws/group-backend.ts`), checked by the one conformance suite in
 * `test/conformance/group-backend.ts`. Counts writes per item key, so tests can assert the write
 * budget and the hottest item.
 *
 * @module
 */
import type { GroupBackend, GroupInit, GroupRecord, TreeNode } from './ports.js';
import {
  bucketCount,
  bucketKey,
  bucketOf,
  counterKey,
  GROUP_LIMITS,
  nodeKey,
  pageKey,
  rootKey,
} from './workflow.js';

/** A stored item: the fields the DynamoDB items have, under the same names. */
type Item = Record<string, unknown> & { TTL?: number };

/**
 * `GroupBackend` in memory (see the module documentation). `items` is the raw store, keyed like
 * the `group_metas` table, so tests can seed machinery's own item (`TaskUUIDs`, `ChordTriggered`).
 *
 * @example
 * ```ts
 * const groups = new MemoryGroupBackend();
 * await groups.initGroup(init, { now: 0, expiresAt: 86_400_000 });
 * groups.writes; // 2 (root and one page)
 * ```
 */
export class MemoryGroupBackend implements GroupBackend {
  /** The stored items by key. */
  readonly items = new Map<string, Item>();
  /** Successful writes per item key. */
  readonly writesByKey = new Map<string, number>();
  /** Successful writes. */
  writes = 0;
  /** Reads of items. */
  reads = 0;

  #write(key: string, item: Item): void {
    this.items.set(key, item);
    this.writes++;
    this.writesByKey.set(key, (this.writesByKey.get(key) ?? 0) + 1);
  }

  #live(key: string, now: number | undefined): Item | undefined {
    this.reads++;
    const item = this.items.get(key);
    if (item === undefined) return undefined;
    if (now !== undefined && typeof item.TTL === 'number' && item.TTL * 1000 <= now) {
      return undefined;
    }
    return item;
  }

  async initGroup(init: GroupInit, options: { now: number; expiresAt: number }): Promise<boolean> {
    const key = rootKey(init.groupUUID);
    const old = this.items.get(key) ?? {};
    const fresh = old.WfKind === undefined;
    this.#write(key, {
      ...old,
      GroupUUID: key,
      WfKind: old.WfKind ?? init.kind,
      WfTotal: old.WfTotal ?? init.members.length,
      WfCallback: old.WfCallback ?? init.callbackUUID ?? undefined,
      WfDeadline: old.WfDeadline ?? init.deadline,
      CreatedAt: old.CreatedAt ?? options.now,
      TTL: old.TTL ?? Math.ceil(options.expiresAt / 1000),
    });
    for (let page = 0; page * GROUP_LIMITS.pageSize < init.members.length; page++) {
      const start = page * GROUP_LIMITS.pageSize;
      this.#write(pageKey(init.groupUUID, page), {
        GroupUUID: pageKey(init.groupUUID, page),
        Members: init.members.slice(start, start + GROUP_LIMITS.pageSize),
        TTL: Math.ceil(options.expiresAt / 1000),
      });
    }
    return fresh;
  }

  async getGroup(groupUUID: string, options: { now: number }): Promise<GroupRecord | undefined> {
    const item = this.#live(rootKey(groupUUID), options.now);
    return item === undefined ? undefined : toGroupRecord(groupUUID, item);
  }

  async memberUUIDs(groupUUID: string, total: number, options: { now: number }): Promise<string[]> {
    const out: string[] = [];
    for (let page = 0; page * GROUP_LIMITS.pageSize < total; page++) {
      const item = this.#live(pageKey(groupUUID, page), options.now);
      out.push(...((item?.Members as string[] | undefined) ?? []));
    }
    return out.slice(0, total);
  }

  async markNode(
    node: TreeNode,
    slot: number,
    options: { expiresAt: number },
  ): Promise<{ count: number; marked: boolean }> {
    const key = nodeKey(node.groupUUID, node.level, node.node);
    const old = this.items.get(key);
    const done = (old?.done as Set<number> | undefined) ?? new Set<number>();
    if (done.has(slot)) return { count: (old?.n as number | undefined) ?? 0, marked: false };
    const count = ((old?.n as number | undefined) ?? 0) + 1;
    this.#write(key, {
      GroupUUID: key,
      done: new Set([...done, slot]),
      n: count,
      TTL: Math.ceil(options.expiresAt / 1000),
    });
    return { count, marked: true };
  }

  async readLevel(
    groupUUID: string,
    level: number,
    nodes: number,
    options: { now: number },
  ): Promise<Map<number, Set<number>>> {
    const out = new Map<number, Set<number>>();
    for (let node = 0; node < nodes; node++) {
      const item = this.#live(nodeKey(groupUUID, level, node), options.now);
      const done = item?.done as Set<number> | undefined;
      if (done !== undefined) out.set(node, new Set(done));
    }
    return out;
  }

  async countMember(
    groupUUID: string,
    memberUUID: string,
    total: number,
    options: { expiresAt: number },
  ): Promise<{ count: number; counted: boolean }> {
    const bKey = bucketKey(groupUUID, bucketOf(memberUUID, total));
    const cKey = counterKey(groupUUID);
    const bucket = this.items.get(bKey);
    const members = (bucket?.members as Set<string> | undefined) ?? new Set<string>();
    const n = (this.items.get(cKey)?.n as number | undefined) ?? 0;
    if (members.has(memberUUID)) return { count: n, counted: false };
    const ttl = Math.ceil(options.expiresAt / 1000);
    this.#write(bKey, { GroupUUID: bKey, members: new Set([...members, memberUUID]), TTL: ttl });
    this.#write(cKey, { GroupUUID: cKey, n: n + 1, total, TTL: ttl });
    return { count: n + 1, counted: true };
  }

  async countedMembers(
    groupUUID: string,
    options: { now: number },
  ): Promise<{ count: number; total: number; members: string[] } | undefined> {
    const counter = this.#live(counterKey(groupUUID), options.now);
    if (counter === undefined) return undefined;
    const total = counter.total as number;
    const members: string[] = [];
    for (let b = 0; b < bucketCount(total); b++) {
      const item = this.#live(bucketKey(groupUUID, b), options.now);
      members.push(...((item?.members as Set<string> | undefined) ?? []));
    }
    return { count: counter.n as number, total, members };
  }

  async trigger(
    groupUUID: string,
    options: { now: number; expiresAt: number },
  ): Promise<'triggered' | 'already-triggered' | 'failed'> {
    const key = rootKey(groupUUID);
    const old = this.items.get(key);
    if (old?.ChordTriggered === true) return 'already-triggered';
    if (old?.WfFailedAt !== undefined) return 'failed';
    this.#write(key, {
      GroupUUID: key,
      CreatedAt: options.now,
      TTL: Math.ceil(options.expiresAt / 1000),
      ...old,
      ChordTriggered: true,
      WfTriggeredAt: options.now,
    });
    return 'triggered';
  }

  async fail(
    groupUUID: string,
    failure: { member: string | null; error: string },
    options: { now: number; expiresAt: number },
  ): Promise<'failed' | 'already-failed' | 'triggered'> {
    const key = rootKey(groupUUID);
    const old = this.items.get(key);
    if (old?.ChordTriggered === true) return 'triggered';
    if (old?.WfFailedAt !== undefined) return 'already-failed';
    this.#write(key, {
      GroupUUID: key,
      CreatedAt: options.now,
      TTL: Math.ceil(options.expiresAt / 1000),
      ...old,
      WfFailedAt: options.now,
      WfError: failure.error,
      ...(failure.member === null ? {} : { WfFailedMember: failure.member }),
    });
    return 'failed';
  }
}

/**
 * A root item (memory or DynamoDB, unmarshalled) as a {@link GroupRecord}.
 *
 * @example
 * ```ts
 * toGroupRecord('group_1', { GroupUUID: 'group_1', TaskUUIDs: ['task_a'], ChordTriggered: false });
 * ```
 */
export function toGroupRecord(groupUUID: string, item: Record<string, unknown>): GroupRecord {
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const kind = item.WfKind === 'group' || item.WfKind === 'chord' ? item.WfKind : null;
  const failedAt = num(item.WfFailedAt);
  const taskUUIDs = Array.isArray(item.TaskUUIDs)
    ? item.TaskUUIDs.filter((u): u is string => typeof u === 'string')
    : null;
  const createdAt = item.CreatedAt;
  return {
    groupUUID,
    kind,
    total: num(item.WfTotal),
    callbackUUID: str(item.WfCallback),
    deadline: num(item.WfDeadline),
    taskUUIDs,
    triggered: item.ChordTriggered === true,
    failure:
      failedAt === null
        ? null
        : { member: str(item.WfFailedMember), error: str(item.WfError) ?? 'failed' },
    createdAt:
      typeof createdAt === 'number'
        ? createdAt
        : typeof createdAt === 'string'
          ? Date.parse(createdAt) || 0
          : 0,
    expiresAt: (num(item.TTL) ?? 0) * 1000,
  };
}

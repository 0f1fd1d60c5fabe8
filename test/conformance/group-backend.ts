/**
 * The `GroupBackend` conformance suite: every rule of the port's TSDoc (`src/core/ports.ts`), as
 * a describe-block factory run against each implementation:
 *
 * ```ts
 * groupBackendConformance('memory', async () => { const b = new MemoryGroupBackend(); return { backend: b, seedMachinery: … , readRoot: … }; });
 * ```
 *
 * Every test uses a fresh group UUID, so one shared backend works.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GroupBackend, GroupInit } from '../../src/core/ports.js';
import { GROUP_LIMITS } from '../../src/core/workflow.js';

/**
 * What the suite needs of an implementation: the backend, and raw access to the root item to
 * seed and read machinery's own fields.
 */
export interface GroupBackendHarness {
  backend: GroupBackend;
  /** Writes a root item as Go machinery's DynamoDB backend does (raw attributes). */
  seedMachinery(groupUUID: string, item: Record<string, unknown>): Promise<void>;
  /** The raw root item. */
  readRoot(groupUUID: string): Promise<Record<string, unknown> | undefined>;
}

const DAY = 86_400_000;

/**
 * Registers the conformance tests of `GroupBackend` for one implementation.
 *
 * @example
 * ```ts
 * groupBackendConformance('memory', async () => memoryHarness());
 * ```
 */
export function groupBackendConformance(
  name: string,
  makeHarness: () => Promise<GroupBackendHarness>,
): void {
  describe(`GroupBackend conformance: ${name}`, () => {
    let h: GroupBackendHarness;

    beforeAll(async () => {
      h = await makeHarness();
    });

    const fresh = () => {
      const now = Math.floor(Date.now() / 1000) * 1000;
      return { groupUUID: `group_${randomUUID()}`, now, expiresAt: now + 18 * DAY };
    };
    const members = (n: number) => Array.from({ length: n }, (_, i) => `task_${i}_${randomUUID()}`);
    const initOf = (groupUUID: string, list: string[], now: number): GroupInit => ({
      groupUUID,
      kind: 'chord',
      members: list,
      callbackUUID: `chord_${randomUUID()}`,
      deadline: now + 14 * DAY,
    });

    describe('initGroup', () => {
      it('records the root and returns the members in order across pages', async () => {
        // Prepare
        const { groupUUID, now, expiresAt } = fresh();
        const list = members(GROUP_LIMITS.pageSize * 2 + 7);
        const init = initOf(groupUUID, list, now);

        // Act
        const first = await h.backend.initGroup(init, { now, expiresAt });
        const again = await h.backend.initGroup(init, { now: now + 1000, expiresAt });
        const rec = await h.backend.getGroup(groupUUID, { now });
        const order = await h.backend.memberUUIDs(groupUUID, list.length, { now });

        // Assess
        expect([first, again]).toEqual([true, false]);
        expect(rec).toMatchObject({
          groupUUID,
          kind: 'chord',
          total: list.length,
          callbackUUID: init.callbackUUID,
          deadline: init.deadline,
          taskUUIDs: null,
          triggered: false,
          failure: null,
          createdAt: now,
        });
        expect(order).toEqual(list);
      });

      it("keeps machinery's TaskUUIDs, ChordTriggered, Lock, CreatedAt and TTL on the same key", async () => {
        // Prepare
        const { groupUUID, now, expiresAt } = fresh();
        const machinery = {
          TaskUUIDs: ['task_a', 'task_b'],
          ChordTriggered: false,
          Lock: false,
          CreatedAt: '2026-11-28T10:00:00Z',
          TTL: Math.ceil(now / 1000) + 3600,
        };
        await h.seedMachinery(groupUUID, machinery);

        // Act
        await h.backend.initGroup(initOf(groupUUID, ['task_a', 'task_b'], now), {
          now,
          expiresAt,
        });
        const raw = await h.readRoot(groupUUID);
        const rec = await h.backend.getGroup(groupUUID, { now });

        // Assess
        expect(raw).toMatchObject(machinery);
        expect(rec).toMatchObject({ kind: 'chord', total: 2, taskUUIDs: ['task_a', 'task_b'] });
      });

      it('reads an absent or expired root as undefined', async () => {
        // Prepare
        const { groupUUID, now } = fresh();
        const other = fresh();
        await h.backend.initGroup(initOf(other.groupUUID, members(1), now), {
          now,
          expiresAt: now + 60_000,
        });

        // Act
        const absent = await h.backend.getGroup(groupUUID, { now });
        const expired = await h.backend.getGroup(other.groupUUID, { now: now + 120_000 });

        // Assess
        expect(absent).toBeUndefined();
        expect(expired).toBeUndefined();
      });
    });

    describe('markNode', () => {
      it('marks each slot once and counts the marked slots', async () => {
        // Prepare
        const { groupUUID, expiresAt, now } = fresh();
        const node = { groupUUID, level: 0, node: 3 };

        // Act
        const a = await h.backend.markNode(node, 5, { expiresAt });
        const again = await h.backend.markNode(node, 5, { expiresAt });
        const b = await h.backend.markNode(node, 99, { expiresAt });
        const other = await h.backend.markNode({ ...node, level: 1 }, 5, { expiresAt });
        const level0 = await h.backend.readLevel(groupUUID, 0, 5, { now });

        // Assess
        expect(a).toEqual({ count: 1, marked: true });
        expect(again).toEqual({ count: 1, marked: false });
        expect(b).toEqual({ count: 2, marked: true });
        expect(other).toEqual({ count: 1, marked: true });
        expect([...level0.keys()]).toEqual([3]);
        expect([...(level0.get(3) ?? [])].sort((x, y) => x - y)).toEqual([5, 99]);
      });

      it('counts concurrent marks of distinct slots exactly', async () => {
        // Prepare
        const { groupUUID, expiresAt } = fresh();
        const node = { groupUUID, level: 0, node: 0 };

        // Act
        const outs = await Promise.all(
          Array.from({ length: 20 }, (_, i) => h.backend.markNode(node, i % 10, { expiresAt })),
        );

        // Assess
        expect(outs.filter((o) => o.marked)).toHaveLength(10);
        expect(Math.max(...outs.map((o) => o.count))).toBe(10);
        expect(outs.filter((o) => o.marked && o.count === 10)).toHaveLength(1);
      });
    });

    describe('countMember', () => {
      it('counts each member once and lists the counted members', async () => {
        // Prepare
        const { groupUUID, now, expiresAt } = fresh();
        const list = members(40);

        // Act
        const firsts = await Promise.all(
          list.map((m) => h.backend.countMember(groupUUID, m, 40, { expiresAt })),
        );
        const again = await h.backend.countMember(groupUUID, list[0] as string, 40, {
          expiresAt,
        });
        const counted = await h.backend.countedMembers(groupUUID, { now });

        // Assess
        expect(firsts.every((o) => o.counted)).toBe(true);
        expect(again).toEqual({ count: 40, counted: false });
        expect(counted?.count).toBe(40);
        expect(counted?.total).toBe(40);
        expect([...(counted?.members ?? [])].sort()).toEqual([...list].sort());
      });

      it('reads nothing counted as undefined', async () => {
        // Prepare
        const { groupUUID, now } = fresh();

        // Act
        const counted = await h.backend.countedMembers(groupUUID, { now });

        // Assess
        expect(counted).toBeUndefined();
      });
    });

    describe('trigger and fail', () => {
      it('triggers once, and a failure after it reports triggered', async () => {
        // Prepare
        const { groupUUID, now, expiresAt } = fresh();

        // Act
        const first = await h.backend.trigger(groupUUID, { now, expiresAt });
        const again = await h.backend.trigger(groupUUID, { now, expiresAt });
        const failed = await h.backend.fail(
          groupUUID,
          { member: 'task_x', error: 'boom' },
          { now, expiresAt },
        );
        const rec = await h.backend.getGroup(groupUUID, { now });

        // Assess
        expect([first, again, failed]).toEqual(['triggered', 'already-triggered', 'triggered']);
        expect(rec).toMatchObject({ triggered: true, failure: null });
      });

      it('keeps the first failure, and a trigger after it reports failed', async () => {
        // Prepare
        const { groupUUID, now, expiresAt } = fresh();

        // Act
        const first = await h.backend.fail(
          groupUUID,
          { member: 'task_1', error: 'one' },
          { now, expiresAt },
        );
        const second = await h.backend.fail(
          groupUUID,
          { member: 'task_2', error: 'two' },
          { now, expiresAt },
        );
        const trigger = await h.backend.trigger(groupUUID, { now, expiresAt });
        const rec = await h.backend.getGroup(groupUUID, { now });

        // Assess
        expect([first, second, trigger]).toEqual(['failed', 'already-failed', 'failed']);
        expect(rec).toMatchObject({
          triggered: false,
          failure: { member: 'task_1', error: 'one' },
        });
      });

      it('records an expiry without a member', async () => {
        // Prepare
        const { groupUUID, now, expiresAt } = fresh();

        // Act
        await h.backend.fail(groupUUID, { member: null, error: 'expired' }, { now, expiresAt });
        const rec = await h.backend.getGroup(groupUUID, { now });

        // Assess
        expect(rec?.failure).toEqual({ member: null, error: 'expired' });
      });

      it("triggers machinery's item with ChordTriggered false and keeps its other fields", async () => {
        // Prepare
        const { groupUUID, now, expiresAt } = fresh();
        const machinery = {
          TaskUUIDs: ['task_a'],
          ChordTriggered: false,
          Lock: true,
          CreatedAt: '2026-11-28T10:00:00Z',
          TTL: Math.ceil(now / 1000) + 3600,
        };
        await h.seedMachinery(groupUUID, machinery);

        // Act
        const outcome = await h.backend.trigger(groupUUID, { now, expiresAt });
        const raw = await h.readRoot(groupUUID);

        // Assess
        expect(outcome).toBe('triggered');
        expect(raw).toMatchObject({ ...machinery, ChordTriggered: true });
      });
    });
  });
}

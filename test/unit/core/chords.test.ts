/**
 * The chord protocol in memory: the processor with the `ChordExtension`, `MemoryGroupBackend`
 * and `MemoryResultBackend`, messages delivered by a small loop that redelivers whatever is not
 * acknowledged. Faults are injected between the protocol's steps with a `GroupBackend` wrapper.
 */
import { describe, expect, it } from 'vitest';
import { ChordExtension, type ChordOptions, readGroup } from '../../../src/core/chords.js';
import { AdjustableClock } from '../../../src/core/clock.js';
import { dispatch } from '../../../src/core/dispatch.js';
import { WorkflowError } from '../../../src/core/errors.js';
import { MemoryBroker, MemoryResultBackend, MemoryScheduler } from '../../../src/core/memory.js';
import { MemoryGroupBackend } from '../../../src/core/memory-groups.js';
import type { Delivery, ProcessOutcome } from '../../../src/core/ports.js';
import { createProcessor } from '../../../src/core/processor.js';
import { createRegistry } from '../../../src/core/registry.js';
import { newSignature } from '../../../src/core/signature.js';
import type { Signature } from '../../../src/core/types.js';
import {
  CHORD_RESULTS_HEADER,
  type Chord,
  chordDeadlineSignature,
  GROUP_INDEX_HEADER,
  groupInit,
  newChain,
  newChord,
  newGroup,
} from '../../../src/core/workflow.js';
import { groupBackendConformance } from '../../conformance/group-backend.js';
import { chordTasks } from '../../integration/support/chord-tasks.js';
import { type ChordStep, FaultyGroups } from '../../support/faulty-groups.js';

groupBackendConformance('memory', async () => {
  const backend = new MemoryGroupBackend();
  return {
    backend,
    seedMachinery: async (groupUUID, item) => {
      backend.items.set(groupUUID, { GroupUUID: groupUUID, ...item });
    },
    readRoot: async (groupUUID) => backend.items.get(groupUUID),
  };
});

const noop = { debug() {}, info() {}, warn() {}, error() {} };
const DAY = 86_400_000;

function world(options: ChordOptions & { step?: ChordStep } = {}) {
  const clock = new AdjustableClock();
  const results = new MemoryResultBackend();
  const broker = new MemoryBroker();
  const scheduler = new MemoryScheduler();
  const memory = new MemoryGroupBackend();
  const groups = new FaultyGroups(memory, options.step);
  const runs: Record<string, unknown[][]> = {};
  const seen = (name: string, args: unknown[]) => {
    runs[name] = [...(runs[name] ?? []), args];
  };
  const registry = createRegistry(chordTasks(seen));
  const deps = { backend: results, broker, scheduler, clock };
  const send = async (sigs: readonly Signature[]) => {
    await groups.beforeSend(sigs);
    return dispatch(sigs, deps);
  };
  const ext = new ChordExtension(
    { groups, results, dispatch: send, clock, logger: noop },
    { branching: 2, ...options },
  );
  const processor = createProcessor({
    registry,
    backend: results,
    broker,
    scheduler,
    clock,
    logger: noop,
    workflow: ext,
    dispatch: send,
    writeRetryDelaysMs: [],
  });
  let next = 0;
  const outcomes: ProcessOutcome[] = [];
  const delivery = (n: number): Delivery => ({
    messageId: `m${n}`,
    receiveCount: 1,
    firstReceivedAt: clock.now(),
    remainingTimeMs: () => 60_000,
    signal: new AbortController().signal,
  });
  /** Delivers every published message (and redeliveries) until none is left unacknowledged. */
  async function drain(limit = 10_000): Promise<void> {
    const queue: Signature[] = [];
    for (let rounds = 0; rounds < limit; rounds++) {
      while (next < broker.published.length) {
        queue.push((broker.published[next++] as { signature: Signature }).signature);
      }
      const sig = queue.shift();
      if (sig === undefined) return;
      const outcome = await processor.process(sig, delivery(rounds));
      outcomes.push(outcome);
      if (outcome.kind === 'transient' || outcome.kind === 'retry') queue.push(sig);
    }
    throw new Error('drain: too many deliveries');
  }
  async function sendChord(chord: Chord): Promise<void> {
    const now = clock.now();
    await memory.initGroup(groupInit(chord, now + 14 * DAY), { now, expiresAt: now + 18 * DAY });
    await dispatch(chord.group.tasks, deps);
  }
  const progress = (groupUUID: string) =>
    readGroup(groupUUID, { groups: memory, results, now: clock.now(), branching: 2 });
  return {
    clock,
    results,
    broker,
    memory,
    groups,
    runs,
    outcomes,
    drain,
    sendChord,
    progress,
    deps,
    processor,
    delivery,
  };
}

const int = (v: number) => ({ Type: 'int64' as const, Value: v });
const add = (a: number, b: number) => newSignature('add', [int(a), int(b)]);

describe('Function: newGroup', () => {
  it('gives every member the group UUID, the count and its index header', () => {
    // Prepare
    const sigs = [add(1, 1), add(2, 2), add(5, 6)];

    // Act
    const group = newGroup(...sigs);

    // Assess
    expect(group.groupUUID).toMatch(/^group_/);
    expect(
      group.tasks.map((t) => [t.GroupUUID, t.GroupTaskCount, t.Headers[GROUP_INDEX_HEADER]]),
    ).toEqual([
      [group.groupUUID, 3, 0],
      [group.groupUUID, 3, 1],
      [group.groupUUID, 3, 2],
    ]);
    expect(group.tasks.map((t) => t.BrokerMessageGroupId)).toEqual(['', '', '']);
  });

  it('spreads members over K message groups with concurrency, keeping a user-set one', () => {
    // Prepare
    const own = newSignature('add', [int(1)], { BrokerMessageGroupId: 'mine' });

    // Act
    const group = newGroup(add(1, 1), add(2, 2), own, add(3, 3), { concurrency: 2 });

    // Assess
    const g = group.groupUUID;
    expect(group.tasks.map((t) => t.BrokerMessageGroupId)).toEqual([
      `${g}#0`,
      `${g}#1`,
      'mine',
      `${g}#1`,
    ]);
  });

  it('refuses a concurrency that is not a positive integer', () => {
    // Act / Assess
    expect(() => newGroup(add(1, 1), { concurrency: 0 })).toThrow(RangeError);
  });
});

describe('Function: newChain', () => {
  it("runs machinery's chains: add(2,2) → add(5,6) → multiply(4) = 60 and add(1,1), add(2,2), add(5,6), multiply(4) = 68", async () => {
    // Prepare
    const w = world();
    const a = newChain(add(2, 2), add(5, 6), newSignature('multiply', [int(4)]));
    const b = newChain(add(1, 1), add(2, 2), add(5, 6), newSignature('multiply', [int(4)]));

    // Act
    await dispatch([a.tasks[0] as Signature, b.tasks[0] as Signature], w.deps);
    await w.drain();

    // Assess
    const now = w.clock.now();
    expect((await w.results.get(a.lastUUID, { now }))?.results).toEqual([int(60)]);
    expect((await w.results.get(b.lastUUID, { now }))?.results).toEqual([int(68)]);
  });

  it('keeps the results out of the next step when the producing step is Immutable', () => {
    // Act
    const chain = newChain(newSignature('add', [], { Immutable: true }), add(1, 1));

    // Assess
    expect(chain.tasks[0]?.OnSuccess?.[0]?.UUID).toBe(chain.lastUUID);
    expect(chain.tasks[0]?.Immutable).toBe(true);
  });
});

describe('Function: newChord', () => {
  it('fixes the callback UUID and gives it to every member', () => {
    // Act
    const chord = newChord(newGroup(add(1, 1), add(2, 2)), {
      ...newSignature('multiply'),
      UUID: '',
    });

    // Assess
    expect(chord.callback.UUID).toMatch(/^chord_/);
    expect(chord.group.tasks.map((t) => t.ChordCallback?.UUID)).toEqual([
      chord.callback.UUID,
      chord.callback.UUID,
    ]);
  });
});

describe('Function: groupInit', () => {
  it('records a group without callback and a chord with its callback, members in order', () => {
    // Prepare
    const group = newGroup(add(1, 1), add(2, 2));
    const chord = newChord(group, newSignature('multiply'));

    // Act
    const g = groupInit(group, 5);
    const c = groupInit(chord, 6);

    // Assess
    expect(g).toEqual({
      groupUUID: group.groupUUID,
      kind: 'group',
      members: group.tasks.map((t) => t.UUID),
      callbackUUID: null,
      deadline: 5,
    });
    expect(c).toMatchObject({ kind: 'chord', callbackUUID: chord.callback.UUID, deadline: 6 });
  });
});

describe('Class: ChordExtension', () => {
  it("runs machinery's chord (group add(1,1), add(2,2), add(5,6) into multiply) once → 88", async () => {
    // Prepare
    const w = world();
    const chord = newChord(newGroup(add(1, 1), add(2, 2), add(5, 6)), newSignature('multiply'));

    // Act
    await w.sendChord(chord);
    await w.drain();

    // Assess
    expect(w.runs.multiply).toEqual([[2, 4, 11]]);
    const cb = await w.results.get(chord.callback.UUID, { now: w.clock.now() });
    expect(cb?.results).toEqual([int(88)]);
    expect(await w.progress(chord.group.groupUUID)).toMatchObject({
      kind: 'chord',
      total: 3,
      succeeded: 3,
      failed: [],
      waitingOn: [],
      state: 'SUCCESS',
      callback: { uuid: chord.callback.UUID, state: 'SUCCESS' },
    });
  });

  for (const step of ['leaf', 'level1', 'level2', 'trigger', 'send'] as const) {
    it(`runs the callback exactly once when a crash follows the ${step} step`, async () => {
      // Prepare: B = 2 and 5 members give three levels (3, 2, 1 nodes).
      const w = world({ step });
      const members = [1, 2, 3, 4, 5].map((v) => add(v, 0));
      const chord = newChord(newGroup(...members), newSignature('multiply'));

      // Act
      await w.sendChord(chord);
      await w.drain();

      // Assess
      expect(w.groups.injected).toBe(1);
      expect(w.outcomes.filter((o) => o.kind === 'transient')).toHaveLength(1);
      expect(w.runs.multiply).toEqual([[1, 2, 3, 4, 5]]);
      const rec = await w.memory.getGroup(chord.group.groupUUID, { now: w.clock.now() });
      expect(rec?.triggered).toBe(true);
    });
  }

  it('runs the callback once under concurrent completions and duplicate deliveries', async () => {
    // Prepare
    const w = world({ branching: 3 });
    const members = Array.from({ length: 20 }, (_, i) => add(i, 1));
    const chord = newChord(newGroup(...members), newSignature('multiply'));
    await w.sendChord(chord);
    const sigs = w.broker.published.map((p) => p.signature);

    // Act: every member delivered twice, all at once.
    await Promise.all([...sigs, ...sigs].map((s, i) => w.processor.process(s, w.delivery(i))));
    await w.drain();

    // Assess
    expect(w.runs.multiply).toHaveLength(1);
    expect(w.runs.multiply?.[0]).toEqual(members.map((_, i) => i + 1));
  });

  it('costs O(1) writes per member and at most B + 1 writes on any tree node', async () => {
    // Prepare
    const w = world({ branching: 10 });
    const members = Array.from({ length: 1000 }, () => add(1, 1));
    const chord = newChord(newGroup(...members), newSignature('collect', [], { Immutable: true }));
    await w.sendChord(chord);
    const before = w.memory.writes;

    // Act
    await w.drain();

    // Assess: 1000 leaf marks + 100 level-1 + 10 level-2 + 1 trigger.
    expect(w.memory.writes - before).toBe(1000 + 100 + 10 + 1);
    const nodeWrites = [...w.memory.writesByKey].filter(([k]) => k.includes('#L'));
    expect(Math.max(...nodeWrites.map(([, n]) => n))).toBe(10);
    expect(w.runs.collect).toEqual([[]]);
  });

  it('sends results by reference past the inline limit and offers them as ctx.chordResults()', async () => {
    // Prepare
    const w = world({ inlineResultsMaxBytes: 2_000 });
    const members = Array.from({ length: 60 }, (_, i) => add(i, 0));
    const chord = newChord(newGroup(...members), newSignature('collect'));

    // Act
    await w.sendChord(chord);
    await w.drain();

    // Assess
    const sent = w.broker.published.map((p) => p.signature).find((s) => s.Name === 'collect');
    expect(sent?.Headers[CHORD_RESULTS_HEADER]).toBe(chord.group.groupUUID);
    expect(sent?.Args).toEqual([]);
    expect(w.runs.collect).toEqual([members.map((_, i) => i)]);
  });

  it('fails the chord naming a member that failed for good, and runs the callback OnError', async () => {
    // Prepare
    const w = world();
    const bad = newSignature('boom');
    const callback = newSignature('multiply', [], {
      OnError: [newSignature('onError')],
    });
    const chord = newChord(newGroup(add(1, 1), bad, add(2, 2)), callback);

    // Act
    await w.sendChord(chord);
    await w.drain();

    // Assess
    expect(w.runs.multiply).toBeUndefined();
    const cb = await w.results.get(callback.UUID, { now: w.clock.now() });
    expect(cb).toMatchObject({ state: 'FAILURE', error: `member ${bad.UUID} failed: boom` });
    expect(w.runs.onError).toEqual([[`member ${bad.UUID} failed: boom`]]);
    expect(await w.progress(chord.group.groupUUID)).toMatchObject({
      state: 'FAILURE',
      succeeded: 2,
      failed: [bad.UUID],
      waitingOn: [bad.UUID],
      error: `member ${bad.UUID} failed: boom`,
      callback: { uuid: callback.UUID, state: 'FAILURE' },
    });
  });

  it('repairs a crash after the chord failure is recorded: OnError still runs once', async () => {
    // Prepare
    const w = world({ step: 'fail' });
    const bad = newSignature('boom');
    const callback = newSignature('multiply', [], { OnError: [newSignature('onError')] });
    const chord = newChord(newGroup(add(1, 1), bad), callback);

    // Act
    await w.sendChord(chord);
    await w.drain();

    // Assess
    expect(w.groups.injected).toBe(1);
    expect(w.runs.onError).toHaveLength(1);
    expect((await w.results.get(callback.UUID, { now: w.clock.now() }))?.state).toBe('FAILURE');
  });

  it('waits on a dead-lettered member, names it, and completes after its redrive succeeds', async () => {
    // Prepare
    const w = world();
    const flaky = newSignature('flaky', [int(7)], { StopTaskDeletionOnError: true });
    const chord = newChord(newGroup(add(1, 1), flaky), newSignature('multiply'));
    await w.sendChord(chord);
    process.env.CHORD_FLAKY_OK = '0';

    // Act
    await w.drain();
    const waiting = await w.progress(chord.group.groupUUID);
    process.env.CHORD_FLAKY_OK = '1';
    const dead = w.outcomes.find((o) => o.kind === 'dead-letter');
    const member = w.broker.published.map((p) => p.signature).find((s) => s.UUID === flaky.UUID);
    await w.processor.process(member as Signature, w.delivery(99));
    await w.drain();

    // Assess
    expect(dead).toMatchObject({ uuid: flaky.UUID, reason: 'permanent-failure' });
    expect(waiting).toMatchObject({
      state: 'STARTED',
      succeeded: 1,
      failed: [],
      waitingOn: [flaky.UUID],
      callback: { uuid: chord.callback.UUID, state: 'PENDING' },
    });
    expect(w.runs.multiply).toEqual([[2, 7]]);
  });

  it('fails a revoked member’s chord', async () => {
    // Prepare
    const w = world();
    const victim = add(3, 3);
    const chord = newChord(newGroup(add(1, 1), victim), newSignature('multiply'));
    await w.sendChord(chord);
    await w.results.revoke(victim.UUID, { now: w.clock.now(), expiresAt: w.clock.now() + DAY });

    // Act
    await w.drain();

    // Assess
    const cb = await w.results.get(chord.callback.UUID, { now: w.clock.now() });
    expect(cb).toMatchObject({ state: 'FAILURE', error: `member ${victim.UUID} failed: revoked` });
    expect(w.runs.multiply).toBeUndefined();
  });

  it('fails a chord still waiting at its deadline expired, and triggers one that completed', async () => {
    // Prepare
    const w = world();
    process.env.CHORD_FLAKY_OK = '0';
    const stuck = newSignature('flaky', [int(1)], { StopTaskDeletionOnError: true });
    const waiting = newChord(newGroup(add(1, 1), stuck), newSignature('multiply'));
    const done = newChord(newGroup(add(2, 2)), newSignature('multiply'));
    await w.sendChord(waiting);
    await w.sendChord(done);
    await w.drain();
    // Crash between the completed chord's top node and its trigger: undo the trigger.
    const root = w.memory.items.get(done.group.groupUUID);
    if (root !== undefined) delete root.ChordTriggered;
    w.clock.advance(15 * DAY);

    // Act
    for (const chord of [waiting, done]) {
      const deadline = chordDeadlineSignature(chord, w.clock.now() - 1000);
      await w.processor.process(deadline, w.delivery(1));
    }
    await w.drain();

    // Assess
    const cb = await w.results.get(waiting.callback.UUID, { now: w.clock.now() });
    expect(cb).toMatchObject({ state: 'FAILURE', error: 'expired' });
    expect((await w.progress(waiting.group.groupUUID))?.state).toBe('FAILURE');
    expect(w.memory.items.get(done.group.groupUUID)?.ChordTriggered).toBe(true);
    expect(w.runs.multiply).toEqual([[4]]);
  });

  it('counts a Go chord sent with no group record and fires it once', async () => {
    // Prepare
    const w = world();
    const chord = newChord(newGroup(add(1, 1), add(2, 2), add(5, 6)), newSignature('multiply'));
    const goMembers = chord.group.tasks.map((t) => ({ ...t, Headers: {} }));

    // Act
    await dispatch([...goMembers, ...goMembers], w.deps);
    await w.drain();

    // Assess
    expect(w.runs.multiply).toHaveLength(1);
    expect([...(w.runs.multiply?.[0] ?? [])].sort()).toEqual([11, 2, 4]);
    expect(await w.progress(chord.group.groupUUID)).toMatchObject({
      total: 3,
      succeeded: 3,
      waitingOn: null,
    });
  });

  it("orders a Go chord by machinery's TaskUUIDs and triggers its item once", async () => {
    // Prepare
    const w = world();
    const chord = newChord(newGroup(add(5, 6), add(1, 1), add(2, 2)), newSignature('multiply'));
    const goMembers = chord.group.tasks.map((t) => ({ ...t, Headers: {} }));
    w.memory.items.set(chord.group.groupUUID, {
      GroupUUID: chord.group.groupUUID,
      TaskUUIDs: goMembers.map((t) => t.UUID),
      ChordTriggered: false,
      Lock: false,
      CreatedAt: '2026-11-28T10:00:00Z',
    });

    // Act
    await dispatch(goMembers, w.deps);
    await w.drain();

    // Assess
    expect(w.runs.multiply).toEqual([[11, 2, 4]]);
    expect(w.memory.items.get(chord.group.groupUUID)).toMatchObject({
      ChordTriggered: true,
      Lock: false,
      TaskUUIDs: goMembers.map((t) => t.UUID),
    });
  });

  it('hands back a member whose callback cannot find a member result (WorkflowError)', async () => {
    // Prepare
    const w = world();
    const chord = newChord(newGroup(add(1, 1)), newSignature('multiply'));
    await w.sendChord(chord);
    w.memory.items.delete(`${chord.group.groupUUID}#M#0`);

    // Act
    const outcome = await w.processor.process(
      w.broker.published[0]?.signature as Signature,
      w.delivery(1),
    );

    // Assess
    expect(outcome).toMatchObject({ kind: 'transient' });
    expect((outcome as { error: unknown }).error).toBeInstanceOf(WorkflowError);
  });
});

describe('Function: readGroup', () => {
  it('reports PENDING with every member waited on before any runs', async () => {
    // Prepare
    const w = world();
    const chord = newChord(newGroup(add(1, 1), add(2, 2)), newSignature('multiply'));

    // Act
    await w.sendChord(chord);
    const p = await w.progress(chord.group.groupUUID);

    // Assess
    expect(p).toEqual({
      uuid: chord.group.groupUUID,
      kind: 'chord',
      total: 2,
      succeeded: 0,
      failed: [],
      waitingOn: chord.group.tasks.map((t) => t.UUID),
      state: 'PENDING',
      error: null,
      callback: { uuid: chord.callback.UUID, state: 'PENDING' },
    });
  });

  it('reports a plain group SUCCESS when every member is done, FAILURE naming a failed member', async () => {
    // Prepare
    const w = world();
    const good = newGroup(add(1, 1), add(2, 2));
    const bad = newGroup(add(1, 1), newSignature('boom'));
    for (const g of [good, bad]) {
      await w.memory.initGroup(groupInit(g, w.clock.now() + DAY), {
        now: w.clock.now(),
        expiresAt: w.clock.now() + 2 * DAY,
      });
      await dispatch(g.tasks, w.deps);
    }

    // Act
    await w.drain();
    const ok = await w.progress(good.groupUUID);
    const failed = await w.progress(bad.groupUUID);

    // Assess
    expect(ok).toMatchObject({ kind: 'group', state: 'SUCCESS', succeeded: 2, waitingOn: [] });
    const boom = bad.tasks[1]?.UUID;
    expect(failed).toMatchObject({
      kind: 'group',
      state: 'FAILURE',
      succeeded: 1,
      failed: [boom],
      error: `member ${boom} failed: boom`,
      callback: null,
    });
  });

  it('reads an unknown group as undefined', async () => {
    // Act
    const p = await world().progress('group_unknown');

    // Assess
    expect(p).toBeUndefined();
  });
});

describe('Function: createProcessor (workflow hooks)', () => {
  it('tells the extension of dead-lettered, permanently failed and revoked members, never as failed', async () => {
    // Prepare
    const calls: string[] = [];
    const results = new MemoryResultBackend();
    const broker = new MemoryBroker();
    const processor = createProcessor({
      registry: createRegistry(chordTasks(() => {})),
      backend: results,
      broker,
      logger: noop,
      writeRetryDelaysMs: [],
      workflow: {
        memberSucceeded: async (s) => void calls.push(`succeeded ${s.Name}`),
        memberFailed: async (s) => void calls.push(`failed ${s.Name}`),
        memberRevoked: async (s) => void calls.push(`revoked ${s.Name}`),
        memberDeadLettered: async (s, reason) =>
          void calls.push(`dead-lettered ${s.Name} ${reason}`),
      },
    });
    process.env.CHORD_FLAKY_OK = '0';
    const group = newGroup(
      newSignature('add', [{ Type: 'string', Value: 'x' }]),
      newSignature('flaky', [int(1)], { StopTaskDeletionOnError: true }),
      newSignature('boom'),
      add(1, 2),
      add(3, 4),
    );
    const [badArgs, permanent, failing, revoked, ok] = group.tasks as [
      Signature,
      Signature,
      Signature,
      Signature,
      Signature,
    ];
    await results.revoke(revoked.UUID, { now: Date.now(), expiresAt: Date.now() + DAY });
    const delivery: Delivery = {
      messageId: 'm',
      receiveCount: 1,
      firstReceivedAt: Date.now(),
      remainingTimeMs: () => 60_000,
      signal: new AbortController().signal,
    };

    // Act
    for (const sig of [badArgs, permanent, failing, revoked, ok]) {
      await processor.process(sig, delivery);
    }

    // Assess
    expect(calls).toEqual([
      'dead-lettered add invalid-args',
      'dead-lettered flaky permanent-failure',
      'failed boom',
      'revoked add',
      'succeeded add',
    ]);
  });
});

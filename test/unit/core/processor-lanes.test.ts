import { describe, expect, it } from 'vitest';
import { ChordExtension } from '../../../src/core/chords.js';
import { AdjustableClock } from '../../../src/core/clock.js';
import { dispatch } from '../../../src/core/dispatch.js';
import { type Lane, withLane } from '../../../src/core/lanes.js';
import { MemoryBroker, MemoryLogger, MemoryResultBackend } from '../../../src/core/memory.js';
import { MemoryGroupBackend } from '../../../src/core/memory-groups.js';
import type { Delivery, ProcessOutcome } from '../../../src/core/ports.js';
import { createProcessor } from '../../../src/core/processor.js';
import { createRegistry, defineTask, type TaskContext } from '../../../src/core/registry.js';
import { newSignature } from '../../../src/core/signature.js';
import type { Signature } from '../../../src/core/types.js';
import { groupInit, newChord, newGroup } from '../../../src/core/workflow.js';

const runs: string[] = [];
const keys: string[] = [];
const registry = createRegistry([
  defineTask({
    name: 'add',
    args: ['int64', 'int64'],
    lane: 'idempotent',
    run: (ctx: TaskContext, a, b) => {
      runs.push(ctx.uuid);
      keys.push(ctx.idempotencyKey);
      return a + b;
    },
  }),
  defineTask({
    name: 'flaky',
    lane: 'idempotent',
    run: (ctx: TaskContext) => {
      runs.push(ctx.uuid);
      if (ctx.retries === 0) throw new Error('first run fails');
      return 1;
    },
  }),
  defineTask({
    name: 'plain',
    run: (ctx: TaskContext) => {
      runs.push(ctx.uuid);
      return 2;
    },
  }),
]);

function setup() {
  const clock = new AdjustableClock();
  const backend = new MemoryResultBackend();
  const broker = new MemoryBroker();
  const processor = createProcessor({
    registry,
    backend,
    broker,
    clock,
    logger: new MemoryLogger(),
    writeRetryDelaysMs: [],
  });
  return { clock, backend, broker, processor };
}

function delivery(receiveCount = 1, messageId = 'm1'): Delivery {
  return {
    messageId,
    receiveCount,
    firstReceivedAt: Date.now(),
    remainingTimeMs: () => 60_000,
    signal: new AbortController().signal,
  };
}

function addSig(lane: Lane, options: Parameters<typeof newSignature>[2] = {}): Signature {
  const sig = newSignature(
    'add',
    [
      { Name: '', Type: 'int64', Value: 2 },
      { Name: '', Type: 'int64', Value: 3 },
    ],
    options,
  );
  return withLane(sig, lane);
}

/** Sends and processes one delivery; the backend's writes and reads, producer included. */
async function sendAndRun(
  lane: Lane,
): Promise<{ outcome: ProcessOutcome; writes: number; reads: number }> {
  const { clock, backend, broker, processor } = setup();
  const sig = addSig(lane);
  await dispatch([sig], { backend, broker, clock });
  const outcome = await processor.process(sig, delivery());
  return { outcome, writes: backend.writes, reads: backend.reads };
}

describe('Function: createProcessor (lanes)', () => {
  it('costs 3 writes in the full lane, 2 in the lean lane and 1 write + 1 read in the idempotent lane', async () => {
    // Act
    const full = await sendAndRun('full');
    const lean = await sendAndRun('lean');
    const idempotent = await sendAndRun('idempotent');

    // Assess
    for (const r of [full, lean, idempotent]) expect(r.outcome.kind).toBe('done');
    expect([full.writes, lean.writes, idempotent.writes]).toEqual([3, 2, 1]);
    expect([full.reads, lean.reads, idempotent.reads]).toEqual([0, 0, 1]);
  });

  it('stores SUCCESS with results in the idempotent lane and keys the run per receive', async () => {
    // Prepare
    const { backend, processor } = setup();
    const sig = addSig('idempotent');

    // Act
    await processor.process(sig, delivery(1, 'msg-a'));

    // Assess
    expect(backend.peek(sig.UUID)).toMatchObject({
      state: 'SUCCESS',
      results: [{ Type: 'int64', Value: 5 }],
      attempt: 1,
    });
    expect(keys.at(-1)).toBe(`${sig.UUID}:msg-a:r1`);
  });

  it('skips a finished task in the idempotent lane with one read and no write', async () => {
    // Prepare
    const { backend, processor } = setup();
    const sig = addSig('idempotent');
    await processor.process(sig, delivery());
    const before = { writes: backend.writes, runs: runs.length };

    // Act
    const outcome = await processor.process(sig, delivery(1, 'm2'));

    // Assess
    expect(outcome).toEqual({ kind: 'duplicate', uuid: sig.UUID, state: 'SUCCESS' });
    expect(backend.writes).toBe(before.writes);
    expect(runs.length).toBe(before.runs);
  });

  it('skips a revoked task in the idempotent lane', async () => {
    // Prepare
    const { clock, backend, processor } = setup();
    const sig = addSig('idempotent');
    await backend.revoke(sig.UUID, { now: clock.now(), expiresAt: clock.now() + 3_600_000 });
    const before = runs.length;

    // Act
    const outcome = await processor.process(sig, delivery());

    // Assess
    expect(outcome).toEqual({ kind: 'revoked', uuid: sig.UUID });
    expect(runs.length).toBe(before);
    expect(backend.peek(sig.UUID)?.error).toBe('revoked');
  });

  it('never overwrites a final state when two deliveries run at once in the idempotent lane', async () => {
    // Prepare
    const { backend, processor } = setup();
    const sig = addSig('idempotent');

    // Act: both read the absent item before either writes
    const outcomes = await Promise.all([
      processor.process(sig, delivery(1, 'a')),
      processor.process(sig, delivery(1, 'b')),
    ]);

    // Assess
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['done', 'duplicate']);
    expect(backend.peek(sig.UUID)).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    expect(backend.conditionalFailures).toBe(1);
  });

  it('dead-letters a crash loop counted from the receive count in the idempotent lane', async () => {
    // Prepare
    const { backend, processor } = setup();
    const sig = addSig('idempotent');
    const before = runs.length;

    // Act: the fourth receive of a message that never recorded anything
    const outcome = await processor.process(sig, delivery(4));

    // Assess
    expect(outcome).toMatchObject({ kind: 'dead-letter', reason: 'crash-loop' });
    expect(runs.length).toBe(before);
    expect(backend.peek(sig.UUID)).toMatchObject({
      state: 'FAILURE',
      deadLettered: true,
      deadLetterReason: 'crash-loop',
    });
  });

  it('retries in the idempotent lane: RETRY then SUCCESS, 2 writes and 2 reads', async () => {
    // Prepare
    const { backend, processor } = setup();
    const sig = withLane(newSignature('flaky', [], { RetryCount: 2 }), 'idempotent');

    // Act: the retry keeps the message in flight, so the second run is its second receive
    const first = await processor.process(sig, delivery(1));
    const second = await processor.process(sig, delivery(2));

    // Assess
    expect(first).toMatchObject({ kind: 'retry', attempt: 1 });
    expect(second).toEqual({ kind: 'done', uuid: sig.UUID, state: 'SUCCESS' });
    expect(backend.peek(sig.UUID)).toMatchObject({ state: 'SUCCESS', retries: 1, attempt: 2 });
    expect([backend.writes, backend.reads]).toEqual([2, 2]);
  });

  it('claims an idempotent message of a task that does not declare it (the lean lane)', async () => {
    // Prepare
    const { backend, processor } = setup();
    const sig = withLane(newSignature('plain', []), 'idempotent');

    // Act
    const outcome = await processor.process(sig, delivery());

    // Assess
    expect(outcome.kind).toBe('done');
    expect([backend.writes, backend.reads]).toEqual([2, 0]);
  });

  it('runs a duplicate of a lean task once: the second delivery finds it finished', async () => {
    // Prepare
    const { backend, processor } = setup();
    const sig = addSig('lean');
    const before = runs.length;

    // Act
    await processor.process(sig, delivery(1, 'a'));
    const again = await processor.process(sig, delivery(1, 'b'));

    // Assess
    expect(again).toEqual({ kind: 'duplicate', uuid: sig.UUID, state: 'SUCCESS' });
    expect(runs.length - before).toBe(1);
    expect(backend.peek(sig.UUID)?.attempt).toBe(1);
  });

  it('counts a chord member once per lane: task-state writes 3 / 2 / 1 (+1 read), the same chord writes', async () => {
    // Prepare
    const measure = async (lane: Lane) => {
      const { clock, backend, broker } = setup();
      const groups = new MemoryGroupBackend();
      const send = (sigs: readonly Signature[]) => dispatch(sigs, { backend, broker, clock });
      const chord = newChord(
        newGroup(addSig(lane), addSig(lane)),
        withLane(newSignature('plain', []), lane === 'idempotent' ? 'lean' : lane),
      );
      const now = clock.now();
      await groups.initGroup(groupInit(chord, now + 86_400_000), {
        now,
        expiresAt: now + 2 * 86_400_000,
      });
      const processor = createProcessor({
        registry,
        backend,
        broker,
        clock,
        logger: new MemoryLogger(),
        workflow: new ChordExtension({
          groups,
          results: backend,
          dispatch: send,
          clock,
          logger: new MemoryLogger(),
        }),
        dispatch: send,
        writeRetryDelaysMs: [],
      });
      await send(chord.group.tasks);
      const [first] = chord.group.tasks;
      if (first === undefined) throw new Error('no member');
      const before = { writes: backend.writes, reads: backend.reads, groups: groups.writes };

      // Act: the first member runs, then a duplicate of it arrives
      const outcome = await processor.process(first, delivery(1, 'a'));
      const duplicate = await processor.process(first, delivery(1, 'b'));
      return {
        outcome: outcome.kind,
        duplicate: duplicate.kind,
        producerWrites: before.writes,
        workerWrites: backend.writes - before.writes,
        workerReads: backend.reads - before.reads,
        groupWrites: groups.writes - before.groups,
      };
    };

    // Act
    const [full, lean, idempotent] = [
      await measure('full'),
      await measure('lean'),
      await measure('idempotent'),
    ];

    // Assess: PENDING (full) for 2 members; claim + SUCCESS, or one settle after one read; the
    // duplicate adds only a read in the idempotent lane; the chord's own writes do not change
    expect(full).toMatchObject({
      outcome: 'done',
      duplicate: 'duplicate',
      producerWrites: 2,
      workerWrites: 2,
      workerReads: 0,
    });
    expect(lean).toMatchObject({
      outcome: 'done',
      duplicate: 'duplicate',
      producerWrites: 0,
      workerWrites: 2,
      workerReads: 0,
    });
    expect(idempotent).toMatchObject({
      outcome: 'done',
      duplicate: 'duplicate',
      producerWrites: 0,
      workerWrites: 1,
      workerReads: 2,
    });
    expect(full.groupWrites).toBeGreaterThan(0);
    expect(lean.groupWrites).toBe(full.groupWrites);
    expect(idempotent.groupWrites).toBe(full.groupWrites);
  });
});

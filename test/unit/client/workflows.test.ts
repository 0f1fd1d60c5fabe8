/**
 * The client's workflow sends and handles on the in-memory adapters (no worker: task states are
 * written directly where a test needs a step or member to have finished).
 */
import { describe, expect, it } from 'vitest';
import {
  createClient,
  fromVariables,
  InvalidWorkflowError,
  type MachineryClient,
  newGroup,
  WorkflowFailedError,
} from '../../../src/client/index.js';
import type { Clock } from '../../../src/core/clock.js';
import { MemoryBroker, MemoryResultBackend, MemoryScheduler } from '../../../src/core/memory.js';
import { MemoryGroupBackend } from '../../../src/core/memory-groups.js';
import type { PublishItem } from '../../../src/core/ports.js';
import { newSignature } from '../../../src/core/signature.js';
import type { Signature } from '../../../src/core/types.js';
import { GROUP_INDEX_HEADER } from '../../../src/core/workflow.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const clock: Clock = { now: () => NOW, sleep: async () => {} };
const add = (a: number) => newSignature('add', [{ Type: 'int64', Value: a }]);
const LEASE = { leaseUntil: NOW + 60_000, expiresAt: NOW + 3_600_000, maxCrashes: 3 };

/** A broker recording each publish call, its size and how many were in flight at once. */
class RecordingBroker extends MemoryBroker {
  readonly calls: number[] = [];
  inFlight = 0;
  most = 0;
  readonly order: string[];
  constructor(order: string[]) {
    super();
    this.order = order;
  }
  override async publish(items: readonly PublishItem[]): Promise<void> {
    this.order.push('publish');
    this.calls.push(items.length);
    this.inFlight++;
    this.most = Math.max(this.most, this.inFlight);
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    return super.publish(items);
  }
}

function world(options: { groups?: boolean } = {}) {
  const order: string[] = [];
  const backend = new MemoryResultBackend();
  const broker = new RecordingBroker(order);
  const memoryGroups = new MemoryGroupBackend();
  const initGroup = memoryGroups.initGroup.bind(memoryGroups);
  memoryGroups.initGroup = (...args) => {
    order.push('initGroup');
    return initGroup(...args);
  };
  const client: MachineryClient = createClient({
    source: fromVariables({}, { describe: 'the test variables' }),
    backend,
    broker,
    scheduler: new MemoryScheduler(),
    ...(options.groups === false ? {} : { groups: memoryGroups }),
    clock,
    batching: { enabled: false },
  });
  /** Records a task the way the worker would: claimed, then SUCCESS or FAILURE. */
  const finish = async (sig: Signature, outcome: { value: number } | { error: string }) => {
    const claim = await backend.claim(sig, { now: NOW, ...LEASE });
    if (claim.kind !== 'claimed') throw new Error(`not claimed: ${claim.kind}`);
    if ('value' in outcome) {
      await backend.markSuccess(
        sig.UUID,
        claim.attempt,
        [{ Type: 'int64', Value: outcome.value }],
        {
          now: NOW,
          expiresAt: LEASE.expiresAt,
        },
      );
    } else {
      await backend.markFailure(sig, outcome.error, {
        now: NOW,
        expiresAt: LEASE.expiresAt,
        attempt: claim.attempt,
      });
    }
  };
  return { client, backend, broker, order, finish, memoryGroups };
}

describe('Function: sendGroup', () => {
  it('records the group before publishing, then sends 25 members in batches of 10, 10 and 5', async () => {
    // Prepare
    const { client, broker, order, memoryGroups } = world();
    const members = Array.from({ length: 25 }, (_, i) => add(i));

    // Act
    const group = await client.sendGroup(members, { sendConcurrency: 1 });

    // Assess
    expect(order).toEqual(['initGroup', 'publish', 'publish', 'publish']);
    expect(broker.calls).toEqual([10, 10, 5]);
    expect(broker.most).toBe(1);
    expect(broker.published.map((p) => p.signature.Headers[GROUP_INDEX_HEADER])).toEqual(
      members.map((_, i) => i),
    );
    expect(await memoryGroups.memberUUIDs(group.uuid, 25, { now: NOW })).toEqual(
      members.map((m) => m.UUID),
    );
  });

  it('has at most sendConcurrency publishes in flight', async () => {
    // Prepare
    const { client, broker } = world();

    // Act
    await client.sendGroup(
      Array.from({ length: 60 }, (_, i) => add(i)),
      { sendConcurrency: 3 },
    );

    // Assess
    expect(broker.calls).toEqual([10, 10, 10, 10, 10, 10]);
    expect(broker.most).toBe(3);
  });

  it('refuses to send without a group backend, before anything is written', async () => {
    // Prepare
    const { client, backend, broker } = world({ groups: false });

    // Act
    const sent = client.sendGroup([add(1)]);

    // Assess
    await expect(sent).rejects.toThrow(InvalidWorkflowError);
    await expect(sent).rejects.toThrow(/MACHINERY_GROUP_METAS_TABLE/);
    expect(backend.writes).toBe(0);
    expect(broker.published).toHaveLength(0);
  });

  it.each([
    ['no member', [] as Signature[], {}],
    ['concurrency with a built group', newGroup(add(1)), { concurrency: 2 }],
    ['a negative sendConcurrency', [add(1)], { sendConcurrency: -1 }],
  ])('refuses %s with InvalidWorkflowError, nothing sent', async (_what, group, options) => {
    // Prepare
    const { client, broker } = world();

    // Act
    const sent = client.sendGroup(group, options);

    // Assess
    await expect(sent).rejects.toThrow(InvalidWorkflowError);
    expect(broker.published).toHaveLength(0);
  });

  it('rejects get() naming the member that failed for good, and state() lists it failed', async () => {
    // Prepare
    const { client, broker, finish } = world();
    const group = await client.sendGroup([add(1), add(2), add(3)]);
    const [first, second] = broker.published.map((p) => p.signature) as [Signature, Signature];
    await finish(first, { value: 1 });
    await finish(second, { error: 'bad input' });

    // Act
    const error = await group.get({ timeoutMs: 1_000 }).catch((e: unknown) => e);
    const state = await group.state();

    // Assess
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(error).toMatchObject({
      kind: 'group',
      failedUUID: second.UUID,
      index: 1,
      taskError: `member ${second.UUID} failed: bad input`,
    });
    expect(state).toMatchObject({ kind: 'group', state: 'FAILURE', failed: [second.UUID] });
  });
});

describe('Function: sendChord', () => {
  it('records a chord with its callback, and sends the members and the deadline signature', async () => {
    // Prepare
    const { client, broker, memoryGroups } = world();

    // Act
    const callback = newSignature('multiply', []);
    const chord = await client.sendChord([add(1), add(2)], callback, { deadlineMs: 60_000 });

    // Assess
    expect(await memoryGroups.getGroup(chord.uuid, { now: NOW })).toMatchObject({
      kind: 'chord',
      total: 2,
      callbackUUID: chord.callbackUUID,
      deadline: NOW + 60_000,
    });
    expect(chord.callbackUUID).toBe(callback.UUID);
    expect(broker.published.map((p) => p.signature.UUID)).toEqual(chord.members);
    expect(broker.delayed.map((d) => [d.signature.Name, d.delaySeconds])).toEqual([
      ['machinery.chordDeadline', 60],
    ]);
  });
});

describe('Function: sendChain', () => {
  it('sends only the first step, carrying the others as nested OnSuccess', async () => {
    // Prepare
    const { client, broker } = world();
    const steps = [add(1), add(2), add(3)];

    // Act
    const chain = await client.sendChain(steps);

    // Assess
    expect(broker.published).toHaveLength(1);
    const first = broker.published[0]?.signature;
    expect(first?.UUID).toBe(steps[0]?.UUID);
    expect(first?.OnSuccess?.[0]?.UUID).toBe(steps[1]?.UUID);
    expect(first?.OnSuccess?.[0]?.OnSuccess?.[0]?.UUID).toBe(steps[2]?.UUID);
    expect(chain.uuid).toBe(steps[2]?.UUID);
    expect(chain.steps).toEqual(steps.map((s) => s.UUID));
  });

  it('reports the step it waits on, then resolves with the last step’s results', async () => {
    // Prepare
    const { client, finish } = world();
    const steps = [add(1), add(2)] as [Signature, Signature];
    const chain = await client.sendChain(steps);
    await finish(steps[0], { value: 1 });

    // Act
    const waiting = await chain.state();
    await finish(steps[1], { value: 3 });
    const results = await chain.get({ timeoutMs: 1_000 });

    // Assess
    expect(waiting).toEqual({
      uuid: steps[1].UUID,
      kind: 'chain',
      total: 2,
      succeeded: 1,
      failed: [],
      waitingOn: [steps[1].UUID],
      state: 'STARTED',
      error: null,
      callback: null,
    });
    expect(results).toEqual([3]);
  });

  it('rejects naming the failed step, and times out while a dead-lettered step waits for its redrive', async () => {
    // Prepare
    const { client, backend, finish } = world();
    const failing = [add(1), add(2)] as [Signature, Signature];
    const parked = [add(3), add(4)] as [Signature, Signature];
    const failed = await client.sendChain(failing);
    const waiting = await client.sendChain(parked);
    await finish(failing[0], { error: 'boom' });
    await backend.markFailure(parked[0], 'unregistered', {
      now: NOW,
      expiresAt: LEASE.expiresAt,
      deadLetterReason: 'unregistered',
    });

    // Act
    const error = await failed.get({ timeoutMs: 1_000 }).catch((e: unknown) => e);
    const timeout = await waiting.get({ timeoutMs: 0 }).catch((e: unknown) => e);
    const state = await waiting.state();

    // Assess
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(error).toMatchObject({ failedUUID: failing[0].UUID, index: 0, taskError: 'boom' });
    expect((error as Error).message).toBe(
      `chain ${failing[1].UUID} failed at step 1 of 2 (add) (task ${failing[0].UUID}): boom`,
    );
    expect(timeout).toMatchObject({ code: 'RESULT_TIMEOUT', lastState: 'step 1 of 2 FAILURE' });
    expect(state).toMatchObject({ state: 'STARTED', failed: [], waitingOn: [parked[0].UUID] });
  });
});

/**
 * A chord's deadline on the local stack with an advanced clock: the deadline signature goes
 * through a one-time Scheduler schedule into the delay queue, the forwarder moves it to the task
 * queue when due, and the worker fails the chord still waiting on a dead-lettered member
 * `expired`, running the callback's `OnError`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGroup } from '../../src/core/chords.js';
import { dispatch } from '../../src/core/dispatch.js';
import type { GroupBackend } from '../../src/core/ports.js';
import { newSignature } from '../../src/core/signature.js';
import { chordDeadlineSignature, groupInit, newChord, newGroup } from '../../src/core/workflow.js';
import { type DelayHarness, eventually, startDelayHarness } from './delay-harness.js';
import { chordTasks } from './support/chord-tasks.js';

const MIN = 60_000;
const DAY = 86_400_000;
const int = (v: number) => ({ Type: 'int64' as const, Value: v });

describe('Function: chordDeadlineSignature (on the local stack)', () => {
  let h: DelayHarness;
  const runs: [string, unknown[]][] = [];

  beforeAll(async () => {
    h = await startDelayHarness({
      label: 'deadline',
      tasks: chordTasks((name, args) => runs.push([name, args])),
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('fails a chord still waiting at its deadline expired and runs its OnError', async () => {
    // Prepare
    process.env.CHORD_FLAKY_OK = '0';
    const groups = h.client.groups as GroupBackend;
    const stuck = newSignature('flaky', [int(1)], { StopTaskDeletionOnError: true });
    const callback = newSignature('multiply', [], { OnError: [newSignature('onError')] });
    const chord = newChord(newGroup(newSignature('add', [int(1), int(1)]), stuck), callback);
    const now = h.clock.now();
    const deadlineAt = now + 30 * MIN;
    await groups.initGroup(groupInit(chord, deadlineAt), { now, expiresAt: now + 18 * DAY });
    const deps = {
      backend: h.client.backend,
      broker: h.client.broker,
      scheduler: h.scheduler,
      clock: h.clock,
    };
    await dispatch([...chord.group.tasks, chordDeadlineSignature(chord, deadlineAt)], deps);
    await eventually(
      async () =>
        (await h.client.backend.get(stuck.UUID, { now: h.clock.now() }))?.deadLettered === true,
      30_000,
      'the member dead-lettered',
    );
    const before = await h.client.backend.get(callback.UUID, { now: h.clock.now() });

    // Act
    h.clock.advance(31 * MIN);
    await eventually(
      async () =>
        (await h.client.backend.get(callback.UUID, { now: h.clock.now() }))?.state === 'FAILURE',
      30_000,
      'the callback FAILURE',
    );
    await eventually(() => runs.some(([n]) => n === 'onError'), 30_000, 'OnError');
    const progress = await readGroup(chord.group.groupUUID, {
      groups,
      results: h.client.backend,
      now: h.clock.now(),
    });

    // Assess
    expect(before).toBeUndefined();
    expect(await h.client.backend.get(callback.UUID, { now: h.clock.now() })).toMatchObject({
      state: 'FAILURE',
      error: 'expired',
    });
    expect(runs.filter(([n]) => n !== 'add')).toEqual([['onError', ['expired']]]);
    expect(progress).toMatchObject({ state: 'FAILURE', error: 'expired', waitingOn: [stuck.UUID] });
  });
});

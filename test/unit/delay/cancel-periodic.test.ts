import { describe, expect, it } from 'vitest';
import { cancel } from '../../../src/client/cancel.js';
import {
  deletePeriodicTask,
  listPeriodicTasks,
  registerPeriodicChain,
  registerPeriodicChord,
  registerPeriodicGroup,
  registerPeriodicTask,
} from '../../../src/client/periodic.js';
import type {
  OneTimeSchedule,
  PeriodicSpec,
  ResultBackend,
  Scheduler,
  TaskRecord,
} from '../../../src/core/ports.js';
import { newSignature } from '../../../src/core/signature.js';
import type { Signature, TaskState } from '../../../src/core/types.js';

/** A scheduler that remembers what it was asked. */
class RecordingScheduler implements Scheduler {
  readonly periodic = new Map<string, PeriodicSpec>();
  readonly cancelled: string[] = [];
  hasOnce = true;
  async scheduleOnce(): Promise<boolean> {
    return true;
  }
  async cancelOnce(uuid: string): Promise<boolean> {
    this.cancelled.push(uuid);
    return this.hasOnce;
  }
  async putPeriodic(spec: PeriodicSpec): Promise<void> {
    this.periodic.set(spec.name, spec);
  }
  async listPeriodic(): Promise<PeriodicSpec[]> {
    return [...this.periodic.values()];
  }
  async deletePeriodic(name: string): Promise<boolean> {
    return this.periodic.delete(name);
  }
  async listOnce(): Promise<OneTimeSchedule[]> {
    return [];
  }
}

/** A backend whose revoke answers a fixed state. */
function backendAnswering(found: 'revoked' | TaskState, record?: Partial<TaskRecord>) {
  const calls: string[] = [];
  const backend = {
    async revoke(uuid: string) {
      calls.push(uuid);
      return found;
    },
    async get(uuid: string) {
      return record === undefined ? undefined : ({ uuid, ...record } as TaskRecord);
    },
  } as unknown as ResultBackend;
  return { backend, calls };
}

describe('Function: cancel', () => {
  it('revokes a task that has not started and deletes its schedule', async () => {
    // Prepare
    const { backend, calls } = backendAnswering('revoked');
    const scheduler = new RecordingScheduler();

    // Act
    const result = await cancel('task_1', { backend, scheduler });

    // Assess
    expect(result).toEqual({ revoked: true, alreadyRevoked: false, scheduleDeleted: true });
    expect(calls).toEqual(['task_1']);
    expect(scheduler.cancelled).toEqual(['task_1']);
  });

  it.each(['STARTED', 'RECEIVED', 'SUCCESS'] as const)(
    'reports the blocking state %s and leaves the schedule alone',
    async (state) => {
      // Prepare
      const { backend } = backendAnswering(state);
      const scheduler = new RecordingScheduler();

      // Act
      const result = await cancel('task_1', { backend, scheduler });

      // Assess
      expect(result).toEqual({ revoked: false, state });
      expect(scheduler.cancelled).toEqual([]);
    },
  );

  it('recognises a task an earlier cancel revoked', async () => {
    // Prepare
    const { backend } = backendAnswering('FAILURE', { state: 'FAILURE', error: 'revoked' });
    const scheduler = new RecordingScheduler();
    scheduler.hasOnce = false;

    // Act
    const result = await cancel('task_1', { backend, scheduler });

    // Assess
    expect(result).toEqual({ revoked: true, alreadyRevoked: true, scheduleDeleted: false });
  });

  it('reports a task that failed on its own as FAILURE', async () => {
    // Prepare
    const { backend } = backendAnswering('FAILURE', { state: 'FAILURE', error: 'oops' });

    // Act
    const result = await cancel('task_1', { backend });

    // Assess
    expect(result).toEqual({ revoked: false, state: 'FAILURE' });
  });
});

describe('Function: registerPeriodicTask', () => {
  it('stores the task under its name with a Scheduler expression', async () => {
    // Prepare
    const scheduler = new RecordingScheduler();
    const sig = newSignature('add');

    // Act
    const spec = await registerPeriodicTask(scheduler, '*/1 * * * *', 'every-minute', sig);

    // Assess
    expect(spec).toMatchObject({
      name: 'every-minute',
      expression: 'cron(*/1 * * * ? *)',
      timezone: 'UTC',
      kind: 'task',
    });
    expect(await listPeriodicTasks(scheduler)).toEqual([spec]);
    expect(await deletePeriodicTask(scheduler, 'every-minute')).toBe(true);
    expect(await listPeriodicTasks(scheduler)).toEqual([]);
  });
});

describe('Function: registerPeriodicChain', () => {
  it('links each signature to the next through OnSuccess, as machinery NewChain', async () => {
    // Prepare
    const scheduler = new RecordingScheduler();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => newSignature(n)) as [
      Signature,
      Signature,
      Signature,
    ];

    // Act
    const spec = await registerPeriodicChain(scheduler, 'rate(1 hour)', 'chain', a, b, c);

    // Assess
    expect(spec.kind).toBe('chain');
    expect(spec.signature.Name).toBe('a');
    expect(spec.signature.OnSuccess?.[0]?.Name).toBe('b');
    expect(spec.signature.OnSuccess?.[0]?.OnSuccess?.[0]?.Name).toBe('c');
    expect(a.OnSuccess).toBeNull(); // the caller's signatures are not mutated
  });
});

describe('Function: registerPeriodicGroup', () => {
  it('gives every member one group UUID and the group size', async () => {
    // Prepare
    const scheduler = new RecordingScheduler();

    // Act
    const spec = await registerPeriodicGroup(scheduler, 'rate(5 minutes)', 'fan', [
      newSignature('a'),
      newSignature('b'),
    ]);

    // Assess
    const members = spec.members ?? [];
    expect(spec.kind).toBe('group');
    expect(members).toHaveLength(2);
    expect(members[0]?.GroupUUID).toMatch(/^group_/);
    expect(members[1]?.GroupUUID).toBe(members[0]?.GroupUUID);
    expect(members.map((m) => m.GroupTaskCount)).toEqual([2, 2]);
  });
});

describe('Function: registerPeriodicChord', () => {
  it('sets the callback on every member, with a chord_ UUID when it had none', async () => {
    // Prepare
    const scheduler = new RecordingScheduler();
    const callback = { ...newSignature('sum'), UUID: '' };

    // Act
    const spec = await registerPeriodicChord(
      scheduler,
      'rate(1 hour)',
      'chord',
      [newSignature('a'), newSignature('b')],
      callback,
    );

    // Assess
    const members = spec.members ?? [];
    expect(spec.kind).toBe('chord');
    expect(members[0]?.ChordCallback?.UUID).toMatch(/^chord_/);
    expect(members[1]?.ChordCallback?.UUID).toBe(members[0]?.ChordCallback?.UUID);
  });
});

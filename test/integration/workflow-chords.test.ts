/**
 * Chords end to end on the emulators (fauxqs, DynamoDB Local) through the local runner and the
 * real worker: a crash after each step of the protocol (a `GroupBackend` wrapper) and a real
 * SIGKILL of a worker process mid-protocol, Go-format chords with and without machinery's
 * `group_metas` item, a failing member, and a dead-lettered member redriven with plain SQS calls.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Adapters, createAdapters } from '../../src/aws/adapters.js';
import { type ChordOptions, readGroup } from '../../src/core/chords.js';
import { systemClock } from '../../src/core/clock.js';
import { dispatch } from '../../src/core/dispatch.js';
import type { GroupBackend } from '../../src/core/ports.js';
import { createRegistry } from '../../src/core/registry.js';
import { encodeSignature, newSignature } from '../../src/core/signature.js';
import type { Signature } from '../../src/core/types.js';
import { type Chord, groupInit, newChord, newGroup } from '../../src/core/workflow.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import { type ChordStep, FaultyGroups } from '../support/faulty-groups.js';
import { quietLogger, waitFor } from './aws-helpers.js';
import { chordTasks } from './support/chord-tasks.js';
import { getTestStack, type TestStack } from './support/stack.js';

const CHILD = fileURLToPath(new URL('./support/chord-worker-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DAY = 86_400_000;
const int = (v: number) => ({ Type: 'int64' as const, Value: v });
const add = (a: number, b: number) => newSignature('add', [int(a), int(b)]);

let stack: TestStack;
let adapters: Adapters;
let groups: GroupBackend;
const runners: EventSourceRunner[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  stack = await getTestStack({
    label: 'chords',
    queueOverrides: { tasks: { visibilityTimeoutSeconds: 2 } },
  });
  adapters = createAdapters({ env: stack.env });
  groups = adapters.groups as GroupBackend;
});
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
afterAll(async () => {
  adapters?.destroy();
  await stack?.stop();
});

/** Starts an in-process worker; `runs` records the runs of the callback tasks. */
function startWorker(
  options: {
    groups?: GroupBackend;
    chords?: ChordOptions;
    backstop?: { streakLimit?: number };
  } = {},
) {
  const runs: [string, unknown[]][] = [];
  const handler = createWorker({
    registry: createRegistry(chordTasks((name, args) => runs.push([name, args]))),
    env: stack.env,
    logger: quietLogger('SILENT'),
    ...(options.groups ? { groups: options.groups } : {}),
    ...(options.chords ? { chords: options.chords } : {}),
    ...(options.backstop ? { backstop: options.backstop } : {}),
    processorOptions: {
      ...(options.groups instanceof FaultyGroups
        ? {
            dispatch: async (sigs: readonly Signature[]) => {
              await (options.groups as FaultyGroups).beforeSend(sigs);
              return dispatch(sigs, { ...deps(), clock: systemClock });
            },
          }
        : {}),
    },
  });
  const runner = new EventSourceRunner({
    sqs: stack.clients.sqs,
    queueUrl: stack.queueUrls.tasks,
    handler,
    concurrency: 3,
    onError: () => {},
  });
  runners.push(runner);
  runner.start();
  return { runner, runs };
}

const deps = () => ({ backend: adapters.backend, broker: adapters.broker, clock: systemClock });

async function sendChord(chord: Chord): Promise<void> {
  const now = Date.now();
  await groups.initGroup(groupInit(chord, now + 14 * DAY), { now, expiresAt: now + 18 * DAY });
  await dispatch(chord.group.tasks, deps());
}

/** The task record once it is final. */
function finalState(uuid: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const rec = await adapters.backend.get(uuid, { now: Date.now() });
      return rec?.state === 'SUCCESS' || rec?.state === 'FAILURE' ? rec : undefined;
    },
    { timeoutMs, describe: () => `the final state of ${uuid}` },
  );
}

/** Waits a little longer than a redelivery takes, so a second run would be seen. */
const settle = () => new Promise((r) => setTimeout(r, 3_000));

/** A body in Go machinery's format, as its SQS broker sends it. */
function goBody(sig: Signature): string {
  return encodeSignature({ ...sig, Headers: {} });
}

async function sendRaw(body: string, groupId: string): Promise<void> {
  await stack.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: stack.queueUrls.tasks,
      MessageBody: body,
      MessageGroupId: groupId,
      MessageDeduplicationId: randomUUID(),
    }),
  );
}

/** The first message of the task DLQ (left in flight for {@link sendBack}). */
function receiveDead() {
  return waitFor(async () => {
    const out = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queueUrls.tasksDlq,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    return out.Messages?.[0];
  });
}

/** A DLQ message sent back to the task queue (in its task's message group), then deleted. */
async function sendBack(message: Message, groupId: string): Promise<void> {
  await sendRaw(message.Body ?? '', groupId);
  await stack.clients.sqs.send(
    new DeleteMessageCommand({
      QueueUrl: stack.queueUrls.tasksDlq,
      ReceiptHandle: message.ReceiptHandle,
    }),
  );
}

describe('Chords on the emulators', () => {
  for (const step of ['leaf', 'level1', 'trigger', 'send'] as ChordStep[]) {
    it(`runs the callback exactly once when the worker crashes after the ${step} step`, async () => {
      // Prepare: B = 2 and 3 members: leaves 0 (members 0, 1) and 1 (member 2), one level above.
      const faulty = new FaultyGroups(groups, step);
      const { runs } = startWorker({ groups: faulty, chords: { branching: 2 } });
      const chord = newChord(newGroup(add(1, 1), add(2, 2), add(5, 6)), newSignature('multiply'));

      // Act
      await sendChord(chord);
      const cb = await finalState(chord.callback.UUID);
      await settle();

      // Assess
      expect(faulty.injected).toBe(1);
      expect(cb).toMatchObject({ state: 'SUCCESS', results: [int(88)], attempt: 1 });
      expect(runs.filter(([n]) => n === 'multiply')).toEqual([['multiply', [2, 4, 11]]]);
    });
  }

  it('finishes the chord once after a worker process is SIGKILLed between trigger and send', async () => {
    // Prepare
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      cwd: ROOT,
      env: {
        ...process.env,
        CHORD_CHILD_ENV: JSON.stringify(stack.env),
        CHORD_CHILD_STEP: 'trigger',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    const reached = (line: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => out.includes(line) && resolve();
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          check();
        });
        child.once('exit', (code) => reject(new Error(`child exited ${code}: ${out}`)));
        check();
      });
    await reached('READY');
    const chord = newChord(newGroup(add(1, 1), add(2, 2), add(5, 6)), newSignature('multiply'));

    // Act
    await sendChord(chord);
    await reached('AT trigger');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const root = await groups.getGroup(chord.group.groupUUID, { now: Date.now() });
    const before = await adapters.backend.get(chord.callback.UUID, { now: Date.now() });
    const { runs } = startWorker();
    const cb = await finalState(chord.callback.UUID);
    await settle();

    // Assess
    expect(root?.triggered).toBe(true);
    expect(before).toBeUndefined();
    expect(cb).toMatchObject({ state: 'SUCCESS', results: [int(88)], attempt: 1 });
    expect(runs.filter(([n]) => n === 'multiply')).toEqual([['multiply', [2, 4, 11]]]);
  });

  it('fires a chord sent as raw Go-format bodies with no group record once', async () => {
    // Prepare
    const { runs } = startWorker();
    const chord = newChord(newGroup(add(1, 1), add(2, 2), add(5, 6)), newSignature('multiply'));

    // Act: every member sent, and the first one again with a new deduplication id.
    for (const t of [...chord.group.tasks, chord.group.tasks[0] as Signature]) {
      await sendRaw(goBody(t), t.UUID);
    }
    const cb = await finalState(chord.callback.UUID);
    await settle();
    const progress = await readGroup(chord.group.groupUUID, {
      groups,
      results: adapters.backend,
      now: Date.now(),
    });

    // Assess
    expect(cb).toMatchObject({ state: 'SUCCESS', results: [int(88)] });
    const multiplies = runs.filter(([n]) => n === 'multiply');
    expect(multiplies).toHaveLength(1);
    expect([...((multiplies[0]?.[1] ?? []) as number[])].sort((a, b) => a - b)).toEqual([2, 4, 11]);
    expect(progress).toMatchObject({ total: 3, succeeded: 3, waitingOn: null });
  });

  it("fires a Go chord beside machinery's group_metas item once, in TaskUUIDs order", async () => {
    // Prepare
    const { runs } = startWorker();
    const chord = newChord(newGroup(add(5, 6), add(1, 1), add(2, 2)), newSignature('multiply'));
    const machinery = {
      GroupUUID: chord.group.groupUUID,
      TaskUUIDs: chord.group.tasks.map((t) => t.UUID),
      ChordTriggered: false,
      Lock: false,
      CreatedAt: '2026-11-28T10:00:00Z',
      TTL: Math.ceil(Date.now() / 1000) + 86_400,
    };
    await adapters.clients.dynamodb.send(
      new PutCommand({ TableName: stack.names.tables.groupMetas, Item: machinery }),
    );

    // Act
    for (const t of chord.group.tasks) await sendRaw(goBody(t), t.UUID);
    const cb = await finalState(chord.callback.UUID);
    await settle();
    const item = (
      await adapters.clients.dynamodb.send(
        new GetCommand({
          TableName: stack.names.tables.groupMetas,
          Key: { GroupUUID: chord.group.groupUUID },
          ConsistentRead: true,
        }),
      )
    ).Item;

    // Assess
    expect(cb).toMatchObject({ state: 'SUCCESS', results: [int(88)] });
    expect(runs.filter(([n]) => n === 'multiply')).toEqual([['multiply', [11, 2, 4]]]);
    expect(item).toMatchObject({ ...machinery, ChordTriggered: true });
  });

  it('fails a chord with a failing member, naming it, and runs the callback OnError', async () => {
    // Prepare
    const { runs } = startWorker();
    const bad = newSignature('boom');
    const callback = newSignature('multiply', [], { OnError: [newSignature('onError')] });
    const chord = newChord(newGroup(add(1, 1), bad), callback);

    // Act
    await sendChord(chord);
    const cb = await finalState(callback.UUID);
    await waitFor(async () => runs.find(([n]) => n === 'onError'));
    await settle();
    const progress = await readGroup(chord.group.groupUUID, {
      groups,
      results: adapters.backend,
      now: Date.now(),
    });

    // Assess
    const reason = `member ${bad.UUID} failed: boom`;
    expect(cb).toMatchObject({ state: 'FAILURE', error: reason });
    expect(runs.filter(([n]) => n !== 'add')).toEqual([['onError', [reason]]]);
    expect(progress).toMatchObject({ state: 'FAILURE', failed: [bad.UUID], error: reason });
  });

  it('waits on a dead-lettered member, names it, and completes after its DLQ message is sent back', async () => {
    // Prepare
    const { runs } = startWorker();
    const flaky = newSignature('flaky', [int(7)], { StopTaskDeletionOnError: true });
    const chord = newChord(newGroup(add(1, 1), flaky), newSignature('multiply'));
    process.env.CHORD_FLAKY_OK = '0';

    // Act
    await sendChord(chord);
    await waitFor(async () =>
      (await adapters.backend.get(flaky.UUID, { now: Date.now() }))?.deadLettered
        ? true
        : undefined,
    );
    const waiting = await waitFor(async () => {
      const p = await readGroup(chord.group.groupUUID, {
        groups,
        results: adapters.backend,
        now: Date.now(),
      });
      return p?.succeeded === 1 ? p : undefined;
    });
    process.env.CHORD_FLAKY_OK = '1';
    await sendBack(await receiveDead(), flaky.UUID);
    const cb = await finalState(chord.callback.UUID);
    await settle();

    // Assess
    expect(waiting).toMatchObject({
      state: 'STARTED',
      failed: [],
      waitingOn: [flaky.UUID],
      callback: { uuid: chord.callback.UUID, state: 'PENDING' },
    });
    expect(cb).toMatchObject({ state: 'SUCCESS', results: [int(14)] });
    expect(runs.filter(([n]) => n === 'multiply')).toEqual([['multiply', [2, 7]]]);
  });

  it('dead-letters a member whose chord step keeps failing (repeated-error) and completes it after a redrive', async () => {
    // Prepare: the chord's member page is missing, so building the callback fails every time.
    const { runs } = startWorker({ backstop: { streakLimit: 2 } });
    const chord = newChord(newGroup(add(3, 4)), newSignature('multiply'));
    await groups.initGroup(groupInit(chord, Date.now() + 14 * DAY), {
      now: Date.now(),
      expiresAt: Date.now() + 18 * DAY,
    });
    const page = { GroupUUID: `${chord.group.groupUUID}#M#0` };
    const pageItem = (
      await adapters.clients.dynamodb.send(
        new GetCommand({ TableName: stack.names.tables.groupMetas, Key: page }),
      )
    ).Item;
    await adapters.clients.dynamodb.send(
      new DeleteCommand({ TableName: stack.names.tables.groupMetas, Key: page }),
    );
    const member = chord.group.tasks[0] as Signature;

    // Act
    await dispatch([member], deps());
    const dead = await receiveDead();
    const memberState = await adapters.backend.get(member.UUID, { now: Date.now() });
    await adapters.clients.dynamodb.send(
      new PutCommand({ TableName: stack.names.tables.groupMetas, Item: pageItem }),
    );
    await sendBack(dead, member.UUID);
    const cb = await finalState(chord.callback.UUID);

    // Assess
    expect(dead.MessageAttributes?.['machinery.reason']?.StringValue).toBe('repeated-error');
    expect(dead.MessageAttributes?.['machinery.detail']?.StringValue).toContain('page is missing');
    expect(memberState?.state).toBe('SUCCESS');
    expect(cb).toMatchObject({ state: 'SUCCESS', results: [int(7)] });
    expect(runs.filter(([n]) => n === 'multiply')).toEqual([['multiply', [7]]]);
  });
});

/**
 * Workflows through the SDK on the emulators (fauxqs, DynamoDB Local, the Scheduler emulator) with
 * the real worker in this process: machinery's example group, chord (88) and chains (60, 68), a
 * failing chain step, the members' task records; and, on a stack without a worker, how a group's
 * members are sent (message groups of `concurrency`, `SendMessageBatch` calls in flight under
 * `sendConcurrency`).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClient,
  InvalidWorkflowError,
  type MachineryClient,
  newGroup,
  WorkflowFailedError,
} from '../../src/client/index.js';
import { createRegistry } from '../../src/core/registry.js';
import { newSignature } from '../../src/core/signature.js';
import type { EventSourceRunner } from '../../src/local/runner.js';
import { countRequests, receiveMessages, waitFor } from './aws-helpers.js';
import { chordTasks } from './support/chord-tasks.js';
import { getTestStack, makeClients, type TestStack } from './support/stack.js';
import { startWorkerRunner } from './support/worker.js';

const int = (v: number) => ({ Type: 'int64' as const, Value: v });
const add = (...xs: number[]) => newSignature('add', xs.map(int));
const multiply = (...xs: number[]) => newSignature('multiply', xs.map(int));
const WAIT = { timeoutMs: 30_000, pollMs: 50 };

describe('Function: createClient workflows (end to end with the worker)', () => {
  let stack: TestStack;
  let runner: EventSourceRunner;
  let client: MachineryClient;
  const runs: [string, unknown[]][] = [];

  beforeAll(async () => {
    stack = await getTestStack({ label: 'wfsdk' });
    const aws = {
      sqs: stack.clients.sqs,
      dynamodb: stack.clients.dynamodb,
      scheduler: stack.clients.scheduler,
    };
    runner = startWorkerRunner({
      clients: stack.clients,
      env: stack.env,
      registry: createRegistry(chordTasks((name, args) => runs.push([name, args]))),
      concurrency: 4,
    });
    client = createClient({ env: stack.env, aws });
  });

  afterAll(async () => {
    await runner?.stop();
    client?.close();
    await stack?.stop();
  });

  it("resolves machinery's group add(1, 1), add(2, 2), add(5, 6) with every member's results in group order", async () => {
    // Prepare
    const members = [add(1, 1), add(2, 2), add(5, 6)];

    // Act
    const group = await client.sendGroup(members);
    const results = await group.get(WAIT);
    const state = await group.state();
    const records = await Promise.all(group.members.map((uuid) => client.getState(uuid)));

    // Assess
    expect(results).toEqual([[2], [4], [11]]);
    expect(state).toEqual({
      uuid: group.uuid,
      kind: 'group',
      total: 3,
      succeeded: 3,
      failed: [],
      waitingOn: [],
      state: 'SUCCESS',
      error: null,
      callback: null,
    });
    expect(records.map((r) => [r?.groupUUID, r?.groupIndex])).toEqual([
      [group.uuid, 0],
      [group.uuid, 1],
      [group.uuid, 2],
    ]);
    expect(group.members).toEqual(members.map((m) => m.UUID));
  });

  it('resolves the chord of that group into multiply with 88, the callback run once with the results in order', async () => {
    // Prepare
    const callback = multiply();

    // Act
    const chord = await client.sendChord([add(1, 1), add(2, 2), add(5, 6)], callback);
    const results = await chord.get(WAIT);
    const state = await chord.state();

    // Assess
    expect(results).toEqual([88]);
    expect(state).toMatchObject({
      kind: 'chord',
      state: 'SUCCESS',
      total: 3,
      succeeded: 3,
      callback: { uuid: chord.callbackUUID, state: 'SUCCESS' },
    });
    expect(runs.filter(([name, args]) => name === 'multiply' && args.length === 3)).toEqual([
      ['multiply', [2, 4, 11]],
    ]);
  });

  it.each([
    ['add(2, 2) → add(5, 6) → multiply(4)', [add(2, 2), add(5, 6), multiply(4)], 60],
    [
      'add(1, 1) → add(2, 2) → add(5, 6) → multiply(4)',
      [add(1, 1), add(2, 2), add(5, 6), multiply(4)],
      68,
    ],
  ])('resolves the chain %s with its last step’s result', async (_name, steps, expected) => {
    // Act
    const chain = await client.sendChain(steps);
    const results = await chain.get(WAIT);
    const state = await chain.state();

    // Assess
    expect(results).toEqual([expected]);
    expect(chain.uuid).toBe(steps.at(-1)?.UUID);
    expect(state).toMatchObject({
      kind: 'chain',
      state: 'SUCCESS',
      total: steps.length,
      succeeded: steps.length,
    });
  });

  it('stops a chain at a failing step: its OnError runs, later steps never run, get() rejects naming the step', async () => {
    // Prepare
    // flaky fails ('not yet') with the previous step's result appended to its args
    const failing = newSignature('flaky', [], { OnError: [newSignature('onError', [])] });
    const later = add(5, 6);

    // Act
    const chain = await client.sendChain([add(1, 1), failing, later]);
    const error = await chain.get(WAIT).catch((e: unknown) => e);
    await waitFor(async () => runs.find(([name]) => name === 'onError') ?? undefined);
    const state = await chain.state();
    const laterRecord = await client.getState(later.UUID);

    // Assess
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(error).toMatchObject({
      kind: 'chain',
      failedUUID: failing.UUID,
      index: 1,
      taskError: 'not yet',
    });
    expect((error as Error).message).toContain(`step 2 of 3 (flaky) (task ${failing.UUID})`);
    expect(runs.filter(([name]) => name === 'onError')).toEqual([['onError', ['not yet']]]);
    expect(state).toMatchObject({ state: 'FAILURE', succeeded: 1, failed: [failing.UUID] });
    expect(laterRecord).toBeUndefined();
  });

  it('rejects a chord whose member fails for good, naming the member, and reports it failed', async () => {
    // Prepare
    const failing = newSignature('boom', []);

    // Act
    const chord = await client.sendChord([add(1, 1), failing], multiply());
    const error = await chord.get(WAIT).catch((e: unknown) => e);
    const state = await chord.state();

    // Assess
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(error).toMatchObject({ kind: 'chord', failedUUID: failing.UUID, index: 1 });
    expect(state).toMatchObject({ state: 'FAILURE', failed: [failing.UUID] });
  });
});

describe('Function: createClient sendGroup (sends, no worker)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'wfsend' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  function clientOn(sqs: SQSClient): MachineryClient {
    return createClient({
      env: stack.env,
      aws: { sqs, dynamodb: stack.clients.dynamodb, scheduler: stack.clients.scheduler },
    });
  }

  it('spreads the members of concurrency K over K message groups <GroupUUID>#<i mod K>', async () => {
    // Prepare
    const client = clientOn(stack.clients.sqs);
    const members = Array.from({ length: 7 }, (_, i) => add(i, 1));

    // Act
    const group = await client.sendGroup(members, { concurrency: 3 });
    const messages = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasks, {
      count: 7,
    });
    client.close();

    // Assess
    const groupIdOf = new Map(
      messages.map((m) => [JSON.parse(m.Body ?? '{}').UUID, m.Attributes?.MessageGroupId]),
    );
    expect(members.map((m) => groupIdOf.get(m.UUID))).toEqual([
      `${group.uuid}#0`,
      `${group.uuid}#1`,
      `${group.uuid}#2`,
      `${group.uuid}#0`,
      `${group.uuid}#1`,
      `${group.uuid}#2`,
      `${group.uuid}#0`,
    ]);
  });

  it('keeps each member in its own message group without concurrency', async () => {
    // Prepare
    const client = clientOn(stack.clients.sqs);
    const members = [add(1), add(2)];

    // Act
    await client.sendGroup(members);
    const messages = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasks, {
      count: 2,
    });
    client.close();

    // Assess
    expect(new Set(messages.map((m) => m.Attributes?.MessageGroupId))).toEqual(
      new Set(members.map((m) => m.UUID)),
    );
  });

  it('has at most sendConcurrency SendMessageBatch requests in flight, 10 members each', async () => {
    // Prepare: a client of its own whose SendMessageBatch requests each take 100 ms more, so the
    // lanes overlap and the bound is reached
    const { sqs, dynamodb, scheduler } = makeClients(stack.endpoints);
    dynamodb.destroy();
    scheduler.destroy();
    let inFlight = 0;
    let most = 0;
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'SendMessageBatchCommand') return next(args);
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          await new Promise((r) => setTimeout(r, 100));
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'slowBatches' },
    );
    const counts = countRequests(sqs);
    const client = clientOn(sqs);
    const members = Array.from({ length: 50 }, (_, i) => add(i));

    // Act
    await client.sendGroup(members, { sendConcurrency: 2 });
    const messages = await receiveMessages(stack.clients.sqs, stack.queueUrls.tasks, {
      count: 50,
    });
    client.close();
    sqs.destroy();

    // Assess
    expect(most).toBe(2);
    expect(counts.get('SendMessageBatchCommand')).toBe(5);
    expect(messages).toHaveLength(50);
  });

  it('refuses a built Group with concurrency before anything is written', async () => {
    // Prepare
    const client = clientOn(stack.clients.sqs);
    const built = newGroup(add(1), add(2));

    // Act
    const sent = client.sendGroup(built, { concurrency: 2 });

    // Assess
    await expect(sent).rejects.toThrow(InvalidWorkflowError);
    expect(await client.getState(built.tasks[0]?.UUID ?? '')).toBeUndefined();
    client.close();
  });
});

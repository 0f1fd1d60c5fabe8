/**
 * `machinery dlq` in subprocesses against the emulators (fauxqs, DynamoDB Local): a task
 * dead-lettered because its worker does not know it is listed with its reason and left in the
 * DLQ; once a worker knows it, `dlq redrive` sends it back (by the loop: fauxqs has no message
 * move tasks) and it succeeds in one fresh attempt.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DlqEntry } from '../../src/client/dlq.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import type { TaskLookup } from '../../src/core/processor.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { newSignature } from '../../src/core/signature.js';
import type { EventSourceRunner } from '../../src/local/runner.js';
import { queueDepth, waitFor } from './aws-helpers.js';
import { machinery } from './support/cli.js';
import { getTestStack, type TestStack } from './support/stack.js';
import { startWorkerRunner } from './support/worker.js';

describe('Command: machinery dlq (fauxqs, loop redrive)', () => {
  let stack: TestStack;
  let client: MachineryClient;
  let runner: EventSourceRunner | undefined;
  let cwd: string;
  let lateRuns = 0;

  const record = defineTask({ name: 'record', args: ['string'], run: (_c, s) => s });
  const late = defineTask({
    name: 'late_task',
    args: ['int64'],
    run: (_c, n) => {
      lateRuns++;
      return n * 2;
    },
  });

  /** Runs the task queue with a worker knowing `registry`'s tasks. */
  const startWorker = (registry: TaskLookup) =>
    startWorkerRunner({ clients: stack.clients, env: stack.env, registry });
  const cli = (args: string[]) => machinery(args, { env: stack.env, cwd });

  beforeAll(async () => {
    stack = await getTestStack({ label: 'dlqcli' });
    client = createClient({ env: stack.env, aws: stack.clients });
    cwd = mkdtempSync(join(tmpdir(), 'machinery-dlq-'));
  });

  afterAll(async () => {
    await runner?.stop();
    client?.close();
    await stack?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('lists a dead-lettered task with its reason, leaves it there, and redrives it to success once its task is registered', async () => {
    // Prepare: a worker that does not know late_task; the task goes to the DLQ
    runner = startWorker(createRegistry([record]));
    const sent = await client.sendTask(
      newSignature('late_task', [{ Name: '', Type: 'int64', Value: 21 }]),
    );
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)) === 1 || undefined,
    );
    await runner.stop();
    runner = undefined;

    // Act: list it (CLI)
    const listed = await cli(['dlq', 'list', '--json']);

    // Assess: the entry, with its reason from the message's attributes; the message stays
    expect(listed.code).toBe(0);
    const entries = JSON.parse(listed.stdout) as DlqEntry[];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      taskUUID: sent.uuid,
      name: 'late_task',
      reason: 'unregistered',
      movedBySqs: false,
      messageGroupId: sent.uuid,
      receiveCount: 1,
    });
    expect(entries[0]?.detail).toContain('late_task');
    expect(Date.parse(entries[0]?.deadLetteredAt ?? '')).not.toBeNaN();
    expect(listed.stderr).toContain('receive count');
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(1);

    // Act: show it by UUID (CLI)
    const shown = await cli(['dlq', 'show', sent.uuid, '--json']);

    // Assess: the signature, the reason, the task's state and attempts before the redrive
    expect(shown.code).toBe(0);
    const doc = JSON.parse(shown.stdout) as {
      queue: string;
      reason: string;
      receiveCount: number;
      signature: { UUID: string; Name: string; Args: unknown[] };
      task: { state: string; attempts: number; deadLettered: boolean };
    };
    expect(doc.queue).toBe('task');
    expect(doc.reason).toBe('unregistered');
    expect(doc.receiveCount).toBe(2);
    expect(doc.signature).toMatchObject({ UUID: sent.uuid, Name: 'late_task' });
    expect(doc.signature.Args).toEqual([{ Name: '', Type: 'int64', Value: 21 }]);
    expect(doc.task).toMatchObject({ state: 'FAILURE', attempts: 0, deadLettered: true });
    const shownText = await cli(['dlq', 'show', doc.signature.UUID]);
    expect(shownText.code).toBe(0);
    expect(shownText.stdout).toMatch(/^reason: +unregistered$/m);
    expect(shownText.stdout).toMatch(/^state: +FAILURE$/m);
    expect(shownText.stdout).toMatch(/^attempts: +0$/m);
    expect(shownText.stdout).toContain('"Name": "late_task"');

    // Act: a worker that knows the task; redrive without --yes off a terminal, then with it (CLI)
    runner = startWorker(createRegistry([record, late]));
    const refused = await cli(['dlq', 'redrive']);
    const redriven = await cli(['dlq', 'redrive', '--yes', '--json']);

    // Assess: refused with exit 2 and nothing moved; then moved by the loop, and the task succeeds
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect(redriven.code).toBe(0);
    expect(JSON.parse(redriven.stdout)).toMatchObject({ method: 'loop', queue: 'task', moved: 1 });
    expect(redriven.stderr).toContain('does not implement message move tasks');
    expect(redriven.stderr).toContain('tail of their message groups');
    // The item stays FAILURE (dead-lettered) until the worker claims the redriven message.
    await waitFor(async () => (await client.getState(sent.uuid))?.state === 'SUCCESS' || undefined);
    expect(await sent.get()).toEqual([42]);
    const state = await client.getState(sent.uuid);
    expect(state).toMatchObject({ state: 'SUCCESS', attempt: 1, deadLettered: false });
    expect(lateRuns).toBe(1);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(0);
    const status = await cli(['status', sent.uuid]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('SUCCESS');
  }, 180_000);

  it('says plainly that the endpoint has no message move tasks when asked for the redrive status', async () => {
    // Act
    const text = await cli(['dlq', 'redrive-status']);
    const json = await cli(['dlq', 'redrive-status', '--json']);

    // Assess
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('no message move task API');
    expect(JSON.parse(json.stdout)).toEqual({ queue: 'task', supported: false, tasks: [] });
  }, 120_000);

  it('refuses a purge without --yes (exit 2) and empties the DLQ with it', async () => {
    // Prepare: one message in the delay DLQ
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.delayDlq,
        MessageBody: 'not json',
      }),
    );

    // Act
    const refused = await cli(['dlq', 'purge', '--queue', 'delay']);
    const depthAfterRefusal = await queueDepth(stack.clients.sqs, stack.queueUrls.delayDlq);
    const purged = await cli(['dlq', 'purge', '--queue', 'delay', '--yes']);

    // Assess
    expect(refused.code).toBe(2);
    expect(depthAfterRefusal).toBe(1);
    expect(purged.code).toBe(0);
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.delayDlq)) === 0 || undefined,
    );
  }, 120_000);
});

/**
 * The loop redrive (fauxqs) killed half-way: `machinery dlq redrive` in a subprocess, SIGKILLed
 * while moving 500 dead-lettered tasks, then run again. No message is lost and every task runs and
 * succeeds exactly once, whatever the kill left behind (a copy sent whose original was not
 * deleted, a batch hidden by the killed receive).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDRIVE_HOLD_SECONDS } from '../../src/client/dlq.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import type { TaskLookup } from '../../src/core/processor.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { newSignature } from '../../src/core/signature.js';
import type { EventSourceRunner } from '../../src/local/runner.js';
import { queueDepth, waitFor } from './aws-helpers.js';
import { machinery, startMachinery } from './support/cli.js';
import { getTestStack, type TestStack } from './support/stack.js';
import { startWorkerRunner } from './support/worker.js';

const TASKS = 500;

describe('Command: machinery dlq redrive (killed half-way)', () => {
  let stack: TestStack;
  let client: MachineryClient;
  let runner: EventSourceRunner | undefined;
  let cwd: string;
  const runs = new Map<string, number>();

  const echo = defineTask({
    name: 'echo_n',
    args: ['int64'],
    run: (ctx, n) => {
      runs.set(ctx.uuid, (runs.get(ctx.uuid) ?? 0) + 1);
      return n;
    },
  });

  const startWorker = (registry: TaskLookup) =>
    startWorkerRunner({ clients: stack.clients, env: stack.env, registry, concurrency: 4 });

  beforeAll(async () => {
    stack = await getTestStack({ label: 'dlqkill' });
    client = createClient({ env: stack.env, aws: stack.clients });
    cwd = mkdtempSync(join(tmpdir(), 'machinery-dlq-kill-'));
  });

  afterAll(async () => {
    await runner?.stop();
    client?.close();
    await stack?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('loses no message and runs every task exactly once when the redrive is killed and run again', async () => {
    // Prepare: 500 tasks dead-lettered (unregistered), then a worker that knows them
    runner = startWorker(createRegistry([]));
    const sent = await client.sendTasks(
      Array.from({ length: TASKS }, (_, i) =>
        newSignature('echo_n', [{ Name: '', Type: 'int64', Value: i }]),
      ),
    );
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)) === TASKS || undefined,
      { timeoutMs: 120_000 },
    );
    await runner.stop();
    runner = startWorker(createRegistry([echo]));

    // Act: a throttled redrive, SIGKILLed once at least 200 messages are moved
    const first = startMachinery(['dlq', 'redrive', '--yes', '--max-per-second', '40'], {
      env: stack.env,
      cwd,
    });
    const movedSoFar = () =>
      Math.max(0, ...[...first.stderr().matchAll(/redriven: (\d+)\//g)].map((m) => Number(m[1])));
    await waitFor(async () => movedSoFar() >= 200 || undefined, {
      timeoutMs: 60_000,
      describe: () => `200 messages moved; stderr: ${first.stderr()}`,
    });
    first.child.kill('SIGKILL');
    const killed = await first.done;
    const movedBeforeKill = movedSoFar();
    // The batch the killed run had received comes back after its hold (fauxqs counts it in
    // flight until the next receive).
    await sleep((REDRIVE_HOLD_SECONDS + 1) * 1000);
    const second = await machinery(['dlq', 'redrive', '--yes', '--json'], { env: stack.env, cwd });

    // Assess: killed half-way; the second run finishes; every task SUCCESS after one attempt
    expect(killed.signal).toBe('SIGKILL');
    expect(movedBeforeKill).toBeGreaterThanOrEqual(200);
    expect(movedBeforeKill).toBeLessThan(TASKS);
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as { method: string; moved: number };
    expect(result.method).toBe('loop');
    expect(result.moved).toBeGreaterThan(0);
    expect(result.moved).toBeLessThanOrEqual(TASKS - movedBeforeKill);
    await waitFor(async () => runs.size === TASKS || undefined, { timeoutMs: 120_000 });
    await waitFor(
      async () => (await queueDepth(stack.clients.sqs, stack.queueUrls.tasks)) === 0 || undefined,
      { timeoutMs: 60_000 },
    );
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(0);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    for (const handle of sent) {
      expect(await client.getState(handle.uuid)).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    }
  }, 300_000);
});

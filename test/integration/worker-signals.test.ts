/**
 * `machinery worker` in a subprocess on the emulators: SIGTERM stops it gracefully (running tasks
 * finish, unstarted messages are left visible, exit 0) and SIGKILL leaves its tasks to run again
 * after their lease.
 *
 * @module
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AsyncResult } from '../../src/client/async-result.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { newSignature } from '../../src/core/signature.js';
import { queueCounts, waitFor } from './aws-helpers.js';
import { type CliRun, machinery, startMachinery } from './support/cli.js';
import { getTestStack, type TestStack } from './support/stack.js';

const TASKS_MODULE = resolve(import.meta.dirname, 'support/poller-tasks.ts');

let stack: TestStack | undefined;
let client: MachineryClient | undefined;
const workers: CliRun[] = [];

afterEach(async () => {
  for (const w of workers.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.done.catch(() => {});
  }
  client?.close();
  client = undefined;
  await stack?.stop();
  stack = undefined;
});

/** Lines of the runs file: `start|end <uuid> <attempt>`. */
function runs(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

function count(file: string, kind: 'start' | 'end', uuid?: string): number {
  return runs(file).filter(
    (l) => l.startsWith(`${kind} `) && (uuid === undefined || l.includes(uuid)),
  ).length;
}

async function setUp(
  label: string,
): Promise<{ file: string; stack: TestStack; client: MachineryClient }> {
  stack = await getTestStack({ label });
  client = createClient({
    env: stack.env,
    aws: { sqs: stack.clients.sqs, dynamodb: stack.clients.dynamodb },
  });
  const file = join(mkdtempSync(join(tmpdir(), 'poller-runs-')), 'runs.txt');
  writeFileSync(file, '');
  return { file, stack, client };
}

function startWorker(s: TestStack, file: string, extra: readonly string[]): CliRun {
  const run = startMachinery(
    [
      'worker',
      '--tasks',
      TASKS_MODULE,
      '--heartbeat',
      '1',
      '--visibility-timeout',
      '3',
      '--lease',
      '4',
      '--wait',
      '1',
      ...extra,
    ],
    { env: { ...s.env, POLLER_RUNS_FILE: file } },
  );
  workers.push(run);
  return run;
}

function naps(c: MachineryClient, n: number, ms: number): Promise<AsyncResult[]> {
  return c.sendTasks(
    Array.from({ length: n }, () => newSignature('nap', [{ Type: 'int64', Value: ms }])),
  );
}

describe('Command: machinery worker', () => {
  it('on SIGTERM finishes its running tasks, leaves the queued ones visible and exits 0; none lost, none run twice', async () => {
    // Prepare: 6 tasks of 3 s, a worker with 2 slots
    const { file, stack: s, client: c } = await setUp('sigterm');
    const sent = await naps(c, 6, 3_000);
    const first = startWorker(s, file, ['--concurrency', '2', '--grace', '30']);
    await waitFor(async () => count(file, 'start') >= 2 || undefined, {
      timeoutMs: 60_000,
      describe: first.stderr,
    });

    // Act
    first.child.kill('SIGTERM');
    const ended = await first.done;
    const afterStop = await queueCounts(s.clients.sqs, s.queueUrls.tasks);

    // Assess: the two running tasks finished, the rest wait visible
    expect(ended.code).toBe(0);
    expect(count(file, 'start')).toBe(2);
    expect(count(file, 'end')).toBe(2);
    expect(afterStop).toEqual({ visible: 4, inFlight: 0, delayed: 0 });

    // Act: a second worker runs the rest
    const second = startWorker(s, file, ['--concurrency', '2']);
    await Promise.all(sent.map((r) => r.get({ timeoutMs: 60_000, pollMs: 200 })));
    second.child.kill('SIGTERM');
    expect((await second.done).code).toBe(0);

    // Assess: every task ran exactly once
    for (const r of sent) {
      expect(count(file, 'start', r.uuid)).toBe(1);
      expect(count(file, 'end', r.uuid)).toBe(1);
      expect(await c.getState(r.uuid)).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    }
  }, 180_000);

  it('after SIGKILL runs the unfinished tasks again once their lease ends, and they finish', async () => {
    // Prepare: 3 tasks of 4 s on a worker with 3 slots
    const { file, stack: s, client: c } = await setUp('sigkill');
    const sent = await naps(c, 3, 4_000);
    const first = startWorker(s, file, ['--concurrency', '3']);
    await waitFor(async () => count(file, 'start') >= 3 || undefined, {
      timeoutMs: 60_000,
      describe: first.stderr,
    });

    // Act
    first.child.kill('SIGKILL');
    await first.done;
    const second = startWorker(s, file, ['--concurrency', '3']);
    await Promise.all(sent.map((r) => r.get({ timeoutMs: 90_000, pollMs: 200 })));
    second.child.kill('SIGTERM');
    await second.done;

    // Assess: each started twice (attempt 1 killed, attempt 2 finished), ended once
    for (const r of sent) {
      expect(runs(file).filter((l) => l.includes(r.uuid))).toEqual([
        `start ${r.uuid} 1`,
        `start ${r.uuid} 2`,
        `end ${r.uuid} 2`,
      ]);
      expect(await c.getState(r.uuid)).toMatchObject({ state: 'SUCCESS', attempt: 2, crashes: 1 });
    }
  }, 180_000);

  it('lists two running workers with their counts, and drops a killed one after its lapse', async () => {
    // Prepare: two workers with a 3 s lapse, 4 short tasks and one that fails
    const { file, stack: s, client: c } = await setUp('workers');
    const lapse = ['--liveness-lapse', '3'];
    const a = startWorker(s, file, lapse);
    const b = startWorker(s, file, lapse);
    const sent = await naps(c, 4, 200);
    const failing = await c.sendTask(newSignature('nap', [{ Type: 'int64', Value: -1 }]));
    await Promise.all(sent.map((r) => r.get({ timeoutMs: 60_000, pollMs: 200 })));
    await failing.get({ timeoutMs: 60_000, pollMs: 200 }).catch(() => undefined);
    const list = async () => {
      const r = await machinery(['workers', '--json'], { env: s.env });
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as {
        id: string;
        host: string;
        executed: number;
        failed: number;
      }[];
    };

    // Act
    const both = await waitFor(
      async () => {
        const live = await list();
        const executed = live.reduce((n, w) => n + w.executed, 0);
        return live.length === 2 && executed === 5 ? live : undefined;
      },
      { timeoutMs: 30_000 },
    );
    a.child.kill('SIGKILL');
    await a.done;
    const one = await waitFor(
      async () => ((await list()).length === 1 ? await list() : undefined),
      {
        timeoutMs: 30_000,
      },
    );

    // Assess
    expect(both.reduce((n, w) => n + w.failed, 0)).toBe(1);
    expect(both.every((w) => w.host.length > 0)).toBe(true);
    expect(one).toHaveLength(1);
    expect(both.map((w) => w.id)).toContain(one[0]?.id);
    b.child.kill('SIGTERM');
    expect((await b.done).code).toBe(0);
    expect(await list()).toEqual([]);
  }, 180_000);
});

/**
 * `machinery send-workflow` and `machinery status` for workflows, in subprocesses, against a test
 * stack on the emulators whose worker runs in this process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/core/registry.js';
import { formatEta } from '../../src/core/time.js';
import type { EventSourceRunner } from '../../src/local/runner.js';
import { chordTasks } from './support/chord-tasks.js';
import { machinery } from './support/cli.js';
import { getTestStack, type TestStack } from './support/stack.js';
import { startWorkerRunner } from './support/worker.js';

const add = (a: number, b: number) => ({
  Name: 'add',
  Args: [
    { Type: 'int64', Value: a },
    { Type: 'int64', Value: b },
  ],
});
const EXAMPLE_GROUP = [add(1, 1), add(2, 2), add(5, 6)];

describe('Command: machinery send-workflow / status (workflows)', () => {
  let stack: TestStack;
  let runner: EventSourceRunner;
  let dir: string;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'cliwf' });
    runner = startWorkerRunner({
      clients: stack.clients,
      env: stack.env,
      registry: createRegistry(chordTasks(() => {})),
      concurrency: 4,
    });
    dir = mkdtempSync(join(tmpdir(), 'machinery-cli-workflow-'));
  });

  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a workflow file in the test directory and runs `machinery args…` there. */
  function run(args: string[], workflow?: unknown) {
    if (workflow !== undefined) writeFileSync(join(dir, 'workflow.json'), JSON.stringify(workflow));
    return machinery(args, { env: stack.env, cwd: dir });
  }

  it("prints the chord's status document with --wait --json once the callback gave 88 (exit 0), and status shows it", async () => {
    // Act
    const sent = await run(
      ['send-workflow', 'workflow.json', '--wait', '--timeout', '90s', '--json'],
      {
        chord: { group: EXAMPLE_GROUP, callback: { Name: 'multiply' } },
      },
    );
    const doc = JSON.parse(sent.stdout) as Record<string, unknown> & {
      uuid: string;
      callback: { uuid: string };
    };
    const status = await run(['status', doc.uuid, '--json']);
    const callback = await run(['status', doc.callback.uuid, '--json']);

    // Assess
    expect(sent.code).toBe(0);
    expect(sent.stdout.trim().split('\n')).toHaveLength(1);
    expect(doc).toEqual({
      uuid: expect.stringMatching(/^group_/),
      kind: 'chord',
      state: 'SUCCESS',
      total: 3,
      succeeded: 3,
      failed: [],
      waitingOn: [],
      error: null,
      callback: { uuid: expect.stringMatching(/^chord_/), state: 'SUCCESS' },
    });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual(doc);
    expect(JSON.parse(callback.stdout)).toMatchObject({
      kind: 'task',
      name: 'multiply',
      state: 'SUCCESS',
      results: [{ type: 'int64', value: 88 }],
      groupUUID: null,
      groupIndex: null,
      eta: null,
    });
  }, 180_000);

  it('prints the chain result (60) with --wait, and the last step UUID without it', async () => {
    // Prepare
    const chain = {
      chain: [add(2, 2), add(5, 6), { Name: 'multiply', Args: [{ Type: 'int64', Value: 4 }] }],
    };

    // Act
    const waited = await run(
      ['send-workflow', 'workflow.json', '--wait', '--timeout', '90s'],
      chain,
    );
    const sent = await run(['send-workflow', 'workflow.json'], chain);

    // Assess
    expect(waited).toMatchObject({ code: 0, stdout: '60\n' });
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^task_[0-9a-f-]{36}\n$/);
  }, 180_000);

  it("prints a group's members one line each with --wait, and a member's status --json names its group and index", async () => {
    // Act
    const waited = await run(['send-workflow', 'workflow.json', '--wait', '--timeout', '90s'], {
      group: EXAMPLE_GROUP,
      sendConcurrency: 1,
      concurrency: 2,
    });
    const sent = await run(['send-workflow', 'workflow.json', '--json'], { group: [add(3, 4)] });
    const doc = JSON.parse(sent.stdout) as { uuid: string };
    const done = await run(
      ['send-workflow', 'workflow.json', '--wait', '--timeout', '90s', '--json'],
      {
        group: [add(3, 4)],
      },
    );
    const group = JSON.parse(done.stdout) as { uuid: string };
    const plain = await run(['status', group.uuid]);

    // Assess
    expect(waited).toMatchObject({ code: 0, stdout: '2\n4\n11\n' });
    expect(doc).toMatchObject({ kind: 'group', total: 1, callback: null });
    expect(['PENDING', 'STARTED', 'SUCCESS']).toContain((doc as { state?: string }).state);
    expect(group).toMatchObject({ kind: 'group', state: 'SUCCESS', succeeded: 1, total: 1 });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('progress: 1 of 1 succeeded\n');
  }, 180_000);

  it("shows a member task's groupUUID, groupIndex and eta in status --json", async () => {
    // Prepare: a group whose second member has an ETA already due (sent at once, ETA recorded)
    const eta = new Date(Date.now() - 60_000).toISOString();
    const member = { ...add(1, 2), UUID: `task_${crypto.randomUUID()}`, ETA: eta };

    // Act
    const done = await run(
      ['send-workflow', 'workflow.json', '--wait', '--timeout', '90s', '--json'],
      {
        group: [add(1, 1), member],
      },
    );
    const group = JSON.parse(done.stdout) as { uuid: string };
    const status = await run(['status', member.UUID, '--json']);

    // Assess
    expect(done.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      kind: 'task',
      uuid: member.UUID,
      state: 'SUCCESS',
      groupUUID: group.uuid,
      groupIndex: 1,
      eta: formatEta(Date.parse(eta)),
    });
  }, 180_000);

  it('exits 1 naming the failed member of a chord, and status names it failed', async () => {
    // Act
    const sent = await run(
      ['send-workflow', 'workflow.json', '--wait', '--timeout', '90s', '--json'],
      {
        chord: {
          group: [add(1, 1), { Name: 'boom', UUID: 'task_wf-cli-boom' }],
          callback: { Name: 'multiply' },
        },
      },
    );
    const doc = JSON.parse(sent.stdout) as { uuid: string };

    // Assess
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(
      /chord group_\S+ failed at member 1 of 2 \(task task_wf-cli-boom\)/,
    );
    expect(doc).toMatchObject({ kind: 'chord', state: 'FAILURE', failed: ['task_wf-cli-boom'] });
  }, 180_000);

  it('exits 1 for a group UUID with no record', async () => {
    // Act
    const r = await run(['status', 'group_00000000-0000-4000-8000-000000000000']);

    // Assess
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no group group_0{8}-/);
  }, 60_000);
});

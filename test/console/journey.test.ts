/**
 * The web console in a real browser: Debian's chromium (`/usr/bin/chromium`, installed by
 * `.ci/run`) driven by playwright-core, against a console on the local stack's emulators with a
 * worker running. A screenshot of each page goes to `test-artifacts/console/` (git-ignored).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromLocalValues } from '../../src/cli/config.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { type ConsoleServer, startConsole } from '../../src/console/server.js';
import type { TaskLookup } from '../../src/core/processor.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { newSignature } from '../../src/core/signature.js';
import type { EventSourceRunner } from '../../src/local/runner.js';
import { queueDepth, waitFor } from '../integration/aws-helpers.js';
import { getTestStack, type TestStack } from '../integration/support/stack.js';
import { startWorkerRunner } from '../integration/support/worker.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/console');
const CHROMIUM = '/usr/bin/chromium';
/** Flags for this machine's closed network (no background connections, no sandbox as root). */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PAGES = ['queues', 'task', 'workflow', 'dlq', 'workers', 'schedules'] as const;

const int64 = (Value: number) => ({ Name: '', Type: 'int64', Value }) as const;

describe('Console: the browser journey on the local stack', () => {
  let stack: TestStack;
  let client: MachineryClient;
  let server: ConsoleServer;
  let runner: EventSourceRunner | undefined;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let releaseMembers: () => void = () => {};
  const membersReleased = new Promise<void>((r) => {
    releaseMembers = r;
  });

  const add = defineTask({
    name: 'add',
    rest: 'int64',
    run: (_c, ...xs) => xs.reduce((s, x) => s + x, 0),
  });
  // Every member but the first waits until the test lets it finish.
  const slowAdd = defineTask({
    name: 'slow_add',
    rest: 'int64',
    run: async (_c, ...xs) => {
      if (xs[0] !== 1) await membersReleased;
      return xs.reduce((s, x) => s + x, 0);
    },
  });
  const multiply = defineTask({
    name: 'multiply',
    rest: 'int64',
    run: (_c, ...xs) => xs.reduce((p, x) => p * x, 1),
  });
  const late = defineTask({
    name: 'late_add',
    rest: 'int64',
    run: (_c, ...xs) => xs.reduce((s, x) => s + x, 0),
  });
  const startWorker = (registry: TaskLookup) =>
    startWorkerRunner({
      clients: stack.clients,
      env: stack.env,
      registry,
      concurrency: 4,
    });
  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const go = async (hash: string) => {
    await page.goto(`${server.url}#/${hash}`);
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await getTestStack({ label: 'console-ui' });
    client = createClient({ env: stack.env, aws: stack.clients });
    server = await startConsole({
      config: configFromLocalValues(stack.env),
      port: 0,
      sampleMs: 500,
    });
    profile = mkdtempSync(join(tmpdir(), 'machinery-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    releaseMembers();
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await runner?.stop();
    await server?.close();
    client?.close();
    await stack?.stop();
  });

  it('shows a poison task under dead letters with its reason, redrives it with progress, then SUCCESS on its task page', async () => {
    // Prepare: a worker that does not know late_add; the task is dead-lettered
    runner = startWorker(createRegistry([add, slowAdd, multiply]));
    const sent = await client.sendTask(newSignature('late_add', [int64(20), int64(22)]));
    await waitFor(
      async () =>
        (await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)) === 1 || undefined,
    );

    // Act: the dead letters page lists it with its reason; its signature page shows the message
    await go('dlq/task');
    const row = page.locator('tr', { hasText: sent.uuid });
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    const rowText = await row.innerText();
    await shot('dlq');
    await row.getByRole('link', { name: 'signature' }).click();
    await page.getByRole('heading', { name: 'Signature' }).waitFor();
    const signature = await page.locator('pre').innerText();
    await shot('dlq-signature');

    // Act: a worker that knows late_add; redrive the selected message behind the confirmation
    await runner.stop();
    runner = startWorker(createRegistry([add, slowAdd, multiply, late]));
    await go('dlq/task');
    await page.locator('tr', { hasText: sent.uuid }).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Redrive selected' }).click();
    await page.getByRole('button', { name: 'Confirm redrive' }).click();
    const status = page.locator('#dlq-status [role="status"]');
    await expect.poll(() => status.innerText(), { timeout: 30_000 }).toMatch(/redrove 1 .*done/);
    await shot('dlq-redriven');
    await go(`task/${sent.uuid}`);
    await expect
      .poll(() => page.locator('main dl').innerText(), { timeout: 60_000 })
      .toContain('SUCCESS');
    const taskText = await page.locator('main dl').innerText();
    await shot('task');

    // Assess
    expect(rowText).toContain('late_add');
    expect(rowText).toContain('unregistered');
    expect(JSON.parse(signature)).toMatchObject({ UUID: sent.uuid, Name: 'late_add' });
    expect(taskText).toMatch(/results\s+\[42\]/);
    expect(taskText).toMatch(/attempts\s+1/);
    expect(await queueDepth(stack.clients.sqs, stack.queueUrls.tasksDlq)).toBe(0);
  });

  it("shows a chord's progress while its members run, then the callback's result", async () => {
    // Prepare: three members, two held until released; multiply as the callback
    const chord = await client.sendChord(
      [
        newSignature('slow_add', [int64(1), int64(1)]),
        newSignature('slow_add', [int64(2), int64(2)]),
        newSignature('slow_add', [int64(5), int64(6)]),
      ],
      newSignature('multiply', []),
    );

    // Act: the workflow page while two members are held
    await go(`workflow/${chord.uuid}`);
    const details = page.locator('main dl');
    await expect.poll(() => details.innerText(), { timeout: 60_000 }).toContain('1 of 3 succeeded');
    const during = await details.innerText();
    await shot('workflow-running');
    releaseMembers();
    await expect
      .poll(() => details.innerText(), { timeout: 60_000 })
      .toMatch(/callback result\s+\[88\]/);
    const after = await details.innerText();
    await shot('workflow-done');

    // Assess
    expect(during).toContain('chord');
    expect(during).not.toContain('callback result');
    expect(after).toContain('3 of 3 succeeded');
    expect(after).toContain('SUCCESS');
  });

  it('refreshes the queue counts live, with the samples taken since it started', async () => {
    // Prepare
    const count = async () =>
      Number(/^(\d+) sample/.exec(await page.locator('main p.muted').innerText())?.[1] ?? 0);
    await go('queues');
    await page.locator('main table').waitFor();
    const first = await count();

    // Act: the page reads the samples again without being reloaded
    await expect.poll(count, { timeout: 30_000 }).toBeGreaterThan(first);
    const rows = await page.locator('main tbody tr').allInnerTexts();

    // Assess
    expect(first).toBeGreaterThan(0);
    expect(rows.map((r) => r.split(/\s/)[0])).toEqual(
      expect.arrayContaining(['task', 'delay', 'task-dlq', 'delay-dlq', 'scheduler-dlq']),
    );
  });

  it('hides the actions on a read-only console', async () => {
    // Prepare
    const readOnly = await startConsole({
      config: configFromLocalValues(stack.env),
      port: 0,
      readOnly: true,
      sampleMs: 60_000,
    });

    try {
      // Act
      await page.goto(`${readOnly.url}#/dlq/task`);
      await page.getByRole('button', { name: 'Refresh' }).waitFor();
      const buttons = await page.getByRole('button').allInnerTexts();
      const source = await page.locator('#source').innerText();

      // Assess
      expect(buttons).toEqual(['Refresh']);
      expect(await page.getByRole('checkbox').count()).toBe(0);
      expect(source).toContain('read-only');
    } finally {
      await readOnly.close();
    }
  });

  it('shows every page without horizontal scrolling at 390 × 844 and at 1280 × 800', async () => {
    // Prepare
    const widths: Record<string, number> = {};

    // Act
    for (const viewport of [
      { width: 390, height: 844 },
      { width: 1280, height: 800 },
    ]) {
      await page.setViewportSize(viewport);
      for (const name of PAGES) {
        await go(name);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle');
        widths[`${name}@${viewport.width}`] = await page.evaluate<number>(
          'document.documentElement.scrollWidth - window.innerWidth',
        );
        await shot(`${name}-${viewport.width}`);
      }
    }

    // Assess
    for (const [where, overflow] of Object.entries(widths)) {
      expect({ where, overflow }).toEqual({ where, overflow: 0 });
    }
  });
});

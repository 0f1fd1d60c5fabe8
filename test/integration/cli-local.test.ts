/**
 * The `machinery` command in subprocesses against a running `machinery local up`: the output
 * contract (stdout only the result, --json only JSON), every exit code, exact 64-bit values, the
 * local.env file, the single-instance lock, and clean shutdown (SIGTERM, SIGKILL).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbDocumentClient } from '../../src/aws/config.js';
import { fromLocalEnv, resolveSettings } from '../../src/aws/settings.js';
import { createClient } from '../../src/client/index.js';
import { newSignature } from '../../src/core/signature.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const MAIN = join(ROOT, 'src/cli/main.ts');
const READY = 'machinery local stack ready: .machinery/local.env\n';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `machinery <args>` (through tsx, as `npm run machinery` does) in `cwd`. */
function machinery(
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [TSX, MAIN, ...args], {
      cwd,
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The environment without any machinery or AWS configuration (so local.env is the source). */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('MACHINERY_') && !k.startsWith('AWS_')) env[k] = v;
  }
  return env;
}

interface LocalUp {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  readyMs: number;
}

/** Starts `machinery local up` in `cwd` and resolves once its ready line is printed. */
async function startLocalUp(cwd: string, args: string[] = []): Promise<LocalUp> {
  const started = performance.now();
  const child = spawn(process.execPath, [TSX, MAIN, 'local', 'up', ...args], {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const ready = new Promise<void>((done, fail) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes(READY)) done();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    void exited.then((code) =>
      fail(new Error(`local up exited with ${code} before ready:\n${stderr}`)),
    );
  });
  await ready;
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    readyMs: performance.now() - started,
  };
}

/** Pids of DynamoDB Local JVMs listening on `port` (from /proc). */
function dynamoDbJvmPids(port: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const i = args.indexOf('-port');
      if (args.some((a) => a.includes('DynamoDBLocal')) && i >= 0 && args[i + 1] === port) {
        pids.push(Number(entry));
      }
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls `check` every 100 ms until it is true or `ms` pass; returns the last value. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

function readEnvFile(cwd: string): Record<string, string> {
  const text = readFileSync(join(cwd, '.machinery/local.env'), 'utf8');
  return Object.fromEntries(
    text
      .trimEnd()
      .split('\n')
      .map((line) => {
        const i = line.indexOf('=');
        return [line.slice(0, i), line.slice(i + 1)];
      }),
  );
}

/** How many task_states items of the local up in `cwd` carry this task name (a consistent scan). */
async function itemsNamed(cwd: string, taskName: string): Promise<number> {
  const source = fromLocalEnv(join(cwd, '.machinery/local.env'));
  const { settings, aws } = resolveSettings(source, { required: ['taskStatesTable'] });
  const dynamodb = createDynamoDbDocumentClient(aws);
  try {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamodb.send(
        new ScanCommand({
          TableName: settings.taskStatesTable,
          ConsistentRead: true,
          FilterExpression: 'TaskName = :name',
          ExpressionAttributeValues: { ':name': taskName },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return count;
  } finally {
    dynamodb.destroy();
  }
}

function dynamoDbPort(env: Record<string, string>): string {
  return new URL(env.AWS_ENDPOINT_URL_DYNAMODB as string).port;
}

describe('Command: machinery (against a running local up)', () => {
  let dir: string;
  let up: LocalUp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'machinery-cli-'));
    up = await startLocalUp(dir);
    // not a timed assertion: the number goes to the README
    process.stderr.write(`[cli-local] local up ready in ${Math.round(up.readyMs)} ms\n`);
  }, 120_000);

  afterAll(async () => {
    if (up && up.child.exitCode === null) {
      up.child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints exactly the ready line on stdout and writes local.env with the 18 variables', () => {
    // Act
    const env = readEnvFile(dir);

    // Assess
    expect(up.stdout()).toBe(READY);
    expect(Object.keys(env)).toEqual([
      'AWS_REGION',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_ENDPOINT_URL_SQS',
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_SCHEDULER',
      'MACHINERY_TASK_QUEUE_URL',
      'MACHINERY_DLQ_URL',
      'MACHINERY_DELAY_QUEUE_URL',
      'MACHINERY_DELAY_DLQ_URL',
      'MACHINERY_SCHEDULER_DLQ_URL',
      'MACHINERY_TASK_STATES_TABLE',
      'MACHINERY_GROUP_METAS_TABLE',
      'MACHINERY_SCHEDULE_GROUP',
      'MACHINERY_SCHEDULER_ROLE_ARN',
      'MACHINERY_HIGH_TASK_QUEUE_URL',
      'MACHINERY_HIGH_DLQ_URL',
      'MACHINERY_WORKERS_TABLE',
    ]);
    expect(env.MACHINERY_HIGH_TASK_QUEUE_URL).toMatch(/tasks-high\.fifo$/);
    expect(env.MACHINERY_HIGH_DLQ_URL).toMatch(/tasks-high-dlq\.fifo$/);
    expect(readFileSync(join(dir, '.machinery/local.env'), 'utf8')).not.toMatch(/export|"|'/);
  });

  it('sends a task and prints its result with --wait (exit 0)', async () => {
    // Act
    const r = await machinery(['send', 'add', 'int64:1', 'int64:2', '--wait'], dir);

    // Assess
    expect(r).toMatchObject({ code: 0, stdout: '3\n' });
  });

  it('runs a task sent with --queue high: the high-priority queue has its own runner', async () => {
    // Act
    const r = await machinery(
      ['send', 'add', 'int64:2', 'int64:5', '--queue', 'high', '--wait'],
      dir,
    );

    // Assess
    expect(r).toMatchObject({ code: 0, stdout: '7\n' });
  });

  it('prints only the task UUID without --wait, and status finds it (exit 0)', async () => {
    // Prepare
    const sent = await machinery(['send', 'concat', '[]string:["a,b","c"]'], dir);
    const uuid = sent.stdout.trim();

    // Act
    let doc: Record<string, unknown> = {};
    const done = await eventuallyAsync(async () => {
      const r = await machinery(['status', uuid, '--json'], dir);
      expect(r.code).toBe(0);
      doc = JSON.parse(r.stdout) as Record<string, unknown>;
      return doc.state === 'SUCCESS';
    }, 30_000);

    // Assess
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^task_[0-9a-f-]{36}\n$/);
    expect(done).toBe(true);
    expect(Object.keys(doc)).toEqual([
      'kind',
      'uuid',
      'name',
      'state',
      'results',
      'error',
      'createdAt',
      'updatedAt',
      'attempts',
      'retries',
      'groupUUID',
      'groupIndex',
      'eta',
    ]);
    expect(doc).toMatchObject({
      kind: 'task',
      uuid,
      name: 'concat',
      state: 'SUCCESS',
      results: [{ type: 'string', value: 'a,bc' }],
      error: null,
      attempts: 1,
      retries: 0,
      groupUUID: null,
      groupIndex: null,
      eta: null,
    });
    expect(new Date(doc.createdAt as string).toISOString()).toBe(doc.createdAt);
  });

  it('prints a readable status without --json', async () => {
    // Prepare
    const waited = await machinery(['send', 'split', 'string:foo', '--wait'], dir);
    const uuid = (await machinery(['send', 'split', 'string:foo'], dir)).stdout.trim();

    // Act
    let r: Result = { code: null, stdout: '', stderr: '' };
    await eventuallyAsync(async () => {
      r = await machinery(['status', uuid], dir);
      return r.stdout.includes('SUCCESS');
    }, 30_000);

    // Assess
    expect(waited).toMatchObject({ code: 0, stdout: '["f","o","o"]\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^uuid: +${uuid}\nname: +split\nstate: +SUCCESS\n`));
  });

  it('prints the --json document of a successful task', async () => {
    // Act
    const r = await machinery(['send', 'sum_floats', '[]float64:1.5,2.7', '--wait', '--json'], dir);

    // Assess
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['uuid', 'state', 'results', 'error']);
    expect(doc).toMatchObject({
      state: 'SUCCESS',
      results: [{ type: 'float64', value: 4.2 }],
      error: null,
    });
  });

  it('round-trips a 64-bit value beyond 2^53 exactly, plain and as JSON', async () => {
    // Act
    const plain = await machinery(
      ['send', 'sum_ints', '[]int64:9007199254740993,0', '--wait'],
      dir,
    );
    const json = await machinery(
      ['send', 'sum_ints', '[]int64:[9007199254740993]', '--wait', '--json'],
      dir,
    );

    // Assess
    expect(plain).toMatchObject({ code: 0, stdout: '9007199254740993\n' });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      results: [{ type: 'int64', value: '9007199254740993' }],
    });
  });

  it('runs a task with --eta through the delay queue and the forwarder, never before its ETA', async () => {
    // Prepare
    const sentAt = Date.now();

    // Act
    const r = await machinery(
      ['send', 'add', 'int64:40', 'int64:2', '--eta', '+2s', '--wait'],
      dir,
    );
    const sent = (
      await machinery(['send', 'add', 'int64:1', '--eta', '+2s', '--wait', '--json'], dir)
    ).stdout;
    const doc = JSON.parse(sent) as { uuid: string };
    const status = JSON.parse((await machinery(['status', doc.uuid, '--json'], dir)).stdout) as {
      state: string;
      updatedAt: string;
    };

    // Assess
    expect(r).toMatchObject({ code: 0, stdout: '42\n' });
    expect(status.state).toBe('SUCCESS');
    expect(Date.parse(status.updatedAt)).toBeGreaterThanOrEqual(sentAt + 2_000);
  });

  it('exits 1 when the task fails, still printing the --json document', async () => {
    // Act
    const plain = await machinery(['send', 'panic_task', '--wait'], dir);
    const json = await machinery(['send', 'panic_task', '--wait', '--json'], dir);

    // Assess
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/failed/);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      state: 'FAILURE',
      results: null,
      error: expect.any(String),
    });
  });

  it('exits 1 for an unknown task UUID, with the message on stderr', async () => {
    // Act
    const r = await machinery(['status', 'task_00000000-0000-4000-8000-000000000000'], dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/task_00000000-0000-4000-8000-000000000000.*(unknown|expired)/);
  });

  it('exits 1 for a lean task not started yet, naming the lean lane; cancel still revokes it', async () => {
    // Prepare: a lean task 10 minutes out has no record until it starts
    const sent = await machinery(
      ['send', 'add', 'int64:1', 'int64:2', '--lane', 'lean', '--eta', '+10m'],
      dir,
    );
    const uuid = sent.stdout.trim();

    // Act
    const before = await machinery(['status', uuid], dir);
    const cancelled = await machinery(['cancel', uuid], dir);
    const after = await machinery(['status', uuid, '--json'], dir);

    // Assess
    expect(sent.code).toBe(0);
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/queued without a record.*lean/);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ uuid, state: 'FAILURE', error: 'revoked' });
  });

  it('exits 3 when --wait times out, printing the last state with --json', async () => {
    // Act
    const r = await machinery(
      ['send', 'add', 'int64:1', '--eta', '+10m', '--wait', '--timeout', '1s', '--json'],
      dir,
    );

    // Assess
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'PENDING', results: null });
    expect(r.stderr).toMatch(/timed out after 1s/);
  });

  it('exits 2 for a malformed TYPE:VALUE, before sending anything', async () => {
    // Act
    const r = await machinery(['send', 'add', 'int64:one'], dir);

    // Assess
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/int64:one/);
  });

  it('exits 2 for a value that does not fit its type', async () => {
    // Act
    const r = await machinery(['send', 'add', 'uint8:300'], dir);

    // Assess
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('exits 2 with instructions when there is no configuration', async () => {
    // Prepare
    const empty = mkdtempSync(join(tmpdir(), 'machinery-cli-empty-'));

    // Act
    const r = await machinery(['status', 'task_1'], empty);
    rmSync(empty, { recursive: true, force: true });

    // Assess
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/machinery local up/);
  });

  it('reports an unreachable endpoint as one plain sentence (exit 1)', async () => {
    // Prepare
    const env = {
      ...readEnvFile(dir),
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9',
    };

    // Act
    const r = await machinery(['status', 'task_1'], dir, env);

    // Assess
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not be reached/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 for a garbage MACHINERY_TASK_QUEUE_URL in the environment, before any write', async () => {
    // Prepare
    const name = `config_probe_${randomUUID().slice(0, 8)}`;
    const env = { ...readEnvFile(dir), MACHINERY_TASK_QUEUE_URL: 'garbage' };

    // Act
    const refused = await machinery(['send', name], dir, env);
    const control = await machinery(['send', name], dir);

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^machinery: MACHINERY_TASK_QUEUE_URL in the environment .*is not an SQS queue URL .*got "garbage"/,
    );
    expect(control.code).toBe(0);
    expect(await itemsNamed(dir, name)).toBe(1); // the control's PENDING record only
  });

  it('names the Scheduler variables to set for an ETA over 15 minutes away, before any write', async () => {
    // Prepare
    const name = `config_probe_${randomUUID().slice(0, 8)}`;
    const env: Record<string, string | undefined> = {
      ...readEnvFile(dir),
      MACHINERY_SCHEDULE_GROUP: undefined,
      MACHINERY_SCHEDULER_ROLE_ARN: undefined,
    };

    // Act
    const r = await machinery(['send', name, '--eta', '+1h'], dir, env);

    // Assess
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^machinery: MACHINERY_SCHEDULE_GROUP and MACHINERY_SCHEDULER_ROLE_ARN are not set in the environment .*which needs EventBridge Scheduler/,
    );
    expect(await itemsNamed(dir, name)).toBe(0);
  });

  it("exits 2 for status '' (a usage error, not a DynamoDB error)", async () => {
    // Act
    const empty = await machinery(['status', ''], dir);
    const blank = await machinery(['status', '  '], dir);

    // Assess
    for (const r of [empty, blank]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^machinery: status: the task UUID is empty/);
    }
  });

  it('lets the SDK reach the running stack through fromLocalEnv(), whatever process.env says', async () => {
    // Prepare
    const client = createClient({ source: fromLocalEnv(join(dir, '.machinery/local.env')) });

    // Act
    const result = await client.sendTask(
      newSignature('add', [
        { Name: '', Type: 'int64', Value: 20 },
        { Name: '', Type: 'int64', Value: 22 },
      ]),
    );
    const results = await result.get({ timeoutMs: 30_000 });
    client.close();

    // Assess
    expect(results).toEqual([42]);
  });

  it('refuses a second local up in the same directory and leaves the first intact', async () => {
    // Prepare
    const before = readFileSync(join(dir, '.machinery/local.env'), 'utf8');

    // Act
    const r = await machinery(['local', 'up'], dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/already running/);
    expect(readFileSync(join(dir, '.machinery/local.env'), 'utf8')).toBe(before);
  });

  it('stops everything on SIGTERM: local.env removed, no process left', async () => {
    // Prepare
    const env = readEnvFile(dir);
    const pid = Number(readFileSync(join(dir, '.machinery/local.pid'), 'utf8'));
    const jvms = dynamoDbJvmPids(dynamoDbPort(env));

    // Act
    up.child.kill('SIGTERM');
    const code = await up.exited;

    // Assess
    expect(jvms).toHaveLength(1);
    expect(code).toBe(0);
    expect(existsSync(join(dir, '.machinery/local.env'))).toBe(false);
    expect(existsSync(join(dir, '.machinery/local.pid'))).toBe(false);
    expect(await eventually(() => !isAlive(pid), 10_000)).toBe(true);
    expect(await eventually(() => jvms.every((p) => !isAlive(p)), 10_000)).toBe(true);
  });
});

describe('Command: machinery local up (killed)', () => {
  it('leaves no DynamoDB Local JVM behind when the CLI process is SIGKILLed, and the next run replaces the stale file', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'machinery-cli-kill-'));
    const first = await startLocalUp(dir);
    const port = dynamoDbPort(readEnvFile(dir));
    const cli = Number(readFileSync(join(dir, '.machinery/local.pid'), 'utf8'));
    const jvms = dynamoDbJvmPids(port);

    // Act
    process.kill(cli, 'SIGKILL');
    await first.exited;
    const jvmGone = await eventually(() => jvms.every((p) => !isAlive(p)), 20_000);
    const staleLeft = existsSync(join(dir, '.machinery/local.env'));
    const second = await startLocalUp(dir);
    second.child.kill('SIGTERM');
    const secondCode = await second.exited;
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(jvms).toHaveLength(1);
    expect(jvmGone).toBe(true);
    expect(staleLeft).toBe(true);
    expect(second.stdout()).toBe(READY);
    expect(secondCode).toBe(0);
  }, 120_000);

  it('runs the tasks of a --tasks module, and stops everything when its launcher (the tsx wrapper) is SIGKILLed', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'machinery-cli-orphan-'));
    writeFileSync(
      join(dir, 'my-tasks.mjs'),
      'export const tasks = { greet: (who) => "hello " + who };\n',
    );
    const up = await startLocalUp(dir, ['--tasks', 'my-tasks.mjs']);
    const port = dynamoDbPort(readEnvFile(dir));
    const cli = Number(readFileSync(join(dir, '.machinery/local.pid'), 'utf8'));
    const jvms = dynamoDbJvmPids(port);
    const greeted = await machinery(['send', 'greet', 'string:world', '--wait'], dir);

    // Act
    up.child.kill('SIGKILL');
    const cliGone = await eventually(() => !isAlive(cli), 20_000);
    const jvmGone = await eventually(() => jvms.every((p) => !isAlive(p)), 20_000);
    const envRemoved = !existsSync(join(dir, '.machinery/local.env'));
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(greeted).toMatchObject({ code: 0, stdout: 'hello world\n' });
    expect(cli).not.toBe(up.child.pid);
    expect(cliGone).toBe(true);
    expect(jvmGone).toBe(true);
    expect(envRemoved).toBe(true);
  }, 120_000);
});

/** Like {@link eventually} for async checks, polling every 200 ms. */
async function eventuallyAsync(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

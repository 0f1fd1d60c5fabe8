import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startDynamoDbLocal } from '../../src/local/dynamodb.js';

const CHILD = fileURLToPath(new URL('./support/dynamodb-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `alive`, or `gone` when the pid no longer exists or is a zombie (dead, not yet reaped). */
function state(pid: number): 'alive' | 'gone' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return status === 'Z' || status === 'X' ? 'gone' : 'alive';
  } catch {
    try {
      process.kill(pid, 0);
      return 'alive';
    } catch {
      return 'gone';
    }
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<'alive' | 'gone'> {
  const deadline = Date.now() + timeoutMs;
  while (state(pid) === 'alive' && Date.now() < deadline) await sleep(100);
  return state(pid);
}

/** Every live process: pid → parent pid and command line (from /proc). */
function processTable(): Map<number, { ppid: number; cmdline: string }> {
  const table = new Map<number, { ppid: number; cmdline: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      table.set(Number(entry), { ppid, cmdline });
    } catch {
      // vanished meanwhile
    }
  }
  return table;
}

/** Live DynamoDB Local JVMs whose parent is this process. */
function ourDynamoDbChildren(): number[] {
  return [...processTable()]
    .filter(([, p]) => p.ppid === process.pid && p.cmdline.includes('DynamoDBLocal'))
    .map(([pid]) => pid);
}

/** The pids of every descendant of `root`, with their command lines. */
function descendants(root: number): Map<number, string> {
  const table = processTable();
  const found = new Map<number, string>();
  const parents = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of table) {
      if (parents.has(p.ppid) && !parents.has(pid)) {
        parents.add(pid);
        found.set(pid, p.cmdline);
        grew = true;
      }
    }
  }
  return found;
}

interface ChildInfo {
  pid: number;
  watchdogPid: number | undefined;
  endpoint: string;
}

const children: ChildProcess[] = [];

function startChild(args: string[] = []): Promise<{ child: ChildProcess; info: ChildInfo }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ child, info: JSON.parse(line) as ChildInfo });
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
}

describe('Function: startDynamoDbLocal (process lifetime)', () => {
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it('ends the JVM through its watchdog when the parent is killed by SIGKILL', async () => {
    // Prepare
    const { child, info } = await startChild();
    expect(state(info.pid)).toBe('alive');
    expect(info.watchdogPid).toBeGreaterThan(0);

    // Act
    child.kill('SIGKILL');

    // Assess
    expect(await waitGone(info.pid, 20_000)).toBe('gone');
    expect(await waitGone(info.watchdogPid as number, 5_000)).toBe('gone');
  });

  it('kills the JVM when the parent gets SIGTERM, then lets the signal end the parent', async () => {
    // Prepare: no watchdog, so only the signal hook can end the JVM in time.
    const { child, info } = await startChild(['--no-watchdog']);
    expect(state(info.pid)).toBe('alive');
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );

    // Act
    child.kill('SIGTERM');

    // Assess
    expect(await exited).toBe('SIGTERM');
    expect(await waitGone(info.pid, 5_000)).toBe('gone');
  });

  it('leaves no DynamoDB Local process of ours after stop()', async () => {
    // Prepare
    const ddb = await startDynamoDbLocal();
    expect(ourDynamoDbChildren()).toContain(ddb.pid);

    // Act
    await ddb.stop();

    // Assess
    expect(state(ddb.pid)).toBe('gone');
    expect(await waitGone(ddb.watchdogPid as number, 5_000)).toBe('gone');
    expect(ourDynamoDbChildren()).toEqual([]);
  });
});

describe('Command: machinery local up (launcher lifetime)', () => {
  const READY = 'machinery local stack ready: .machinery/local.env';

  it('stops everything and removes its files when npm, its launcher, is killed by SIGKILL', async () => {
    // Prepare: a scratch package whose `machinery` script is the repository's (`tsx src/cli/main.ts`
    // with an absolute path), run by npm from a non-interactive bash script that outlives npm.
    const dir = mkdtempSync(join(tmpdir(), 'machinery-launcher-'));
    const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const script = (rootPackage.scripts.machinery ?? '').replace(
      'src/cli/main.ts',
      join(ROOT, 'src/cli/main.ts'),
    );
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'launcher-test', private: true, scripts: { machinery: script } }),
    );
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(MACHINERY|AWS)_/.test(k)),
    );
    const shell = spawn(
      'bash',
      ['-c', 'npm run machinery -- local up & echo "npm $!"; wait; sleep 600'],
      { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    shell.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    shell.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      const deadline = Date.now() + 150_000;
      while (!stdout.includes(READY)) {
        if (Date.now() > deadline) throw new Error(`local up not ready:\n${stdout}\n${stderr}`);
        await sleep(200);
      }
      const npmPid = Number(/^npm (\d+)$/m.exec(stdout)?.[1]);
      const started = descendants(npmPid);
      const localUpPid = Number(readFileSync(join(dir, '.machinery/local.pid'), 'utf8'));
      const jvms = [...started]
        .filter(([, cmd]) => cmd.includes('DynamoDBLocal.jar'))
        .map(([p]) => p);
      expect(started.has(localUpPid)).toBe(true);
      expect(jvms).toHaveLength(1);
      expect(existsSync(join(dir, '.machinery/local.env'))).toBe(true);

      // Act
      process.kill(npmPid, 'SIGKILL');

      // Assess
      for (const pid of [npmPid, ...started.keys()]) {
        expect({ pid, cmd: started.get(pid), state: await waitGone(pid, 30_000) }).toEqual({
          pid,
          cmd: started.get(pid),
          state: 'gone',
        });
      }
      expect(stderr).toContain('the process that started it exited: stopping the local stack');
      expect(stderr).toContain('machinery: local stack stopped');
      expect(existsSync(join(dir, '.machinery/local.env'))).toBe(false);
      expect(existsSync(join(dir, '.machinery/local.pid'))).toBe(false);
      expect(state(shell.pid as number)).toBe('alive');
    } finally {
      // the script's process group: the script's sleep, and whatever is left when the test failed
      try {
        process.kill(-(shell.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

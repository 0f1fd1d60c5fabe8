import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/** Live DynamoDB Local JVMs whose parent is this process. */
function ourDynamoDbChildren(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === process.pid && cmdline.includes('DynamoDBLocal')) found.push(Number(entry));
    } catch {
      // vanished meanwhile
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

import { basename } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  launcherChain,
  launcherChainIntact,
  type ProcessInfo,
  type ProcessTable,
  psProcessTable,
  systemProcessTable,
  watchLauncher,
} from '../../../src/cli/launcher.js';
import { MAX_TIMEOUT_MS } from '../../../src/core/clock.js';

/** A process table held in a map; `kill` and `reparent` change it as the kernel would. */
function fakeTable(self: number, processes: Record<number, [ppid: number, executable: string]>) {
  const rows = new Map<number, ProcessInfo>(
    Object.entries(processes).map(([pid, [ppid, executable]]) => [
      Number(pid),
      { ppid, executable, zombie: false },
    ]),
  );
  const table: ProcessTable = { self, info: (pid) => rows.get(pid) };
  /** The process exits: its children go to pid 1; it stays a zombie when `reaped` is false. */
  const kill = (pid: number, reaped = true) => {
    for (const row of rows.values()) if (row.ppid === pid) row.ppid = 1;
    const row = rows.get(pid);
    if (row && !reaped) row.zombie = true;
    else rows.delete(pid);
  };
  return { table, kill };
}

/**
 * `npm run machinery -- local up` from a script started in a terminal: sshd (1000) → interactive
 * bash (1001) → script bash (1002) → npm (1003) → sh (1004) → tsx (1005) → the CLI (1006).
 */
function npmRunFromScript() {
  return fakeTable(1006, {
    1000: [1, '/usr/sbin/sshd'],
    1001: [1000, '/usr/bin/bash'],
    1002: [1001, '/usr/bin/bash'],
    1003: [1002, '/usr/bin/node'],
    1004: [1003, '/usr/bin/dash'],
    1005: [1004, '/repo/node_modules/node/bin/node'],
    1006: [1005, '/repo/node_modules/node/bin/node'],
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Function: launcherChain', () => {
  it('follows node processes and shells started by node, from the parent up to npm', () => {
    // Prepare
    const { table } = npmRunFromScript();

    // Act
    const chain = launcherChain(table);

    // Assess
    expect(chain).toEqual([1005, 1004, 1003]);
  });

  it('keeps a script shell started by node in the chain', () => {
    // Prepare: a Node.js program (2000) runs `bash -c 'npm run …'` (2001)
    const { table } = fakeTable(2005, {
      1999: [1, '/usr/bin/bash'],
      2000: [1999, '/usr/bin/node'],
      2001: [2000, '/bin/bash'],
      2002: [2001, '/usr/bin/node'],
      2003: [2002, '/bin/sh'],
      2004: [2003, '/usr/bin/node'],
      2005: [2004, '/usr/bin/node'],
    });

    // Act
    const chain = launcherChain(table);

    // Assess
    expect(chain).toEqual([2004, 2003, 2002, 2001, 2000]);
  });

  it('holds only the parent when the parent is a shell not started by node', () => {
    // Prepare: `node bin/machinery.mjs local up` typed in an interactive shell
    const { table } = fakeTable(3002, {
      3000: [1, '/usr/sbin/sshd'],
      3001: [3000, '/usr/bin/bash'],
      3002: [3001, '/usr/bin/node'],
    });

    // Act
    const chain = launcherChain(table);

    // Assess
    expect(chain).toEqual([3001]);
  });

  it('is empty when the parent is pid 1', () => {
    // Prepare
    const { table } = fakeTable(4000, { 4000: [1, '/usr/bin/node'] });

    // Act
    const chain = launcherChain(table);

    // Assess
    expect(chain).toEqual([]);
  });
});

describe('Function: launcherChainIntact', () => {
  it('is true while every process of the chain runs under the next one', () => {
    // Prepare
    const { table } = npmRunFromScript();
    const chain = launcherChain(table);

    // Act
    const intact = launcherChainIntact(chain, table);

    // Assess
    expect(intact).toBe(true);
  });

  it('is false once npm is killed (its shell is re-parented), reaped or not', () => {
    // Prepare
    const reaped = npmRunFromScript();
    const zombie = npmRunFromScript();
    const chain = launcherChain(reaped.table);

    // Act
    reaped.kill(1003);
    zombie.kill(1003, false);

    // Assess
    expect(launcherChainIntact(chain, reaped.table)).toBe(false);
    expect(launcherChainIntact(chain, zombie.table)).toBe(false);
  });

  it('is false once the tsx CLI is killed (the CLI is re-parented)', () => {
    // Prepare
    const { table, kill } = npmRunFromScript();
    const chain = launcherChain(table);

    // Act
    kill(1005);

    // Assess
    expect(launcherChainIntact(chain, table)).toBe(false);
  });

  it('stays true when the script above npm exits (npm keeps running, re-parented)', () => {
    // Prepare
    const { table, kill } = npmRunFromScript();
    const chain = launcherChain(table);

    // Act
    kill(1002);

    // Assess
    expect(launcherChainIntact(chain, table)).toBe(true);
  });

  it('checks the parent and signal 0 of every pid when reading the table is not cheap', () => {
    // Prepare
    const table = psProcessTable();
    const gone = 2 ** 22 + 1;

    // Act
    const intact = launcherChainIntact([process.ppid], table);
    const oneGone = launcherChainIntact([process.ppid, gone], table);
    const otherParent = launcherChainIntact([process.pid], table);

    // Assess
    expect(intact).toBe(true);
    expect(oneGone).toBe(false);
    expect(otherParent).toBe(false);
  });
});

describe('Function: watchLauncher', () => {
  it('calls onExit once when the chain breaks, and never after dispose', () => {
    // Prepare
    vi.useFakeTimers();
    const broken = npmRunFromScript();
    const disposed = npmRunFromScript();
    let brokenCalls = 0;
    let disposedCalls = 0;
    const watch = watchLauncher(() => brokenCalls++, { table: broken.table, pollMs: 100 });
    const other = watchLauncher(() => disposedCalls++, { table: disposed.table, pollMs: 100 });
    vi.advanceTimersByTime(1_000);
    const beforeKill = brokenCalls;

    // Act
    other.dispose();
    broken.kill(1003);
    disposed.kill(1003);
    vi.advanceTimersByTime(1_000);

    // Assess
    expect(watch.chain).toEqual([1005, 1004, 1003]);
    expect(beforeKill).toBe(0);
    expect(brokenCalls).toBe(1);
    expect(disposedCalls).toBe(0);
  });

  it('polls at most every 2^31-1 ms when asked for a longer interval', () => {
    // Prepare
    vi.useFakeTimers();
    const { table, kill } = npmRunFromScript();
    let calls = 0;
    watchLauncher(() => calls++, { table, pollMs: 2 ** 40 });
    kill(1003);

    // Act
    vi.advanceTimersByTime(1_000);
    const early = calls;
    vi.advanceTimersByTime(MAX_TIMEOUT_MS);

    // Assess
    expect(early).toBe(0);
    expect(calls).toBe(1);
  });

  it('starts no timer when there is nothing to watch', () => {
    // Prepare
    vi.useFakeTimers();
    const { table } = fakeTable(4000, { 4000: [1, '/usr/bin/node'] });

    // Act
    const watch = watchLauncher(() => {}, { table });

    // Assess
    expect(watch.chain).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Function: psProcessTable', () => {
  it('reads this process through ps', () => {
    // Prepare
    const table = psProcessTable();

    // Act
    const me = table.info(process.pid);

    // Assess
    expect(table.cheap).toBe(false);
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.zombie).toBe(false);
    expect(table.info(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('Function: systemProcessTable', () => {
  it('reads this process: its parent and its node executable', () => {
    // Prepare
    const table = systemProcessTable();

    // Act
    const me = table.info(process.pid);

    // Assess
    expect(table.self).toBe(process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(basename(me?.executable ?? '')).toBe(basename(process.execPath));
    expect(me?.zombie).toBe(false);
    expect(table.info(2 ** 22 + 1)).toBeUndefined();
  });
});

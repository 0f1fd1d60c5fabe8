/**
 * Watching the launcher of a long-running command (`machinery local up`) so the command never
 * outlives it.
 *
 * `npm run machinery -- local up` runs as a chain of processes: npm (node) → `sh -c` → the tsx
 * CLI (node) → the CLI (node). Killing npm (e.g. `kill %1` in a script, or a SIGKILL) signals
 * nothing down that chain: the shell is re-parented and everything below it keeps running. The
 * launcher chain is therefore every ancestor, from the parent upwards, that is a Node.js process
 * or a shell started by one (npm, npx, pnpm and yarn run scripts through a shell); it ends below
 * the first other ancestor (an interactive shell, a script's shell started from a terminal, an
 * init process). The chain is broken, and the command told to stop, when any process of it exits
 * or is re-parented.
 *
 * A script's own shell ends the chain unless a Node.js process started it: a script that runs
 * `npm run machinery -- local up &` and exits leaves the stack running as long as npm runs.
 *
 * On Linux the chain is read from `/proc` (the executable of each ancestor, its parent, whether it
 * is a zombie); elsewhere from `ps` once at start, then watched with `kill(pid, 0)`. Where neither
 * works only the parent is watched.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { MAX_TIMEOUT_MS } from '../core/clock.js';
import { isProcessAlive } from './local-state.js';

/** What the launcher watch needs to know about one process. */
export interface ProcessInfo {
  /** Its parent's pid. */
  ppid: number;
  /** Path (or name) of its executable, e.g. `/usr/bin/node`, `/usr/bin/dash`. */
  executable: string;
  /** Whether it exited and waits to be reaped. */
  zombie: boolean;
}

/**
 * A view of the process table.
 *
 * @example
 * ```ts
 * const table: ProcessTable = { self: process.pid, info: (pid) => ({ ppid: 1, executable: 'node', zombie: false }) };
 * ```
 */
export interface ProcessTable {
  /** This process's pid. */
  self: number;
  /** The process, or `undefined` when it does not exist (or cannot be read). */
  info(pid: number): ProcessInfo | undefined;
  /**
   * Whether reading a process is cheap enough to repeat at every poll; when `false`, the poll
   * checks `process.ppid` and `kill(pid, 0)` instead. @default true
   */
  cheap?: boolean;
}

const NODE_EXECUTABLES = /^(node|nodejs|node\d+|bun|deno)(\.exe)?$/i;
const SHELL_EXECUTABLES = /^(sh|bash|dash|zsh|ksh|mksh|ash|busybox)$/;
/** Longest launcher chain followed (npm → sh → tsx is 3). */
const MAX_CHAIN = 16;

function procInfo(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let executable = '';
  try {
    executable = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // another user's process, or a zombie: its executable is unknown
  }
  return { ppid: Number(fields[1]), executable, zombie: fields[0] === 'Z' };
}

function psInfo(pid: number): ProcessInfo | undefined {
  try {
    const out = execFileSync('ps', ['-o', 'ppid=,stat=,comm=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const match = /^(\d+)\s+(\S+)\s+(.*)$/.exec(out);
    if (match === null) return undefined;
    return {
      ppid: Number(match[1]),
      zombie: (match[2] ?? '').startsWith('Z'),
      executable: match[3] ?? '',
    };
  } catch {
    return undefined;
  }
}

/**
 * The process table as `ps` shows it (one `ps` run per lookup, so not `cheap`): where there is no
 * `/proc`.
 *
 * @example
 * ```ts
 * const parent = psProcessTable().info(process.ppid);
 * ```
 */
export function psProcessTable(): ProcessTable {
  return { self: process.pid, info: psInfo, cheap: false };
}

/**
 * The process table of this machine: `/proc` on Linux, else {@link psProcessTable}.
 *
 * @example
 * ```ts
 * const parent = systemProcessTable().info(process.ppid);
 * ```
 */
export function systemProcessTable(): ProcessTable {
  if (procInfo(process.pid) === undefined) return psProcessTable();
  return { self: process.pid, info: procInfo, cheap: true };
}

function isNode(info: ProcessInfo | undefined): boolean {
  return info !== undefined && NODE_EXECUTABLES.test(basename(info.executable));
}

function isShell(info: ProcessInfo | undefined): boolean {
  return info !== undefined && SHELL_EXECUTABLES.test(basename(info.executable));
}

/**
 * The launcher chain of a process: its ancestors from the parent upwards while each is a Node.js
 * process or a shell whose parent is one (see the module notes). Always holds the parent, unless
 * the parent is pid 1 or unknown.
 *
 * @example
 * ```ts
 * launcherChain(); // e.g. [tsxPid, shPid, npmPid] under `npm run machinery -- local up`
 * ```
 */
export function launcherChain(table: ProcessTable = systemProcessTable()): number[] {
  const chain: number[] = [];
  let pid = table.info(table.self)?.ppid ?? process.ppid;
  while (pid > 1 && chain.length < MAX_CHAIN) {
    const info = table.info(pid);
    const launcherLayer =
      chain.length === 0 || isNode(info) || (isShell(info) && isNode(table.info(info?.ppid ?? 0)));
    if (info === undefined || !launcherLayer) break;
    chain.push(pid);
    pid = info.ppid;
  }
  if (chain.length === 0 && pid > 1) chain.push(pid);
  return chain;
}

/**
 * A running launcher watch.
 *
 * @example
 * ```ts
 * const watch = watchLauncher(() => stop());
 * watch.dispose();
 * ```
 */
export interface LauncherWatch {
  /** The watched pids, parent first. */
  readonly chain: readonly number[];
  /** Stops watching. */
  dispose(): void;
}

/** Options of {@link watchLauncher}. */
export interface WatchLauncherOptions {
  /** How often the chain is checked, ms (at most `MAX_TIMEOUT_MS`). @default 500 */
  pollMs?: number;
  /** The process table. @default systemProcessTable() */
  table?: ProcessTable;
}

/**
 * Whether the launcher chain recorded by {@link launcherChain} still stands: every process of it
 * alive (not a zombie) and each one's parent the next one up (the first one's child is `self`).
 *
 * @example
 * ```ts
 * const chain = launcherChain(table);
 * if (!launcherChainIntact(chain, table)) stop();
 * ```
 */
export function launcherChainIntact(chain: readonly number[], table: ProcessTable): boolean {
  if (table.cheap === false) {
    // without /proc: the parent unchanged and every process of the chain answering signal 0
    return process.ppid === chain[0] && chain.every((pid) => isProcessAlive(pid));
  }
  let child = table.self;
  for (const pid of chain) {
    const childInfo = table.info(child);
    const info = table.info(pid);
    if (childInfo?.ppid !== pid || info === undefined || info.zombie) return false;
    child = pid;
  }
  return true;
}

/**
 * Calls `onExit` once when the launcher chain breaks: a process of it exited or was re-parented.
 * The poll timer does not keep the process alive.
 *
 * @example
 * ```ts
 * const watch = watchLauncher(() => request('the process that started it exited'));
 * // … on shutdown
 * watch.dispose();
 * ```
 */
export function watchLauncher(
  onExit: () => void,
  options: WatchLauncherOptions = {},
): LauncherWatch {
  const table = options.table ?? systemProcessTable();
  const chain = launcherChain(table);
  let timer: NodeJS.Timeout | undefined;
  const dispose = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  if (chain.length > 0) {
    timer = setInterval(
      () => {
        if (launcherChainIntact(chain, table)) return;
        dispose();
        onExit();
      },
      Math.min(options.pollMs ?? 500, MAX_TIMEOUT_MS),
    );
    timer.unref();
  }
  return { chain, dispose };
}

/**
 * The files `machinery local up` keeps in `.machinery/` of the current directory:
 *
 * - `local.pid`: the pid of the running `local up`, created exclusively before the stack starts.
 *   A second `local up` finds it, checks the pid with `process.kill(pid, 0)` and refuses to start
 *   while that process lives (exit code 1); a file left by a killed run (the pid is gone) is
 *   replaced.
 * - `local.env`: the configuration (see `formatEnvFile`), written atomically (temporary file +
 *   rename) once the stack is ready, removed on shutdown.
 *
 * @module
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LOCAL_ENV_FILE } from './config.js';
import { OperationError } from './errors.js';

/**
 * Where `machinery local up` records its pid, relative to the current directory.
 *
 * @example
 * ```ts
 * const pid = Number(readFileSync(join(cwd, LOCAL_PID_FILE), 'utf8'));
 * ```
 */
export const LOCAL_PID_FILE = '.machinery/local.pid';

/**
 * Whether a process with this pid exists (signal 0: `EPERM` means it exists but is not ours).
 *
 * @example
 * ```ts
 * if (!isProcessAlive(pid)) rmSync(pidFile);
 * ```
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The lock a running `local up` holds on its directory.
 *
 * @example
 * ```ts
 * const lock = acquireLocalLock(process.cwd());
 * try { lock.writeEnv(text); } finally { lock.release(); }
 * ```
 */
export interface LocalLock {
  /** Absolute path of `.machinery/local.env`. */
  readonly envPath: string;
  /** Absolute path of `.machinery/local.pid`. */
  readonly pidPath: string;
  /** Writes `local.env` atomically. */
  writeEnv(text: string): void;
  /** Removes `local.env` and (when it is still ours) `local.pid`. Idempotent. */
  release(): void;
}

function readPid(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Takes the `local up` lock of `cwd`: creates `.machinery/local.pid` exclusively. When the file
 * exists and names a live process, throws {@link OperationError} (`LOCAL_STACK_RUNNING`, exit code
 * 1); when it names a dead one (a killed run), removes it and the stale `local.env` and takes the
 * lock.
 *
 * @example
 * ```ts
 * const lock = acquireLocalLock(process.cwd());
 * ```
 */
export function acquireLocalLock(
  cwd: string,
  options: { pid?: number; isAlive?: (pid: number) => boolean } = {},
): LocalLock {
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? isProcessAlive;
  const envPath = join(cwd, LOCAL_ENV_FILE);
  const pidPath = join(cwd, LOCAL_PID_FILE);
  mkdirSync(dirname(pidPath), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(pidPath, `${pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e;
    }
    const other = readPid(pidPath);
    if (other !== undefined && other !== pid && isAlive(other)) {
      throw new OperationError(
        'LOCAL_STACK_RUNNING',
        `a local stack is already running in ${cwd} (pid ${other}): stop it first (Ctrl-C in its terminal, or kill ${other})`,
      );
    }
    if (other === undefined && Date.now() - mtimeMs(pidPath) < 2_000) {
      throw new OperationError(
        'LOCAL_STACK_RUNNING',
        `another \`machinery local up\` is starting in ${cwd}: wait for it or stop it first`,
      );
    }
    // a stale lock of a run that was killed: replace it (and its local.env)
    rmSync(pidPath, { force: true });
    rmSync(envPath, { force: true });
  }
  let released = false;
  return {
    envPath,
    pidPath,
    writeEnv(text: string) {
      const tmp = `${envPath}.${pid}.tmp`;
      writeFileSync(tmp, text, { mode: 0o600 });
      renameSync(tmp, envPath);
    },
    release() {
      if (released) return;
      released = true;
      rmSync(envPath, { force: true });
      if (readPid(pidPath) === pid) rmSync(pidPath, { force: true });
    },
  };
}

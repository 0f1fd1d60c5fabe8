/**
 * `machinery local up [--tasks <module>]`: the whole system on this machine, in the foreground.
 *
 * 1. Takes the directory's lock (`.machinery/local.pid`): a second `local up` in the same
 *    directory while one runs exits 1 with a clear message; a lock left by a killed run is replaced.
 * 2. Starts the local stack, the worker (task queue) and the forwarder (delay queue); the Scheduler
 *    emulator delivers schedules into the delay queue.
 * 3. Writes `.machinery/local.env` and prints exactly one stdout line,
 *    `machinery local stack ready: .machinery/local.env`. Everything else (progress, the worker's
 *    logs, what tasks print) goes to stderr.
 * 4. Runs until SIGINT, SIGTERM or SIGHUP — or until a process of its launcher chain exits (npm,
 *    its script shell or the tsx CLI was killed; see `../launcher.ts`) — then stops everything,
 *    removes `local.env` and the lock, and exits 0. A second signal while stopping exits at once (1); DynamoDB Local's watchdog still
 *    stops the JVM. After a SIGKILL of this process, the watchdog stops the JVM within a second and
 *    the next `local up` replaces the stale files.
 *
 * @module
 */

import { assertEmulatorPackages } from '../../local/emulator-packages.js';
import { formatEnvFile, LOCAL_ENV_FILE } from '../config.js';
import { describeError, EXIT } from '../errors.js';
import { watchLauncher } from '../launcher.js';
import { type LocalRuntime, startLocalRuntime } from '../local-runtime.js';
import { acquireLocalLock } from '../local-state.js';
import type { CliIO, LocalUpOptions } from '../main.js';
import { redirectStdoutToStderr } from '../stdio.js';
import { exampleLocalTasks, loadTasksModule, sendHint } from '../task-loader.js';

/** The one line `local up` prints on stdout once the stack is ready (a contract). */
export const READY_LINE = `machinery local stack ready: ${LOCAL_ENV_FILE}`;

/**
 * Resolves with a reason once the process is asked to stop: SIGINT, SIGTERM, SIGHUP, or its
 * launcher chain breaking. `onRepeat` runs on a second signal.
 */
function stopRequests(onRepeat: (signal: string) => void): {
  requested: () => string | undefined;
  wait: Promise<string>;
  dispose(): void;
} {
  let reason: string | undefined;
  let resolveWait!: (r: string) => void;
  const wait = new Promise<string>((r) => {
    resolveWait = r;
  });
  const request = (why: string) => {
    if (reason !== undefined) {
      onRepeat(why);
      return;
    }
    reason = why;
    resolveWait(why);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => {
    const handler = () => request(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const watch = watchLauncher(() => request('the process that started it exited'));
  return {
    requested: () => reason,
    wait,
    dispose() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      watch.dispose();
    },
  };
}

/**
 * Runs `machinery local up`; resolves to the exit code once stopped.
 *
 * @example
 * ```ts
 * process.exitCode = await localUp({}, io);
 * ```
 */
export async function localUp(opts: LocalUpOptions, io: CliIO): Promise<number> {
  // A bad --tasks module is a usage error before anything starts or is locked.
  const tasks = opts.tasks ? await loadTasksModule(opts.tasks, io.cwd) : await exampleLocalTasks();
  // So are missing emulator packages (optional peer dependencies of an installed package).
  assertEmulatorPackages();
  const lock = acquireLocalLock(io.cwd);
  const restoreStdout = redirectStdoutToStderr();
  const stop = stopRequests((signal) => {
    io.stderr(`machinery: ${signal} again: exiting now\n`);
    lock.release();
    process.exit(EXIT.failure);
  });
  let runtime: LocalRuntime | undefined;
  try {
    io.stderr('machinery: starting the local stack (SQS, DynamoDB Local, Scheduler emulator)…\n');
    const started = performance.now();
    runtime = await startLocalRuntime({
      tasks,
      onError: (e) => io.stderr(`machinery: local runner: ${describeError(e, false).message}\n`),
    });
    if (stop.requested() === undefined) {
      lock.writeEnv(formatEnvFile(runtime.stack.env));
      io.stdout(`${READY_LINE}\n`);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const hint = sendHint(tasks);
      io.stderr(
        `machinery: ready in ${seconds} s; worker tasks: ${tasks.names.join(', ')}\n` +
          (hint === undefined
            ? 'machinery: Ctrl-C stops\n'
            : `machinery: try \`npm run -s machinery -- ${hint}\` in this directory; Ctrl-C stops\n`),
      );
    }
    const reason = await stop.wait;
    io.stderr(`machinery: ${reason}: stopping the local stack…\n`);
  } finally {
    try {
      await runtime?.stop();
    } finally {
      lock.release();
      stop.dispose();
      restoreStdout();
    }
  }
  io.stderr('machinery: local stack stopped\n');
  return EXIT.ok;
}

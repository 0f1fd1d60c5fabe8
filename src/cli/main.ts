/**
 * The `machinery` command.
 *
 * ```
 * machinery local up [--tasks <module>]
 * machinery send <task> [TYPE:VALUE …] [--group-id ID] [--retry N] [--eta WHEN] [--wait] [--timeout 30s] [--json] [--local]
 * machinery status <uuid> [--json] [--local]
 * machinery demo
 * ```
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
  retry?: number;
  eta?: string;
  wait?: boolean;
  timeout: number;
  json?: boolean;
  local?: boolean;
}

/** Options of `machinery status`. */
export interface StatusOptions {
  json?: boolean;
  local?: boolean;
}

/** Options of `machinery local up`. */
export interface LocalUpOptions {
  tasks?: string;
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
Configuration (one source, the first that applies): --local (.machinery/local.env);
the environment when MACHINERY_TASK_QUEUE_URL is set; .machinery/local.env in this directory.
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
    .action(async (opts: LocalUpOptions) => {
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
    .option('--local', 'use .machinery/local.env, whatever the environment says')
    .action(async (task: string, args: string[], opts: SendOptions) => {
      const { send } = await import('./commands/send.js');
      setExitCode(await send(task, args, opts, io));
    });

  program
    .command('status')
    .description("print a task's state and results")
    .argument('<uuid>', 'task UUID (task_…)')
    .option('--json', 'print {"uuid","name","state","results","error","createdAt","updatedAt"}')
    .option('--local', 'use .machinery/local.env, whatever the environment says')
    .action(async (uuid: string, opts: StatusOptions) => {
      const { status } = await import('./commands/status.js');
      setExitCode(await status(uuid, opts, io));
    });

  program
    .command('demo')
    .description(
      "run machinery's example tasks end to end on the local stack and print a table of results",
    )
    .action(async () => {
      const { demo } = await import('./commands/demo.js');
      setExitCode(await demo(io));
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

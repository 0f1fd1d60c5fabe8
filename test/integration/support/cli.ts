/**
 * The `machinery` command in a subprocess (Node with tsx's loader: one process, so a signal sent
 * to the child reaches the command itself), with an environment holding no machinery or AWS
 * configuration but what the test passes.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
/** tsx's loader, by URL: found from here whatever the subprocess's directory. */
const TSX_LOADER = import.meta.resolve('tsx');

/**
 * How a `machinery` subprocess ended.
 *
 * @example
 * ```ts
 * const r: CliResult = { code: 0, stdout: '[]\n', stderr: '' };
 * ```
 */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A running `machinery` subprocess.
 *
 * @example
 * ```ts
 * const run = startMachinery(['dlq', 'redrive', '--yes'], { env: stack.env });
 * const r = await run.done;
 * ```
 */
export interface CliRun {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  done: Promise<CliResult>;
}

/**
 * The process environment without any `MACHINERY_*` or `AWS_*` variable.
 *
 * @example
 * ```ts
 * spawn(cmd, args, { env: { ...cleanEnv(), ...stack.env } });
 * ```
 */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('MACHINERY_') && !k.startsWith('AWS_')) env[k] = v;
  }
  return env;
}

/**
 * Starts `machinery <args>` with {@link cleanEnv} plus `env`, in `cwd` (default: this process's).
 *
 * @example
 * ```ts
 * const run = startMachinery(['dlq', 'list', '--json'], { env: stack.env });
 * ```
 */
export function startMachinery(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): CliRun {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...cleanEnv(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliResult>((ok, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => ok({ code, signal, stdout, stderr }));
  });
  return { child, stderr: () => stderr, done };
}

/**
 * Runs `machinery <args>` to its end.
 *
 * @example
 * ```ts
 * const { code, stdout } = await machinery(['status', uuid, '--json'], { env: stack.env });
 * ```
 */
export function machinery(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return startMachinery(args, options).done;
}

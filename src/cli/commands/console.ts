/**
 * `machinery console [--port N] [--local | --stack NAME] [--read-only]`: serves the web console
 * (`src/console/server.ts`) on 127.0.0.1 with the operator's own configuration and AWS
 * credentials, which never reach the page. Prints one stdout line, the URL; stops on SIGINT,
 * SIGTERM or SIGHUP and exits 0. A port in use exits 1; a bad `--port` or configuration exits 2.
 *
 * @module
 */
import { startConsole } from '../../console/server.js';
import { resolveCliConfig, type SourceFlags } from '../config.js';
import { EXIT, OperationError, UsageError } from '../errors.js';
import type { CliIO } from '../main.js';

/**
 * Options of `machinery console`, as commander parses them.
 *
 * @example
 * ```ts
 * const opts: ConsoleCommandOptions = { port: '8642', local: true, readOnly: true };
 * ```
 */
export interface ConsoleCommandOptions extends SourceFlags {
  /** The port on 127.0.0.1, 0 for any free one. @default '8642' */
  port?: string;
  /** Hide and refuse every action. @default false */
  readOnly?: boolean;
}

/**
 * Parses `--port`: a whole number from 0 to 65535.
 *
 * @example
 * ```ts
 * parsePort('8642'); // 8642
 * ```
 */
export function parsePort(text: string): number {
  const port = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || port > 65_535) {
    throw new UsageError(`console: --port must be a whole number from 0 to 65535, got '${text}'`);
  }
  return port;
}

/**
 * Runs `machinery console` until a signal; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await consoleCommand({ local: true, port: '0' }, io);
 * ```
 */
export async function consoleCommand(
  opts: ConsoleCommandOptions,
  io: CliIO,
  signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'],
): Promise<number> {
  const port = opts.port === undefined ? undefined : parsePort(opts.port);
  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  let server: Awaited<ReturnType<typeof startConsole>>;
  try {
    server = await startConsole({
      config,
      readOnly: opts.readOnly === true,
      ...(port === undefined ? {} : { port }),
    });
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'CONSOLE_LISTEN') {
      throw new OperationError('CONSOLE_LISTEN', e.message, { cause: e });
    }
    throw e;
  }
  io.stdout(`${server.url}\n`);
  io.stderr(
    `machinery console: serving ${config.describe}${opts.readOnly ? ' (read-only)' : ''}; Ctrl-C stops\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      for (const s of signals) process.off(s, stop);
      resolve();
    };
    for (const s of signals) process.on(s, stop);
  });
  await server.close();
  io.stderr('machinery console: stopped\n');
  return EXIT.ok;
}

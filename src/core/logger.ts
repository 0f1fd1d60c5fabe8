/**
 * The pluggable logger of core: four methods taking a message and structured fields. Adapt any
 * logger to it (Powertools Logger, pino, console…); core ships a JSON-lines console logger and a
 * silent one.
 *
 * @module
 */

/**
 * Structured fields of a log entry.
 *
 * @example
 * ```ts
 * const f: LogFields = { uuid: 'task_1', attempt: 2 };
 * ```
 */
export type LogFields = Record<string, unknown>;

/**
 * A logger. Methods must not throw.
 *
 * @example
 * ```ts
 * const logger: Logger = {
 *   debug: () => {},
 *   info: (msg, fields) => console.log(msg, fields),
 *   warn: (msg, fields) => console.warn(msg, fields),
 *   error: (msg, fields) => console.error(msg, fields),
 * };
 * ```
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Log levels, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * A log level.
 *
 * @example
 * ```ts
 * const level: LogLevel = 'warn';
 * ```
 */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A logger that drops everything.
 *
 * @example
 * ```ts
 * createProcessor({ registry, backend, broker, logger: noopLogger });
 * ```
 */
export const noopLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** Makes a field value JSON-safe: errors as {name, code, message}, bigints as decimal strings. */
function safeValue(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (typeof value === 'object' && value !== null) {
    if (seen.has(value)) return '<circular>';
    seen.add(value);
    if (Array.isArray(value)) return value.map((v) => safeValue(v, seen));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, safeValue(v, seen)]));
  }
  if (typeof value === 'function' || typeof value === 'symbol') return String(value);
  return value;
}

/**
 * A logger writing one JSON object per line (`{"level","time","message",...fields}`), the format
 * CloudWatch Logs Insights reads. Entries below `level` are dropped.
 *
 * @example
 * ```ts
 * const logger = createConsoleLogger({ level: 'debug', fields: { service: 'worker' } });
 * logger.info('task succeeded', { uuid: 'task_1' });
 * ```
 */
export function createConsoleLogger(
  options: {
    /** Least severe level written. @default 'info' */
    level?: LogLevel;
    /** Fields added to every entry. @default {} */
    fields?: LogFields;
    /** Where lines go. @default console.log for debug/info, console.error for warn/error */
    write?: (line: string, level: LogLevel) => void;
    /** Clock of the `time` field (epoch ms). @default Date.now */
    now?: () => number;
  } = {},
): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? 'info');
  const base = options.fields ?? {};
  const write =
    options.write ??
    ((line: string, level: LogLevel) =>
      level === 'warn' || level === 'error' ? console.error(line) : console.log(line));
  const now = options.now ?? Date.now;
  const entry =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const record = safeValue(
        { level, time: new Date(now()).toISOString(), message, ...base, ...fields },
        new WeakSet(),
      );
      write(JSON.stringify(record), level);
    };
  return { debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error') };
}

/**
 * A logger adding `fields` to every entry of `logger`.
 *
 * @example
 * ```ts
 * const log = childLogger(logger, { uuid: sig.UUID });
 * log.info('claimed'); // fields include uuid
 * ```
 */
export function childLogger(logger: Logger, fields: LogFields): Logger {
  return {
    debug: (m, f) => logger.debug(m, { ...fields, ...f }),
    info: (m, f) => logger.info(m, { ...fields, ...f }),
    warn: (m, f) => logger.warn(m, { ...fields, ...f }),
    error: (m, f) => logger.error(m, { ...fields, ...f }),
  };
}

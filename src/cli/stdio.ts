/**
 * Keeping stdout for results only while workers run in-process (`local up`, `demo`): their logs
 * (Powertools writes JSON lines to stdout) and anything a task prints go to stderr instead.
 *
 * @module
 */

/**
 * Sends everything written to `process.stdout` to `process.stderr` until the returned function
 * is called. Writers captured before the call (the CLI's own `io.stdout`) keep writing to stdout.
 *
 * @example
 * ```ts
 * const restore = redirectStdoutToStderr();
 * try { await runWorkers(); } finally { restore(); }
 * ```
 */
export function redirectStdoutToStderr(): () => void {
  const stdout = process.stdout;
  const original = Object.getOwnPropertyDescriptor(stdout, 'write');
  const toStderr = process.stderr.write.bind(process.stderr) as typeof stdout.write;
  Object.defineProperty(stdout, 'write', { value: toStderr, configurable: true, writable: true });
  return () => {
    if (original) Object.defineProperty(stdout, 'write', original);
    else delete (stdout as { write?: unknown }).write;
  };
}

/**
 * Keeps the test output readable: the worker writes CloudWatch embedded-metric-format lines to
 * stdout for every task (as it must in Lambda), and tests that run thousands of tasks in-process
 * would print thousands of them. This setup drops whole EMF lines (`{"_aws":…`) from stdout; every
 * other write goes through. Tests that assert metrics read them with `captureEmf()`
 * (`test/integration/support/emf.ts`), which sits in front of this filter while it captures.
 * `MACHINERY_TEST_SHOW_EMF=1` prints them again.
 *
 * @module
 */
if (process.env.MACHINERY_TEST_SHOW_EMF !== '1') {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    if (!text.startsWith('{"_aws":'))
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    const kept = text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('{"_aws":'))
      .join('\n');
    if (kept !== '') return (write as (...args: unknown[]) => boolean)(`${kept}\n`, ...rest);
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stdout.write;
}

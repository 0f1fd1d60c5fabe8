import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError as AwsConfigError } from '../../../src/aws/errors.js';
import {
  describeError,
  OperationError,
  UsageError,
  WaitTimeoutError,
} from '../../../src/cli/errors.js';
import { runCli } from '../../../src/cli/main.js';
import { InfrastructureError } from '../../../src/core/errors.js';
import { fakeIO } from '../support/settings.js';

describe('Function: runCli', () => {
  it('prints the help on stdout and exits 0 with --help', async () => {
    // Prepare
    const io = fakeIO();

    // Act
    const code = await runCli(['--help'], io);

    // Assess
    expect(code).toBe(0);
    expect(io.out.join('')).toMatch(/Usage: machinery/);
    expect(io.out.join('')).toMatch(/local[\s\S]*send[\s\S]*status[\s\S]*demo/);
    expect(io.err).toEqual([]);
  });

  it.each([['--version'], ['-V']])(
    'prints the package version on stdout and exits 0 with %s',
    async (flag) => {
      // Prepare
      const io = fakeIO();
      const { version } = JSON.parse(
        readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
      ) as { version: string };

      // Act
      const code = await runCli([flag], io);

      // Assess
      expect(code).toBe(0);
      expect(io.out.join('')).toBe(`${version}\n`);
      expect(io.err).toEqual([]);
    },
  );

  it('says in the help of local up what a tasks module may export, and no `worker` handler', async () => {
    // Prepare
    const io = fakeIO();

    // Act
    const code = await runCli(['local', 'up', '--help'], io);

    // Assess
    const help = io.out.join('').replace(/\s+/g, ' ');
    expect(code).toBe(0);
    expect(help).toContain('`registry`');
    expect(help).toContain('tasks as named exports');
    expect(help).not.toContain('handler');
  });

  it.each([
    ['an unknown command', ['frobnicate']],
    ['an unknown option', ['send', 'add', '--bogus']],
    ['a missing task name', ['send']],
    ['an unknown --lane', ['send', 'add', '--lane', 'cheap']],
    ['a bad --retry', ['send', 'add', '--retry', 'three']],
    ['a negative --retry', ['send', 'add', '--retry', '-1']],
    ['a bad --timeout', ['send', 'add', '--wait', '--timeout', 'soon']],
    ['a missing uuid', ['status']],
    ['too many arguments', ['status', 'task_1', 'task_2']],
    ['no command', []],
  ])('exits 2 on %s, with the message on stderr only', async (_what, argv) => {
    // Prepare
    const io = fakeIO();

    // Act
    const code = await runCli(argv, io);

    // Assess
    expect(code).toBe(2);
    expect(io.out).toEqual([]);
    expect(io.err.join('')).not.toBe('');
  });

  it('explains the timeout grammar for a bad --timeout', async () => {
    // Prepare
    const io = fakeIO();

    // Act
    await runCli(['send', 'add', '--timeout', 'soon'], io);

    // Assess
    expect(io.err.join('')).toMatch(/invalid --timeout 'soon'.*30s/);
  });
});

describe('Function: describeError', () => {
  it.each([
    ['a usage error', new UsageError('bad'), 2],
    ['a failed operation', new OperationError('X', 'bad'), 1],
    ['a wait timeout', new WaitTimeoutError('slow'), 3],
    ['a configuration error of the AWS layer', new AwsConfigError('MACHINERY_X is not set'), 2],
    ['an infrastructure error', new InfrastructureError('MISSING_QUEUE', 'no queue'), 1],
  ])('maps %s to exit code %i', (_what, error, exitCode) => {
    // Act
    const described = describeError(error, false);

    // Assess
    expect(described).toEqual({ message: error.message, exitCode });
  });

  it('turns a raw AWS SDK error into one plain sentence', () => {
    // Prepare
    const raw = Object.assign(new Error('The specified queue does not exist.'), {
      name: 'QueueDoesNotExist',
      $metadata: { httpStatusCode: 400 },
      $fault: 'client',
    });

    // Act
    const described = describeError(raw, false);

    // Assess
    expect(described.exitCode).toBe(1);
    expect(described.message).toMatch(/queue .*does not exist/);
    expect(described.message).not.toMatch(/\n/);
  });

  it('turns a refused connection into an unreachable endpoint sentence', () => {
    // Prepare
    const raw = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });

    // Act
    const described = describeError(raw, false);

    // Assess
    expect(described.message).toMatch(/could not be reached/);
  });

  it('reports a missing region as a configuration error', () => {
    // Act
    const described = describeError(new Error('Region is missing'), false);

    // Assess
    expect(described.exitCode).toBe(2);
    expect(described.message).toMatch(/AWS_REGION/);
  });

  it('hides the stack of an internal error unless debugging', () => {
    // Prepare
    const error = new TypeError('x is undefined');

    // Act
    const quiet = describeError(error, false);
    const debug = describeError(error, true);

    // Assess
    expect(quiet.message).toBe('internal error: x is undefined');
    expect(debug.message).toMatch(/internal error: x is undefined\nTypeError/);
  });
});

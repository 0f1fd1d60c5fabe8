import { describe, expect, it } from 'vitest';
import { dlqPurge, dlqRedrive, type Terminal } from '../../../src/cli/commands/dlq.js';
import { UsageError } from '../../../src/cli/errors.js';
import { runCli } from '../../../src/cli/main.js';
import { createProgress } from '../../../src/cli/progress.js';
import { bodyTask, isDlqName } from '../../../src/client/dlq.js';
import { fakeIO } from '../support/settings.js';

/** A terminal that answers `answer` and records the questions. */
function fakeTerminal(interactive: boolean, answer = ''): Terminal & { asked: string[] } {
  const asked: string[] = [];
  return {
    interactive,
    asked,
    ask: async (q) => {
      asked.push(q);
      return answer;
    },
  };
}

describe('Function: createProgress', () => {
  it('redraws one bar in place on a terminal and ends it with a newline', () => {
    // Prepare
    const out: string[] = [];
    const p = createProgress({
      write: (s) => out.push(s),
      terminal: true,
      label: 'moved',
      width: 10,
    });

    // Act
    p.update(0, 4);
    p.update(2, 4);
    p.done();

    // Assess
    expect(out).toEqual([
      '\r[..........] moved: 0/4 (0%)',
      '\r[#####.....] moved: 2/4 (50%)',
      '\n',
    ]);
  });

  it('prints a plain line per tenth of the total and the last figures when not on a terminal', () => {
    // Prepare
    const out: string[] = [];
    const p = createProgress({ write: (s) => out.push(s), terminal: false, label: 'moved' });

    // Act
    for (const n of [0, 5, 10, 15, 20, 95, 97]) p.update(n, 100);
    p.done();

    // Assess
    expect(out).toEqual([
      'moved: 0/100 (0%)\n',
      'moved: 10/100 (10%)\n',
      'moved: 20/100 (20%)\n',
      'moved: 95/100 (95%)\n',
      'moved: 97/100 (97%)\n',
    ]);
  });

  it('counts in hundreds when the total is unknown', () => {
    // Prepare
    const out: string[] = [];
    const p = createProgress({ write: (s) => out.push(s), terminal: false, label: 'moved' });

    // Act
    for (const n of [0, 50, 100, 150]) p.update(n, null);
    p.done();

    // Assess
    expect(out).toEqual(['moved: 0\n', 'moved: 100\n', 'moved: 150\n']);
  });
});

describe('Function: dlqRedrive', () => {
  it('refuses without --yes when not on a terminal, before reading any configuration', async () => {
    // Prepare: no configuration at all (reading it would be a ConfigError)
    const io = fakeIO();

    // Act
    const run = dlqRedrive({ queue: 'task' }, io, fakeTerminal(false));

    // Assess
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toThrow(/--yes/);
  });

  it('asks on a terminal and does nothing when the answer is not yes', async () => {
    // Prepare
    const io = fakeIO();
    const terminal = fakeTerminal(true, 'n');

    // Act
    const code = await dlqRedrive({ queue: 'delay', uuid: ['task_1'] }, io, terminal);

    // Assess
    expect(code).toBe(0);
    expect(terminal.asked).toEqual([
      'redrive the messages of 1 task(s) in the delay DLQ into the delay queue? [y/N] ',
    ]);
    expect(io.err).toEqual(['redrive cancelled\n']);
    expect(io.out).toEqual([]);
  });
});

describe('Function: dlqPurge', () => {
  it('refuses without --yes, before reading any configuration', async () => {
    // Act
    const run = dlqPurge({ queue: 'scheduler' }, fakeIO());

    // Assess
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toThrow(/scheduler DLQ[\s\S]*--yes/);
  });
});

describe('Function: runCli (dlq)', () => {
  it.each([
    [['dlq', 'list', '--queue', 'nope']],
    [['dlq', 'list', '--limit', '0']],
    [['dlq', 'redrive', '--yes', '--max-per-second', '501']],
    [['dlq', 'redrive', '--yes', '--max-per-second', 'fast']],
    [['dlq', 'purge']],
  ])('exits 2 for %j', async (argv) => {
    // Prepare
    const io = fakeIO();

    // Act
    const code = await runCli(argv, io);

    // Assess
    expect(code).toBe(2);
    expect(io.out).toEqual([]);
  });

  it('says in the help of dlq list that listing is a receive that bumps receive counts', async () => {
    // Prepare
    const io = fakeIO();

    // Act
    const code = await runCli(['dlq', 'list', '--help'], io);

    // Assess
    expect(code).toBe(0);
    expect(io.out.join('').replace(/\s+/g, ' ')).toMatch(/receives them .* receive count goes up/);
  });
});

describe('Function: bodyTask', () => {
  it.each([
    ['{"UUID":"task_1","Name":"add","Args":[]}', { uuid: 'task_1', name: 'add' }],
    [
      '{"UUID":"task_1","Name":"add","Args":[{"Type":"int64","Value":"x"}]}',
      { uuid: 'task_1', name: 'add' },
    ],
    ['{"machinery.ref":"task_2"}', { uuid: 'task_2', name: null }],
    [
      '{"machinery.periodic":{"v":1,"schedule":"p","signatures":["{\\"UUID\\":\\"\\",\\"Name\\":\\"nightly\\"}"]}}',
      { uuid: null, name: 'nightly' },
    ],
    ['not json {', { uuid: null, name: null }],
    ['[1,2]', { uuid: null, name: null }],
    ['{"UUID":"","Name":""}', { uuid: null, name: null }],
  ])('reads %s as %j', (body, expected) => {
    // Act / Assess
    expect(bodyTask(body)).toEqual(expected);
  });
});

describe('Function: isDlqName', () => {
  it('accepts the four DLQ names only', () => {
    // Act / Assess
    expect(['task', 'high', 'delay', 'scheduler', 'tasks', ''].map(isDlqName)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWorkflowFile } from '../../../src/cli/commands/send-workflow.js';
import { UsageError } from '../../../src/cli/errors.js';
import { runCli } from '../../../src/cli/main.js';
import { ENV } from '../../../src/core/resources.js';
import { fakeIO, localValues } from '../support/settings.js';

const add = (a: number, b: number) =>
  ({
    Name: 'add',
    Args: [
      { Type: 'int64', Value: a },
      { Type: 'int64', Value: b },
    ],
  }) as const;

describe('Function: parseWorkflowFile', () => {
  it('reads a chain, keeping given UUIDs and generating missing ones', () => {
    // Prepare
    const text = JSON.stringify({ chain: [{ ...add(2, 2), UUID: 'task_given' }, add(5, 6)] });

    // Act
    const spec = parseWorkflowFile(text, 'w.json');

    // Assess
    expect(spec.kind).toBe('chain');
    if (spec.kind !== 'chain') return;
    expect(spec.steps.map((s) => s.Name)).toEqual(['add', 'add']);
    expect(spec.steps[0]?.UUID).toBe('task_given');
    expect(spec.steps[1]?.UUID).toMatch(/^task_[0-9a-f-]{36}$/);
    expect(spec.steps[1]?.Args).toEqual([
      { Name: '', Type: 'int64', Value: 5 },
      { Name: '', Type: 'int64', Value: 6 },
    ]);
  });

  it('reads a group with sendConcurrency and concurrency', () => {
    // Act
    const spec = parseWorkflowFile(
      JSON.stringify({ group: [add(1, 1), add(2, 2)], sendConcurrency: 4, concurrency: 2 }),
      'g.json',
    );

    // Assess
    expect(spec).toMatchObject({ kind: 'group', sendConcurrency: 4, concurrency: 2 });
    if (spec.kind === 'group') expect(spec.members).toHaveLength(2);
  });

  it('reads a chord, 64-bit integers beyond 2^53 exact', () => {
    // Act
    const spec = parseWorkflowFile(
      '{"chord":{"group":[{"Name":"add","Args":[{"Type":"int64","Value":9223372036854775806}]}],' +
        '"callback":{"Name":"multiply","uuid":"chord_given"}}}',
      'c.json',
    );

    // Assess
    expect(spec.kind).toBe('chord');
    if (spec.kind !== 'chord') return;
    expect(spec.members[0]?.Args[0]?.Value).toBe(9223372036854775806n);
    expect(spec.callback).toMatchObject({ Name: 'multiply', UUID: 'chord_given' });
  });

  it("gives a chord's callback without a UUID a chord_ one", () => {
    // Act
    const spec = parseWorkflowFile(
      '{"chord":{"group":[{"Name":"add"}],"callback":{"Name":"multiply"}}}',
      'c.json',
    );

    // Assess
    expect(spec.kind === 'chord' && spec.callback.UUID).toMatch(/^chord_[0-9a-f-]{36}$/);
  });

  it.each([
    ['not JSON', '{"chain":', /^w\.json: not JSON: /],
    ['not an object', '[1]', /^w\.json: expected an object .* got an array$/],
    ['no workflow key', '{}', /^w\.json: expected one of the keys chain, group or chord$/],
    [
      'two workflow keys',
      '{"chain":[{"Name":"add"}],"group":[{"Name":"add"}]}',
      /^w\.json: expected one of the keys chain, group or chord, got chain and group$/,
    ],
    ['an unknown key', '{"chain":[{"Name":"add"}],"wait":true}', /^w\.json: wait: unknown key; /],
    ['an empty chain', '{"chain":[]}', /^w\.json: chain: expected at least one signature$/],
    ['a chain that is no list', '{"chain":{}}', /^w\.json: chain: expected an array of signatures/],
    [
      'a step without a name',
      '{"chain":[{"Name":"add"},{"Args":[]}]}',
      /^w\.json: chain\[1\]\.Name: missing or empty task name$/,
    ],
    [
      'an arg value of the wrong type',
      '{"chord":{"group":[{"Name":"add"},{"Name":"add","Args":[{"Type":"int64","Value":"x"}]}],"callback":{"Name":"multiply"}}}',
      /^w\.json: chord\.group\[1\]\.Args\[0\]\.Value: /,
    ],
    [
      'a chord without a callback',
      '{"chord":{"group":[{"Name":"add"}]}}',
      /^w\.json: chord\.callback: missing/,
    ],
    [
      'a bad callback',
      '{"chord":{"group":[{"Name":"add"}],"callback":{"Name":"multiply","ETA":"soon"}}}',
      /^w\.json: chord\.callback\.ETA: /,
    ],
    [
      'a fractional sendConcurrency',
      '{"group":[{"Name":"add"}],"sendConcurrency":1.5}',
      /^w\.json: sendConcurrency: expected a whole number >= 0, got 1\.5$/,
    ],
    [
      'concurrency on a chain',
      '{"chain":[{"Name":"add"}],"concurrency":2}',
      /^w\.json: concurrency: applies to a group or a chord/,
    ],
  ])('refuses %s with a UsageError naming the path inside the file', (_what, text, message) => {
    // Act
    const parse = () => parseWorkflowFile(text, 'w.json');

    // Assess
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});

describe('Command: machinery send-workflow', () => {
  /** A valid configuration whose endpoints nothing listens on: any AWS call would fail (exit 1). */
  const UNREACHABLE_ENV = {
    ...localValues(),
    [ENV.endpointSqs]: 'http://127.0.0.1:9',
    [ENV.endpointDynamodb]: 'http://127.0.0.1:9',
  };

  it.each([
    ['a file that does not exist', undefined, /^machinery: missing\.json: cannot read the file: /],
    ['a bad file', '{"group":[{"Name":""}]}', /^machinery: bad\.json: group\[0\]\.Name: /],
  ])('exits 2 for %s, before any AWS call', async (_what, content, message) => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'machinery-send-workflow-'));
    const file = content === undefined ? 'missing.json' : 'bad.json';
    if (content !== undefined) writeFileSync(join(dir, file), content);
    const io = { ...fakeIO(UNREACHABLE_ENV), cwd: dir };

    // Act
    const code = await runCli(['send-workflow', file, '--wait'], io);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(code).toBe(2);
    expect(io.out).toEqual([]);
    expect(io.err.join('')).toMatch(message);
  });
});

import { describe, expect, it } from 'vitest';
import { TaskDefinitionError } from '../../../src/core/errors.js';
import { noopLogger } from '../../../src/core/logger.js';
import {
  createRegistry,
  isTask,
  jobSignature,
  jobTask,
  RunnerJob,
  type TaskContext,
} from '../../../src/core/registry.js';
import { decodeSignature } from '../../../src/core/signature.js';
import type { Arg } from '../../../src/core/types.js';

function ctx(): TaskContext {
  return {
    signature: decodeSignature('{"UUID":"task_1","Name":"x"}'),
    uuid: 'task_1',
    name: 'x',
    attempt: 1,
    retries: 0,
    redrive: false,
    idempotencyKey: 'task_1:1',
    headers: {},
    logger: noopLogger,
    signal: new AbortController().signal,
    remainingTimeMs: () => 1000,
  };
}

const arg = (Type: Arg['Type'], Value: Arg['Value']): Arg => ({ Name: '', Type, Value });

class Greet {
  static readonly args = ['string', 'int64'] as const;
  static instances = 0;
  readonly id = ++Greet.instances;
  perform(c: TaskContext, who: string, times: number) {
    return `${c.uuid}:${who.repeat(times)}:${this.id}`;
  }
}

class Rebuild extends RunnerJob {
  static readonly jobName = 'rebuild_index';
  perform() {
    return 'rebuilt';
  }
}

describe('Function: jobTask', () => {
  it('makes a branded task named after the class that performs on a fresh instance per run', async () => {
    // Prepare
    const task = jobTask(Greet);
    const values = task.prepare([arg('string', 'ab'), arg('int64', 2)]);

    // Act
    const first = await task.invoke(ctx(), values);
    const second = await task.invoke(ctx(), values);

    // Assess
    expect(isTask(task)).toBe(true);
    expect(task.name).toBe('Greet');
    expect(first).toBe(`task_1:abab:${Greet.instances - 1}`);
    expect(second).toBe(`task_1:abab:${Greet.instances}`);
  });

  it('checks declared args like defineTask', () => {
    // Prepare
    const task = jobTask(Greet);

    // Act
    const wrong = () => task.prepare([arg('int64', 1), arg('int64', 2)]);

    // Assess
    expect(wrong).toThrow(/string/);
  });

  it('refuses a class without perform', () => {
    // Act
    const refused = () => jobTask(class NoPerform {} as never);

    // Assess
    expect(refused).toThrow(TaskDefinitionError);
  });
});

describe('Function: createRegistry', () => {
  it('registers job classes beside defineTask tasks, in a list or by name', async () => {
    // Act
    const list = createRegistry([Greet, Rebuild]);
    const byName = createRegistry({ rebuild_index: Rebuild });

    // Assess
    expect(list.names).toStrictEqual(['Greet', 'rebuild_index']);
    expect(await byName.get('rebuild_index')?.invoke(ctx(), [])).toBe('rebuilt');
    expect(() => createRegistry({ other: Rebuild })).toThrow(TaskDefinitionError);
  });
});

describe('Function: jobSignature', () => {
  it("gives RunnerJob classes the Go runner's 13 retries and the default queue, others none", () => {
    // Act
    const preset = jobSignature(Rebuild);
    const told = jobSignature(Rebuild, [], { RetryCount: 2 });
    const plain = jobSignature(Greet, [arg('string', 'a'), arg('int64', 1)]);

    // Assess
    expect(preset).toMatchObject({ Name: 'rebuild_index', RetryCount: 13, RoutingKey: '' });
    expect(Rebuild.queue).toBe('default');
    expect(told.RetryCount).toBe(2);
    expect(plain).toMatchObject({ Name: 'Greet', RetryCount: 0 });
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULTS, QUEUES, resourceNames } from '../../../src/core/resources.js';

describe('Function: resourceNames', () => {
  it('prefixes every resource name', () => {
    // Prepare
    const prefix = 'dev-';

    // Act
    const names = resourceNames(prefix);

    // Assess
    expect(names.queues.tasks).toBe('dev-tasks.fifo');
    expect(names.tables.taskStates).toBe('dev-task_states');
    expect(names.scheduleGroup).toBe('dev-machinery');
    expect(resourceNames().queues.tasksDlq).toBe('tasks-dlq.fifo');
  });

  it('refuses a prefix AWS would refuse', () => {
    // Prepare
    const bad = ['has space', 'x'.repeat(41), 'dot.'];

    // Act
    const acts = bad.map((p) => () => resourceNames(p));

    // Assess
    for (const act of acts) expect(act).toThrow(RangeError);
  });

  it('keeps the redrive backstop above the largest RetryCount plus the crash limit', () => {
    // Prepare
    const backstop = QUEUES.tasks.redrive?.maxReceiveCount ?? 0;

    // Act
    const needed = DEFAULTS.maxRetryCount + DEFAULTS.maxCrashes;

    // Assess
    expect(backstop).toBeGreaterThan(needed);
  });
});

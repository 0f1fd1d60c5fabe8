import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_LIFETIME_MS, taskExpiresAt } from '../../../src/core/lifetime.js';
import { QUEUES } from '../../../src/core/resources.js';

describe('Function: taskExpiresAt', () => {
  it('keeps state at least as long as a message can be delivered', () => {
    // Prepare
    const now = 1_000_000;

    // Act
    const plain = taskExpiresAt({ now, eta: null });
    const later = taskExpiresAt({ now, eta: now + 86_400_000 });
    const past = taskExpiresAt({ now, eta: now - 86_400_000 });
    const long = taskExpiresAt({ now, eta: null, resultsExpireInSeconds: 30 * 86_400 });

    // Assess
    expect(MAX_MESSAGE_LIFETIME_MS).toBe(
      (QUEUES.tasks.retentionSeconds + QUEUES.tasksDlq.retentionSeconds) * 1000,
    );
    expect(plain).toBe(now + MAX_MESSAGE_LIFETIME_MS);
    expect(later).toBe(now + 86_400_000 + MAX_MESSAGE_LIFETIME_MS);
    expect(past).toBe(plain);
    expect(long).toBe(now + 30 * 86_400_000);
  });
});

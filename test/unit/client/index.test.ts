import { describe, expect, it } from 'vitest';
import { ConfigError, createClient, fromVariables } from '../../../src/client/index.js';
import type { Clock } from '../../../src/core/clock.js';
import { MemoryBroker, MemoryResultBackend } from '../../../src/core/memory.js';
import { ENV } from '../../../src/core/resources.js';
import { newSignature } from '../../../src/core/signature.js';
import { formatEta } from '../../../src/core/time.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

/** Time stands still at NOW. */
const clock: Clock = { now: () => NOW, sleep: async () => {} };

function clientWithout(variables: Record<string, string>) {
  const backend = new MemoryResultBackend();
  const broker = new MemoryBroker();
  const client = createClient({
    source: fromVariables(variables, { describe: 'the test variables' }),
    backend,
    broker,
    clock,
  });
  return { client, backend, broker };
}

describe('Function: createClient', () => {
  it('refuses an ETA more than 15 minutes away without Scheduler settings, naming the variables, before any write', async () => {
    // Prepare
    const { client, backend, broker } = clientWithout({
      [ENV.delayQueueUrl]: 'http://127.0.0.1:4566/000000000000/delay',
      [ENV.schedulerDlqUrl]: 'http://127.0.0.1:4566/000000000000/scheduler-dlq',
    });
    const far = newSignature('add', [], { ETA: formatEta(NOW + 3_600_000) });

    // Act
    const sent = client.sendTask(far);

    // Assess
    await expect(sent).rejects.toThrow(ConfigError);
    await expect(sent).rejects.toThrow(
      /^MACHINERY_SCHEDULE_GROUP and MACHINERY_SCHEDULER_ROLE_ARN are not set in the test variables: task task_\S+ has an ETA more than 900 s away, which needs EventBridge Scheduler; /,
    );
    expect(backend.writes).toBe(0);
    expect(broker.published).toHaveLength(0);
    client.close();
  });

  it('still sends an ETA within 15 minutes through the delay queue without Scheduler settings', async () => {
    // Prepare
    const { client, backend, broker } = clientWithout({});
    const near = newSignature('add', [], { ETA: formatEta(NOW + 60_000) });
    const far = newSignature('add', [], { ETA: formatEta(NOW + 3_600_000) });

    // Act
    await client.sendTasks([near]);
    const both = client.sendTasks([near, far]);

    // Assess
    await expect(both).rejects.toThrow(/^MACHINERY_SCHEDULE_GROUP, .* are not set/);
    expect(backend.writes).toBe(1);
    expect(broker.delayed).toHaveLength(1);
    client.close();
  });
});

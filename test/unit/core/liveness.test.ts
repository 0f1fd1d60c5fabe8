import { describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../../src/core/clock.js';
import {
  LivenessReporter,
  type LivenessStore,
  type WorkerRecord,
} from '../../../src/core/liveness.js';
import { newSignature } from '../../../src/core/signature.js';

/** Alive records in memory, with the store's expiry filter. */
class MemoryStore implements LivenessStore {
  readonly records = new Map<string, WorkerRecord>();
  puts = 0;
  async put(record: WorkerRecord): Promise<void> {
    this.puts++;
    this.records.set(record.id, record);
  }
  async list(now: number): Promise<WorkerRecord[]> {
    return [...this.records.values()].filter((r) => r.expiresAt > now);
  }
  async remove(id: string): Promise<void> {
    this.records.delete(id);
  }
}

describe('Class: LivenessReporter', () => {
  it('counts executed and failed tasks through the hooks it wraps, and calls the given hooks', async () => {
    // Prepare
    const store = new MemoryStore();
    const clock = new AdjustableClock();
    const seen: string[] = [];
    const reporter = new LivenessReporter({ store, clock, kind: 'poller', host: 'box' });
    const hooks = reporter.hooks({ postTaskHandler: (s) => void seen.push(s.Name) });
    const sig = newSignature('t');

    // Act
    await hooks.postTaskHandler?.(sig);
    await hooks.postTaskHandler?.(sig);
    await hooks.errorHandler?.(new Error('x'), sig);
    await reporter.beat();

    // Assess
    expect(seen).toEqual(['t', 't']);
    expect(reporter.counts).toEqual({ executed: 2, failed: 1 });
    expect(store.records.get(reporter.id)).toMatchObject({
      kind: 'poller',
      host: 'box',
      executed: 2,
      failed: 1,
    });
  });

  it('writes a record that lapses lapseMs after its last heartbeat, and deletes it on stop', async () => {
    // Prepare
    const store = new MemoryStore();
    const clock = new AdjustableClock();
    const reporter = new LivenessReporter({
      store,
      clock,
      kind: 'poller',
      host: 'box',
      lapseMs: 3_000,
    });
    await reporter.beat();
    const t0 = store.records.get(reporter.id)?.lastHeartbeatAt ?? Number.NaN;

    // Act
    const before = await store.list(t0 + 2_999);
    const after = await store.list(t0 + 3_000);
    await reporter.stop();

    // Assess
    expect(before.map((r) => r.id)).toEqual([reporter.id]);
    expect(after).toEqual([]);
    expect(store.records.size).toBe(0);
    expect(store.puts).toBe(1);
  });
});

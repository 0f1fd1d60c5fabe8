import { describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../../src/core/clock.js';
import { DispatchError, dispatch } from '../../../src/core/dispatch.js';
import { MemoryBroker, MemoryResultBackend, MemoryScheduler } from '../../../src/core/memory.js';
import { DEFAULTS } from '../../../src/core/resources.js';
import { newSignature } from '../../../src/core/signature.js';

function deps() {
  const clock = new AdjustableClock();
  return {
    clock,
    backend: new MemoryResultBackend(),
    broker: new MemoryBroker(),
    scheduler: new MemoryScheduler(),
  };
}

describe('Function: dispatch', () => {
  it('records PENDING and routes by ETA: queue, delay queue, schedule', async () => {
    // Prepare
    const d = deps();
    const now = d.clock.now();
    const soon = newSignature('a', []);
    const inTenMinutes = newSignature('b', [], { ETA: now + 600_000 });
    const tomorrow = newSignature('c', [], { ETA: now + 86_400_000 });
    const past = newSignature('d', [], { ETA: now - 1000 });

    // Act
    const routes = await dispatch([soon, inTenMinutes, tomorrow, past], d, {
      deduplicationId: (s) => `${s.UUID}-x`,
    });

    // Assess
    expect(routes).toStrictEqual(['queue', 'delay-queue', 'schedule', 'queue']);
    expect(d.broker.published.map((p) => p.deduplicationId)).toStrictEqual([
      `${soon.UUID}-x`,
      `${past.UUID}-x`,
    ]);
    expect(d.broker.delayed[0]?.delaySeconds).toBe(600);
    expect(d.scheduler.once.get(tomorrow.UUID)?.fireAt).toBe(
      Date.parse(tomorrow.ETA ?? '') - DEFAULTS.schedulerLeadSeconds * 1000,
    );
    expect(d.backend.writes).toBe(4);
  });

  it('keeps a body too large for a schedule input in the PENDING item', async () => {
    // Prepare
    const d = deps();
    const big = newSignature('big', [{ Type: 'string', Value: 'x'.repeat(10_000) }], {
      ETA: d.clock.now() + 86_400_000,
    });

    // Act
    await dispatch([big], { ...d, resultsExpireInSeconds: 60 });

    // Assess
    expect(d.scheduler.once.get(big.UUID)?.bodyByReference).toBe(true);
    expect(d.backend.peek(big.UUID)?.body).toContain('"Name":"big"');
  });

  it('refuses a far ETA without a scheduler and a body too large for an item', async () => {
    // Prepare
    const d = deps();
    const far = newSignature('far', [], { ETA: d.clock.now() + 86_400_000 });
    const huge = newSignature('huge', [{ Type: 'string', Value: 'x'.repeat(400_000) }], {
      ETA: d.clock.now() + 86_400_000,
    });

    // Act
    const noScheduler = dispatch([far], { backend: d.backend, broker: d.broker, clock: d.clock });
    const tooLarge = dispatch([huge], d);

    // Assess
    await expect(noScheduler).rejects.toBeInstanceOf(DispatchError);
    await expect(tooLarge).rejects.toThrow(/too large to schedule/);
  });

  it('rejects when sends fail, naming how many', async () => {
    // Prepare
    const d = deps();
    const now = d.clock.now();
    const a = newSignature('a', []);
    const b = newSignature('b', [], { ETA: now + 60_000 });
    d.broker.failNext('publish', new Error('queue down'));

    // Act
    const one = dispatch([a], d);

    // Assess
    await expect(one).rejects.toThrow('queue down');
    d.broker.failNext('publish');
    d.broker.failNext('publishDelayed');
    await expect(dispatch([a, b], { ...d })).rejects.toThrow('2 of 2 sends failed');
  });
});

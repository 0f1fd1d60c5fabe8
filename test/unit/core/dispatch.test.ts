import { describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../../src/core/clock.js';
import { DispatchError, dispatch } from '../../../src/core/dispatch.js';
import { SignatureEncodeError } from '../../../src/core/errors.js';
import { MemoryBroker, MemoryResultBackend, MemoryScheduler } from '../../../src/core/memory.js';
import { DEFAULTS } from '../../../src/core/resources.js';
import { encodeSignature, newSignature } from '../../../src/core/signature.js';
import type { Signature } from '../../../src/core/types.js';

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
    expect(d.backend.writes).toBe(0);
  });

  it('refuses a malformed ETA before any write instead of sending it as due', async () => {
    // Prepare
    const d = deps();
    const ok = newSignature('ok', []);
    const garbage: Signature = { ...newSignature('later', []), ETA: 'garbage' };
    const noOffset: Signature = { ...newSignature('later', []), ETA: '2030-01-01T10:00:00' };

    // Act
    const errors = await Promise.all(
      [garbage, noOffset].map((bad) => dispatch([ok, bad], d).catch((e: unknown) => e)),
    );

    // Assess
    for (const e of errors) {
      expect(e).toBeInstanceOf(SignatureEncodeError);
      expect((e as SignatureEncodeError).field).toBe('ETA');
    }
    expect((errors[0] as Error).message).toMatch(/invalid ETA "garbage": expected RFC 3339/);
    expect(d.backend.writes).toBe(0);
    expect(d.broker.published).toHaveLength(0);
    expect(d.broker.delayed).toHaveLength(0);
  });

  it('refuses an over-long task name or UUID, at any level, before any write', async () => {
    // Prepare
    const d = deps();
    const base = newSignature('ok', []);
    const bad: Signature[] = [
      { ...base, Name: 'n'.repeat(DEFAULTS.maxTaskNameLength + 1) },
      { ...base, UUID: `task_${'u'.repeat(DEFAULTS.maxUuidLength)}` },
      { ...base, GroupUUID: `group_${'g'.repeat(DEFAULTS.maxUuidLength)}` },
      { ...base, OnSuccess: [{ ...base, Name: 'x'.repeat(250_000) }] },
      { ...base, ChordCallback: { ...base, UUID: 'c'.repeat(DEFAULTS.maxUuidLength + 1) } },
    ];

    // Act
    const errors = await Promise.all(bad.map((s) => dispatch([s], d).catch((e: unknown) => e)));

    // Assess
    expect(errors.map((e) => (e as SignatureEncodeError).field)).toStrictEqual([
      'Name',
      'UUID',
      'GroupUUID',
      'OnSuccess[0].Name',
      'ChordCallback.UUID',
    ]);
    for (const e of errors) expect(e).toBeInstanceOf(SignatureEncodeError);
    expect(d.backend.writes).toBe(0);
  });

  it('refuses a message over the SQS limit, counting its trace attributes, before any write', async () => {
    // Prepare
    const d = deps();
    const now = d.clock.now();
    const ok = newSignature('ok', []);
    const fits = newSignature('fits', [{ Type: 'string', Value: '' }]);
    const room = DEFAULTS.maxMessageBytes - Buffer.byteLength(encodeSignature(fits), 'utf8');
    const exact = newSignature('fits', [{ Type: 'string', Value: 'x'.repeat(room) }]);
    const traced = {
      ...exact,
      Headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    };
    const overDelayed = newSignature('big', [{ Type: 'string', Value: 'x'.repeat(room + 1) }], {
      ETA: now + 60_000,
    });

    // Act
    const tracedError = await dispatch([ok, traced], d).catch((e: unknown) => e);
    const delayedError = await dispatch([ok, overDelayed], d).catch((e: unknown) => e);
    const routes = await dispatch([exact], d);

    // Assess
    expect(tracedError).toBeInstanceOf(DispatchError);
    expect((tracedError as Error).message).toMatch(
      // the body plus the traceparent attribute: name (11) + data type String (6) + value (55)
      new RegExp(`task ${traced.UUID} is ${Buffer.byteLength(encodeSignature(traced)) + 72} bytes`),
    );
    expect(delayedError).toBeInstanceOf(DispatchError);
    expect(routes).toStrictEqual(['queue']);
    expect(d.backend.writes).toBe(1);
    expect(d.broker.published.map((p) => p.signature.UUID)).toStrictEqual([exact.UUID]);
    expect(d.broker.delayed).toHaveLength(0);
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

import { describe, expect, it } from 'vitest';
import { TransientInfrastructureError } from '../../../src/core/errors.js';
import { MemoryResultBackend } from '../../../src/core/memory.js';
import { newSignature } from '../../../src/core/signature.js';
import { resultBackendConformance } from '../../conformance/result-backend.js';

resultBackendConformance('MemoryResultBackend', async () => new MemoryResultBackend());

describe('Class: MemoryResultBackend', () => {
  it('counts writes, failed conditional writes and reads', async () => {
    // Prepare
    const backend = new MemoryResultBackend();
    const sig = newSignature('add', []);
    const t = { now: 0, expiresAt: 60_000 };

    // Act
    await backend.putPending(sig, t);
    await backend.claim(sig, { now: 0, leaseUntil: 10_000, expiresAt: 60_000, maxCrashes: 3 });
    await backend.markSuccess(sig.UUID, 1, [], t);
    await backend.putPending(sig, t);
    await backend.get(sig.UUID, t);

    // Assess
    expect(backend.writes).toBe(3);
    expect(backend.conditionalFailures).toBe(1);
    expect(backend.reads).toBe(1);
    expect(backend.size).toBe(1);
    expect(backend.peek(sig.UUID)?.state).toBe('SUCCESS');
    expect(backend.peek('nope')).toBeUndefined();
  });

  it('fails the next calls of an operation when told to', async () => {
    // Prepare
    const backend = new MemoryResultBackend();
    backend.failNext('get', undefined, 2);
    backend.failNext('revoke', new Error('boom'));

    // Act
    const first = backend.get('x', { now: 0 });
    const second = backend.get('x', { now: 0 });
    const third = backend.get('x', { now: 0 });
    const revoke = backend.revoke('x', { now: 0, expiresAt: 1 });

    // Assess
    await expect(first).rejects.toBeInstanceOf(TransientInfrastructureError);
    await expect(second).rejects.toThrow('injected failure of get');
    await expect(third).resolves.toBeUndefined();
    await expect(revoke).rejects.toThrow('boom');
  });
});

import { describe, expect, it } from 'vitest';
import { PublishError } from '../../../src/aws/errors.js';
import { createClient, fromVariables } from '../../../src/client/index.js';
import type { Clock } from '../../../src/core/clock.js';
import { MemoryBroker, MemoryResultBackend } from '../../../src/core/memory.js';
import type { PublishItem, ResultBackend } from '../../../src/core/ports.js';
import { newSignature } from '../../../src/core/signature.js';
import { formatEta } from '../../../src/core/time.js';
import type { Signature } from '../../../src/core/types.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const clock: Clock = { now: () => NOW, sleep: async () => {} };

/** A memory broker that also records each `publish` call's UUIDs (one call, one SQS request). */
class CountingBroker extends MemoryBroker {
  readonly calls: string[][] = [];
  /** UUIDs the next call reports unsent, as the SQS broker does for entries SQS refused. */
  refuse = new Set<string>();

  override async publish(items: readonly PublishItem[]): Promise<void> {
    this.calls.push(items.map((i) => i.signature.UUID));
    const unsent = items.filter((i) => this.refuse.has(i.signature.UUID));
    await super.publish(items.filter((i) => !this.refuse.has(i.signature.UUID)));
    if (unsent.length > 0) {
      throw new PublishError(
        unsent.map((i) => i.signature.UUID),
        'InternalError: try again',
      );
    }
  }
}

function setup(options: { batching?: { enabled?: boolean; maxDelayMs?: number } } = {}) {
  const backend = new MemoryResultBackend();
  const broker = new CountingBroker();
  const client = createClient({
    source: fromVariables({}, { describe: 'the test variables' }),
    backend,
    broker,
    clock,
    ...(options.batching ? { batching: options.batching } : {}),
  });
  return { backend, broker, client };
}

const sig = (opts: Parameters<typeof newSignature>[2] = {}) =>
  newSignature('add', [{ Type: 'int64', Value: 1 }], opts);

/** Delays the PENDING write of one signature until `release` is called. */
function holdPending(backend: ResultBackend, uuid: string): () => void {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const putPending = backend.putPending.bind(backend);
  backend.putPending = async (signature: Signature, opts) => {
    if (signature.UUID === uuid) await gate;
    return putPending(signature, opts);
  };
  return release;
}

describe('Function: createClient (batching of sendTask)', () => {
  it('sends concurrent sendTask calls in shared publish calls of at most 10, each recorded PENDING', async () => {
    // Prepare
    const { backend, broker, client } = setup();
    const sigs = Array.from({ length: 25 }, () => sig());

    // Act
    const results = await Promise.all(sigs.map((s) => client.sendTask(s)));

    // Assess
    expect(broker.calls.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(broker.published.map((p) => p.signature.UUID)).toEqual(sigs.map((s) => s.UUID));
    expect(results.map((r) => r.uuid)).toEqual(sigs.map((s) => s.UUID));
    expect(backend.writes).toBe(25);
    client.close();
  });

  it('sends each sendTask call on its own when batching is disabled', async () => {
    // Prepare
    const { broker, client } = setup({ batching: { enabled: false } });

    // Act
    await Promise.all([sig(), sig(), sig()].map((s) => client.sendTask(s)));

    // Assess
    expect(broker.calls.map((c) => c.length)).toEqual([1, 1, 1]);
    client.close();
  });

  it('rejects only the send whose PENDING write failed, and sends the others', async () => {
    // Prepare
    const { backend, broker, client } = setup();
    const [a, b, c] = [sig(), sig(), sig()];
    backend.failNext('putPending', new Error('write refused'));

    // Act
    const outcomes = await Promise.allSettled([a, b, c].map((s) => client.sendTask(s)));

    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(broker.calls).toEqual([[b.UUID, c.UUID]]);
    client.close();
  });

  it('rejects only the send whose message the broker reports unsent, with a PublishError naming it', async () => {
    // Prepare
    const { broker, client } = setup();
    const [a, b] = [sig(), sig()];
    broker.refuse.add(b.UUID);

    // Act
    const outcomes = await Promise.allSettled([a, b].map((s) => client.sendTask(s)));

    // Assess
    expect(outcomes[0]?.status).toBe('fulfilled');
    const failure = outcomes[1]?.status === 'rejected' ? outcomes[1].reason : undefined;
    expect(failure).toBeInstanceOf(PublishError);
    expect((failure as PublishError).unsent).toEqual([b.UUID]);
    expect((failure as PublishError).message).toContain('InternalError: try again');
    expect(broker.calls).toEqual([[a.UUID, b.UUID]]);
    client.close();
  });

  it('keeps the call order of two sends of one message group when the first PENDING write finishes last', async () => {
    // Prepare
    const { backend, broker, client } = setup({ batching: { maxDelayMs: 0 } });
    const first = sig({ BrokerMessageGroupId: 'customer-1' });
    const release = holdPending(backend, first.UUID);
    const sentFirst = client.sendTask(first);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = sig({ BrokerMessageGroupId: 'customer-1' });

    // Act
    const sentSecond = client.sendTask(second);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const beforeRelease = broker.calls.length;
    release();
    await Promise.all([sentFirst, sentSecond]);

    // Assess
    expect(beforeRelease).toBe(0);
    expect(broker.published.map((p) => p.signature.UUID)).toEqual([first.UUID, second.UUID]);
    expect(broker.calls).toEqual([[first.UUID], [second.UUID]]);
    client.close();
  });

  it('sends an ETA in the future through the delay queue, outside the batches', async () => {
    // Prepare
    const { broker, client } = setup();
    const later = sig({ ETA: formatEta(NOW + 60_000) });
    const now = sig();

    // Act
    await Promise.all([client.sendTask(later), client.sendTask(now)]);

    // Assess
    expect(broker.delayed.map((d) => d.signature.UUID)).toEqual([later.UUID]);
    expect(broker.calls).toEqual([[now.UUID]]);
    client.close();
  });
});

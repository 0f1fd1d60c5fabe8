import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Place, SendBatcher } from '../../../src/client/batcher.js';

/** A send function that records each batch and settles it when the test says. */
function controlledSend() {
  const batches: string[][] = [];
  const settle: ((outcomes?: readonly unknown[]) => void)[] = [];
  const send = (items: string[]) => {
    batches.push([...items]);
    return new Promise<readonly unknown[]>((resolve) => {
      settle.push((outcomes) => resolve(outcomes ?? items.map(() => undefined)));
    });
  };
  return { batches, settle, send };
}

/** A send function that sends everything at once. */
function instantSend() {
  const batches: string[][] = [];
  const send = async (items: string[]) => {
    batches.push([...items]);
    return items.map(() => undefined);
  };
  return { batches, send };
}

const place = (group: string, bytes = 10, queue = ''): Place => ({ queue, group, bytes });

/** Lets every pending promise reaction run. */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('Class: SendBatcher', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds a batch open for maxDelayMs, then sends the places taken in that window together', async () => {
    // Prepare
    const { batches, send } = instantSend();
    const batcher = new SendBatcher(send, { maxDelayMs: 2 });
    const a = batcher.reserve(place('a'));
    const b = batcher.reserve(place('b'));
    const sent = [a.fill('a'), b.fill('b')];
    await flushMicrotasks();
    const beforeWindow = batches.length;

    // Act
    await vi.advanceTimersByTimeAsync(2);
    const c = batcher.reserve(place('c'));
    const late = c.fill('c');
    await vi.advanceTimersByTimeAsync(2);
    await Promise.all([...sent, late]);

    // Assess
    expect(beforeWindow).toBe(0);
    expect(batches).toEqual([['a', 'b'], ['c']]);
  });

  it('sends a batch of maxEntries places without waiting for the window', async () => {
    // Prepare
    const { batches, send } = instantSend();
    const batcher = new SendBatcher(send, { maxDelayMs: 1_000, maxEntries: 10 });
    const slots = Array.from({ length: 12 }, (_, i) => batcher.reserve(place(`g${i}`)));

    // Act
    const sent = slots.map((s, i) => s.fill(`m${i}`));
    await Promise.all(sent.slice(0, 10));
    const whileOpen = batches.map((b) => b.length);
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(sent);

    // Assess
    expect(whileOpen).toEqual([10]);
    expect(batches.map((b) => b.length)).toEqual([10, 2]);
  });

  it('waits for every place of a closed batch to be filled, whatever order they are filled in', async () => {
    // Prepare
    const { batches, send } = instantSend();
    const batcher = new SendBatcher(send, { maxDelayMs: 0 });
    const first = batcher.reserve(place('a'));
    const second = batcher.reserve(place('b'));
    await vi.advanceTimersByTimeAsync(0);

    // Act
    const b = second.fill('b');
    await flushMicrotasks();
    const afterOne = batches.length;
    const a = first.fill('a');
    await Promise.all([a, b]);

    // Assess
    expect(afterOne).toBe(0);
    expect(batches).toEqual([['a', 'b']]);
  });

  it('closes a batch before a place would take it past maxBytes', async () => {
    // Prepare
    const { batches, send } = instantSend();
    const batcher = new SendBatcher(send, { maxDelayMs: 0, maxBytes: 1_000 });
    const sizes = [400, 400, 400, 100, 1_000];

    // Act
    const sent = sizes.map((bytes, i) => batcher.reserve(place(`g${i}`, bytes)).fill(`${bytes}`));
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(sent);

    // Assess
    expect(batches).toEqual([['400', '400'], ['400', '100'], ['1000']]);
  });

  it('sends a message group batch only after the earlier batch holding that group has settled', async () => {
    // Prepare
    const { batches, settle, send } = controlledSend();
    const batcher = new SendBatcher(send, { maxDelayMs: 0, maxEntries: 2 });
    const a1 = batcher.reserve(place('g'));
    const x = batcher.reserve(place('other'));
    const a2 = batcher.reserve(place('g'));
    const y = batcher.reserve(place('another'));

    // Act
    const sent = [a2.fill('g-2'), y.fill('y'), a1.fill('g-1'), x.fill('x')];
    await flushMicrotasks();
    const whileFirstInFlight = batches.map((b) => [...b]);
    settle[0]?.();
    await flushMicrotasks();
    settle[1]?.();
    await Promise.all(sent);

    // Assess
    expect(whileFirstInFlight).toEqual([['g-1', 'x']]);
    expect(batches).toEqual([
      ['g-1', 'x'],
      ['g-2', 'y'],
    ]);
  });

  it('sends batches of different message groups concurrently', async () => {
    // Prepare
    const { batches, settle, send } = controlledSend();
    const batcher = new SendBatcher(send, { maxDelayMs: 0, maxEntries: 1 });

    // Act
    const sent = ['a', 'b', 'c'].map((g) => batcher.reserve(place(g)).fill(g));
    await flushMicrotasks();
    const inFlight = batches.length;
    for (const s of settle) s();
    await Promise.all(sent);

    // Assess
    expect(inFlight).toBe(3);
  });

  it('keeps queues apart: places of two routing keys never share a batch', async () => {
    // Prepare
    const { batches, send } = instantSend();
    const batcher = new SendBatcher(send, { maxDelayMs: 0 });

    // Act
    const sent = [
      batcher.reserve(place('a', 10, '')).fill('task-queue'),
      batcher.reserve(place('b', 10, 'reports.fifo')).fill('reports'),
    ];
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(sent);

    // Assess
    expect(batches).toEqual([['task-queue'], ['reports']]);
  });

  it('rejects only the send whose message failed, and every send of a batch whose call failed', async () => {
    // Prepare
    const failure = new Error('refused');
    const outage = new Error('unreachable');
    let call = 0;
    const batcher = new SendBatcher<string>(
      async (items) => {
        call++;
        if (call === 2) throw outage;
        return items.map((i) => (i === 'bad' ? failure : undefined));
      },
      { maxDelayMs: 0 },
    );
    const good = batcher.reserve(place('a')).fill('good');
    const bad = batcher.reserve(place('b')).fill('bad');
    const first = Promise.allSettled([good, bad]);
    await vi.advanceTimersByTimeAsync(0);
    await first;

    // Act
    const lost = Promise.allSettled([
      batcher.reserve(place('c')).fill('c'),
      batcher.reserve(place('d')).fill('d'),
    ]);
    await vi.advanceTimersByTimeAsync(0);
    const outcomes = [...(await first), ...(await lost)];

    // Assess
    expect(outcomes.map((o) => (o.status === 'rejected' ? o.reason : 'sent'))).toEqual([
      'sent',
      failure,
      outage,
      outage,
    ]);
  });

  it('sends a batch without the places given up, and nothing when every place was given up', async () => {
    // Prepare
    const { batches, send } = instantSend();
    const batcher = new SendBatcher(send, { maxDelayMs: 0 });
    const kept = batcher.reserve(place('a'));
    const dropped = batcher.reserve(place('b'));
    const lone = () => batcher.reserve(place('c'));

    // Act
    dropped.cancel();
    const sent = kept.fill('a');
    await vi.advanceTimersByTimeAsync(0);
    await sent;
    lone().cancel();
    await vi.advanceTimersByTimeAsync(0);
    const refill = dropped.fill('b');

    // Assess
    expect(batches).toEqual([['a']]);
    await expect(refill).rejects.toThrow(TypeError);
  });
});

/**
 * Automatic batching of sends: concurrent `sendTask` calls share `SendMessageBatch` requests
 * (docs/design.md §4 "Sending in batches"; §6: batches of 10, 1 MiB).
 *
 * A send takes its place ({@link SendBatcher.reserve}) when it is called, before its PENDING
 * write, and fills it with its message once the write is done. Places join the open batch of
 * their queue until it holds `maxEntries` places, until the next place would take it past
 * `maxBytes`, or until `maxDelayMs` after its first place, whichever comes first; the batch is
 * then closed, and sent as soon as every place in it is filled or given up. So a burst of calls
 * made together shares requests whatever the order their PENDING writes finish in, and a lone
 * call waits at most `maxDelayMs` longer than its own write.
 *
 * Order: places are taken in call order, a batch keeps that order, and a batch holding a message
 * group is sent only after every earlier batch holding the same group has settled (retries
 * included), so two sends of one message group reach the queue in the order they were called.
 *
 * Failures: the send function reports an outcome per message; a failed message rejects only its
 * own place. A place given up (its PENDING write failed, or it took another route) is left out.
 *
 * @module
 */
import { DEFAULTS } from '../core/resources.js';

/**
 * How `sendTask` batches its messages.
 *
 * @example
 * ```ts
 * const client = createClient({ batching: { maxDelayMs: 5 } });
 * const unbatched = createClient({ batching: { enabled: false } });
 * ```
 */
export interface BatchingOptions {
  /** Whether concurrent sends share `SendMessageBatch` requests. @default true */
  enabled?: boolean;
  /**
   * How long a batch stays open for more sends after its first one, ms. `0` closes it on the next
   * macrotask (sends made in the same synchronous run still share it). @default 2
   */
  maxDelayMs?: number;
  /** Messages per batch (SQS allows at most 10). @default 10 */
  maxEntries?: number;
  /** Bytes per batch, bodies plus attributes (SQS allows at most 1 MiB). @default 1048576 */
  maxBytes?: number;
}

/** Batching defaults: on, a 2 ms window, SQS's 10 entries and 1 MiB. */
export const BATCHING_DEFAULTS: Readonly<Required<BatchingOptions>> = Object.freeze({
  enabled: true,
  maxDelayMs: 2,
  maxEntries: 10,
  maxBytes: DEFAULTS.maxMessageBytes,
});

/**
 * Where a send's message goes, known when it is called.
 *
 * @example
 * ```ts
 * const place: Place = { queue: '', group: sig.UUID, bytes: messageBytes(sig) };
 * ```
 */
export interface Place {
  /** The queue (a routing key): only messages of one queue share a batch. */
  queue: string;
  /** The FIFO message group. */
  group: string;
  /** Size of the message as SQS counts it. */
  bytes: number;
}

/**
 * A place in a batch, taken by one send.
 *
 * @example
 * ```ts
 * const slot = batcher.reserve(place);
 * try { await write(); await slot.fill(item); } finally { slot.cancel(); }
 * ```
 */
export interface Slot<T> {
  /** Puts the message in its place; resolves once it is sent, rejects with its own failure. */
  fill(item: T): Promise<void>;
  /** Gives the place up (no-op once filled): the batch is sent without it. */
  cancel(): void;
}

/**
 * Sends one batch; resolves with one outcome per item, in order: `undefined` when sent, else
 * the error of that item. A rejection fails every item of the batch.
 */
export type SendBatch<T> = (items: T[]) => Promise<readonly unknown[]>;

interface Entry<T> {
  group: string;
  state: 'reserved' | 'filled' | 'cancelled';
  item?: T;
  resolve?: () => void;
  reject?: (e: unknown) => void;
}

interface Batch<T> {
  queue: string;
  entries: Entry<T>[];
  bytes: number;
  closed: boolean;
  started: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Earlier batches holding one of this batch's groups. */
  after: Promise<void>[];
  /** Resolves when this batch has settled (sent, retried, failed). */
  settled: Promise<void>;
  done: () => void;
}

/**
 * Collects sends into batches (see the module documentation).
 *
 * @example
 * ```ts
 * const batcher = new SendBatcher<PublishItem>(async (items) => {
 *   await broker.publish(items);
 *   return items.map(() => undefined);
 * });
 * const slot = batcher.reserve({ queue: '', group: sig.UUID, bytes: messageBytes(sig) });
 * await slot.fill({ signature: sig });
 * ```
 */
export class SendBatcher<T> {
  readonly #send: SendBatch<T>;
  readonly #maxDelayMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  /** The open batch of each queue. */
  readonly #open = new Map<string, Batch<T>>();
  /** The last batch holding each queue's message group, until it settles. */
  readonly #lastOfGroup = new Map<string, Promise<void>>();

  constructor(send: SendBatch<T>, options: Omit<BatchingOptions, 'enabled'> = {}) {
    this.#send = send;
    this.#maxDelayMs = Math.max(0, options.maxDelayMs ?? BATCHING_DEFAULTS.maxDelayMs);
    this.#maxEntries = Math.max(1, options.maxEntries ?? BATCHING_DEFAULTS.maxEntries);
    this.#maxBytes = options.maxBytes ?? BATCHING_DEFAULTS.maxBytes;
  }

  /** Takes a place for one message in the open batch of its queue (opening one if needed). */
  reserve(place: Place): Slot<T> {
    let batch = this.#open.get(place.queue);
    if (batch !== undefined && batch.bytes + place.bytes > this.#maxBytes) {
      this.#close(batch);
      batch = undefined;
    }
    batch ??= this.#openBatch(place.queue);
    const entry: Entry<T> = { group: place.group, state: 'reserved' };
    batch.entries.push(entry);
    batch.bytes += place.bytes;
    if (batch.entries.length >= this.#maxEntries) this.#close(batch);
    const owner = batch;
    return {
      fill: (item) => {
        if (entry.state !== 'reserved') {
          return Promise.reject(
            new TypeError(`a batch place is filled once, and this one is ${entry.state}`),
          );
        }
        const sent = new Promise<void>((resolve, reject) => {
          entry.resolve = resolve;
          entry.reject = reject;
        });
        entry.state = 'filled';
        entry.item = item;
        this.#startWhenReady(owner);
        return sent;
      },
      cancel: () => {
        if (entry.state !== 'reserved') return;
        entry.state = 'cancelled';
        this.#startWhenReady(owner);
      },
    };
  }

  #openBatch(queue: string): Batch<T> {
    let done = () => {};
    const settled = new Promise<void>((resolve) => {
      done = resolve;
    });
    const batch: Batch<T> = {
      queue,
      entries: [],
      bytes: 0,
      closed: false,
      started: false,
      timer: undefined,
      after: [],
      settled,
      done,
    };
    batch.timer = setTimeout(() => this.#close(batch), this.#maxDelayMs);
    this.#open.set(queue, batch);
    return batch;
  }

  /** No more places join the batch; it waits for earlier batches of its groups. */
  #close(batch: Batch<T>): void {
    if (batch.closed) return;
    batch.closed = true;
    clearTimeout(batch.timer);
    if (this.#open.get(batch.queue) === batch) this.#open.delete(batch.queue);
    const after = new Set<Promise<void>>();
    for (const entry of batch.entries) {
      const key = `${batch.queue}\n${entry.group}`;
      const previous = this.#lastOfGroup.get(key);
      if (previous !== undefined && previous !== batch.settled) after.add(previous);
      this.#lastOfGroup.set(key, batch.settled);
    }
    batch.after = [...after];
    this.#startWhenReady(batch);
  }

  /** Sends a closed batch once no place in it is still waiting to be filled. */
  #startWhenReady(batch: Batch<T>): void {
    if (!batch.closed || batch.started) return;
    if (batch.entries.some((e) => e.state === 'reserved')) return;
    batch.started = true;
    void this.#run(batch);
  }

  async #run(batch: Batch<T>): Promise<void> {
    await Promise.all(batch.after);
    const filled = batch.entries.filter((e) => e.state === 'filled');
    try {
      if (filled.length === 0) return;
      let outcomes: readonly unknown[];
      try {
        outcomes = await this.#send(filled.map((e) => e.item as T));
        if (outcomes.length !== filled.length) {
          throw new RangeError(`${outcomes.length} outcomes for a batch of ${filled.length}`);
        }
      } catch (e) {
        outcomes = filled.map(() => e);
      }
      filled.forEach((entry, i) => {
        const error = outcomes[i];
        if (error === undefined) entry.resolve?.();
        else entry.reject?.(error);
      });
    } finally {
      for (const entry of batch.entries) {
        const key = `${batch.queue}\n${entry.group}`;
        if (this.#lastOfGroup.get(key) === batch.settled) this.#lastOfGroup.delete(key);
      }
      batch.done();
    }
  }
}

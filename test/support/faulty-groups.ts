/**
 * A `GroupBackend` wrapper for tests of the chord protocol: it delegates every call and, once,
 * acts right after one step of the protocol (the write done): throws a transient error (a crash
 * the redelivery repairs) or calls a hook (a child process that waits there to be SIGKILLed).
 *
 * @module
 */
import { TransientInfrastructureError } from '../../src/core/errors.js';
import type { GroupBackend } from '../../src/core/ports.js';
import type { Signature } from '../../src/core/types.js';

/** A step of the chord protocol after which the wrapper acts. */
export type ChordStep = 'leaf' | 'level1' | 'level2' | 'trigger' | 'send' | 'fail';

/**
 * Delegates to `inner`; right after `step` (once) runs `onStep`, which by default throws a
 * `TransientInfrastructureError`. `send` is the callback's send: call {@link beforeSend} from the
 * dispatcher with the signatures it is about to send.
 *
 * @example
 * ```ts
 * const groups = new FaultyGroups(new MemoryGroupBackend(), 'trigger');
 * ```
 */
export class FaultyGroups implements GroupBackend {
  readonly inner: GroupBackend;
  #armed: ChordStep | undefined;
  readonly #onStep: (step: ChordStep) => Promise<void>;
  readonly #isCallback: (signature: Signature) => boolean;
  /** Faults injected so far. */
  injected = 0;

  constructor(
    inner: GroupBackend,
    step?: ChordStep,
    options: {
      onStep?: (step: ChordStep) => Promise<void>;
      isCallback?: (signature: Signature) => boolean;
    } = {},
  ) {
    this.inner = inner;
    this.#armed = step;
    this.#onStep =
      options.onStep ??
      (async (s) => {
        throw new TransientInfrastructureError(`injected crash after ${s}`);
      });
    this.#isCallback = options.isCallback ?? ((s) => s.Name === 'multiply' || s.Name === 'collect');
  }

  async #after(step: ChordStep): Promise<void> {
    if (this.#armed !== step) return;
    this.#armed = undefined;
    this.injected++;
    await this.#onStep(step);
  }

  initGroup: GroupBackend['initGroup'] = (i, o) => this.inner.initGroup(i, o);
  getGroup: GroupBackend['getGroup'] = (g, o) => this.inner.getGroup(g, o);
  memberUUIDs: GroupBackend['memberUUIDs'] = (g, t, o) => this.inner.memberUUIDs(g, t, o);
  readLevel: GroupBackend['readLevel'] = (g, l, n, o) => this.inner.readLevel(g, l, n, o);
  countMember: GroupBackend['countMember'] = (g, m, t, o) => this.inner.countMember(g, m, t, o);
  countedMembers: GroupBackend['countedMembers'] = (g, o) => this.inner.countedMembers(g, o);
  markNode: GroupBackend['markNode'] = async (node, slot, o) => {
    const out = await this.inner.markNode(node, slot, o);
    if (out.marked)
      await this.#after(node.level === 0 ? 'leaf' : node.level === 1 ? 'level1' : 'level2');
    return out;
  };
  trigger: GroupBackend['trigger'] = async (g, o) => {
    const out = await this.inner.trigger(g, o);
    if (out === 'triggered') await this.#after('trigger');
    return out;
  };
  fail: GroupBackend['fail'] = async (g, f, o) => {
    const out = await this.inner.fail(g, f, o);
    if (out === 'failed') await this.#after('fail');
    return out;
  };

  /** Acts before the callback's send, when armed for `send`. */
  async beforeSend(signatures: readonly Signature[]): Promise<void> {
    if (signatures.some((s) => this.#isCallback(s))) await this.#after('send');
  }
}

/**
 * Sending signatures: choose each one's task queue (`routing.ts`: the queue the send names, or
 * its `Priority`, written to `RoutingKey`), check it, record it PENDING, then route it by its ETA:
 *
 * | ETA | path |
 * | --- | --- |
 * | none, or not in the future | the FIFO task queue (`broker.publish`) |
 * | ≤ 15 min away | the standard delay queue with `DelaySeconds` (`broker.publishDelayed`); the forwarder moves it to the task queue when due |
 * | > 15 min away | a one-time EventBridge Scheduler `at()` schedule firing 1 min early into the delay queue |
 *
 * A signature too large for a Scheduler input travels by reference: its body is kept in the task's
 * PENDING item. Every check (the signature's fields, the message size, a body too large for an
 * item) runs before the first PENDING write, so a refused send leaves no record behind.
 *
 * @module
 */
import { messageBytes } from './bounds.js';
import type { Clock } from './clock.js';
import { EtaParseError, MachineryError, SignatureEncodeError } from './errors.js';
import { laneOf } from './lanes.js';
import { taskExpiresAt } from './lifetime.js';
import type { Broker, PublishItem, ResultBackend, Scheduler } from './ports.js';
import { DEFAULTS } from './resources.js';
import { type QueueChoice, type QueueRouting, routeSignature } from './routing.js';
import { encodeSignature } from './signature.js';
import { etaToMillis, normalizeEta } from './time.js';
import type { Signature } from './types.js';

/** Largest body kept in a DynamoDB item (400 KB item limit, minus room for the other attributes). */
export const MAX_BODY_BY_REFERENCE_BYTES = 350_000;

/**
 * A signature that cannot be sent as asked (no scheduler for a far ETA, a body too large…).
 *
 * @example
 * ```ts
 * try { await dispatch([sig], deps); } catch (e) { if (e instanceof DispatchError) console.error(e.message); }
 * ```
 */
export class DispatchError extends MachineryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DISPATCH_FAILED', message, options);
  }
}

/**
 * What {@link dispatch} needs.
 *
 * @example
 * ```ts
 * const deps: DispatchDeps = { backend, broker, scheduler, clock: systemClock };
 * ```
 */
export interface DispatchDeps {
  backend: ResultBackend;
  broker: Broker;
  /** Needed only for ETAs more than 15 minutes away. */
  scheduler?: Scheduler;
  clock: Clock;
  /** machinery's `ResultsExpireIn`. @default 3600 */
  resultsExpireInSeconds?: number;
  /**
   * The task queues to route between (`routing.ts`): each signature sent, and its callbacks, get
   * the `RoutingKey` of their queue. @default none: `RoutingKey`s are sent as they are
   */
  routing?: QueueRouting;
}

/**
 * Where {@link dispatch} sent a signature.
 *
 * @example
 * ```ts
 * const routes = await dispatch([sig], deps); // ['queue']
 * ```
 */
export type DispatchRoute = 'queue' | 'delay-queue' | 'schedule';

/** One signature checked and routed, nothing written or sent yet. */
interface Plan {
  signature: Signature;
  route: DispatchRoute;
  expiresAt: number;
  delaySeconds: number;
  fireAt: number;
  /** The encoded body kept in the PENDING item (a schedule input too large). */
  byReference: string | undefined;
}

/** Whether a send records the task PENDING: the full lane, or any body kept by reference. */
function writesPending(p: Plan): boolean {
  return p.byReference !== undefined || laneOf(p.signature) === 'full';
}

/** A signature's ETA as epoch ms (`null`: none); a malformed one is the signature's error. */
function dueAt(signature: Signature): number | null {
  try {
    return etaToMillis(normalizeEta(signature.ETA));
  } catch (e) {
    if (!(e instanceof EtaParseError)) throw e;
    throw new SignatureEncodeError('ETA', e.message, { cause: e });
  }
}

/** A signature with its queue chosen (`routing.ts`), or as it is without routing. */
function chooseQueue(signature: Signature, deps: DispatchDeps, queue: QueueChoice | undefined) {
  if (deps.routing !== undefined) return routeSignature(signature, deps.routing, queue);
  if (queue === 'high') {
    throw new DispatchError(
      `task ${signature.UUID} asks for the high-priority queue, but no queue routing is configured`,
    );
  }
  return signature;
}

/**
 * Checks one signature and chooses its route: its ETA is valid, the signature is (measuring or
 * encoding it validates every field, so an over-long name or UUID is refused), its message fits
 * SQS, and a far ETA has a scheduler and a body that fits a Scheduler input or an item.
 */
function plan(signature: Signature, deps: DispatchDeps, now: number): Plan {
  const eta = dueAt(signature);
  const expiresAt = taskExpiresAt({
    now,
    eta,
    ...(deps.resultsExpireInSeconds === undefined
      ? {}
      : { resultsExpireInSeconds: deps.resultsExpireInSeconds }),
  });
  const delayMs = eta === null ? 0 : eta - now;
  const base = { signature, expiresAt, delaySeconds: 0, fireAt: now, byReference: undefined };
  if (delayMs <= DEFAULTS.maxDelaySeconds * 1000) {
    const bytes = messageBytes(signature);
    if (bytes > DEFAULTS.maxMessageBytes) {
      throw new DispatchError(
        `task ${signature.UUID} is ${bytes} bytes with its message attributes, more than the ${DEFAULTS.maxMessageBytes} bytes an SQS message holds`,
      );
    }
    if (delayMs <= 0) return { ...base, route: 'queue' };
    return { ...base, route: 'delay-queue', delaySeconds: Math.ceil(delayMs / 1000) };
  }
  if (deps.scheduler === undefined) {
    throw new DispatchError(
      `task ${signature.UUID} has an ETA more than ${DEFAULTS.maxDelaySeconds} s away, which needs EventBridge Scheduler, but no scheduler is configured`,
    );
  }
  const body = encodeSignature(signature);
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_BODY_BY_REFERENCE_BYTES) {
    throw new DispatchError(
      `task ${signature.UUID} is ${bytes} bytes: too large to schedule (a body over ${DEFAULTS.schedulerMaxInputBytes} bytes is kept in DynamoDB, which holds at most ${MAX_BODY_BY_REFERENCE_BYTES})`,
    );
  }
  return {
    ...base,
    route: 'schedule',
    fireAt: Math.max(now, (eta as number) - DEFAULTS.schedulerLeadSeconds * 1000),
    byReference: bytes > DEFAULTS.schedulerMaxInputBytes ? body : undefined,
  };
}

/**
 * Checks every signature, records each PENDING (a re-send of a known UUID leaves its state
 * alone; a signature of the lean or idempotent lane, `lanes.ts`, is recorded only when its body
 * travels by reference), then sends each on the path its ETA asks for. Resolves with the route of each
 * signature, in order.
 *
 * Nothing is written or sent unless every signature passes: a signature the wire format refuses
 * (a malformed ETA, a task name over `DEFAULTS.maxTaskNameLength`, a UUID over
 * `DEFAULTS.maxUuidLength`) rejects with `SignatureEncodeError`, a message over 1 MiB, a body too
 * large for an item or a far ETA without a scheduler with {@link DispatchError}, `queue: 'high'`
 * without a high-priority queue with `QueueRoutingError` (or {@link DispatchError} without any
 * routing). Rejects when any
 * send fails (nothing is silently dropped; a re-send with the same UUIDs is safe, FIFO
 * deduplication and the conditional PENDING write make it idempotent).
 *
 * @throws SignatureEncodeError or {@link DispatchError} before any write, as above.
 * @example
 * ```ts
 * await dispatch([newSignature('add', [{ Name: '', Type: 'int64', Value: 1 }])], {
 *   backend, broker, clock: systemClock,
 * });
 * ```
 */
export async function dispatch(
  signatures: readonly Signature[],
  deps: DispatchDeps,
  options: {
    /** Deduplication id per signature (FIFO task queue only). @default the UUID */
    deduplicationId?: (signature: Signature) => string;
    /**
     * The task queue of every signature sent (and of their callbacks without a `RoutingKey`);
     * needs `deps.routing`, and a high queue in it for `'high'`.
     * @default by each signature's `Priority` (with `deps.routing`)
     */
    queue?: QueueChoice;
  } = {},
): Promise<DispatchRoute[]> {
  const now = deps.clock.now();
  const plans = signatures.map((signature) =>
    plan(chooseQueue(signature, deps, options.queue), deps, now),
  );

  // The lean and idempotent lanes write no PENDING item (docs/design.md §4 "Lanes"), unless the
  // body must travel by reference: then the item holds it.
  await Promise.all(
    plans.filter(writesPending).map((p) =>
      deps.backend.putPending(p.signature, {
        now,
        expiresAt: p.expiresAt,
        ...(p.byReference === undefined ? {} : { body: p.byReference }),
      }),
    ),
  );
  const immediate: PublishItem[] = [];
  const delayed: { signature: Signature; delaySeconds: number }[] = [];
  for (const p of plans) {
    if (p.route === 'queue') {
      const dedup = options.deduplicationId?.(p.signature);
      immediate.push(
        dedup === undefined
          ? { signature: p.signature }
          : { signature: p.signature, deduplicationId: dedup },
      );
    } else if (p.route === 'delay-queue') {
      delayed.push({ signature: p.signature, delaySeconds: p.delaySeconds });
    }
  }
  const sends: Promise<unknown>[] = [];
  if (immediate.length > 0) sends.push(deps.broker.publish(immediate));
  if (delayed.length > 0) sends.push(deps.broker.publishDelayed(delayed));
  for (const p of plans) {
    if (p.route !== 'schedule') continue;
    sends.push(
      (deps.scheduler as Scheduler).scheduleOnce(p.signature, p.fireAt, {
        bodyByReference: p.byReference !== undefined,
      }),
    );
  }
  const settled = await Promise.allSettled(sends);
  const failed = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length === 1) throw failed[0]?.reason;
  if (failed.length > 1) {
    throw new AggregateError(
      failed.map((f) => f.reason),
      `${failed.length} of ${sends.length} sends failed`,
    );
  }
  return plans.map((p) => p.route);
}

/**
 * Where {@link resend} sent a signature.
 *
 * @example
 * ```ts
 * const r: ResendRoute = { route: 'delay-queue', delaySeconds: 900 };
 * ```
 */
export type ResendRoute =
  | { route: 'queue' }
  | { route: 'delay-queue'; delaySeconds: number }
  | { route: 'schedule'; fireAt: number };

/**
 * Sends one signature of a task already recorded on to its ETA, writing no state: the worker's
 * re-sends (not due on receipt, a retry past the visibility cap) and the forwarder's hops.
 *
 * - due (no ETA, or not in the future): the FIFO task queue with `deduplicationId`;
 * - more than 15 min away, with a scheduler, and an input that fits (or `reference` given): a
 *   one-time schedule firing 1 min early (`bodyByReference` when `reference` is given);
 * - otherwise the delay queue for `min(15 min, remaining)` (the forwarder re-delays until due),
 *   with `reference` as the message body when given. This is also the path when the task's
 *   one-time schedule still exists (the one that just fired, not deleted yet: `scheduleOnce`
 *   creates nothing), so the signature is never dropped.
 *
 * @example
 * ```ts
 * await resend(sig, { broker, scheduler, clock }, { deduplicationId: `${sig.UUID}.${messageId}` });
 * ```
 */
export async function resend(
  signature: Signature,
  deps: Pick<DispatchDeps, 'broker' | 'scheduler' | 'clock'>,
  options: {
    /** FIFO deduplication id when it goes to the task queue. */
    deduplicationId: string;
    /** The body to send instead of the signature: a reference to the body kept in the task's item. */
    reference?: string;
  },
): Promise<ResendRoute> {
  const eta = etaToMillis(signature.ETA);
  const now = deps.clock.now();
  if (eta === null || eta <= now) {
    await deps.broker.publish([{ signature, deduplicationId: options.deduplicationId }]);
    return { route: 'queue' };
  }
  const remainingMs = eta - now;
  const byReference = options.reference !== undefined;
  if (
    remainingMs > DEFAULTS.maxDelaySeconds * 1000 &&
    deps.scheduler !== undefined &&
    (byReference ||
      Buffer.byteLength(encodeSignature(signature), 'utf8') <= DEFAULTS.schedulerMaxInputBytes)
  ) {
    const fireAt = Math.max(now, eta - DEFAULTS.schedulerLeadSeconds * 1000);
    if (await deps.scheduler.scheduleOnce(signature, fireAt, { bodyByReference: byReference })) {
      return { route: 'schedule', fireAt };
    }
  }
  const delaySeconds = Math.min(DEFAULTS.maxDelaySeconds, Math.ceil(remainingMs / 1000));
  await deps.broker.publishDelayed([
    { signature, delaySeconds, ...(byReference ? { body: options.reference } : {}) },
  ]);
  return { route: 'delay-queue', delaySeconds };
}

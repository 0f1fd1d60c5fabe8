/**
 * Priority routing (docs/design.md §4, Priorities): which task queue a signature goes to, decided
 * once where it is first sent and written to its `RoutingKey` (§2: it names the target queue), so
 * every later hop (a retry, an ETA through the delay queue and the forwarder, a redrive, a
 * callback) follows the key instead of deciding again.
 *
 * | the send asks | `RoutingKey` set to |
 * | --- | --- |
 * | `queue: 'high'` | the high-priority queue's name (refused when none is configured) |
 * | `queue: 'default'` | the default task queue's name |
 * | nothing, `Priority` ≥ the threshold, a high queue configured | the high-priority queue's name |
 * | nothing otherwise | unchanged (`''` is the default task queue) |
 *
 * A signature that already has a `RoutingKey` keeps it unless the send names a queue. Callbacks
 * (`OnSuccess`, `OnError`, `ChordCallback`, at every depth) are routed with the same rule when
 * their `RoutingKey` is empty: a queue named by the send applies to them too, otherwise each by
 * its own `Priority`.
 *
 * @module
 */
import { QueueRoutingError } from './errors.js';
import { DEFAULTS } from './resources.js';
import type { Signature } from './types.js';

/**
 * A queue a send may name: the high-priority task queue or the default one.
 *
 * @example
 * ```ts
 * const choice: QueueChoice = 'high';
 * ```
 */
export type QueueChoice = 'high' | 'default';

/**
 * The queues a sender routes between, by the names `RoutingKey` carries.
 *
 * @example
 * ```ts
 * const routing: QueueRouting = { defaultQueue: 'tasks.fifo', highQueue: 'tasks-high.fifo',
 *   highPriorityThreshold: DEFAULTS.highPriorityThreshold };
 * ```
 */
export interface QueueRouting {
  /** Name of the default FIFO task queue. */
  readonly defaultQueue: string;
  /** Name of the high-priority FIFO task queue; `undefined` when there is none (the feature is off). */
  readonly highQueue: string | undefined;
  /** Smallest `Priority` routed to the high queue. @default DEFAULTS.highPriorityThreshold */
  readonly highPriorityThreshold?: number;
}

/**
 * The name of an SQS queue from its URL (`https://host/<account>/<name>` → `<name>`).
 *
 * @example
 * ```ts
 * queueNameOf('https://sqs.eu-west-1.amazonaws.com/123456789012/tasks-high.fifo'); // 'tasks-high.fifo'
 * ```
 */
export function queueNameOf(url: string): string {
  return url.replace(/\/+$/, '').split('/').at(-1) ?? '';
}

/**
 * The routing of a deployment from its queue URLs: names taken from the URLs, the threshold as
 * given or `DEFAULTS.highPriorityThreshold`.
 *
 * @example
 * ```ts
 * const routing = queueRouting(settings.taskQueueUrl, settings.highTaskQueueUrl);
 * ```
 */
export function queueRouting(
  taskQueueUrl: string,
  highTaskQueueUrl: string | undefined,
  highPriorityThreshold: number = DEFAULTS.highPriorityThreshold,
): QueueRouting {
  return {
    defaultQueue: queueNameOf(taskQueueUrl),
    highQueue: highTaskQueueUrl === undefined ? undefined : queueNameOf(highTaskQueueUrl),
    highPriorityThreshold,
  };
}

/**
 * `signature` with its `RoutingKey` (and its callbacks') set by the rule of the module
 * documentation. Returns new objects; the given signature is left as it is. Throws
 * {@link QueueRoutingError} when `queue` is `'high'` and the routing has no high queue.
 *
 * @example
 * ```ts
 * routeSignature({ ...sig, Priority: 9 }, routing).RoutingKey; // 'tasks-high.fifo'
 * routeSignature(sig, routing, 'default').RoutingKey; // 'tasks.fifo'
 * ```
 */
export function routeSignature(
  signature: Signature,
  routing: QueueRouting,
  queue?: QueueChoice,
): Signature {
  if (queue === 'high' && routing.highQueue === undefined) {
    throw new QueueRoutingError(
      `task ${signature.UUID} asks for the high-priority queue, but none is configured`,
    );
  }
  const named = queue === undefined ? undefined : chosenQueue(routing, queue);
  const route = (s: Signature, top: boolean): Signature => ({
    ...s,
    RoutingKey: keyOf(s, routing, named, top),
    OnSuccess: s.OnSuccess === null ? null : s.OnSuccess.map((c) => route(c, false)),
    OnError: s.OnError === null ? null : s.OnError.map((c) => route(c, false)),
    ChordCallback: s.ChordCallback === null ? null : route(s.ChordCallback, false),
  });
  return route(signature, true);
}

function chosenQueue(routing: QueueRouting, queue: QueueChoice): string {
  return queue === 'high' ? (routing.highQueue as string) : routing.defaultQueue;
}

/** The `RoutingKey` of one signature: a named queue wins at the top, else a set key stays. */
function keyOf(
  s: Signature,
  routing: QueueRouting,
  named: string | undefined,
  top: boolean,
): string {
  if (named !== undefined && (top || s.RoutingKey === '')) return named;
  if (s.RoutingKey !== '') return s.RoutingKey;
  const threshold = routing.highPriorityThreshold ?? DEFAULTS.highPriorityThreshold;
  return routing.highQueue !== undefined && s.Priority >= threshold ? routing.highQueue : '';
}

/**
 * Cost lanes (docs/design.md §4 "Lanes"): how much bookkeeping one task pays for.
 *
 * | lane | writes of a simple task | what a poller sees | guarantee |
 * | --- | --- | --- | --- |
 * | `full` (default) | 3: PENDING at send, the claim, the final state | PENDING, STARTED, final | exactly-once state; a duplicate never runs a finished task |
 * | `lean` | 2: the claim, the final state | STARTED, final | the same as `full` |
 * | `idempotent` | 1 write + 1 strongly consistent read | final | at-least-once runs; the final state is never overwritten |
 *
 * The lane travels with the message in the header {@link LANE_HEADER} (machinery and Go consumers
 * ignore headers they do not know); no header is the `full` lane. A task definition may name its
 * default lane (`defineTask({ lane })`, `defineContract({ lane })`); a send may override it. The
 * `idempotent` lane is only for tasks whose definition declares it (`lane: 'idempotent'`): a send
 * that knows the definition refuses it otherwise ({@link checkLane}), and a worker that receives an
 * `idempotent` message for a task that does not declare it runs it in the `lean` lane.
 *
 * @module
 */
import { LaneError } from './errors.js';
import type { Signature } from './types.js';

/**
 * A cost lane: `full`, `lean` or `idempotent` (see the module documentation).
 *
 * @example
 * ```ts
 * const lane: Lane = 'lean';
 * ```
 */
export type Lane = 'full' | 'lean' | 'idempotent';

/**
 * Every lane, cheapest bookkeeping last.
 *
 * @example
 * ```ts
 * LANES.includes('lean'); // true
 * ```
 */
export const LANES: readonly Lane[] = Object.freeze(['full', 'lean', 'idempotent']);

/**
 * The message header carrying the lane (absent: `full`).
 *
 * @example
 * ```ts
 * sig.Headers[LANE_HEADER]; // 'lean'
 * ```
 */
export const LANE_HEADER = 'machinery.lane';

/**
 * Whether a value names a lane.
 *
 * @example
 * ```ts
 * isLane('lean'); // true
 * isLane('cheap'); // false
 * ```
 */
export function isLane(value: unknown): value is Lane {
  return typeof value === 'string' && (LANES as readonly string[]).includes(value);
}

/**
 * A lane from user input.
 *
 * @throws LaneError when `value` names no lane.
 * @example
 * ```ts
 * parseLane('idempotent'); // 'idempotent'
 * ```
 */
export function parseLane(value: unknown): Lane {
  if (isLane(value)) return value;
  throw new LaneError(`unknown lane ${JSON.stringify(value)}: use one of ${LANES.join(', ')}`);
}

/**
 * The lane a message asks for: its {@link LANE_HEADER}, `full` when absent or not a lane (the
 * lane that writes the most is the safe reading of a header this version does not know).
 *
 * @example
 * ```ts
 * laneOf(newSignature('add', [])); // 'full'
 * ```
 */
export function laneOf(signature: Pick<Signature, 'Headers'>): Lane {
  const value = signature.Headers[LANE_HEADER];
  return isLane(value) ? value : 'full';
}

/**
 * The signature with its lane set: `full` removes the header (the wire format of today), the
 * others set it.
 *
 * @example
 * ```ts
 * withLane(sig, 'lean').Headers['machinery.lane']; // 'lean'
 * ```
 */
export function withLane(signature: Signature, lane: Lane): Signature {
  const { [LANE_HEADER]: _previous, ...rest } = signature.Headers;
  return { ...signature, Headers: lane === 'full' ? rest : { ...rest, [LANE_HEADER]: lane } };
}

/**
 * What a task definition says about lanes: its default lane (`idempotent` declares the task
 * idempotent).
 *
 * @example
 * ```ts
 * const declared: LaneDeclaration = { name: 'resize', lane: 'idempotent' };
 * ```
 */
export interface LaneDeclaration {
  readonly name: string;
  /** The definition's default lane. @default 'full' */
  readonly lane?: Lane | undefined;
}

/**
 * Whether a definition declares its task idempotent (its default lane is `idempotent`).
 *
 * @example
 * ```ts
 * declaresIdempotent({ name: 'resize', lane: 'idempotent' }); // true
 * ```
 */
export function declaresIdempotent(definition: LaneDeclaration): boolean {
  return definition.lane === 'idempotent';
}

/**
 * Checks that a send may use `lane` for a task whose definition is known.
 *
 * @throws LaneError for `idempotent` when the definition does not declare it.
 * @example
 * ```ts
 * checkLane('lean', addContract); // fine
 * checkLane('idempotent', addContract); // throws LaneError
 * ```
 */
export function checkLane(lane: Lane, definition: LaneDeclaration): void {
  if (lane === 'idempotent' && !declaresIdempotent(definition)) {
    throw new LaneError(
      `task "${definition.name}" is not declared idempotent (lane: 'idempotent' in its definition), so it cannot be sent in the idempotent lane`,
    );
  }
}

/**
 * The lane option of a send that knows its task's definition.
 *
 * @example
 * ```ts
 * const options: LaneOption = { lane: 'lean' };
 * ```
 */
export interface LaneOption {
  /** The cost lane of this send. @default the definition's lane, else 'full' */
  lane?: Lane;
}

/**
 * A signature built from a known definition, with its lane: `override` when given, else the
 * definition's default, checked against the definition.
 *
 * @throws LaneError for `idempotent` when the definition does not declare it, or a value that
 * names no lane.
 * @example
 * ```ts
 * const sig = laneFor(newSignature('resize', args), resizeTask, 'lean');
 * ```
 */
export function laneFor(
  signature: Signature,
  definition: LaneDeclaration,
  override?: Lane | undefined,
): Signature {
  const lane = override === undefined ? (definition.lane ?? 'full') : parseLane(override);
  checkLane(lane, definition);
  return withLane(signature, lane);
}

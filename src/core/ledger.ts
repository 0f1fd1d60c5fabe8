/**
 * The failure ledger: what the worker remembers about failures that are not a task's own, across
 * deliveries and worker instances. A port (implemented on DynamoDB by `src/aws/ledger.ts`, in
 * memory by {@link MemoryFailureLedger}) and the backstop policy on top of it
 * ({@link judgeUnclassifiedFault}).
 *
 * Three kinds of entry, each in its own key space of the `task_states` table (prefixes the UUIDs
 * machinery generates, `task_<uuid>`, never start with):
 *
 * | key | what | lifetime |
 * | --- | --- | --- |
 * | `streak#<messageId>` | the error code of a message's current streak of failing receives, and its length | the task queue's retention, refreshed on each count |
 * | `fault#<code>#<minute>` | the distinct message ids that failed with an unclassified `code` in that minute (epoch minute), at most `enough` of them | the systemic window after that minute |
 * | `dlq#<deduplicationId>` | the reason record of a dead-lettered copy sent without attributes (too large to carry them) | the DLQ's retention plus a day |
 *
 * ## The backstop
 *
 * An error the code does not classify (see `classifyFault`) is returned to the queue like a
 * transient one, but the worker notes it here:
 *
 * - **Systemic** when the same code failed {@link LEDGER_DEFAULTS.systemicMessages} (3) or more
 *   different messages within the window (the current minute and the 4 before it: a window of 4 to 5
 *   minutes). Counted in the `SystemicErrors` metric; the message is not dead-lettered and its
 *   streak is not counted (the fault is not the message's).
 * - Otherwise it counts one in the message's **streak**: consecutive failing receives with the same
 *   code. A different unclassified code starts a new streak at 1. At
 *   {@link LEDGER_DEFAULTS.streakLimit} (5) the message is dead-lettered (`repeated-error`).
 * - Receives that end otherwise (a retry the task asked for, a busy lease, a transient or a
 *   deployment error) neither count nor reset a streak: they cost no ledger write, and a streak
 *   interrupted by a throttling hiccup still ends in the DLQ. A message that succeeds is gone; its
 *   streak item expires by TTL.
 *
 * @module
 */
import { QUEUES } from './resources.js';
import type { DeadLetterReason } from './types.js';

const MINUTE = 60_000;

/**
 * Prefixes of the ledger's key spaces in the `task_states` table.
 *
 * @example
 * ```ts
 * const key = `${LEDGER_KEYS.deadLetter}${deduplicationId}`; // 'dlq#…'
 * ```
 */
export const LEDGER_KEYS = {
  /** `streak#<messageId>`: one message's current streak. */
  streak: 'streak#',
  /** `fault#<code>#<epoch minute>`: messages that failed with one code in one minute. */
  fault: 'fault#',
  /** `dlq#<deduplicationId of the DLQ copy>`: the reason of a copy sent without attributes. */
  deadLetter: 'dlq#',
} as const;

/**
 * The backstop's thresholds.
 *
 * @example
 * ```ts
 * if (streak >= LEDGER_DEFAULTS.streakLimit) deadLetter('repeated-error');
 * ```
 */
export const LEDGER_DEFAULTS = {
  /** Failing receives in a row with one unclassified code before the message is dead-lettered. @default 5 */
  streakLimit: 5,
  /** Different messages failing with one unclassified code within the window: a systemic fault. @default 3 */
  systemicMessages: 3,
  /** The systemic window, ms (counted in whole minutes: the current one and those before). @default 300000 */
  systemicWindowMs: 5 * MINUTE,
  /** Longest error code kept in a key, characters (the rest is cut). @default 200 */
  maxCodeChars: 200,
} as const;

/** How long a streak is remembered after its last count, ms: as long as its message can be delivered. */
export const STREAK_LIFETIME_MS = QUEUES.tasks.retentionSeconds * 1000;

/** How long a dead-letter reason record lives, ms: the DLQ's retention plus a day. */
export const DEAD_LETTER_NOTE_LIFETIME_MS = (QUEUES.tasksDlq.retentionSeconds + 86_400) * 1000;

/**
 * The reason of a dead-lettered copy that carries no attributes (its body left no room for them
 * under SQS's 1 MiB limit). Found from the DLQ message alone: its `MessageDeduplicationId` is
 * {@link DeadLetterNote.deduplicationId}.
 *
 * @example
 * ```ts
 * const note = await ledger.getDeadLetterNote(message.Attributes.MessageDeduplicationId, { now });
 * console.log(note?.reason, note?.detail);
 * ```
 */
export interface DeadLetterNote {
  /** The copy's `MessageDeduplicationId` (the original message id): the key. */
  deduplicationId: string;
  /** The message id on the task queue. */
  messageId: string;
  reason: DeadLetterReason;
  /** Human-readable detail (the error), cut to a few thousand characters. */
  detail: string;
  /** The task's UUID when it could be read, else `null`. */
  taskUuid: string | null;
  /** ARN of the queue the message came from. */
  sourceQueue: string;
  /** When it was dead-lettered, epoch ms. */
  deadLetteredAt: number;
  /** MD5 of the body, hex (SQS's `MD5OfBody` of the copy). */
  bodyMd5: string;
  /** Size of the body, bytes (UTF-8). */
  bodyBytes: number;
  /** When the record expires, epoch ms. Expired records read as absent. */
  expiresAt: number;
}

/** One failing receive of a message, as the ledger counts it. */
export interface FaultSighting {
  messageId: string;
  /** The error's stable code (see `classifyFault`). */
  code: string;
  /** Epoch ms. */
  now: number;
}

/**
 * Stores the worker's failure bookkeeping. Every count is atomic: concurrent deliveries and worker
 * instances count right.
 *
 * @example
 * ```ts
 * const streak = await ledger.countStreak({ messageId, code: 'BOOM', now, expiresAt: now + 86_400_000 });
 * ```
 */
export interface FailureLedger {
  /**
   * Counts one failing receive of `messageId` with `code`: the streak's length after it. A streak
   * of another code (or an expired one) is replaced by a new streak of 1.
   */
  countStreak(sighting: FaultSighting & { expiresAt: number }): Promise<number>;

  /**
   * Notes that `messageId` failed with `code` at `now`; resolves with the number of different
   * messages that failed with `code` within `windowMs` before `now` (counted in whole minutes: the
   * current minute and the ones before it that the window reaches). The count may stop at `enough`:
   * a minute keeps at most that many message ids, since more change nothing.
   */
  noteCode(sighting: FaultSighting & { windowMs: number; enough: number }): Promise<number>;

  /** Stores a dead-letter reason record (replacing one with the same deduplication id). */
  putDeadLetterNote(note: DeadLetterNote): Promise<void>;

  /** The reason record of a DLQ copy, by its deduplication id; `undefined` when absent or expired. */
  getDeadLetterNote(
    deduplicationId: string,
    options: { now: number },
  ): Promise<DeadLetterNote | undefined>;
}

/**
 * What the backstop decided about one unclassified failure.
 *
 * - `systemic`: the code fails on many messages: count it in the metric, do not dead-letter.
 * - `repeated`: the message reached the streak limit: dead-letter it (`repeated-error`).
 * - `counted`: one more in the message's streak, below the limit: return it to the queue.
 *
 * @example
 * ```ts
 * const j: FaultJudgement = { verdict: 'counted', streak: 2, messages: 1 };
 * ```
 */
export interface FaultJudgement {
  verdict: 'systemic' | 'repeated' | 'counted';
  /** The message's streak after this failure (unchanged, and reported as 0, when systemic). */
  streak: number;
  /** Different messages that failed with this code within the window. */
  messages: number;
}

/**
 * An error code as the ledger keys it: at most `LEDGER_DEFAULTS.maxCodeChars` characters, `-` when
 * empty.
 *
 * @example
 * ```ts
 * ledgerCode(''); // '-'
 * ```
 */
export function ledgerCode(code: string): string {
  if (code === '') return '-';
  return code.length <= LEDGER_DEFAULTS.maxCodeChars
    ? code
    : code.slice(0, LEDGER_DEFAULTS.maxCodeChars);
}

/**
 * The epoch minutes a window of `windowMs` before `now` reaches, newest first (at least the current
 * one).
 *
 * @example
 * ```ts
 * windowMinutes(600_000, 300_000); // [10, 9, 8, 7, 6]
 * ```
 */
export function windowMinutes(now: number, windowMs: number): number[] {
  const current = Math.floor(now / MINUTE);
  const count = Math.max(1, Math.ceil(windowMs / MINUTE));
  return Array.from({ length: count }, (_, i) => current - i);
}

/**
 * The backstop's decision for one failing receive whose error is unclassified (see the module
 * documentation): notes the code, then, unless the fault is systemic, counts the message's streak.
 *
 * @example
 * ```ts
 * const { verdict } = await judgeUnclassifiedFault(ledger, { messageId, code: 'Error', now });
 * if (verdict === 'repeated') await deadLetter('repeated-error');
 * ```
 */
export async function judgeUnclassifiedFault(
  ledger: FailureLedger,
  sighting: FaultSighting,
  limits: { streakLimit?: number; systemicMessages?: number; systemicWindowMs?: number } = {},
): Promise<FaultJudgement> {
  const streakLimit = limits.streakLimit ?? LEDGER_DEFAULTS.streakLimit;
  const enough = limits.systemicMessages ?? LEDGER_DEFAULTS.systemicMessages;
  const code = ledgerCode(sighting.code);
  const messages = await ledger.noteCode({
    ...sighting,
    code,
    windowMs: limits.systemicWindowMs ?? LEDGER_DEFAULTS.systemicWindowMs,
    enough,
  });
  if (messages >= enough) return { verdict: 'systemic', streak: 0, messages };
  const streak = await ledger.countStreak({
    ...sighting,
    code,
    expiresAt: sighting.now + STREAK_LIFETIME_MS,
  });
  return { verdict: streak >= streakLimit ? 'repeated' : 'counted', streak, messages };
}

/**
 * The failure ledger in memory: for unit tests and single-process use. Same rules as the DynamoDB
 * ledger, including expiry (entries past their expiry read as absent).
 *
 * @example
 * ```ts
 * const ledger = new MemoryFailureLedger();
 * await ledger.countStreak({ messageId: 'm1', code: 'Error', now: Date.now(), expiresAt: Date.now() + 60_000 });
 * ```
 */
export class MemoryFailureLedger implements FailureLedger {
  readonly #streaks = new Map<string, { code: string; count: number; expiresAt: number }>();
  readonly #faults = new Map<string, { ids: Set<string>; expiresAt: number }>();
  readonly #notes = new Map<string, DeadLetterNote>();

  async countStreak(sighting: FaultSighting & { expiresAt: number }): Promise<number> {
    const old = this.#streaks.get(sighting.messageId);
    const count =
      old !== undefined && old.code === sighting.code && old.expiresAt > sighting.now
        ? old.count + 1
        : 1;
    this.#streaks.set(sighting.messageId, {
      code: sighting.code,
      count,
      expiresAt: sighting.expiresAt,
    });
    return count;
  }

  async noteCode(sighting: FaultSighting & { windowMs: number; enough: number }): Promise<number> {
    const minutes = windowMinutes(sighting.now, sighting.windowMs);
    const key = (minute: number) => `${sighting.code}#${minute}`;
    const current = minutes[0] as number;
    let bucket = this.#faults.get(key(current));
    if (bucket === undefined || bucket.expiresAt <= sighting.now) {
      bucket = { ids: new Set(), expiresAt: (current + 1) * MINUTE + sighting.windowMs };
      this.#faults.set(key(current), bucket);
    }
    if (bucket.ids.size < sighting.enough) bucket.ids.add(sighting.messageId);
    const seen = new Set<string>();
    for (const minute of minutes) {
      const b = this.#faults.get(key(minute));
      if (b !== undefined && b.expiresAt > sighting.now) for (const id of b.ids) seen.add(id);
    }
    return seen.size;
  }

  async putDeadLetterNote(note: DeadLetterNote): Promise<void> {
    this.#notes.set(note.deduplicationId, { ...note });
  }

  async getDeadLetterNote(
    deduplicationId: string,
    options: { now: number },
  ): Promise<DeadLetterNote | undefined> {
    const note = this.#notes.get(deduplicationId);
    return note !== undefined && note.expiresAt > options.now ? { ...note } : undefined;
  }
}

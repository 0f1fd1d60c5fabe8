/**
 * The `FailureLedger` conformance suite: every rule of the port's TSDoc (`src/core/ledger.ts`) and
 * the backstop built on it (`judgeUnclassifiedFault`), as a describe-block factory. Run it against
 * each implementation:
 *
 * ```ts
 * failureLedgerConformance('memory', async () => new MemoryFailureLedger());
 * failureLedgerConformance('DynamoDB', async () => new DynamoDbFailureLedger({ dynamodb, tableName }));
 * ```
 *
 * Every test uses fresh message ids and codes, so one shared ledger works. Times are explicit
 * `now` values on whole minutes around the wall clock (DynamoDB's TTL has one-second precision).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type DeadLetterNote,
  type FailureLedger,
  judgeUnclassifiedFault,
  LEDGER_DEFAULTS,
} from '../../src/core/ledger.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Registers the conformance tests of `FailureLedger` for one implementation.
 *
 * @example
 * ```ts
 * failureLedgerConformance('memory', async () => new MemoryFailureLedger());
 * ```
 */
export function failureLedgerConformance(
  name: string,
  makeLedger: () => Promise<FailureLedger>,
): void {
  describe(`FailureLedger conformance: ${name}`, () => {
    let ledger: FailureLedger;

    beforeAll(async () => {
      ledger = await makeLedger();
    });

    /** Fresh ids, and a time base on a whole minute plus 10 s. */
    const fresh = () => ({
      messageId: randomUUID(),
      code: `CODE_${randomUUID().slice(0, 8)}`,
      t0: Math.floor(Date.now() / MINUTE) * MINUTE + 10_000,
    });

    describe('countStreak', () => {
      it('counts the failing receives of one message with one code', async () => {
        // Prepare
        const { messageId, code, t0 } = fresh();

        // Act
        const counts: number[] = [];
        for (let i = 0; i < 3; i++) {
          counts.push(
            await ledger.countStreak({ messageId, code, now: t0 + i, expiresAt: t0 + HOUR }),
          );
        }

        // Assess
        expect(counts).toEqual([1, 2, 3]);
      });

      it('starts a new streak of 1 when the code changes', async () => {
        // Prepare
        const { messageId, code, t0 } = fresh();
        await ledger.countStreak({ messageId, code, now: t0, expiresAt: t0 + HOUR });
        await ledger.countStreak({ messageId, code, now: t0, expiresAt: t0 + HOUR });

        // Act
        const other = await ledger.countStreak({
          messageId,
          code: `${code}_OTHER`,
          now: t0,
          expiresAt: t0 + HOUR,
        });
        const again = await ledger.countStreak({ messageId, code, now: t0, expiresAt: t0 + HOUR });

        // Assess
        expect(other).toBe(1);
        expect(again).toBe(1);
      });

      it('starts over when the streak has expired', async () => {
        // Prepare
        const { messageId, code, t0 } = fresh();
        await ledger.countStreak({ messageId, code, now: t0, expiresAt: t0 + 5_000 });

        // Act
        const after = await ledger.countStreak({
          messageId,
          code,
          now: t0 + 10_000,
          expiresAt: t0 + HOUR,
        });

        // Assess
        expect(after).toBe(1);
      });

      it('keeps the streaks of different messages apart', async () => {
        // Prepare
        const a = fresh();
        const b = fresh();
        await ledger.countStreak({ ...a, now: a.t0, expiresAt: a.t0 + HOUR });

        // Act
        const first = await ledger.countStreak({
          messageId: b.messageId,
          code: a.code,
          now: a.t0,
          expiresAt: a.t0 + HOUR,
        });

        // Assess
        expect(first).toBe(1);
      });

      it('counts concurrent failures of one message exactly once each', async () => {
        // Prepare
        const { messageId, code, t0 } = fresh();

        // Act
        const counts = await Promise.all(
          Array.from({ length: 8 }, () =>
            ledger.countStreak({ messageId, code, now: t0, expiresAt: t0 + HOUR }),
          ),
        );

        // Assess
        expect([...counts].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });
    });

    describe('noteCode', () => {
      const window = LEDGER_DEFAULTS.systemicWindowMs;

      it('counts different messages once each within the window', async () => {
        // Prepare
        const { code, t0 } = fresh();
        const [m1, m2] = [randomUUID(), randomUUID()];

        // Act
        const seen = [
          await ledger.noteCode({ messageId: m1, code, now: t0, windowMs: window, enough: 3 }),
          await ledger.noteCode({ messageId: m1, code, now: t0 + 1, windowMs: window, enough: 3 }),
          await ledger.noteCode({
            messageId: m2,
            code,
            now: t0 + 2 * MINUTE,
            windowMs: window,
            enough: 3,
          }),
        ];

        // Assess
        expect(seen).toEqual([1, 1, 2]);
      });

      it('reaches enough with a third message in an earlier minute of the window', async () => {
        // Prepare
        const { code, t0 } = fresh();
        await ledger.noteCode({ messageId: 'a', code, now: t0, windowMs: window, enough: 3 });
        await ledger.noteCode({
          messageId: 'b',
          code,
          now: t0 + MINUTE,
          windowMs: window,
          enough: 3,
        });

        // Act
        const seen = await ledger.noteCode({
          messageId: 'c',
          code,
          now: t0 + 4 * MINUTE,
          windowMs: window,
          enough: 3,
        });

        // Assess
        expect(seen).toBe(3);
      });

      it('forgets messages older than the window', async () => {
        // Prepare
        const { code, t0 } = fresh();
        await ledger.noteCode({ messageId: 'a', code, now: t0, windowMs: window, enough: 3 });
        await ledger.noteCode({ messageId: 'b', code, now: t0, windowMs: window, enough: 3 });

        // Act
        const seen = await ledger.noteCode({
          messageId: 'c',
          code,
          now: t0 + 6 * MINUTE,
          windowMs: window,
          enough: 3,
        });

        // Assess
        expect(seen).toBe(1);
      });

      it('keeps codes apart', async () => {
        // Prepare
        const { code, t0 } = fresh();
        await ledger.noteCode({ messageId: 'a', code, now: t0, windowMs: window, enough: 3 });
        await ledger.noteCode({ messageId: 'b', code, now: t0, windowMs: window, enough: 3 });

        // Act
        const seen = await ledger.noteCode({
          messageId: 'c',
          code: `${code}_OTHER`,
          now: t0,
          windowMs: window,
          enough: 3,
        });

        // Assess
        expect(seen).toBe(1);
      });

      it('answers at least enough once a minute holds enough messages', async () => {
        // Prepare
        const { code, t0 } = fresh();
        for (const id of ['a', 'b', 'c']) {
          await ledger.noteCode({ messageId: id, code, now: t0, windowMs: window, enough: 3 });
        }

        // Act
        const seen = await ledger.noteCode({
          messageId: 'd',
          code,
          now: t0 + 1,
          windowMs: window,
          enough: 3,
        });

        // Assess
        expect(seen).toBeGreaterThanOrEqual(3);
      });
    });

    describe('dead-letter notes', () => {
      const note = (t0: number, over: Partial<DeadLetterNote> = {}): DeadLetterNote => ({
        deduplicationId: randomUUID(),
        messageId: randomUUID(),
        reason: 'unregistered',
        detail: 'task "x" is not registered',
        taskUuid: 'task_1',
        sourceQueue: 'arn:aws:sqs:us-east-1:000000000000:tasks.fifo',
        deadLetteredAt: t0,
        bodyMd5: 'd41d8cd98f00b204e9800998ecf8427e',
        bodyBytes: 1_048_000,
        expiresAt: t0 + HOUR,
        ...over,
      });

      it('reads back a note by its deduplication id', async () => {
        // Prepare
        const { t0 } = fresh();
        const written = note(t0);

        // Act
        await ledger.putDeadLetterNote(written);
        const read = await ledger.getDeadLetterNote(written.deduplicationId, { now: t0 });

        // Assess
        expect(read).toEqual(written);
      });

      it('reads a note without a task UUID as taskUuid null', async () => {
        // Prepare
        const { t0 } = fresh();
        const written = note(t0, { taskUuid: null, reason: 'undecodable' });

        // Act
        await ledger.putDeadLetterNote(written);
        const read = await ledger.getDeadLetterNote(written.deduplicationId, { now: t0 });

        // Assess
        expect(read).toEqual(written);
      });

      it('reads an absent or expired note as undefined', async () => {
        // Prepare
        const { t0 } = fresh();
        const written = note(t0, { expiresAt: t0 + 5_000 });
        await ledger.putDeadLetterNote(written);

        // Act
        const expired = await ledger.getDeadLetterNote(written.deduplicationId, {
          now: t0 + 10_000,
        });
        const absent = await ledger.getDeadLetterNote(randomUUID(), { now: t0 });

        // Assess
        expect(expired).toBeUndefined();
        expect(absent).toBeUndefined();
      });
    });

    describe('Function: judgeUnclassifiedFault', () => {
      it('dead-letters a message at its 5th failing receive with one code', async () => {
        // Prepare
        const { messageId, code, t0 } = fresh();

        // Act
        const verdicts: string[] = [];
        for (let i = 0; i < 5; i++) {
          verdicts.push(
            (await judgeUnclassifiedFault(ledger, { messageId, code, now: t0 + i * 1_000 }))
              .verdict,
          );
        }

        // Assess
        expect(verdicts).toEqual(['counted', 'counted', 'counted', 'counted', 'repeated']);
      });

      it('calls a code failing on a 3rd message within the window systemic and counts no streak', async () => {
        // Prepare
        const { code, t0 } = fresh();
        const ids = [randomUUID(), randomUUID(), randomUUID()];

        // Act
        const judged = [];
        for (const [i, messageId] of ids.entries()) {
          judged.push(await judgeUnclassifiedFault(ledger, { messageId, code, now: t0 + i }));
        }
        const firstAgain = await judgeUnclassifiedFault(ledger, {
          messageId: ids[0] as string,
          code,
          now: t0 + 10,
        });

        // Assess
        expect(judged.map((j) => j.verdict)).toEqual(['counted', 'counted', 'systemic']);
        expect(judged.map((j) => j.messages)).toEqual([1, 2, 3]);
        expect(firstAgain).toMatchObject({ verdict: 'systemic', streak: 0 });
        // The streak of the first message stayed at 1: the systemic sighting did not count.
        const next = await ledger.countStreak({
          messageId: ids[0] as string,
          code,
          now: t0 + 20,
          expiresAt: t0 + HOUR,
        });
        expect(next).toBe(2);
      });
    });
  });
}

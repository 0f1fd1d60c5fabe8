/**
 * The `ResultBackend` conformance suite: every rule of the port's TSDoc (`src/core/ports.ts`), as a
 * describe-block factory. Run it against each implementation:
 *
 * ```ts
 * resultBackendConformance('memory', async () => new MemoryResultBackend());
 * resultBackendConformance('DynamoDB', async () => new DynamoDbResultBackend({ dynamodb, tableName }));
 * ```
 *
 * `makeBackend` is called once per suite; every test uses fresh UUIDs, so one shared table works.
 * Times are explicit `now` values around the wall clock, with margins of seconds (DynamoDB's TTL
 * attribute has one-second precision).
 *
 * @module
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResultBackend } from '../../src/core/ports.js';
import { newSignature, newTaskUUID } from '../../src/core/signature.js';
import type { Signature, TypedValue } from '../../src/core/types.js';

const S = 1000;
const HOUR = 3600 * S;

/**
 * Registers the conformance tests of `ResultBackend` for one implementation.
 *
 * @example
 * ```ts
 * resultBackendConformance('memory', async () => new MemoryResultBackend());
 * ```
 */
export function resultBackendConformance(
  name: string,
  makeBackend: () => Promise<ResultBackend>,
): void {
  describe(`ResultBackend conformance: ${name}`, () => {
    let backend: ResultBackend;

    beforeAll(async () => {
      backend = await makeBackend();
    });

    /** A fresh signature and a time base (whole seconds) for one test. */
    function fresh(taskName = 'conformance'): { sig: Signature; t0: number } {
      return {
        sig: newSignature(taskName, [], { UUID: newTaskUUID() }),
        t0: Math.floor(Date.now() / S) * S,
      };
    }

    const opts = (now: number, extra: { leaseMs?: number; maxCrashes?: number } = {}) => ({
      now,
      leaseUntil: now + (extra.leaseMs ?? 10 * S),
      expiresAt: now + HOUR,
      maxCrashes: extra.maxCrashes ?? 3,
    });

    describe('putPending', () => {
      it('records an absent task as PENDING with zeroed counters', async () => {
        // Prepare
        const { sig, t0 } = fresh('add');

        // Act
        const written = await backend.putPending(sig, { now: t0, expiresAt: t0 + HOUR });
        const rec = await backend.get(sig.UUID, { now: t0 });

        // Assess
        expect(written).toBe(true);
        expect(rec).toMatchObject({
          uuid: sig.UUID,
          name: 'add',
          state: 'PENDING',
          results: null,
          error: null,
          createdAt: t0,
          attempt: 0,
          retries: 0,
          crashes: 0,
          leaseUntil: null,
          deadLettered: false,
          deadLetterReason: null,
          body: null,
        });
        expect(rec?.expiresAt).toBeGreaterThanOrEqual(t0 + HOUR);
      });

      it('leaves a known task untouched and returns false', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.putPending(sig, { now: t0, expiresAt: t0 + HOUR });
        await backend.claim(sig, opts(t0));

        // Act
        const written = await backend.putPending(sig, { now: t0 + S, expiresAt: t0 + HOUR });
        const rec = await backend.get(sig.UUID, { now: t0 + S });

        // Assess
        expect(written).toBe(false);
        expect(rec?.state).toBe('STARTED');
        expect(rec?.attempt).toBe(1);
      });

      it('stores the body when given', async () => {
        // Prepare
        const { sig, t0 } = fresh();

        // Act
        await backend.putPending(sig, { now: t0, expiresAt: t0 + HOUR, body: '{"UUID":"x"}' });
        const rec = await backend.get(sig.UUID, { now: t0 });

        // Assess
        expect(rec?.body).toBe('{"UUID":"x"}');
      });

      it('stores the ETA, GroupUUID and group index of the signature, and none of a plain task', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        const member: Signature = {
          ...sig,
          ETA: '2030-01-02T03:04:05.678Z',
          GroupUUID: 'group_conformance',
          GroupTaskCount: 3,
          Headers: { 'machinery.groupIndex': 2 },
        };
        const plain = fresh().sig;

        // Act
        await backend.putPending(member, { now: t0, expiresAt: t0 + HOUR });
        await backend.putPending(plain, { now: t0, expiresAt: t0 + HOUR });
        const rec = await backend.get(member.UUID, { now: t0 });
        const plainRec = await backend.get(plain.UUID, { now: t0 });

        // Assess
        expect(rec).toMatchObject({
          eta: Date.parse('2030-01-02T03:04:05.678Z'),
          groupUUID: 'group_conformance',
          groupIndex: 2,
        });
        expect(plainRec).not.toHaveProperty('eta');
        expect(plainRec).not.toHaveProperty('groupUUID');
        expect(plainRec).not.toHaveProperty('groupIndex');
      });
    });

    describe('claim', () => {
      it('stores the ETA and group fields of a task it creates (a Go producer writes no PENDING)', async () => {
        // Prepare
        const { sig, t0 } = fresh('from-go');
        const member: Signature = {
          ...sig,
          ETA: '2020-01-01T00:00:00Z',
          GroupUUID: 'group_from_go',
          GroupTaskCount: 2,
        };

        // Act
        await backend.claim(member, opts(t0));
        const rec = await backend.get(member.UUID, { now: t0 });

        // Assess
        expect(rec).toMatchObject({
          state: 'STARTED',
          eta: Date.parse('2020-01-01T00:00:00Z'),
          groupUUID: 'group_from_go',
        });
        expect(rec).not.toHaveProperty('groupIndex');
      });

      it('claims an absent task (a Go producer writes no PENDING) as attempt 1', async () => {
        // Prepare
        const { sig, t0 } = fresh('from-go');

        // Act
        const claim = await backend.claim(sig, opts(t0));
        const rec = await backend.get(sig.UUID, { now: t0 });

        // Assess
        expect(claim).toStrictEqual({
          kind: 'claimed',
          attempt: 1,
          retries: 0,
          crashes: 0,
          redrive: false,
        });
        expect(rec).toMatchObject({
          state: 'STARTED',
          name: 'from-go',
          attempt: 1,
          leaseUntil: t0 + 10 * S,
          deadLettered: false,
        });
      });

      it('claims a PENDING task', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.putPending(sig, { now: t0, expiresAt: t0 + HOUR });

        // Act
        const claim = await backend.claim(sig, opts(t0 + S));

        // Assess
        expect(claim).toMatchObject({ kind: 'claimed', attempt: 1, retries: 0, redrive: false });
        expect((await backend.get(sig.UUID, { now: t0 + S }))?.createdAt).toBe(t0);
      });

      it('claims a RETRY task as a new attempt, keeping the retries count', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));
        await backend.markRetry(sig.UUID, 1, 'oops', { now: t0 + S, expiresAt: t0 + HOUR });

        // Act
        const claim = await backend.claim(sig, opts(t0 + 2 * S));

        // Assess
        expect(claim).toStrictEqual({
          kind: 'claimed',
          attempt: 2,
          retries: 1,
          crashes: 0,
          redrive: false,
        });
      });

      it('returns leased while another attempt holds a live lease', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0, { leaseMs: 90 * S }));

        // Act
        const claim = await backend.claim(sig, opts(t0 + 30 * S));
        const rec = await backend.get(sig.UUID, { now: t0 + 30 * S });

        // Assess
        expect(claim).toStrictEqual({ kind: 'leased', leaseUntil: t0 + 90 * S });
        expect(rec?.attempt).toBe(1);
      });

      it('grants exactly one of two concurrent claims', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.putPending(sig, { now: t0, expiresAt: t0 + HOUR });

        // Act
        const claims = await Promise.all([
          backend.claim(sig, opts(t0)),
          backend.claim(sig, opts(t0)),
        ]);

        // Assess
        expect(claims.map((c) => c.kind).sort()).toStrictEqual(['claimed', 'leased']);
      });

      it('claims a task whose lease expired as a new attempt, counting one crash', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0, { leaseMs: 10 * S }));

        // Act
        const second = await backend.claim(sig, opts(t0 + 20 * S, { leaseMs: 10 * S }));
        const third = await backend.claim(sig, opts(t0 + 40 * S, { leaseMs: 10 * S }));
        const rec = await backend.get(sig.UUID, { now: t0 + 40 * S });

        // Assess
        expect(second).toStrictEqual({
          kind: 'claimed',
          attempt: 2,
          retries: 0,
          crashes: 1,
          redrive: false,
        });
        expect(third).toMatchObject({ kind: 'claimed', attempt: 3, crashes: 2 });
        expect(rec).toMatchObject({
          state: 'STARTED',
          attempt: 3,
          crashes: 2,
          leaseUntil: t0 + 50 * S,
        });
      });

      it('returns crash-loop without claiming when the crash count reaches maxCrashes', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0, { maxCrashes: 3 }));
        await backend.claim(sig, opts(t0 + 20 * S, { maxCrashes: 3 }));
        await backend.claim(sig, opts(t0 + 40 * S, { maxCrashes: 3 }));

        // Act
        const claim = await backend.claim(sig, opts(t0 + 60 * S, { maxCrashes: 3 }));
        const rec = await backend.get(sig.UUID, { now: t0 + 60 * S });

        // Assess
        expect(claim.kind).toBe('crash-loop');
        expect(claim.kind === 'crash-loop' && claim.record.uuid).toBe(sig.UUID);
        expect(rec).toMatchObject({ state: 'STARTED', attempt: 3 });
      });

      it('returns crash-loop at the first crash when maxCrashes is 1', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0, { maxCrashes: 1 }));

        // Act
        const claim = await backend.claim(sig, opts(t0 + 20 * S, { maxCrashes: 1 }));

        // Assess
        expect(claim.kind).toBe('crash-loop');
      });

      it('returns finished with the record for a SUCCESS', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));
        await backend.markSuccess(sig.UUID, 1, [{ Type: 'int64', Value: 2 }], {
          now: t0 + S,
          expiresAt: t0 + HOUR,
        });

        // Act
        const claim = await backend.claim(sig, opts(t0 + 2 * S));

        // Assess
        expect(claim.kind).toBe('finished');
        expect(claim.kind === 'finished' && claim.record).toMatchObject({
          uuid: sig.UUID,
          state: 'SUCCESS',
          results: [{ Type: 'int64', Value: 2 }],
          attempt: 1,
        });
      });

      it('returns finished for a FAILURE that is not dead-lettered, and for a revoked task', async () => {
        // Prepare
        const failed = fresh();
        const revoked = fresh();
        await backend.claim(failed.sig, opts(failed.t0));
        await backend.markFailure(failed.sig, 'oops', {
          now: failed.t0 + S,
          expiresAt: failed.t0 + HOUR,
          attempt: 1,
        });
        await backend.revoke(revoked.sig.UUID, { now: revoked.t0, expiresAt: revoked.t0 + HOUR });

        // Act
        const a = await backend.claim(failed.sig, opts(failed.t0 + 2 * S));
        const b = await backend.claim(revoked.sig, opts(revoked.t0 + S));

        // Assess
        expect(a.kind === 'finished' && a.record).toMatchObject({
          state: 'FAILURE',
          error: 'oops',
        });
        expect(b.kind === 'finished' && b.record).toMatchObject({
          state: 'FAILURE',
          error: 'revoked',
        });
      });

      it('claims a dead-lettered task once as a redrive, clearing the mark', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));
        await backend.markFailure(sig, 'oops', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
          attempt: 1,
          deadLetterReason: 'permanent-failure',
        });

        // Act
        const claims = await Promise.all([
          backend.claim(sig, opts(t0 + 2 * S)),
          backend.claim(sig, opts(t0 + 2 * S)),
        ]);
        const rec = await backend.get(sig.UUID, { now: t0 + 2 * S });

        // Assess
        const claimed = claims.filter((c) => c.kind === 'claimed');
        expect(claimed).toHaveLength(1);
        expect(claimed[0]).toMatchObject({ attempt: 2, redrive: true });
        expect(claims.find((c) => c.kind !== 'claimed')?.kind).toBe('leased');
        expect(rec).toMatchObject({ state: 'STARTED', attempt: 2, deadLettered: false });
      });

      it('redrives a task dead-lettered before any claim (unregistered, crash loop)', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.putPending(sig, { now: t0, expiresAt: t0 + HOUR });
        await backend.markFailure(sig, 'task "x" is not registered', {
          now: t0,
          expiresAt: t0 + HOUR,
          deadLetterReason: 'unregistered',
        });

        // Act
        const claim = await backend.claim(sig, opts(t0 + S));
        const again = await backend.claim(sig, opts(t0 + 2 * S));

        // Assess
        expect(claim).toMatchObject({ kind: 'claimed', attempt: 1, redrive: true });
        expect(again.kind).toBe('leased');
      });

      it('only extends expiresAt', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.putPending(sig, { now: t0, expiresAt: t0 + 2 * HOUR });

        // Act
        await backend.claim(sig, { ...opts(t0), expiresAt: t0 + HOUR });
        const kept = await backend.get(sig.UUID, { now: t0 });
        await backend.markSuccess(sig.UUID, 1, [], { now: t0 + S, expiresAt: t0 + 5 * HOUR });
        const extended = await backend.get(sig.UUID, { now: t0 + S });

        // Assess
        expect(kept?.expiresAt).toBeGreaterThanOrEqual(t0 + 2 * HOUR);
        expect(extended?.expiresAt).toBeGreaterThanOrEqual(t0 + 5 * HOUR);
      });
    });

    describe('markSuccess', () => {
      it('stores typed results exactly and clears the lease, for the claiming attempt', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));
        const results: TypedValue[] = [
          { Type: 'int64', Value: 2 },
          { Type: 'uint64', Value: 18446744073709551615n },
          { Type: 'int64', Value: -9223372036854775808n },
          { Type: 'float64', Value: 4.2 },
          { Type: 'string', Value: 'foobar' },
          { Type: 'bool', Value: true },
          { Type: '[]string', Value: ['f', 'o', 'o'] },
          { Type: '[]int64', Value: [1, 9007199254740993n] },
          { Type: '[]byte', Value: new Uint8Array([0, 1, 255]) },
          { Type: '[]float64', Value: [] },
        ];

        // Act
        const written = await backend.markSuccess(sig.UUID, 1, results, {
          now: t0 + S,
          expiresAt: t0 + HOUR,
        });
        const rec = await backend.get(sig.UUID, { now: t0 + S });

        // Assess
        expect(written).toBe(true);
        expect(rec).toMatchObject({ state: 'SUCCESS', leaseUntil: null, attempt: 1 });
        expect(rec?.results).toStrictEqual(results);
        expect(rec?.updatedAt).toBe(t0 + S);
      });

      it('writes nothing for another attempt, a task not started, or an absent task', async () => {
        // Prepare
        const taken = fresh();
        await backend.claim(taken.sig, opts(taken.t0, { leaseMs: 10 * S }));
        await backend.claim(taken.sig, opts(taken.t0 + 20 * S)); // a crash: attempt 2 took over
        const pending = fresh();
        await backend.putPending(pending.sig, { now: pending.t0, expiresAt: pending.t0 + HOUR });
        const absent = fresh();

        // Act
        const results = await Promise.all([
          backend.markSuccess(taken.sig.UUID, 1, [], {
            now: taken.t0 + 21 * S,
            expiresAt: taken.t0 + HOUR,
          }),
          backend.markSuccess(pending.sig.UUID, 1, [], {
            now: pending.t0,
            expiresAt: pending.t0 + HOUR,
          }),
          backend.markSuccess(absent.sig.UUID, 1, [], {
            now: absent.t0,
            expiresAt: absent.t0 + HOUR,
          }),
        ]);

        // Assess
        expect(results).toStrictEqual([false, false, false]);
        expect((await backend.get(taken.sig.UUID, { now: taken.t0 + 21 * S }))?.state).toBe(
          'STARTED',
        );
        expect((await backend.get(pending.sig.UUID, { now: pending.t0 }))?.state).toBe('PENDING');
        expect(await backend.get(absent.sig.UUID, { now: absent.t0 })).toBeUndefined();
      });

      it('cannot move a finished task', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));
        await backend.markSuccess(sig.UUID, 1, [], { now: t0, expiresAt: t0 + HOUR });

        // Act
        const again = await backend.markSuccess(sig.UUID, 1, [{ Type: 'bool', Value: true }], {
          now: t0 + S,
          expiresAt: t0 + HOUR,
        });
        const retry = await backend.markRetry(sig.UUID, 1, 'x', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
        });
        const fail = await backend.markFailure(sig, 'x', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
          attempt: 1,
        });

        // Assess
        expect([again, retry, fail]).toStrictEqual([false, false, false]);
        expect((await backend.get(sig.UUID, { now: t0 + S }))?.results).toStrictEqual([]);
      });
    });

    describe('extendLease', () => {
      it('moves the lease of the running attempt and leaves state and counts alone', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0, { leaseMs: 10 * S }));

        // Act
        const extended = await backend.extendLease(sig.UUID, 1, {
          now: t0 + 5 * S,
          leaseUntil: t0 + 65 * S,
        });
        const rec = await backend.get(sig.UUID, { now: t0 + 20 * S });
        const reclaim = await backend.claim(sig, opts(t0 + 20 * S));

        // Assess
        expect(extended).toBe(true);
        expect(rec).toMatchObject({ state: 'STARTED', attempt: 1, leaseUntil: t0 + 65 * S });
        expect(reclaim).toEqual({ kind: 'leased', leaseUntil: t0 + 65 * S });
      });

      it('writes nothing for another attempt, a finished task, or an absent task', async () => {
        // Prepare
        const taken = fresh();
        await backend.claim(taken.sig, opts(taken.t0, { leaseMs: 10 * S }));
        await backend.claim(taken.sig, opts(taken.t0 + 20 * S)); // a crash: attempt 2 took over
        const done = fresh();
        await backend.claim(done.sig, opts(done.t0));
        await backend.markSuccess(done.sig.UUID, 1, [], {
          now: done.t0 + S,
          expiresAt: done.t0 + HOUR,
        });
        const absent = fresh();

        // Act
        const results = await Promise.all([
          backend.extendLease(taken.sig.UUID, 1, {
            now: taken.t0 + 21 * S,
            leaseUntil: taken.t0 + HOUR,
          }),
          backend.extendLease(done.sig.UUID, 1, {
            now: done.t0 + 2 * S,
            leaseUntil: done.t0 + HOUR,
          }),
          backend.extendLease(absent.sig.UUID, 1, { now: absent.t0, leaseUntil: absent.t0 + HOUR }),
        ]);
        const takenRec = await backend.get(taken.sig.UUID, { now: taken.t0 + 21 * S });
        const doneRec = await backend.get(done.sig.UUID, { now: done.t0 + 2 * S });

        // Assess
        expect(results).toEqual([false, false, false]);
        expect(takenRec?.leaseUntil).not.toBe(taken.t0 + HOUR);
        expect(doneRec).toMatchObject({ state: 'SUCCESS', leaseUntil: null });
      });
    });

    describe('settle', () => {
      const times = (now: number, attempt: number) => ({ now, expiresAt: now + HOUR, attempt });
      const results: TypedValue[] = [{ Type: 'int64', Value: 5 }];

      it('creates an absent task in its final state as attempt 1, with the record fields', async () => {
        // Prepare
        const { t0 } = fresh();
        const sig = newSignature('conformance', [], {
          UUID: newTaskUUID(),
          ETA: t0 - S,
          GroupUUID: 'group_settle',
        });

        // Act
        const written = await backend.settle(sig, { state: 'SUCCESS', results }, times(t0, 0));
        const rec = await backend.get(sig.UUID, { now: t0 });

        // Assess
        expect(written).toBe(true);
        expect(rec).toMatchObject({
          name: 'conformance',
          state: 'SUCCESS',
          results,
          attempt: 1,
          retries: 0,
          leaseUntil: null,
          deadLettered: false,
          eta: t0 - S,
          groupUUID: 'group_settle',
        });
      });

      it('counts a retry, then ends a waiting task as read', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.putPending(sig, { now: t0, expiresAt: t0 + HOUR });

        // Act
        const retry = await backend.settle(sig, { state: 'RETRY', error: 'e1' }, times(t0 + S, 0));
        const afterRetry = await backend.get(sig.UUID, { now: t0 + S });
        const failure = await backend.settle(
          sig,
          { state: 'FAILURE', error: 'e2' },
          times(t0 + 2 * S, 1),
        );
        const rec = await backend.get(sig.UUID, { now: t0 + 2 * S });

        // Assess
        expect([retry, failure]).toEqual([true, true]);
        expect(afterRetry).toMatchObject({ state: 'RETRY', retries: 1, attempt: 1, error: 'e1' });
        expect(rec).toMatchObject({
          state: 'FAILURE',
          retries: 1,
          attempt: 2,
          error: 'e2',
          results: null,
        });
      });

      it('never overwrites a final state, and only the first of two writes after one read lands', async () => {
        // Prepare
        const done = fresh();
        await backend.settle(done.sig, { state: 'SUCCESS', results }, times(done.t0, 0));
        const revoked = fresh();
        await backend.revoke(revoked.sig.UUID, { now: revoked.t0, expiresAt: revoked.t0 + HOUR });
        const raced = fresh();

        // Act
        const overSuccess = await backend.settle(
          done.sig,
          { state: 'FAILURE', error: 'late' },
          times(done.t0 + S, 1),
        );
        const overRevoked = await backend.settle(
          revoked.sig,
          { state: 'SUCCESS', results },
          times(revoked.t0 + S, 0),
        );
        const first = await backend.settle(
          raced.sig,
          { state: 'RETRY', error: 'a' },
          times(raced.t0, 0),
        );
        const second = await backend.settle(
          raced.sig,
          { state: 'RETRY', error: 'b' },
          times(raced.t0, 0),
        );

        // Assess
        expect([overSuccess, overRevoked, first, second]).toEqual([false, false, true, false]);
        expect(await backend.get(done.sig.UUID, { now: done.t0 + S })).toMatchObject({
          state: 'SUCCESS',
          results,
        });
        expect(await backend.get(revoked.sig.UUID, { now: revoked.t0 + S })).toMatchObject({
          state: 'FAILURE',
          error: 'revoked',
        });
        expect(await backend.get(raced.sig.UUID, { now: raced.t0 })).toMatchObject({
          retries: 1,
          error: 'a',
        });
      });

      it('refuses a task a running attempt holds, and ends one whose lease ended', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0, { leaseMs: 10 * S }));

        // Act
        const live = await backend.settle(sig, { state: 'SUCCESS', results }, times(t0 + S, 1));
        const crashed = await backend.settle(
          sig,
          { state: 'SUCCESS', results },
          times(t0 + 20 * S, 1),
        );

        // Assess
        expect([live, crashed]).toEqual([false, true]);
        expect(await backend.get(sig.UUID, { now: t0 + 20 * S })).toMatchObject({
          state: 'SUCCESS',
          attempt: 2,
          leaseUntil: null,
        });
      });

      it('ends a dead-lettered task (the redrive) and clears the mark, or sets it with a reason', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.settle(
          sig,
          { state: 'FAILURE', error: 'loop', deadLetterReason: 'crash-loop' },
          times(t0, 0),
        );
        const marked = await backend.get(sig.UUID, { now: t0 });

        // Act
        const redriven = await backend.settle(sig, { state: 'SUCCESS', results }, times(t0 + S, 1));
        const rec = await backend.get(sig.UUID, { now: t0 + S });

        // Assess
        expect(marked).toMatchObject({
          state: 'FAILURE',
          deadLettered: true,
          deadLetterReason: 'crash-loop',
        });
        expect(redriven).toBe(true);
        expect(rec).toMatchObject({
          state: 'SUCCESS',
          deadLettered: false,
          deadLetterReason: null,
          attempt: 2,
        });
      });

      it('replaces an expired item', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.settle(
          sig,
          { state: 'SUCCESS', results },
          {
            now: t0,
            expiresAt: t0 + 2 * S,
            attempt: 0,
          },
        );

        // Act
        const written = await backend.settle(
          sig,
          { state: 'FAILURE', error: 'again' },
          times(t0 + 10 * S, 0),
        );
        const rec = await backend.get(sig.UUID, { now: t0 + 10 * S });

        // Assess
        expect(written).toBe(true);
        expect(rec).toMatchObject({ state: 'FAILURE', error: 'again', attempt: 1 });
      });
    });

    describe('markRetry', () => {
      it('moves STARTED to RETRY, counting one retry, storing the error and clearing the lease', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));

        // Act
        const written = await backend.markRetry(sig.UUID, 1, 'oops', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
        });
        const wrong = await backend.markRetry(sig.UUID, 1, 'again', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
        });
        const rec = await backend.get(sig.UUID, { now: t0 + S });

        // Assess
        expect(written).toBe(true);
        expect(wrong).toBe(false);
        expect(rec).toMatchObject({ state: 'RETRY', retries: 1, error: 'oops', leaseUntil: null });
      });

      it('writes nothing for an attempt that is not the current one', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));

        // Act
        const written = await backend.markRetry(sig.UUID, 2, 'oops', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
        });

        // Assess
        expect(written).toBe(false);
        expect((await backend.get(sig.UUID, { now: t0 + S }))?.state).toBe('STARTED');
      });
    });

    describe('markFailure', () => {
      it('with an attempt, moves that attempt to FAILURE and clears the lease', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));

        // Act
        const wrong = await backend.markFailure(sig, 'oops', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
          attempt: 7,
        });
        const written = await backend.markFailure(sig, 'oops', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
          attempt: 1,
        });
        const rec = await backend.get(sig.UUID, { now: t0 + S });

        // Assess
        expect(wrong).toBe(false);
        expect(written).toBe(true);
        expect(rec).toMatchObject({
          state: 'FAILURE',
          error: 'oops',
          leaseUntil: null,
          deadLettered: false,
          deadLetterReason: null,
          results: null,
        });
      });

      it('with a dead-letter reason, marks the task dead-lettered', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0));

        // Act
        await backend.markFailure(sig, 'oops', {
          now: t0 + S,
          expiresAt: t0 + HOUR,
          attempt: 1,
          deadLetterReason: 'permanent-failure',
        });
        const rec = await backend.get(sig.UUID, { now: t0 + S });

        // Assess
        expect(rec).toMatchObject({
          state: 'FAILURE',
          deadLettered: true,
          deadLetterReason: 'permanent-failure',
        });
      });

      it('without an attempt, creates an absent task named from the signature', async () => {
        // Prepare
        const { sig, t0 } = fresh('unknown-task');

        // Act
        const written = await backend.markFailure(sig, 'task "unknown-task" is not registered', {
          now: t0,
          expiresAt: t0 + HOUR,
          deadLetterReason: 'unregistered',
        });
        const rec = await backend.get(sig.UUID, { now: t0 });

        // Assess
        expect(written).toBe(true);
        expect(rec).toMatchObject({
          name: 'unknown-task',
          state: 'FAILURE',
          error: 'task "unknown-task" is not registered',
          deadLettered: true,
          deadLetterReason: 'unregistered',
          attempt: 0,
        });
      });

      it('without an attempt, fails a waiting task (PENDING, RETRY)', async () => {
        // Prepare
        const pending = fresh();
        await backend.putPending(pending.sig, { now: pending.t0, expiresAt: pending.t0 + HOUR });
        const retrying = fresh();
        await backend.claim(retrying.sig, opts(retrying.t0));
        await backend.markRetry(retrying.sig.UUID, 1, 'x', {
          now: retrying.t0,
          expiresAt: retrying.t0 + HOUR,
        });

        // Act
        const written = await Promise.all(
          [pending, retrying].map(({ sig, t0 }) =>
            backend.markFailure(sig, 'received 100 times', {
              now: t0 + S,
              expiresAt: t0 + HOUR,
              deadLetterReason: 'receive-limit',
            }),
          ),
        );
        const states = await Promise.all(
          [pending, retrying].map(({ sig, t0 }) => backend.get(sig.UUID, { now: t0 + S })),
        );

        // Assess
        expect(written).toStrictEqual([true, true]);
        for (const rec of states) {
          expect(rec).toMatchObject({
            state: 'FAILURE',
            deadLettered: true,
            deadLetterReason: 'receive-limit',
            leaseUntil: null,
          });
        }
      });

      it('markFailure without an attempt leaves a STARTED task with a live lease alone and returns false', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0, { leaseMs: 10 * S }));

        // Act
        const written = await backend.markFailure(sig, 'received 100 times', {
          now: t0 + 10 * S - 1,
          expiresAt: t0 + HOUR,
          deadLetterReason: 'receive-limit',
        });
        const rec = await backend.get(sig.UUID, { now: t0 + S });
        const succeeded = await backend.markSuccess(sig.UUID, 1, [], {
          now: t0 + 2 * S,
          expiresAt: t0 + HOUR,
        });

        // Assess
        expect(written).toBe(false);
        expect(rec).toMatchObject({
          state: 'STARTED',
          attempt: 1,
          leaseUntil: t0 + 10 * S,
          error: null,
          deadLettered: false,
          deadLetterReason: null,
        });
        expect(succeeded).toBe(true);
        expect((await backend.get(sig.UUID, { now: t0 + 2 * S }))?.state).toBe('SUCCESS');
      });

      it('markFailure without an attempt fails a STARTED task whose lease expired', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.claim(sig, opts(t0, { leaseMs: 10 * S }));

        // Act (a lease ending exactly now has expired, as for claim)
        const written = await backend.markFailure(sig, 'crash loop', {
          now: t0 + 10 * S,
          expiresAt: t0 + HOUR,
          deadLetterReason: 'crash-loop',
        });
        const rec = await backend.get(sig.UUID, { now: t0 + 10 * S });
        const late = await backend.markSuccess(sig.UUID, 1, [], {
          now: t0 + 11 * S,
          expiresAt: t0 + HOUR,
        });

        // Assess
        expect(written).toBe(true);
        expect(rec).toMatchObject({
          state: 'FAILURE',
          error: 'crash loop',
          leaseUntil: null,
          deadLettered: true,
          deadLetterReason: 'crash-loop',
        });
        expect(late).toBe(false);
      });

      it('without an attempt, leaves SUCCESS and FAILURE alone', async () => {
        // Prepare
        const done = fresh();
        await backend.claim(done.sig, opts(done.t0));
        await backend.markSuccess(done.sig.UUID, 1, [], {
          now: done.t0,
          expiresAt: done.t0 + HOUR,
        });
        const failed = fresh();
        await backend.claim(failed.sig, opts(failed.t0));
        await backend.markFailure(failed.sig, 'first', {
          now: failed.t0,
          expiresAt: failed.t0 + HOUR,
          attempt: 1,
          deadLetterReason: 'permanent-failure',
        });

        // Act
        const a = await backend.markFailure(done.sig, 'late', {
          now: done.t0 + S,
          expiresAt: done.t0 + HOUR,
        });
        const b = await backend.markFailure(failed.sig, 'late', {
          now: failed.t0 + S,
          expiresAt: failed.t0 + HOUR,
        });

        // Assess
        expect([a, b]).toStrictEqual([false, false]);
        expect((await backend.get(done.sig.UUID, { now: done.t0 + S }))?.state).toBe('SUCCESS');
        expect((await backend.get(failed.sig.UUID, { now: failed.t0 + S }))?.error).toBe('first');
      });
    });

    describe('revoke', () => {
      it('revokes an absent, PENDING or RETRY task', async () => {
        // Prepare
        const absent = fresh();
        const pending = fresh();
        await backend.putPending(pending.sig, { now: pending.t0, expiresAt: pending.t0 + HOUR });
        const retrying = fresh();
        await backend.claim(retrying.sig, opts(retrying.t0));
        await backend.markRetry(retrying.sig.UUID, 1, 'x', {
          now: retrying.t0,
          expiresAt: retrying.t0 + HOUR,
        });

        // Act
        const found = await Promise.all(
          [absent, pending, retrying].map(({ sig, t0 }) =>
            backend.revoke(sig.UUID, { now: t0 + S, expiresAt: t0 + HOUR }),
          ),
        );
        const states = await Promise.all(
          [absent, pending, retrying].map(({ sig, t0 }) => backend.get(sig.UUID, { now: t0 + S })),
        );

        // Assess
        expect(found).toStrictEqual(['revoked', 'revoked', 'revoked']);
        for (const rec of states) {
          expect(rec).toMatchObject({ state: 'FAILURE', error: 'revoked', leaseUntil: null });
        }
      });

      it('refuses a task that started or finished, returning its state', async () => {
        // Prepare
        const started = fresh();
        await backend.claim(started.sig, opts(started.t0));
        const done = fresh();
        await backend.claim(done.sig, opts(done.t0));
        await backend.markSuccess(done.sig.UUID, 1, [], {
          now: done.t0,
          expiresAt: done.t0 + HOUR,
        });
        const failed = fresh();
        await backend.revoke(failed.sig.UUID, { now: failed.t0, expiresAt: failed.t0 + HOUR });

        // Act
        const found = await Promise.all(
          [started, done, failed].map(({ sig, t0 }) =>
            backend.revoke(sig.UUID, { now: t0 + S, expiresAt: t0 + HOUR }),
          ),
        );

        // Assess
        expect(found).toStrictEqual(['STARTED', 'SUCCESS', 'FAILURE']);
        expect((await backend.get(started.sig.UUID, { now: started.t0 + S }))?.state).toBe(
          'STARTED',
        );
      });
    });

    describe('expiry', () => {
      it('reads an expired item as absent', async () => {
        // Prepare
        const { sig, t0 } = fresh();
        await backend.putPending(sig, { now: t0 - 100 * S, expiresAt: t0 - 10 * S });

        // Act
        const rec = await backend.get(sig.UUID, { now: t0 });
        const before = await backend.get(sig.UUID, { now: t0 - 20 * S });

        // Assess
        expect(rec).toBeUndefined();
        expect(before?.state).toBe('PENDING');
      });

      it('treats an expired item as absent for every write', async () => {
        // Prepare
        const items = [fresh(), fresh(), fresh(), fresh()];
        for (const { sig, t0 } of items) {
          await backend.claim(sig, { ...opts(t0 - 100 * S), expiresAt: t0 - 10 * S });
          await backend.markSuccess(sig.UUID, 1, [], { now: t0 - 90 * S, expiresAt: t0 - 10 * S });
        }
        const [a, b, c, d] = items as [
          (typeof items)[0],
          (typeof items)[0],
          (typeof items)[0],
          (typeof items)[0],
        ];

        // Act
        const pending = await backend.putPending(a.sig, { now: a.t0, expiresAt: a.t0 + HOUR });
        const claim = await backend.claim(b.sig, opts(b.t0));
        const failure = await backend.markFailure(c.sig, 'x', {
          now: c.t0,
          expiresAt: c.t0 + HOUR,
        });
        const revoked = await backend.revoke(d.sig.UUID, { now: d.t0, expiresAt: d.t0 + HOUR });

        // Assess
        expect(pending).toBe(true);
        expect((await backend.get(a.sig.UUID, { now: a.t0 }))?.state).toBe('PENDING');
        expect(claim).toStrictEqual({
          kind: 'claimed',
          attempt: 1,
          retries: 0,
          crashes: 0,
          redrive: false,
        });
        expect(failure).toBe(true);
        expect((await backend.get(c.sig.UUID, { now: c.t0 }))?.state).toBe('FAILURE');
        expect(revoked).toBe('revoked');
      });
    });

    describe('get', () => {
      it('returns undefined for an unknown task', async () => {
        // Prepare
        const { sig, t0 } = fresh();

        // Act
        const rec = await backend.get(sig.UUID, { now: t0 });

        // Assess
        expect(rec).toBeUndefined();
      });
    });
  });
}

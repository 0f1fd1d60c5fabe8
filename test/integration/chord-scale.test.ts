import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { createRegistry, defineTask } from '../../src/core/registry.js';
import { decodeSignature } from '../../src/core/signature.js';
import type { TypedValue } from '../../src/core/types.js';
import {
  CHORD_RESULTS_HEADER,
  GROUP_LIMITS,
  groupIndexOf,
  nodeKey,
} from '../../src/core/workflow.js';
import { createWorker } from '../../src/handlers/worker.js';
import { EventSourceRunner } from '../../src/local/runner.js';
import {
  inputsOf,
  queueDepth,
  quietLogger,
  type RecordedCommand,
  recordCommands,
  waitFor,
} from './aws-helpers.js';
import { countItemWrites, ItemWriteLog } from './support/item-writes.js';
import { getTestStack, makeClients, type TestClients, type TestStack } from './support/stack.js';

const MEMBERS = 2_000;
/** Members whose index is a multiple of this are re-sent: 10 %. */
const RESEND_EVERY = 10;
const WORKER_CONCURRENCY = 8;
/** Lowered inline limit: the callback message with 2,000 results appended is far larger. */
const SMALL_INLINE_LIMIT = 4_096;

/** What the callback saw on each run. */
interface CallbackRun {
  args: number;
  byReference: boolean;
  results: number[];
}

/**
 * A 2,000-member chord on the emulators (fauxqs, DynamoDB Local) through the local event-source
 * runner, with 10 % of its members re-sent straight to the task queue (the body the producer sent,
 * a new `MessageDeduplicationId`, so SQS delivers both): half before the worker starts, half after
 * the callback ran. The callback must run exactly once with the 2,000 results in group order:
 * appended to its args, or, with the inline limit lowered, by reference through
 * `ctx.chordResults()`.
 */
describe('Function: createWorker (a 2,000-member chord, 10 % of members re-sent)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'chord-scale' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** Runs one chord end to end; resolves what the test asserts on. */
  async function runChord(options: { inlineResultsMaxBytes?: number }) {
    const callbackRuns: CallbackRun[] = [];
    const memberRuns = new Map<string, number>();
    const registry = createRegistry([
      defineTask({
        name: 'member',
        args: ['int64'],
        run: (ctx, i) => {
          memberRuns.set(ctx.uuid, (memberRuns.get(ctx.uuid) ?? 0) + 1);
          return i;
        },
      }),
      defineTask({
        name: 'collect',
        rest: 'int64',
        run: async (ctx, ...appended) => {
          const results = [...appended];
          if (ctx.chordResults !== undefined) {
            for await (const member of ctx.chordResults()) {
              results.push(...member.map((r: TypedValue) => Number(r.Value)));
            }
          }
          callbackRuns.push({
            args: appended.length,
            byReference: ctx.signature.Headers[CHORD_RESULTS_HEADER] !== undefined,
            results,
          });
          return results.length;
        },
      }),
    ]);
    // The producer on clients of its own, so its sends are recorded apart from the worker's.
    const producerClients: TestClients = makeClients(stack.endpoints);
    const workerClients: TestClients = makeClients(stack.endpoints);
    const sent = recordCommands(producerClients.sqs);
    const itemWrites = new ItemWriteLog();
    countItemWrites(workerClients.dynamodb, itemWrites);
    const client: MachineryClient = createClient({
      env: stack.env,
      aws: { sqs: producerClients.sqs, dynamodb: producerClients.dynamodb },
    });
    const runner = new EventSourceRunner({
      sqs: workerClients.sqs,
      queueUrl: stack.queueUrls.tasks,
      handler: createWorker({
        registry,
        env: stack.env,
        aws: { sqs: workerClients.sqs, dynamodb: workerClients.dynamodb },
        logger: quietLogger('SILENT'),
        ...(options.inlineResultsMaxBytes === undefined
          ? {}
          : { chords: { inlineResultsMaxBytes: options.inlineResultsMaxBytes } }),
      }),
      concurrency: WORKER_CONCURRENCY,
      onError: () => {},
    });
    try {
      const members = Array.from({ length: MEMBERS }, (_, i) => registry.signature('member', i));
      // A chord deadline within 15 minutes goes to the delay queue (no Scheduler needed); no
      // forwarder runs here, so it never fires during the test.
      const chord = await client.sendChord(members, registry.signature('collect'), {
        deadlineMs: 600_000,
      });
      const resends = memberSends(sent, stack.queueUrls.tasks, chord.uuid).filter(
        (e) => e.index % RESEND_EVERY === 0,
      );
      const early = resends.slice(0, resends.length / 2);
      const late = resends.slice(resends.length / 2);

      // Act: half the re-sends queued behind their originals, the worker runs the chord, then the
      // other half arrives after the callback ran
      await resend(producerClients, stack.queueUrls.tasks, early);
      runner.start();
      await waitFor(async () => (callbackRuns.length > 0 ? true : undefined), {
        timeoutMs: 240_000,
        intervalMs: 250,
        describe: () => `the callback to run (${memberRuns.size} members ran)`,
      });
      await resend(producerClients, stack.queueUrls.tasks, late);
      await waitFor(
        async () =>
          (await queueDepth(workerClients.sqs, stack.queueUrls.tasks)) === 0 ? true : undefined,
        { timeoutMs: 120_000, intervalMs: 250, describe: () => 'the task queue to drain' },
      );
      await runner.stop();
      const result = await chord.get({ timeoutMs: 10_000 });
      return {
        chord,
        callbackRuns,
        memberRuns,
        resends,
        runnerStats: runner.stats,
        result,
        itemWrites,
        clients: workerClients,
      };
    } finally {
      await runner.stop();
      client.close();
      for (const c of [...Object.values(producerClients), ...Object.values(workerClients)]) {
        c.destroy();
      }
    }
  }

  it('runs the callback once with the 2,000 results appended in group order', {
    timeout: 420_000,
  }, async () => {
    // Prepare, Act
    const run = await runChord({});

    // Assess: one callback run, every result in group order, in its args
    expect(run.callbackRuns).toHaveLength(1);
    const [only] = run.callbackRuns;
    expect(only?.byReference).toBe(false);
    expect(only?.args).toBe(MEMBERS);
    expect(only?.results).toEqual(Array.from({ length: MEMBERS }, (_, i) => i));
    expect(run.result).toEqual([MEMBERS]);
    assertMembersAndCosts(run);
  });

  it('runs the callback once reading the 2,000 results by reference when they exceed the inline limit', {
    timeout: 420_000,
  }, async () => {
    // Prepare, Act
    const run = await runChord({ inlineResultsMaxBytes: SMALL_INLINE_LIMIT });

    // Assess: one callback run, no results in its args, all 2,000 read through ctx.chordResults()
    expect(run.callbackRuns).toHaveLength(1);
    const [only] = run.callbackRuns;
    expect(only?.byReference).toBe(true);
    expect(only?.args).toBe(0);
    expect(only?.results).toEqual(Array.from({ length: MEMBERS }, (_, i) => i));
    expect(run.result).toEqual([MEMBERS]);
    assertMembersAndCosts(run);
  });

  /**
   * Every member ran once, the re-sends were delivered and acknowledged without running, and the
   * completion tree holds exactly one mark per member: each leaf took its members' completions
   * plus one refused write per re-sent member, nothing grows with the group.
   */
  function assertMembersAndCosts(run: Awaited<ReturnType<typeof runChord>>): void {
    expect(run.memberRuns.size).toBe(MEMBERS);
    expect([...run.memberRuns.values()].filter((n) => n !== 1)).toEqual([]);
    expect(run.resends).toHaveLength(MEMBERS / RESEND_EVERY);
    // members, their re-sends and at least one callback message were received and deleted
    expect(run.runnerStats.deleted).toBeGreaterThanOrEqual(MEMBERS + run.resends.length + 1);
    const table = stack.names.tables.groupMetas;
    const leaves = MEMBERS / GROUP_LIMITS.branching;
    for (let leaf = 0; leaf < leaves; leaf++) {
      expect(run.itemWrites.of(table, nodeKey(run.chord.uuid, 0, leaf))).toBe(
        GROUP_LIMITS.branching + GROUP_LIMITS.branching / RESEND_EVERY,
      );
    }
    // no group record is hot: each takes at most one write per slot (B for a leaf, one per leaf
    // one level up, the trigger at the root) plus one per re-walk of a re-sent member
    const hottest = run.itemWrites.hottest(['root', 'node', 'page', 'bucket', 'counter']);
    expect(hottest?.writes).toBeLessThanOrEqual(
      leaves + run.resends.length + GROUP_LIMITS.branching,
    );
  }
});

/** A member message as the producer sent it, with the member's index in its group. */
type MemberSend = SendMessageBatchRequestEntry & { index: number };

/** The messages of group `groupUUID`'s members the producer sent to `queueUrl`. */
function memberSends(
  sent: readonly RecordedCommand[],
  queueUrl: string,
  groupUUID: string,
): MemberSend[] {
  return inputsOf<SendMessageBatchCommandInput>(sent, 'SendMessageBatchCommand')
    .filter((batch) => batch.QueueUrl === queueUrl)
    .flatMap((batch) => batch.Entries ?? [])
    .flatMap((e) => {
      const signature = decodeSignature(e.MessageBody ?? '');
      const index = groupIndexOf(signature);
      return signature.GroupUUID === groupUUID && index !== undefined ? [{ ...e, index }] : [];
    });
}

/** Sends `entries` again, body and message group unchanged, with new deduplication ids. */
async function resend(
  clients: TestClients,
  queueUrl: string,
  entries: readonly MemberSend[],
): Promise<void> {
  for (let i = 0; i < entries.length; i += 10) {
    await clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: entries.slice(i, i + 10).map((e, j) => ({
          Id: String(j),
          MessageBody: e.MessageBody,
          MessageGroupId: e.MessageGroupId,
          MessageDeduplicationId: `${e.MessageDeduplicationId}-resent`,
          ...(e.MessageAttributes === undefined ? {} : { MessageAttributes: e.MessageAttributes }),
        })),
      }),
    );
  }
}

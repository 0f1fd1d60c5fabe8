/**
 * ETAs within SQS's 15 minutes, on the real wall clock (the shared clock is never advanced here):
 * the delay queue with DelaySeconds, the forwarder, and the worker's check of ETAs found on
 * receipt. Delays are proved by lower bounds only.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineTask } from '../../src/core/registry.js';
import { encodeSignature, newSignature } from '../../src/core/signature.js';
import { type DelayHarness, startDelayHarness } from './delay-harness.js';

/** Start times (wall clock) of every run, by task UUID. */
const starts = new Map<string, number[]>();

const nowTask = defineTask({
  name: 'now',
  run: (ctx) => {
    const t = Date.now();
    starts.set(ctx.uuid, [...(starts.get(ctx.uuid) ?? []), t]);
    return t;
  },
});

describe('ETA through the delay queue', () => {
  let h: DelayHarness;

  beforeAll(async () => {
    h = await startDelayHarness({ label: 'deta', tasks: [nowTask] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('runs a task with ETA now + 100 ms no earlier than its ETA (machinery delay case)', async () => {
    // Prepare
    const eta = Date.now() + 100;
    const sig = newSignature('now', [], { ETA: eta });

    // Act
    const result = await h.client.sendTask(sig);
    const [value] = await result.get({ timeoutMs: 30_000 });

    // Assess
    expect(typeof value).toBe('number');
    expect(value as number).toBeGreaterThanOrEqual(eta);
  });

  it('never starts a task with ETA now + 3 s early', async () => {
    // Prepare
    const sent = Date.now();
    const eta = sent + 3_000;
    const sig = newSignature('now', [], { ETA: eta });

    // Act
    const result = await h.client.sendTask(sig);
    const stateRightAfter = (await result.getState())?.state;
    const [value] = await result.get({ timeoutMs: 30_000 });

    // Assess
    expect(stateRightAfter).toBe('PENDING');
    expect(starts.get(sig.UUID)).toHaveLength(1);
    expect(starts.get(sig.UUID)?.[0]).toBeGreaterThanOrEqual(eta);
    expect(value as number).toBeGreaterThanOrEqual(eta);
  });

  it('holds back an ETA body a Go producer put straight on the FIFO queue until it is due', async () => {
    // Prepare: machinery's SQS broker puts ETA'd signatures on the FIFO queue as they are
    const eta = Date.now() + 2_000;
    const sig = newSignature('now', [], { ETA: eta });

    // Act
    await h.stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: h.stack.queueUrls.tasks,
        MessageBody: encodeSignature(sig),
        MessageGroupId: sig.UUID,
        MessageDeduplicationId: sig.UUID,
      }),
    );
    const [value] = await h.client.asyncResult(sig.UUID).get({ timeoutMs: 30_000 });

    // Assess
    expect(starts.get(sig.UUID)).toHaveLength(1);
    expect(value as number).toBeGreaterThanOrEqual(eta);
  });
});

import { describe, expect, it } from 'vitest';
import { results, typed } from '../../../src/core/args.js';
import { TRUNCATION_MARKER } from '../../../src/core/bounds.js';
import { AdjustableClock } from '../../../src/core/clock.js';
import {
  InfrastructureError,
  MessageRejectedError,
  RetryLaterError,
  TaskTimeoutError,
} from '../../../src/core/errors.js';
import {
  MemoryBroker,
  MemoryLogger,
  MemoryResultBackend,
  MemoryScheduler,
} from '../../../src/core/memory.js';
import type { Delivery, ProcessOutcome } from '../../../src/core/ports.js';
import { createProcessor, type ProcessorOptions } from '../../../src/core/processor.js';
import { createRegistry, defineTask, type TaskContext } from '../../../src/core/registry.js';
import {
  deriveTaskUUID,
  encodeSignature,
  newSignature,
  newTaskUUID,
  type SignatureOptions,
} from '../../../src/core/signature.js';
import type { Signature } from '../../../src/core/types.js';

/** Calls of every task, by name. */
const calls: Record<string, unknown[][]> = {};
const seen = (name: string, ...args: unknown[]) => {
  calls[name] = [...(calls[name] ?? []), args];
};
let lastContext: TaskContext | undefined;
let inTask: ((ctx: TaskContext) => Promise<void>) | undefined;

// The example tasks of machinery's documentation (example/tasks/tasks.go), and a few more.
const registry = createRegistry([
  defineTask({ name: 'add', rest: 'int64', run: (_c, ...xs) => xs.reduce((s, x) => s + x, 0) }),
  defineTask({
    name: 'sum_ints',
    args: ['[]int64'],
    run: (_c, xs) => xs.reduce((s, x) => s + x, 0),
  }),
  defineTask({
    name: 'sum_floats',
    args: ['[]float64'],
    run: (_c, xs) => xs.reduce((s, x) => s + x, 0),
  }),
  defineTask({ name: 'concat', args: ['[]string'], run: (_c, xs) => xs.join('') }),
  defineTask({ name: 'split', args: ['string'], run: (_c, s) => s.split('') }),
  defineTask({
    name: 'oops',
    run: (c) => {
      seen('oops', c.attempt);
      throw new Error('oops');
    },
  }),
  defineTask({
    name: 'reject',
    run: async () => {
      await Promise.resolve();
      throw 'a plain string';
    },
  }),
  defineTask({ name: 'nothing', run: (c) => void seen('nothing', c.attempt) }),
  defineTask({ name: 'several', run: () => results(1, 'two', typed('float32', 3)) }),
  defineTask({
    name: 'later',
    run: () => {
      throw new RetryLaterError(5000, 'not ready');
    },
  }),
  defineTask({ name: 'object', run: () => ({ a: 1 }) as never }),
  defineTask({
    name: 'throw_text',
    args: ['string'],
    run: (_c, text) => {
      throw new Error(text);
    },
  }),
  defineTask({
    name: 'hang',
    run: (c) => new Promise<void>((resolve) => c.signal.addEventListener('abort', () => resolve())),
  }),
  defineTask({
    name: 'inspect',
    args: ['string'],
    run: async (c, s) => {
      lastContext = c;
      seen('inspect', s);
      await inTask?.(c);
      return s;
    },
  }),
]);

function delivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    messageId: 'msg-1',
    receiveCount: 1,
    firstReceivedAt: Date.now(),
    remainingTimeMs: () => 42_000,
    signal: new AbortController().signal,
    ...overrides,
  };
}

function setup(options: Partial<ProcessorOptions> = {}) {
  const clock = new AdjustableClock();
  const backend = new MemoryResultBackend();
  const broker = new MemoryBroker();
  const logger = new MemoryLogger();
  const processor = createProcessor({
    registry,
    backend,
    broker,
    clock,
    logger,
    writeRetryDelaysMs: [],
    ...options,
  });
  const now = () => ({ now: clock.now() });
  return { clock, backend, broker, logger, processor, now };
}

function sig(
  name: string,
  args: { Type: 'string' | '[]int64' | '[]float64' | '[]string' | 'int64'; Value: unknown }[] = [],
  opts: SignatureOptions = {},
): Signature {
  return newSignature(name, args, opts);
}

describe('Function: createProcessor', () => {
  describe('machinery documentation examples', () => {
    const examples: { name: string; body: string; expected: unknown }[] = [
      {
        name: 'add(1, 1) = 2',
        body: '{"UUID":"task_add","Name":"add","Args":[{"Type":"int64","Value":1},{"Type":"int64","Value":1}]}',
        expected: [{ Type: 'int64', Value: 2 }],
      },
      {
        name: 'sum_ints([1, 2]) = 3',
        body: '{"UUID":"task_sum_ints","Name":"sum_ints","Args":[{"Type":"[]int64","Value":[1,2]}]}',
        expected: [{ Type: 'int64', Value: 3 }],
      },
      {
        name: 'sum_floats([1.5, 2.7]) = 4.2',
        body: '{"UUID":"task_sum_floats","Name":"sum_floats","Args":[{"Type":"[]float64","Value":[1.5,2.7]}]}',
        expected: [{ Type: 'float64', Value: 4.2 }],
      },
      {
        name: 'concat(["foo", "bar"]) = "foobar"',
        body: '{"UUID":"task_concat","Name":"concat","Args":[{"Type":"[]string","Value":["foo","bar"]}]}',
        expected: [{ Type: 'string', Value: 'foobar' }],
      },
      {
        name: 'split("foo") = ["f", "o", "o"]',
        body: '{"UUID":"task_split","Name":"split","Args":[{"Type":"string","Value":"foo"}]}',
        expected: [{ Type: '[]string', Value: ['f', 'o', 'o'] }],
      },
    ];

    it.each(examples)('decodes and runs $name', async ({ body, expected }) => {
      // Prepare
      const { processor, backend, now } = setup();
      const uuid = JSON.parse(body).UUID as string;

      // Act
      const outcome = await processor.processBody(body, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'done', uuid, state: 'SUCCESS' });
      expect((await backend.get(uuid, now()))?.results).toStrictEqual(expected);
    });
  });

  describe('success', () => {
    it('costs three writes for a simple task: PENDING, the claim (STARTED) and SUCCESS', async () => {
      // Prepare
      const { processor, backend, clock } = setup();
      const s = sig('concat', [{ Type: '[]string', Value: ['a'] }]);
      await backend.putPending(s, { now: clock.now(), expiresAt: clock.now() + 3_600_000 });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome.kind).toBe('done');
      expect(backend.writes).toBe(3);
    });

    it('stores no results for a task returning nothing, and several for results()', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      const a = sig('nothing');
      const b = sig('several');

      // Act
      await processor.process(a, delivery());
      await processor.process(b, delivery());

      // Assess
      expect((await backend.get(a.UUID, now()))?.results).toStrictEqual([]);
      expect((await backend.get(b.UUID, now()))?.results).toStrictEqual([
        { Type: 'int64', Value: 1 },
        { Type: 'string', Value: 'two' },
        { Type: 'float32', Value: 3 },
      ]);
    });

    it('gives the task its context', async () => {
      // Prepare
      const controller = new AbortController();
      const { processor } = setup();
      const s = sig('inspect', [{ Type: 'string', Value: 'x' }], {
        Headers: { traceparent: 'tp' },
      });

      // Act
      await processor.process(s, delivery({ signal: controller.signal }));

      // Assess
      expect(lastContext).toMatchObject({
        uuid: s.UUID,
        name: 'inspect',
        attempt: 1,
        retries: 0,
        redrive: false,
        idempotencyKey: `${s.UUID}:1`,
        headers: { traceparent: 'tp' },
        signal: controller.signal,
      });
      expect(lastContext?.signature).toStrictEqual(s);
      expect(lastContext?.remainingTimeMs()).toBe(42_000);
    });

    it('sends OnSuccess callbacks with the results appended, recording them PENDING', async () => {
      // Prepare
      const { processor, backend, broker, now } = setup();
      const withUuid = sig('concat', [{ Type: '[]string', Value: ['z'] }]);
      const noUuid = { ...sig('split'), UUID: '' };
      const s = sig('split', [{ Type: 'string', Value: 'ab' }], { OnSuccess: [withUuid, noUuid] });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome.kind).toBe('done');
      const sent = broker.published.map((p) => p.signature);
      expect(sent.map((x) => x.UUID)).toStrictEqual([
        withUuid.UUID,
        deriveTaskUUID(s.UUID, 'OnSuccess/1'),
      ]);
      expect(sent[0]?.Args).toStrictEqual([
        { Name: '', Type: '[]string', Value: ['z'] },
        { Name: '', Type: '[]string', Value: ['a', 'b'] },
      ]);
      expect(sent[1]?.Args).toStrictEqual([{ Name: '', Type: '[]string', Value: ['a', 'b'] }]);
      expect((await backend.get(withUuid.UUID, now()))?.state).toBe('PENDING');
    });

    it('carries the trace context to callbacks unless the callback has its own', async () => {
      // Prepare
      const { processor, broker } = setup();
      const parentTrace = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const ownTrace = '00-11111111111111111111111111111111-2222222222222222-01';
      const plain = sig('nothing');
      const own = sig('nothing', [], { Headers: { traceparent: ownTrace, x: 1 } });
      const s = sig('nothing', [], {
        Headers: { traceparent: parentTrace, tracestate: 'k=v', other: 'not carried' },
        OnSuccess: [plain, own],
      });

      // Act
      await processor.process(s, delivery());

      // Assess
      const sent = broker.published.map((p) => p.signature.Headers);
      expect(sent).toStrictEqual([
        { traceparent: parentTrace, tracestate: 'k=v' },
        { traceparent: ownTrace, x: 1 },
      ]);
    });

    it('does not append results to callbacks of an Immutable task', async () => {
      // Prepare
      const { processor, broker } = setup();
      const cb = sig('nothing');
      const s = sig('split', [{ Type: 'string', Value: 'ab' }], {
        Immutable: true,
        OnSuccess: [cb],
      });

      // Act
      await processor.process(s, delivery());

      // Assess
      expect(broker.published[0]?.signature.Args).toStrictEqual([]);
    });

    it('routes a callback with a far ETA through the scheduler', async () => {
      // Prepare
      const scheduler = new MemoryScheduler();
      const { processor, broker, clock } = setup({ scheduler });
      const cb = sig('nothing', [], { ETA: clock.now() + 3_600_000 });
      const s = sig('nothing', [], { OnSuccess: [cb] });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome.kind).toBe('done');
      expect(scheduler.once.has(cb.UUID)).toBe(true);
      expect(broker.published).toHaveLength(0);
    });

    it('uses a custom dispatcher when given one', async () => {
      // Prepare
      const dispatched: Signature[][] = [];
      const { processor } = setup({ dispatch: async (sigs) => void dispatched.push([...sigs]) });
      const s = sig('nothing', [], { OnSuccess: [sig('nothing')] });

      // Act
      await processor.process(s, delivery());

      // Assess
      expect(dispatched).toHaveLength(1);
    });
  });

  describe('failure and retries', () => {
    it('records a throwing task FAILURE with its message and sends OnError with the error prepended', async () => {
      // Prepare
      const errors: unknown[] = [];
      const { processor, backend, broker, now } = setup({
        hooks: { errorHandler: (e, s) => void errors.push([e, s.UUID]) },
      });
      const onError = sig('concat', [{ Type: '[]string', Value: ['ctx'] }]);
      const s = sig('oops', [], { OnError: [onError] });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'done', uuid: s.UUID, state: 'FAILURE' });
      expect(await backend.get(s.UUID, now())).toMatchObject({ state: 'FAILURE', error: 'oops' });
      expect(broker.published[0]?.signature.Args).toStrictEqual([
        { Name: '', Type: 'string', Value: 'oops' },
        { Name: '', Type: '[]string', Value: ['ctx'] },
      ]);
      expect(errors).toHaveLength(1);
      expect((errors[0] as [Error, string])[0].message).toBe('oops');
    });

    it('captures a rejected promise with a non-Error value', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      const s = sig('reject');

      // Act
      await processor.process(s, delivery());

      // Assess
      expect((await backend.get(s.UUID, now()))?.error).toBe('a plain string');
    });

    it('retries with machinery Fibonacci delays, counting retries in the backend, then fails', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      const s = sig('oops', [], { RetryCount: 3 });

      // Act
      const outcomes: ProcessOutcome[] = [];
      for (let i = 1; i <= 4; i++)
        outcomes.push(await processor.process(s, delivery({ receiveCount: i })));

      // Assess
      expect(outcomes).toStrictEqual([
        { kind: 'retry', uuid: s.UUID, delayMs: 1000, attempt: 1, error: 'oops' },
        { kind: 'retry', uuid: s.UUID, delayMs: 2000, attempt: 2, error: 'oops' },
        { kind: 'retry', uuid: s.UUID, delayMs: 3000, attempt: 3, error: 'oops' },
        { kind: 'done', uuid: s.UUID, state: 'FAILURE' },
      ]);
      expect(await backend.get(s.UUID, now())).toMatchObject({
        retries: 3,
        attempt: 4,
        state: 'FAILURE',
      });
    });

    it('starts the back-off from RetryTimeout', async () => {
      // Prepare
      const { processor } = setup();
      const s = sig('oops', [], { RetryCount: 2, RetryTimeout: 5 });

      // Act
      const first = await processor.process(s, delivery());
      const second = await processor.process(s, delivery());

      // Assess
      expect(first).toMatchObject({ kind: 'retry', delayMs: 8000 });
      expect(second).toMatchObject({ kind: 'retry', delayMs: 13000 });
    });

    it('retries a RetryLaterError after its delay, up to the default cap when RetryCount is 0', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      const s = sig('later');

      // Act
      const outcomes: ProcessOutcome[] = [];
      for (let i = 0; i < 11; i++) outcomes.push(await processor.process(s, delivery()));

      // Assess
      expect(outcomes.slice(0, 10).every((o) => o.kind === 'retry' && o.delayMs === 5000)).toBe(
        true,
      );
      expect(outcomes[10]).toStrictEqual({ kind: 'done', uuid: s.UUID, state: 'FAILURE' });
      expect(await backend.get(s.UUID, now())).toMatchObject({ retries: 10, error: 'not ready' });
    });

    it('counts RetryLaterError against RetryCount when it is set', async () => {
      // Prepare
      const { processor } = setup({ retryLaterCap: 1 });
      const s = sig('later', [], { RetryCount: 2 });

      // Act
      const kinds: string[] = [];
      for (let i = 0; i < 3; i++) kinds.push((await processor.process(s, delivery())).kind);

      // Assess
      expect(kinds).toStrictEqual(['retry', 'retry', 'done']);
    });

    it('fails an unsupported return value without retrying', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      const s = sig('object', [], { RetryCount: 3 });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toMatchObject({ kind: 'done', state: 'FAILURE' });
      expect((await backend.get(s.UUID, now()))?.error).toMatch(/no typed mapping/);
    });

    it('fails a task still running when the invocation runs out of time', async () => {
      // Prepare
      const controller = new AbortController();
      const { processor, backend, now } = setup();
      const s = sig('hang', [], { RetryCount: 1 });

      // Act
      const pending = processor.process(s, delivery({ signal: controller.signal }));
      controller.abort();
      const outcome = await pending;
      const again = await processor.process(s, delivery({ signal: AbortSignal.abort() }));

      // Assess
      expect(outcome).toMatchObject({ kind: 'retry', error: new TaskTimeoutError().message });
      expect(again).toMatchObject({ kind: 'done', state: 'FAILURE' });
      expect((await backend.get(s.UUID, now()))?.error).toBe(new TaskTimeoutError().message);
    });

    it('dead-letters a permanent failure with StopTaskDeletionOnError, still sending OnError', async () => {
      // Prepare
      const { processor, backend, broker, now } = setup();
      const s = sig('oops', [], { StopTaskDeletionOnError: true, OnError: [sig('nothing')] });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({
        kind: 'dead-letter',
        uuid: s.UUID,
        reason: 'permanent-failure',
        detail: 'oops',
      });
      expect(await backend.get(s.UUID, now())).toMatchObject({
        state: 'FAILURE',
        deadLettered: true,
        deadLetterReason: 'permanent-failure',
      });
      expect(broker.published).toHaveLength(1);
    });

    it('still dead-letters a permanent failure whose OnError callbacks cannot be sent, saying so', async () => {
      // Prepare
      const { processor, broker, logger } = setup();
      broker.failNext('publish', new Error('queue down'));
      const s = sig('oops', [], { StopTaskDeletionOnError: true, OnError: [sig('nothing')] });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toMatchObject({
        kind: 'dead-letter',
        reason: 'permanent-failure',
        detail: 'oops (OnError callbacks not sent: queue down)',
      });
      expect(logger.at('error').some((e) => e.message.includes('could not be sent'))).toBe(true);
    });
  });

  describe('before running', () => {
    it('returns not-due for an ETA in the future, writing nothing', async () => {
      // Prepare
      const { processor, backend, clock } = setup();
      const eta = clock.now() + 60_000;
      const s = sig('nothing', [], { ETA: eta });

      // Act
      const outcome = await processor.process(s, delivery());
      clock.advance(60_000);
      const later = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'not-due', uuid: s.UUID, eta, signature: s });
      expect(later.kind).toBe('done');
      expect(backend.writes).toBe(2);
    });

    it('dead-letters an unregistered task and records FAILURE', async () => {
      // Prepare
      const errors: unknown[] = [];
      const { processor, backend, now } = setup({
        hooks: { errorHandler: (e) => void errors.push(e) },
      });
      const s = sig('missing');

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({
        kind: 'dead-letter',
        uuid: s.UUID,
        reason: 'unregistered',
        detail: 'task "missing" is not registered',
      });
      expect(await backend.get(s.UUID, now())).toMatchObject({
        state: 'FAILURE',
        deadLettered: true,
        deadLetterReason: 'unregistered',
      });
      expect(errors).toHaveLength(1);
    });

    it('ignores an unregistered task when the producer asked to, recording FAILURE and logging it', async () => {
      // Prepare
      const { processor, backend, logger, now } = setup();
      const s = sig('missing', [], { IgnoreWhenTaskNotRegistered: true });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({
        kind: 'ignored',
        uuid: s.UUID,
        reason: 'task "missing" is not registered (ignored: IgnoreWhenTaskNotRegistered)',
      });
      expect(await backend.get(s.UUID, now())).toMatchObject({
        state: 'FAILURE',
        deadLettered: false,
      });
      expect(logger.at('warn')).toHaveLength(1);
    });

    it('dead-letters args that do not match the definition', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      const s = sig('split', [{ Type: 'int64', Value: 1 }]);

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toMatchObject({
        kind: 'dead-letter',
        reason: 'invalid-args',
        detail: 'Args[0].Type: task "split" expects string for arg 0, got int64',
      });
      expect((await backend.get(s.UUID, now()))?.deadLetterReason).toBe('invalid-args');
    });

    it('dead-letters a message received maxReceiveCount times', async () => {
      // Prepare
      const { processor } = setup({ maxReceiveCount: 5 });
      const s = sig('nothing');

      // Act
      const outcome = await processor.process(s, delivery({ receiveCount: 5 }));

      // Assess
      expect(outcome).toMatchObject({ kind: 'dead-letter', reason: 'receive-limit' });
    });

    it('dead-letters a message at the receive limit while another attempt holds a live lease, leaving the record to that attempt', async () => {
      // Prepare
      const { processor, backend, clock, now } = setup({ maxReceiveCount: 5 });
      const s = sig('nothing');
      const live = await backend.claim(s, {
        now: clock.now(),
        leaseUntil: clock.now() + 90_000,
        expiresAt: clock.now() + 3_600_000,
        maxCrashes: 3,
      });
      const runs = calls.nothing?.length ?? 0;

      // Act
      const outcome = await processor.process(s, delivery({ receiveCount: 5 }));
      const during = await backend.get(s.UUID, now());
      const succeeded = await backend.markSuccess(s.UUID, 1, [], {
        now: clock.now(),
        expiresAt: clock.now() + 3_600_000,
      });

      // Assess
      expect(live).toMatchObject({ kind: 'claimed', attempt: 1 });
      expect(outcome).toStrictEqual({
        kind: 'dead-letter',
        uuid: s.UUID,
        reason: 'receive-limit',
        detail: 'received 5 times (limit 5)',
      });
      expect(calls.nothing?.length ?? 0).toBe(runs);
      expect(during).toMatchObject({
        state: 'STARTED',
        attempt: 1,
        deadLettered: false,
        deadLetterReason: null,
        error: null,
      });
      expect(succeeded).toBe(true);
      expect((await backend.get(s.UUID, now()))?.state).toBe('SUCCESS');
    });

    it('acknowledges a message that fails a pre-claim check when its task already finished', async () => {
      // Prepare
      const { processor } = setup({ maxReceiveCount: 3 });
      const s = sig('nothing');
      await processor.process(s, delivery());

      // Act
      const outcome = await processor.process(s, delivery({ receiveCount: 3 }));

      // Assess
      expect(outcome).toStrictEqual({ kind: 'duplicate', uuid: s.UUID, state: 'SUCCESS' });
    });
  });

  describe('processBody', () => {
    it('dead-letters a body that is not JSON, without a UUID', async () => {
      // Prepare
      const { processor, backend } = setup();

      // Act
      const outcome = await processor.processBody('not json', delivery());

      // Assess
      expect(outcome).toMatchObject({ kind: 'dead-letter', reason: 'undecodable' });
      expect(outcome).not.toHaveProperty('uuid');
      expect(backend.writes).toBe(0);
    });

    it('dead-letters an invalid signature and records FAILURE under its UUID', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      const body = '{"UUID":"task_bad","Name":"add","Args":[{"Type":"uint8","Value":300}]}';

      // Act
      const outcome = await processor.processBody(body, delivery());

      // Assess
      expect(outcome).toStrictEqual({
        kind: 'dead-letter',
        uuid: 'task_bad',
        reason: 'invalid-signature',
        detail: 'Args[0].Value: 300 does not fit uint8 (0..255)',
      });
      expect(await backend.get('task_bad', now())).toMatchObject({
        name: 'add',
        state: 'FAILURE',
        deadLetterReason: 'invalid-signature',
      });
    });

    it('returns transient when recording the FAILURE of an invalid signature fails', async () => {
      // Prepare
      const { processor, backend } = setup();
      backend.failNext('markFailure');

      // Act
      const outcome = await processor.processBody('{"UUID":"task_bad","Name":""}', delivery());

      // Assess
      expect(outcome).toMatchObject({ kind: 'transient', uuid: 'task_bad' });
    });

    it('processes a valid body', async () => {
      // Prepare
      const { processor } = setup();
      const s = sig('nothing');

      // Act
      const outcome = await processor.processBody(encodeSignature(s), delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'done', uuid: s.UUID, state: 'SUCCESS' });
    });
  });

  describe('claims', () => {
    it('acknowledges a duplicate of a finished task without running it, re-sending its callbacks', async () => {
      // Prepare
      const { processor, broker } = setup();
      const s = sig('nothing', [], { OnSuccess: [sig('nothing')] });
      await processor.process(s, delivery());
      const runs = calls.nothing?.length ?? 0;

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'duplicate', uuid: s.UUID, state: 'SUCCESS' });
      expect(calls.nothing?.length).toBe(runs);
      expect(broker.published.map((p) => p.signature.UUID)).toStrictEqual([
        s.OnSuccess?.[0]?.UUID,
        s.OnSuccess?.[0]?.UUID,
      ]);
    });

    it('re-sends OnError callbacks of a finished FAILURE', async () => {
      // Prepare
      const { processor, broker } = setup();
      const s = sig('oops', [], { OnError: [sig('nothing')] });
      await processor.process(s, delivery());

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'duplicate', uuid: s.UUID, state: 'FAILURE' });
      expect(broker.published).toHaveLength(2);
      expect(broker.published[1]?.signature.Args[0]?.Value).toBe('oops');
    });

    it('never loses callbacks: a failed send is transient, and the redelivery sends them', async () => {
      // Prepare
      const { processor, broker, backend, now } = setup();
      const s = sig('nothing', [], { OnSuccess: [sig('nothing')] });
      broker.failNext('publish');

      // Act
      const first = await processor.process(s, delivery());
      const second = await processor.process(s, delivery({ receiveCount: 2 }));

      // Assess
      expect(first).toMatchObject({ kind: 'transient', uuid: s.UUID });
      expect((await backend.get(s.UUID, now()))?.state).toBe('SUCCESS');
      expect(second).toMatchObject({ kind: 'duplicate', state: 'SUCCESS' });
      expect(broker.published).toHaveLength(1);
    });

    it('returns revoked for a cancelled task without running it', async () => {
      // Prepare
      const { processor, backend, clock } = setup();
      const s = sig('nothing');
      await backend.revoke(s.UUID, { now: clock.now(), expiresAt: clock.now() + 60_000 });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'revoked', uuid: s.UUID });
    });

    it('returns revoked for a cancelled task that also fails a pre-claim check', async () => {
      // Prepare
      const { processor, backend, clock } = setup();
      const s = sig('missing');
      await backend.revoke(s.UUID, { now: clock.now(), expiresAt: clock.now() + 60_000 });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'revoked', uuid: s.UUID });
    });

    it('returns busy while another attempt holds a live lease', async () => {
      // Prepare
      const { processor, backend, clock } = setup();
      const s = sig('nothing');
      const leaseUntil = clock.now() + 90_000;
      await backend.claim(s, {
        now: clock.now(),
        leaseUntil,
        expiresAt: leaseUntil,
        maxCrashes: 3,
      });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'busy', uuid: s.UUID, leaseUntil });
    });

    it('recovers a crashed attempt, then dead-letters a crash loop', async () => {
      // Prepare
      const { processor, backend, clock, now } = setup({ maxCrashes: 2, leaseMs: 1000 });
      const crash = async (s: Signature) => {
        const t = clock.now();
        await backend.claim(s, {
          now: t,
          leaseUntil: t + 1000,
          expiresAt: t + 3_600_000,
          maxCrashes: 9,
        });
        clock.advance(2000);
      };
      const once = sig('inspect', [{ Type: 'string', Value: 'once' }]);
      const looping = sig('inspect', [{ Type: 'string', Value: 'loop' }]);
      await crash(once);
      await crash(looping);
      await crash(looping);

      // Act
      const recovered = await processor.process(once, delivery());
      const recoveredContext = lastContext;
      const loop = await processor.process(looping, delivery());

      // Assess
      expect(recovered).toStrictEqual({ kind: 'done', uuid: once.UUID, state: 'SUCCESS' });
      expect(recoveredContext?.attempt).toBe(2);
      expect(await backend.get(once.UUID, now())).toMatchObject({ crashes: 1, attempt: 2 });
      expect(loop).toStrictEqual({
        kind: 'dead-letter',
        uuid: looping.UUID,
        reason: 'crash-loop',
        detail: 'crash loop: 2 attempts ended without recording a result (lease expired)',
      });
      expect(await backend.get(looping.UUID, now())).toMatchObject({
        state: 'FAILURE',
        deadLetterReason: 'crash-loop',
      });
    });

    it('runs a redriven dead-lettered task once more', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      const s = sig('inspect', [{ Type: 'string', Value: 'again' }], {
        StopTaskDeletionOnError: true,
      });
      await backend.markFailure(s, 'earlier', {
        now: now().now,
        expiresAt: now().now + 60_000,
        deadLetterReason: 'crash-loop',
      });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'done', uuid: s.UUID, state: 'SUCCESS' });
      expect(lastContext?.redrive).toBe(true);
    });

    it('treats a lost claim as a duplicate', async () => {
      // Prepare
      const { processor, backend, logger, clock, now } = setup();
      const s = sig('inspect', [{ Type: 'string', Value: 'x' }]);
      inTask = async () => {
        // Written as if after the lease (90 s) ended: a live lease is never overwritten.
        await backend.markFailure(s, 'taken', {
          now: clock.now() + 90_000,
          expiresAt: clock.now() + 60_000,
        });
      };

      // Act
      const outcome = await processor.process(s, delivery()).finally(() => {
        inTask = undefined;
      });

      // Assess
      expect(outcome).toStrictEqual({ kind: 'duplicate', uuid: s.UUID, state: 'FAILURE' });
      expect(logger.at('warn').some((e) => e.message.includes('lost its claim'))).toBe(true);
      expect((await backend.get(s.UUID, now()))?.error).toBe('taken');
    });

    it('treats a lost claim on retry and on failure as a duplicate too', async () => {
      // Prepare
      const { processor, backend, clock } = setup();
      const steal = (s: Signature) => async () => {
        // Written as if after the lease (90 s) ended: a live lease is never overwritten.
        await backend.markFailure(s, 'taken', {
          now: clock.now() + 90_000,
          expiresAt: clock.now() + 60_000,
        });
        throw new Error('then failed');
      };
      const retrying = sig('inspect', [{ Type: 'string', Value: 'r' }], { RetryCount: 1 });
      const failing = sig('inspect', [{ Type: 'string', Value: 'f' }]);

      // Act
      inTask = steal(retrying);
      const a = await processor.process(retrying, delivery());
      inTask = steal(failing);
      const b = await processor.process(failing, delivery()).finally(() => {
        inTask = undefined;
      });

      // Assess
      expect(a).toMatchObject({ kind: 'duplicate', state: 'FAILURE' });
      expect(b).toMatchObject({ kind: 'duplicate', state: 'FAILURE' });
    });
  });

  describe('infrastructure errors', () => {
    it('returns transient when the claim fails, consuming no retry', async () => {
      // Prepare
      const { processor, backend, logger } = setup();
      const s = sig('oops', [], { RetryCount: 1 });
      backend.failNext('claim');

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toMatchObject({ kind: 'transient', uuid: s.UUID });
      expect(backend.peek(s.UUID)).toBeUndefined();
      expect(logger.at('warn').some((e) => e.message.includes('claiming the task failed'))).toBe(
        true,
      );
    });

    it('logs a non-transient infrastructure error as an error, still transient', async () => {
      // Prepare
      const { processor, backend, logger } = setup();
      backend.failNext('claim', new Error('AccessDenied'));

      // Act
      const outcome = await processor.process(sig('nothing'), delivery());

      // Assess
      expect(outcome.kind).toBe('transient');
      expect(logger.at('error')).toHaveLength(1);
    });

    it('retries a result write in-process before giving up', async () => {
      // Prepare
      const { processor, backend } = setup({ writeRetryDelaysMs: [0] });
      const ok = sig('nothing');
      const notOk = sig('nothing');

      // Act
      backend.failNext('markSuccess');
      const first = await processor.process(ok, delivery());
      backend.failNext('markSuccess', undefined, 2);
      const second = await processor.process(notOk, delivery());

      // Assess
      expect(first.kind).toBe('done');
      expect(second.kind).toBe('transient');
    });

    it('returns transient when recording a dead-letter FAILURE fails', async () => {
      // Prepare
      const { processor, backend } = setup();
      backend.failNext('markFailure');

      // Act
      const outcome = await processor.process(sig('missing'), delivery());

      // Assess
      expect(outcome.kind).toBe('transient');
    });

    it('rethrows errors that do not come from a port', async () => {
      // Prepare
      const { processor } = setup({
        registry: {
          get: () => {
            throw new Error('bug');
          },
        },
      });

      // Act
      const outcome = processor.process(sig('nothing'), delivery());

      // Assess
      await expect(outcome).rejects.toThrow('bug');
    });
  });

  describe('message-caused errors', () => {
    const refused = () =>
      new MessageRejectedError(
        'DynamoDB refused the request for what the message carries: Item size has exceeded the maximum allowed size',
      );

    it('dead-letters message-rejected when the claim is refused for the content, recording FAILURE', async () => {
      // Prepare
      const errors: unknown[] = [];
      const { processor, backend, now } = setup({
        hooks: { errorHandler: (e) => void errors.push(e) },
      });
      const s = sig('nothing');
      const refusal = refused();
      backend.failNext('claim', refusal);
      const runsBefore = (calls.nothing ?? []).length;

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({
        kind: 'dead-letter',
        uuid: s.UUID,
        reason: 'message-rejected',
        detail: `claiming the task was refused for the message's content: ${refusal.message}`,
      });
      expect(await backend.get(s.UUID, now())).toMatchObject({
        state: 'FAILURE',
        deadLettered: true,
        deadLetterReason: 'message-rejected',
        attempt: 0,
      });
      expect(calls.nothing ?? []).toHaveLength(runsBefore);
      expect(errors).toStrictEqual([refusal]);
    });

    it('records FAILURE for the running attempt when its FAILURE write is refused for the content', async () => {
      // Prepare
      const { processor, backend, broker, now } = setup({ maxErrorTextLength: 1_000_000 });
      const s = sig('throw_text', [{ Type: 'string', Value: 'x'.repeat(500_000) }], {
        OnError: [sig('nothing')],
      });
      backend.failNext('markFailure', refused());

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toMatchObject({
        kind: 'dead-letter',
        uuid: s.UUID,
        reason: 'message-rejected',
      });
      expect((outcome as { detail: string }).detail).toMatch(/^recording FAILURE was refused/);
      expect(await backend.get(s.UUID, now())).toMatchObject({
        state: 'FAILURE',
        attempt: 1,
        leaseUntil: null,
        deadLetterReason: 'message-rejected',
      });
      expect(broker.published).toHaveLength(0);
    });

    it('dead-letters without task state when the FAILURE write is refused too', async () => {
      // Prepare
      const { processor, backend, logger } = setup();
      const s = sig('nothing');
      backend.failNext('claim', refused());
      backend.failNext('markFailure', refused());

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toMatchObject({ kind: 'dead-letter', reason: 'message-rejected' });
      expect(backend.peek(s.UUID)).toBeUndefined();
      expect(backend.writes).toBe(0);
      expect(logger.at('warn').some((e) => e.message.includes('FAILURE cannot be recorded'))).toBe(
        true,
      );
    });

    it('returns transient when recording the FAILURE of a refused message fails transiently', async () => {
      // Prepare
      const { processor, backend } = setup();
      backend.failNext('claim', refused());
      backend.failNext('markFailure');

      // Act
      const outcome = await processor.process(sig('nothing'), delivery());

      // Assess
      expect(outcome.kind).toBe('transient');
    });

    it('dead-letters a duplicate whose callbacks are refused for their content', async () => {
      // Prepare
      const { processor, backend, broker, now } = setup();
      const s = sig('nothing', [], { OnSuccess: [sig('nothing')] });
      await processor.process(s, delivery());
      broker.failNext('publish', refused());

      // Act
      const outcome = await processor.process(s, delivery({ messageId: 'msg-2' }));

      // Assess
      expect(outcome).toMatchObject({ kind: 'dead-letter', reason: 'message-rejected' });
      expect((outcome as { detail: string }).detail).toMatch(/^sending OnSuccess callbacks/);
      expect((await backend.get(s.UUID, now()))?.state).toBe('SUCCESS');
    });

    it('keeps an error of the deployment transient, with the error as the adapter translated it', async () => {
      // Prepare
      const { processor, backend } = setup();
      const denied = new InfrastructureError('ACCESS_DENIED', 'DynamoDB denied access');
      backend.failNext('claim', denied);

      // Act
      const outcome = await processor.process(sig('nothing'), delivery());

      // Assess
      expect(outcome).toMatchObject({ kind: 'transient' });
      expect((outcome as { error: unknown }).error).toBe(denied);
    });

    it('still dead-letters an invalid signature whose FAILURE write is refused for its content', async () => {
      // Prepare
      const { processor, backend } = setup();
      const uuid = newTaskUUID();
      backend.failNext('markFailure', refused());

      // Act
      const outcome = await processor.processBody(
        JSON.stringify({ UUID: uuid, Name: 'add', Args: [{ Type: 'int64', Value: 'x' }] }),
        delivery(),
      );

      // Assess
      expect(outcome).toMatchObject({ kind: 'dead-letter', uuid, reason: 'invalid-signature' });
      expect(backend.peek(uuid)).toBeUndefined();
    });
  });

  describe('bounds', () => {
    it('cuts error texts to maxErrorTextLength in task state, the retry outcome and OnError callbacks', async () => {
      // Prepare
      const { processor, backend, broker, now } = setup({ maxErrorTextLength: 100 });
      const text = 'e'.repeat(5_000);
      const s = sig('throw_text', [{ Type: 'string', Value: text }], {
        RetryCount: 1,
        OnError: [sig('nothing')],
      });
      const cut = `${'e'.repeat(100 - TRUNCATION_MARKER.length)}${TRUNCATION_MARKER}`;

      // Act
      const first = await processor.process(s, delivery());
      const retried = (await backend.get(s.UUID, now()))?.error;
      const second = await processor.process(s, delivery({ receiveCount: 2 }));

      // Assess
      expect(first).toMatchObject({ kind: 'retry', error: cut });
      expect(retried).toBe(cut);
      expect(second).toMatchObject({ kind: 'done', state: 'FAILURE' });
      expect((await backend.get(s.UUID, now()))?.error).toBe(cut);
      expect(broker.published[0]?.signature.Args[0]).toStrictEqual({
        Name: '',
        Type: 'string',
        Value: cut,
      });
    });

    it('cuts the detail of a dead-letter to DEFAULTS.maxErrorTextLength by default', async () => {
      // Prepare
      const { processor, backend, now } = setup();
      // process() takes a decoded signature as is: decoding would refuse a name this long.
      const s = { ...sig('nothing'), Name: `missing_${'n'.repeat(10_000)}` };

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      const detail = (outcome as { detail: string }).detail;
      expect(detail).toHaveLength(4_096);
      expect(detail.endsWith(TRUNCATION_MARKER)).toBe(true);
      expect((await backend.get(s.UUID, now()))?.error).toBe(detail);
    });

    it('fails results over maxResultBytes result-too-large without retries, running OnError', async () => {
      // Prepare
      const { processor, backend, broker, now } = setup({ maxResultBytes: 1_000 });
      const s = sig('inspect', [{ Type: 'string', Value: 'r'.repeat(1_001) }], {
        RetryCount: 3,
        OnError: [sig('nothing')],
        OnSuccess: [sig('nothing')],
      });
      const writesBefore = backend.writes;

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toStrictEqual({ kind: 'done', uuid: s.UUID, state: 'FAILURE' });
      const rec = await backend.get(s.UUID, now());
      expect(rec).toMatchObject({ state: 'FAILURE', retries: 0, results: null });
      expect(rec?.error).toBe(
        "result-too-large: the results take 1025 bytes in the task's item, over the 1000 it may hold",
      );
      expect(broker.published).toHaveLength(1);
      expect(broker.published[0]?.signature.Args[0]?.Value).toBe(rec?.error);
      // The claim, FAILURE and the OnError callback's PENDING record: no SUCCESS write.
      expect(backend.writes - writesBefore).toBe(3);
    });

    it('fails an OnSuccess callback that would exceed the SQS message limit result-too-large', async () => {
      // Prepare
      const { processor, backend, broker, now } = setup({ maxResultBytes: 2_000_000 });
      const big = 'b'.repeat(600_000);
      const callback = sig('inspect', [{ Type: 'string', Value: big }]);
      const s = sig('inspect', [{ Type: 'string', Value: big }], { OnSuccess: [callback] });

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toMatchObject({ kind: 'done', state: 'FAILURE' });
      expect((await backend.get(s.UUID, now()))?.error).toMatch(
        /^result-too-large: OnSuccess callback 0 with the results appended is \d+ bytes, over the 1048576 an SQS message holds$/,
      );
      expect(broker.published).toHaveLength(0);
    });

    it('fails a task result-too-large when DynamoDB refuses its SUCCESS write for its size', async () => {
      // Prepare
      const { processor, backend, broker, now } = setup();
      const s = sig('nothing', [], { RetryCount: 2, OnError: [sig('nothing')] });
      backend.failNext(
        'markSuccess',
        new MessageRejectedError(
          'DynamoDB refused the request: Item size has exceeded the maximum allowed size',
        ),
      );

      // Act
      const outcome = await processor.process(s, delivery());

      // Assess
      expect(outcome).toMatchObject({ kind: 'done', state: 'FAILURE' });
      expect((await backend.get(s.UUID, now()))?.error).toBe(
        'result-too-large: the SUCCESS write was refused: DynamoDB refused the request: Item size has exceeded the maximum allowed size',
      );
      expect(broker.published).toHaveLength(1);
    });
  });

  describe('hooks and extensions', () => {
    it('calls pre- and post-task handlers around the task, ignoring their errors', async () => {
      // Prepare
      const order: string[] = [];
      const { processor, logger } = setup({
        hooks: {
          preTaskHandler: (s) => {
            order.push(`pre:${s.Name}`);
            throw new Error('pre broke');
          },
          postTaskHandler: async (s) => {
            order.push(`post:${s.Name}`);
          },
        },
      });
      inTask = async () => void order.push('run');

      // Act
      const outcome = await processor
        .process(sig('inspect', [{ Type: 'string', Value: 'x' }]), delivery())
        .finally(() => {
          inTask = undefined;
        });

      // Assess
      expect(outcome.kind).toBe('done');
      expect(order).toStrictEqual(['pre:inspect', 'run', 'post:inspect']);
      expect(logger.at('error').map((e) => e.message)).toStrictEqual([
        'preTaskHandler threw; ignored',
      ]);
    });

    it('calls the workflow extension for group members, again on duplicates', async () => {
      // Prepare
      const events: string[] = [];
      const { processor } = setup({
        workflow: {
          memberSucceeded: async (s, r) => void events.push(`ok:${s.UUID}:${r.length}`),
          memberFailed: async (s, e) => void events.push(`failed:${s.UUID}:${e}`),
        },
      });
      const ok = sig('several', [], { GroupUUID: 'group_1', GroupTaskCount: 2 });
      const ko = sig('oops', [], { GroupUUID: 'group_1', GroupTaskCount: 2 });
      const solo = sig('nothing');

      // Act
      await processor.process(ok, delivery());
      await processor.process(ok, delivery());
      await processor.process(ko, delivery());
      await processor.process(solo, delivery());

      // Assess
      expect(events).toStrictEqual([
        `ok:${ok.UUID}:3`,
        `ok:${ok.UUID}:3`,
        `failed:${ko.UUID}:oops`,
      ]);
    });

    it('returns transient when the workflow extension fails', async () => {
      // Prepare
      const { processor } = setup({
        workflow: {
          memberSucceeded: async () => {
            throw new Error('group table throttled');
          },
        },
      });

      // Act
      const outcome = await processor.process(
        sig('nothing', [], { GroupUUID: 'group_2' }),
        delivery(),
      );

      // Assess
      expect(outcome).toMatchObject({
        kind: 'transient',
        error: new Error('group table throttled'),
      });
    });

    it('logs to the console by default', async () => {
      // Prepare
      const processor = createProcessor({
        registry,
        backend: new MemoryResultBackend(),
        broker: new MemoryBroker(),
        logger: undefined as never,
      });

      // Act
      const outcome = await processor.process(
        sig('nothing', [], { UUID: newTaskUUID() }),
        delivery(),
      );

      // Assess
      expect(outcome.kind).toBe('done');
    });
  });
});

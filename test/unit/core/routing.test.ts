import { describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../../src/core/clock.js';
import { DispatchError, dispatch } from '../../../src/core/dispatch.js';
import { QueueRoutingError } from '../../../src/core/errors.js';
import { MemoryBroker, MemoryResultBackend } from '../../../src/core/memory.js';
import { DEFAULTS } from '../../../src/core/resources.js';
import {
  type QueueRouting,
  queueNameOf,
  queueRouting,
  routeSignature,
} from '../../../src/core/routing.js';
import { newSignature } from '../../../src/core/signature.js';

const ROUTING: QueueRouting = queueRouting(
  'http://127.0.0.1:4566/000000000000/p-tasks.fifo',
  'http://127.0.0.1:4566/000000000000/p-tasks-high.fifo',
);
const OFF: QueueRouting = queueRouting(
  'http://127.0.0.1:4566/000000000000/p-tasks.fifo',
  undefined,
);

describe('Function: queueRouting', () => {
  it('takes the queue names from the URLs and the default threshold', () => {
    // Act
    const routing = ROUTING;

    // Assess
    expect(routing).toStrictEqual({
      defaultQueue: 'p-tasks.fifo',
      highQueue: 'p-tasks-high.fifo',
      highPriorityThreshold: DEFAULTS.highPriorityThreshold,
    });
    expect(queueNameOf('https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo/')).toBe('q.fifo');
  });
});

describe('Function: routeSignature', () => {
  it('routes a task at or above the threshold to the high queue and one below it nowhere', () => {
    // Prepare
    const at = newSignature('a', [], { Priority: DEFAULTS.highPriorityThreshold });
    const below = newSignature('b', [], { Priority: DEFAULTS.highPriorityThreshold - 1 });

    // Act
    const routedAt = routeSignature(at, ROUTING);
    const routedBelow = routeSignature(below, ROUTING);

    // Assess
    expect(routedAt.RoutingKey).toBe('p-tasks-high.fifo');
    expect(routedBelow.RoutingKey).toBe('');
    expect(at.RoutingKey).toBe('');
  });

  it('uses a threshold given in the routing', () => {
    // Prepare
    const sig = newSignature('a', [], { Priority: 2 });

    // Act
    const routed = routeSignature(sig, { ...ROUTING, highPriorityThreshold: 2 });

    // Assess
    expect(routed.RoutingKey).toBe('p-tasks-high.fifo');
  });

  it('leaves a high-priority task on the default queue when no high queue is configured', () => {
    // Prepare
    const sig = newSignature('a', [], { Priority: 255 });

    // Act
    const routed = routeSignature(sig, OFF);

    // Assess
    expect(routed.RoutingKey).toBe('');
  });

  it('writes the named queue over the priority, and keeps a RoutingKey already set otherwise', () => {
    // Prepare
    const urgent = newSignature('a', [], { Priority: 9 });
    const keyed = newSignature('b', [], { Priority: 9, RoutingKey: 'reports.fifo' });

    // Act
    const toDefault = routeSignature(urgent, ROUTING, 'default');
    const toHigh = routeSignature(keyed, ROUTING, 'high');
    const kept = routeSignature(keyed, ROUTING);

    // Assess
    expect(toDefault.RoutingKey).toBe('p-tasks.fifo');
    expect(toHigh.RoutingKey).toBe('p-tasks-high.fifo');
    expect(kept.RoutingKey).toBe('reports.fifo');
  });

  it('routes callbacks at every depth: by their own priority, or by the queue the send names', () => {
    // Prepare
    const leaf = newSignature('leaf', [], { Priority: 0 });
    const urgentCallback = newSignature('cb', [], { Priority: 7, OnSuccess: [leaf] });
    const onError = newSignature('err', [], { RoutingKey: 'errors.fifo' });
    const chordCallback = newSignature('chord', [], { Priority: 0 });
    const sig = newSignature('top', [], {
      OnSuccess: [urgentCallback],
      OnError: [onError],
      ChordCallback: chordCallback,
    });

    // Act
    const byPriority = routeSignature(sig, ROUTING);
    const named = routeSignature(sig, ROUTING, 'high');

    // Assess
    expect(byPriority.RoutingKey).toBe('');
    expect(byPriority.OnSuccess?.[0]?.RoutingKey).toBe('p-tasks-high.fifo');
    expect(byPriority.OnSuccess?.[0]?.OnSuccess?.[0]?.RoutingKey).toBe('');
    expect(byPriority.OnError?.[0]?.RoutingKey).toBe('errors.fifo');
    expect(byPriority.ChordCallback?.RoutingKey).toBe('');
    expect(named.RoutingKey).toBe('p-tasks-high.fifo');
    expect(named.OnSuccess?.[0]?.OnSuccess?.[0]?.RoutingKey).toBe('p-tasks-high.fifo');
    expect(named.OnError?.[0]?.RoutingKey).toBe('errors.fifo');
    expect(named.ChordCallback?.RoutingKey).toBe('p-tasks-high.fifo');
  });

  it('refuses the high queue when none is configured', () => {
    // Prepare
    const sig = newSignature('a', []);

    // Act
    const act = () => routeSignature(sig, OFF, 'high');

    // Assess
    expect(act).toThrow(QueueRoutingError);
    expect(act).toThrow(/high-priority queue/);
  });
});

describe('Function: dispatch (routing)', () => {
  function deps(routing?: QueueRouting) {
    return {
      clock: new AdjustableClock(),
      backend: new MemoryResultBackend(),
      broker: new MemoryBroker(),
      ...(routing === undefined ? {} : { routing }),
    };
  }

  it('publishes and records each signature with the RoutingKey of its queue', async () => {
    // Prepare
    const d = deps(ROUTING);
    const urgent = newSignature('urgent', [], { Priority: 9 });
    const plain = newSignature('plain', []);
    const later = newSignature('later', [], { Priority: 9, ETA: d.clock.now() + 60_000 });

    // Act
    await dispatch([urgent, plain, later], d);

    // Assess
    expect(d.broker.published.map((p) => p.signature.RoutingKey)).toStrictEqual([
      'p-tasks-high.fifo',
      '',
    ]);
    expect(d.broker.delayed.map((p) => p.signature.RoutingKey)).toStrictEqual([
      'p-tasks-high.fifo',
    ]);
  });

  it('sends every signature to the queue the send names', async () => {
    // Prepare
    const d = deps(ROUTING);
    const sigs = [newSignature('a', []), newSignature('b', [], { Priority: 9 })];

    // Act
    await dispatch(sigs, d, { queue: 'default' });

    // Assess
    expect(d.broker.published.map((p) => p.signature.RoutingKey)).toStrictEqual([
      'p-tasks.fifo',
      'p-tasks.fifo',
    ]);
  });

  it('refuses queue high before any write without a high queue or without routing', async () => {
    // Prepare
    const off = deps(OFF);
    const none = deps();
    const sig = newSignature('a', []);

    // Act
    const noHighQueue = dispatch([sig], off, { queue: 'high' });
    const noRouting = dispatch([sig], none, { queue: 'high' });

    // Assess
    await expect(noHighQueue).rejects.toBeInstanceOf(QueueRoutingError);
    await expect(noRouting).rejects.toBeInstanceOf(DispatchError);
    expect(off.backend.writes + none.backend.writes).toBe(0);
    expect(off.broker.published.length + none.broker.published.length).toBe(0);
  });

  it('sends RoutingKeys as they are without routing', async () => {
    // Prepare
    const d = deps();
    const sig = newSignature('a', [], { Priority: 200 });

    // Act
    await dispatch([sig], d);

    // Assess
    expect(d.broker.published[0]?.signature.RoutingKey).toBe('');
  });
});

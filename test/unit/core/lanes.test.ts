import { describe, expect, it } from 'vitest';
import { AdjustableClock } from '../../../src/core/clock.js';
import {
  defineContract,
  implement,
  signatureOf,
  signatureWith,
} from '../../../src/core/contract.js';
import { dispatch } from '../../../src/core/dispatch.js';
import { LaneError, TaskDefinitionError } from '../../../src/core/errors.js';
import {
  checkLane,
  LANE_HEADER,
  laneFor,
  laneOf,
  parseLane,
  withLane,
} from '../../../src/core/lanes.js';
import { MemoryBroker, MemoryResultBackend, MemoryScheduler } from '../../../src/core/memory.js';
import { createRegistry, defineTask } from '../../../src/core/registry.js';
import { DEFAULTS } from '../../../src/core/resources.js';
import { newSignature } from '../../../src/core/signature.js';

const addContract = defineContract({ name: 'add', args: ['int64', 'int64'] });
const resizeContract = defineContract({ name: 'resize', args: ['string'], lane: 'idempotent' });

describe('Function: parseLane', () => {
  it('returns each lane and refuses anything else with LaneError', () => {
    // Act and Assess
    expect(['full', 'lean', 'idempotent'].map(parseLane)).toStrictEqual([
      'full',
      'lean',
      'idempotent',
    ]);
    expect(() => parseLane('cheap')).toThrow(LaneError);
    expect(() => parseLane(undefined)).toThrow(/use one of full, lean, idempotent/);
  });
});

describe('Function: laneOf', () => {
  it('reads the header, and full when it is absent or names no lane', () => {
    // Prepare
    const sig = newSignature('add', []);

    // Act and Assess
    expect(laneOf(sig)).toBe('full');
    expect(laneOf(withLane(sig, 'lean'))).toBe('lean');
    expect(laneOf({ Headers: { [LANE_HEADER]: 'bogus' } })).toBe('full');
  });
});

describe('Function: withLane', () => {
  it('sets the header for lean and idempotent and removes it for full, keeping other headers', () => {
    // Prepare
    const sig = { ...newSignature('add', []), Headers: { traceparent: 't' } };

    // Act
    const lean = withLane(sig, 'lean');
    const full = withLane(lean, 'full');

    // Assess
    expect(lean.Headers).toStrictEqual({ traceparent: 't', [LANE_HEADER]: 'lean' });
    expect(full.Headers).toStrictEqual({ traceparent: 't' });
    expect(sig.Headers).toStrictEqual({ traceparent: 't' });
  });
});

describe('Function: checkLane', () => {
  it('refuses idempotent for a definition that does not declare it', () => {
    // Act and Assess
    expect(() => checkLane('idempotent', addContract)).toThrow(LaneError);
    expect(() => checkLane('idempotent', resizeContract)).not.toThrow();
    expect(() => checkLane('lean', addContract)).not.toThrow();
  });
});

describe('Function: laneFor', () => {
  it('takes the definition default, or the override checked against it', () => {
    // Prepare
    const sig = newSignature('resize', [{ Name: '', Type: 'string', Value: 'a' }]);

    // Act and Assess
    expect(laneOf(laneFor(sig, resizeContract))).toBe('idempotent');
    expect(laneOf(laneFor(sig, resizeContract, 'lean'))).toBe('lean');
    expect(laneOf(laneFor(sig, addContract))).toBe('full');
    expect(() => laneFor(sig, addContract, 'idempotent')).toThrow(LaneError);
  });
});

describe('Function: defineTask', () => {
  it('keeps its lane, full by default, and refuses a lane that names none', () => {
    // Act
    const plain = defineTask({ name: 'a', run: () => 1 });
    const lean = defineTask({ name: 'b', lane: 'lean', run: () => 1 });

    // Assess
    expect(plain.lane).toBe('full');
    expect(lean.lane).toBe('lean');
    expect(() => defineTask({ name: 'c', lane: 'cheap' as never, run: () => 1 })).toThrow(
      TaskDefinitionError,
    );
  });
});

describe('Function: implement', () => {
  it("gives the task its contract's lane, so the worker knows it declared idempotence", () => {
    // Act
    const resize = implement(resizeContract, (_ctx, name) => name);
    const add = implement(addContract, (_ctx, a, b) => a + b);

    // Assess
    expect(resize.lane).toBe('idempotent');
    expect(add.lane).toBe('full');
  });
});

describe('Function: signatureWith', () => {
  it('writes the lane of the contract, an override, and refuses idempotent when undeclared', () => {
    // Act
    const byDefault = signatureOf(resizeContract, 'x');
    const overridden = signatureWith(resizeContract, ['x'], { lane: 'lean' });
    const plain = signatureOf(addContract, 1, 2);

    // Assess
    expect(byDefault.Headers[LANE_HEADER]).toBe('idempotent');
    expect(overridden.Headers[LANE_HEADER]).toBe('lean');
    expect(plain.Headers[LANE_HEADER]).toBeUndefined();
    expect(() => signatureWith(addContract, [1, 2], { lane: 'idempotent' })).toThrow(LaneError);
  });

  it('writes the registered task lane through the registry', () => {
    // Prepare
    const registry = createRegistry([
      defineTask({ name: 'add', args: ['int64'], lane: 'lean', run: (_c, a) => a }),
    ]);

    // Act and Assess
    expect(registry.signature('add', 1).Headers[LANE_HEADER]).toBe('lean');
    expect(() => registry.signatureWith('add', [1], { lane: 'idempotent' })).toThrow(LaneError);
  });
});

describe('Function: dispatch (lanes)', () => {
  it('writes PENDING for the full lane only, and for a body kept by reference in any lane', async () => {
    // Prepare
    const clock = new AdjustableClock();
    const deps = {
      clock,
      backend: new MemoryResultBackend(),
      broker: new MemoryBroker(),
      scheduler: new MemoryScheduler(),
    };
    const full = newSignature('a', []);
    const lean = withLane(newSignature('a', []), 'lean');
    const idem = withLane(newSignature('a', []), 'idempotent');
    const big = 'x'.repeat(DEFAULTS.schedulerMaxInputBytes + 10);
    const far = withLane(
      newSignature('a', [{ Name: '', Type: 'string', Value: big }], {
        ETA: clock.now() + 86_400_000,
      }),
      'lean',
    );

    // Act
    await dispatch([full, lean, idem, far], deps);

    // Assess
    expect(deps.backend.writes).toBe(2);
    expect(deps.backend.peek(full.UUID)?.state).toBe('PENDING');
    expect(deps.backend.peek(lean.UUID)).toBeUndefined();
    expect(deps.backend.peek(idem.UUID)).toBeUndefined();
    expect(deps.backend.peek(far.UUID)?.body).not.toBeNull();
    expect(deps.broker.published).toHaveLength(3);
  });
});

import { describe, expect, it } from 'vitest';
import { PeriodicSpecError, toScheduleExpression } from '../../../src/client/periodic.js';
import {
  encodePeriodicInput,
  encodeReference,
  materializePeriodicFiring,
  parseDelayBody,
  SCHEDULED_TIME_PLACEHOLDER,
} from '../../../src/core/delay-body.js';
import { DelayBodyError, SignatureDecodeError } from '../../../src/core/errors.js';
import { encodeSignature, newSignature } from '../../../src/core/signature.js';
import type { Signature } from '../../../src/core/types.js';

const T = '2030-01-01T03:00:00Z';

function fire(input: string, time = T): string {
  return input.replaceAll(SCHEDULED_TIME_PLACEHOLDER, time);
}

describe('Function: parseDelayBody', () => {
  it('reads a plain signature, 64-bit values exact', () => {
    // Prepare
    const sig = newSignature('add', [{ Type: 'uint64', Value: 18446744073709551615n }]);

    // Act
    const body = parseDelayBody(encodeSignature(sig));

    // Assess
    expect(body.kind).toBe('signature');
    if (body.kind !== 'signature') return;
    expect(body.signature.UUID).toBe(sig.UUID);
    expect(body.signature.Args[0]?.Value).toBe(18446744073709551615n);
  });

  it('reads a reference', () => {
    // Act
    const body = parseDelayBody(encodeReference('task_1'));

    // Assess
    expect(body).toEqual({ kind: 'reference', uuid: 'task_1' });
  });

  it('reads a periodic firing once Scheduler substituted the scheduled time', () => {
    // Prepare
    const template = newSignature('add', [{ Type: 'int64', Value: 1 }]);
    const input = encodePeriodicInput('periodic-every-minute', 'task', [template]);

    // Act
    const body = parseDelayBody(fire(input));

    // Assess
    expect(input).toContain(SCHEDULED_TIME_PLACEHOLDER);
    expect(body).toMatchObject({
      kind: 'periodic',
      schedule: 'periodic-every-minute',
      scheduledTime: '2030-01-01T03:00:00.000Z',
      workflow: 'task',
    });
    if (body.kind === 'periodic') expect(body.templates[0]?.UUID).toBe(template.UUID);
  });

  it.each([
    ['a reference without a UUID', '{"machinery.ref":""}', 'machinery.ref'],
    ['a reference that is not a string', '{"machinery.ref":1}', 'machinery.ref'],
    ['a broken envelope', '{"machinery.ref": ', 'body'],
    ['a periodic envelope that is not an object', '{"machinery.periodic":1}', 'machinery.periodic'],
    [
      'a periodic firing without a schedule',
      '{"machinery.periodic":{"scheduledTime":"2030-01-01T00:00:00Z","signatures":["{}"]}}',
      'schedule',
    ],
    [
      'an unsubstituted placeholder',
      `{"machinery.periodic":{"schedule":"periodic-a","scheduledTime":"${SCHEDULED_TIME_PLACEHOLDER}","signatures":["{}"]}}`,
      'scheduledTime',
    ],
    [
      'an unknown workflow',
      '{"machinery.periodic":{"schedule":"periodic-a","scheduledTime":"2030-01-01T00:00:00Z","workflow":"dag","signatures":["{}"]}}',
      'workflow',
    ],
    [
      'no signatures',
      '{"machinery.periodic":{"schedule":"periodic-a","scheduledTime":"2030-01-01T00:00:00Z","signatures":[]}}',
      'signatures',
    ],
    [
      'a template that is not a string',
      '{"machinery.periodic":{"schedule":"periodic-a","scheduledTime":"2030-01-01T00:00:00Z","signatures":[{}]}}',
      'signatures[0]',
    ],
  ])('refuses %s naming the field', (_what, body, field) => {
    // Act
    let error: unknown;
    try {
      parseDelayBody(body);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(DelayBodyError);
    expect((error as DelayBodyError).field).toBe(field);
  });

  it.each(['not json', '[]', '{"Name": 5}'])('refuses the bad signature %j', (body) => {
    // Act
    const act = () => parseDelayBody(body);

    // Assess
    expect(act).toThrow(SignatureDecodeError);
  });
});

describe('Function: materializePeriodicFiring', () => {
  it('gives each firing fresh, stable ids and clears the ETA', () => {
    // Prepare
    const template = newSignature('add', [], { ETA: '2000-01-01T00:00:00Z' });

    // Act
    const [a] = materializePeriodicFiring([template], 'periodic-x', T);
    const [again] = materializePeriodicFiring([template], 'periodic-x', T);
    const [next] = materializePeriodicFiring([template], 'periodic-x', '2030-01-01T03:01:00Z');

    // Assess
    expect(a?.UUID).not.toBe(template.UUID);
    expect(a?.UUID).toMatch(/^task_/);
    expect(again?.UUID).toBe(a?.UUID);
    expect(next?.UUID).not.toBe(a?.UUID);
    expect(a?.ETA).toBeNull();
    expect(template.ETA).not.toBeNull(); // the template is not mutated
  });

  it('maps a chord consistently: one group id, one shared callback id, nested links too', () => {
    // Prepare
    const callback = newSignature('sum', [], {
      UUID: 'chord_00000000-0000-4000-8000-000000000000',
    });
    const onSuccess = newSignature('notify');
    const members: Signature[] = ['a', 'b'].map((n) =>
      newSignature(n, [], {
        GroupUUID: 'group_00000000-0000-4000-8000-000000000001',
        GroupTaskCount: 2,
        ChordCallback: { ...callback, OnSuccess: [onSuccess] },
      }),
    );

    // Act
    const fired = materializePeriodicFiring(members, 'periodic-chord', T);

    // Assess
    const [m0, m1] = fired as [Signature, Signature];
    expect(m0.GroupUUID).toMatch(/^group_/);
    expect(m0.GroupUUID).not.toBe(members[0]?.GroupUUID);
    expect(m1.GroupUUID).toBe(m0.GroupUUID);
    expect(m0.ChordCallback?.UUID).toMatch(/^chord_/);
    expect(m1.ChordCallback?.UUID).toBe(m0.ChordCallback?.UUID);
    expect(m0.ChordCallback?.OnSuccess?.[0]?.UUID).not.toBe(onSuccess.UUID);
    expect(new Set([m0.UUID, m1.UUID, m0.ChordCallback?.UUID]).size).toBe(3);
  });

  it('keeps templates without a UUID distinct', () => {
    // Prepare
    const a = { ...newSignature('a'), UUID: '' };
    const b = { ...newSignature('b'), UUID: '' };

    // Act
    const [x, y] = materializePeriodicFiring([a, b], 'periodic-x', T);

    // Assess
    expect(x?.UUID).not.toBe(y?.UUID);
  });
});

describe('Function: toScheduleExpression', () => {
  it.each([
    ['rate(1 minute)', 'rate(1 minute)'],
    ['cron(0 3 * * ? *)', 'cron(0 3 * * ? *)'],
    ['*/5 * * * *', 'cron(*/5 * * * ? *)'],
    ['0 9 * * 1-5', 'cron(0 9 ? * 2-6 *)'],
    ['0 9 * * 0,6', 'cron(0 9 ? * 1,7 *)'],
    ['0 9 * * 7', 'cron(0 9 ? * 1 *)'],
    ['0 9 * * MON', 'cron(0 9 ? * MON *)'],
    ['30 2 1 * *', 'cron(30 2 1 * ? *)'],
  ])('translates %s to %s', (spec, expected) => {
    // Act
    const expression = toScheduleExpression(spec);

    // Assess
    expect(expression).toBe(expected);
  });

  it.each(['* * * *', '0 0 1 * 1', '0 0 * * 8', 'hourly'])('refuses %s', (spec) => {
    // Act
    const act = () => toScheduleExpression(spec);

    // Assess
    expect(act).toThrow(PeriodicSpecError);
  });
});

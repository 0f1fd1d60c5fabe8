/**
 * Periodic tasks: a recurring schedule on the local Scheduler emulator fires on the advanced
 * clock; each firing gets its own UUID derived from the scheduled time (so a firing delivered
 * twice runs once); deleting the periodic task stops it.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deletePeriodicTask,
  listPeriodicTasks,
  registerPeriodicChain,
  registerPeriodicGroup,
  registerPeriodicTask,
} from '../../src/client/periodic.js';
import { periodicFiringUUID } from '../../src/core/delay-body.js';
import { defineTask } from '../../src/core/registry.js';
import { PERIODIC_PREFIX } from '../../src/core/schedule-names.js';
import { newSignature } from '../../src/core/signature.js';
import { type DelayHarness, eventually, sleep, startDelayHarness } from './delay-harness.js';

/** Every run: the task UUID and its arg. */
const runs: { uuid: string; label: string; group?: string }[] = [];

const tick = defineTask({
  name: 'tick',
  args: ['string'],
  run: (ctx, label) => {
    runs.push({ uuid: ctx.uuid, label });
    return label;
  },
});

/** Joins its args: a chain link gets the previous link's result appended. */
const echo = defineTask({
  name: 'echo',
  rest: 'string',
  run: (ctx, ...parts) => {
    const label = parts.join('+');
    runs.push({ uuid: ctx.uuid, label, group: ctx.signature.GroupUUID });
    return label;
  },
});

const runsOf = (label: string) => runs.filter((r) => r.label === label);

describe('Periodic tasks', () => {
  let h: DelayHarness;

  beforeAll(async () => {
    h = await startDelayHarness({ label: 'dper', tasks: [tick, echo] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('fires a task every minute on the advanced clock with distinct UUIDs, and stops once deleted', async () => {
    // Prepare
    const template = newSignature('tick', [{ Type: 'string', Value: 'every-minute' }]);
    await registerPeriodicTask(h.scheduler, '*/1 * * * *', 'every-minute', template);
    const listed = await listPeriodicTasks(h.scheduler);
    const emulator = h.stack.scheduler;
    if (emulator === undefined) throw new Error('no private Scheduler emulator');
    const firings = () =>
      emulator.deliveries.filter((d) => d.scheduleName === `${PERIODIC_PREFIX}every-minute`);

    // Act
    h.clock.advance(60_000);
    await eventually(() => runsOf('every-minute').length >= 1, 30_000, 'first firing runs');
    h.clock.advance(60_000);
    await eventually(() => runsOf('every-minute').length >= 2, 30_000, 'second firing runs');
    const deleted = await deletePeriodicTask(h.scheduler, 'every-minute');
    const firedBeforeDelete = firings().length;
    const ranBeforeDelete = runsOf('every-minute').length;
    h.clock.advance(3 * 60_000);
    await sleep(3_000); // the runners keep polling: a firing would surface meanwhile

    // Assess
    expect(listed.map((p) => [p.name, p.expression])).toEqual([
      ['every-minute', 'cron(*/1 * * * ? *)'],
    ]);
    const uuids = runsOf('every-minute').map((r) => r.uuid);
    expect(new Set(uuids).size).toBe(uuids.length);
    expect(uuids).not.toContain(template.UUID);
    const expected = firings().map((d) =>
      periodicFiringUUID(
        `${PERIODIC_PREFIX}every-minute`,
        new Date(d.scheduledTime).toISOString(),
        template.UUID,
      ),
    );
    expect(expected).toEqual(expect.arrayContaining(uuids));
    for (const uuid of uuids) {
      expect((await h.client.getState(uuid))?.state).toBe('SUCCESS');
    }
    expect(deleted).toBe(true);
    expect(firings().length).toBe(firedBeforeDelete);
    expect(runsOf('every-minute').length).toBe(ranBeforeDelete);
    expect(await listPeriodicTasks(h.scheduler)).toEqual([]);
  });

  it('runs a firing delivered twice (a Scheduler retry) once', async () => {
    // Prepare
    const template = newSignature('tick', [{ Type: 'string', Value: 'twice' }]);
    await registerPeriodicTask(h.scheduler, 'rate(1 minute)', 'twice', template);
    const emulator = h.stack.scheduler;
    if (emulator === undefined) throw new Error('no private Scheduler emulator');
    const since = emulator.deliveries.length;
    h.clock.advance(60_000);
    const delivery = await emulator.waitForDelivery(
      (d) =>
        d.scheduleName === `${PERIODIC_PREFIX}twice` && emulator.deliveries.indexOf(d) >= since,
    );
    await deletePeriodicTask(h.scheduler, 'twice');
    await eventually(() => runsOf('twice').length >= 1, 30_000, 'the firing runs');
    const uuid = runsOf('twice')[0]?.uuid as string;

    // Act: Scheduler delivers the same firing again
    await h.stack.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: h.stack.queueUrls.delay, MessageBody: delivery.body }),
    );
    await eventually(
      () => h.forwarded.filter((f) => f.kind === 'fired' && f.uuids.includes(uuid)).length >= 2,
      30_000,
      'the forwarder handles the second delivery',
    );
    await sleep(2_000);

    // Assess
    expect(runsOf('twice').map((r) => r.uuid)).toEqual([uuid]);
    expect((await h.client.getState(uuid))?.state).toBe('SUCCESS');
  });

  it('fires a periodic chain: each link runs with the previous result appended', async () => {
    // Prepare
    const first = newSignature('echo', [{ Type: 'string', Value: 'chain-a' }]);
    const second = newSignature('echo', [{ Type: 'string', Value: 'chain-b' }]);
    await registerPeriodicChain(h.scheduler, 'rate(1 minute)', 'chain', first, second);

    // Act
    h.clock.advance(60_000);
    await eventually(() => runsOf('chain-b+chain-a').length >= 1, 30_000, 'the chain completes');
    await deletePeriodicTask(h.scheduler, 'chain');

    // Assess
    const [a] = runsOf('chain-a');
    const [b] = runsOf('chain-b+chain-a');
    expect(a?.uuid).not.toBe(first.UUID);
    expect(b?.uuid).not.toBe(second.UUID);
    expect(b?.uuid).not.toBe(a?.uuid);
  });

  it('fires a periodic group: every member runs, sharing a fresh group UUID per firing', async () => {
    // Prepare
    const members = ['group-x', 'group-y'].map((v) =>
      newSignature('echo', [{ Type: 'string', Value: v }]),
    );
    const spec = await registerPeriodicGroup(h.scheduler, 'rate(1 minute)', 'group', members);

    // Act
    h.clock.advance(60_000);
    await eventually(
      () => runsOf('group-x').length >= 1 && runsOf('group-y').length >= 1,
      30_000,
      'both members run',
    );
    await deletePeriodicTask(h.scheduler, 'group');

    // Assess
    const [x] = runsOf('group-x');
    const [y] = runsOf('group-y');
    expect(x?.group).toMatch(/^group_/);
    expect(y?.group).toBe(x?.group);
    expect(x?.group).not.toBe(spec.members?.[0]?.GroupUUID);
  });
});

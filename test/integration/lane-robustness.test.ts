/**
 * The lean and idempotent lanes under the load test's faults (docs/design.md §4 "Lanes"): 1,000
 * tasks with 5 % of their messages sent twice (same body and group, a new deduplication id, so SQS
 * delivers both), run by a `machinery worker` subprocess that is SIGKILLed mid-run, then by a
 * second one. Each worker process notes its starts and ends in its own file.
 *
 * @module
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { type Lane, withLane } from '../../src/core/lanes.js';
import { newSignature } from '../../src/core/signature.js';
import type { Signature } from '../../src/core/types.js';
import { queueDepth, sendDuplicates, waitFor } from './aws-helpers.js';
import { type CliRun, startMachinery } from './support/cli.js';
import { getTestStack, type TestStack } from './support/stack.js';

const TASKS = 1_000;
const DUPLICATE_EVERY = 20; // 5 %
const TASKS_MODULE = resolve(import.meta.dirname, 'support/lane-tasks.ts');

let stack: TestStack | undefined;
let client: MachineryClient | undefined;
const workers: CliRun[] = [];

afterEach(async () => {
  for (const w of workers.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.done.catch(() => {});
  }
  client?.close();
  client = undefined;
  await stack?.stop();
  stack = undefined;
});

/** Starts and ends noted in one worker's file: the attempt numbers of each task UUID. */
function notes(file: string): { starts: Map<string, number[]>; ends: Map<string, number[]> } {
  const starts = new Map<string, number[]>();
  const ends = new Map<string, number[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [kind, uuid, attempt] = line.split(' ');
    if (uuid === undefined) continue;
    const m = kind === 'start' ? starts : ends;
    m.set(uuid, [...(m.get(uuid) ?? []), Number(attempt)]);
  }
  return { starts, ends };
}

function runsFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lane-runs-')), 'runs.txt');
  writeFileSync(file, '');
  return file;
}

function startWorker(s: TestStack, file: string): CliRun {
  const run = startMachinery(
    [
      'worker',
      '--tasks',
      TASKS_MODULE,
      '--concurrency',
      '8',
      '--heartbeat',
      '1',
      '--visibility-timeout',
      '3',
      '--lease',
      '4',
      '--wait',
      '1',
    ],
    { env: { ...s.env, POLLER_RUNS_FILE: file } },
  );
  workers.push(run);
  return run;
}

/** Sends 1,000 tasks in `lane` and 5 % of them again; runs them through a killed and a fresh worker. */
async function runUnderFaults(lane: Lane) {
  stack = await getTestStack({ label: `lane-${lane}` });
  const s = stack;
  client = createClient({ env: s.env, aws: { sqs: s.clients.sqs, dynamodb: s.clients.dynamodb } });
  const sigs: Signature[] = Array.from({ length: TASKS }, (_, i) =>
    newSignature('lane_nap', [{ Name: '', Type: 'int64', Value: 20 + (i % 40) }]),
  );
  await client.sendTasks(sigs, { lane });
  const dupes = sigs.filter((_, i) => i % DUPLICATE_EVERY === 0).map((sig) => withLane(sig, lane));
  await sendDuplicates(s.clients.sqs, s.queueUrls.tasks, dupes);
  const killedFile = runsFile();
  const killed = startWorker(s, killedFile);
  await waitFor(async () => notes(killedFile).starts.size >= TASKS / 4 || undefined, {
    timeoutMs: 180_000,
    intervalMs: 50,
    describe: killed.stderr,
  });
  killed.child.kill('SIGKILL');
  await killed.done;
  const freshFile = runsFile();
  const fresh = startWorker(s, freshFile);
  const c = client;
  const states = await waitFor(
    async () => {
      const all = await Promise.all(sigs.map((sig) => c.getState(sig.UUID)));
      return all.every((r) => r?.state === 'SUCCESS') ? all : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 1_000, describe: fresh.stderr },
  );
  fresh.child.kill('SIGTERM');
  await fresh.done;
  return {
    sigs,
    states,
    killed: notes(killedFile),
    fresh: notes(freshFile),
    dlq: await queueDepth(s.clients.sqs, s.queueUrls.tasksDlq),
  };
}

describe('Lanes under duplicates and a SIGKILLed worker', () => {
  it('keeps exactly-once state in the lean lane: none lost, none run twice but those killed mid-run', async () => {
    // Act
    const r = await runUnderFaults('lean');

    // Assess
    expect(r.states.map((st) => st?.results?.[0]?.Value)).toEqual(
      r.sigs.map((_, i) => 20 + (i % 40)),
    );
    // An attempt killed mid-run (its result never stored: run, or run to its end before the
    // SUCCESS write) ran in the killed worker only; the recorded attempt ran to its end once; no
    // attempt number ran twice.
    let killedMidRun = 0;
    for (const [i, { UUID }] of r.sigs.entries()) {
      const recorded = r.states[i]?.attempt;
      const killedStarts = r.killed.starts.get(UUID) ?? [];
      const freshStarts = r.fresh.starts.get(UUID) ?? [];
      const starts = [...killedStarts, ...freshStarts];
      const ends = [...(r.killed.ends.get(UUID) ?? []), ...(r.fresh.ends.get(UUID) ?? [])];
      const lost = killedStarts.filter((a) => a !== recorded);
      killedMidRun += lost.length;
      expect({ UUID, recordedEnds: ends.filter((a) => a === recorded).length }).toEqual({
        UUID,
        recordedEnds: 1,
      });
      expect({ UUID, unique: new Set(starts).size === starts.length }).toEqual({
        UUID,
        unique: true,
      });
      expect({ UUID, freshLost: freshStarts.filter((a) => a !== recorded) }).toEqual({
        UUID,
        freshLost: [],
      });
    }
    expect(killedMidRun).toBeGreaterThan(0);
    expect(r.dlq).toBe(0);
  }, 600_000);

  it('loses no task in the idempotent lane and never overwrites a final state', async () => {
    // Act
    const r = await runUnderFaults('idempotent');

    // Assess: every task SUCCESS with its own result, each ran to its end at least once
    expect(r.states.map((st) => st?.results?.[0]?.Value)).toEqual(
      r.sigs.map((_, i) => 20 + (i % 40)),
    );
    for (const { UUID } of r.sigs) {
      const ends = (r.killed.ends.get(UUID) ?? []).length + (r.fresh.ends.get(UUID) ?? []).length;
      expect({ UUID, ran: ends >= 1 }).toEqual({ UUID, ran: true });
    }
    // One settle write landed per task: the attempt counter moved once (the runs that lost their
    // write, duplicates or the killed worker's, left it alone)
    expect(r.states.every((st) => st?.attempt === 1)).toBe(true);
    expect(r.dlq).toBe(0);
  }, 600_000);
});

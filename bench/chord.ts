/**
 * Chord benchmark: what completing a chord costs in DynamoDB, per member, as the chord grows, and
 * whether any one item gets hot.
 *
 * - **10, 100, 1,000 and 10,000 members, end to end**: a chord of `bench_member` tasks (each
 *   returns its index) into a `bench_collect` callback, sent with `client.sendChord`, run by the
 *   worker through the local event-source runner. Counted: every DynamoDB request of the producer
 *   and the worker (reads, writes, WRU, RRU as DynamoDB Local reports them), per member; writes
 *   per item key (task items and `group_metas` items); the time from the first send to the
 *   callback's SUCCESS. The callback is checked to run once with every result in group order.
 * - **100,000 members, the completion protocol alone**: the group record written by `initGroup`,
 *   then every member's completion step (the worker extension's own code path, after a member's
 *   SUCCESS) driven directly against DynamoDB Local at high concurrency, until the callback is
 *   triggered once. Counted the same way; the completion time is from the first completion step to
 *   the trigger. Member tasks, their messages and the callback's run are not part of this run.
 *
 * Exits 1 when the writes per member at 10,000 members exceed those at 10, or when one item takes
 * more than {@link HOT_ITEM_LIMIT} of the 10,000-member chord's writes.
 *
 * Run: `npx tsx bench/chord.ts`. Writes `bench/results/chord.json`.
 *
 * @module
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbDocumentClient } from '../src/aws/config.js';
import { DynamoDbResultBackend } from '../src/aws/dynamodb-backend.js';
import { DynamoDbGroupBackend } from '../src/aws/group-backend.js';
import { ChordExtension } from '../src/core/chords.js';
import { systemClock } from '../src/core/clock.js';
import { forEachConcurrently } from '../src/core/concurrency.js';
import { taskExpiresAt } from '../src/core/lifetime.js';
import { MemoryResultBackend } from '../src/core/memory.js';
import { defineTask } from '../src/core/registry.js';
import { newSignature } from '../src/core/signature.js';
import type { Signature } from '../src/core/types.js';
import { CHORD_RESULTS_HEADER, GROUP_LIMITS, newChord, newGroup } from '../src/core/workflow.js';
import { queueDepth } from '../test/integration/aws-helpers.js';
import {
  countItemWrites,
  type HotItem,
  ItemWriteLog,
} from '../test/integration/support/item-writes.js';
import {
  type BenchSystem,
  dynamodbReads,
  dynamodbWrites,
  instrument,
  machineInfo,
  printTable,
  type RequestCounts,
  RequestLog,
  type Role,
  round,
  sumCounts,
  waitFor,
  withSystem,
  writeResults,
} from './lib.js';

/** A chord of 10,000 members fails the bench when one item takes more writes than this. */
export const HOT_ITEM_LIMIT = 300;

// ---------------------------------------------------------------------------------------------
// The runs

/** Chord sizes run end to end (`BENCH_CHORD_SIZES`, comma-separated, for a quick run). */
const SIZES = sizesFrom(process.env.BENCH_CHORD_SIZES) ?? [10, 100, 1_000, 10_000];
/** Size of the completion-protocol run (`BENCH_CHORD_PROTOCOL` for a quick run). */
const PROTOCOL_MEMBERS = Number(process.env.BENCH_CHORD_PROTOCOL ?? 100_000);
/** Member completions in flight at once in the protocol run. */
const PROTOCOL_CONCURRENCY = 64;
/** Worker invocations at once in the end-to-end runs. */
const WORKER_CONCURRENCY = 8;

/** A member: returns its index. */
const member = defineTask({ name: 'bench_member', args: ['int64'], run: (_ctx, i) => i });

/** What the callbacks saw. */
const seen = { runs: 0, results: 0, inOrder: true, byReference: false };

/** The callback: counts its runs and checks it got every result, in group order. */
const collect = defineTask({
  name: 'bench_collect',
  rest: 'int64',
  run: async (ctx, ...appended) => {
    let next = 0;
    const check = (v: number) => {
      if (v !== next) seen.inOrder = false;
      next++;
    };
    for (const v of appended) check(v);
    if (ctx.chordResults !== undefined) {
      for await (const results of ctx.chordResults())
        for (const r of results) check(Number(r.Value));
    }
    seen.runs++;
    seen.results = next;
    seen.byReference = ctx.chordResults !== undefined;
    return next;
  },
});

/** DynamoDB figures of a run: totals and per member. */
interface DynamoFigures {
  /** Write requests (conditional ones refused included: billed), all tables. */
  writes: number;
  /** Write requests to `task_states` (members, callback, chord deadline). */
  taskStatesWrites: number;
  /** Write requests to `group_metas` (root, member pages, tree nodes). */
  groupMetasWrites: number;
  /** Read requests (`GetItem`, `BatchGetItem`, `Query`). */
  reads: number;
  /** Write units consumed, as DynamoDB Local reports them (+1 per refused conditional write). */
  wru: number;
  /** Read units consumed, as reported. */
  rru: number;
  conditionalFailures: number;
}

function figures(counts: RequestCounts, items: ItemWriteLog): DynamoFigures {
  return {
    writes: dynamodbWrites(counts),
    taskStatesWrites: items.totalOf('task'),
    groupMetasWrites: items.total - items.totalOf('task') - items.totalOf('other'),
    reads: dynamodbReads(counts),
    wru: counts.wru,
    rru: counts.rru,
    conditionalFailures: counts.conditionalFailures,
  };
}

function perMember(f: DynamoFigures, members: number): DynamoFigures {
  const per = (x: number) => round(x / members, 4);
  return {
    writes: per(f.writes),
    taskStatesWrites: per(f.taskStatesWrites),
    groupMetasWrites: per(f.groupMetasWrites),
    reads: per(f.reads),
    wru: per(f.wru),
    rru: per(f.rru),
    conditionalFailures: per(f.conditionalFailures),
  };
}

/** One end-to-end chord. */
interface ChordRun {
  members: number;
  /** First send to the callback's SUCCESS, ms. */
  completionMs: number;
  callbackRuns: number;
  callbackResults: number;
  resultsInOrder: boolean;
  resultsByReference: boolean;
  total: DynamoFigures;
  perMember: DynamoFigures;
  /** The item that took the most write requests (a member's task item, or a group record). */
  hottestItem: HotItem | undefined;
  /** The `group_metas` item that took the most write requests. */
  hottestGroupItem: HotItem | undefined;
  /** Every counted request by role (producer, worker, pollers), DynamoDB and SQS. */
  requests: Record<Role, RequestCounts>;
}

/** The state of task `uuid`, read with the uncounted client. */
async function stateOf(sys: BenchSystem, uuid: string): Promise<string | undefined> {
  const backend = new DynamoDbResultBackend({
    dynamodb: sys.raw.doc,
    tableName: sys.stack.names.tables.taskStates,
  });
  return (await backend.get(uuid, { now: Date.now() }))?.state;
}

async function runChord(sys: BenchSystem, items: ItemWriteLog, size: number): Promise<ChordRun> {
  const members = Array.from({ length: size }, (_, i) =>
    newSignature(member.name, [{ Name: '', Type: 'int64', Value: i }]),
  );
  Object.assign(seen, { runs: 0, results: 0, inOrder: true, byReference: false });
  sys.reset();
  items.reset();
  const started = performance.now();
  const chord = await sys.client.sendChord(members, newSignature(collect.name, []));
  // Waited for with the uncounted client: a handle's get() would add the producer's polling reads.
  await waitFor(
    async () => (await stateOf(sys, chord.callbackUUID)) === 'SUCCESS',
    `the callback of the ${size}-member chord`,
    600_000,
    100,
  );
  const completionMs = performance.now() - started;
  await waitFor(
    async () => (await queueDepth(sys.raw.sqs, sys.stack.queueUrls.tasks)) === 0,
    'the task queue to drain',
    120_000,
    100,
  );
  const requests = sys.snapshot();
  const total = figures(sumCounts([requests.producer, requests.worker]), items);
  return {
    members: size,
    completionMs: round(completionMs, 0),
    callbackRuns: seen.runs,
    callbackResults: seen.results,
    resultsInOrder: seen.inOrder,
    resultsByReference: seen.byReference,
    total,
    perMember: perMember(total, size),
    hottestItem: items.hottest(),
    hottestGroupItem: items.hottest(['root', 'node', 'page', 'bucket', 'counter']),
    requests,
  };
}

/** The completion protocol alone, at high concurrency. */
interface ProtocolRun {
  members: number;
  /** Member completion steps in flight at once. */
  concurrency: number;
  /** `initGroup` (the root and the member pages, as a producer writes them), ms. */
  initMs: number;
  /** From the first member's completion step to the callback's dispatch, ms. */
  completionMs: number;
  completionsPerSecond: number;
  /** Times the callback was dispatched (exactly once expected). */
  callbackDispatches: number;
  /** The callback's results go by reference (too large to append). */
  callbackByReference: boolean;
  /** `initGroup`'s requests. */
  init: DynamoFigures;
  /** The completion steps' requests (tree walks, the trigger, the reads that decide inline or by reference). */
  completion: DynamoFigures;
  /** `init` + `completion`, per member. */
  perMember: DynamoFigures;
  hottestItem: HotItem | undefined;
}

/**
 * `initGroup`, then every member's completion step (`ChordExtension.memberSucceeded`, what the
 * worker runs after a member's SUCCESS write) in a shuffled order, `concurrency` at once, against
 * `group_metas` on DynamoDB Local. Members' results come from an in-memory result backend (their
 * task items are not part of this run) and the callback goes to a recording dispatcher.
 */
async function runProtocol(
  sys: BenchSystem,
  size: number,
  concurrency: number,
): Promise<ProtocolRun> {
  const log = new RequestLog();
  const items = new ItemWriteLog();
  const ddb = new DynamoDBClient({
    region: sys.stack.region,
    credentials: sys.stack.credentials,
    endpoint: sys.stack.endpoints.dynamodb,
  });
  instrument(ddb, log, 'dynamodb');
  countItemWrites(ddb, items);
  try {
    const groups = new DynamoDbGroupBackend({
      dynamodb: createDynamoDbDocumentClient({ dynamodb: ddb }),
      tableName: sys.stack.names.tables.groupMetas,
    });
    const chord = newChord(
      newGroup(
        ...Array.from({ length: size }, (_, i) =>
          newSignature(member.name, [{ Name: '', Type: 'int64', Value: i }]),
        ),
      ),
      newSignature(collect.name, []),
    );
    const now = Date.now();
    const expiresAt = taskExpiresAt({ now, eta: null });
    const results = new MemoryResultBackend();
    for (const [i, m] of chord.group.tasks.entries()) {
      await results.claim(m, { now, leaseUntil: now + 60_000, expiresAt, maxCrashes: 3 });
      await results.markSuccess(m.UUID, 1, [{ Type: 'int64', Value: i }], { now, expiresAt });
    }
    const dispatched: Signature[] = [];
    let triggeredAt: number | undefined;
    const extension = new ChordExtension({
      groups,
      results,
      dispatch: async (sigs) => {
        triggeredAt ??= performance.now();
        dispatched.push(...sigs);
      },
      clock: systemClock,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });

    const initStarted = performance.now();
    await groups.initGroup(
      {
        groupUUID: chord.group.groupUUID,
        kind: 'chord',
        members: chord.group.tasks.map((t) => t.UUID),
        callbackUUID: chord.callback.UUID,
        deadline: now + 14 * 86_400_000,
      },
      { now, expiresAt },
    );
    const initMs = performance.now() - initStarted;
    const init = figures(log.snapshot(), items);
    log.reset();
    items.reset();

    // Completion in a shuffled order (members of a real chord finish in any order).
    const order = chord.group.tasks.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const started = performance.now();
    await forEachConcurrently(order, concurrency, async (i) => {
      const m = chord.group.tasks[i] as Signature;
      await extension.memberSucceeded(m, [{ Type: 'int64', Value: i }]);
    });
    const completionMs = (triggeredAt ?? performance.now()) - started;
    const completion = figures(log.snapshot(), items);
    const sum = (a: DynamoFigures, b: DynamoFigures): DynamoFigures => ({
      writes: a.writes + b.writes,
      taskStatesWrites: a.taskStatesWrites + b.taskStatesWrites,
      groupMetasWrites: a.groupMetasWrites + b.groupMetasWrites,
      reads: a.reads + b.reads,
      wru: round(a.wru + b.wru, 3),
      rru: round(a.rru + b.rru, 3),
      conditionalFailures: a.conditionalFailures + b.conditionalFailures,
    });
    return {
      members: size,
      concurrency,
      initMs: round(initMs, 0),
      completionMs: round(completionMs, 0),
      completionsPerSecond: round((size * 1000) / completionMs, 0),
      callbackDispatches: dispatched.length,
      callbackByReference: dispatched[0]?.Headers[CHORD_RESULTS_HEADER] !== undefined,
      init,
      completion,
      perMember: perMember(sum(init, completion), size),
      hottestItem: items.hottest(),
    };
  } finally {
    ddb.destroy();
  }
}

/** `'10,100'` → `[10, 100]`; `undefined` when unset. */
function sizesFrom(text: string | undefined): number[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const sizes = text.split(',').map((x) => Number(x.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new RangeError(`BENCH_CHORD_SIZES: positive integers separated by commas, got ${text}`);
  }
  return sizes;
}

/**
 * Why the bench fails, if it does: writes per member of the largest chord above the smallest's
 * (10,000 and 10 members by default), one item taking more than {@link HOT_ITEM_LIMIT} of the
 * largest chord's writes, or a callback not run exactly once with every result in order.
 */
function verdict(runs: readonly ChordRun[]): string[] {
  const bySize = [...runs].sort((a, b) => a.members - b.members);
  const smallest = bySize[0];
  const largest = bySize[bySize.length - 1];
  const problems: string[] = [];
  if (smallest === undefined || largest === undefined) return ['no chord ran'];
  if (largest.perMember.writes > smallest.perMember.writes) {
    problems.push(
      `writes per member grow with the chord: ${largest.perMember.writes} at ${largest.members} members > ${smallest.perMember.writes} at ${smallest.members}`,
    );
  }
  const hot = largest.hottestItem;
  if (hot !== undefined && hot.writes > HOT_ITEM_LIMIT) {
    problems.push(
      `item ${hot.key} took ${hot.writes} of the ${largest.members}-member chord's writes (limit ${HOT_ITEM_LIMIT})`,
    );
  }
  for (const r of runs) {
    if (r.callbackRuns !== 1 || r.callbackResults !== r.members || !r.resultsInOrder) {
      problems.push(
        `the ${r.members}-member chord's callback ran ${r.callbackRuns} time(s) with ${r.callbackResults} results${r.resultsInOrder ? '' : ' out of order'}`,
      );
    }
  }
  return problems;
}

const hotText = (h: HotItem | undefined) => (h === undefined ? '-' : `${h.writes} (${h.kind})`);

/** One line of the printed table. */
function tableRow(
  label: string,
  per: DynamoFigures,
  hottest: HotItem | undefined,
  hottestGroup: HotItem | undefined,
  callback: { times: number; byReference: boolean; ms: number },
): string[] {
  return [
    label,
    String(per.writes),
    String(per.groupMetasWrites),
    String(per.reads),
    String(per.wru),
    String(per.rru),
    hotText(hottest),
    hotText(hottestGroup),
    `${callback.times}× ${callback.byReference ? 'by ref' : 'inline'}`,
    String(callback.ms),
  ];
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const items = new ItemWriteLog();
  const { runs, protocol } = await withSystem(
    {
      tasks: [member, collect],
      workerConcurrency: WORKER_CONCURRENCY,
      onDynamodbClient: (role, client) => {
        if (role === 'producer' || role === 'worker') countItemWrites(client, items);
      },
    },
    async (sys) => {
      const runs: ChordRun[] = [];
      for (const size of SIZES) {
        const run = await runChord(sys, items, size);
        console.log(
          `${size} members: ${run.completionMs} ms, ${run.perMember.writes} writes/member, hottest item ${hotText(run.hottestItem)}`,
        );
        runs.push(run);
      }
      const protocol = await runProtocol(sys, PROTOCOL_MEMBERS, PROTOCOL_CONCURRENCY);
      console.log(
        `${PROTOCOL_MEMBERS} members (completion protocol): ${protocol.completionMs} ms, ${protocol.completionsPerSecond} completions/s`,
      );
      return { runs, protocol };
    },
  );

  console.log();
  printTable(
    [
      'members',
      'writes/m',
      'group writes/m',
      'reads/m',
      'WRU/m',
      'RRU/m',
      'hottest item',
      'hottest group item',
      'callback',
      'ms',
    ],
    [
      ...runs.map((r) =>
        tableRow(
          r.members.toLocaleString('en-US'),
          r.perMember,
          r.hottestItem,
          r.hottestGroupItem,
          {
            times: r.callbackRuns,
            byReference: r.resultsByReference,
            ms: r.completionMs,
          },
        ),
      ),
      tableRow(
        `${protocol.members.toLocaleString('en-US')} (protocol)`,
        protocol.perMember,
        protocol.hottestItem,
        protocol.hottestItem,
        {
          times: protocol.callbackDispatches,
          byReference: protocol.callbackByReference,
          ms: protocol.completionMs,
        },
      ),
    ],
  );
  const problems = verdict(runs);
  if (protocol.callbackDispatches !== 1) {
    problems.push(
      `the ${PROTOCOL_MEMBERS}-member protocol run dispatched the callback ${protocol.callbackDispatches} times`,
    );
  }
  const file = writeResults(
    'chord',
    machine,
    {
      sizes: SIZES,
      workerConcurrency: WORKER_CONCURRENCY,
      protocolMembers: PROTOCOL_MEMBERS,
      protocolConcurrency: PROTOCOL_CONCURRENCY,
      branching: GROUP_LIMITS.branching,
      hotItemLimit: HOT_ITEM_LIMIT,
    },
    {
      meaning: MEANING,
      chords: runs,
      protocol,
      ok: problems.length === 0,
      problems,
    },
  );
  console.log(`\nwrote ${file}`);
  if (problems.length > 0) {
    for (const p of problems) console.error(`FAIL: ${p}`);
    process.exitCode = 1;
  }
}

/** What each number of `bench/results/chord.json` means (written into it). */
const MEANING = {
  chords:
    'End to end on the local stack: client.sendChord (group record, member sends, the chord deadline schedule), the worker through the local event-source runner (member claims and SUCCESS writes, the completion tree, the trigger, the callback send and run). DynamoDB requests of the producer and the worker, counted by SDK middleware below the retry layer; the callback is waited for with an uncounted client.',
  writes:
    'DynamoDB write requests (PutItem, UpdateItem, DeleteItem, TransactWriteItems, BatchWriteItem), refused conditional writes included (billed).',
  taskStatesWrites:
    'Write requests to task_states items: members, the callback, the chord deadline task.',
  groupMetasWrites:
    'Write requests to group_metas items: the root, member pages, completion-tree nodes.',
  reads: 'DynamoDB read requests (GetItem, BatchGetItem, Query).',
  wru: 'Write units as DynamoDB Local reports them (ReturnConsumedCapacity TOTAL), +1 per refused conditional write.',
  rru: 'Read units as reported.',
  perMember: 'The totals divided by the number of members.',
  hottestItem:
    'The item (any table) that took the most write requests in the run, and the most it took within one wall-clock second.',
  hottestGroupItem: 'The same among group_metas items.',
  completionMs:
    'Chords: first send to the callback SUCCESS. Protocol: first member completion step to the callback dispatch.',
  protocol:
    'The completion protocol alone at 100,000 members: initGroup, then ChordExtension.memberSucceeded (what the worker runs after a member SUCCESS write) for every member in a shuffled order, `concurrency` at once, against group_metas on DynamoDB Local. Member results come from an in-memory result backend; member task items, SQS and the callback run are not part of it (the callback goes to a recording dispatcher). hottestItem covers the completion steps (initGroup writes each of its items once).',
} as const;

await main();

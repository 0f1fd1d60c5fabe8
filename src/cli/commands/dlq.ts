/**
 * `machinery dlq list|show|redrive|redrive-status|purge`: the dead-letter queues, on the SDK's
 * {@link DeadLetterQueues} (`src/client/dlq.ts`; `docs/dead-letters.md`).
 *
 * Output contract: stdout carries the result (with `--json`, only JSON); notes, the confirmation
 * question and the redrive's progress go to stderr. `show` of a message not found exits 1;
 * `redrive` without `--yes` off a terminal, and `purge` without `--yes`, exit 2.
 *
 * @module
 */
import { createInterface } from 'node:readline/promises';
import { DynamoDbFailureLedger } from '../../aws/ledger.js';
import {
  DeadLetterQueues,
  type DlqEntry,
  type DlqName,
  type MoveTask,
  type RedriveResult,
} from '../../client/dlq.js';
import { connect } from '../clients.js';
import { resolveCliConfig, type SourceFlags } from '../config.js';
import { EXIT, OperationError, UsageError } from '../errors.js';
import type { CliIO } from '../main.js';
import { formatTable, statusJson } from '../output.js';
import { createProgress } from '../progress.js';

/**
 * Options every `dlq` subcommand takes.
 *
 * @example
 * ```ts
 * const o: DlqCommonOptions = { queue: 'task', json: true };
 * ```
 */
export interface DlqCommonOptions extends SourceFlags {
  /** @default 'task' */
  queue?: DlqName;
  json?: boolean;
}

/**
 * The terminal a command may ask on: whether stdin and stderr are one, and how to ask.
 *
 * @example
 * ```ts
 * const t: Terminal = { interactive: false, ask: async () => '' };
 * ```
 */
export interface Terminal {
  interactive: boolean;
  /** Writes `question` to stderr and resolves with the line typed. */
  ask(question: string): Promise<string>;
}

/** The process's terminal. */
export function processTerminal(): Terminal {
  return {
    interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
    async ask(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

const TARGETS: Record<DlqName, string> = {
  task: 'the task queue',
  high: 'the high-priority task queue',
  delay: 'the delay queue',
  scheduler: 'the delay queue',
};

/** Connects and builds the DLQ operations of the chosen configuration. */
async function withDlqs<T>(
  opts: DlqCommonOptions,
  io: CliIO,
  run: (dlqs: DeadLetterQueues) => Promise<T>,
): Promise<T> {
  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const { client, clients, settings, close } = connect(config);
  try {
    const table = settings.taskStatesTable;
    const dlqs = new DeadLetterQueues({
      sqs: clients.sqs,
      settings,
      backend: client.backend,
      ...(table === undefined
        ? {}
        : { ledger: new DynamoDbFailureLedger({ dynamodb: clients.dynamodb, tableName: table }) }),
    });
    return await run(dlqs);
  } finally {
    close();
  }
}

const LISTING_NOTE =
  'note: SQS has no peek: listing received these messages and released them at once; each receive count went up by one\n';

/**
 * `machinery dlq list`: prints the messages of a DLQ with their reasons (a table, or the `--json`
 * array of {@link DlqEntry}).
 *
 * @example
 * ```ts
 * const code = await dlqList({ queue: 'task', limit: 50, json: true }, io);
 * ```
 */
export async function dlqList(
  opts: DlqCommonOptions & { limit: number },
  io: CliIO,
): Promise<number> {
  const queue = opts.queue ?? 'task';
  const entries = await withDlqs(opts, io, (d) => d.list({ queue, limit: opts.limit }));
  if (opts.json) {
    io.stdout(`${JSON.stringify(entries)}\n`);
  } else if (entries.length === 0) {
    io.stderr(`the ${queue} DLQ has no visible message\n`);
  } else {
    io.stdout(
      formatTable(
        ['MESSAGE ID', 'TASK UUID', 'NAME', 'REASON', 'RECEIVES', 'DEAD-LETTERED'],
        entries.map((e) => [
          e.messageId,
          e.taskUUID ?? '-',
          e.name ?? '-',
          e.reason ?? (e.movedBySqs ? '(moved by SQS)' : '-'),
          String(e.receiveCount),
          e.deadLetteredAt ?? '-',
        ]),
      ),
    );
  }
  if (entries.length > 0) io.stderr(LISTING_NOTE);
  return EXIT.ok;
}

/**
 * `machinery dlq show <uuid|message-id>`: the message's signature (machinery JSON), its reason and
 * detail, and its task's recorded state and attempts. Exit 1 when no DLQ holds it.
 *
 * @example
 * ```ts
 * const code = await dlqShow('task_1', { json: true }, io);
 * ```
 */
export async function dlqShow(id: string, opts: DlqCommonOptions, io: CliIO): Promise<number> {
  if (id.trim() === '') throw new UsageError('dlq show: pass a task UUID or a DLQ message id');
  const found = await withDlqs(opts, io, (d) =>
    d.show(id, opts.queue === undefined ? {} : { queue: opts.queue }),
  );
  if (found === undefined) {
    throw new OperationError(
      'DLQ_MESSAGE_NOT_FOUND',
      `no message for ${id} in ${opts.queue ? `the ${opts.queue} DLQ` : 'the dead-letter queues'} (a message in flight elsewhere is not visible)`,
    );
  }
  const task = found.task
    ? {
        ...statusJson(found.task),
        attempts: found.task.attempt,
        retries: found.task.retries,
        crashes: found.task.crashes,
        deadLettered: found.task.deadLettered,
        deadLetterReason: found.task.deadLetterReason,
      }
    : null;
  if (opts.json) {
    io.stdout(
      `${JSON.stringify({ queue: found.queue, ...found.entry, signature: found.signature ?? found.body, task })}\n`,
    );
  } else {
    const e = found.entry;
    const rows: [string, string][] = [
      ['queue', found.queue],
      ['message', e.messageId],
      ['task', e.taskUUID ?? '-'],
      ['name', e.name ?? '-'],
      ['reason', e.reason ?? (e.movedBySqs ? '(moved by SQS: no reason)' : '-')],
      ['detail', e.detail ?? '-'],
      ['receives', String(e.receiveCount)],
      ['dead-lettered', e.deadLetteredAt ?? '-'],
      ['group', e.messageGroupId ?? '-'],
    ];
    if (task) {
      rows.push(
        ['state', task.state],
        ['attempts', String(task.attempts)],
        ['retries', String(task.retries)],
        ['error', task.error ?? '-'],
      );
    }
    const body = found.signature === null ? found.body : JSON.stringify(found.signature, null, 2);
    io.stdout(
      `${rows.map(([k, v]) => `${`${k}:`.padEnd(15)}${v}\n`).join('')}signature:\n${body}\n`,
    );
  }
  io.stderr(LISTING_NOTE);
  return EXIT.ok;
}

/**
 * `machinery dlq redrive`: sends a DLQ's messages (or those of `--uuid` tasks) back. Without
 * `--yes` it asks on a terminal and refuses (exit 2) elsewhere.
 *
 * @example
 * ```ts
 * const code = await dlqRedrive({ queue: 'task', uuid: [], yes: true }, io);
 * ```
 */
export async function dlqRedrive(
  opts: DlqCommonOptions & { uuid?: string[]; maxPerSecond?: number; yes?: boolean },
  io: CliIO,
  terminal: Terminal = processTerminal(),
): Promise<number> {
  const queue = opts.queue ?? 'task';
  const uuids = opts.uuid !== undefined && opts.uuid.length > 0 ? opts.uuid : undefined;
  const what = uuids
    ? `the messages of ${uuids.length} task(s) in the ${queue} DLQ`
    : `every message of the ${queue} DLQ`;
  if (!opts.yes) {
    if (!terminal.interactive) {
      throw new UsageError(
        `dlq redrive: refusing to redrive ${what} without --yes when not run on a terminal`,
      );
    }
    const answer = await terminal.ask(`redrive ${what} into ${TARGETS[queue]}? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.stderr('redrive cancelled\n');
      return EXIT.ok;
    }
  }
  const progress = createProgress({
    write: (s) => io.stderr(s),
    terminal: terminal.interactive,
    label: 'redriven',
  });
  let result: RedriveResult;
  try {
    result = await withDlqs(opts, io, (d) =>
      d.redrive({
        queue,
        ...(uuids ? { uuids } : {}),
        ...(opts.maxPerSecond === undefined ? {} : { maxPerSecond: opts.maxPerSecond }),
        onProgress: (p) => progress.update(p.moved, p.total),
      }),
    );
  } finally {
    progress.done();
  }
  if (result.method === 'loop' && result.fallback !== null) {
    io.stderr(`note: ${result.fallback}; the messages were moved by receive, send and delete\n`);
  }
  if (queue === 'task' || queue === 'high') {
    io.stderr(
      'note: redriven messages join the tail of their message groups: their old places are gone\n',
    );
  }
  if (opts.json) {
    io.stdout(`${JSON.stringify(result)}\n`);
  } else {
    const how = result.method === 'move-task' ? 'a message move task' : 'receive, send and delete';
    io.stdout(
      `redrove ${result.moved} message(s) from the ${queue} DLQ into ${TARGETS[queue]} (${how})\n`,
    );
  }
  if (result.method === 'loop' && result.notFound.length > 0) {
    throw new OperationError(
      'DLQ_MESSAGE_NOT_FOUND',
      `no message in the ${queue} DLQ for ${result.notFound.join(', ')}`,
    );
  }
  return EXIT.ok;
}

/**
 * `machinery dlq redrive-status`: the running and recent message move tasks of a DLQ, or that the
 * endpoint has none.
 *
 * @example
 * ```ts
 * const code = await dlqRedriveStatus({ queue: 'task' }, io);
 * ```
 */
export async function dlqRedriveStatus(opts: DlqCommonOptions, io: CliIO): Promise<number> {
  const queue = opts.queue ?? 'task';
  const status = await withDlqs(opts, io, (d) => d.redriveStatus({ queue }));
  if (opts.json) {
    io.stdout(`${JSON.stringify(status)}\n`);
  } else if (!status.supported) {
    io.stdout(
      `this SQS endpoint has no message move task API (ListMessageMoveTasks): there are no move tasks to report for the ${queue} DLQ; \`machinery dlq redrive\` moves messages itself there\n`,
    );
  } else if (status.tasks.length === 0) {
    io.stdout(`no message move task has run on the ${queue} DLQ recently\n`);
  } else {
    io.stdout(
      formatTable(
        ['STATUS', 'MOVED', 'TO MOVE', 'RATE', 'STARTED', 'FAILURE'],
        status.tasks.map((t: MoveTask) => [
          t.status,
          String(t.moved),
          t.toMove === null ? '-' : String(t.toMove),
          t.maxPerSecond === null ? '-' : `${t.maxPerSecond}/s`,
          t.startedAt === null ? '-' : new Date(t.startedAt).toISOString(),
          t.failureReason ?? '-',
        ]),
      ),
    );
  }
  return EXIT.ok;
}

/**
 * `machinery dlq purge --yes`: deletes every message of a DLQ. Without `--yes`: exit 2.
 *
 * @example
 * ```ts
 * const code = await dlqPurge({ queue: 'scheduler', yes: true }, io);
 * ```
 */
export async function dlqPurge(
  opts: DlqCommonOptions & { yes?: boolean },
  io: CliIO,
): Promise<number> {
  const queue = opts.queue ?? 'task';
  if (!opts.yes) {
    throw new UsageError(
      `dlq purge deletes every message of the ${queue} DLQ for good: pass --yes to do it`,
    );
  }
  await withDlqs(opts, io, (d) => d.purge({ queue }));
  io.stderr(`purged the ${queue} DLQ\n`);
  return EXIT.ok;
}

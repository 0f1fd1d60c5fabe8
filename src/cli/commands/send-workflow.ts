/**
 * `machinery send-workflow <file.json> [--wait] [--timeout 30s] [--json] [--local]`: sends a chain,
 * a group or a chord described in a JSON file, each signature in machinery's JSON format
 * (PascalCase keys, typed `Args`; a missing `UUID` is generated):
 *
 * ```json
 * {"chain": [sig, sig, …]}
 * {"group": [sig, …], "sendConcurrency": 10, "concurrency": 4}
 * {"chord": {"group": [sig, …], "callback": sig}, "sendConcurrency": 10}
 * ```
 *
 * - Without `--wait`: prints the group UUID (a chain: its last step's task UUID); with `--json`
 *   the `status --json` document of that UUID as sent.
 * - With `--wait`: prints the workflow's result (a chain: its last step's; a group: one line per
 *   member, in group order; a chord: the callback's), or with `--json` the `status --json`
 *   document once finished. A failure exits 1 naming the failed step or member, a timeout exits 3;
 *   both still print the `--json` document.
 * - A file that cannot be read, is not JSON, or holds anything else (a bad signature, an empty
 *   list, an unknown key) is a usage error (exit 2) naming the path inside the file
 *   (`chord.group[1].Args[0].Value: …`), before any configuration or network access.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type ChainResult,
  type ChordResult,
  type GroupResult,
  type MachineryClient,
  ResultTimeoutError,
  WorkflowFailedError,
} from '../../client/index.js';
import { SignatureEncodeError } from '../../core/errors.js';
import { isJsonObject, jsonKindOf, parseJsonLossless, RawNumber } from '../../core/json.js';
import type { TaskRecord } from '../../core/ports.js';
import { freshTaskRecord, signatureRecordFields } from '../../core/record-fields.js';
import { newChordUUID, newTaskUUID, normalizeSignature } from '../../core/signature.js';
import type { Signature } from '../../core/types.js';
import { connect } from '../clients.js';
import { resolveCliConfig } from '../config.js';
import { formatDuration } from '../duration.js';
import { EXIT, UsageError } from '../errors.js';
import type { CliIO, SendWorkflowOptions } from '../main.js';
import { formatPlainResults, groupStatusJson, statusJson } from '../output.js';

/**
 * A workflow read from a `send-workflow` file.
 *
 * @example
 * ```ts
 * const spec: WorkflowSpec = { kind: 'chain', steps: [add, multiply] };
 * ```
 */
export type WorkflowSpec =
  | { kind: 'chain'; steps: Signature[] }
  | { kind: 'group'; members: Signature[]; sendConcurrency?: number; concurrency?: number }
  | {
      kind: 'chord';
      members: Signature[];
      callback: Signature;
      sendConcurrency?: number;
      concurrency?: number;
    };

/** The keys a workflow file may hold at its top level. */
const FILE_KEYS = ['chain', 'group', 'chord', 'sendConcurrency', 'concurrency'] as const;

/** A mistake in a workflow file, at `path` inside it. */
class FileMistake extends Error {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/**
 * One signature at `path`: machinery's JSON, its UUID generated when missing or empty
 * (`task_<uuid>`, or `chord_<uuid>` for a chord's callback).
 */
function readSignatureAt(value: unknown, path: string, newUUID = newTaskUUID): Signature {
  if (!isJsonObject(value)) {
    throw new FileMistake(path, `expected a signature object, got ${jsonKindOf(value)}`);
  }
  // Go's encoding/json matches keys case-insensitively: any spelling of UUID counts.
  const uuidKey = Object.keys(value).find((k) => k.toLowerCase() === 'uuid');
  const uuid = uuidKey === undefined ? undefined : value[uuidKey];
  const withUuid =
    uuid === undefined || uuid === null || uuid === ''
      ? {
          ...value,
          ...(uuidKey === undefined ? {} : { [uuidKey]: undefined }),
          UUID: newUUID(),
        }
      : value;
  try {
    return normalizeSignature(withUuid);
  } catch (e) {
    if (!(e instanceof SignatureEncodeError)) throw e;
    throw new FileMistake(e.field === '' ? path : `${path}.${e.field}`, e.detail, { cause: e });
  }
}

function readList(value: unknown, path: string): Signature[] {
  if (!Array.isArray(value)) {
    throw new FileMistake(path, `expected an array of signatures, got ${jsonKindOf(value)}`);
  }
  if (value.length === 0) throw new FileMistake(path, 'expected at least one signature');
  return value.map((item: unknown, i) => readSignatureAt(item, `${path}[${i}]`));
}

function readCount(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  // a RawNumber is a fraction or an integer beyond 2^53: refused too
  const n = typeof value === 'number' ? value : null;
  if (n === null || !Number.isSafeInteger(n) || n < 0) {
    const shown = value instanceof RawNumber ? value.source : JSON.stringify(value);
    throw new FileMistake(path, `expected a whole number >= 0, got ${shown}`);
  }
  return n;
}

/** Reads the parsed file; throws {@link FileMistake}. */
function readWorkflow(doc: unknown): WorkflowSpec {
  if (!isJsonObject(doc)) {
    throw new FileMistake(
      '',
      `expected an object {"chain":[…]}, {"group":[…]} or {"chord":{…}}, got ${jsonKindOf(doc)}`,
    );
  }
  for (const key of Object.keys(doc)) {
    if (!(FILE_KEYS as readonly string[]).includes(key)) {
      throw new FileMistake(key, `unknown key; expected one of ${FILE_KEYS.join(', ')}`);
    }
  }
  const kinds = (['chain', 'group', 'chord'] as const).filter((k) => doc[k] !== undefined);
  if (kinds.length !== 1) {
    throw new FileMistake(
      '',
      kinds.length === 0
        ? 'expected one of the keys chain, group or chord'
        : `expected one of the keys chain, group or chord, got ${kinds.join(' and ')}`,
    );
  }
  const sendConcurrency = readCount(doc.sendConcurrency, 'sendConcurrency');
  const concurrency = readCount(doc.concurrency, 'concurrency');
  const options = {
    ...(sendConcurrency === undefined ? {} : { sendConcurrency }),
    ...(concurrency === undefined ? {} : { concurrency }),
  };
  const kind = kinds[0] as 'chain' | 'group' | 'chord';
  if (kind === 'chain') {
    if (Object.keys(options).length > 0) {
      throw new FileMistake(
        sendConcurrency === undefined ? 'concurrency' : 'sendConcurrency',
        'applies to a group or a chord, not to a chain',
      );
    }
    return { kind, steps: readList(doc.chain, 'chain') };
  }
  if (kind === 'group') return { kind, members: readList(doc.group, 'group'), ...options };
  const chord = doc.chord;
  if (!isJsonObject(chord)) {
    throw new FileMistake(
      'chord',
      `expected an object {"group":[…],"callback":{…}}, got ${jsonKindOf(chord)}`,
    );
  }
  for (const key of Object.keys(chord)) {
    if (key !== 'group' && key !== 'callback') {
      throw new FileMistake(`chord.${key}`, 'unknown key; expected group or callback');
    }
  }
  if (chord.callback === undefined || chord.callback === null) {
    throw new FileMistake('chord.callback', 'missing: a chord needs a callback signature');
  }
  return {
    kind,
    members: readList(chord.group, 'chord.group'),
    callback: readSignatureAt(chord.callback, 'chord.callback', newChordUUID),
    ...options,
  };
}

/**
 * Reads a workflow from the text of a `send-workflow` file. Throws a `UsageError` (exit 2) naming
 * `file` and the path inside it of the first mistake.
 *
 * @example
 * ```ts
 * const spec = parseWorkflowFile('{"chain":[{"Name":"add","Args":[{"Type":"int64","Value":1}]}]}', 'w.json');
 * spec.kind; // 'chain'
 * ```
 */
export function parseWorkflowFile(text: string, file: string): WorkflowSpec {
  let doc: unknown;
  try {
    doc = parseJsonLossless(text);
  } catch (e) {
    throw new UsageError(`${file}: not JSON: ${(e as Error).message}`, { cause: e });
  }
  try {
    return readWorkflow(doc);
  } catch (e) {
    if (!(e instanceof FileMistake)) throw e;
    const at = e.path === '' ? '' : ` ${e.path}:`;
    throw new UsageError(`${file}:${at} ${e.message}`, { cause: e.cause ?? e });
  }
}

/**
 * Reads and parses a `send-workflow` file (relative to `cwd`); an unreadable file is a usage
 * error too.
 *
 * @example
 * ```ts
 * const spec = readWorkflowFile('chord.json', process.cwd());
 * ```
 */
export function readWorkflowFile(file: string, cwd: string): WorkflowSpec {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read the file: ${(e as Error).message}`, { cause: e });
  }
  return parseWorkflowFile(text, file);
}

/** Time between two reads of the workflow's state while waiting, ms. */
const POLL_MS = 200;

/** A handle of a sent workflow. */
type Sent =
  | { kind: 'chain'; handle: ChainResult; last: Signature }
  | { kind: 'group'; handle: GroupResult }
  | { kind: 'chord'; handle: ChordResult };

function send(client: MachineryClient, spec: WorkflowSpec): Promise<Sent> {
  const options = (s: { sendConcurrency?: number; concurrency?: number }) => ({
    ...(s.sendConcurrency === undefined ? {} : { sendConcurrency: s.sendConcurrency }),
    ...(s.concurrency === undefined ? {} : { concurrency: s.concurrency }),
  });
  switch (spec.kind) {
    case 'chain':
      return client
        .sendChain(spec.steps)
        .then((handle) => ({ kind: 'chain', handle, last: spec.steps.at(-1) as Signature }));
    case 'group':
      return client
        .sendGroup(spec.members, options(spec))
        .then((handle) => ({ kind: 'group', handle }));
    case 'chord':
      return client
        .sendChord(spec.members, spec.callback, options(spec))
        .then((handle) => ({ kind: 'chord', handle }));
  }
}

/**
 * The record of a chain step not recorded yet (the chain has not reached it): PENDING, as
 * `status --json` would show it once it is.
 */
function unrecorded(step: Signature, now: number): TaskRecord {
  return {
    ...freshTaskRecord(step.UUID, step.Name, 'PENDING', now, 0),
    ...signatureRecordFields(step),
  };
}

/** The `status --json` document of a sent workflow (a chain: of `uuid`, by default its last step). */
async function statusDocument(
  client: MachineryClient,
  sent: Sent,
  uuid: string = sent.handle.uuid,
): Promise<unknown> {
  if (sent.kind === 'chain') {
    const record = await client.getState(uuid);
    if (record !== undefined) return statusJson(record);
    const step = sent.last.UUID === uuid ? sent.last : undefined;
    return step === undefined ? null : statusJson(unrecorded(step, Date.now()));
  }
  const progress = await sent.handle.state();
  return progress.kind === 'chain' ? null : groupStatusJson(progress);
}

/** The result lines `--wait` prints: a chain's or chord's results, one line per group member. */
async function waitResult(sent: Sent, timeoutMs: number): Promise<string> {
  const options = { timeoutMs, pollMs: POLL_MS };
  if (sent.kind === 'group') {
    const lists = await sent.handle.getTyped(options);
    return lists.map((results) => `${formatPlainResults(results)}\n`).join('');
  }
  const results = await sent.handle.getTyped(options);
  return results.length === 0 ? '' : `${formatPlainResults(results)}\n`;
}

/**
 * Runs `machinery send-workflow`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await sendWorkflow('chord.json', { wait: true, timeout: 30_000, json: true }, io);
 * ```
 */
export async function sendWorkflow(
  file: string,
  opts: SendWorkflowOptions,
  io: CliIO,
): Promise<number> {
  // The file is checked before any configuration or network access.
  const spec = readWorkflowFile(file, io.cwd);
  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const { client, close } = connect(config);
  try {
    const sent = await send(client, spec);
    const printJson = async (uuid?: string) => {
      io.stdout(`${JSON.stringify(await statusDocument(client, sent, uuid))}\n`);
    };
    if (!opts.wait) {
      if (opts.json) await printJson();
      else io.stdout(`${sent.handle.uuid}\n`);
      return EXIT.ok;
    }
    try {
      const text = await waitResult(sent, opts.timeout);
      if (opts.json) await printJson();
      else io.stdout(text);
      return EXIT.ok;
    } catch (e) {
      if (e instanceof WorkflowFailedError) {
        // A chain's document is the failed step's (its last step never ran).
        if (opts.json)
          await printJson(sent.kind === 'chain' ? (e.failedUUID ?? undefined) : undefined);
        io.stderr(`machinery: ${e.message}\n`);
        return EXIT.failure;
      }
      if (e instanceof ResultTimeoutError) {
        if (opts.json) await printJson();
        io.stderr(
          `machinery: timed out after ${formatDuration(opts.timeout)} waiting for ${sent.kind} ${sent.handle.uuid} ` +
            `(${e.lastState ?? 'no state'}); \`machinery status ${sent.handle.uuid}\` shows it later\n`,
        );
        return EXIT.timeout;
      }
      throw e;
    }
  } finally {
    close();
  }
}

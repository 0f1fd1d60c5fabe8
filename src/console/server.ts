/**
 * The web console (`machinery console`): a small JSON API over the SDK's operating functions and
 * the page that shows it, on `node:http`, bound to 127.0.0.1.
 *
 * It adds no second way to do anything: queues are `queueStats`, a task is `getState`, a workflow
 * is `workflowState`, dead letters are `createDeadLetterQueues`, workers are `listWorkers`,
 * schedules are `listPeriodicTasks` / `listOneTimeSchedules`, all on the one connection the CLI
 * builds for the chosen configuration (`--local` / `--stack NAME`).
 *
 * Safety:
 * - every request whose `Host` is not `127.0.0.1:<port>` / `localhost:<port>`, or whose `Origin`
 *   (when sent) is not `http://` one of those, is refused (DNS rebinding, other sites);
 * - every action that changes anything is a POST carrying the per-session token (random at start,
 *   written into the page's HTML, never a cookie) in the `x-machinery-token` header, with a JSON
 *   body (a cross-site form cannot send either);
 * - `readOnly` refuses every POST, and the page hides the actions;
 * - answers carry only what the SDK functions return (no settings, no credentials); errors are
 *   one plain sentence (`describeError`).
 *
 * API (`GET` unless marked):
 * - `/api/meta` → `{ readOnly, source, dlqs, workersTable, scheduler, sampleMs }`
 * - `/api/queues` → `{ sampleMs, samples: [{ at, queues: QueueStats[] }] }` (the last 120)
 * - `/api/tasks/<uuid>` → `status --json` plus `crashes`, `deadLettered`, `deadLetterReason`
 * - `/api/workflows/<group uuid>` → `status <group> --json` plus the callback's record
 * - `/api/dlq/<queue>?limit=N` → `DlqEntry[]`; `/api/dlq/<queue>/messages/<id>` → `dlq show --json`
 * - `POST /api/dlq/<queue>/redrive` `{ uuids? }` → `{ job }`; `/api/jobs/<job>` → its progress
 * - `POST /api/dlq/<queue>/purge` `{ confirm: <queue> }` → `{ purged }`
 * - `/api/workers` → `{ configured, workers }`; `/api/schedules` → `{ configured, periodic, oneTime }`
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { metricQueueName } from '../aws/queue-stats.js';
import { cloudWatchClient, connect } from '../cli/clients.js';
import { oneTimeJson, periodicJson } from '../cli/commands/periodic.js';
import type { CliConfig } from '../cli/config.js';
import { describeError } from '../cli/errors.js';
import { groupStatusJson, statusJson } from '../cli/output.js';
import {
  createDeadLetterQueues,
  type DlqName,
  isDlqName,
  type RedriveProgress,
} from '../client/dlq.js';
import { listOneTimeSchedules, listPeriodicTasks } from '../client/periodic.js';
import { type QueueStats, queueStats, queuesOf } from '../client/queues.js';
import { listWorkers } from '../client/workers.js';
import { type Clock, systemClock } from '../core/clock.js';
import { DEFAULTS } from '../core/resources.js';
import { ConsoleAssetsMissingError, ConsoleForbiddenError, ConsoleRequestError } from './errors.js';

/**
 * The loopback address the console binds to.
 *
 * @example
 * ```ts
 * new URL(`http://${CONSOLE_HOST}:8642/`);
 * ```
 */
export const CONSOLE_HOST = '127.0.0.1';

/**
 * The port `machinery console` listens on without `--port`.
 *
 * @example
 * ```ts
 * await startConsole({ config, port: DEFAULT_CONSOLE_PORT });
 * ```
 */
export const DEFAULT_CONSOLE_PORT = 8642;

/**
 * How many queue samples the console keeps (the oldest is dropped first).
 *
 * @example
 * ```ts
 * samples.length <= QUEUE_SAMPLES; // true
 * ```
 */
export const QUEUE_SAMPLES = 120;

/**
 * The header that carries the session token of a POST.
 *
 * @example
 * ```ts
 * fetch(`${url}api/dlq/task/purge`, { method: 'POST', headers: { [TOKEN_HEADER]: token, 'content-type': 'application/json' }, body: '{"confirm":"task"}' });
 * ```
 */
export const TOKEN_HEADER = 'x-machinery-token';

/**
 * Options of {@link startConsole}.
 *
 * @example
 * ```ts
 * const options: ConsoleOptions = { config: configFromLocalValues(stack.env), port: 0, readOnly: true };
 * ```
 */
export interface ConsoleOptions {
  /** The configuration (`resolveCliConfig`'s result; `configFromLocalValues` in tests). */
  config: CliConfig;
  /** The port on 127.0.0.1; `0` picks a free one. @default DEFAULT_CONSOLE_PORT (8642) */
  port?: number;
  /** Hide and refuse every action that changes anything. @default false */
  readOnly?: boolean;
  /** How often the queues are sampled, ms. @default 5000 */
  sampleMs?: number;
  /**
   * How often the oldest-message ages are read from CloudWatch (AWS queues only; `GetMetricData`
   * is billed per metric), ms; samples in between carry the last ages. @default 60000
   */
  ageEveryMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

/**
 * A running console.
 *
 * @example
 * ```ts
 * const console = await startConsole({ config, port: 0 });
 * process.stdout.write(`${console.url}\n`);
 * await console.close();
 * ```
 */
export interface ConsoleServer {
  /** `http://127.0.0.1:<port>/`. */
  url: string;
  port: number;
  /** The session token the page sends with every POST. */
  token: string;
  /** Stops sampling, closes the server and releases the AWS clients. */
  close(): Promise<void>;
}

/** One queue sample. */
interface QueueSample {
  /** ISO 8601. */
  at: string;
  queues: QueueStats[];
}

/** A redrive started from the page, and its progress. */
interface RedriveJob {
  id: string;
  queue: DlqName;
  moved: number;
  total: number | null;
  done: boolean;
  result: unknown;
  error: string | null;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page's files, in `src/console/ui/` (copied beside the built module by `npm run build`). */
const UI_FILES = ['index.html', 'app.js', 'style.css'] as const;

/** Where the page's files are: `./ui/` beside this module. */
function uiDirectory(): string {
  const dir = fileURLToPath(new URL('./ui/', import.meta.url));
  if (!existsSync(`${dir}index.html`)) throw new ConsoleAssetsMissingError(dir);
  return dir;
}

/**
 * Starts the console on 127.0.0.1: connects with the configuration (validated first: a bad
 * setting throws the `ConfigError` before anything listens), starts sampling the queues, and
 * listens.
 *
 * @example
 * ```ts
 * const server = await startConsole({ config: await resolveCliConfig({ local: true, env, cwd }) });
 * console.log(server.url); // http://127.0.0.1:8642/
 * ```
 */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const readOnly = options.readOnly === true;
  const sampleMs = options.sampleMs ?? 5000;
  const ageEveryMs = options.ageEveryMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  const ui = uiDirectory();
  const token = randomBytes(24).toString('base64url');
  const connection = connect(options.config);
  const { client, clients, settings } = connection;
  const cloudwatch = queuesOf(settings).some((q) => metricQueueName(q.url) !== undefined)
    ? cloudWatchClient(connection)
    : undefined;
  // The DLQ operations on this connection's AWS clients (createDeadLetterQueues adds the ledger).
  const dlqs = createDeadLetterQueues({
    source: options.config,
    aws: { sqs: clients.sqs, dynamodb: clients.dynamodb, scheduler: clients.scheduler },
  });

  // Queue samples: one every sampleMs; ages from CloudWatch every ageEveryMs, carried between.
  const samples: QueueSample[] = [];
  let lastAges = new Map<string, number | null>();
  let lastAgeRead = Number.NEGATIVE_INFINITY;
  let sampling: Promise<void> | undefined;
  const sample = async () => {
    const now = clock.now();
    const readAges = cloudwatch !== undefined && now - lastAgeRead >= ageEveryMs;
    try {
      const stats = await queueStats(settings, {
        sqs: clients.sqs,
        ...(readAges ? { cloudwatch } : {}),
        clock,
      });
      if (readAges) {
        lastAgeRead = now;
        lastAges = new Map(stats.map((s) => [s.queue, s.oldestMessageAgeSeconds]));
      }
      const queues = stats.map((s) => ({
        ...s,
        oldestMessageAgeSeconds: lastAges.get(s.queue) ?? s.oldestMessageAgeSeconds,
      }));
      samples.push({ at: new Date(now).toISOString(), queues });
      if (samples.length > QUEUE_SAMPLES) samples.splice(0, samples.length - QUEUE_SAMPLES);
    } catch {
      // A failed sample leaves a gap; /api/queues reads the queues itself when it has none.
    }
  };
  const sampleOnce = () => {
    sampling ??= sample().finally(() => {
      sampling = undefined;
    });
    return sampling;
  };
  await sampleOnce();
  const timer = setInterval(() => void sampleOnce(), sampleMs);
  timer.unref();

  const jobs = new Map<string, RedriveJob>();
  let port = 0;
  const hosts = () => new Set([`${CONSOLE_HOST}:${port}`, `localhost:${port}`]);

  const api = async (req: IncomingMessage, path: string, query: URLSearchParams) => {
    const method = req.method ?? 'GET';
    const parts = path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const [, area, id, sub, subId] = parts; // parts[0] is 'api'
    if (method === 'POST') {
      if (readOnly) {
        throw new ConsoleForbiddenError(
          'CONSOLE_READ_ONLY',
          'the console is read-only (started with --read-only): it changes nothing',
        );
      }
      checkToken(req, token);
      const body = await readJson(req);
      if (area === 'dlq' && id !== undefined && sub === 'redrive' && parts.length === 4) {
        const queue = dlqName(id);
        const uuids = stringList(body.uuids);
        const job: RedriveJob = {
          id: randomBytes(8).toString('hex'),
          queue,
          moved: 0,
          total: null,
          done: false,
          result: null,
          error: null,
        };
        jobs.set(job.id, job);
        void dlqs
          .redrive({
            queue,
            ...(uuids.length > 0 ? { uuids } : {}),
            onProgress: (p: RedriveProgress) => {
              job.moved = p.moved;
              job.total = p.total;
            },
          })
          .then(
            (result) => {
              job.result = result;
              job.moved = result.moved;
            },
            (e: unknown) => {
              job.error = describeError(e, false).message;
            },
          )
          .finally(() => {
            job.done = true;
          });
        return { status: 202, body: { job: job.id } };
      }
      if (area === 'dlq' && id !== undefined && sub === 'purge' && parts.length === 4) {
        const queue = dlqName(id);
        if (body.confirm !== queue) {
          throw new ConsoleRequestError(
            'CONSOLE_UNCONFIRMED',
            `purge deletes every message of the ${queue} DLQ for good: type "${queue}" to confirm`,
            400,
          );
        }
        await dlqs.purge({ queue });
        return { status: 200, body: { purged: queue } };
      }
      throw notFound(path);
    }
    if (method !== 'GET') {
      throw new ConsoleRequestError('CONSOLE_METHOD', `${method} is not allowed here`, 405);
    }
    switch (area) {
      case 'meta':
        return {
          status: 200,
          body: {
            readOnly,
            source: options.config.source,
            describe: options.config.describe,
            dlqs: dlqs.configured(),
            workersTable: settings.workersTable !== undefined,
            scheduler: connection.scheduler !== undefined,
            sampleMs,
            maxSamples: QUEUE_SAMPLES,
          },
        };
      case 'queues':
        if (samples.length === 0) await sampleOnce();
        if (samples.length === 0) {
          // Every sample failed: read once more, this time reporting the error.
          await queueStats(settings, { sqs: clients.sqs });
        }
        return { status: 200, body: { sampleMs, samples } };
      case 'tasks': {
        const uuid = requiredId(id, 'task UUID');
        const record = await client.getState(uuid);
        if (record === undefined) {
          throw new ConsoleRequestError(
            'CONSOLE_TASK_NOT_FOUND',
            `no task ${uuid}: the UUID is unknown, its result expired, or it is queued without a record yet`,
            404,
          );
        }
        return {
          status: 200,
          body: {
            ...statusJson(record),
            crashes: record.crashes,
            deadLettered: record.deadLettered,
            deadLetterReason: record.deadLetterReason,
          },
        };
      }
      case 'workflows': {
        const uuid = requiredId(id, 'group UUID');
        const progress = await client.workflowState(uuid);
        if (progress === undefined || progress.kind === 'chain') {
          throw new ConsoleRequestError(
            'CONSOLE_GROUP_NOT_FOUND',
            `no group or chord ${uuid}: the UUID is unknown, or its records expired`,
            404,
          );
        }
        const doc = groupStatusJson(progress);
        const callback =
          doc.callback === null ? undefined : await client.getState(doc.callback.uuid);
        return {
          status: 200,
          body: { ...doc, callbackTask: callback === undefined ? null : statusJson(callback) },
        };
      }
      case 'dlq': {
        const queue = dlqName(requiredId(id, 'DLQ'));
        if (sub === undefined) {
          const limit = Math.min(Math.max(Number(query.get('limit') ?? 50) || 50, 1), 1000);
          return { status: 200, body: await dlqs.list({ queue, limit }) };
        }
        if (sub === 'messages' && subId !== undefined) {
          const found = await dlqs.show(subId, { queue });
          if (found === undefined) {
            throw new ConsoleRequestError(
              'CONSOLE_DLQ_MESSAGE_NOT_FOUND',
              `no message for ${subId} in the ${queue} DLQ (a message in flight elsewhere is not visible)`,
              404,
            );
          }
          return {
            status: 200,
            body: {
              queue: found.queue,
              ...found.entry,
              signature: found.signature ?? found.body,
              task: found.task === null ? null : statusJson(found.task),
            },
          };
        }
        throw notFound(path);
      }
      case 'jobs': {
        const job = jobs.get(requiredId(id, 'job'));
        if (job === undefined) throw notFound(path);
        return { status: 200, body: job };
      }
      case 'workers': {
        if (settings.workersTable === undefined) {
          return { status: 200, body: { configured: false, workers: [] } };
        }
        const live = await listWorkers(settings, { dynamodb: clients.dynamodb, clock });
        const iso = (ms: number) => new Date(ms).toISOString();
        return {
          status: 200,
          body: {
            configured: true,
            workers: live.map((w) => ({
              ...w,
              startedAt: iso(w.startedAt),
              lastHeartbeatAt: iso(w.lastHeartbeatAt),
              expiresAt: iso(w.expiresAt),
            })),
          },
        };
      }
      case 'schedules': {
        const scheduler = connection.scheduler;
        if (scheduler === undefined) {
          return { status: 200, body: { configured: false, periodic: [], oneTime: [] } };
        }
        const [periodic, oneTime] = await Promise.all([
          listPeriodicTasks(scheduler),
          listOneTimeSchedules(scheduler),
        ]);
        return {
          status: 200,
          body: {
            configured: true,
            periodic: periodic.map(periodicJson),
            oneTime: oneTime.map(oneTimeJson),
          },
        };
      }
      default:
        throw notFound(path);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      checkOrigin(req, hosts());
      const url = new URL(req.url ?? '/', `http://${CONSOLE_HOST}:${port}`);
      if (url.pathname.startsWith('/api/')) {
        const { status, body } = await api(req, url.pathname, url.searchParams);
        send(res, status, 'application/json', JSON.stringify(body));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new ConsoleRequestError('CONSOLE_METHOD', `${req.method} is not allowed here`, 405);
      }
      const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      if (!(UI_FILES as readonly string[]).includes(name)) throw notFound(url.pathname);
      let text = await readFile(`${ui}${name}`, 'utf8');
      if (name === 'index.html') {
        text = text
          .replace('__MACHINERY_TOKEN__', readOnly ? '' : token)
          .replace('__MACHINERY_READ_ONLY__', String(readOnly));
      }
      const ext = name.slice(name.lastIndexOf('.'));
      send(res, 200, MIME[ext] ?? 'application/octet-stream', text);
    } catch (e) {
      const { status, message, code } = errorAnswer(e);
      send(res, status, 'application/json', JSON.stringify({ error: message, code }));
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_CONSOLE_PORT, CONSOLE_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    clearInterval(timer);
    cloudwatch?.destroy();
    connection.close();
    throw new ConsoleRequestError(
      'CONSOLE_LISTEN',
      `the console cannot listen on ${CONSOLE_HOST}:${options.port ?? DEFAULT_CONSOLE_PORT}: ${e instanceof Error ? e.message : String(e)}`,
      500,
      { cause: e },
    );
  }
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${CONSOLE_HOST}:${port}/`,
    port,
    token,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sampling;
      cloudwatch?.destroy();
      dlqs.close();
      connection.close();
    },
  };
}

/** Writes an answer with the console's safety headers. */
function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-security-policy':
      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
  });
  res.end(body);
}

/**
 * Refuses a request whose `Host` is not the console's own (DNS rebinding: a foreign name resolved
 * to 127.0.0.1) or whose `Origin`, when sent, is not the console's page.
 */
function checkOrigin(req: IncomingMessage, hosts: ReadonlySet<string>): void {
  const host = req.headers.host;
  if (host === undefined || !hosts.has(host.toLowerCase())) {
    throw new ConsoleForbiddenError(
      'CONSOLE_FOREIGN_HOST',
      `refused: the Host ${host ?? '(none)'} is not this console's own`,
    );
  }
  const origin = req.headers.origin?.toLowerCase();
  if (origin !== undefined && ![...hosts].some((h) => origin === `http://${h}`)) {
    throw new ConsoleForbiddenError(
      'CONSOLE_FOREIGN_ORIGIN',
      `refused: the Origin ${origin} is not this console's page`,
    );
  }
}

/** Refuses a POST without the session's token. */
function checkToken(req: IncomingMessage, token: string): void {
  const given = req.headers[TOKEN_HEADER];
  const expected = Buffer.from(token);
  const actual = Buffer.from(typeof given === 'string' ? given : '');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new ConsoleForbiddenError(
      'CONSOLE_BAD_TOKEN',
      "refused: an action needs this console session's token (reload the page)",
    );
  }
}

/** The JSON object of a POST's body (at most 64 KiB; `application/json` only). */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new ConsoleRequestError(
      'CONSOLE_BAD_BODY',
      'an action sends its parameters as application/json',
      415,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) {
      throw new ConsoleRequestError('CONSOLE_BAD_BODY', 'the request body is too large', 413);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConsoleRequestError('CONSOLE_BAD_BODY', 'the request body is not JSON', 400, {
      cause: e,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConsoleRequestError('CONSOLE_BAD_BODY', 'the request body is not a JSON object', 400);
  }
  return parsed as Record<string, unknown>;
}

function stringList(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw new ConsoleRequestError('CONSOLE_BAD_BODY', 'uuids is a list of task UUIDs', 400);
  }
  return value as string[];
}

function dlqName(name: string): DlqName {
  if (!isDlqName(name)) {
    throw new ConsoleRequestError('CONSOLE_NOT_FOUND', `no DLQ named ${name}`, 404);
  }
  return name;
}

function requiredId(id: string | undefined, what: string): string {
  if (id === undefined || id.trim() === '' || id.length > DEFAULTS.maxUuidLength) {
    throw new ConsoleRequestError('CONSOLE_BAD_ID', `pass a ${what}`, 400);
  }
  return id;
}

function notFound(path: string): ConsoleRequestError {
  return new ConsoleRequestError('CONSOLE_NOT_FOUND', `nothing at ${path}`, 404);
}

/** The status, plain sentence and code of an error: AWS errors translated by `describeError`. */
function errorAnswer(e: unknown): { status: number; message: string; code: string } {
  if (e instanceof ConsoleRequestError) {
    return { status: e.status, message: e.message, code: e.code };
  }
  const { message, exitCode } = describeError(e, false);
  const code =
    typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
      ? (e as { code: string }).code
      : 'CONSOLE_FAILED';
  return { status: exitCode === 2 ? 400 : 502, message, code };
}

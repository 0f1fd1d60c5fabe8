/**
 * SQS for the local stack: [fauxqs](https://www.npmjs.com/package/fauxqs) 2.x, in-process, on a
 * free port.
 *
 * Queue URLs: fauxqs names queues `http://sqs.<region>.localhost:<port>/000000000000/<name>` by
 * default, and an SQS client configured through `AWS_ENDPOINT_URL_SQS` (rather than an explicit
 * `endpoint`) sends each request to its `QueueUrl`'s host — which `getaddrinfo` does not resolve on
 * most Linux machines. So the queue URLs of this emulator are `http://127.0.0.1:<port>/000000000000/<name>`:
 * the same origin as the endpoint, valid for any client, `curl` or the AWS CLI. (fauxqs looks a
 * queue up by the last path segment of its URL, so both forms reach the same queue.)
 *
 * Known fauxqs limits (2.4): no `StartMessageMoveTask` / `ListMessageMoveTasks` /
 * `CancelMessageMoveTask`, no `ListDeadLetterSourceQueues`; a bogus receipt handle "succeeds";
 * never more than one in-flight message per FIFO group; the account id is always `000000000000`.
 *
 * @module
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importEmulatorPackage, packageDirectory } from './emulator-packages.js';

/**
 * The account id fauxqs puts in every queue ARN and URL.
 *
 * @example
 * ```ts
 * const arn = `arn:aws:sqs:us-east-1:${FAUXQS_ACCOUNT_ID}:delay`;
 * ```
 */
export const FAUXQS_ACCOUNT_ID = '000000000000';

/**
 * A running SQS emulator.
 *
 * @example
 * ```ts
 * const sqs = await startSqs();
 * const client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1' });
 * await sqs.stop();
 * ```
 */
export interface LocalSqs {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server (idempotent). Messages and queues are lost. */
  stop(): Promise<void>;
}

/**
 * Options of {@link startSqs}.
 *
 * @example
 * ```ts
 * const options: StartSqsOptions = { port: 4566 };
 * ```
 */
export interface StartSqsOptions {
  /** TCP port; `0` (the default) picks a free one. */
  port?: number;
  /** Region used when a request carries no SigV4 scope. @default 'us-east-1' */
  region?: string;
}

interface ListeningApp {
  listen(opts: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
}

/** Finds fauxqs's `dist/` directory (its `exports` map hides the files we need). */
function fauxqsDistDir(): string | undefined {
  const dir = packageDirectory('fauxqs');
  const dist = dir === undefined ? undefined : join(dir, 'dist');
  return dist !== undefined && existsSync(join(dist, 'sqs', 'sqsStore.js')) ? dist : undefined;
}

/**
 * Starts fauxqs with queue URLs on `127.0.0.1` (see the module notes). Falls back to
 * `startFauxqs()` (URLs on `sqs.<region>.localhost`) if fauxqs's layout ever changes.
 */
async function startWithIpQueueUrls(port: number, region: string): Promise<LocalSqs | undefined> {
  const dist = fauxqsDistDir();
  if (dist === undefined) return undefined;
  try {
    const storeModule = (await import(pathToFileURL(join(dist, 'sqs', 'sqsStore.js')).href)) as {
      SqsStore: new () => { host: string | undefined; region: string };
    };
    const appModule = (await import(pathToFileURL(join(dist, 'app.js')).href)) as {
      buildApp(options: Record<string, unknown>): ListeningApp;
    };
    const sqsStore = new storeModule.SqsStore();
    // `''` is falsy: buildQueueUrl then uses the request's Host header (e.g. 127.0.0.1:<port>).
    sqsStore.host = '';
    const app = appModule.buildApp({ logger: false, defaultRegion: region, stores: { sqsStore } });
    const address = await app.listen({ port, host: '127.0.0.1' });
    const actualPort = Number(new URL(address).port);
    let stopped: Promise<void> | undefined;
    return {
      endpoint: `http://127.0.0.1:${actualPort}`,
      port: actualPort,
      stop: () => {
        stopped ??= app.close();
        return stopped;
      },
    };
  } catch {
    return undefined;
  }
}

/**
 * Starts fauxqs in this process.
 *
 * @example
 * ```ts
 * const sqs = await startSqs({ port: 0 });
 * console.log(sqs.endpoint); // http://127.0.0.1:41234
 * await sqs.stop();
 * ```
 */
export async function startSqs(options: StartSqsOptions = {}): Promise<LocalSqs> {
  const port = options.port ?? 0;
  const region = options.region ?? 'us-east-1';
  const preferred = await startWithIpQueueUrls(port, region);
  if (preferred) return preferred;
  const { startFauxqs } = await importEmulatorPackage('fauxqs', () => import('fauxqs'));
  const server = await startFauxqs({ port, logger: false, defaultRegion: region });
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    stop: () => {
      stopped ??= server.stop();
      return stopped;
    },
  };
}

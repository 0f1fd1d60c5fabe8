/**
 * `machinery send <task> [TYPE:VALUE …] [--group-id ID] [--queue high|default] [--lane full|lean|idempotent] [--retry N] [--eta WHEN] [--wait]
 * [--timeout 30s] [--json] [--local | --stack NAME]`.
 *
 * - Without `--wait`: prints the task UUID (with `--json`, the PENDING document).
 * - `--lane`: the cost lane (docs/design.md §4 "Lanes"); the task's definition is not known here,
 *   so an `idempotent` send of a task that does not declare it runs in the lean lane on the worker.
 * - With `--wait`: prints the result (see `formatPlainResults`), or with `--json` the document
 *   `{"uuid","state","results","error"}`. FAILURE exits 1, a timeout exits 3 (both still print
 *   the `--json` document with the last known state).
 *
 * @module
 */
import { ResultTimeoutError, TaskFailedError } from '../../client/index.js';
import { EtaParseError, SignatureEncodeError } from '../../core/errors.js';
import { newSignature } from '../../core/signature.js';
import { formatEta, parseEta } from '../../core/time.js';
import type { Signature, TaskState, TypedValue } from '../../core/types.js';
import { connect } from '../clients.js';
import { resolveCliConfig } from '../config.js';
import { formatDuration } from '../duration.js';
import { EXIT, UsageError } from '../errors.js';
import type { CliIO, SendOptions } from '../main.js';
import { formatPlainResults, sendJson } from '../output.js';
import { decodeTypedArg } from '../typed-arg.js';

/** Time between two reads of the task state while waiting, ms. */
const POLL_MS = 200;

/**
 * Runs `machinery send`; resolves to the exit code.
 *
 * @example
 * ```ts
 * const code = await send('add', ['int64:1', 'int64:2'], { wait: true, timeout: 30_000 }, io);
 * ```
 */
export async function send(
  task: string,
  argSpecs: readonly string[],
  opts: SendOptions,
  io: CliIO,
): Promise<number> {
  // Everything the user typed is checked before any configuration or network access.
  const args = argSpecs.map((spec) => decodeTypedArg(spec));
  let eta: string | undefined;
  if (opts.eta !== undefined) {
    try {
      eta = formatEta(parseEta(opts.eta, Date.now()));
    } catch (e) {
      if (e instanceof EtaParseError) throw new UsageError(`--eta: ${e.message}`, { cause: e });
      throw e;
    }
  }
  let signature: Signature;
  try {
    signature = newSignature(task, args, {
      ...(opts.retry !== undefined ? { RetryCount: opts.retry } : {}),
      ...(opts.groupId !== undefined ? { BrokerMessageGroupId: opts.groupId } : {}),
      ...(eta !== undefined ? { ETA: eta } : {}),
    });
  } catch (e) {
    // a task name, --group-id or --retry the wire format refuses
    if (e instanceof SignatureEncodeError) throw new UsageError(e.message, { cause: e });
    throw e;
  }

  const config = await resolveCliConfig({ ...opts, env: io.env, cwd: io.cwd });
  const { client, close } = connect(config);
  try {
    const result = await client.sendTask(signature, {
      ...(opts.queue === undefined ? {} : { queue: opts.queue }),
      ...(opts.lane === undefined ? {} : { lane: opts.lane }),
    });
    if (!opts.wait) {
      io.stdout(
        opts.json
          ? `${JSON.stringify(sendJson({ uuid: result.uuid, state: 'PENDING', results: null, error: null }))}\n`
          : `${result.uuid}\n`,
      );
      return EXIT.ok;
    }

    const print = (state: TaskState, results: TypedValue[] | null, error: string | null) => {
      if (opts.json) {
        io.stdout(`${JSON.stringify(sendJson({ uuid: result.uuid, state, results, error }))}\n`);
      } else if (results !== null && results.length > 0) {
        io.stdout(`${formatPlainResults(results)}\n`);
      }
    };
    try {
      const results = await result.getTyped({ timeoutMs: opts.timeout, pollMs: POLL_MS });
      print('SUCCESS', results, null);
      return EXIT.ok;
    } catch (e) {
      if (e instanceof TaskFailedError) {
        print('FAILURE', null, e.taskError);
        io.stderr(`machinery: task ${result.uuid} (${task}) failed: ${e.taskError}\n`);
        return EXIT.failure;
      }
      if (e instanceof ResultTimeoutError) {
        const last = await result.getState();
        print(last?.state ?? 'PENDING', null, last?.error ?? null);
        io.stderr(
          `machinery: timed out after ${formatDuration(opts.timeout)} waiting for task ${result.uuid} ` +
            `(${task}, state ${last?.state ?? 'unknown'}); \`machinery status ${result.uuid}\` shows it later\n`,
        );
        return EXIT.timeout;
      }
      throw e;
    }
  } finally {
    close();
  }
}

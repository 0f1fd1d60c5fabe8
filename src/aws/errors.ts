/**
 * Errors of the AWS adapter layer, and the one place where AWS SDK exceptions become core errors.
 *
 * Every adapter call goes through {@link translateAwsError} at its edge, so core (and the CLI)
 * only ever see `MachineryError` subclasses:
 *
 * | AWS / network error | becomes | code |
 * | --- | --- | --- |
 * | throttling (`ThrottlingException`, `ProvisionedThroughputExceededException`, `RequestLimitExceeded`, `TooManyRequestsException`, `RequestThrottled`, KMS throttling, HTTP 429) | {@link TransientInfrastructureError} | `TRANSIENT_INFRASTRUCTURE` |
 * | timeouts (`TimeoutError`, `RequestTimeout…`, `ETIMEDOUT`), 5xx, `ECONNRESET` / `EPIPE`, transaction conflicts | {@link TransientInfrastructureError} | `TRANSIENT_INFRASTRUCTURE` |
 * | `QueueDoesNotExist` (`AWS.SimpleQueueService.NonExistentQueue`) | {@link InfrastructureError} | `MISSING_QUEUE` |
 * | `ResourceNotFoundException` (DynamoDB table, Scheduler group or schedule) | {@link InfrastructureError} | `MISSING_RESOURCE` |
 * | `AccessDenied…`, `KmsAccessDenied`, `UnrecognizedClient`, `InvalidClientTokenId` | {@link InfrastructureError} | `ACCESS_DENIED` |
 * | `CredentialsProviderError` | {@link InfrastructureError} | `NO_CREDENTIALS` |
 * | `ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`, `EHOSTUNREACH`, `ENETUNREACH` | {@link InfrastructureError} | `ENDPOINT_UNREACHABLE` |
 * | refused for what the request carries: `ValidationException` about a size or a number out of range (an item over 400 KB, a key over 2,048 bytes, an attribute value too large), SQS `InvalidParameterValue` about the message size, `InvalidMessageContents`, `BatchRequestTooLong` | {@link MessageRejectedError} | `MESSAGE_REJECTED` |
 * | any other AWS error (a 4xx the request itself caused) | {@link InfrastructureError} | `AWS_REQUEST_REJECTED` |
 *
 * The connection errors in the last-but-one row are retried by the SDK first; when they reach us
 * the endpoint really is unreachable (nothing listens there, or the name does not resolve), which
 * no amount of re-delivery fixes, so they are permanent.
 *
 * @module
 */
import {
  InfrastructureError,
  MachineryError,
  MessageRejectedError,
  TransientInfrastructureError,
} from '../core/errors.js';

/**
 * The configuration is incomplete, invalid or contradictory: `MACHINERY_*` variables not set or
 * malformed (all of them named in one message), no configuration found, an SDK client *and* its
 * config passed together. The one configuration error of every layer: the CLI maps its code
 * `CONFIG` to exit code 2.
 *
 * @example
 * ```ts
 * try { resolveSettings(fromEnv(), { required: ['taskQueueUrl'] }); }
 * catch (e) { if (e instanceof ConfigError) console.error(e.message, e.variables); }
 * ```
 */
export class ConfigError extends MachineryError {
  /** The variables the message names as not set or invalid (empty when it is about none). */
  readonly variables: readonly string[];

  constructor(message: string, options?: { cause?: unknown; variables?: readonly string[] }) {
    super('CONFIG', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.variables = options?.variables ?? [];
  }
}

/**
 * A signature cannot be sent as one SQS message: its encoded body exceeds SQS's 1 MiB limit. A
 * {@link MessageRejectedError} (the message's content is the cause, so `classifyFault` gives
 * `message`) with its own code `MESSAGE_TOO_LARGE`.
 *
 * @example
 * ```ts
 * try { await broker.publish([{ signature: huge }]); }
 * catch (e) { if (e instanceof MessageTooLargeError) console.error(e.uuid, e.bytes); }
 * ```
 */
export class MessageTooLargeError extends MessageRejectedError {
  override readonly code: string = 'MESSAGE_TOO_LARGE';
  /** The task whose message is too large. */
  readonly uuid: string;
  /** Size of its message (body plus attributes), bytes. */
  readonly bytes: number;

  constructor(uuid: string, bytes: number, limit: number) {
    super(
      `the message of task ${uuid} is ${bytes} bytes, more than the ${limit} bytes SQS accepts`,
    );
    this.uuid = uuid;
    this.bytes = bytes;
  }
}

/**
 * Some messages could not be sent even after retries. Nothing was dropped silently: `unsent`
 * names every task whose message is not on the queue (the others were sent).
 *
 * @example
 * ```ts
 * try { await broker.publish(items); }
 * catch (e) { if (e instanceof PublishError) await retryLater(e.unsent); }
 * ```
 */
export class PublishError extends MachineryError {
  /** UUIDs of the signatures that were not sent. */
  readonly unsent: string[];
  /** Why they were not sent (SQS's error codes and messages). */
  readonly detail: string;

  constructor(unsent: string[], detail: string, options?: { cause?: unknown }) {
    const shown = unsent.slice(0, 10).join(', ');
    const more = unsent.length > 10 ? ` and ${unsent.length - 10} more` : '';
    super(
      'PUBLISH_FAILED',
      `${unsent.length} message(s) were not sent (${shown}${more}): ${detail}`,
      options,
    );
    this.unsent = unsent;
    this.detail = detail;
  }
}

/**
 * The SQS endpoint has no message move tasks (`StartMessageMoveTask`, `ListMessageMoveTasks`): it
 * answered an unknown-action error, as emulators such as fauxqs do. Callers fall back to moving
 * messages themselves, or say that the API is missing.
 *
 * @example
 * ```ts
 * try { await startMoveTask(sqs, input); }
 * catch (e) { if (e instanceof MoveTasksUnsupportedError) await redriveByLoop(); }
 * ```
 */
export class MoveTasksUnsupportedError extends MachineryError {
  constructor(operation: string, options?: { cause?: unknown }) {
    super(
      'MOVE_TASKS_UNSUPPORTED',
      `this SQS endpoint does not implement message move tasks (${operation} is an unknown action)`,
      options,
    );
  }
}

/** Where an AWS error happened, to word the sentence. */
export interface AwsErrorContext {
  /** Service name as people know it: `'SQS'`, `'DynamoDB'`, `'EventBridge Scheduler'`. */
  service?: string;
  /** The resource involved (queue URL or name, table name, schedule name). */
  resource?: string;
}

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'KmsThrottled',
  'KMSThrottlingException',
  'KMS.ThrottlingException',
  'SlowDown',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'OverLimit',
]);

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalServerError',
  'InternalServerException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TransactionInProgressException',
  'ReplicatedWriteConflictException',
  'AbortError',
]);

const TRANSIENT_SOCKET_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED']);
const UNREACHABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const MISSING_QUEUE_NAMES = new Set([
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'NonExistentQueue',
]);
const ACCESS_DENIED_NAMES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'KmsAccessDenied',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSecurity',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'ExpiredTokenException',
]);

/** SQS errors that always mean the message itself was refused. */
const MESSAGE_CONTENT_NAMES = new Set([
  'InvalidMessageContents',
  'AWS.SimpleQueueService.InvalidMessageContents',
  'BatchRequestTooLong',
  'AWS.SimpleQueueService.BatchRequestTooLong',
  'MessageTooLong',
]);
/** Errors that mean the message was refused when their text is about its size or its values. */
const VALIDATION_NAMES = new Set([
  'ValidationException',
  'ValidationError',
  'InvalidParameterValue',
  'AWS.SimpleQueueService.InvalidParameterValue',
]);
/** What a validation error says when the request's content, not its form, was refused. */
const CONTENT_REFUSAL =
  /item size|size of hashkey|primary key values must be under|(size|length).*exceed|exceed.*(size|length)|too (large|long)|must be shorter|number overflow|magnitude larger|larger than supported|out of range/i;

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  __type?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: unknown;
}

function asErrorLike(e: unknown): ErrorLike | undefined {
  return typeof e === 'object' && e !== null ? (e as ErrorLike) : undefined;
}

/** Every name-like string an error carries: `name`, `Code`, `code`, `__type` (after its `#`). */
function namesOf(e: ErrorLike): string[] {
  const out: string[] = [];
  for (const v of [e.name, e.Code, e.code, e.__type]) {
    if (typeof v === 'string' && v.length > 0)
      out.push(v.includes('#') ? (v.split('#').pop() ?? v) : v);
  }
  return out;
}

/** The error and everything it wraps (`cause`, `AggregateError.errors`), breadth first, bounded. */
function chainOf(e: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const queue: unknown[] = [e];
  while (queue.length > 0 && out.length < 20) {
    const el = asErrorLike(queue.shift());
    if (!el || out.includes(el)) continue;
    out.push(el);
    if (el.cause !== undefined) queue.push(el.cause);
    if (Array.isArray(el.errors)) queue.push(...el.errors);
  }
  return out;
}

function messageOf(e: unknown): string {
  const el = asErrorLike(e);
  const m = el && typeof el.message === 'string' ? el.message : String(e);
  return m.trim().replace(/\.$/, '');
}

function where(ctx: AwsErrorContext): string {
  const service = ctx.service ?? 'AWS';
  return ctx.resource ? `${service} (${ctx.resource})` : service;
}

/**
 * Translates an error thrown by the AWS SDK (or the network below it) into a core error, with a
 * stable `code` and one plain sentence as its message (the CLI prints it as is). The original error
 * is kept as `cause`. A `MachineryError` passes through unchanged; an error that is not from AWS
 * at all (no AWS name, code or metadata) is returned unchanged too, so programming errors keep
 * their stack.
 *
 * See the module documentation for the full table.
 *
 * @example
 * ```ts
 * try {
 *   await sqs.send(new SendMessageCommand(input));
 * } catch (e) {
 *   throw translateAwsError(e, { service: 'SQS', resource: input.QueueUrl });
 * }
 * ```
 */
export function translateAwsError(e: unknown, ctx: AwsErrorContext = {}): Error {
  if (e instanceof MachineryError) return e;
  const chain = chainOf(e);
  const names = new Set(chain.flatMap(namesOf));
  const has = (set: Set<string>) => [...names].some((n) => set.has(n));
  const top = chain[0];
  const status = top?.$metadata?.httpStatusCode;
  const svc = where(ctx);
  const detail = messageOf(e);

  if (names.has('CredentialsProviderError')) {
    return new InfrastructureError(
      'NO_CREDENTIALS',
      `no AWS credentials were found for ${svc}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where a role is available`,
      { cause: e },
    );
  }
  if (has(THROTTLING_NAMES) || status === 429) {
    return new TransientInfrastructureError(`${svc} throttled the request: ${detail}`, {
      cause: e,
    });
  }
  if (has(MISSING_QUEUE_NAMES)) {
    return new InfrastructureError(
      'MISSING_QUEUE',
      `the queue ${ctx.resource ? `${ctx.resource} ` : ''}does not exist: deploy the stack or run \`machinery local up\``,
      { cause: e },
    );
  }
  if (names.has('ResourceNotFoundException') || names.has('TableNotFoundException')) {
    return new InfrastructureError(
      'MISSING_RESOURCE',
      `${svc} says the resource does not exist (${detail}): deploy the stack or run \`machinery local up\``,
      { cause: e },
    );
  }
  if (has(ACCESS_DENIED_NAMES) || status === 403) {
    return new InfrastructureError(
      'ACCESS_DENIED',
      `${svc} denied access to the credentials in use (${detail}): grant the IAM actions the README lists`,
      { cause: e },
    );
  }
  if (has(UNREACHABLE_SOCKET_CODES)) {
    return new InfrastructureError(
      'ENDPOINT_UNREACHABLE',
      `${svc} could not be reached (${detail}): check the region and the AWS_ENDPOINT_URL_* variables, or start the local stack`,
      { cause: e },
    );
  }
  if (has(MESSAGE_CONTENT_NAMES) || (has(VALIDATION_NAMES) && CONTENT_REFUSAL.test(detail))) {
    return new MessageRejectedError(
      `${svc} refused the request for what the message carries: ${detail}`,
      { cause: e },
    );
  }
  if (
    has(TRANSIENT_NAMES) ||
    has(TRANSIENT_SOCKET_CODES) ||
    (status !== undefined && status >= 500) ||
    top?.$fault === 'server'
  ) {
    return new TransientInfrastructureError(`${svc} failed temporarily: ${detail}`, { cause: e });
  }
  const looksLikeAws =
    top !== undefined && (top.$metadata !== undefined || top.$fault !== undefined);
  if (looksLikeAws) {
    const name = typeof top.name === 'string' ? top.name : 'Error';
    return new InfrastructureError(
      'AWS_REQUEST_REJECTED',
      `${svc} rejected the request with ${name}: ${detail}`,
      {
        cause: e,
      },
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Whether an error (raw or translated) is a transient infrastructure error: the operation may
 * succeed if tried again later.
 *
 * @example
 * ```ts
 * if (isTransient(err)) return { kind: 'transient', error: err };
 * ```
 */
export function isTransient(e: unknown): boolean {
  return translateAwsError(e) instanceof TransientInfrastructureError;
}

/**
 * Whether a DynamoDB error is a refused condition (`ConditionalCheckFailedException`). By name,
 * not `instanceof`: robust to two copies of the SDK in one bundle.
 *
 * @example
 * ```ts
 * try { await ddb.send(update); } catch (e) { if (isConditionalCheckFailure(e)) return false; throw e; }
 * ```
 */
export function isConditionalCheckFailure(e: unknown): boolean {
  return (e as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

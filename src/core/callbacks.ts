/**
 * The callback signatures a finished task sends: its `OnSuccess` callbacks with the results
 * appended to their args (unless the task is `Immutable`), its `OnError` callbacks with the error
 * text prepended as a `string` arg, as machinery builds them.
 *
 * Owns how a callback is derived from its parent: a deterministic UUID for a callback without
 * one (`deriveTaskUUID(parent, 'OnSuccess/<i>')`, so copies sent again are recognised as
 * duplicates) and the parent's W3C trace context for a callback without its own. Leaves sending
 * to the dispatcher, and deciding when to send to the attempt (`attempt.ts`).
 *
 * @module
 */
import { deriveTaskUUID } from './signature.js';
import type { Arg, Signature, TypedValue } from './types.js';

/** W3C trace context headers, carried from a task to callbacks that have no trace context of their own. */
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

function traceHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of TRACE_HEADERS) if (headers[name] !== undefined) out[name] = headers[name];
  return out;
}

function callback(parent: Signature, cb: Signature, path: string, args: Arg[]): Signature {
  return {
    ...cb,
    UUID: cb.UUID === '' ? deriveTaskUUID(parent.UUID, path) : cb.UUID,
    Args: args,
    Headers:
      cb.Headers.traceparent === undefined
        ? { ...traceHeaders(parent.Headers), ...cb.Headers }
        : cb.Headers,
  };
}

/**
 * The `OnSuccess` callbacks of `parent`, ready to send: the results appended to each one's args
 * unless `parent.Immutable`.
 *
 * @example
 * ```ts
 * const next = onSuccessCallbacks(sig, [{ Type: 'int64', Value: 3 }]);
 * ```
 */
export function onSuccessCallbacks(parent: Signature, results: readonly TypedValue[]): Signature[] {
  const appended: Arg[] = results.map((r) => ({ Name: '', Type: r.Type, Value: r.Value }));
  return (parent.OnSuccess ?? []).map((cb, i) =>
    callback(parent, cb, `OnSuccess/${i}`, parent.Immutable ? cb.Args : [...cb.Args, ...appended]),
  );
}

/**
 * The `OnError` callbacks of `parent`, ready to send: the error text prepended to each one's
 * args as a `string`.
 *
 * @example
 * ```ts
 * const handlers = onErrorCallbacks(sig, 'division by zero');
 * ```
 */
export function onErrorCallbacks(parent: Signature, error: string): Signature[] {
  const first: Arg = { Name: '', Type: 'string', Value: error };
  return (parent.OnError ?? []).map((cb, i) =>
    callback(parent, cb, `OnError/${i}`, [first, ...cb.Args]),
  );
}

/**
 * Size bounds of what the processor writes and sends on a task's behalf: the error text stored in
 * task state and given to `OnError` callbacks, the typed results stored in the task's item, and
 * the bodies of the callbacks sent after a task finishes.
 *
 * Owns the measurements (UTF-8 bytes, DynamoDB's item-size rules) and the truncation of texts.
 * Leaves the limits themselves to `DEFAULTS` in `resources.ts`, the bounds on names and UUIDs to
 * signature decoding and sending, and what to do about an oversized result to the attempt
 * (`attempt.ts`: the task fails with `result-too-large`).
 *
 * @module
 */
import { encodeTypedValues } from './args.js';
import { encodeSignature } from './signature.js';
import type { Signature, TypedValue } from './types.js';

/**
 * Appended to a text cut by {@link truncateText}; the text keeps the first characters up to the
 * limit, this marker included.
 *
 * @example
 * ```ts
 * truncateText('x'.repeat(10_000), 4_096).endsWith(TRUNCATION_MARKER); // true
 * ```
 */
export const TRUNCATION_MARKER = '… [truncated]';

/**
 * `text` cut to at most `maxLength` UTF-16 code units, ending with {@link TRUNCATION_MARKER} when
 * it was cut. A surrogate pair is never split. A text within the limit is returned unchanged.
 *
 * @example
 * ```ts
 * truncateText('short', 4_096); // 'short'
 * truncateText('a'.repeat(5_000), 100).length; // 100
 * ```
 */
export function truncateText(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  let keep = Math.max(0, maxLength - TRUNCATION_MARKER.length);
  const last = text.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep -= 1;
  return `${text.slice(0, keep)}${TRUNCATION_MARKER}`.slice(0, Math.max(maxLength, 0));
}

/**
 * Bytes of `text` encoded as UTF-8 (what SQS and DynamoDB count).
 *
 * @example
 * ```ts
 * utf8Bytes('é'); // 2
 * ```
 */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Size of a number attribute by DynamoDB's rule: one byte per two significant digits, plus one.
 */
function numberBytes(n: number): number {
  const digits = String(Math.abs(n))
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/**
 * Size of a JSON-like value once stored as a DynamoDB attribute value, by the rules AWS documents
 * for item size: a string is its UTF-8 bytes; a number one byte per two significant digits plus
 * one; a boolean or null one byte; a list or map 3 bytes plus one byte per element plus its
 * elements (and, for a map, its keys).
 *
 * @example
 * ```ts
 * attributeValueBytes({ Type: 'int64', Value: 42 }); // 3 + (1 + 4 + 5) + (1 + 5 + 2) = 21
 * ```
 */
export function attributeValueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number') return numberBytes(value);
  if (Array.isArray(value)) {
    let n = 3;
    for (const v of value) n += 1 + attributeValueBytes(v);
    return n;
  }
  if (typeof value === 'object') {
    let n = 3;
    for (const [k, v] of Object.entries(value)) n += 1 + utf8Bytes(k) + attributeValueBytes(v);
    return n;
  }
  return utf8Bytes(String(value));
}

/**
 * Bytes the typed results of a task take in its item's `Results` attribute (see
 * {@link attributeValueBytes}), computed from their stored form (`encodeTypedValues`).
 *
 * @example
 * ```ts
 * storedResultBytes([{ Type: 'string', Value: 'x'.repeat(1000) }]) > 1000; // true
 * ```
 */
export function storedResultBytes(results: readonly TypedValue[]): number {
  return attributeValueBytes(encodeTypedValues(results));
}

/**
 * Bytes SQS counts for a signature sent as one message: its encoded body plus the trace-context
 * message attributes (`traceparent`, `tracestate`: name, data type `String` and value) the broker
 * adds.
 *
 * @example
 * ```ts
 * if (messageBytes(callback) > DEFAULTS.maxMessageBytes) throw new ResultTooLargeError('…');
 * ```
 */
export function messageBytes(signature: Signature): number {
  let n = utf8Bytes(encodeSignature(signature));
  for (const key of ['traceparent', 'tracestate']) {
    const v = signature.Headers[key];
    if (typeof v === 'string' && v.length > 0) n += utf8Bytes(key) + 'String'.length + utf8Bytes(v);
  }
  return n;
}

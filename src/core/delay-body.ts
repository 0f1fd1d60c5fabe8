/**
 * The wire codec of the delay queue's bodies: what a schedule's `Input` (and any delay-queue
 * message) holds, and the ids of periodic firings. Pure: the Scheduler adapter writes these
 * bodies, the forwarder reads them.
 *
 * | body | written for | the forwarder does |
 * | --- | --- | --- |
 * | an encoded signature (machinery's JSON) | one-time schedules whose input fits 8 KB; short ETAs | waits until its ETA, then publishes it |
 * | `{"machinery.ref":"<uuid>"}` | one-time schedules whose signature is larger than 8 KB | reads the body from the task's PENDING item, then as above |
 * | `{"machinery.periodic":{…}}` | recurring schedules | derives the firing's UUIDs from the schedule name and `<aws.scheduler.scheduled-time>`, records PENDING, publishes |
 *
 * Each periodic firing's UUIDs (task, group, chord) are UUID v5 of the schedule name, the firing's
 * scheduled time and the template's own id, so a firing Scheduler delivers twice (its retries) is
 * one task, deduplicated by the result backend and the FIFO queue.
 *
 * @module
 */
import { DelayBodyError } from './errors.js';
import { decodeSignature, encodeSignature, uuidV5 } from './signature.js';
import type { Signature } from './types.js';

/** Key of a by-reference delay-queue body: `{"machinery.ref":"<uuid>"}`. */
export const REFERENCE_KEY = 'machinery.ref';
/** Key of a periodic-firing delay-queue body. */
export const PERIODIC_KEY = 'machinery.periodic';
/** The Scheduler context attribute substituted with a firing's scheduled time. */
export const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';
/** Namespace of the UUID v5 ids of periodic firings (fixed: changing it changes every id). */
export const PERIODIC_UUID_NAMESPACE = 'e0e8d24b-31db-49c1-90c5-d8f92743fb33';

/**
 * Normalises a Scheduler `<aws.scheduled-time>` value to an ISO UTC string with milliseconds.
 * Throws {@link DelayBodyError} when it is not a time (e.g. the placeholder was not substituted).
 */
function normaliseScheduledTime(scheduledTime: string): string {
  const ms = Date.parse(scheduledTime);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(scheduledTime) || Number.isNaN(ms)) {
    throw new DelayBodyError(
      'scheduledTime',
      `periodic firing without a scheduled time ('${scheduledTime}'): the ${SCHEDULED_TIME_PLACEHOLDER} context attribute was not substituted`,
    );
  }
  return new Date(ms).toISOString();
}

/**
 * The id a periodic firing gives to a template id (a task, group or chord UUID): the template's
 * prefix (`task_`, `group_`, `chord_`; else `task_`) and a UUID v5 of the schedule name, the
 * firing's scheduled time and the template id. The same firing delivered twice gets the same ids.
 *
 * @example
 * ```ts
 * periodicFiringUUID('periodic-nightly', '2030-01-01T03:00:00Z', 'task_1…'); // 'task_<v5>'
 * ```
 */
export function periodicFiringUUID(
  scheduleName: string,
  scheduledTime: string,
  templateId: string,
): string {
  const prefix = /^(task|group|chord)_/.exec(templateId)?.[0] ?? 'task_';
  const time = normaliseScheduledTime(scheduledTime);
  return `${prefix}${uuidV5(`${scheduleName}\n${time}\n${templateId}`, PERIODIC_UUID_NAMESPACE)}`;
}

/**
 * The signatures of one periodic firing: the template with every task, group and chord id
 * replaced by {@link periodicFiringUUID} (consistently, so a chord callback shared by every member
 * stays one callback), every `ETA` cleared, nested `OnSuccess` / `OnError` / `ChordCallback`
 * included.
 *
 * @example
 * ```ts
 * const [sig] = materializePeriodicFiring([template], 'periodic-nightly', '2030-01-01T03:00:00Z');
 * ```
 */
export function materializePeriodicFiring(
  templates: readonly Signature[],
  scheduleName: string,
  scheduledTime: string,
): Signature[] {
  const ids = new Map<string, string>();
  const mapId = (id: string): string => {
    if (id === '') return id;
    let out = ids.get(id);
    if (out === undefined) {
      out = periodicFiringUUID(scheduleName, scheduledTime, id);
      ids.set(id, out);
    }
    return out;
  };
  // A template without a UUID gets one from its position, so two such templates stay distinct.
  const walk = (sig: Signature, path: string): Signature => ({
    ...sig,
    UUID: mapId(sig.UUID === '' ? `task_@${path}` : sig.UUID),
    GroupUUID: mapId(sig.GroupUUID),
    ETA: null,
    OnSuccess:
      sig.OnSuccess === null ? null : sig.OnSuccess.map((s, i) => walk(s, `${path}.s${i}`)),
    OnError: sig.OnError === null ? null : sig.OnError.map((s, i) => walk(s, `${path}.e${i}`)),
    ChordCallback: sig.ChordCallback === null ? null : walk(sig.ChordCallback, `${path}.c`),
  });
  return templates.map((t, i) => walk(t, String(i)));
}

/** What a periodic schedule starts. */
export type PeriodicKind = 'task' | 'chain' | 'group' | 'chord';

/**
 * A decoded delay-queue body.
 *
 * @example
 * ```ts
 * const body = parseDelayBody(record.body);
 * if (body.kind === 'reference') console.log(body.uuid);
 * ```
 */
export type DelayBody =
  | { kind: 'signature'; signature: Signature }
  | { kind: 'reference'; uuid: string }
  | {
      kind: 'periodic';
      schedule: string;
      scheduledTime: string;
      workflow: PeriodicKind;
      templates: Signature[];
    };

/**
 * The small body that stands for a signature kept in its task's PENDING item.
 *
 * @example
 * ```ts
 * encodeReference('task_1'); // '{"machinery.ref":"task_1"}'
 * ```
 */
export function encodeReference(uuid: string): string {
  return JSON.stringify({ [REFERENCE_KEY]: uuid });
}

/**
 * The `Input` of a recurring schedule: the templates (encoded signatures, exact) and the
 * `<aws.scheduler.scheduled-time>` placeholder Scheduler substitutes at each firing.
 *
 * @example
 * ```ts
 * const input = encodePeriodicInput('periodic-nightly', 'task', [template]);
 * ```
 */
export function encodePeriodicInput(
  scheduleName: string,
  workflow: PeriodicKind,
  templates: readonly Signature[],
): string {
  return JSON.stringify({
    [PERIODIC_KEY]: {
      v: 1,
      schedule: scheduleName,
      scheduledTime: SCHEDULED_TIME_PLACEHOLDER,
      workflow,
      signatures: templates.map((t) => encodeSignature(t)),
    },
  });
}

const ENVELOPE = /^\s*\{\s*"machinery\.(ref|periodic)"\s*:/;

/**
 * Decodes a delay-queue body: a signature (machinery's JSON), a reference, or a periodic firing.
 * Throws {@link DelayBodyError} for a malformed envelope and the core's signature decode error
 * for a malformed signature.
 *
 * @example
 * ```ts
 * parseDelayBody('{"machinery.ref":"task_1"}'); // { kind: 'reference', uuid: 'task_1' }
 * ```
 */
export function parseDelayBody(body: string): DelayBody {
  const envelope = ENVELOPE.exec(body);
  if (envelope === null) return { kind: 'signature', signature: decodeSignature(body) };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new DelayBodyError('body', 'delay-queue body is not JSON', { cause });
  }
  const obj = json as Record<string, unknown>;
  if (envelope[1] === 'ref') {
    const uuid = obj[REFERENCE_KEY];
    if (typeof uuid !== 'string' || uuid === '') {
      throw new DelayBodyError(REFERENCE_KEY, `${REFERENCE_KEY} must be a non-empty task UUID`);
    }
    return { kind: 'reference', uuid };
  }
  const p = obj[PERIODIC_KEY] as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null) {
    throw new DelayBodyError(PERIODIC_KEY, `${PERIODIC_KEY} must be an object`);
  }
  if (typeof p.schedule !== 'string' || p.schedule === '') {
    throw new DelayBodyError('schedule', 'periodic firing without a schedule name');
  }
  if (typeof p.scheduledTime !== 'string') {
    throw new DelayBodyError('scheduledTime', 'periodic firing without a scheduled time');
  }
  const scheduledTime = normaliseScheduledTime(p.scheduledTime);
  const workflow = p.workflow ?? 'task';
  if (workflow !== 'task' && workflow !== 'chain' && workflow !== 'group' && workflow !== 'chord') {
    throw new DelayBodyError('workflow', `unknown periodic workflow '${String(workflow)}'`);
  }
  if (!Array.isArray(p.signatures) || p.signatures.length === 0) {
    throw new DelayBodyError('signatures', 'periodic firing without signatures');
  }
  const templates = p.signatures.map((s: unknown, i: number) => {
    if (typeof s !== 'string') {
      throw new DelayBodyError(
        `signatures[${i}]`,
        'a periodic template must be an encoded signature',
      );
    }
    return decodeSignature(s);
  });
  return { kind: 'periodic', schedule: p.schedule, scheduledTime, workflow, templates };
}

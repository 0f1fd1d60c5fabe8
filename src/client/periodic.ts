/**
 * Periodic tasks, like machinery's `RegisterPeriodicTask`, `RegisterPeriodicChain`,
 * `RegisterPeriodicGroup` and `RegisterPeriodicChord`: recurring EventBridge Scheduler schedules
 * (`cron()` / `rate()`) whose target is the delay queue. At each firing the forwarder gives every
 * task (and group, chord) of the template a UUID derived from the schedule name and the firing's
 * scheduled time, records it PENDING and sends it — so a firing Scheduler delivers twice is one
 * task.
 *
 * ## Schedules
 *
 * `spec` is machinery's 5-field cron (`"*\/5 * * * *"`: minute, hour, day of month, month, day of
 * week with Sunday = 0), translated to Scheduler's 6-field `cron()`; or a Scheduler expression as
 * is: `rate(1 minute)`, `rate(2 hours)`, `cron(0 3 * * ? *)`. Cron times are in `timezone`
 * (IANA, default UTC). Unlike machinery, nothing runs in your process and no lock is needed: the
 * schedule lives in AWS, registering twice replaces it, and it fires whether or not a producer is
 * running.
 *
 * ## Workflows
 *
 * A chain is machinery's: each signature's `OnSuccess` is the next one. A group's members run in
 * parallel, sharing a `GroupUUID`. A chord's callback (`ChordCallback`) fires only when the worker
 * counts the group's completions (a `WorkflowExtension` of the processor); without one, a periodic
 * chord's members run at each firing but its callback does not fire.
 *
 * @module
 */
import { MachineryError } from '../core/errors.js';
import type { OneTimeSchedule, PeriodicSpec, Scheduler } from '../core/ports.js';
import { newChordUUID, newGroupUUID, newTaskUUID } from '../core/signature.js';
import type { Signature } from '../core/types.js';

/**
 * A schedule spec that is neither machinery's 5-field cron nor a Scheduler `rate()` / `cron()`.
 *
 * @example
 * ```ts
 * try { toScheduleExpression('every day'); } catch (e) { if (e instanceof PeriodicSpecError) console.error(e.message); }
 * ```
 */
export class PeriodicSpecError extends MachineryError {
  constructor(message: string) {
    super('INVALID_PERIODIC_SPEC', message);
  }
}

/** Shifts numeric day-of-week values from Unix cron (Sunday = 0 or 7) to Scheduler's (Sunday = 1). */
function shiftDayOfWeek(field: string, spec: string): string {
  return field
    .split(',')
    .map((part) => {
      const [range, step] = part.split('/') as [string, string | undefined];
      const shifted = range.replace(/\d+/g, (d) => {
        const n = Number(d);
        if (n > 7) throw new PeriodicSpecError(`invalid day of week ${d} in '${spec}'`);
        return String((n % 7) + 1);
      });
      return step === undefined ? shifted : `${shifted}/${step}`;
    })
    .join(',');
}

/**
 * The Scheduler expression of a periodic spec: `rate(...)` / `cron(...)` unchanged; machinery's
 * 5-field cron (`m h dom mon dow`) as `cron(m h dom mon dow *)`, with `?` for the unused day
 * field (Scheduler cannot restrict both day fields) and day-of-week numbers moved from Sunday = 0
 * to Sunday = 1. Throws {@link PeriodicSpecError} for anything else.
 *
 * @example
 * ```ts
 * toScheduleExpression('*\/5 * * * *');  // 'cron(*\/5 * * * ? *)'
 * toScheduleExpression('0 9 * * 1-5');  // 'cron(0 9 ? * 2-6 *)'
 * toScheduleExpression('rate(1 minute)'); // 'rate(1 minute)'
 * ```
 */
export function toScheduleExpression(spec: string): string {
  const trimmed = spec.trim();
  if (/^(rate|cron)\(.*\)$/.test(trimmed)) return trimmed;
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) {
    throw new PeriodicSpecError(
      `invalid periodic spec '${spec}': use a 5-field cron (minute hour day-of-month month day-of-week) or rate(...)/cron(...)`,
    );
  }
  let [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  if (dow === '*' || dow === '?') dow = '?';
  else if (dom === '*' || dom === '?') {
    dom = '?';
    dow = shiftDayOfWeek(dow, spec);
  } else {
    throw new PeriodicSpecError(
      `invalid periodic spec '${spec}': EventBridge Scheduler cannot restrict both day of month and day of week`,
    );
  }
  return `cron(${minute} ${hour} ${dom} ${month} ${dow} *)`;
}

/**
 * Options of the register functions.
 *
 * @example
 * ```ts
 * const opts: PeriodicOptions = { timezone: 'Europe/Paris' };
 * ```
 */
export interface PeriodicOptions {
  /** IANA time zone of a cron spec. @default 'UTC' */
  timezone?: string;
}

function withUUID(sig: Signature): Signature {
  return sig.UUID === '' ? { ...sig, UUID: newTaskUUID() } : { ...sig };
}

async function put(
  scheduler: Scheduler,
  name: string,
  spec: string,
  kind: NonNullable<PeriodicSpec['kind']>,
  signatures: Signature[],
  options: PeriodicOptions,
): Promise<PeriodicSpec> {
  const [first] = signatures;
  if (first === undefined) throw new PeriodicSpecError(`periodic ${kind} '${name}' has no tasks`);
  const periodic: PeriodicSpec = {
    name,
    expression: toScheduleExpression(spec),
    timezone: options.timezone ?? 'UTC',
    signature: first,
    kind,
  };
  if (kind === 'group' || kind === 'chord') periodic.members = signatures;
  await scheduler.putPeriodic(periodic);
  return periodic;
}

/**
 * Registers (or replaces) a periodic task: machinery's `RegisterPeriodicTask(spec, name, sig)`.
 * Resolves with what was stored.
 *
 * @example
 * ```ts
 * await registerPeriodicTask(scheduler, '*\/1 * * * *', 'every-minute', newSignature('add', args));
 * ```
 */
export function registerPeriodicTask(
  scheduler: Scheduler,
  spec: string,
  name: string,
  signature: Signature,
  options: PeriodicOptions = {},
): Promise<PeriodicSpec> {
  return put(scheduler, name, spec, 'task', [withUUID(signature)], options);
}

/**
 * Registers a periodic chain: machinery's `RegisterPeriodicChain`. Each signature's `OnSuccess` is
 * set to the next one (machinery's `NewChain`), so each task gets the previous one's results
 * appended to its args (unless it is `Immutable`).
 *
 * @example
 * ```ts
 * await registerPeriodicChain(scheduler, 'rate(1 hour)', 'hourly', add12, multiplyBy4);
 * ```
 */
export function registerPeriodicChain(
  scheduler: Scheduler,
  spec: string,
  name: string,
  ...signatures: [Signature, ...Signature[]]
): Promise<PeriodicSpec> {
  return registerPeriodicChainWith(scheduler, spec, name, signatures);
}

/**
 * {@link registerPeriodicChain} with options.
 *
 * @example
 * ```ts
 * await registerPeriodicChainWith(scheduler, '0 3 * * *', 'nightly', [a, b], { timezone: 'Europe/Paris' });
 * ```
 */
export function registerPeriodicChainWith(
  scheduler: Scheduler,
  spec: string,
  name: string,
  signatures: readonly Signature[],
  options: PeriodicOptions = {},
): Promise<PeriodicSpec> {
  let next: Signature | undefined;
  for (let i = signatures.length - 1; i >= 0; i--) {
    const sig = withUUID(signatures[i] as Signature);
    if (next !== undefined) sig.OnSuccess = [next];
    next = sig;
  }
  return put(scheduler, name, spec, 'chain', next === undefined ? [] : [next], options);
}

function asGroup(signatures: readonly Signature[]): Signature[] {
  const groupUUID = newGroupUUID();
  return signatures.map((s) => ({
    ...withUUID(s),
    GroupUUID: groupUUID,
    GroupTaskCount: signatures.length,
  }));
}

/**
 * Registers a periodic group: machinery's `RegisterPeriodicGroup`. Every firing sends all members
 * at once (parallel, each in its own message group unless it sets `BrokerMessageGroupId`), with a
 * fresh `GroupUUID` per firing.
 *
 * @example
 * ```ts
 * await registerPeriodicGroup(scheduler, 'rate(5 minutes)', 'fan-out', [a, b, c]);
 * ```
 */
export function registerPeriodicGroup(
  scheduler: Scheduler,
  spec: string,
  name: string,
  signatures: readonly Signature[],
  options: PeriodicOptions = {},
): Promise<PeriodicSpec> {
  return put(scheduler, name, spec, 'group', asGroup(signatures), options);
}

/**
 * Registers a periodic chord: machinery's `RegisterPeriodicChord`. The members run at each
 * firing; the callback fires when the worker counts the group's completions — see the module
 * documentation.
 *
 * @example
 * ```ts
 * await registerPeriodicChord(scheduler, 'rate(1 hour)', 'sum-hourly', [a, b], sumCallback);
 * ```
 */
export function registerPeriodicChord(
  scheduler: Scheduler,
  spec: string,
  name: string,
  signatures: readonly Signature[],
  callback: Signature,
  options: PeriodicOptions = {},
): Promise<PeriodicSpec> {
  const cb: Signature = callback.UUID === '' ? { ...callback, UUID: newChordUUID() } : callback;
  const members = asGroup(signatures).map((s) => ({ ...s, ChordCallback: cb }));
  return put(scheduler, name, spec, 'chord', members, options);
}

/**
 * Every periodic task of the deployment, sorted by name.
 *
 * @example
 * ```ts
 * for (const p of await listPeriodicTasks(scheduler)) console.log(p.name, p.expression);
 * ```
 */
export function listPeriodicTasks(scheduler: Scheduler): Promise<PeriodicSpec[]> {
  return scheduler.listPeriodic();
}

/**
 * Deletes a periodic task: no firing starts after this resolves (a firing already on the delay
 * queue still runs). `false` when there was none.
 *
 * @example
 * ```ts
 * await deletePeriodicTask(scheduler, 'every-minute');
 * ```
 */
export function deletePeriodicTask(scheduler: Scheduler, name: string): Promise<boolean> {
  return scheduler.deletePeriodic(name);
}

/**
 * Every one-time schedule of the deployment: the tasks sent with an ETA more than 15 minutes away
 * that have not fired yet, soonest first (`machinery periodic list --all`). Each one costs a
 * `GetSchedule`, so this reads one schedule per waiting task.
 *
 * @example
 * ```ts
 * for (const s of await listOneTimeSchedules(scheduler)) console.log(s.uuid, s.name, s.eta);
 * ```
 */
export function listOneTimeSchedules(scheduler: Scheduler): Promise<OneTimeSchedule[]> {
  return scheduler.listOnce();
}

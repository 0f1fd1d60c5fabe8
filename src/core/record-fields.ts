/**
 * What a task's stored record keeps of its signature besides name and state: the ETA and, for a
 * member of a group or chord, its `GroupUUID` and index. Both result backends store these when
 * they create the record (`putPending`, or the claim of a task no producer recorded), so
 * `machinery status` can show them.
 *
 * @module
 */
import type { TaskRecord } from './ports.js';
import { etaToMillis } from './time.js';
import type { Signature, TaskState } from './types.js';
import { groupIndexOf } from './workflow.js';

/**
 * The optional {@link TaskRecord} fields a signature gives its record: `eta` (epoch ms) when it
 * has a well-formed ETA, `groupUUID` when it is a group member, `groupIndex` when its index header
 * is valid. Fields it does not have are left out.
 *
 * @example
 * ```ts
 * signatureRecordFields(newSignature('add', [], { ETA: '2030-01-01T00:00:00Z' })); // { eta: 1893456000000 }
 * ```
 */
export function signatureRecordFields(
  signature: Signature,
): Pick<TaskRecord, 'eta' | 'groupUUID' | 'groupIndex'> {
  let eta: number | null = null;
  try {
    eta = etaToMillis(signature.ETA);
  } catch {
    // a malformed ETA is refused at send and dead-lettered on receipt; nothing to keep
  }
  const index = signature.GroupUUID === '' ? undefined : groupIndexOf(signature);
  return {
    ...(eta === null ? {} : { eta }),
    ...(signature.GroupUUID === '' ? {} : { groupUUID: signature.GroupUUID }),
    ...(index === undefined ? {} : { groupIndex: index }),
  };
}

/**
 * A task record as it stands when first written: no results, no error, no attempt, no lease, not
 * dead-lettered, no body by reference.
 *
 * @example
 * ```ts
 * const rec = freshTaskRecord('task_1', 'add', 'PENDING', Date.now(), Date.now() + 3_600_000);
 * ```
 */
export function freshTaskRecord(
  uuid: string,
  name: string,
  state: TaskState,
  now: number,
  expiresAt: number,
): TaskRecord {
  return {
    uuid,
    name,
    state,
    results: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    attempt: 0,
    retries: 0,
    crashes: 0,
    leaseUntil: null,
    deadLettered: false,
    deadLetterReason: null,
    expiresAt,
    body: null,
  };
}

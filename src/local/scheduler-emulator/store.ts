/**
 * The Scheduler emulator's state: schedule groups (the `default` group always exists) and the
 * schedules in them, their ARNs, and the conflicts and not-found answers of the API (a repeated
 * `ClientToken` makes a create idempotent).
 *
 * It tells a {@link ScheduleWatcher} (the delivery) when a schedule is set or removed, and leaves
 * firing to `delivery.ts`, request checking to `validation.ts` and the wire format to `http.ts`.
 *
 * @module
 */
import {
  type ScheduleRequest,
  SchedulerApiError,
  type ScheduleSettings,
  type Tag,
} from './validation.js';

/**
 * A schedule group as stored (times in epoch ms).
 *
 * @example
 * ```ts
 * const group: StoredGroup = store.getGroup('default');
 * ```
 */
export interface StoredGroup {
  Name: string;
  Arn: string;
  CreationDate: number;
  LastModificationDate: number;
  Tags: Tag[];
  clientToken: string | undefined;
}

/**
 * A schedule as stored (times in epoch ms), with its parsed expression.
 *
 * @example
 * ```ts
 * const schedule: StoredSchedule = store.getSchedule('default', 'job');
 * schedule.expression.kind; // 'rate'
 * ```
 */
export interface StoredSchedule extends ScheduleSettings {
  Name: string;
  GroupName: string;
  Arn: string;
  CreationDate: number;
  LastModificationDate: number;
  clientToken: string | undefined;
}

/**
 * Told when a schedule is created or replaced (`scheduled`) and when it is deleted
 * (`unscheduled`).
 *
 * @example
 * ```ts
 * store.watch({ scheduled: (s) => console.log('set', s.Name), unscheduled: (s) => console.log('gone', s.Name) });
 * ```
 */
export interface ScheduleWatcher {
  scheduled(schedule: StoredSchedule): void;
  unscheduled(schedule: StoredSchedule): void;
}

/**
 * Filters of {@link SchedulerStore.listSchedules} (`undefined`: any).
 *
 * @example
 * ```ts
 * store.listSchedules({ group: 'jobs', prefix: 'periodic-', state: 'ENABLED' });
 * ```
 */
export interface ScheduleFilter {
  group?: string | undefined;
  prefix?: string | undefined;
  state?: 'ENABLED' | 'DISABLED' | undefined;
}

const notFound = (message: string) => new SchedulerApiError('ResourceNotFoundException', message);

/**
 * Schedules and groups of one emulator, in memory.
 *
 * @example
 * ```ts
 * const store = new SchedulerStore({ region: 'us-east-1', accountId: '000000000000', now: Date.now() });
 * store.createSchedule('job', fields, Date.now());
 * ```
 */
export class SchedulerStore {
  readonly #region: string;
  readonly #accountId: string;
  readonly #groups = new Map<string, StoredGroup>();
  readonly #schedules = new Map<string, StoredSchedule>();
  #watcher: ScheduleWatcher | undefined;

  /** @param options.now creation time of the `default` group, epoch ms */
  constructor(options: { region: string; accountId: string; now: number }) {
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#groups.set('default', {
      Name: 'default',
      Arn: this.groupArn('default'),
      CreationDate: options.now,
      LastModificationDate: options.now,
      Tags: [],
      clientToken: undefined,
    });
  }

  /** Sets the one watcher told about schedules set and removed. */
  watch(watcher: ScheduleWatcher): void {
    this.#watcher = watcher;
  }

  /** The ARN of schedule group `name`. */
  groupArn(name: string): string {
    return `arn:aws:scheduler:${this.#region}:${this.#accountId}:schedule-group/${name}`;
  }

  /** Every schedule, in creation order. */
  schedules(): StoredSchedule[] {
    return [...this.#schedules.values()];
  }

  /** Group `name`; `ResourceNotFoundException` when there is none. */
  getGroup(name: string): StoredGroup {
    const group = this.#groups.get(name);
    if (!group) throw notFound(`Schedule group ${name} does not exist.`);
    return group;
  }

  /** Schedule `name` of `group`; `ResourceNotFoundException` when either does not exist. */
  getSchedule(group: string, name: string): StoredSchedule {
    this.getGroup(group);
    const schedule = this.#schedules.get(key(group, name));
    if (!schedule) throw notFound(`Schedule ${name} does not exist.`);
    return schedule;
  }

  /**
   * Creates schedule `name` at `now`; the same `ClientToken` again returns the existing one, any
   * other create of an existing name is a `ConflictException`.
   */
  createSchedule(name: string, request: ScheduleRequest, now: number): StoredSchedule {
    const { groupName, clientToken } = request;
    this.getGroup(groupName);
    const existing = this.#schedules.get(key(groupName, name));
    if (existing) {
      if (clientToken !== undefined && existing.clientToken === clientToken) {
        return existing;
      }
      throw new SchedulerApiError('ConflictException', `Schedule ${name} already exists.`);
    }
    const schedule: StoredSchedule = {
      Name: name,
      GroupName: groupName,
      Arn: `arn:aws:scheduler:${this.#region}:${this.#accountId}:schedule/${groupName}/${name}`,
      ...request.settings,
      CreationDate: now,
      LastModificationDate: now,
      clientToken,
    };
    this.#schedules.set(key(groupName, name), schedule);
    this.#watcher?.scheduled(schedule);
    return schedule;
  }

  /** Replaces every settable field of an existing schedule (`UpdateSchedule` is a full replacement). */
  updateSchedule(name: string, request: ScheduleRequest, now: number): StoredSchedule {
    const schedule = this.getSchedule(request.groupName, name);
    Object.assign(schedule, { ...request.settings, LastModificationDate: now });
    this.#watcher?.scheduled(schedule);
    return schedule;
  }

  /** Deletes an existing schedule. */
  deleteSchedule(group: string, name: string): void {
    this.#remove(this.getSchedule(group, name));
  }

  /**
   * Deletes `schedule` when it is still the one stored under its name (a one-time schedule with
   * `ActionAfterCompletion: DELETE` after its firing; a replacement made meanwhile stays).
   */
  deleteIfCurrent(schedule: StoredSchedule): void {
    if (this.#schedules.get(key(schedule.GroupName, schedule.Name)) === schedule) {
      this.#remove(schedule);
    }
  }

  /** The schedules matching `filter`, sorted by group, then name. */
  listSchedules(filter: ScheduleFilter): StoredSchedule[] {
    const { group, prefix, state } = filter;
    if (group !== undefined) this.getGroup(group);
    return [...this.#schedules.values()]
      .filter(
        (s) =>
          (group === undefined || s.GroupName === group) &&
          (prefix === undefined || s.Name.startsWith(prefix)) &&
          (state === undefined || s.State === state),
      )
      .sort((a, b) => (key(a.GroupName, a.Name) < key(b.GroupName, b.Name) ? -1 : 1));
  }

  /**
   * Creates group `name` at `now`; the same `ClientToken` again returns the existing one, any
   * other create of an existing name is a `ConflictException`.
   */
  createGroup(
    name: string,
    request: { tags: Tag[]; clientToken: string | undefined },
    now: number,
  ): StoredGroup {
    const existing = this.#groups.get(name);
    if (existing) {
      if (request.clientToken !== undefined && existing.clientToken === request.clientToken) {
        return existing;
      }
      throw new SchedulerApiError('ConflictException', `Schedule group ${name} already exists.`);
    }
    const group: StoredGroup = {
      Name: name,
      Arn: this.groupArn(name),
      CreationDate: now,
      LastModificationDate: now,
      Tags: request.tags,
      clientToken: request.clientToken,
    };
    this.#groups.set(name, group);
    return group;
  }

  /** Deletes group `name` and, at once, its schedules; the `default` group cannot be deleted. */
  deleteGroup(name: string): void {
    if (name === 'default') {
      throw new SchedulerApiError('ValidationException', 'You cannot delete the default group.');
    }
    this.getGroup(name);
    for (const s of [...this.#schedules.values()]) if (s.GroupName === name) this.#remove(s);
    this.#groups.delete(name);
  }

  /** The groups whose name starts with `prefix` (any without), sorted by name. */
  listGroups(prefix: string | undefined): StoredGroup[] {
    return [...this.#groups.values()]
      .filter((g) => prefix === undefined || g.Name.startsWith(prefix))
      .sort((a, b) => (a.Name < b.Name ? -1 : 1));
  }

  /** The taggable resource (a group) of `arn`; `ResourceNotFoundException` when there is none. */
  taggable(arn: string): StoredGroup {
    for (const g of this.#groups.values()) if (g.Arn === arn) return g;
    throw notFound(`Resource ${arn} does not exist.`);
  }

  #remove(schedule: StoredSchedule): void {
    this.#schedules.delete(key(schedule.GroupName, schedule.Name));
    this.#watcher?.unscheduled(schedule);
  }
}

function key(group: string, name: string): string {
  return `${group}/${name}`;
}

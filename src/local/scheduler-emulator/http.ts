/**
 * The Scheduler emulator's HTTP side: the REST-JSON API `@aws-sdk/client-scheduler` speaks.
 * Routes `/schedules`, `/schedule-groups` and `/tags` requests to the store, shapes responses
 * (timestamps in epoch seconds, pagination tokens) and answers errors with `x-amzn-errortype` and
 * a JSON `{ Message }`, so the SDK throws `ValidationException`, `ConflictException` and
 * `ResourceNotFoundException` as with AWS.
 *
 * Checking request fields is `validation.ts`'s, keeping schedules `store.ts`'s, firing them
 * `delivery.ts`'s.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Clock } from '../../core/clock.js';
import type { SchedulerStore, StoredGroup, StoredSchedule } from './store.js';
import {
  asObject,
  checkName,
  type ErrorType,
  parseGroupRequest,
  parsePage,
  parseScheduleRequest,
  parseStateFilter,
  parseTags,
  SchedulerApiError,
  validation,
} from './validation.js';

/**
 * What the routes need besides the request.
 *
 * @example
 * ```ts
 * const context: ApiContext = { store, clock, maxInputBytes: 8192 };
 * ```
 */
export interface ApiContext {
  store: SchedulerStore;
  clock: Clock;
  /** Largest `Target.Input`, bytes. */
  maxInputBytes: number;
}

/**
 * A listening API server.
 *
 * @example
 * ```ts
 * const server = await startApiServer(context, 0);
 * await server.close();
 * ```
 */
export interface ApiServer {
  readonly port: number;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/** Epoch ms → epoch seconds, the wire format of timestamps. */
const toSeconds = (ms: number) => ms / 1000;

/** A schedule as `ListSchedules` lists it. */
function scheduleSummary(s: StoredSchedule) {
  return {
    Arn: s.Arn,
    Name: s.Name,
    GroupName: s.GroupName,
    State: s.State,
    CreationDate: toSeconds(s.CreationDate),
    LastModificationDate: toSeconds(s.LastModificationDate),
    Target: { Arn: s.Target.Arn },
  };
}

/** A schedule as `GetSchedule` answers it: the summary and every field set. */
function describeSchedule(s: StoredSchedule) {
  const optional = {
    ScheduleExpressionTimezone: s.ScheduleExpressionTimezone,
    StartDate: s.StartDate === undefined ? undefined : toSeconds(s.StartDate),
    EndDate: s.EndDate === undefined ? undefined : toSeconds(s.EndDate),
    Description: s.Description,
    KmsKeyArn: s.KmsKeyArn,
  };
  return {
    ...scheduleSummary(s),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    ScheduleExpression: s.ScheduleExpression,
    Target: s.Target,
    FlexibleTimeWindow: s.FlexibleTimeWindow,
    ActionAfterCompletion: s.ActionAfterCompletion,
  };
}

function describeGroup(g: StoredGroup) {
  return {
    Arn: g.Arn,
    Name: g.Name,
    State: 'ACTIVE',
    CreationDate: toSeconds(g.CreationDate),
    LastModificationDate: toSeconds(g.LastModificationDate),
  };
}

/** The page of `items` the query asks for, and the token of the next page when there is one. */
function paginate<T>(items: T[], query: URLSearchParams): { page: T[]; NextToken?: string } {
  const { start, max } = parsePage(query);
  const page = items.slice(start, start + max);
  return start + max < items.length
    ? { page, NextToken: Buffer.from(String(start + max)).toString('base64url') }
    : { page };
}

/** One API request: its method, the resource name of its path (decoded), its query and body. */
interface ApiRequest {
  method: string;
  name: string | undefined;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

function schedulesRoute(context: ApiContext, request: ApiRequest): unknown {
  const { store, clock, maxInputBytes } = context;
  const { method, name, query, body } = request;
  if (name === undefined) {
    if (method !== 'GET') return undefined;
    const { page, ...next } = paginate(
      store.listSchedules({
        group: query.get('ScheduleGroup') ?? undefined,
        prefix: query.get('NamePrefix') ?? undefined,
        state: parseStateFilter(query),
      }),
      query,
    );
    return { Schedules: page.map(scheduleSummary), ...next };
  }
  const fields = () => parseScheduleRequest(name, body, { now: clock.now(), maxInputBytes });
  if (method === 'POST')
    return { ScheduleArn: store.createSchedule(name, fields(), clock.now()).Arn };
  if (method === 'PUT')
    return { ScheduleArn: store.updateSchedule(name, fields(), clock.now()).Arn };
  const group = query.get('groupName') ?? 'default';
  if (method === 'GET') {
    checkName(name, 'name');
    return describeSchedule(store.getSchedule(group, name));
  }
  if (method === 'DELETE') {
    checkName(name, 'name');
    store.deleteSchedule(group, name);
    return {};
  }
  return undefined;
}

function groupsRoute(context: ApiContext, request: ApiRequest): unknown {
  const { store, clock } = context;
  const { method, name, query, body } = request;
  if (name === undefined) {
    if (method !== 'GET') return undefined;
    const { page, ...next } = paginate(
      store.listGroups(query.get('NamePrefix') ?? undefined),
      query,
    );
    return { ScheduleGroups: page.map(describeGroup), ...next };
  }
  if (method === 'POST') {
    const group = store.createGroup(name, parseGroupRequest(name, body), clock.now());
    return { ScheduleGroupArn: group.Arn };
  }
  if (method === 'GET') {
    checkName(name, 'name');
    return describeGroup(store.getGroup(name));
  }
  if (method === 'DELETE') {
    checkName(name, 'name');
    store.deleteGroup(name);
    return {};
  }
  return undefined;
}

function tagsRoute(context: ApiContext, request: ApiRequest & { name: string }): unknown {
  const { method, name: arn, query, body } = request;
  const resource = context.store.taggable(arn);
  if (method === 'GET') return { Tags: resource.Tags };
  if (method === 'POST') {
    for (const tag of parseTags(body.Tags)) {
      resource.Tags = [...resource.Tags.filter((t) => t.Key !== tag.Key), tag];
    }
    return {};
  }
  if (method === 'DELETE') {
    const keys = new Set(query.getAll('TagKeys'));
    resource.Tags = resource.Tags.filter((t) => !keys.has(t.Key));
    return {};
  }
  return undefined;
}

/**
 * Answers one API request: the response payload, or a thrown {@link SchedulerApiError}.
 *
 * @example
 * ```ts
 * route(context, 'GET', ['schedules'], new URLSearchParams(), {}); // { Schedules: [...] }
 * ```
 */
export function route(
  context: ApiContext,
  method: string,
  path: string[],
  query: URLSearchParams,
  body: Record<string, unknown>,
): unknown {
  const [collection, rawName, ...rest] = path;
  if (rest.length > 0)
    throw new SchedulerApiError('ResourceNotFoundException', 'Unknown operation.');
  const name = rawName === undefined ? undefined : decodeURIComponent(rawName);
  const request = { method, name, query, body };
  let out: unknown;
  if (collection === 'schedules') out = schedulesRoute(context, request);
  else if (collection === 'schedule-groups') out = groupsRoute(context, request);
  else if (collection === 'tags' && name !== undefined)
    out = tagsRoute(context, { ...request, name });
  if (out === undefined) {
    throw new SchedulerApiError(
      'ResourceNotFoundException',
      `No operation for ${method} /${path.join('/')}.`,
    );
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw validation('The request body is not valid JSON.', cause);
  }
  return asObject(parsed, 'body');
}

function respond(
  res: ServerResponse,
  status: number,
  payload: unknown,
  errorType?: ErrorType,
): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

/**
 * Starts the API on `127.0.0.1:<port>` (`0`: a free port).
 *
 * @example
 * ```ts
 * const server = await startApiServer({ store, clock, maxInputBytes: 8192 }, 0);
 * `http://127.0.0.1:${server.port}`;
 * ```
 */
export async function startApiServer(context: ApiContext, port: number): Promise<ApiServer> {
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const path = url.pathname.split('/').filter((p) => p !== '');
        const body = await readBody(req);
        respond(res, 200, route(context, req.method ?? 'GET', path, url.searchParams, body));
      } catch (e) {
        if (e instanceof SchedulerApiError) respond(res, e.status, { Message: e.message }, e.type);
        else respond(res, 500, { Message: String(e) }, 'InternalServerException');
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

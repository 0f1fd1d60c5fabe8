/**
 * The web console over plain HTTP on the emulators: its JSON endpoints answer from the SDK
 * functions, and its safety rules hold (foreign Host or Origin refused, actions need the session's
 * token, `--read-only` refuses every action, no credential reaches the page).
 */
import { request } from 'node:http';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromLocalValues } from '../../src/cli/config.js';
import { createClient } from '../../src/client/index.js';
import { registerPeriodicTask } from '../../src/client/periodic.js';
import { type ConsoleServer, startConsole, TOKEN_HEADER } from '../../src/console/server.js';
import { newSignature } from '../../src/core/signature.js';
import { queueDepth, waitFor } from '../integration/aws-helpers.js';
import { startMachinery } from '../integration/support/cli.js';
import { getTestStack, type TestStack } from '../integration/support/stack.js';

/** A secret no answer of the console may contain (the emulators do not check it). */
const SECRET = 'console-test-secret-never-on-the-page';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => { error?: string; code?: string } & Record<string, unknown>;
}

/** One HTTP request with full control of the headers (`Host` included). */
function call(
  server: Pick<ConsoleServer, 'port'>,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: options.method ?? 'GET',
        headers: {
          host: `127.0.0.1:${server.port}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('Function: startConsole', () => {
  let stack: TestStack;
  let env: Record<string, string>;
  let server: ConsoleServer;
  let readOnly: ConsoleServer;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'console-http' });
    env = { ...stack.env, AWS_SECRET_ACCESS_KEY: SECRET };
    server = await startConsole({ config: configFromLocalValues(env), port: 0, sampleMs: 200 });
    readOnly = await startConsole({
      config: configFromLocalValues(env),
      port: 0,
      readOnly: true,
      sampleMs: 200,
    });
  });

  afterAll(async () => {
    await server?.close();
    await readOnly?.close();
    await stack?.stop();
  });

  it('serves the page with the session token and no credential', async () => {
    // Act
    const page = await call(server, '/');
    const meta = await call(server, '/api/meta');
    const queues = await call(server, '/api/queues');

    // Assess
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<meta name="machinery-token" content="${server.token}">`);
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['set-cookie']).toBeUndefined();
    for (const answer of [page, meta, queues]) expect(answer.text).not.toContain(SECRET);
    expect(meta.json()).toMatchObject({ readOnly: false, dlqs: expect.arrayContaining(['task']) });
  });

  it('answers the JSON endpoints from the local stack', async () => {
    // Prepare: a task sent with no worker running is PENDING in the task queue
    const client = createClient({
      source: configFromLocalValues(env),
      batching: { enabled: false },
    });
    const sent = await client.sendTask(
      newSignature('add', [
        { Name: '', Type: 'int64', Value: 1 },
        { Name: '', Type: 'int64', Value: 2 },
      ]),
    );
    client.close();
    await waitFor(async () =>
      (await queueDepth(stack.clients.sqs, env.MACHINERY_TASK_QUEUE_URL ?? '')) > 0
        ? true
        : undefined,
    );

    // Act
    const queues = await waitFor(async () => {
      const doc = (await call(server, '/api/queues')).json() as {
        samples: { queues: { queue: string; visible: number }[] }[];
      };
      const task = doc.samples.at(-1)?.queues.find((q) => q.queue === 'task');
      return task !== undefined && task.visible > 0 ? doc : undefined;
    });
    const task = await call(server, `/api/tasks/${sent.uuid}`);
    const unknown = await call(server, '/api/tasks/task_unknown');
    const group = await call(server, '/api/workflows/group_unknown');
    const dlq = await call(server, '/api/dlq/task');
    const workers = await call(server, '/api/workers');
    const schedules = await call(server, '/api/schedules');

    // Assess
    expect(queues.samples.length).toBeGreaterThan(0);
    expect(queues.samples.length).toBeLessThanOrEqual(120);
    expect(task.status).toBe(200);
    expect(task.json()).toMatchObject({
      uuid: sent.uuid,
      name: 'add',
      state: 'PENDING',
      attempts: 0,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json().error).toMatch(/^no task task_unknown: /);
    expect(group.status).toBe(404);
    expect(dlq.status).toBe(200);
    expect(dlq.json()).toEqual([]);
    expect(workers.status).toBe(200);
    expect(workers.json()).toMatchObject({ workers: [] });
    expect(schedules.status).toBe(200);
    expect(schedules.json()).toMatchObject({ configured: true, periodic: [], oneTime: [] });
  });

  it('refuses a request whose Host is not its own', async () => {
    // Act
    const page = await call(server, '/', { headers: { host: `evil.example:${server.port}` } });
    const api = await call(server, '/api/meta', { headers: { host: 'evil.example' } });

    // Assess
    expect(page.status).toBe(403);
    expect(page.text).not.toContain(server.token);
    expect(api.status).toBe(403);
    expect(api.json().code).toBe('CONSOLE_FOREIGN_HOST');
  });

  it('refuses a request whose Origin is not its page', async () => {
    // Act
    const get = await call(server, '/api/meta', { headers: { origin: 'http://evil.example' } });
    const post = await call(server, '/api/dlq/task/purge', {
      method: 'POST',
      headers: { origin: `http://evil.example:${server.port}`, [TOKEN_HEADER]: server.token },
      body: { confirm: 'task' },
    });
    const own = await call(server, '/api/meta', {
      headers: { origin: `http://127.0.0.1:${server.port}` },
    });

    // Assess
    expect(get.status).toBe(403);
    expect(post.status).toBe(403);
    expect(post.json().code).toBe('CONSOLE_FOREIGN_ORIGIN');
    expect(own.status).toBe(200);
  });

  it('refuses an action without the session token or with another one', async () => {
    // Act
    const none = await call(server, '/api/dlq/task/redrive', { method: 'POST', body: {} });
    const wrong = await call(server, '/api/dlq/task/purge', {
      method: 'POST',
      headers: { [TOKEN_HEADER]: 'x'.repeat(server.token.length) },
      body: { confirm: 'task' },
    });

    // Assess
    expect(none.status).toBe(403);
    expect(none.json().code).toBe('CONSOLE_BAD_TOKEN');
    expect(wrong.status).toBe(403);
    expect(wrong.json().code).toBe('CONSOLE_BAD_TOKEN');
  });

  it('refuses a purge whose typed confirmation is not the queue name, and purges with it', async () => {
    // Act
    const unconfirmed = await call(server, '/api/dlq/task/purge', {
      method: 'POST',
      headers: { [TOKEN_HEADER]: server.token },
      body: { confirm: 'tas' },
    });
    const confirmed = await call(server, '/api/dlq/task/purge', {
      method: 'POST',
      headers: { [TOKEN_HEADER]: server.token },
      body: { confirm: 'task' },
    });

    // Assess
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.json().error).toContain('type "task" to confirm');
    expect(confirmed.status).toBe(200);
    expect(confirmed.json()).toEqual({ purged: 'task' });
  });

  it('refuses every action when read-only, and gives the page no token', async () => {
    // Prepare
    const headers = { [TOKEN_HEADER]: readOnly.token };

    // Act
    const page = await call(readOnly, '/');
    const answers = await Promise.all(
      [
        ['/api/dlq/task/redrive', {}],
        ['/api/dlq/task/redrive', { uuids: ['task_1'] }],
        ['/api/dlq/task/purge', { confirm: 'task' }],
        ['/api/dlq/delay/purge', { confirm: 'delay' }],
        ['/api/meta', {}],
      ].map(([path, body]) => call(readOnly, String(path), { method: 'POST', headers, body })),
    );
    const meta = await call(readOnly, '/api/meta');

    // Assess
    expect(page.text).toContain('<meta name="machinery-token" content="">');
    expect(page.text).toContain('<meta name="machinery-read-only" content="true">');
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.json().code).toBe('CONSOLE_READ_ONLY');
    }
    expect(meta.json()).toMatchObject({ readOnly: true });
  });
});

describe('Function: startConsole (sampling, redrive jobs, configuration, AWS errors)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'console-err' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('keeps the last 120 queue samples, dropping the oldest first', async () => {
    // Prepare
    const server = await startConsole({
      config: configFromLocalValues(stack.env),
      port: 0,
      sampleMs: 5,
    });
    type Samples = { samples: { at: string }[] };
    const samples = async () => (await call(server, '/api/queues')).json() as unknown as Samples;

    try {
      // Act: wait for a full window, then for one more sample
      const full = await waitFor(
        async () => {
          const doc = await samples();
          return doc.samples.length === 120 ? doc : undefined;
        },
        { timeoutMs: 120_000 },
      );
      const later = await waitFor(async () => {
        const doc = await samples();
        return doc.samples[0]?.at !== full.samples[0]?.at ? doc : undefined;
      });

      // Assess
      expect(later.samples).toHaveLength(120);
      expect(later.samples.map((s) => s.at)).toContain(full.samples[119]?.at);
    } finally {
      await server.close();
    }
  });

  it('redrives a whole DLQ as a job whose progress it reports', async () => {
    // Prepare: two dead-lettered signatures in the task DLQ
    const { sqs } = stack.clients;
    for (const uuid of ['task_console_r1', 'task_console_r2']) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.queueUrls.tasksDlq,
          MessageBody: JSON.stringify(newSignature('add', [], { UUID: uuid })),
          MessageGroupId: uuid,
          MessageDeduplicationId: uuid,
        }),
      );
    }
    const server = await startConsole({ config: configFromLocalValues(stack.env), port: 0 });

    try {
      // Act
      const started = await call(server, '/api/dlq/task/redrive', {
        method: 'POST',
        headers: { [TOKEN_HEADER]: server.token },
        body: {},
      });
      const { job } = started.json() as { job?: string };
      const done = await waitFor(async () => {
        const doc = (await call(server, `/api/jobs/${job}`)).json();
        return doc.done === true ? doc : undefined;
      });

      // Assess
      expect(started.status).toBe(202);
      expect(done).toMatchObject({ queue: 'task', moved: 2, error: null, done: true });
      expect(await queueDepth(sqs, stack.queueUrls.tasksDlq)).toBe(0);
      expect(await queueDepth(sqs, stack.queueUrls.tasks)).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('lists the periodic tasks and the pending far ETAs', async () => {
    // Prepare: a periodic task and a task 20 minutes out (a one-time schedule)
    const client = createClient({ env: stack.env, aws: stack.clients });
    const scheduler = client.scheduler;
    if (scheduler === undefined) throw new Error('the test stack has no scheduler');
    await registerPeriodicTask(
      scheduler,
      '*/5 * * * *',
      'console-every-5',
      newSignature('add', []),
    );
    const eta = new Date(Date.now() + 20 * 60_000).toISOString();
    const far = await client.sendTask(newSignature('add', [], { ETA: eta }));
    const server = await startConsole({ config: configFromLocalValues(stack.env), port: 0 });

    try {
      // Act
      const schedules = await call(server, '/api/schedules');

      // Assess
      expect(schedules.status).toBe(200);
      const doc = schedules.json() as {
        periodic: { name: string; tasks: string[] }[];
        oneTime: { uuid: string; name: string | null }[];
      };
      expect(doc.periodic).toEqual([
        expect.objectContaining({ name: 'console-every-5', tasks: ['add'] }),
      ]);
      expect(doc.oneTime).toEqual([expect.objectContaining({ uuid: far.uuid, name: 'add' })]);
    } finally {
      await server.close();
      client.close();
    }
  });

  it('reports no liveness table when the workers table is not configured', async () => {
    // Prepare
    const { MACHINERY_WORKERS_TABLE: _table, ...env } = stack.env;
    const server = await startConsole({ config: configFromLocalValues(env), port: 0 });

    try {
      // Act
      const workers = await call(server, '/api/workers');
      const meta = await call(server, '/api/meta');

      // Assess
      expect(workers.status).toBe(200);
      expect(workers.json()).toEqual({ configured: false, workers: [] });
      expect(meta.json()).toMatchObject({ workersTable: false });
    } finally {
      await server.close();
    }
  });

  it('answers an AWS error as one plain sentence', async () => {
    // Prepare: a DLQ URL that names no queue
    const url = stack.env.MACHINERY_DLQ_URL ?? '';
    const server = await startConsole({
      config: configFromLocalValues({
        ...stack.env,
        MACHINERY_DLQ_URL: url.replace(/\.fifo$/, '-missing.fifo'),
      }),
      port: 0,
      sampleMs: 60_000,
    });

    try {
      // Act
      const dlq = await call(server, '/api/dlq/task');
      const queues = await call(server, '/api/queues');

      // Assess
      for (const answer of [dlq, queues]) {
        expect(answer.status).toBe(502);
        const { error } = answer.json();
        expect(error).toMatch(/queue/i);
        expect(error).not.toContain('\n');
        expect(error).not.toMatch(/^internal error/);
      }
    } finally {
      await server.close();
    }
  });
});

describe('Function: consoleCommand', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'console-cli' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('prints its URL on 127.0.0.1, serves, and exits 0 on SIGINT', async () => {
    // Prepare
    const run = startMachinery(['console', '--port', '0'], { env: stack.env });
    let stdout = '';
    run.child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });

    // Act
    const url = await waitFor(async () => /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout)?.[1], {
      timeoutMs: 60_000,
      describe: run.stderr,
    });
    const meta = await fetch(`${url}api/meta`);
    run.child.kill('SIGINT');
    const result = await run.done;

    // Assess
    expect(meta.status).toBe(200);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${url}\n`);
    expect(result.stderr).toContain('machinery console: stopped');
  });

  it('exits 2 for a port that is no port', async () => {
    // Act
    const result = await startMachinery(['console', '--port', 'eighty'], { env: stack.env }).done;

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port must be a whole number from 0 to 65535');
  });
});

/**
 * The operator's commands in subprocesses on the emulators: `--stack NAME` against a
 * CloudFormation stub serving the outputs of the real synthesized template (values pointed at the
 * emulators), `fromStack` refusing a missing stack or missing outputs, the source flags refused
 * together, `cancel` of a far-ETA task, `periodic add / list [--all] / rm`, a periodic task firing
 * on an advanced clock, and `queues --json`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachineryApp } from '../../cdk/stack.js';
import { ConfigError } from '../../src/aws/errors.js';
import { fromStack } from '../../src/aws/stack-source.js';
import { createClient, type MachineryClient } from '../../src/client/index.js';
import { defineTask } from '../../src/core/registry.js';
import { ENV, MACHINERY_ENV_KEYS } from '../../src/core/resources.js';
import { oneTimeScheduleName, PERIODIC_PREFIX } from '../../src/core/schedule-names.js';
import { newSignature } from '../../src/core/signature.js';
import { LOCAL_CREDENTIALS } from '../../src/local/provision.js';
import { type DelayHarness, eventually, startDelayHarness } from './delay-harness.js';
import { machinery } from './support/cli.js';
import {
  type CloudFormationStub,
  type StubOutput,
  startCloudFormationStub,
} from './support/cloudformation-stub.js';
import { getTestStack, type TestStack } from './support/stack.js';

/**
 * Per test: each runs up to eight `machinery` subprocesses (a few seconds each on a loaded
 * 2-core machine).
 */
const CLI_TEST_TIMEOUT_MS = 300_000;

/** The outputs of the stack `cdk synth` builds (the real template), without values. */
function synthesizedOutputs(): { OutputKey: string; Description: string }[] {
  const outdir = mkdtempSync(join(tmpdir(), 'machinery-synth-'));
  try {
    const { app, stack } = createMachineryApp({
      app: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
      nag: false,
    });
    const template = app.synth().getStackByName(stack.stackName).template as {
      Outputs: Record<string, { Description?: string }>;
    };
    return Object.entries(template.Outputs).map(([OutputKey, o]) => ({
      OutputKey,
      Description: o.Description ?? '',
    }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The outputs of the synthesized template with the values of `env` (the emulators'). */
function outputsFor(env: Readonly<Record<string, string>>): StubOutput[] {
  return synthesizedOutputs().map((o) => ({ ...o, OutputValue: env[o.Description] ?? '' }));
}

/** The stack's env without the MACHINERY_* variables: only region, credentials and endpoints. */
function awsOnly(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('MACHINERY_')));
}

describe('Command: machinery --stack (a CloudFormation stub serving the synthesized outputs)', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let stack: TestStack;
  let cfn: CloudFormationStub;
  let client: MachineryClient;
  let stackEnv: Record<string, string>;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'opstack' });
    const outputs = outputsFor(stack.env);
    cfn = await startCloudFormationStub({
      Machinery: outputs,
      Partial: outputs.filter((o) => o.Description !== ENV.dlqUrl),
    });
    client = createClient({ env: stack.env, aws: stack.clients });
    stackEnv = { ...awsOnly(stack.env), AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint };
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await cfn?.stop();
    await stack?.stop();
  });

  it('serves one output per MACHINERY_* variable, described by its name', () => {
    // Act
    const outputs = synthesizedOutputs();

    // Assess
    expect(outputs.map((o) => o.Description).sort()).toEqual(
      MACHINERY_ENV_KEYS.map((k) => ENV[k]).sort(),
    );
  });

  it('reads status from the stack outputs with --stack, asking CloudFormation once', async () => {
    // Prepare
    const sent = await client.sendTask(newSignature('add', [{ Type: 'int64', Value: 1 }]));
    const before = cfn.requests.length;

    // Act
    const r = await machinery(['status', sent.uuid, '--json', '--stack', 'Machinery'], {
      env: stackEnv,
    });

    // Assess
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      uuid: sent.uuid,
      state: 'PENDING',
      attempts: 0,
      retries: 0,
    });
    expect(cfn.requests.slice(before)).toEqual(['Machinery']);
  });

  it('gives the SDK the same settings through fromStack', async () => {
    // Act
    const source = await fromStack('Machinery', {
      region: stack.env[ENV.region] as string,
      clientConfig: { endpoint: cfn.endpoint, credentials: LOCAL_CREDENTIALS },
    });

    // Assess
    for (const key of MACHINERY_ENV_KEYS) {
      expect(source.variables[ENV[key]]).toBe(stack.env[ENV[key]]);
    }
    expect(source.variables[ENV.region]).toBe(stack.env[ENV.region]);
    expect(source.explicitCredentials).toBe(false);
  });

  it('refuses a stack that does not exist, and one missing an output, naming them (exit 2)', async () => {
    // Prepare
    const options = {
      region: stack.env[ENV.region] as string,
      clientConfig: { endpoint: cfn.endpoint, credentials: LOCAL_CREDENTIALS },
    };

    // Act
    const missing = await fromStack('NoSuchStack', options).catch((e: unknown) => e);
    const partial = await fromStack('Partial', options).catch((e: unknown) => e);
    const cli = await machinery(['queues', '--stack', 'NoSuchStack'], { env: stackEnv });

    // Assess
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as ConfigError).message).toMatch(/no CloudFormation stack 'NoSuchStack'/);
    expect(partial).toBeInstanceOf(ConfigError);
    expect(partial).toMatchObject({ variables: [ENV.dlqUrl] });
    expect((partial as ConfigError).message).toMatch(/lack MACHINERY_DLQ_URL/);
    expect(cli.code).toBe(2);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toMatch(/no CloudFormation stack 'NoSuchStack'/);
  });

  it('exits 2 for --local together with --stack, and for local up --stack, asking nothing', async () => {
    // Prepare
    const before = cfn.requests.length;

    // Act
    const both = await machinery(['queues', '--local', '--stack', 'Machinery'], { env: stackEnv });
    const localUp = await machinery(['local', 'up', '--stack', 'x'], { env: stackEnv });

    // Assess
    expect(both).toMatchObject({ code: 2, stdout: '' });
    expect(both.stderr).toMatch(/--local and --stack/);
    expect(localUp).toMatchObject({ code: 2, stdout: '' });
    expect(localUp.stderr).toMatch(/local up starts the local stack; --stack/);
    expect(cfn.requests.length).toBe(before);
  });
});

describe('Commands: machinery cancel, periodic, queues (shared emulators)', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let stack: TestStack;
  let client: MachineryClient;
  let cwd: string;
  const cli = (args: string[]) => machinery(args, { env: stack.env, cwd });

  beforeAll(async () => {
    stack = await getTestStack({ label: 'opcmd' });
    client = createClient({ env: stack.env, aws: stack.clients });
    cwd = mkdtempSync(join(tmpdir(), 'machinery-op-'));
  });

  afterAll(async () => {
    client?.close();
    await stack?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const scheduleExists = async (name: string) => {
    try {
      await stack.clients.scheduler.send(
        new GetScheduleCommand({ Name: name, GroupName: stack.names.scheduleGroup }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return false;
      throw e;
    }
  };

  it('cancels a task 20 minutes out: status reads FAILURE revoked and its schedule is gone', async () => {
    // Prepare
    const sent = await cli(['send', 'add', 'int64:1', 'int64:2', '--eta', '+20m']);
    const uuid = sent.stdout.trim();
    const scheduledBefore = await scheduleExists(oneTimeScheduleName(uuid));

    // Act
    const cancelled = await cli(['cancel', uuid, '--json']);
    const status = await cli(['status', uuid, '--json']);
    const again = await cli(['cancel', uuid]);

    // Assess
    expect(sent.code).toBe(0);
    expect(scheduledBefore).toBe(true);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toEqual({
      uuid,
      revoked: true,
      alreadyRevoked: false,
      scheduleDeleted: true,
    });
    expect(JSON.parse(status.stdout)).toMatchObject({ uuid, state: 'FAILURE', error: 'revoked' });
    expect(await scheduleExists(oneTimeScheduleName(uuid))).toBe(false);
    expect(again).toMatchObject({ code: 0, stdout: 'already revoked\n' });
  });

  it('refuses to cancel a finished task (exit 1, its state on stderr) and an empty UUID (exit 2)', async () => {
    // Prepare
    const sig = newSignature('add', [{ Type: 'int64', Value: 1 }]);
    await client.sendTask(sig);
    const now = Date.now();
    const claim = await client.backend.claim(sig, {
      now,
      leaseUntil: now + 60_000,
      expiresAt: now + 3_600_000,
      maxCrashes: 3,
    });
    if (claim.kind !== 'claimed') throw new Error(`claim: ${claim.kind}`);
    await client.backend.markSuccess(sig.UUID, claim.attempt, [], {
      now,
      expiresAt: now + 3_600_000,
    });

    // Act
    const finished = await cli(['cancel', sig.UUID, '--json']);
    const empty = await cli(['cancel', '']);

    // Assess
    expect(finished.code).toBe(1);
    expect(JSON.parse(finished.stdout)).toEqual({
      uuid: sig.UUID,
      revoked: false,
      state: 'SUCCESS',
    });
    expect(finished.stderr).toMatch(/is SUCCESS: too late to cancel/);
    expect(empty).toMatchObject({ code: 2, stdout: '' });
  });

  it('adds, lists (with --all the one-time schedule of a far ETA) and removes a periodic task', async () => {
    // Prepare
    const far = (await cli(['send', 'add', 'int64:5', 'int64:6', '--eta', '+2h'])).stdout.trim();

    // Act
    const added = await cli([
      'periodic',
      'add',
      'nightly',
      '0 3 * * *',
      'add',
      'int64:1',
      'int64:2',
      '--json',
    ]);
    const listed = await cli(['periodic', 'list', '--json']);
    const all = await cli(['periodic', 'list', '--all', '--json']);
    const table = await cli(['periodic', 'list']);
    const removed = await cli(['periodic', 'rm', 'nightly']);
    const removedAgain = await cli(['periodic', 'rm', 'nightly']);
    const after = await cli(['periodic', 'list', '--json']);

    // Assess
    expect(added.code).toBe(0);
    const nightly = {
      name: 'nightly',
      expression: 'cron(0 3 * * ? *)',
      timezone: 'UTC',
      kind: 'task',
      tasks: ['add'],
    };
    expect(JSON.parse(added.stdout)).toEqual(nightly);
    expect(JSON.parse(listed.stdout)).toEqual({ periodic: [nightly] });
    const allDoc = JSON.parse(all.stdout) as {
      periodic: unknown[];
      oneTime: Record<string, unknown>[];
    };
    expect(allDoc.periodic).toEqual([nightly]);
    expect(allDoc.oneTime).toEqual([
      expect.objectContaining({ uuid: far, name: 'add', scheduleName: oneTimeScheduleName(far) }),
    ]);
    const [entry] = allDoc.oneTime;
    expect(
      Date.parse(entry?.eta as string) - Date.parse(entry?.firesAt as string),
    ).toBeGreaterThanOrEqual(60_000);
    expect(table.stdout).toMatch(/^periodic +schedule +time zone +tasks\n/);
    expect(table.stdout).toMatch(/\nnightly +cron\(0 3 \* \* \? \*\) +UTC +add\n/);
    expect(removed).toMatchObject({ code: 0, stdout: '' });
    expect(removedAgain.code).toBe(1);
    expect(removedAgain.stderr).toMatch(/no periodic task 'nightly'/);
    expect(JSON.parse(after.stdout)).toEqual({ periodic: [] });
    expect(await scheduleExists(`${PERIODIC_PREFIX}nightly`)).toBe(false);
  });

  it('refuses a bad spec, name or time zone before any configuration (exit 2)', async () => {
    // Act
    const spec = await machinery(['periodic', 'add', 'x', 'every day', 'add']);
    const name = await machinery(['periodic', 'add', 'bad name', 'rate(1 hour)', 'add']);
    const zone = await machinery([
      'periodic',
      'add',
      'x',
      '0 3 * * *',
      'add',
      '--timezone',
      'Mars/Base',
    ]);

    // Assess: no configuration was given, so only the input check can have answered
    for (const r of [spec, name, zone]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^machinery: periodic: /);
    }
  });
});

describe('Command: machinery queues (its own queues on the shared emulators)', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await getTestStack({ label: 'opq' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('prints every queue with its visible, in-flight and delayed counts, and a null age on the local stack', async () => {
    // Prepare: task queue 2 messages (1 received: in flight), delay queue 1 delayed, Scheduler DLQ 1
    const { sqs } = stack.clients;
    for (const id of ['a', 'b']) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.queueUrls.tasks,
          MessageBody: id,
          MessageGroupId: id,
          MessageDeduplicationId: id,
        }),
      );
    }
    await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queueUrls.tasks,
        MaxNumberOfMessages: 1,
        VisibilityTimeout: 600,
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queueUrls.delay,
        MessageBody: 'later',
        DelaySeconds: 600,
      }),
    );
    await sqs.send(
      new SendMessageCommand({ QueueUrl: stack.queueUrls.schedulerDlq, MessageBody: 'failed' }),
    );

    // Act
    const r = await machinery(['queues', '--json'], { env: stack.env });
    const table = await machinery(['queues'], { env: stack.env });

    // Assess
    expect(r.code).toBe(0);
    const zero = { visible: 0, inFlight: 0, delayed: 0, oldestMessageAgeSeconds: null };
    expect(JSON.parse(r.stdout)).toEqual([
      { queue: 'task', url: stack.queueUrls.tasks, ...zero, visible: 1, inFlight: 1 },
      { queue: 'high', url: stack.queueUrls.highTasks, ...zero },
      { queue: 'delay', url: stack.queueUrls.delay, ...zero, delayed: 1 },
      { queue: 'task-dlq', url: stack.queueUrls.tasksDlq, ...zero },
      { queue: 'high-dlq', url: stack.queueUrls.highTasksDlq, ...zero },
      { queue: 'delay-dlq', url: stack.queueUrls.delayDlq, ...zero },
      { queue: 'scheduler-dlq', url: stack.queueUrls.schedulerDlq, ...zero, visible: 1 },
    ]);
    expect(table.stdout).toMatch(/^queue +visible +in flight +delayed +oldest age\n/);
    expect(table.stdout).toMatch(/\ntask +1 +1 +0 +-\n/);
  });
});

describe('Command: machinery periodic add on an advanced clock', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let h: DelayHarness;
  const runs: string[] = [];
  const tick = defineTask({
    name: 'tick',
    args: ['string'],
    run: (ctx, label) => {
      runs.push(`${label}:${ctx.uuid}`);
      return label;
    },
  });

  beforeAll(async () => {
    h = await startDelayHarness({ label: 'opper', tasks: [tick] });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('registers a periodic task from the CLI that fires every minute on the local stack', async () => {
    // Prepare
    const cli = (args: string[]) => machinery(args, { env: h.stack.env });
    const added = await cli([
      'periodic',
      'add',
      'tick-minute',
      '*/1 * * * *',
      'tick',
      'string:cli',
    ]);

    // Act
    h.clock.advance(60_000);
    await eventually(() => runs.length >= 1, 30_000, 'the first firing runs');
    h.clock.advance(60_000);
    await eventually(() => runs.length >= 2, 30_000, 'the second firing runs');
    const removed = await cli(['periodic', 'rm', 'tick-minute']);

    // Assess
    expect(added).toMatchObject({ code: 0, stdout: 'tick-minute\n' });
    expect(runs.slice(0, 2).every((r) => r.startsWith('cli:task_'))).toBe(true);
    expect(new Set(runs).size).toBe(runs.length);
    expect(removed.code).toBe(0);
  });
});

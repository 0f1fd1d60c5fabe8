/**
 * Test fixtures of the configuration: a complete, valid set of the variables `machinery local up`
 * writes, and a fake `CliIO`.
 */
import type { CliIO } from '../../../src/cli/main.js';
import { ENV } from '../../../src/core/resources.js';

/**
 * The 15 variables of `.machinery/local.env`, every value valid and tagged, so a value from the
 * wrong source shows: region `<tag>-region`, keys `<tag>-key` / `<tag>-secret`, endpoints
 * `http://<tag>-<service>.test` (DynamoDB on port 8000), queues under `http://<tag>-sqs.test/000000000000/`,
 * tables `<tag>_task_states` / `<tag>_group_metas`, schedule group `<tag>-machinery`.
 */
export function localValues(tag = 'local'): Record<string, string> {
  const queues = `http://${tag}-sqs.test/000000000000`;
  return {
    [ENV.region]: `${tag}-region`,
    [ENV.accessKeyId]: `${tag}-key`,
    [ENV.secretAccessKey]: `${tag}-secret`,
    [ENV.endpointSqs]: `http://${tag}-sqs.test`,
    [ENV.endpointDynamodb]: `http://${tag}-dynamodb.test:8000`,
    [ENV.endpointScheduler]: `http://${tag}-scheduler.test`,
    [ENV.taskQueueUrl]: `${queues}/tasks.fifo`,
    [ENV.dlqUrl]: `${queues}/tasks-dlq.fifo`,
    [ENV.delayQueueUrl]: `${queues}/delay`,
    [ENV.delayDlqUrl]: `${queues}/delay-dlq`,
    [ENV.schedulerDlqUrl]: `${queues}/scheduler-dlq`,
    [ENV.taskStatesTable]: `${tag}_task_states`,
    [ENV.groupMetasTable]: `${tag}_group_metas`,
    [ENV.scheduleGroup]: `${tag}-machinery`,
    [ENV.schedulerRoleArn]: `arn:aws:iam::000000000000:role/${tag}-scheduler`,
  };
}

/** A `CliIO` that records what the command prints. */
export function fakeIO(
  env: Readonly<Record<string, string | undefined>> = {},
): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    env,
    cwd: '/nonexistent-machinery-cli-test',
  };
}

/**
 * Child process for the SIGKILL test of the chord protocol: runs the worker through the local
 * runner against the stack whose environment is the JSON in `CHORD_CHILD_ENV`, with a group
 * backend that, right after the step named by `CHORD_CHILD_STEP` (`leaf`, `trigger`…), prints one
 * line `AT <step>` and waits there forever, to be killed with SIGKILL. Prints `READY` once polling.
 *
 * Run: `node --import tsx test/integration/support/chord-worker-child.ts`.
 *
 * @module
 */
import { createAdapters } from '../../../src/aws/adapters.js';
import { createRegistry } from '../../../src/core/registry.js';
import { createWorker } from '../../../src/handlers/worker.js';
import { EventSourceRunner } from '../../../src/local/runner.js';
import { type ChordStep, FaultyGroups } from '../../support/faulty-groups.js';
import { quietLogger } from '../aws-helpers.js';
import { chordTasks } from './chord-tasks.js';

const env = JSON.parse(process.env.CHORD_CHILD_ENV ?? '{}') as Record<string, string>;
const adapters = createAdapters({ env });
if (adapters.groups === undefined) throw new Error('no group table in CHORD_CHILD_ENV');
const groups = new FaultyGroups(adapters.groups, process.env.CHORD_CHILD_STEP as ChordStep, {
  onStep: async (step) => {
    process.stdout.write(`AT ${step}\n`);
    await new Promise(() => {});
  },
});
const handler = createWorker({
  registry: createRegistry(chordTasks(() => {})),
  env,
  groups,
  logger: quietLogger('SILENT'),
});
const runner = new EventSourceRunner({
  sqs: adapters.clients.sqs,
  queueUrl: adapters.config.taskQueueUrl ?? '',
  handler,
  concurrency: 2,
  onError: () => {},
});
runner.start();
process.stdout.write('READY\n');

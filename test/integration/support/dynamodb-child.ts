/**
 * Child process for the emulator-lifetime tests: starts DynamoDB Local, prints one JSON line
 * `{ pid, watchdogPid, endpoint }` and waits to be killed. `--no-watchdog` starts it without the
 * watchdog (to test the signal hooks alone).
 *
 * Run: `node --import tsx test/integration/support/dynamodb-child.ts [--no-watchdog]`.
 *
 * @module
 */

import { startDynamoDbLocal } from '../../../src/local/dynamodb.js';

const ddb = await startDynamoDbLocal({ watchdog: !process.argv.includes('--no-watchdog') });
process.stdout.write(
  `${JSON.stringify({ pid: ddb.pid, watchdogPid: ddb.watchdogPid, endpoint: ddb.endpoint })}\n`,
);
setInterval(() => {}, 60_000);

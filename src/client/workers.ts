/**
 * The live workers of a deployment: the alive records of long-running workers (and of Lambda
 * execution environments that opted in) whose last heartbeat is within their lapse (30 s by
 * default). Needs the workers table (`MACHINERY_WORKERS_TABLE`); without it liveness is off.
 *
 * IAM: `dynamodb:Scan` on the workers table.
 *
 * @module
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigError } from '../aws/errors.js';
import { DynamoDbLivenessStore } from '../aws/liveness.js';
import type { MachineryConfig } from '../aws/settings.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { WorkerRecord } from '../core/liveness.js';
import { ENV } from '../core/resources.js';

export type { WorkerRecord } from '../core/liveness.js';

/**
 * Lists the live workers, oldest first (one consistent scan of the workers table, lapsed records
 * filtered out).
 *
 * @throws ConfigError when the workers table is not configured.
 * @example
 * ```ts
 * const live = await listWorkers(client.config, { dynamodb });
 * for (const w of live) console.log(w.id, w.host, w.executed, w.failed);
 * ```
 */
export async function listWorkers(
  settings: Partial<Pick<MachineryConfig, 'workersTable'>>,
  deps: { dynamodb: DynamoDBDocumentClient; clock?: Clock },
): Promise<WorkerRecord[]> {
  const tableName = settings.workersTable;
  if (tableName === undefined) {
    throw new ConfigError(
      `${ENV.workersTable} is not set: liveness is off in this deployment (no workers table)`,
      { variables: [ENV.workersTable] },
    );
  }
  const store = new DynamoDbLivenessStore({ dynamodb: deps.dynamodb, tableName });
  return store.list((deps.clock ?? systemClock).now());
}

/**
 * Test helpers of the AWS adapters' integration tests: per-command request counters and fault
 * injection, both as AWS SDK middleware.
 *
 * @module
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';

type Handler = (args: unknown) => Promise<unknown>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

/** A client whose middleware stack we can extend (every SDK v3 client and the document client). */
interface WithMiddleware {
  middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware types are generic per client
    add(middleware: any, options: any): void;
  };
}

/**
 * Counts HTTP requests per command name (`PutItemCommand`, `SendMessageBatchCommand`…). Added at
 * the `finalizeRequest` step with low priority, i.e. below the retry middleware: SDK retries count
 * as requests, as AWS bills them.
 *
 * @example
 * ```ts
 * const counts = countRequests(ddbClient);
 * counts.get('UpdateItemCommand');
 * ```
 */
export function countRequests(client: WithMiddleware): Map<string, number> {
  const counts = new Map<string, number>();
  const middleware: Middleware = (next, context) => async (args) => {
    const name = context.commandName ?? 'unknown';
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return next(args);
  };
  client.middlewareStack.add(middleware, {
    step: 'finalizeRequest',
    priority: 'low',
    name: `countRequests-${Math.random()}`,
  });
  return counts;
}

/** The DynamoDB commands that write. */
export const DYNAMODB_WRITES = [
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
];

/** Sum of the counts of `names`. */
export function total(counts: Map<string, number>, names?: readonly string[]): number {
  let n = 0;
  for (const [k, v] of counts) if (!names || names.includes(k)) n += v;
  return n;
}

/**
 * Makes a fraction of a client's requests fail with a throttling error
 * (`ProvisionedThroughputExceededException`) before they reach the service (so nothing is written,
 * as with real throttling). Added at `finalizeRequest` with low priority: below the SDK's retry
 * layer, where a real throttled response would surface. Build the client with `maxAttempts: 1`
 * so the SDK does not retry it away and the code under test really sees the error.
 *
 * @example
 * ```ts
 * const faults = injectThrottling(new DynamoDBClient({ maxAttempts: 1 }), 0.05);
 * faults.injected; // how many so far
 * ```
 */
export function injectThrottling(
  client: WithMiddleware,
  rate: number,
  random: () => number = Math.random,
): { injected: number; enabled: boolean } {
  const state = { injected: 0, enabled: true };
  const middleware: Middleware = (next) => async (args) => {
    if (state.enabled && random() < rate) {
      state.injected++;
      throw new ProvisionedThroughputExceededException({
        $metadata: { httpStatusCode: 400 },
        message: 'injected by the test: throughput exceeded',
      });
    }
    return next(args);
  };
  client.middlewareStack.add(middleware, {
    step: 'finalizeRequest',
    priority: 'low',
    name: `injectThrottling-${Math.random()}`,
  });
  return state;
}

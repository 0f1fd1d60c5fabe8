/**
 * `machinery-serverless`: the core a producer and a worker share, with no AWS SDK import —
 * signatures and the arg codec, `defineTask` / `createRegistry`, the retry policy, time, the
 * processor, its ports and their in-memory implementations, and every core error. The AWS-backed
 * parts are the subpaths: `machinery-serverless/client` (send tasks, read results),
 * `machinery-serverless/worker` (the Lambda handlers), `machinery-serverless/cdk` (the construct)
 * and `machinery-serverless/local` (the embedded local stack for tests).
 *
 * @example
 * ```ts
 * import { createRegistry, defineTask } from 'machinery-serverless';
 * const add = defineTask({ name: 'add', args: ['int64', 'int64'], run: (_ctx, a, b) => a + b });
 * export const registry = createRegistry([add]);
 * ```
 *
 * @module
 */
export * from './core/index.js';

/**
 * The core of machinery-serverless: pure domain, no AWS SDK. Signatures and the arg codec, the task
 * registry, the retry policy, the processor, the ports and their in-memory implementations.
 *
 * @example
 * ```ts
 * import { createProcessor, createRegistry, defineTask } from 'machinery-serverless/core';
 * const registry = createRegistry([
 *   defineTask({ name: 'add', args: ['int64', 'int64'], run: (_ctx, a, b) => a + b }),
 * ]);
 * ```
 *
 * @module
 */
export * from './args.js';
export * from './chords.js';
export * from './clock.js';
export * from './contract.js';
export * from './delay-body.js';
export * from './dispatch.js';
export * from './errors.js';
export * from './json.js';
export * from './lifetime.js';
export * from './logger.js';
export * from './memory.js';
export * from './memory-groups.js';
export type * from './ports.js';
export * from './processor.js';
export * from './registry.js';
export * from './resources.js';
export * from './retry.js';
export * from './routing.js';
export * from './schedule-expression.js';
export * from './schedule-names.js';
export * from './signature.js';
export * from './time.js';
export * from './types.js';
export * from './workflow.js';

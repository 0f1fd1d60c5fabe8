/**
 * `machinery-serverless/cdk`: the {@link Machinery} construct for a user's own CDK app, with its
 * props, grant options and helpers. Needs the peer dependencies `aws-cdk-lib`, `constructs` and
 * `esbuild` (the functions are bundled locally, no Docker).
 *
 * @example
 * ```ts
 * import { App, Stack } from 'aws-cdk-lib';
 * import { Machinery } from 'machinery-serverless/cdk';
 * const stack = new Stack(new App(), 'Tasks');
 * new Machinery(stack, 'Machinery', { workerEntry: 'src/worker.ts' });
 * ```
 *
 * @module
 */
export * from './construct.js';

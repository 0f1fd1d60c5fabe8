/**
 * The CDK app of `cdk.json` (`npx cdk synth`, `npx cdk deploy`): a `MachineryStack` configured
 * from the context, checked by cdk-nag's AWS Solutions pack. See `cdk/stack.ts`.
 *
 * @module
 */
import { createMachineryApp } from './stack.js';

createMachineryApp();

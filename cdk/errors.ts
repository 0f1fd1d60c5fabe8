/**
 * Errors of the CDK layer. This module owns the error classes the construct throws; what makes
 * props invalid is decided in `validation.ts`, and the construct (`construct.ts`) throws.
 *
 * @module
 */

/**
 * Thrown by `Machinery` for invalid props, listing every problem at once.
 *
 * @example
 * ```ts
 * try { new Machinery(stack, 'M', props); } catch (e) {
 *   if (e instanceof MachineryPropsError) console.error(e.problems);
 * }
 * ```
 */
export class MachineryPropsError extends Error {
  /** Stable error code. */
  readonly code = 'INVALID_MACHINERY_PROPS';
  /** One sentence per problem. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(
      `invalid Machinery props (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      options,
    );
    this.name = 'MachineryPropsError';
    this.problems = problems;
  }
}

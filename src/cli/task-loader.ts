/**
 * The task loader: turns a user's tasks module into the tasks a worker runs. `machinery local up
 * --tasks <module>` uses it (and so does every other command that runs a user's tasks), so the
 * rules below hold in one place.
 *
 * ## What a tasks module exports
 *
 * The first of these that the module exports:
 *
 * 1. `registry`: a task registry (`createRegistry(...)`);
 * 2. `tasks`: what `createRegistry` accepts — an array of `defineTask(...)` tasks, or an object of
 *    tasks and plain functions by name (`{ add: (a, b) => a + b }`, like machinery's
 *    `RegisterTasks`);
 * 3. the default export, as either of the above;
 * 4. otherwise, every named export that is a task definition (`export const add = defineTask(…)`).
 *
 * A Lambda handler (`export const worker = createWorker(…)`) is not a tasks module: the handler
 * hides its tasks. Export the tasks it is built from as `tasks` beside it.
 *
 * Task definitions are recognised by a registered-symbol brand, not `instanceof`, so a module
 * that the TypeScript loader runs as CommonJS (and so gets its own copy of this library) works.
 *
 * ```ts
 * // my-tasks.ts
 * import { defineTask } from 'machinery-serverless';
 * export const tasks = [defineTask({ name: 'greet', args: ['string'], run: (_ctx, who) => `hello ${who}` })];
 * ```
 *
 * @module
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TaskLookup } from '../core/processor.js';
import type { ArgSpec } from '../core/registry.js';
import { createRegistry, isJobClass, isTask } from '../core/registry.js';
import { UsageError } from './errors.js';

/**
 * A registry of tasks a worker runs.
 *
 * @example
 * ```ts
 * const tasks: LocalTasks = { names: ['add'], lookup: createRegistry([add]) };
 * ```
 */
export interface LocalTasks {
  names: readonly string[];
  lookup: TaskLookup;
}

/** What the help and the errors say a tasks module may export (one sentence). */
export const TASKS_MODULE_EXPORTS =
  'a `registry` (createRegistry), `tasks` (an array of defineTask tasks, or an object of tasks and functions by name), a default export of either, or tasks as named exports';

function isRegistry(v: unknown): v is TaskLookup & { names: readonly string[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { get?: unknown }).get === 'function' &&
    Array.isArray((v as { names?: unknown }).names)
  );
}

function toTasks(value: unknown, where: string): LocalTasks {
  if (isRegistry(value)) return { names: value.names, lookup: value };
  try {
    const registry = createRegistry(value as Parameters<typeof createRegistry>[0]);
    return { names: registry.names, lookup: registry };
  } catch (e) {
    throw new UsageError(`${where}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The example worker's tasks (examples/worker.ts `registry`, machinery's documented examples): add,
 * multiply, sum_ints, sum_floats, concat, split, panic_task, long_running_task.
 *
 * @example
 * ```ts
 * const tasks = await exampleLocalTasks();
 * ```
 */
export async function exampleLocalTasks(): Promise<LocalTasks> {
  const { registry } = await import('../../examples/worker.js');
  return toTasks(registry, 'examples/worker.ts');
}

/**
 * The tasks a loaded module exports, by the rules of the module documentation. Throws
 * {@link UsageError} naming `where` when it exports none.
 *
 * @example
 * ```ts
 * const tasks = tasksOfModule(await import('./my-tasks.js'), './my-tasks.js');
 * ```
 */
export function tasksOfModule(mod: Readonly<Record<string, unknown>>, where: string): LocalTasks {
  const exported = mod.registry ?? mod.tasks ?? mod.default;
  if (exported !== undefined && exported !== null) return toTasks(exported, where);
  const named = Object.values(mod).filter((v) => isTask(v) || isJobClass(v));
  if (named.length > 0) return toTasks(named, where);
  const handler = Object.entries(mod).find(([, v]) => typeof v === 'function');
  const hint =
    handler === undefined
      ? ''
      : ` (\`${handler[0]}\` is a function, not a task: a Lambda handler hides its tasks, so export the tasks it is built from as \`tasks\`)`;
  throw new UsageError(`${where} exports no tasks${hint}: export ${TASKS_MODULE_EXPORTS}`);
}

/** Error codes of Node.js when it cannot run a TypeScript file by stripping its types. */
const TYPESCRIPT_LOAD_CODES: ReadonlySet<string> = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION', // Node 22.12–22.17 without --experimental-strip-types
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX', // enum, namespace, parameter properties…
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING', // a .ts file under node_modules
  'ERR_MODULE_NOT_FOUND', // e.g. `import './other.js'` where only other.ts exists
]);

/**
 * What to do when the TypeScript tasks module `file` failed to load with `error`, or `undefined`
 * when `file` is not TypeScript or the error is not one of type stripping's. The CLI runs a `.ts`
 * tasks module with Node.js's own type stripping (no TypeScript loader is installed with it).
 *
 * @example
 * ```ts
 * typeScriptLoadHint('/app/tasks.ts', err); // 'Node.js runs a TypeScript tasks module by stripping its types…'
 * ```
 */
export function typeScriptLoadHint(file: string, error: unknown): string | undefined {
  if (!/\.[cm]?ts$/.test(file)) return undefined;
  const code = (error as { code?: unknown } | null)?.code;
  // The module itself missing is not a TypeScript problem.
  if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(file)) {
    return undefined;
  }
  if (
    !(error instanceof SyntaxError) &&
    !(typeof code === 'string' && TYPESCRIPT_LOAD_CODES.has(code))
  ) {
    return undefined;
  }
  return (
    'Node.js runs a TypeScript tasks module by stripping its types (Node 22.18+ or 23.6+; on 22.12–22.17 set NODE_OPTIONS=--experimental-strip-types): ' +
    'it takes only erasable syntax (no enum, namespace or parameter properties) and relative imports that name the .ts file (`./contracts.ts`). ' +
    'Otherwise compile the module to JavaScript and pass the .js file, or run the CLI through a TypeScript loader: `npx tsx node_modules/.bin/machinery local up --tasks <file>`'
  );
}

/**
 * Loads a tasks module by path (relative to `cwd`): JavaScript, or TypeScript through Node.js's
 * type stripping (see {@link typeScriptLoadHint}). Throws {@link UsageError} (exit code 2) when
 * it cannot be imported or exports no tasks.
 *
 * @example
 * ```ts
 * const tasks = await loadTasksModule('./my-tasks.ts', process.cwd());
 * ```
 */
export async function loadTasksModule(path: string, cwd: string): Promise<LocalTasks> {
  const file = resolve(cwd, path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    const hint = typeScriptLoadHint(file, e);
    throw new UsageError(
      `--tasks: cannot load ${file}: ${(e as Error).message}${hint === undefined ? '' : `\n${hint}`}`,
      { cause: e },
    );
  }
  return tasksOfModule(mod, `--tasks ${file}`);
}

/** An example `TYPE:VALUE` argument of `machinery send` for the arg spec at position `i`. */
function exampleArg(spec: ArgSpec, i: number): string {
  const type = typeof spec === 'string' ? spec : spec.type;
  if (type === '[]byte') return '[]byte:aGVsbG8=';
  const element = type.replace(/^\[\]/, '');
  const value =
    element === 'bool'
      ? 'true'
      : element === 'string'
        ? 'hello'
        : element.startsWith('float')
          ? `${i + 1}.5`
          : `${i + 1}`;
  return type.startsWith('[]') ? `${type}:${value},${value}` : `${type}:${value}`;
}

/**
 * A `machinery send` command line for one of the registered tasks, with example arguments of the
 * declared types (two for a variadic rest): `add` when it is registered (machinery's first
 * example), else the first task. `undefined` when no task is registered.
 *
 * @example
 * ```ts
 * sendHint(await exampleLocalTasks()); // 'send add int64:1 int64:2 --wait'
 * ```
 */
export function sendHint(tasks: LocalTasks): string | undefined {
  const name = tasks.names.includes('add') ? 'add' : tasks.names[0];
  if (name === undefined) return undefined;
  const task = tasks.lookup.get(name);
  const rest = task?.rest ?? undefined;
  const specs = [...(task?.args ?? []), ...(rest === undefined ? [] : [rest, rest])];
  return ['send', name, ...specs.map(exampleArg), '--wait'].join(' ');
}

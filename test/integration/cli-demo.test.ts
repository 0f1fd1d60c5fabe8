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

describe('Command: machinery demo', () => {
  it('runs the example tasks end to end and prints only the result table on stdout (exit 0)', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'machinery-cli-demo-'));

    // Act
    const r = await run(['demo'], dir);
    const leftFiles = existsSync(join(dir, '.machinery'));
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^UUID +TASK +STATE +RESULT$/);
    expect(lines).toHaveLength(2 + 8);
    const rows = lines.slice(2).map((l) => l.split(/ {2,}/));
    expect(rows.map((row) => row.slice(1))).toEqual([
      ['add(1, 1)', 'SUCCESS', '2'],
      ['multiply(2, 3)', 'SUCCESS', '6'],
      ['sum_ints([1,2])', 'SUCCESS', '3'],
      ['sum_floats([1.5,2.7])', 'SUCCESS', '4.2'],
      ['concat(["foo","bar"])', 'SUCCESS', 'foobar'],
      ['split(foo)', 'SUCCESS', '["f","o","o"]'],
      ['add(9223372036854775806, 1)', 'SUCCESS', '9223372036854775807'],
      ['panic_task()', 'FAILURE', 'error: oops'],
    ]);
    expect(rows.every((row) => /^task_[0-9a-f-]{36}$/.test(row[0] ?? ''))).toBe(true);
    expect(r.stderr).toMatch(/every task ended as expected/);
    expect(leftFiles).toBe(false);
  }, 120_000);
});

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_ENV_FILE } from '../../../src/cli/config.js';
import { OperationError } from '../../../src/cli/errors.js';
import { acquireLocalLock, isProcessAlive, LOCAL_PID_FILE } from '../../../src/cli/local-state.js';

describe('Function: acquireLocalLock', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'machinery-cli-lock-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('records its pid and writes local.env atomically', () => {
    // Prepare
    const lock = acquireLocalLock(dir, { pid: 4242 });

    // Act
    lock.writeEnv('A=1\n');

    // Assess
    expect(readFileSync(join(dir, LOCAL_PID_FILE), 'utf8')).toBe('4242\n');
    expect(readFileSync(join(dir, LOCAL_ENV_FILE), 'utf8')).toBe('A=1\n');
  });

  it('refuses a second lock while the first process lives', () => {
    // Prepare
    acquireLocalLock(dir, { pid: 4242 });

    // Act
    const act = () => acquireLocalLock(dir, { pid: 5353, isAlive: (pid) => pid === 4242 });

    // Assess
    expect(act).toThrow(OperationError);
    expect(act).toThrow(/already running in .* \(pid 4242\)/);
  });

  it('replaces the lock and local.env of a run that was killed', () => {
    // Prepare
    mkdirSync(join(dir, '.machinery'));
    writeFileSync(join(dir, LOCAL_PID_FILE), '4242\n');
    writeFileSync(join(dir, LOCAL_ENV_FILE), 'STALE=1\n');

    // Act
    const lock = acquireLocalLock(dir, { pid: 5353, isAlive: () => false });

    // Assess
    expect(readFileSync(lock.pidPath, 'utf8')).toBe('5353\n');
    expect(existsSync(lock.envPath)).toBe(false);
  });

  it('removes both files on release, once', () => {
    // Prepare
    const lock = acquireLocalLock(dir, { pid: 4242 });
    lock.writeEnv('A=1\n');

    // Act
    lock.release();
    lock.release();

    // Assess
    expect(existsSync(lock.envPath)).toBe(false);
    expect(existsSync(lock.pidPath)).toBe(false);
  });

  it('leaves a pid file that another run now owns', () => {
    // Prepare
    const lock = acquireLocalLock(dir, { pid: 4242 });
    writeFileSync(lock.pidPath, '5353\n');

    // Act
    lock.release();

    // Assess
    expect(readFileSync(lock.pidPath, 'utf8')).toBe('5353\n');
  });
});

describe('Function: isProcessAlive', () => {
  it('is true for this process', () => {
    // Act
    const alive = isProcessAlive(process.pid);

    // Assess
    expect(alive).toBe(true);
  });

  it('is false for a pid that does not exist', () => {
    // Act
    const alive = isProcessAlive(2 ** 22 + 12345);

    // Assess
    expect(alive).toBe(false);
  });
});
